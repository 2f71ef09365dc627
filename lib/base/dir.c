/*
 * lib/base/dir.c — the names in a directory, in a stable order.
 *
 * Writing a layer (lib/layer/layer.c) and walking a tree for whiteouts
 * (lib/layer/whiteout.c) both visit a directory's entries sorted by byte value,
 * so that the same tree always gives the same tar and the same listing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
oci_dir_names(int dirfd, char ***names, size_t *count, struct oci_err *e)
{
	struct dirent *d;
	size_t n = 0, cap = 0;
	char **v = NULL, **nv;
	DIR *dir;
	int fd;

	*names = NULL;
	*count = 0;
	/* A descriptor of its own, so that reading does not move dirfd's offset. */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
		oci_fail_errno(e, "open directory");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	errno = 0;
	while ((d = readdir(dir)) != NULL) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			if ((nv = realloc(v, cap * sizeof *v)) == NULL)
				goto oom;
			v = nv;
		}
		if ((v[n] = strdup(d->d_name)) == NULL)
			goto oom;
		n++;
		errno = 0;
	}
	if (errno != 0) {
		oci_fail_errno(e, "read directory");
		goto bad;
	}
	closedir(dir);
	if (n > 1)
		qsort(v, n, sizeof *v, by_name);
	*names = v;
	*count = n;
	return 0;
oom:
	oci_fail(e, "out of memory");
bad:
	closedir(dir);
	oci_dir_names_free(v, n);
	return -1;
}

void
oci_dir_names_free(char **names, size_t n)
{
	while (n > 0)
		free(names[--n]);
	free(names);
}
