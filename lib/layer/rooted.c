/*
 * lib/layer/rooted.c — paths inside a root: the one place where a path from an
 * image (a tar entry, a whiteout) is turned into a directory descriptor, as
 * if that root were "/".
 *
 * A layer may put files under /lib when /lib is a symlink to usr/lib, so
 * symlinks must be followed, but never out of the root: "..", an absolute
 * target or a chain of links all stop at the root, as they would for a
 * process chrooted there.  openat(2) with RESOLVE_IN_ROOT (Linux 5.6) does
 * exactly that.  Where it is missing (ENOSYS) or refused (EPERM, from a
 * seccomp filter that does not know it), a walk one component at a time
 * does the same by hand.  The last component of a path is never resolved
 * here: callers handle it with *at() calls that do not follow it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "layer.h"

#define MAX_LINKS 40	/* as the kernel's path walk allows */

static int no_openat2 = -1;	/* learnt on the first call (or from the environment, for tests) */

/* openat2 with RESOLVE_IN_ROOT.  An fd, or -1 with errno (and no_openat2 set when it is not to be had). */
static int
open_openat2(int rootfd, const char *path, int follow)
{
	unsigned long long resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (follow ? 0 : RESOLVE_NO_SYMLINKS);
	int fd = -1, tries;

	for (tries = 0; tries < 16; tries++) {
		fd = oci_openat2(rootfd, path, O_PATH | O_DIRECTORY, resolve);
		if (fd >= 0 || errno != EAGAIN)
			break;
	}
	if (fd < 0 && oci_openat2_refused(errno))
		no_openat2 = 1;
	return fd;
}

/* The component walk: the root, and what is left of the path. */
struct walk {
	int rootfd, follow, links;
	struct stat root;
	char *rest;	/* grows with the links met: never truncated, as the kernel's walk */
	size_t size;
};

/*
 * The symlink nfd (closed here) was met on the way: what is left of the
 * path becomes its target, then after (what followed it; NULL: nothing).
 * An absolute target starts again from the root.  -1 with errno.
 */
static int
walk_link(struct walk *w, int *fd, int nfd, const char *after)
{
	char link[PATH_MAX], *grown;
	ssize_t k = readlinkat(nfd, "", link, sizeof link - 1);
	size_t at = after ? (size_t)(after - w->rest) : 0, alen = after ? strlen(after) : 0;

	close(nfd);
	if (k < 0)
		return -1;
	if (!w->follow || ++w->links > MAX_LINKS) {
		errno = ELOOP;
		return -1;
	}
	if ((size_t)k + alen + 2 > w->size) {
		if ((grown = realloc(w->rest, (size_t)k + alen + 2)) == NULL)
			return -1;
		w->rest = grown;
		w->size = (size_t)k + alen + 2;
	}
	memmove(w->rest + k + 1, w->rest + at, alen);
	w->rest[k + 1 + alen] = '\0';
	memcpy(w->rest, link, (size_t)k);
	w->rest[k] = '/';
	if (link[0] == '/') {
		close(*fd);
		*fd = openat(w->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	}
	return 0;
}

/*
 * One component p (ending at slash, or the last one when slash is NULL)
 * from the directory *fd, which then moves there.  -1 with errno.
 */
static int
walk_step(struct walk *w, int *fd, const char *p, char *slash)
{
	struct stat st;
	int nfd, saved;

	if (strcmp(p, ".") == 0 || (strcmp(p, "..") == 0 && fstat(*fd, &st) == 0 &&
	    st.st_dev == w->root.st_dev && st.st_ino == w->root.st_ino)) {
		nfd = dup(*fd);	/* "." and the root's ".." stay where they are */
	} else {
		nfd = openat(*fd, p, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (nfd >= 0 && fstat(nfd, &st) == 0 && S_ISLNK(st.st_mode))
			return walk_link(w, fd, nfd, slash ? slash + 1 : NULL);
		if (nfd >= 0 && !S_ISDIR(st.st_mode)) {
			close(nfd);
			nfd = -1;
			errno = ENOTDIR;
		}
	}
	saved = errno;
	close(*fd);
	errno = saved;
	*fd = nfd;
	if (nfd < 0)
		return -1;
	if (slash)
		memmove(w->rest, slash + 1, strlen(slash + 1) + 1);
	else
		w->rest[0] = '\0';
	return 0;
}

/* Without openat2: one component at a time, reading symlinks ourselves. */
static int
walk_in_root(int rootfd, const char *path, int follow)
{
	struct walk w = { .rootfd = rootfd, .follow = follow };
	char *p, *slash;
	int fd, saved;

	if (fstat(rootfd, &w.root) < 0)
		return -1;
	w.size = strlen(path) + PATH_MAX;
	if ((w.rest = malloc(w.size)) == NULL)
		return -1;
	memcpy(w.rest, path, strlen(path) + 1);
	fd = openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	while (fd >= 0) {
		for (p = w.rest; *p == '/'; p++)
			;
		if (*p == '\0') {
			free(w.rest);
			return fd;
		}
		if ((slash = strchr(p, '/')) != NULL)
			*slash = '\0';
		if (walk_step(&w, &fd, p, slash) < 0)
			break;
	}
	saved = errno;
	if (fd >= 0)
		close(fd);
	free(w.rest);
	errno = saved;
	return -1;
}

int
oci_open_in_root(int rootfd, const char *path, int follow)
{
	int fd;

	if (path[0] == '\0')
		return openat(rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (no_openat2 < 0)
		no_openat2 = getenv("OCI_UNTAR_NO_OPENAT2") != NULL;
	if (!no_openat2) {
		fd = open_openat2(rootfd, path, follow);
		if (!no_openat2)
			return fd;
	}
	return walk_in_root(rootfd, path, follow);
}
