/*
 * lib/layer/whiteout.c — how a layer says "deleted".
 *
 * image-spec layer.md "Whiteouts": in a tar, ".wh.NAME" deletes NAME from
 * the layers below, and ".wh..wh..opq" in a directory hides everything the
 * lower layers had there.  overlayfs says the same on disk with a 0:0
 * character device and an "opaque" xattr on a directory.  These few
 * predicates are shared by everything that converts one form to the other.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "layer.h"

enum oci_wh
oci_whiteout_name(const char *base, const char **target)
{
	const char *name;

	if (strncmp(base, OCI_WH_PREFIX, 4) != 0)
		return OCI_WH_NONE;
	if (strcmp(base, OCI_WH_OPAQUE) == 0)
		return OCI_WH_OPAQUE_DIR;
	name = base + 4;
	/* ".wh." alone, ".wh..", ".wh..." or ".wh..wh.X" would name ., .. or a marker. */
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strncmp(name, OCI_WH_PREFIX, 4) == 0 || strchr(name, '/'))
		return OCI_WH_BAD;
	if (target)
		*target = name;
	return OCI_WH_FILE;
}

int
oci_is_overlay_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

int
oci_overlay_is_opaque(int dirfd)
{
	static const char *names[] = { "trusted.overlay.opaque", "user.overlay.opaque" };
	char v[4];
	ssize_t n;
	size_t i;

	for (i = 0; i < 2; i++) {
		n = fgetxattr(dirfd, names[i], v, sizeof v);
		if (n == 1 && v[0] == 'y')
			return 1;
	}
	return 0;
}

int
oci_is_overlay_xattr(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	    strncmp(name, "user.overlay.", 13) == 0;
}

/* ---- listing and converting whiteouts ---- */

/* "/" + dir + "/" + name, as a whiteout's path is shown. */
static void
join(char *out, size_t len, const char *dir, const char *name)
{
	/* Paths come from a tree or a tar that fit in PATH_MAX: a cut here only shortens a message. */
	if (snprintf(out, len, "/%s%s%s", dir, dir[0] && name[0] ? "/" : "", name) >= (int)len)
		out[len - 1] = '\0';
}

/* What oci_whiteouts_tar gives each entry to. */
struct listing {
	oci_whiteout_fn fn;
	void *arg;
};

/* An entry's overlayfs form of a whiteout, if a layer carries one: 1 yes (given to fn), 0 no. */
static int
overlay_form(struct listing *l, struct archive_entry *ent, const char *path, struct oci_err *e)
{
	const char *name;
	const void *val;
	size_t len;

	if (archive_entry_filetype(ent) == AE_IFCHR && archive_entry_rdevmajor(ent) == 0 &&
	    archive_entry_rdevminor(ent) == 0)
		return l->fn(path, OCI_WH_FILE, OCI_WH_FORM_OVERLAY, l->arg, e) < 0 ? -1 : 1;
	archive_entry_xattr_reset(ent);
	while (archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK)
		if (oci_is_overlay_xattr(name) && strcmp(strchr(name, '.') + 1, "overlay.opaque") == 0 &&
		    len == 1 && *(const char *)val == 'y')
			return l->fn(path, OCI_WH_OPAQUE_DIR, OCI_WH_FORM_OVERLAY, l->arg, e) < 0 ? -1 : 1;
	return 0;
}

/* One entry of the layer: its whiteout, in either form, to the listing's fn. */
static int
list_entry(struct archive *a, struct archive_entry *ent, void *arg, struct oci_err *e)
{
	struct listing *l = arg;
	char dir[PATH_MAX], path[PATH_MAX + 2];
	const char *raw, *base, *target, *dname;
	char *slash;
	enum oci_wh wh;
	size_t len;

	(void)a;
	raw = archive_entry_pathname(ent);
	if (raw == NULL)
		return 0;
	while (raw[0] == '/' || (raw[0] == '.' && raw[1] == '/'))
		raw += raw[0] == '/' ? 1 : 2;
	len = strlen(raw);
	while (len > 0 && raw[len - 1] == '/')
		len--;
	if (len >= sizeof dir)
		return 0;
	memcpy(dir, raw, len);
	dir[len] = '\0';
	slash = strrchr(dir, '/');
	if (slash) {
		*slash = '\0';
		base = slash + 1;
		dname = dir;
	} else {
		base = dir;
		dname = "";
	}
	wh = oci_whiteout_name(base, &target);
	if (wh == OCI_WH_BAD)
		return oci_fail(e, "\"%s\": a whiteout that names nothing, . or ..", archive_entry_pathname(ent));
	if (wh == OCI_WH_FILE || wh == OCI_WH_OPAQUE_DIR) {
		join(path, sizeof path, dname, wh == OCI_WH_FILE ? target : "");
		return l->fn(path, wh, OCI_WH_FORM_OCI, l->arg, e);
	}
	join(path, sizeof path, dname, base);
	return overlay_form(l, ent, path, e) < 0 ? -1 : 0;
}

int
oci_whiteouts_tar(int fd, oci_whiteout_fn fn, void *arg, struct oci_err *e)
{
	struct oci_layer_src src = { .fd = fd, .size = -1 };
	struct listing l = { fn, arg };

	/* The one reader of layers: what oci-untar refuses, this refuses too. */
	return oci_layer_read(&src, list_entry, &l, NULL, e);
}

struct walk {
	oci_whiteout_fn fn;	/* listing */
	void *arg;
	int convert;		/* converting, to this form */
	enum oci_wh_form to;
	int user_xattrs;
	unsigned long count;
};

int
oci_overlay_set_opaque(int fd, int user_xattrs, struct oci_err *e)
{
	const char *xname = user_xattrs ? "user.overlay.opaque" : "trusted.overlay.opaque";
	int rfd, rc = 0;

	/* An O_PATH fd takes no xattrs: the directory is opened for real. */
	rfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0 || fsetxattr(rfd, xname, "y", 1, 0) < 0)
		rc = oci_fail_errno(e, "set %s", xname);
	if (rfd >= 0)
		close(rfd);
	return rc;
}

/* The directory fd at path ("" for the top) was opaque for overlayfs: it gets ".wh..wh..opq" instead. */
static int
opaque_to_oci(struct walk *w, int fd, const char *path, struct oci_err *e)
{
	int k = openat(fd, OCI_WH_OPAQUE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	int rc = 0;
	struct stat st;

	/* Not root, a directory of mode 0555: owner-writable for the marker, then set back. */
	if (k < 0 && errno == EACCES && fstat(fd, &st) == 0 && st.st_uid == geteuid() &&
	    fchmod(fd, st.st_mode | 0700) == 0) {
		k = openat(fd, OCI_WH_OPAQUE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fchmod(fd, st.st_mode & 07777) < 0 && k >= 0)
			rc = oci_fail_errno(e, "%s%schmod", path, path[0] ? ": " : "/");
	}

	if (k < 0 && errno != EEXIST)
		rc = oci_fail_errno(e, "%s%s" OCI_WH_OPAQUE, path, path[0] ? ": " : "/");
	if (k >= 0)
		close(k);
	fremovexattr(fd, "trusted.overlay.opaque");
	fremovexattr(fd, "user.overlay.opaque");
	w->count++;
	return rc;
}

/* A ".wh." file name in dirfd: listed, or (to overlay) made a 0:0 device or the opaque xattr. */
static int
oci_whiteout(struct walk *w, int dirfd, const char *name, enum oci_wh wh, const char *target,
    const char *path, struct oci_err *e)
{
	int rc = 0;

	if (!w->convert)
		return w->fn(path, wh, OCI_WH_FORM_OCI, w->arg, e);
	if (w->to != OCI_WH_FORM_OVERLAY)
		return 0;
	if (unlinkat(dirfd, name, 0) < 0)
		return oci_fail_errno(e, "%s", path);
	/* A NAME beside its own whiteout is the layer's: it stays, unhidden. */
	if (wh == OCI_WH_FILE && mknodat(dirfd, target, S_IFCHR | 0, makedev(0, 0)) < 0 &&
	    errno != EEXIST)
		rc = oci_fail_errno(e, "%s: overlay whiteout", path);
	if (wh == OCI_WH_OPAQUE_DIR && oci_overlay_set_opaque(dirfd, w->user_xattrs, e) < 0)
		rc = oci_context(e, "%s", path);
	w->count++;
	return rc;
}

/* overlayfs's 0:0 device name in dirfd: listed, or (to OCI) made a ".wh.NAME" file. */
static int
overlay_whiteout(struct walk *w, int dirfd, const char *name, const char *path, struct oci_err *e)
{
	char wh_name[NAME_MAX + 8];
	int fd;

	if (!w->convert)
		return w->fn(path, OCI_WH_FILE, OCI_WH_FORM_OVERLAY, w->arg, e);
	if (w->to != OCI_WH_FORM_OCI)
		return 0;
	if ((size_t)snprintf(wh_name, sizeof wh_name, OCI_WH_PREFIX "%s", name) > NAME_MAX)
		return oci_fail(e, "%s: the name is too long for a .wh. whiteout", path);
	if (unlinkat(dirfd, name, 0) < 0 ||
	    (fd = openat(dirfd, wh_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0)
		return oci_fail_errno(e, "%s", path);
	close(fd);
	w->count++;
	return 0;
}

static int walk_dir(struct walk *w, int *dirfd, const char *dir, struct oci_err *e);

/*
 * The directory name in *dirfd (at path, dir/name is sub, a PATH_MAX
 * buffer): its opaque xattr listed or converted, then what is inside.
 * own: *dirfd is the walk's own, not the caller's.  A tree may be
 * thousands deep, so its own parent is closed while a child is walked,
 * and found again through "..", checked to be the same directory: a walk
 * holds three descriptors at most, however deep.
 */
static int
walk_sub(struct walk *w, int *dirfd, int own, const char *name, const char *dir, const char *path,
    char *sub, struct oci_err *e)
{
	struct stat up;
	int fd, rc = 0, opaque;

	fd = openat(*dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "%s", path);
	opaque = oci_overlay_is_opaque(fd);
	if (opaque && !w->convert)
		rc = w->fn(path, OCI_WH_OPAQUE_DIR, OCI_WH_FORM_OVERLAY, w->arg, e);
	if (opaque && w->convert && w->to == OCI_WH_FORM_OCI)
		rc = opaque_to_oci(w, fd, path, e);
	if (snprintf(sub, PATH_MAX, "%s%s%s", dir, dir[0] ? "/" : "", name) >= PATH_MAX)
		rc = oci_fail(e, "%s: path too long", path);
	if (rc == 0 && own && fstat(*dirfd, &up) < 0)
		rc = oci_fail_errno(e, "%s", path);
	if (rc == 0 && own) {
		close(*dirfd);
		*dirfd = -1;
	}
	if (rc == 0)
		rc = walk_dir(w, &fd, sub, e);
	if (own && *dirfd < 0) {
		*dirfd = fd < 0 ? -1 : oci_reopen_parent(fd, O_RDONLY, &up);
		if (*dirfd < 0 && rc == 0)
			rc = oci_fail(e, "%s: moved while it was walked", path);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
walk_dir(struct walk *w, int *dirfd, const char *dir, struct oci_err *e)
{
	int own = dir[0] != '\0';	/* below the top, *dirfd is the walk's own */
	/*
	 * On the heap: a tree can be PATH_MAX/2 directories deep, and 8 KiB
	 * of buffers a level would overflow the stack.
	 */
	struct { char path[PATH_MAX + 2], sub[PATH_MAX]; } *b;
	const char *target;
	struct stat st;
	size_t n, i;
	char **names;
	int rc = 0, unlocked = 0;
	mode_t mode = 0;
	enum oci_wh wh;

	/*
	 * Converting, not root: a directory of mode 0555 (as /usr/bin) is made
	 * owner-writable while its whiteouts change form, then set back.
	 */
	if (w->convert && faccessat(*dirfd, ".", W_OK, AT_EACCESS) < 0 && errno == EACCES &&
	    fstat(*dirfd, &st) == 0 && st.st_uid == geteuid() && fchmod(*dirfd, st.st_mode | 0700) == 0) {
		unlocked = 1;
		mode = st.st_mode & 07777;
	}
	if ((b = malloc(sizeof *b)) == NULL) {
		if (unlocked)
			fchmod(*dirfd, mode);
		return oci_fail(e, "out of memory");
	}
	if (oci_dir_names(*dirfd, &names, &n, e) < 0) {
		free(b);
		if (unlocked)
			fchmod(*dirfd, mode);
		return oci_context(e, "/%s", dir);
	}
	for (i = 0; rc == 0 && i < n; i++) {
		if (fstatat(*dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = oci_fail_errno(e, "/%s/%s", dir, names[i]);
			break;
		}
		wh = oci_whiteout_name(names[i], &target);
		if (S_ISREG(st.st_mode) && (wh == OCI_WH_FILE || wh == OCI_WH_OPAQUE_DIR)) {
			join(b->path, sizeof b->path, dir, wh == OCI_WH_FILE ? target : "");
			rc = oci_whiteout(w, *dirfd, names[i], wh, target, b->path, e);
			continue;
		}
		join(b->path, sizeof b->path, dir, names[i]);
		if (oci_is_overlay_whiteout(&st))
			rc = overlay_whiteout(w, *dirfd, names[i], b->path, e);
		else if (S_ISDIR(st.st_mode))
			rc = walk_sub(w, dirfd, own, names[i], dir, b->path, b->sub, e);
	}
	oci_dir_names_free(names, n);
	free(b);
	if (unlocked && *dirfd >= 0 && fchmod(*dirfd, mode) < 0 && rc == 0)
		rc = oci_fail_errno(e, "/%s: chmod", dir);
	return rc;
}

int
oci_whiteouts_dir(int dirfd, oci_whiteout_fn fn, void *arg, struct oci_err *e)
{
	struct walk w = { .fn = fn, .arg = arg };

	if (oci_overlay_is_opaque(dirfd) && fn("/", OCI_WH_OPAQUE_DIR, OCI_WH_FORM_OVERLAY, arg, e) < 0)
		return -1;
	return walk_dir(&w, &dirfd, "", e);
}

int
oci_whiteouts_convert(int dirfd, enum oci_wh_form to, int user_xattrs, unsigned long *count,
    struct oci_err *e)
{
	struct walk w = { .convert = 1, .to = to, .user_xattrs = user_xattrs };
	int rc = 0;

	/* The top directory itself may be opaque, too. */
	if (to == OCI_WH_FORM_OCI && oci_overlay_is_opaque(dirfd))
		rc = opaque_to_oci(&w, dirfd, "", e);
	if (rc == 0)
		rc = walk_dir(&w, &dirfd, "", e);
	if (count)
		*count = w.count;
	return rc;
}
