/*
 * lib/run/rootfs.c — turn a directory into a container's "/".
 *
 * What runtime-spec config-linux.md asks of a runtime, in the small: a
 * private mount namespace, a copy of the rootfs's mount attached onto
 * itself, a tmpfs /dev with a few host devices bound in (runtime-spec
 * "Default Devices"), /dev/pts and /dev/shm, a fresh /proc for the new PID
 * namespace (lib/run/procfs.c), then pivot_root(2) and the old root detached.
 *
 * The image controls every path in the rootfs, so the runtime mounts on
 * none by name.  The rootfs's copy is made with open_tree(2) from a
 * descriptor and mounted nodev (a device node in a layer opens nothing);
 * each mount point in it is opened with openat2(2), symlinks refused, and
 * each new filesystem is attached to that descriptor with move_mount(2).
 * As root, oci_rootfs_private refuses a rootfs that other host users can
 * reach: what container root writes there is host root's on disk.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "run.h"

/*
 * The directory NAME of the rootfs, made if missing, for the runtime to
 * mount on.  No symlink is followed, not even one that stays inside: the
 * image decides where its symlinks lead, and a /proc that leads to
 * "dev/pts" is a procfs that lands where no fence looks for it (runc
 * CVE-2019-19921, CVE-2023-27561: runc too wants /proc and /sys to be
 * ordinary directories).
 */
static int
mount_point(int rootfd, const char *name, mode_t mode, struct oci_err *e)
{
	const unsigned long long resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
	char what[PATH_MAX + 16];
	struct stat st;
	int fd;

	fd = oci_openat2(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, resolve);
	if (fd < 0 && errno == ENOENT && mkdirat(rootfd, name, mode) == 0)
		fd = oci_openat2(rootfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW, resolve);
	if (fd >= 0)
		return fd;
	if (errno == ENOTDIR && fstatat(rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		errno = ELOOP;	/* O_DIRECTORY says so first */
	if (errno == ELOOP || errno == EXDEV)
		return oci_fail(e, "rootfs: /%s is a symlink: refused (the runtime mounts on /%s, "
		    "so it must be an ordinary directory)", name, name);
	if (errno == ENOTDIR)
		return oci_fail(e, "rootfs: /%s is not a directory: refused", name);
	snprintf(what, sizeof what, "rootfs: /%s", name);
	return oci_openat2_error(e, what);
}

/*
 * A new filesystem of type fstype with options "k=v,k2" mounted on fd;
 * *root (when not NULL) gets a descriptor of its root, through which
 * the caller goes on without looking the path up again.
 */
static int
mount_new(const char *fstype, const char *opts, unsigned attrs, int target, int *root,
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
	switch (oci_mount_attach(fs, attrs, target, "", root)) {
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

/* A tmpfs of ours over /dev, its nodes bound from the host; *devfd is its root. */
static int
make_dev(int rootfd, int *devfd, struct oci_err *e)
{
	static const char *devices[] = { "null", "zero", "full", "random", "urandom", "tty" };
	static const char *links[][2] = {
		{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	int target, dev = -1, sub;
	size_t i;

	if ((target = mount_point(rootfd, "dev", 0755, e)) < 0)
		return -1;
	/* Not nodev: the host's nodes are bound onto it.  The image's own
	 * /dev is under it, out of reach. */
	if (mount_new("tmpfs", "mode=755,size=65536k", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
	    target, &dev, e) < 0)
		goto fail;
	for (i = 0; i < sizeof devices / sizeof devices[0]; i++)
		if (bind_device(dev, devices[i], e) < 0)
			goto fail;
	for (i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0) {
			oci_fail_errno(e, "/dev/%s", links[i][0]);
			goto fail;
		}
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0 ||
	    fchmodat(dev, "shm", 01777, 0) < 0) {
		oci_fail_errno(e, "/dev/pts, /dev/shm");
		goto fail;
	}
	if ((sub = openat(dev, "pts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mount_new("devpts", "newinstance,ptmxmode=0666,mode=0620",
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, sub, NULL, e) < 0) {
		/* Some sandboxes refuse devpts; a container without ptys still runs. */
		oci_warn("/dev/pts: %s", sub < 0 ? strerror(errno) : e->msg);
	}
	if (sub >= 0)
		close(sub);
	if ((sub = openat(dev, "shm", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0 ||
	    mount_new("tmpfs", "mode=1777,size=65536k",
	    MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, sub, NULL, e) < 0) {
		if (sub < 0)
			oci_fail_errno(e, "/dev/shm");
		goto fail;
	}
	close(sub);
	close(target);
	*devfd = dev;
	return 0;
fail:
	if (dev >= 0)
		close(dev);
	close(target);
	return -1;
}

int
oci_rootfs_tree(uid_t remap, struct oci_err *e)
{
	/* nodev: a device node in the image (a layer can list any) opens
	 * nothing; the container's devices are the runtime's own /dev. */
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NODEV };
	int tree, userns = -1;

	if (remap != (uid_t)-1) {
		if ((userns = oci_ns_userns_fd(remap, e)) < 0)
			return -1;
		attr.attr_set |= MOUNT_ATTR_IDMAP;
		attr.userns_fd = userns;
	}
	tree = open_tree(AT_FDCWD, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
	if (tree < 0)
		oci_fail_errno(e, "a copy of its mount");
	else if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
		oci_fail_errno(e, remap != (uid_t)-1 ? "idmapped mount" : "nodev");
		close(tree);
		tree = -1;
	}
	if (userns >= 0)
		close(userns);
	return tree;
}

/* dir's tree, on the directory we are in (dir), and a descriptor of its root. */
static int
attach(const char *dir, int tree, struct oci_err *e)
{
	if (tree < 0 && (tree = oci_rootfs_tree((uid_t)-1, e)) < 0)
		return oci_context(e, "rootfs %s", dir);
	if (move_mount(tree, "", AT_FDCWD, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
		oci_fail_errno(e, "rootfs %s: attach its mount", dir);
		close(tree);
		return -1;
	}
	return tree;
}

int
oci_rootfs_enter(const char *dir, int tree, int idmapped, const char *hostname, struct oci_err *e)
{
	int rootfd, fd, devfd = -1, rc = -1;

	/* pivot_root(2) wants the new root to be a mount point: a copy of
	 * dir's, attached on dir, which is our working directory. */
	if ((rootfd = attach(dir, tree, e)) < 0)
		return -1;
	oci_say(idmapped ? "rootfs %s: an idmapped copy of its mount, nodev, on itself: "
	    "files owned by 0 on disk are owned by root inside" :
	    "rootfs %s: a copy of its mount, nodev, on itself", dir);
	if (make_dev(rootfd, &devfd, e) < 0)
		goto out;
	oci_say("/dev: a tmpfs with null, zero, full, random, urandom and tty bound read-only "
	    "from the host; /dev/pts, /dev/shm; the image's own /dev is under it");
	if ((fd = mount_point(rootfd, "proc", 0555, e)) < 0)
		goto out;
	rc = oci_procfs_mount(fd, devfd, e);
	close(fd);
	if (rc < 0)
		goto out;
	rc = -1;
	oci_procfs_narrate();

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
	if (oci_procfs_verify(e) < 0)
		goto out;
	if (hostname && sethostname(hostname, strlen(hostname)) < 0) {
		oci_fail_errno(e, "sethostname");
		goto out;
	}
	if (hostname)
		oci_say("hostname: %s", hostname);
	rc = 0;
out:
	if (devfd >= 0)
		close(devfd);
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

int
oci_rootfs_cd(const char *dir, struct oci_err *e)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i, n;

	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		return oci_fail(e, "rootfs %s: not a directory", dir);
	if (chdir(dir) == 0)
		return 0;
	if (errno != EACCES)
		return oci_fail_errno(e, "rootfs %s", dir);
	/* Name the directory on the way that we may not pass. */
	for (i = 1, n = strlen(dir); i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		snprintf(path, sizeof path, "%.*s", (int)i, dir);
		if (access(path, X_OK) < 0 && errno == EACCES && stat(path, &st) == 0)
			return oci_fail(e, "rootfs %s: %s (mode %04o, owner uid %lu) cannot be entered by "
			    "uid %lu", dir, path, (unsigned)(st.st_mode & 07777), (unsigned long)st.st_uid,
			    (unsigned long)geteuid());
	}
	errno = EACCES;
	return oci_fail_errno(e, "rootfs %s", dir);
}

/* ---- who else can reach the rootfs ---- */

/*
 * Is the directory path closed to every host user but root?  Only root may
 * own it, and neither others nor a group other than root's may search it;
 * an access ACL could grant more than the mode shows, so one counts as open.
 */
static int
closed(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != 0)
		return 0;
	if (getxattr(path, "system.posix_acl_access", NULL, 0) > 0)
		return 0;
	return !(st.st_mode & S_IXOTH) && (!(st.st_mode & S_IXGRP) || st.st_gid == 0);
}

/* The first directory from "/" down to abs (absolute, no symlinks) that is closed, or -1. */
static int
closed_on_the_way(const char *abs, char *which, size_t len)
{
	char path[PATH_MAX];
	size_t i, n = strlen(abs);

	for (i = 1; i <= n; i++) {
		if (abs[i] != '/' && abs[i] != '\0')
			continue;
		snprintf(path, sizeof path, "%.*s", (int)i, abs);
		if (closed(path)) {
			snprintf(which, len, "%s", path);
			return 0;
		}
	}
	return -1;
}

/* Undo mountinfo's octal escapes ("\040" for a space) in place. */
static void
unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* One line of /proc/self/mountinfo, its paths unescaped. */
struct mnt {
	int id;
	char dev[32];			/* "maj:min" */
	char root[PATH_MAX];		/* the mount's root, within its filesystem */
	char point[PATH_MAX];		/* where it is mounted */
	char type[64];
	char upper[PATH_MAX];		/* an overlay's upperdir= as written; "" when none */
};

static int
parse_mnt(char *line, struct mnt *m)
{
	char *save = NULL, *f[5], *sep, *opt;
	int i;

	if ((sep = strstr(line, " - ")) == NULL)
		return -1;
	*sep = '\0';
	for (i = 0; i < 5; i++)
		if ((f[i] = strtok_r(i ? NULL : line, " ", &save)) == NULL)
			return -1;
	m->id = atoi(f[0]);
	snprintf(m->dev, sizeof m->dev, "%s", f[2]);
	snprintf(m->root, sizeof m->root, "%s", f[3]);
	snprintf(m->point, sizeof m->point, "%s", f[4]);
	unescape(m->root);
	unescape(m->point);
	/* "fstype source superopts" */
	sep += 3;
	snprintf(m->type, sizeof m->type, "%.*s", (int)strcspn(sep, " \n"), sep);
	m->upper[0] = '\0';
	sep += strcspn(sep, " \n");
	if (*sep == ' ' && (sep = strchr(sep + 1, ' ')) != NULL) {
		for (opt = sep + 1; *opt && *opt != '\n'; opt += strcspn(opt, ",\n") + (opt[strcspn(opt, ",\n")] == ',')) {
			if (strncmp(opt, "upperdir=", 9) == 0) {
				snprintf(m->upper, sizeof m->upper, "%.*s", (int)strcspn(opt + 9, ",\n"), opt + 9);
				unescape(m->upper);
			}
			if (opt[strcspn(opt, ",\n")] != ',')
				break;
		}
	}
	return 0;
}

/* The mount path lies on (by mount id when the kernel says it; else the
 * deepest mount point above it, the last one listed when several are there). */
static int
find_mnt(FILE *mi, const char *path, struct mnt *m)
{
	struct statx stx;
	struct mnt cur;
	char *line = NULL;
	size_t cap = 0, best = 0, n;
	int id = -1, found = 0;

	if (statx(AT_FDCWD, path, 0, STATX_MNT_ID, &stx) == 0 && (stx.stx_mask & STATX_MNT_ID))
		id = (int)stx.stx_mnt_id;
	rewind(mi);
	while (getline(&line, &cap, mi) > 0) {
		if (parse_mnt(line, &cur) < 0)
			continue;
		n = strlen(cur.point);
		if (id >= 0 ? cur.id == id :
		    (strncmp(path, cur.point, n) == 0 && (path[n] == '/' || path[n] == '\0' || n == 1) &&
		     n >= best)) {
			*m = cur;
			best = n;
			found = 1;
		}
	}
	free(line);
	return found ? 0 : -1;
}

/* path (absolute, under mount m) as a path within m's filesystem. */
static void
within_fs(const struct mnt *m, const char *path, char *out, size_t len)
{
	const char *rest = path + (strcmp(m->point, "/") == 0 ? 0 : strlen(m->point));

	if (*rest == '\0')
		snprintf(out, len, "%s", m->root);
	else
		snprintf(out, len, "%s%s", strcmp(m->root, "/") == 0 ? "" : m->root, rest);
}

/*
 * Is abs (absolute, no symlinks) closed to other host users wherever this
 * mount namespace shows it: on its own path, and through every other mount
 * of the same filesystem whose root lies above it (a bind mount elsewhere)?
 * 0: closed, with which the closed directory; 1: open, with which the path
 * that is not; -1: mountinfo cannot say.
 */
static int
closed_everywhere(FILE *mi, const char *abs, char *which, size_t len)
{
	struct mnt own, cur;
	char fspath[PATH_MAX], alt[2 * PATH_MAX], scratch[2 * PATH_MAX], *line = NULL;
	size_t cap = 0, n;
	int rc = 0;

	if (closed_on_the_way(abs, which, len) < 0) {
		snprintf(which, len, "%s", abs);
		return 1;
	}
	if (find_mnt(mi, abs, &own) < 0)
		return -1;
	within_fs(&own, abs, fspath, sizeof fspath);
	rewind(mi);
	while (rc == 0 && getline(&line, &cap, mi) > 0) {
		if (parse_mnt(line, &cur) < 0 || cur.id == own.id || strcmp(cur.dev, own.dev) != 0)
			continue;
		n = strcmp(cur.root, "/") == 0 ? 0 : strlen(cur.root);
		if (strncmp(fspath, cur.root, n) != 0 || (fspath[n] != '/' && fspath[n] != '\0'))
			continue;
		snprintf(alt, sizeof alt, "%s%s", strcmp(cur.point, "/") == 0 ? "" : cur.point, fspath + n);
		if (closed_on_the_way(alt, scratch, sizeof scratch) < 0) {
			snprintf(which, len, "%s", alt);
			rc = 1;
		}
	}
	free(line);
	return rc;
}

/* overlayfs's own escapes in a mount(2) option string ("\," for a comma): drop each backslash. */
static void
unbackslash(const char *s, char *out, size_t len)
{
	size_t n = 0;

	for (; *s && n + 1 < len; s++) {
		if (*s == '\\' && s[1])
			s++;
		out[n++] = *s;
	}
	out[n] = '\0';
}

/* Is cand the overlay's upper directory?  overlayfs reports the upper root's inode as its root's. */
static int
is_upper(const char *cand, const struct stat *top, char *upper, size_t len)
{
	struct stat st;

	return stat(cand, &st) == 0 && S_ISDIR(st.st_mode) && st.st_ino == top->st_ino &&
	    realpath(cand, upper) != NULL && strlen(upper) < len;
}

/*
 * The overlay m's upper directory, as a real path in upper.  mountinfo
 * shows upperdir= as the mounter wrote it: perhaps with overlayfs's "\,"
 * escapes, perhaps relative to where the mounter stood (docker's long form,
 * oci-overlay's short links), where it is looked for beside the mount point
 * and above.  Taken only where its inode is the one the overlay's root
 * shows; -1 when it cannot be found for sure.
 */
static int
overlay_upper(const struct mnt *m, char *upper, size_t len)
{
	char base[PATH_MAX], names[2][PATH_MAX], cand[2 * PATH_MAX], *slash;
	struct stat top;
	int i;

	if (strcmp(m->root, "/") != 0 || stat(m->point, &top) < 0)
		return -1;
	snprintf(names[0], sizeof names[0], "%s", m->upper);
	unbackslash(m->upper, names[1], sizeof names[1]);
	for (i = 0; i < 2; i++) {
		if (names[i][0] == '/') {
			if (is_upper(names[i], &top, upper, len))
				return 0;
			continue;
		}
		snprintf(base, sizeof base, "%s", m->point);
		while ((slash = strrchr(base, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(cand, sizeof cand, "%s/%s", base, names[i]) < (int)sizeof cand &&
			    is_upper(cand, &top, upper, len))
				return 0;
		}
	}
	return -1;
}

int
oci_rootfs_private(const char *dir, struct oci_err *e)
{
	char abs[PATH_MAX], upper[PATH_MAX], which[2 * PATH_MAX], open_dir[2 * PATH_MAX];
	const char *place = abs;
	struct mnt m;
	FILE *mi;
	int r;

	if (realpath(dir, abs) == NULL)
		return oci_fail_errno(e, "rootfs %s", dir);
	if ((mi = fopen("/proc/self/mountinfo", "re")) == NULL)
		return oci_fail_errno(e, "rootfs %s: /proc/self/mountinfo, which says where else it can "
		    "be reached: refused", dir);
	r = closed_everywhere(mi, abs, which, sizeof which);
	if (r == 0 && find_mnt(mi, abs, &m) == 0 && strcmp(m.type, "overlay") == 0 && m.upper[0]) {
		/* On an overlay, what the container writes lands in its upper directory. */
		if (overlay_upper(&m, upper, sizeof upper) < 0) {
			fclose(mi);
			return oci_fail(e, "rootfs %s: on the overlay mounted on %s, whose upper directory "
			    "(upperdir=%s) cannot be found for sure, so who else can reach what the "
			    "container writes cannot be checked: refused (mount it with the upper "
			    "directory's absolute path)", dir, m.point, m.upper);
		}
		place = upper;
		r = closed_everywhere(mi, upper, which, sizeof which);
	}
	fclose(mi);
	if (r < 0)
		return oci_fail(e, "rootfs %s: /proc/self/mountinfo does not show the mount it is on, "
		    "so who else can reach it cannot be checked: refused", dir);
	if (r == 0) {
		oci_say("rootfs %s: only root can reach it on the host (%s is root's, closed to others)%s%s",
		    dir, which, place == abs ? "" : ", upper directory ", place == abs ? "" : place);
		return 0;
	}
	snprintf(open_dir, sizeof open_dir, "%s", which);
	if (strrchr(open_dir, '/') > open_dir)
		*strrchr(open_dir, '/') = '\0';
	return oci_fail(e, "rootfs %s: every host user can reach %s, and what root in the container "
	    "writes there is root's on the host (a setuid file, a file capability): refused; "
	    "keep containers under a directory owned by root that only root can enter "
	    "(chown root: and chmod 700 %s), as docker keeps them under /var/lib/docker", dir,
	    strcmp(which, abs) == 0 ? "it" : which, open_dir);
}
