/*
 * lib/fsutil.c — small file-system rules the library and the programs share.
 *
 * Writing all of a buffer (write(2) may write less than asked, or be
 * interrupted by a signal before writing anything), reading and writing a
 * small file never through a symlink, replacing a small file so that a
 * reader sees the old one or the new one and never part of one, and asking
 * whether a directory is empty.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"

int
oci_write_knob(const char *path, const char *text, struct oci_err *e)
{
	size_t n = strlen(text);
	ssize_t w;
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return oci_fail_errno(e, "%s", path);
	if ((w = write(fd, text, n)) != (ssize_t)n) {
		if (w >= 0)
			errno = EIO;
		oci_fail_errno(e, "write \"%.*s\" to %s", (int)strcspn(text, "\n"), text, path);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
oci_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	ssize_t k;

	while (n > 0) {
		k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= k;
	}
	return 0;
}

int
oci_read_small(int dirfd, const char *name, size_t max, char **buf, size_t *len,
    struct oci_err *e)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd;

	*buf = NULL;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "%s", name);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oci_fail(e, "%s: not a regular file", name);
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return oci_fail(e, "%s: %lld bytes is over the %zu byte limit", name,
		    (long long)st.st_size, max);
	}
	*buf = malloc(st.st_size + 1);
	if (*buf == NULL) {
		close(fd);
		return oci_fail(e, "out of memory");
	}
	/* Read at most max + 1 bytes: the file may grow while we read it. */
	while ((n = read(fd, *buf + got, st.st_size + 1 - got)) > 0 && got < (size_t)st.st_size + 1)
		got += n;
	close(fd);
	if (n < 0) {
		free(*buf);
		*buf = NULL;
		return oci_fail_errno(e, "%s: read", name);
	}
	if (got > (size_t)st.st_size) {
		free(*buf);
		*buf = NULL;
		return oci_fail(e, "%s: changed while it was read", name);
	}
	(*buf)[got] = '\0';
	*len = got;
	return 0;
}

int
oci_read_text(int dirfd, const char *name, char *buf, size_t cap, struct oci_err *e)
{
	size_t len;
	char *text;

	if (oci_read_small(dirfd, name, cap - 1, &text, &len, e) < 0)
		return -1;
	memcpy(buf, text, len + 1);
	free(text);
	return 0;
}

int
oci_write_new(int dirfd, const char *name, const char *text, struct oci_err *e)
{
	size_t len = strlen(text);
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);

	if (fd < 0)
		return oci_fail_errno(e, "%s", name);
	if (oci_write_all(fd, text, len) < 0) {
		oci_fail_errno(e, "write %s", name);
		close(fd);
		return -1;
	}
	return close(fd) < 0 ? oci_fail_errno(e, "write %s", name) : 0;
}

/* The rename that makes name hold the new text, and the keeping of what it needs. */
static int
replace(int dirfd, const char *dir, const char *tmp, const char *name, int undo, int commit,
    struct oci_err *e)
{
	sigset_t old;

	if (commit)
		oci_undo_block(&old);
	if (renameat(dirfd, tmp, dirfd, name) < 0) {
		oci_fail_errno(e, "rename %s/%s", dir, name);
		if (commit)
			pthread_sigmask(SIG_SETMASK, &old, NULL);
		oci_undo_now(undo);
		return -1;
	}
	if (commit) {
		oci_undo_keep_all();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	} else {
		oci_undo_keep(undo);
	}
	fsync(dirfd);
	return 0;
}

int
oci_file_replace(int dirfd, const char *dir, const char *name, const void *data, size_t len,
    int commit, struct oci_err *e)
{
	char tmp[NAME_MAX + 1];
	int fd, undo;

	if (snprintf(tmp, sizeof tmp, ".%s.tmp.%d", name, (int)getpid()) >= (int)sizeof tmp)
		return oci_fail(e, "%s/%s: name too long", dir, name);
	/*
	 * Whatever has the temporary name was left behind or planted (a hard
	 * link to a file elsewhere would be truncated and written by O_TRUNC):
	 * remove it and make a new file.
	 */
	unlinkat(dirfd, tmp, 0);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return oci_fail_errno(e, "%s/%s", dir, tmp);
	/* Removed again if this run fails or is interrupted before the rename. */
	undo = oci_undo_add(OCI_UNDO_UNLINK, dirfd, tmp);
	if (oci_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
		oci_fail_errno(e, "write %s/%s", dir, tmp);
		close(fd);
		oci_undo_now(undo);
		return -1;
	}
	if (close(fd) < 0) {
		oci_fail_errno(e, "write %s/%s", dir, tmp);
		oci_undo_now(undo);
		return -1;
	}
	return replace(dirfd, dir, tmp, name, undo, commit, e);
}

int
oci_dir_is_empty(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n == 0;
}
