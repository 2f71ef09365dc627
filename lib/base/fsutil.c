/*
 * lib/base/fsutil.c — small file-system rules the library and the programs share.
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

#include "base.h"

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

/*
 * The temporary name of one made beside name: ".tmp-BASE-PID-N" in name's
 * directory.  The PID and a count keep two runs, and two threads, apart;
 * ".tmp-" is what the store clears when a killed run left one.
 */
static int
temp_name(const char *name, char *out, size_t len)
{
	static unsigned seq;
	const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
	int dir = slash ? (int)(slash - name + 1) : 0;

	return snprintf(out, len, "%.*s.tmp-%s-%d-%u", dir, name, base, (int)getpid(),
	    __atomic_fetch_add(&seq, 1, __ATOMIC_RELAXED)) < (int)len ? 0 : -1;
}

int
oci_temp_new(int dirfd, const char *name, int dir, struct oci_temp *t, struct oci_err *e)
{
	int made = 0, saved;

	t->dirfd = dirfd;
	t->dir = dir;
	t->fd = t->undo = -1;
	/* A name taken (left behind, or planted: never written through) is passed over. */
	for (;;) {
		if (temp_name(name, t->name, sizeof t->name) < 0)
			return oci_fail(e, "%s: name too long", name);
		if (!dir) {
			t->fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0644);
			if (t->fd >= 0 || errno != EEXIST)
				break;
		} else if (mkdirat(dirfd, t->name, 0755) == 0) {
			made = 1;
			t->fd = openat(dirfd, t->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			break;
		} else if (errno != EEXIST) {
			break;
		}
	}
	saved = errno;
	/* Removed again if this run fails or is interrupted before the rename. */
	if (t->fd >= 0 || made)
		t->undo = oci_undo_add(dir ? OCI_UNDO_RMTREE : OCI_UNDO_UNLINK, dirfd, t->name);
	if (t->fd < 0) {
		errno = saved;
		oci_fail_errno(e, "%s", t->name);
		oci_temp_abort(t);
		return -1;
	}
	return 0;
}

int
oci_temp_rename(struct oci_temp *t, const char *name, struct oci_err *e)
{
	int saved;

	if (!t->dir && fsync(t->fd) < 0) {
		oci_fail_errno(e, "write %s", t->name);
		oci_temp_abort(t);
		return -1;
	}
	if (close(t->fd) < 0 && !t->dir) {
		t->fd = -1;
		oci_fail_errno(e, "write %s", t->name);
		oci_temp_abort(t);
		return -1;
	}
	t->fd = -1;
	if (renameat(t->dirfd, t->name, t->dirfd, name) < 0) {
		saved = errno;
		oci_fail_errno(e, "rename %s", name);
		oci_temp_abort(t);
		errno = saved;
		return -1;
	}
	oci_undo_keep(t->undo);
	t->undo = -1;
	return 0;
}

void
oci_temp_abort(struct oci_temp *t)
{
	int saved = errno;

	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	oci_undo_now(t->undo);
	t->undo = -1;
	errno = saved;
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
	struct oci_temp t;

	if (oci_temp_new(dirfd, name, 0, &t, e) < 0)
		return oci_context(e, "%s", dir);
	if (oci_write_all(t.fd, data, len) < 0 || fsync(t.fd) < 0) {
		oci_fail_errno(e, "write %s/%s", dir, t.name);
		oci_temp_abort(&t);
		return -1;
	}
	if (close(t.fd) < 0) {
		t.fd = -1;
		oci_fail_errno(e, "write %s/%s", dir, t.name);
		oci_temp_abort(&t);
		return -1;
	}
	t.fd = -1;
	return replace(dirfd, dir, t.name, name, t.undo, commit, e);
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

int
oci_reopen_parent(int fd, int flags, const struct stat *want)
{
	struct stat st;
	int up = openat(fd, "..", flags | O_DIRECTORY | O_CLOEXEC);

	if (up >= 0 && (fstat(up, &st) < 0 || st.st_dev != want->st_dev || st.st_ino != want->st_ino)) {
		close(up);
		up = -1;
	}
	return up;
}
