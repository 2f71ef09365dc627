/*
 * lib/run/procfs.c — a container's /proc: mounted, fenced and checked through
 * file descriptors, never through a path the image controls.
 *
 * A new procfs sees only the container's PID namespace, but much of it is
 * host-wide: /proc/sys/kernel/core_pattern names a program the kernel runs
 * as host root, /proc/sysrq-trigger reboots the machine, /proc/kcore is
 * the kernel's memory.  runtime-spec config-linux.md lets a runtime make
 * such paths read-only (readonlyPaths) or hide them (maskedPaths); these
 * are the lists docker gives runc (moby oci/defaults.go), with
 * /proc/kallsyms added, which docker leaves readable.
 *
 * An image must not be able to move any of it.  Were /proc a symlink
 * (runc CVE-2019-19921, CVE-2025-52565), the new procfs would land
 * elsewhere and every fence would miss: so /proc must be a real directory
 * of the rootfs (runc refuses likewise: "proc must be mounted on ordinary
 * directory"), the procfs is attached to the descriptor of that directory,
 * each fence is opened beneath the descriptor of the new procfs itself,
 * with no symlink followed, and put in place with move_mount(2) onto that
 * descriptor.  A path missing from a procfs we know is ours is missing
 * from this kernel; anything else refuses the run.  Afterwards
 * oci_procfs_verify looks again from inside, as the container will.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "run.h"

/* docker's maskedPaths and readonlyPaths (moby oci/defaults.go), and /proc/kallsyms. */
static const char *const masked[] = {
	"acpi", "asound", "interrupts", "kcore", "keys", "latency_stats", "timer_list",
	"timer_stats", "sched_debug", "scsi", "kallsyms",
};
static const char *const readonly[] = { "bus", "fs", "irq", "sys", "sysrq-trigger" };

#define NMASKED (sizeof masked / sizeof masked[0])
#define NREADONLY (sizeof readonly / sizeof readonly[0])
#define PROC_ROOT_INO 1	/* the root directory of every procfs (fs/proc/root.c) */

/* The mount id of the procfs we made, for oci_procfs_verify. */
static uint64_t our_procfs;

static uint64_t
mount_id(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) < 0 || !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

/*
 * name beneath the procfs at procfd, never through a symlink; with
 * same_mount, not onto another mount either (before the fences are up,
 * nothing may be mounted there yet; afterwards, the fence is what we open).
 */
static int
beneath(int procfd, const char *name, int same_mount)
{
	return oci_openat2(procfd, name, O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS | (same_mount ? RESOLVE_NO_XDEV : 0));
}

/* Put the detached mount tree over target, then let go of both. */
static int
cover(int tree, int target, const char *what, struct oci_err *e)
{
	int rc = 0;

	if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
		rc = oci_fail_errno(e, "/proc/%s", what);
	close(tree);
	return rc;
}

static int
set_attrs(int tree, unsigned attrs, int recursive)
{
	struct mount_attr a = { .attr_set = attrs };

	return mount_setattr(tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

/* /proc/NAME becomes a read-only copy of itself. */
static int
make_readonly(int procfd, const char *name, struct oci_err *e)
{
	int fd, tree, rc;

	if ((fd = beneath(procfd, name, 1)) < 0)
		return errno == ENOENT ? 0 : oci_fail_errno(e, "/proc/%s", name);
	tree = open_tree(fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0 || set_attrs(tree, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
	    MOUNT_ATTR_NOEXEC, 1) < 0) {
		rc = oci_fail_errno(e, "make /proc/%s read-only", name);
		if (tree >= 0)
			close(tree);
	} else {
		rc = cover(tree, fd, name, e);
	}
	close(fd);
	return rc;
}

/* /proc/NAME hidden: an empty read-only tmpfs over a directory, the container's /dev/null over a file. */
static int
make_masked(int procfd, int nullfd, const char *name, struct oci_err *e)
{
	struct stat st;
	int fd, fs = -1, tree = -1, rc = -1;

	if ((fd = beneath(procfd, name, 1)) < 0)
		return errno == ENOENT ? 0 : oci_fail_errno(e, "/proc/%s", name);
	if (fstat(fd, &st) < 0) {
		oci_fail_errno(e, "/proc/%s", name);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		if ((fs = fsopen("tmpfs", FSOPEN_CLOEXEC)) < 0 ||
		    fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
		    (tree = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
		    MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)) < 0) {
			oci_fail_errno(e, "mask /proc/%s with a tmpfs", name);
			goto out;
		}
	} else {
		/* Not nodev: reading the mask must give end-of-file, not EACCES. */
		tree = open_tree(nullfd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
		if (tree < 0 || set_attrs(tree, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, 0) < 0) {
			oci_fail_errno(e, "mask /proc/%s with /dev/null", name);
			goto out;
		}
	}
	rc = cover(tree, fd, name, e);
	tree = -1;
out:
	if (tree >= 0)
		close(tree);
	if (fs >= 0)
		close(fs);
	close(fd);
	return rc;
}

/* Is fd the root of a procfs? */
static int
is_procfs_root(int fd)
{
	struct statfs sf;
	struct stat st;

	return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC &&
	    fstat(fd, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == PROC_ROOT_INO;
}

int
oci_procfs_mount(int target, int devfd, struct oci_err *e)
{
	int fs, procfd = -1, nullfd = -1, rc = -1;
	size_t i;
	struct stat st;

	if ((fs = fsopen("proc", FSOPEN_CLOEXEC)) < 0)
		return oci_fail_errno(e, "fsopen proc");
	switch (oci_mount_attach(fs, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC,
	    target, "", &procfd)) {
	case OCI_MOUNT_CREATE:
	case OCI_MOUNT_FSMOUNT:
		oci_fail_errno(e, "make a procfs");
		goto out;
	case OCI_MOUNT_MOVE:
		oci_fail_errno(e, "mount a procfs on /proc");
		goto out;
	}
	if (!is_procfs_root(procfd) || (our_procfs = mount_id(procfd)) == 0) {
		oci_fail(e, "/proc: the new procfs is not where it was mounted: refused");
		goto out;
	}
	/* The mask for files: the container's own /dev/null, checked to be the real one (1:3). */
	nullfd = oci_openat2(devfd, "null", O_PATH | O_NOFOLLOW, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
	if (nullfd < 0 || fstat(nullfd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3)) {
		oci_fail(e, "/dev/null is not the null device: nothing to mask /proc with");
		goto out;
	}
	for (i = 0; i < NREADONLY; i++)
		if (make_readonly(procfd, readonly[i], e) < 0)
			goto out;
	for (i = 0; i < NMASKED; i++)
		if (make_masked(procfd, nullfd, masked[i], e) < 0)
			goto out;
	rc = 0;
out:
	if (nullfd >= 0)
		close(nullfd);
	if (procfd >= 0)
		close(procfd);
	close(fs);
	return rc;
}

/* Is the path at fd read-only, nosuid, nodev and noexec, and a mask of the kind its type calls for? */
static const char *
fence_wrong(int fd, int mask)
{
	struct statvfs sv;
	struct statfs sf;
	struct stat st;
	unsigned long want = ST_RDONLY | ST_NOSUID | ST_NOEXEC | (mask ? 0 : ST_NODEV);

	if (fstatvfs(fd, &sv) < 0 || fstatfs(fd, &sf) < 0 || fstat(fd, &st) < 0)
		return "cannot be checked";
	if ((sv.f_flag & want) != want)
		return "is not read-only";
	if (!mask)
		return sf.f_type == PROC_SUPER_MAGIC ? NULL : "is not procfs";
	if (S_ISDIR(st.st_mode))
		return sf.f_type == TMPFS_MAGIC ? NULL : "is not masked by a tmpfs";
	return S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3) ? NULL : "is not masked by /dev/null";
}

int
oci_procfs_verify(struct oci_err *e)
{
	struct statvfs sv;
	const char *why;
	size_t i, seen = 0;
	int procfd, fd;

	if (statvfs("/", &sv) < 0 || !(sv.f_flag & ST_NODEV))
		return oci_fail(e, "verify: / is not mounted nodev: refused");
	procfd = oci_openat2(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	if (procfd < 0 || !is_procfs_root(procfd) || mount_id(procfd) != our_procfs) {
		if (procfd >= 0)
			close(procfd);
		return oci_fail(e, "verify: /proc is not the procfs made for this container: refused");
	}
	for (i = 0; i < NREADONLY + NMASKED; i++) {
		const char *name = i < NREADONLY ? readonly[i] : masked[i - NREADONLY];

		if ((fd = beneath(procfd, name, 0)) < 0 && errno == ENOENT)
			continue;
		why = fd < 0 ? "cannot be opened" : fence_wrong(fd, i >= NREADONLY);
		if (fd >= 0)
			close(fd);
		if (why) {
			close(procfd);
			return oci_fail(e, "verify: /proc/%s %s: refused", name, why);
		}
		seen++;
	}
	close(procfd);
	oci_say("verified from inside: / is nodev, /proc is the procfs made for this container, "
	    "and each of its %zu fences present on this kernel is in place", seen);
	return 0;
}

void
oci_procfs_narrate(void)
{
	oci_say("/proc: a new procfs on the rootfs's own /proc directory (no symlink followed); "
	    "sys, sysrq-trigger, irq, bus and fs read-only, and kcore, keys, timer_list and %zu "
	    "more masked, as docker asks of runc; kallsyms masked too, which docker leaves readable",
	    NMASKED - 4);
}
