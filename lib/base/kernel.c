/*
 * lib/base/kernel.c — the few Linux calls that several files make the same way.
 *
 * openat2(2) (Linux 5.6) and the question "is it refused here?" (ENOSYS
 * from an old kernel, EPERM from a seccomp profile that does not know it);
 * the new mount API's last three steps (fsconfig CMD_CREATE, fsmount,
 * move_mount), whatever the filesystem; whether this process is in the
 * host's user namespace, which decides what it may do as root; and so which
 * overlayfs xattrs (trusted.overlay.* or user.overlay.*) it writes and reads.  Nothing
 * here knows about images or containers: every file above may use it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base.h"

/* The inode number of the initial user namespace (include/linux/proc_ns.h). */
#define INIT_USER_NS_INO 0xEFFFFFFDU

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
oci_openat2_refused(int err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int saved = errno, fd, refused = 0;

	/*
	 * ENOSYS: a kernel before 5.6.  EPERM: a seccomp filter that does not
	 * know openat2 (older container runtimes' default profiles).  Opening
	 * "/" O_PATH with no RESOLVE_ flags tells it from a refusal of the path.
	 */
	if (err == ENOSYS || err == EPERM) {
		fd = syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how);
		if (fd >= 0)
			close(fd);
		else
			refused = errno == err;
	}
	errno = saved;
	return refused;
}

int
oci_openat2_error(struct oci_err *e, const char *what)
{
	int saved = errno;

	if (oci_openat2_refused(saved))
		return oci_fail(e, "%s: openat2(2) is refused here (%s: %s), and it is what "
		    "keeps paths inside the rootfs", what,
		    saved == ENOSYS ? "a kernel before 5.6" : "a seccomp profile that does not allow it",
		    strerror(saved));
	errno = saved;
	return oci_fail_errno(e, "%s", what);
}

int
oci_mount_attach(int fs, unsigned attrs, int dirfd, const char *path, int *root)
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
	if (root)
		*root = mnt;
	else
		close(mnt);
	return 0;
}

int
oci_ns_initial_user(void)
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st) < 0)
		return 1;	/* no /proc: assume the host */
	return st.st_ino == INIT_USER_NS_INO;
}

int
oci_overlay_user_xattrs(void)
{
	/*
	 * trusted.* needs CAP_SYS_ADMIN in the initial user namespace: root of
	 * any other one gets EPERM, even when it maps every id to itself (as
	 * oci-unshare's user namespace does for root), and so does a user
	 * who is not root.  Such a process writes user.overlay.*, and an
	 * overlay of its layers is mounted with "userxattr" to read them.
	 */
	return geteuid() != 0 || !oci_ns_initial_user();
}
