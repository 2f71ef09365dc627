/*
 * lib/base/undo.c — what a run makes stays only if the run succeeds.
 *
 * Each thing a run makes is registered as it is made, by the library
 * function that makes it: a temporary file, a new blob that nothing names
 * yet, a directory it created (oci_undo_mkdir), a mount.  When the run is
 * done it keeps them (oci_undo_keep_all: oci_file_replace in lib/base/fsutil.c does
 * that in the same breath as it renames index.json, and every program as it ends well, in
 * oci_cli_done of lib/cli/cli.c).  If instead it exits without keeping them
 * (an error, errx) or SIGINT, SIGTERM or SIGHUP arrives, they are
 * removed, last made first, and the signal is raised again, so that the
 * shell sees 130 or 143 as for any killed program.
 *
 * The removal runs inside a signal handler, so it uses system calls only:
 * no malloc, no stdio, no readdir (getdents64 into a buffer on the stack).
 * It is the library's one rm -r (oci_rmtree_at), which never follows a
 * symlink and never empties a mount it meets inside the tree.
 */
#define _GNU_SOURCE	/* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base.h"

#ifndef P_PIDFD
#define P_PIDFD 3	/* linux/wait.h; glibc names it from 2.36 */
#endif
/*
 * Things to undo at once.  oci-fetch --store of 125 layers (a store's
 * most) holds a slot per layer's temporary directory, and two per layer it
 * puts in the store (its directory and its l/ link), until it ends.
 */
#define SLOTS 1024
/*
 * How deep oci_rmtree_at goes.  A path is at most PATH_MAX long, but a
 * layer can nest deeper through symlinks (each expansion up to PATH_MAX
 * again); a tree deeper than this was not made by a layer we extracted.
 */
#define MAX_DEPTH 65536

/* A slot is free (0), being filled (1), or armed (2). */
struct undo {
	int state;
	enum oci_undo_kind kind;
	unsigned long seq;	/* the order things were made in */
	int dirfd;		/* our own descriptor of the directory name is in */
};

/*
 * The states are scanned (at each registration, and at exit), the names
 * only read when used: apart, a scan touches a few pages, not one a slot.
 */
static struct undo slots[SLOTS];
static char names[SLOTS][PATH_MAX];
static unsigned long made;	/* a counter for seq */
static pid_t owner;		/* a forked child never undoes its parent's work */
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const int signals[] = { SIGINT, SIGTERM, SIGHUP };

struct linux_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* Removing name failed (errno says why): -1, or OCI_DENIED when it is dirfd that refused (EACCES). */
static int
remove_failed(struct oci_err *e, const char *name)
{
	int rc = errno == EACCES ? OCI_DENIED : -1;

	if (e)
		oci_fail_errno(e, "remove %s", name);
	return rc;
}

/*
 * One directory on the way down: who it is (to check the way back up
 * through "..": a directory moved meanwhile is not climbed out of), where
 * its listing stopped (the child being emptied), and how often that child
 * was entered again because it was still not empty.
 */
struct level {
	dev_t dev;
	ino_t ino;
	off_t off;
	int tries;
};

/*
 * The way down, in static memory rather than on the stack of a signal
 * handler.  One removal uses it at a time (levels_tid, a thread id); a
 * signal handler that interrupted a removal in its own thread takes it
 * over, since on_signal never returns to it.
 */
static struct level levels[MAX_DEPTH];
static pid_t levels_tid;

static void
levels_take(void)
{
	pid_t none, tid = (pid_t)syscall(SYS_gettid);

	for (;;) {
		none = 0;
		if (__atomic_compare_exchange_n(&levels_tid, &none, tid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ||
		    none == tid)
			return;
		sched_yield();	/* another thread is removing: it is short */
	}
}

/*
 * Open name in dirfd to empty it: never through a symlink, and as non-root
 * a directory of mode 0555 or 0000 is first made the owner's (0700).
 */
static int
open_to_empty(int dirfd, const char *name, struct stat *st)
{
	int fd, saved;

	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES && fchmodat(dirfd, name, 0700, 0) == 0)
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (faccessat(fd, ".", W_OK | X_OK, AT_EACCESS) < 0)
		fchmod(fd, 0700);
	return fd;
}

/*
 * rm -r of name in dirfd, never following a symlink and never entering a
 * mount met inside (a directory on another device than the top: not ours
 * to empty, or not yet detached).  System calls only, so that the signal
 * handler can use it: with e NULL it goes on past what it cannot remove
 * and says nothing; with e it stops at the first failure and says why,
 * once.
 *
 * A layer may nest directories thousands deep, so this is a loop, not a
 * recursion: it holds one directory open (and one more for a moment),
 * goes down by name with O_NOFOLLOW and back up by "..", checked against
 * the identity it recorded on the way down.  An emptied child is removed
 * by its parent, whose listing resumes at it.
 */
static int
rm_tree(int dirfd, const char *name, struct oci_err *e)
{
	struct linux_dirent64 *d;
	struct stat st;
	char buf[1024];
	long n, off;
	off_t pos;
	int fd, cfd, depth = 0, pass = 0, failed = 0, down, saved;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM && errno != EACCES)
		return remove_failed(e, name);
	if ((fd = open_to_empty(dirfd, name, &st)) < 0)
		return remove_failed(e, name);
	levels_take();
	levels[0] = (struct level){ st.st_dev, st.st_ino, 0, 0 };
	for (;;) {
		down = 0;
		pos = levels[depth].off;
		if (lseek(fd, pos, SEEK_SET) < 0)
			n = -1;
		else
			while (!down && (n = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
				for (off = 0; !down && off < n; pos = d->d_off) {
					d = (struct linux_dirent64 *)(buf + off);
					off += d->d_reclen;
					if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
						continue;
					if (unlinkat(fd, d->d_name, 0) == 0 || errno == ENOENT)
						continue;
					if (errno == EISDIR || errno == EPERM) {
						saved = errno;
						if (unlinkat(fd, d->d_name, AT_REMOVEDIR) == 0 || errno == ENOENT)
							continue;
						if (errno == ENOTDIR)
							errno = saved;	/* a file we may not remove */
					}
					/* Not empty: go down, unless it is the child just climbed out of, for good. */
					if (errno == ENOTEMPTY || errno == EEXIST) {
						cfd = -1;
						if (depth + 1 >= MAX_DEPTH) {
							if (e) {
								oci_fail(e, "remove %s: deeper than %d levels", name, MAX_DEPTH);
								goto out;
							}
							errno = ELOOP;
						} else if ((cfd = open_to_empty(fd, d->d_name, &st)) < 0 ||
						    st.st_dev != levels[0].dev) {
							if (cfd >= 0) {
								close(cfd);
								errno = EBUSY;	/* a mount: not ours to empty */
							}
						} else {
							struct level *l = &levels[depth], *c = &levels[depth + 1];

							l->tries = l->off == pos && c->dev == st.st_dev && c->ino == st.st_ino ?
							    l->tries + 1 : 0;
							if (l->tries > 0 && (failed || l->tries > 4)) {
								close(cfd);
								errno = ENOTEMPTY;
							} else {
								l->off = pos;
								*c = (struct level){ st.st_dev, st.st_ino, 0, 0 };
								if (depth + 2 < MAX_DEPTH)	/* no child of c entered yet */
									levels[depth + 2] = (struct level){ 0, 0, 0, 0 };
								close(fd);
								fd = cfd;
								depth++;
								down = 1;
								continue;
							}
						}
					}
					if (e) {
						oci_fail_errno(e, "remove %s: %s (%d deep)", name, d->d_name, depth + 1);
						goto out;
					}
					failed = 1;
				}
		if (down)
			continue;
		if (n < 0) {
			if (e) {
				oci_fail_errno(e, "remove %s: list (%d deep)", name, depth);
				goto out;
			}
			failed = 1;
		}
		if (depth == 0) {
			/* Entries may hide from a listing that races our unlinks: look again. */
			if (unlinkat(dirfd, name, AT_REMOVEDIR) == 0) {
				close(fd);
				__atomic_store_n(&levels_tid, 0, __ATOMIC_RELEASE);
				return 0;
			}
			if (errno != ENOTEMPTY || failed || ++pass >= 4) {
				saved = errno;
				close(fd);
				__atomic_store_n(&levels_tid, 0, __ATOMIC_RELEASE);
				errno = saved;
				return e || !failed ? remove_failed(e, name) : -1;
			}
			levels[0].off = 0;
			continue;
		}
		/* Back up: the parent removes this one, now empty, where its listing stopped. */
		cfd = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0 || fstat(cfd, &st) < 0 || st.st_dev != levels[depth - 1].dev ||
		    st.st_ino != levels[depth - 1].ino) {
			if (cfd >= 0) {
				close(cfd);
				errno = ESTALE;	/* moved away while we were inside */
			}
			if (e)
				oci_fail_errno(e, "remove %s: the way back up (%d deep) changed", name, depth);
			goto out;
		}
		close(fd);
		fd = cfd;
		depth--;
	}
out:
	close(fd);
	__atomic_store_n(&levels_tid, 0, __ATOMIC_RELEASE);
	return -1;
}

int
oci_rmtree_at(int dirfd, const char *name, struct oci_err *e)
{
	return rm_tree(dirfd, name, e);
}

static void
run_one(struct undo *u)
{
	char path[64];

	switch (u->kind) {
	case OCI_UNDO_UNLINK:
		unlinkat(u->dirfd, names[u - slots], 0);
		break;
	case OCI_UNDO_RMTREE:
		rm_tree(u->dirfd, names[u - slots], NULL);
		break;
	case OCI_UNDO_UMOUNT:
		/* dirfd is the mount's root (O_PATH): its /proc/self/fd link names the mount. */
		snprintf(path, sizeof path, "/proc/self/fd/%d", u->dirfd);
		umount2(path, MNT_DETACH);
		break;
	case OCI_UNDO_KILL:
		/* A pidfd names the very process, even if its pid were reused. */
		syscall(SYS_pidfd_send_signal, u->dirfd, SIGKILL, NULL, 0);
		syscall(SYS_waitid, P_PIDFD, u->dirfd, NULL, WEXITED, NULL);
		break;
	}
}

static void
release(struct undo *u)
{
	close(u->dirfd);
	__atomic_store_n(&u->state, 0, __ATOMIC_RELEASE);
}

/* Undo everything armed, the last made first (a mount before the directory it is in). */
static void
run_all(void)
{
	int i, last, want;

	if (getpid() != owner)
		return;
	for (;;) {
		last = -1;
		for (i = 0; i < SLOTS; i++)
			if (__atomic_load_n(&slots[i].state, __ATOMIC_ACQUIRE) == 2 &&
			    (last < 0 || slots[i].seq > slots[last].seq))
				last = i;
		want = 2;
		if (last < 0)
			return;
		if (__atomic_compare_exchange_n(&slots[last].state, &want, 1, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			run_one(&slots[last]);
			release(&slots[last]);
		}
	}
}

static void
on_signal(int sig)
{
	sigset_t set;

	run_all();
	signal(sig, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void
install(void)
{
	struct sigaction sa, old;
	size_t i;

	owner = getpid();
	atexit(run_all);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigfillset(&sa.sa_mask);	/* one signal's cleanup is not interrupted by another */
	for (i = 0; i < sizeof signals / sizeof signals[0]; i++) {
		/* A signal the shell told us to ignore (a background job's SIGINT) stays ignored. */
		if (sigaction(signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
			continue;
		sigaction(signals[i], &sa, NULL);
	}
}

int
oci_undo_add(enum oci_undo_kind kind, int dirfd, const char *name)
{
	int i, fd, free_slot = 0;

	pthread_once(&once, install);
	if (strlen(name) >= PATH_MAX)
		return -1;
	if (kind == OCI_UNDO_UMOUNT)
		fd = openat(dirfd, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
	else if (dirfd == AT_FDCWD)
		fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	else
		fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return -1;
	for (i = 0; i < SLOTS; i++, free_slot = 0)
		if (__atomic_compare_exchange_n(&slots[i].state, &free_slot, 1, 0,
		    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			slots[i].seq = __atomic_add_fetch(&made, 1, __ATOMIC_RELAXED);
			slots[i].kind = kind;
			slots[i].dirfd = fd;
			strcpy(names[i], name);
			__atomic_store_n(&slots[i].state, 2, __ATOMIC_RELEASE);
			return i;
		}
	close(fd);
	return -1;
}

/* The slot of a handle that is armed, or NULL (a failed oci_undo_add gave -1). */
static struct undo *
armed(int h)
{
	int want = 2;

	if (h < 0 || h >= SLOTS || !__atomic_compare_exchange_n(&slots[h].state, &want, 1, 0,
	    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		return NULL;
	return &slots[h];
}

void
oci_undo_keep(int h)
{
	struct undo *u = armed(h);

	if (u)
		release(u);
}

void
oci_undo_now(int h)
{
	struct undo *u = armed(h);

	if (u) {
		run_one(u);
		release(u);
	}
}

void
oci_undo_keep_all(void)
{
	int i;

	for (i = 0; i < SLOTS; i++)
		oci_undo_keep(i);
}

int
oci_undo_mkdir(const char *path, mode_t mode, struct oci_err *e)
{
	if (mkdir(path, mode) == 0)
		oci_undo_add(OCI_UNDO_RMTREE, AT_FDCWD, path);
	else if (errno != EEXIST)
		return oci_fail_errno(e, "%s", path);
	return 0;
}

void
oci_undo_block(sigset_t *old)
{
	sigset_t set;
	size_t i;

	sigemptyset(&set);
	for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
		sigaddset(&set, signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, old);
}
