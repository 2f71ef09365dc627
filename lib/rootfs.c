/*
 * lib/rootfs.c — turn a directory into a container's "/".
 *
 * What runtime-spec config-linux.md asks of a runtime, in the small: a
 * private mount namespace, the rootfs bind-mounted onto itself, a fresh
 * /proc for the new PID namespace, a tmpfs /dev with a few host devices
 * bound in (runtime-spec "Default Devices"), /dev/pts and /dev/shm, then
 * pivot_root(2) and the old root detached.  Every mount point inside the
 * rootfs is opened with openat2(RESOLVE_BENEATH), so that a symlink such as
 * "proc -> /x" can never make us mount over the host's /x.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci.h"

int
oci_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how;

	memset(&how, 0, sizeof how);
	how.flags = flags | O_CLOEXEC;
	how.resolve = resolve;
	return syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

int
oci_mount_attach(int fs, unsigned attrs, int dirfd, const char *path)
{
	int mnt, saved, flags = MOVE_MOUNT_F_EMPTY_PATH | (path[0] ? 0 : MOVE_MOUNT_T_EMPTY_PATH);

	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return OCI_MOUNT_CREATE;
	if ((mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs)) < 0)
		return OCI_MOUNT_FSMOUNT;
	if (move_mount(mnt, "", dirfd, path, flags) < 0) {
		saved = errno;
		close(mnt);
		errno = saved;
		return OCI_MOUNT_MOVE;
	}
	close(mnt);
	return 0;
}

int
oci_openat2_error(struct oci_err *e, const char *what)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int saved = errno, fd;

	/* Is openat2 itself refused?  Opening "/" with no RESOLVE_ flags tells. */
	if (saved == ENOSYS || saved == EPERM) {
		fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
		if (fd >= 0)
			close(fd);
		else if (errno == saved)
			return oci_fail(e, "%s: openat2(2) is refused here (%s: %s), and it is what "
			    "keeps paths inside the rootfs", what,
			    saved == ENOSYS ? "a kernel before 5.6" : "a seccomp profile that does not allow it",
			    strerror(saved));
	}
	errno = saved;
	return oci_fail_errno(e, "%s", what);
}

/*
 * The directory NAME inside the rootfs, made if missing.  Symlinks may be
 * followed only while they stay beneath the rootfs; "/proc/self/fd/N"-style
 * magic links never.
 */
static int
mount_point(int rootfd, const char *name, mode_t mode, struct oci_err *e)
{
	char what[PATH_MAX + 16];
	int fd;

	fd = oci_openat2(rootfd, name, O_PATH | O_DIRECTORY,
	    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ENOENT && mkdirat(rootfd, name, mode) == 0)
		fd = oci_openat2(rootfd, name, O_PATH | O_DIRECTORY,
		    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
	if (fd >= 0)
		return fd;
	if (errno == EXDEV || errno == ELOOP)
		return oci_fail(e, "rootfs: /%s is a symlink that leads outside the rootfs: refused", name);
	if (errno == ENOTDIR)
		return oci_fail(e, "rootfs: /%s is not a directory", name);
	snprintf(what, sizeof what, "rootfs: /%s", name);
	return oci_openat2_error(e, what);
}

/* A new filesystem of type fstype with options "k=v,k2" mounted on fd. */
static int
mount_new(const char *fstype, const char *opts, unsigned attrs, int target,
    struct oci_err *e)
{
	char buf[256], *o, *next, *v;
	int fs, rc = -1;

	if ((fs = fsopen(fstype, FSOPEN_CLOEXEC)) < 0)
		return oci_fail_errno(e, "fsopen %s", fstype);
	snprintf(buf, sizeof buf, "%s", opts);
	for (o = buf; o && *o; o = next) {
		if ((next = strchr(o, ',')))
			*next++ = '\0';
		if ((v = strchr(o, '=')))
			*v++ = '\0';
		if (fsconfig(fs, v ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, o, v, 0) < 0) {
			oci_fail_errno(e, "%s option %s", fstype, o);
			goto out;
		}
	}
	switch (oci_mount_attach(fs, attrs, target, "")) {
	case OCI_MOUNT_CREATE:
		oci_fail_errno(e, "make a %s filesystem", fstype);
		goto out;
	case OCI_MOUNT_FSMOUNT:
		oci_fail_errno(e, "fsmount %s", fstype);
		goto out;
	case OCI_MOUNT_MOVE:
		oci_fail_errno(e, "mount %s", fstype);
		goto out;
	}
	rc = 0;
out:
	close(fs);
	return rc;
}

/* Bind the host's /dev/NAME, read-only, onto an empty file of the same name in devfd. */
static int
bind_device(int devfd, const char *name, struct oci_err *e)
{
	char host[64];
	int fd, tree;

	snprintf(host, sizeof host, "/dev/%s", name);
	tree = open_tree(AT_FDCWD, host, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		if (errno == ENOENT || errno == ENXIO)
			return 0;	/* the host has none: neither will the container */
		return oci_fail_errno(e, "%s", host);
	}
	/* Read-only: the node is the host's own, and a chmod or chown
	 * inside would change it for the host too. */
	if (mount_setattr(tree, "", AT_EMPTY_PATH, &(struct mount_attr){
	    .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC },
	    sizeof(struct mount_attr)) < 0) {
		oci_fail_errno(e, "bind %s read-only", host);
		close(tree);
		return -1;
	}
	fd = openat(devfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
	if (fd < 0 || move_mount(tree, "", devfd, name, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
		oci_fail_errno(e, "bind %s", host);
		if (fd >= 0)
			close(fd);
		close(tree);
		return -1;
	}
	close(fd);
	close(tree);
	return 0;
}

static int
make_dev(int rootfd, struct oci_err *e)
{
	static const char *devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *links[][2] = {
		{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	int dev, sub, rc = -1;
	size_t i;

	if ((dev = mount_point(rootfd, "dev", 0755, e)) < 0)
		return -1;
	if (mount_new("tmpfs", "mode=755,size=65536k", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, dev, e) < 0)
		goto out;
	close(dev);
	/* Reopen: the fd we had is the directory under the tmpfs. */
	if ((dev = mount_point(rootfd, "dev", 0755, e)) < 0)
		return -1;
	for (i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (bind_device(dev, devices[i], e) < 0)
			goto out;
	for (i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0) {
			oci_fail_errno(e, "/dev/%s", links[i][0]);
			goto out;
		}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
	    fchmodat(dev, "shm", 01777, 0) < 0) {
		oci_fail_errno(e, "/dev/pts, /dev/shm");
		goto out;
	}
	if ((sub = openat(dev, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mount_new("devpts", "newinstance,ptmxmode=0666,mode=0620",
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, sub, e) < 0) {
		/* Some sandboxes refuse devpts; a container without ptys still runs. */
		oci_warn("/dev/pts: %s", sub < 0 ? strerror(errno) : e->msg);
	}
	if (sub >= 0)
		close(sub);
	if ((sub = openat(dev, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mount_new("tmpfs", "mode=1777,size=65536k",
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, sub, e) < 0) {
		if (sub < 0)
			oci_fail_errno(e, "/dev/shm");
		goto out;
	}
	close(sub);
	rc = 0;
out:
	close(dev);
	return rc;
}

int
oci_rootfs_idmap(const char *dir, uid_t remap, struct oci_err *e)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP };
	int tree, userns;

	if ((userns = oci_ns_userns_fd(remap, e)) < 0)
		return -1;
	tree = open_tree(AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (tree < 0) {
		oci_fail_errno(e, "rootfs %s", dir);
		close(userns);
		return -1;
	}
	attr.userns_fd = userns;
	if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
		oci_fail_errno(e, "rootfs %s: idmapped mount", dir);
		close(tree);
		tree = -1;
	}
	close(userns);
	return tree;
}

int
oci_rootfs_enter(const char *dir, int tree, const char *hostname, struct oci_err *e)
{
	int rootfd = -1, fd, rc = -1;
	struct stat st;

	if (stat(dir, &st) < 0)
		return oci_fail_errno(e, "rootfs %s", dir);
	if (!S_ISDIR(st.st_mode))
		return oci_fail(e, "rootfs %s: not a directory", dir);
	/* pivot_root(2) wants the new root to be a mount point. */
	if (tree >= 0) {
		if (move_mount(tree, "", AT_FDCWD, dir, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return oci_fail_errno(e, "attach the idmapped %s", dir);
		close(tree);
		oci_say("rootfs %s: an idmapped copy of its mount, on itself: "
		    "files owned by 0 on disk are owned by root inside", dir);
	} else {
		if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) < 0)
			return oci_fail_errno(e, "bind mount %s", dir);
		oci_say("rootfs %s: bind-mounted onto itself", dir);
	}
	if ((rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "rootfs %s", dir);

	if ((fd = mount_point(rootfd, "proc", 0555, e)) < 0)
		goto out;
	if (mount_new("proc", "", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, fd, e) < 0) {
		close(fd);
		goto out;
	}
	close(fd);
	oci_say("/proc: a new procfs, it sees only this PID namespace");
	if (make_dev(rootfd, e) < 0)
		goto out;
	oci_say("/dev: a tmpfs with null, zero, full, random, urandom and tty bound read-only from the host; /dev/pts, /dev/shm");

	/* pivot_root(".", "."): the old root ends up stacked on "/", and
	 * detaching it leaves the rootfs alone (pivot_root(2), NOTES). */
	if (fchdir(rootfd) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) {
		oci_fail_errno(e, "pivot_root %s", dir);
		goto out;
	}
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
		oci_fail_errno(e, "detach the old root");
		goto out;
	}
	oci_say("pivot_root: %s is now /, the old root is detached", dir);
	if (oci_contain_proc(e) < 0)
		goto out;
	if (hostname && sethostname(hostname, strlen(hostname)) < 0) {
		oci_fail_errno(e, "sethostname");
		goto out;
	}
	if (hostname)
		oci_say("hostname: %s", hostname);
	rc = 0;
out:
	close(rootfd);
	return rc;
}

int
oci_rootfs_chdir(const char *dir, struct oci_err *e)
{
	char what[PATH_MAX + 32];
	int fd;

	/* Inside the new root "/" is the rootfs, so absolute symlinks stay in
	 * it; magic links (/proc/self/fd/N, /proc/self/cwd) could reach an
	 * open host directory and are refused. */
	fd = oci_openat2(AT_FDCWD, dir, O_PATH | O_DIRECTORY,
	    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0) {
		if (errno == ELOOP)
			return oci_fail(e, "working directory %s: leads through a /proc magic link: refused", dir);
		snprintf(what, sizeof what, "working directory %s", dir);
		return oci_openat2_error(e, what);
	}
	if (fchdir(fd) < 0) {
		oci_fail_errno(e, "working directory %s", dir);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
