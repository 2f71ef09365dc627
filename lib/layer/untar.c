/*
 * lib/layer/untar.c — a layer's tar entries become files and whiteouts, inside a root.
 *
 * image-spec layer.md: a layer is a tar archive of changes; ".wh." entries
 * delete what lower layers had.  umoci's oci/layer/tar_extract.go showed the
 * shape: resolve every path inside the root, never let an entry change the
 * root.  The entries come from oci_layer_read (lib/layer/decompress.c), which
 * reads, inflates and checks the stream; their directories are found with
 * oci_open_in_root (lib/layer/rooted.c), as if rootfd were "/".  What is left here
 * is what each kind of entry becomes, and what a whiteout removes.
 *
 * The files are written here rather than by libarchive's own disk writer:
 * that cannot say "follow symlinks, but only inside the root", which layers
 * need (a layer may put files under /lib when /lib is a symlink to usr/lib).
 * The last component of an entry is handled with *at() calls that never
 * follow it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "layer.h"

/* ============================================================== the root */

/*
 * A directory whose mode and times are set after the last entry, and the
 * inode it was then: if a later entry swapped a parent for a symlink, the
 * path now names another directory, which must not get this one's mode.
 */
struct dirmeta {
	char *path;
	dev_t dev;
	ino_t ino;
	mode_t mode;
	struct timespec ts[2];
	int has_times;
};

struct untar {
	int rootfd;
	const struct oci_untar_opts *o;
	struct archive *a;
	struct oci_pathset mine;	/* the paths this layer wrote: its whiteouts must not delete them */
	struct dirmeta *dirs;
	size_t ndirs, capdirs;
	/* the last parent directory opened, reused while nothing was removed */
	char cached[PATH_MAX];
	int cachedfd, cache_ok;
	/* parent_facts': what a file made in the directory pfd_fd (at pfd_path) gets */
	char pfd_path[PATH_MAX];
	int pfd_fd, pfd_ok;
	gid_t pfd_gid;		/* its group, which may be the file's */
	int pfd_acl;		/* a default ACL (or unknown): it, not the umask, cuts the file's mode */
	uid_t euid;
	gid_t egid;
	mode_t umask;
	int warned_dev, warned_xattr, warned_overlay, warned_sock;
	unsigned long entries, whiteouts;
};

/*
 * Something was removed or replaced: paths may now resolve elsewhere.  The
 * fd stays open (a caller may still hold it) until the next open_parent.
 */
static void
forget_parent(struct untar *u)
{
	u->cache_ok = 0;
}

static int
record_dir(struct untar *u, const char *path, mode_t mode, const struct timespec *ts,
    const struct stat *st)
{
	struct dirmeta *d;

	if (u->ndirs == u->capdirs) {
		size_t cap = u->capdirs ? u->capdirs * 2 : 256;
		d = realloc(u->dirs, cap * sizeof *d);
		if (d == NULL)
			return -1;
		u->dirs = d;
		u->capdirs = cap;
	}
	d = &u->dirs[u->ndirs];
	if ((d->path = strdup(path)) == NULL)
		return -1;
	d->mode = mode;
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	d->has_times = ts != NULL;
	if (ts)
		memcpy(d->ts, ts, sizeof d->ts);
	u->ndirs++;
	return 0;
}

/*
 * The directory prefix, one name (last) below the directory pfd that
 * prefix's other components led to.  A real directory is opened from pfd
 * (O_NOFOLLOW): that costs one step, where resolving prefix from the root
 * costs its whole depth, so a tree listed top down (a, a/a, a/a/a, ...)
 * extracts in time linear in its depth.  A symlink, which must be
 * resolved inside the root, or "..", goes the long way.  An fd, or -1
 * with errno (ENOENT: no such name in pfd).
 */
static int
open_below(struct untar *u, int pfd, const char *prefix, const char *last)
{
	int fd;

	if (strcmp(last, ".") != 0 && strcmp(last, "..") != 0) {
		fd = openat(pfd, last, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 || errno == ENOENT)
			return fd;
	}
	return oci_open_in_root(u->rootfd, prefix, 1);
}

/* parent is the cached directory and one name more (the directory the entry before made): that name. */
static const char *
below_cached(struct untar *u, const char *parent)
{
	size_t n = strlen(u->cached);
	const char *last = parent;

	if (!u->cache_ok || u->cachedfd < 0)
		return NULL;
	if (n > 0) {
		if (strncmp(parent, u->cached, n) != 0 || parent[n] != '/')
			return NULL;
		last = parent + n + 1;
	}
	return last[0] != '\0' && strchr(last, '/') == NULL ? last : NULL;
}

/*
 * The directory that holds an entry (borrowed: do not close).  create:
 * make missing parents (0755, this layer's), as tar does.
 */
static int
open_parent(struct untar *u, const char *parent, int create, struct oci_err *e)
{
	char prefix[PATH_MAX];
	const char *last;
	struct stat st;
	int fd, pfd, saved;
	size_t i, n;

	if (u->cache_ok && strcmp(parent, u->cached) == 0)
		return u->cachedfd;
	last = below_cached(u, parent);
	fd = last ? open_below(u, u->cachedfd, parent, last) : oci_open_in_root(u->rootfd, parent, 1);
	saved = errno;
	if (u->cachedfd >= 0)
		close(u->cachedfd);
	u->cachedfd = -1;
	u->cache_ok = 0;
	errno = saved;
	if (fd < 0 && errno == ENOENT && create) {
		/* Make each missing component in turn, inside the root, each from the one above. */
		n = strlen(parent);
		pfd = oci_open_in_root(u->rootfd, "", 1);
		for (i = 0; pfd >= 0 && i <= n; i++) {
			if (parent[i] != '/' && parent[i] != '\0')
				continue;
			memcpy(prefix, parent, i);
			prefix[i] = '\0';
			last = strrchr(prefix, '/');
			last = last ? last + 1 : prefix;
			if (i == 0)
				continue;	/* pfd is the root already */
			fd = open_below(u, pfd, prefix, last);
			if (fd < 0 && errno == ENOENT) {
				if (mkdirat(pfd, last, 0700) < 0 ||
				    fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
				    record_dir(u, prefix, 0755, NULL, &st) < 0 ||
				    oci_pathset_add(&u->mine, prefix, i) < 0) {
					saved = errno;
					close(pfd);
					errno = saved;
					return oci_fail_errno(e, "mkdir /%s", prefix);
				}
				fd = open_below(u, pfd, prefix, last);
			}
			close(pfd);
			pfd = fd;
		}
		fd = pfd;
	}
	if (fd < 0)
		return oci_fail_errno(e, "/%s", parent);
	u->cachedfd = fd;
	u->cache_ok = 1;
	snprintf(u->cached, sizeof u->cached, "%s", parent);
	return fd;
}

/* ------------------------------------------------------------ removing */

/* A maker found its name taken: make_entry makes room and calls it again. */
#define TAKEN (-3)

/*
 * A call that makes or removes a name in an entry's directory failed: -1
 * with e filled, or OCI_DENIED when the directory refused (EACCES: as
 * non-root, a directory of mode 0555), which extract_entry can mend.
 */
static int
name_failed(struct oci_err *e, const char *fmt, ...)
{
	int rc = errno == EACCES ? OCI_DENIED : -1;
	char what[PATH_MAX + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	oci_fail_errno(e, "%s", what);
	return rc;
}

/*
 * Make room for a new entry called name: remove what is there, unless it
 * is a directory and a directory is wanted (tar merges those).
 * Returns 1 when an existing directory stays, 0 when the name is free,
 * or -1 or OCI_DENIED (name_failed).
 */
static int
make_room(struct untar *u, int pfd, const char *name, int want_dir, struct oci_err *e)
{
	struct stat st;

	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return name_failed(e, "stat");
	}
	if (S_ISDIR(st.st_mode) && want_dir)
		return 1;
	u->pfd_ok = 0;	/* a directory may go, and another come at its path */
	if (S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))
		forget_parent(u);	/* paths through it now lead elsewhere */
	if (S_ISDIR(st.st_mode))
		return oci_rmtree_at(pfd, name, e);
	if (unlinkat(pfd, name, 0) < 0)
		return name_failed(e, "remove the old entry");
	return 0;
}

/*
 * image-spec layer.md: an opaque whiteout hides the lower layers' entries
 * of its directory, not the entries its own layer adds, wherever they sit
 * in the tar.  So: remove every child this layer did not write, and look
 * inside the directories it did.
 */
static int unlock_dir(struct untar *u, int pfd, const char *path);
static int prune_lower(struct untar *u, int *dirfd, int own, const char *dirpath, struct oci_err *e);

/*
 * prune_lower in the directory cfd (at path; closed here), below *dirfd.
 * own: *dirfd is prune_lower's own, not its caller's.  A layer may nest
 * its directories thousands deep, so *dirfd is let go while cfd is pruned
 * and found again through "..", checked to be the same directory: three
 * descriptors at most, however deep.
 */
static int
prune_child(struct untar *u, int *dirfd, int own, int cfd, const char *path, struct oci_err *e)
{
	struct stat up;
	int rc;

	if (own && fstat(*dirfd, &up) < 0) {
		close(cfd);
		return oci_fail_errno(e, "/%s", path);
	}
	if (own) {
		close(*dirfd);
		*dirfd = -1;
	}
	rc = prune_lower(u, &cfd, 1, path, e);
	if (own) {
		*dirfd = cfd < 0 ? -1 : oci_reopen_parent(cfd, O_PATH, &up);
		if (*dirfd < 0 && rc == 0)
			rc = oci_fail(e, "/%s: moved while its lower entries were removed", path);
	}
	if (cfd >= 0)
		close(cfd);
	return rc;
}

static int
prune_lower(struct untar *u, int *dirfd, int own, const char *dirpath, struct oci_err *e)
{
	char child[PATH_MAX], **names;
	struct stat st;
	size_t n, i;
	int cfd, rc = 0;

	if (oci_dir_names(*dirfd, &names, &n, e) < 0)
		return oci_context(e, "/%s", dirpath);
	for (i = 0; rc == 0 && i < n; i++) {
		snprintf(child, sizeof child, "%s%s%s", dirpath, dirpath[0] ? "/" : "", names[i]);
		if (!oci_pathset_has(&u->mine, child)) {
			forget_parent(u);
			rc = oci_rmtree_at(*dirfd, names[i], e) < 0 ? -1 : 0;
			/* Not root, a directory of mode 0555: open it up (finish_dirs restores it). */
			if (rc < 0 && unlock_dir(u, *dirfd, dirpath) == 0)
				rc = oci_rmtree_at(*dirfd, names[i], e) < 0 ? -1 : 0;
		} else if (fstatat(*dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			cfd = openat(*dirfd, names[i], O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = cfd < 0 ? oci_fail_errno(e, "/%s", child) : prune_child(u, dirfd, own, cfd, child, e);
		}
	}
	oci_dir_names_free(names, n);
	return rc;
}

/* ------------------------------------------------------------ whiteouts */

/*
 * The directory a whiteout sits in, never through a symlink: a whiteout
 * under a symlink (umoci writes "d/.wh.x" after replacing d by a symlink)
 * names nothing of the lower layers' d, and must not reach where the
 * symlink points.  Returns 1 with *fd an O_PATH fd; 0 when there is
 * nothing to do (no such directory); -1 with e filled.
 */
static int
open_whiteout_dir(struct untar *u, const char *dir, int *fd, struct oci_err *e)
{
	int overlay = u->o->whiteouts == OCI_WHITEOUTS_OVERLAY;

	*fd = oci_open_in_root(u->rootfd, dir, 0);
	/* A lowerdir needs the marker even where no directory was yet. */
	if (*fd < 0 && errno == ENOENT && overlay) {
		if (open_parent(u, dir, 1, e) < 0)
			return -1;
		*fd = oci_open_in_root(u->rootfd, dir, 0);
	}
	if (*fd >= 0)
		return 1;
	if (errno == ELOOP || errno == ENOTDIR || (!overlay && errno == ENOENT)) {
		oci_say("whiteout in /%s: not a directory of the layers below, ignored", dir);
		return 0;
	}
	return oci_fail_errno(e, "/%s", dir);
}

/* overlayfs: the directory fd (any kind of fd) hides the lower layers' entries of its name. */
static int
mark_opaque(struct untar *u, int fd, const char *path, struct oci_err *e)
{
	if (oci_overlay_set_opaque(fd, u->o->user_xattrs, e) < 0)
		return oci_context(e, "/%s", path);
	return 0;
}

/* ".wh.NAME" in parent: NAME of the lower layers is gone. */
static int
apply_whiteout(struct untar *u, const char *parent, const char *name, struct oci_err *e)
{
	char path[PATH_MAX];
	int overlay = u->o->whiteouts == OCI_WHITEOUTS_OVERLAY;
	struct stat st;
	int pfd, fd, rc = 0;

	u->whiteouts++;
	if ((rc = open_whiteout_dir(u, parent, &pfd, e)) <= 0)
		return rc;
	rc = 0;
	snprintf(path, sizeof path, "%s%s%s", parent, parent[0] ? "/" : "", name);
	if (oci_pathset_has(&u->mine, path)) {
		/* This layer wrote NAME itself: keep it, hide only what was below. */
		if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
			fd = openat(pfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			rc = fd < 0 ? oci_fail_errno(e, "/%s", path) : prune_lower(u, &fd, 0, path, e);
			/* For overlayfs the lower layers' NAME is hidden by marking this one opaque. */
			if (rc == 0 && overlay)
				rc = mark_opaque(u, fd, path, e);
			if (fd >= 0)
				close(fd);
		}
		goto out;
	}
	/* Not root, in a directory of mode 0555: open it up until the end of the layer. */
	if (make_room(u, pfd, name, 0, e) < 0 &&
	    (unlock_dir(u, pfd, parent) < 0 || make_room(u, pfd, name, 0, e) < 0)) {
		rc = -1;
		goto out;
	}
	oci_say("whiteout: /%s removed", path);
	/* overlayfs: a whiteout is a character device 0:0 (unprivileged since Linux 5.8). */
	if (overlay && mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0 &&
	    (errno != EACCES || unlock_dir(u, pfd, parent) < 0 ||
	    mknodat(pfd, name, S_IFCHR | 0, makedev(0, 0)) < 0))
		rc = oci_fail_errno(e, "overlay whiteout /%s", path);
out:
	close(pfd);
	return rc;
}

/* ".wh..wh..opq" in dir: the directory is opaque. */
static int
apply_opaque(struct untar *u, const char *dir, struct oci_err *e)
{
	int fd, rc;

	u->whiteouts++;
	if ((rc = open_whiteout_dir(u, dir, &fd, e)) <= 0)
		return rc;
	if (oci_pathset_add(&u->mine, dir, strlen(dir)) < 0) {
		close(fd);
		return oci_fail(e, "out of memory");
	}
	oci_say("opaque whiteout: /%s hides the lower layers' entries", dir);
	rc = prune_lower(u, &fd, 0, dir, e);
	/* A user.* xattr needs write access: a directory of mode 0555 is opened up first. */
	if (rc == 0 && u->o->whiteouts == OCI_WHITEOUTS_OVERLAY &&
	    mark_opaque(u, fd, dir, e) < 0 && (unlock_dir(u, fd, dir) < 0 || mark_opaque(u, fd, dir, e) < 0))
		rc = -1;
	close(fd);
	return rc;
}

/* ------------------------------------------------------------ entries */

static int
all_zero(const unsigned char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/*
 * What a file made now in pfd (at parent) gets: its group (the caller's
 * or, in a setgid directory or under the mount option grpid, the
 * directory's) and whether a default ACL, rather than the umask, cuts its
 * mode.  Asked once while the entries stay in one directory: a directory
 * entry, a removal or a whiteout makes it ask again.  -1 when unknown.
 */
static int
parent_facts(struct untar *u, int pfd, const char *parent)
{
	struct stat st;
	int fd;

	if (u->pfd_ok && pfd == u->pfd_fd && strcmp(parent, u->pfd_path) == 0)
		return 0;
	if (fstat(pfd, &st) < 0)
		return -1;
	/* pfd is O_PATH, which reads no xattrs; a directory we may not read is taken to have one. */
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	u->pfd_acl = fd < 0 || fgetxattr(fd, "system.posix_acl_default", NULL, 0) >= 0 ||
	    (errno != ENODATA && errno != EOPNOTSUPP);
	if (fd >= 0)
		close(fd);
	u->pfd_gid = st.st_gid;
	u->pfd_fd = pfd;
	snprintf(u->pfd_path, sizeof u->pfd_path, "%s", parent);
	u->pfd_ok = 1;
	return 0;
}

/*
 * A new file in pfd has the entry's owner already, so that its chown can
 * be skipped: it is the caller's, with the caller's group or the
 * directory's, and when those agree there is no doubt.
 */
static int
owned_already(struct untar *u, struct archive_entry *ent)
{
	return archive_entry_uid(ent) == u->euid && archive_entry_gid(ent) == u->egid &&
	    u->pfd_gid == u->egid;
}

/*
 * A new file in pfd made with the entry's mode has it exactly, so that its
 * chmod can be skipped: the umask takes nothing from it, nor a default
 * ACL, and it has no setuid, setgid or sticky bit (a chown would clear
 * the first two, and the kernel may refuse setgid at creation).
 */
static int
mode_already(struct untar *u, struct archive_entry *ent)
{
	mode_t perm = archive_entry_perm(ent) & 07777;

	return (perm & 07000) == 0 && (perm & u->umask) == 0 && !u->pfd_acl;
}

/* Numeric owners only: no NSS inside someone else's rootfs. */
static int
set_owner(int fd, const char *name, struct archive_entry *ent, struct oci_err *e)
{
	uid_t uid = archive_entry_uid(ent);
	gid_t gid = archive_entry_gid(ent);
	int rc = name ? fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, uid, gid);

	/* As non-root (or with an unmapped id in a user namespace) ownership is skipped. */
	if (rc < 0 && errno != EPERM && errno != EINVAL)
		return oci_fail_errno(e, "chown %u:%u", (unsigned)uid, (unsigned)gid);
	return 0;
}

static void
entry_times(struct archive_entry *ent, struct timespec ts[2])
{
	ts[1].tv_sec = archive_entry_mtime(ent);
	ts[1].tv_nsec = archive_entry_mtime_nsec(ent);
	if (archive_entry_atime_is_set(ent)) {
		ts[0].tv_sec = archive_entry_atime(ent);
		ts[0].tv_nsec = archive_entry_atime_nsec(ent);
	} else {
		ts[0] = ts[1];
	}
}

/*
 * Owner, mode (unless a symlink's) and times of a name that is not opened
 * (a symlink, a FIFO, a device).  The mode after chown, which clears setuid.
 */
static int
metadata_at(int pfd, const char *name, struct archive_entry *ent, struct oci_err *e)
{
	struct timespec ts[2];

	if (set_owner(pfd, name, ent, e) < 0)
		return -1;
	if (archive_entry_filetype(ent) != AE_IFLNK &&
	    fchmodat(pfd, name, archive_entry_perm(ent) & 07777, 0) < 0)
		return oci_fail_errno(e, "chmod");
	entry_times(ent, ts);
	if (utimensat(pfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return oci_fail_errno(e, "set times");
	return 0;
}

/* xattrs from the tar, except overlayfs's own: a tar must not forge whiteouts. */
static void
set_xattrs(struct untar *u, int fd, struct archive_entry *ent, const char *path)
{
	const char *name;
	const void *val;
	size_t len;

	if (archive_entry_xattr_reset(ent) == 0)
		return;
	while (archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK) {
		if (oci_is_overlay_xattr(name)) {
			if (!u->warned_overlay++)
				oci_warn("/%s: ignoring xattr %s: overlay metadata never comes from a layer",
				    path, name);
			continue;
		}
		if (fsetxattr(fd, name, val, len, 0) < 0 && !u->warned_xattr++)
			oci_warn("/%s: xattr %s not kept: %s", path, name, strerror(errno));
	}
}

/*
 * A directory that stays (listed again, by this layer or a later one):
 * image-spec layer.md says its attributes are replaced, so the xattrs the
 * entry does not list go, as umoci does.  Not those we never take from a
 * tar: overlayfs's own (an opaque marker this extraction set) and
 * security.selinux, the host's label; nor system.*, ACLs, which a layer
 * does not carry as xattrs.
 */
static void
clear_xattrs(struct untar *u, int fd, struct archive_entry *ent, const char *path)
{
	const char *name;
	const void *val;
	size_t len;
	ssize_t n;
	char *list, *p;
	int listed;

	n = flistxattr(fd, NULL, 0);
	if (n <= 0 || (list = malloc(n + 1)) == NULL)
		return;
	n = flistxattr(fd, list, n);
	for (p = list; n > 0 && p < list + n; p += strlen(p) + 1) {
		if (oci_is_overlay_xattr(p) || strcmp(p, "security.selinux") == 0 ||
		    strncmp(p, "system.", 7) == 0)
			continue;
		listed = 0;
		archive_entry_xattr_reset(ent);
		while (!listed && archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK)
			listed = strcmp(name, p) == 0;
		if (!listed && fremovexattr(fd, p) < 0 && errno != ENODATA && !u->warned_xattr++)
			oci_warn("/%s: xattr %s not removed: %s", path, p, strerror(errno));
	}
	free(list);
}

/* The entry's data into fd, a new file; *end gets how long the writes made it. */
static int
write_data(struct untar *u, int fd, la_int64_t size, la_int64_t *end, struct oci_err *e)
{
	const void *buf;
	size_t len;
	la_int64_t off;
	ssize_t k;
	int r;

	for (;;) {
		r = archive_read_data_block(u->a, &buf, &len, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return oci_fail(e, "read: %s", archive_error_string(u->a));
		/*
		 * A sparse map (GNU sparse in pax) may place data past the size
		 * the entry declares; the file would be cut back to that size and
		 * the data lost without a word.  Refused, as a lie about the file.
		 */
		if (off < 0 || off > size || (la_int64_t)len > size - off)
			return oci_fail(e, "sparse map puts %zu bytes at %lld, past the file's %lld bytes",
			    len, (long long)off, (long long)size);
		/* Zeros become a hole: a "bomb" of zeros costs no disk. */
		while (len > 0 && !all_zero(buf, len)) {
			k = pwrite(fd, buf, len, off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0)
				return oci_fail_errno(e, "write");
			buf = (const char *)buf + k;
			len -= k;
			off += k;
			if (off > *end)
				*end = off;
		}
	}
}

/*
 * A regular file.  owned: it will have the entry's owner as made
 * (owned_already); moded: the entry's mode, made with it (mode_already).
 */
static int
make_file(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, int owned, int moded, struct oci_err *e)
{
	struct timespec ts[2];
	mode_t perm = archive_entry_perm(ent) & 07777;
	la_int64_t end = 0;
	int fd, rc = -1;

	/* A mode without write permission still gives this open a writable fd. */
	fd = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, moded ? perm : 0600);
	if (fd < 0 && errno == EEXIST)
		return TAKEN;
	if (fd < 0)
		return name_failed(e, "create");
	if (write_data(u, fd, archive_entry_size(ent), &end, e) < 0)
		goto out;
	/* Zeros at the end were not written (a hole): the size makes them. */
	if (end != archive_entry_size(ent) && ftruncate(fd, archive_entry_size(ent)) < 0) {
		oci_fail_errno(e, "truncate");
		goto out;
	}
	if (!owned && set_owner(fd, NULL, ent, e) < 0)
		goto out;
	/* After chown, which clears setuid and setgid. */
	if (!moded && fchmod(fd, perm) < 0) {
		oci_fail_errno(e, "chmod");
		goto out;
	}
	set_xattrs(u, fd, ent, path);
	entry_times(ent, ts);
	if (futimens(fd, ts) < 0) {
		oci_fail_errno(e, "set times");
		goto out;
	}
	rc = 0;
out:
	close(fd);
	/* A file cut short (a refused sparse map, a full disk) is not left behind as if it were whole. */
	if (rc < 0)
		unlinkat(pfd, name, 0);
	return rc;
}

static int
make_dir(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, struct oci_err *e)
{
	struct timespec ts[2];
	struct stat st;
	int kept, fd, rc, whiteout;

	u->pfd_ok = 0;	/* its owner changes, and it may be the next entries' directory */
	/*
	 * ".wh.NAME" and "NAME/" in one layer: the directory is new and the
	 * lower layers' NAME is gone.  For overlayfs the whiteout device
	 * becomes an opaque directory.
	 */
	whiteout = u->o->whiteouts == OCI_WHITEOUTS_OVERLAY &&
	    fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && oci_is_overlay_whiteout(&st);
	kept = make_room(u, pfd, name, 1, e);
	if (kept < 0)
		return kept;
	/* Owner-writable until the end of the layer, so that its entries fit in. */
	if (!kept && mkdirat(pfd, name, 0700) < 0)
		return name_failed(e, "mkdir");
	fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return name_failed(e, "open");
	rc = fstat(fd, &st) < 0 ? oci_fail_errno(e, "stat") : 0;
	if (rc == 0)
		rc = set_owner(fd, NULL, ent, e);
	if (rc == 0 && kept)
		clear_xattrs(u, fd, ent, path);
	if (rc == 0)
		set_xattrs(u, fd, ent, path);
	if (rc == 0 && whiteout)
		rc = mark_opaque(u, fd, path, e);
	close(fd);
	entry_times(ent, ts);
	if (rc == 0 && record_dir(u, path, archive_entry_perm(ent) & 07777, ts, &st) < 0)
		rc = oci_fail(e, "out of memory");
	return rc;
}

static int
make_special(struct untar *u, int pfd, const char *name, const char *path,
    struct archive_entry *ent, struct oci_err *e)
{
	mode_t type = archive_entry_filetype(ent);
	dev_t dev = makedev(archive_entry_rdevmajor(ent), archive_entry_rdevminor(ent));

	if (type == AE_IFSOCK) {
		if (!u->warned_sock++)
			oci_warn("/%s: sockets are not extracted", path);
		return 0;
	}
	if (type == AE_IFCHR && dev == makedev(0, 0) && u->o->whiteouts == OCI_WHITEOUTS_OVERLAY) {
		oci_warn("/%s: skipping a 0:0 device: in a lowerdir it would be a whiteout", path);
		return 0;
	}
	if (type == AE_IFIFO ? mkfifoat(pfd, name, 0600) : mknodat(pfd, name, type | 0600, dev)) {
		if (type != AE_IFIFO && errno == EPERM) {
			if (!u->warned_dev++)
				oci_warn("/%s: device nodes skipped: not permitted here", path);
			return 0;
		}
		return name_failed(e, "mknod");
	}
	return metadata_at(pfd, name, ent, e);
}

static int
make_symlink(struct untar *u, int pfd, const char *name, struct archive_entry *ent,
    struct oci_err *e)
{
	const char *target = archive_entry_symlink(ent);

	(void)u;
	if (target == NULL)
		target = archive_entry_symlink_utf8(ent);
	if (target == NULL || target[0] == '\0')
		return oci_fail(e, "symlink with no target");
	/* Stored as written: it is resolved, inside the root, only when used. */
	if (symlinkat(target, pfd, name) < 0)
		return errno == EEXIST ? TAKEN : name_failed(e, "symlink");
	return metadata_at(pfd, name, ent, e);
}

/* A hardlink: its target must be an entry inside the root, not a directory. */
static int
make_hardlink(struct untar *u, int pfd, const char *name, const char *path,
    const char *linkname, struct oci_err *e)
{
	char target[PATH_MAX], *slash, *tname;
	struct stat tst, st;
	int tfd, rc = -1;

	if (oci_clean_path(linkname, target, e) < 0)
		return oci_context(e, "hardlink target");
	if (strcmp(target, path) == 0)
		return oci_fail(e, "hardlink to itself");
	if (target[0] == '\0')
		return oci_fail(e, "hardlink to the root");
	slash = strrchr(target, '/');
	if (slash) {
		*slash = '\0';
		tname = slash + 1;
		tfd = oci_open_in_root(u->rootfd, target, 1);
	} else {
		tname = target;
		tfd = oci_open_in_root(u->rootfd, "", 1);
	}
	if (tfd < 0)
		return oci_fail_errno(e, "hardlink target %s", linkname);
	if (fstatat(tfd, tname, &tst, AT_SYMLINK_NOFOLLOW) < 0) {
		oci_fail_errno(e, "hardlink target %s", linkname);
		goto out;
	}
	if (S_ISDIR(tst.st_mode)) {
		oci_fail(e, "hardlink to a directory (%s)", linkname);
		goto out;
	}
	/* Already the same file (the same name reached another way): done. */
	if (fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == tst.st_dev && st.st_ino == tst.st_ino) {
		rc = 0;
		goto out;
	}
	/* flags 0: a symlink target is linked itself, never followed. */
	if ((rc = make_room(u, pfd, name, 0, e)) == 0 && linkat(tfd, tname, pfd, name, 0) < 0)
		rc = name_failed(e, "hardlink to %s", linkname);
out:
	close(tfd);
	return rc < 0 ? rc : 0;
}

/* One entry, in the directory pfd, whatever its kind.  0, -1 or OCI_DENIED (name_failed). */
static int
make_entry(struct untar *u, int pfd, const struct oci_entry_name *n,
    struct archive_entry *ent, struct oci_err *e)
{
	mode_t type = archive_entry_filetype(ent);
	int file = type == AE_IFREG && !n->hardlink && parent_facts(u, pfd, n->parent) == 0;
	int owned = file && owned_already(u, ent), moded = file && mode_already(u, ent);
	int rc;

	if (n->hardlink)
		return make_hardlink(u, pfd, n->name, n->path, n->hardlink, e);
	if (type == AE_IFDIR)
		return make_dir(u, pfd, n->name, n->path, ent, e);
	/*
	 * Files and symlinks are made first and room is made only when the
	 * name is taken: most names are new, and a stat of each would be one
	 * system call more per entry.  A special file may be skipped (a
	 * socket, a device we may not make), so what it replaces goes first.
	 */
	if (type == AE_IFREG || type == AE_IFLNK) {
		rc = type == AE_IFREG ? make_file(u, pfd, n->name, n->path, ent, owned, moded, e) :
		    make_symlink(u, pfd, n->name, ent, e);
		if (rc != TAKEN)
			return rc;
	}
	if ((rc = make_room(u, pfd, n->name, 0, e)) < 0)
		return rc;
	if (type == AE_IFREG)
		rc = make_file(u, pfd, n->name, n->path, ent, owned, moded, e);
	else if (type == AE_IFLNK)
		rc = make_symlink(u, pfd, n->name, ent, e);
	else
		return make_special(u, pfd, n->name, n->path, ent, e);
	/* Taken again, right after the room was made: fail as the create does. */
	if (rc == TAKEN) {
		errno = EEXIST;
		return name_failed(e, type == AE_IFREG ? "create" : "symlink");
	}
	return rc;
}

/* Make the directory pfd (at path) owner-writable; its mode comes back in finish_dirs. */
static int
unlock_dir(struct untar *u, int pfd, const char *path)
{
	struct stat st;
	int fd, rc = -1;

	if (path[0] == '\0')
		return -1;	/* the root is never changed */
	u->pfd_ok = 0;
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) == 0 && (st.st_mode & 0700) != 0700 && st.st_uid == geteuid() &&
	    record_dir(u, path, st.st_mode & 07777, NULL, &st) == 0 && fchmod(fd, st.st_mode | 0700) == 0)
		rc = 0;
	close(fd);
	return rc;
}

static int
extract_entry(struct untar *u, struct archive_entry *ent, struct oci_err *e)
{
	struct oci_entry_name n;
	int pfd, rc;

	rc = oci_entry_name(ent, u->o->whiteouts != OCI_WHITEOUTS_KEEP, &n, e);
	if (rc < 0)
		return -1;
	u->entries++;
	if (rc == 0)
		return 0;	/* "./" */
	if (n.wh != OCI_WH_NONE)
		u->pfd_ok = 0;	/* directories may go, and others come at their paths */
	if (n.wh == OCI_WH_FILE)
		return apply_whiteout(u, n.parent, n.wh_target, e) < 0 ? -1 : 0;
	if (n.wh == OCI_WH_OPAQUE_DIR)
		return apply_opaque(u, n.parent, e) < 0 ? -1 : 0;

	pfd = open_parent(u, n.parent, 1, e);
	if (pfd < 0)
		return oci_context(e, "\"%.200s\"", n.raw);
	if (oci_pathset_add(&u->mine, n.path, strlen(n.path)) < 0)
		return oci_fail(e, "out of memory");

	rc = make_entry(u, pfd, &n, ent, e);
	/*
	 * Not root: a directory of mode 0555 (say, from a lower layer) takes
	 * no new names.  Open it up until the end of the layer, and try again.
	 */
	if (rc == OCI_DENIED && unlock_dir(u, pfd, n.parent) == 0)
		rc = make_entry(u, pfd, &n, ent, e);
	if (rc < 0)
		return oci_context(e, "/%.200s", n.path);
	return 0;
}

/* Directory modes and times, last: adding entries would change the times. */
static int
finish_dirs(struct untar *u, struct oci_err *e)
{
	char parent[PATH_MAX];
	const char *name;
	struct stat st;
	size_t i;
	int pfd, rc = 0;

	for (i = 0; i < u->ndirs; i++) {
		struct dirmeta *d = &u->dirs[i];
		name = strrchr(d->path, '/');
		snprintf(parent, sizeof parent, "%.*s", name ? (int)(name - d->path) : 0, d->path);
		name = name ? name + 1 : d->path;
		pfd = open_parent(u, parent, 0, e);
		if (pfd < 0 || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISDIR(st.st_mode) ||
		    st.st_dev != d->dev || st.st_ino != d->ino)
			continue;	/* replaced, removed or reached through a swapped parent later in the layer */
		if (fchmodat(pfd, name, d->mode, 0) < 0 ||
		    (d->has_times && utimensat(pfd, name, d->ts, AT_SYMLINK_NOFOLLOW) < 0)) {
			rc = oci_fail_errno(e, "/%s", d->path);
			break;
		}
	}
	return rc;
}

/* ============================================================ the layer */

static int
untar_entry(struct archive *a, struct archive_entry *ent, void *arg, struct oci_err *e)
{
	struct untar *u = arg;

	u->a = a;
	return extract_entry(u, ent, e);
}

/* One layer, read (and checked) by oci_layer_read, extracted into rootfd. */
static int
untar(int rootfd, const struct oci_layer_src *src, const struct oci_untar_opts *o, struct oci_err *e)
{
	static const struct oci_untar_opts defaults = { OCI_WHITEOUTS_APPLY, 0 };
	struct untar u = { .rootfd = rootfd, .o = o ? o : &defaults, .cachedfd = -1,
	    .euid = geteuid(), .egid = getegid() };
	struct oci_layer_stats st;
	int rc;

	/* Read by setting it back: nothing else makes files while a layer is extracted. */
	u.umask = umask(0);
	umask(u.umask);
	rc = oci_layer_read(src, untar_entry, &u, &st, e);
	if (rc == 0)
		rc = finish_dirs(&u, e);
	if (rc == 0)
		oci_say("%lu entr%s (whiteouts: %lu); %s%s%s", u.entries, u.entries == 1 ? "y" : "ies", u.whiteouts,
		    st.comp == OCI_COMP_GZIP ? "gzip" : st.comp == OCI_COMP_ZSTD ? "zstd" : "tar",
		    src->digest ? ", digest verified" : "", src->diff_id ? ", diff_id verified" : "");
	if (u.cachedfd >= 0)
		close(u.cachedfd);
	for (size_t k = 0; k < u.ndirs; k++)
		free(u.dirs[k].path);
	free(u.dirs);
	oci_pathset_free(&u.mine);
	return rc;
}

int
oci_untar_fd(int rootfd, int layer_fd, const struct oci_untar_opts *o, const char *digest,
    int64_t size, const char *diff_id, struct oci_err *e)
{
	struct oci_layer_src src = { .fd = layer_fd, .digest = digest, .size = size, .diff_id = diff_id };

	return untar(rootfd, &src, o, e);
}

int
oci_untar_src(int rootfd, const struct oci_layer_src *src, const struct oci_untar_opts *o,
    struct oci_err *e)
{
	return untar(rootfd, src, o, e);
}

/* Documents (a manifest, a config) are refused; any other media type is read for what its bytes are. */
static int
is_layer(const struct oci_desc *d, const char *diff_id, struct oci_err *e)
{
	enum oci_kind kind = oci_media_kind(d->media_type);

	/* Compression is told by content; a media type only rules out documents. */
	if (kind != OCI_KIND_LAYER && kind != OCI_KIND_UNKNOWN)
		return oci_fail(e, "%s %s is not a layer", oci_media_short(d->media_type),
		    oci_short(d->digest));
	oci_say("layer %s (%s, %s)%s%s", oci_short(d->digest), oci_media_short(d->media_type),
	    oci_human_size(d->size), diff_id ? ", diff_id " : "", diff_id ? oci_short(diff_id) : "");
	return 0;
}

int
oci_untar_layer(int rootfd, struct oci_layout *l, const json_t *desc, const char *diff_id,
    const struct oci_untar_opts *o, struct oci_err *e)
{
	struct oci_desc d;
	struct oci_layer_src src = { .fd = -1, .size = -1, .diff_id = diff_id };
	int rc;

	if (oci_desc_parse(desc, &d, e) < 0)
		return oci_context(e, "layer");
	if (is_layer(&d, diff_id, e) < 0)
		return -1;
	if ((src.fd = oci_blob_open(l, d.digest, e)) < 0)
		return oci_context(e, "layer %s", oci_short(d.digest));
	src.digest = d.digest;
	src.size = d.size;
	rc = untar(rootfd, &src, o, e);
	close(src.fd);
	return rc < 0 ? oci_context(e, "layer %s", oci_short(d.digest)) : 0;
}

int
oci_untar_image(int rootfd, struct oci_image *img, const struct oci_untar_opts *o,
    struct oci_err *e)
{
	struct oci_layers it;
	int r = -1;

	if (oci_layers_start(img, &it, e) == 0)
		while ((r = oci_layers_next(&it, e)) > 0) {
			oci_say("layer %zu of %zu", it.i, it.n);
			if (is_layer(&it.desc, it.diff_id, e) < 0)
				r = -1;
			else if (oci_layers_open(&it, NULL, e) < 0 || untar(rootfd, &it.src, o, e) < 0)
				r = oci_context(e, "layer %s", oci_short(it.desc.digest));
			if (r < 0)
				break;
		}
	oci_layers_end(&it);
	return r;
}

int
oci_untar_temp(struct oci_layers *it, const char *what, int dirfd, const char *name,
    const char *sub, const struct oci_untar_opts *o, struct oci_temp *t, struct oci_err *e)
{
	int fd = -1, rc = -1;

	if (oci_temp_new(dirfd, name, 1, t, e) < 0)
		return -1;
	if (sub && (mkdirat(t->fd, sub, 0755) < 0 ||
	    (fd = openat(t->fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)) {
		oci_fail_errno(e, "%s/%s", t->name, sub);
		goto out;
	}
	if (oci_layers_open(it, what, e) < 0)
		goto out;
	rc = untar(sub ? fd : t->fd, &it->src, o, e);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		oci_temp_abort(t);
		return oci_context(e, "layer %s", oci_short(it->desc.digest));
	}
	return 0;
}
