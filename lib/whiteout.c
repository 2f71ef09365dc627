/*
 * lib/whiteout.c — how a layer says "deleted".
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

#include "oci.h"

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

int
oci_overlay_user_xattrs(void)
{
	/* trusted.* needs CAP_SYS_ADMIN in the initial user namespace: root of
	 * any other one gets EPERM, even when it maps every id to itself (as
	 * oci-unshare's user namespace does for root). */
	return geteuid() != 0 || !oci_ns_initial_user();
}

/* "/" + dir + "/" + name, as a whiteout's path is shown. */
static void
join(char *out, size_t len, const char *dir, const char *name)
{
	/* Paths come from a tree or a tar that fit in PATH_MAX: a cut here only shortens a message. */
	if (snprintf(out, len, "/%s%s%s", dir, dir[0] && name[0] ? "/" : "", name) >= (int)len)
		out[len - 1] = '\0';
}

int
oci_whiteouts_tar(int fd, oci_whiteout_fn fn, void *arg, struct oci_err *e)
{
	char dir[PATH_MAX], path[PATH_MAX + 2];
	const char *raw, *base, *target, *name, *dname;
	const void *val;
	char *slash;
	struct archive_entry *ent;
	struct archive *a;
	enum oci_wh wh;
	size_t len;
	int r, rc = -1;

	a = archive_read_new();
	if (a == NULL)
		return oci_fail(e, "libarchive: out of memory");
	/* Compression is told by content, as for oci-untar. */
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_empty(a);
	if (archive_read_open_fd(a, fd, OCI_IO_CHUNK) != ARCHIVE_OK) {
		oci_fail(e, "%s", archive_error_string(a));
		goto out;
	}
	while ((r = archive_read_next_header(a, &ent)) != ARCHIVE_EOF) {
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			oci_fail(e, "tar: %s", archive_error_string(a));
			goto out;
		}
		raw = archive_entry_pathname(ent);
		if (raw == NULL)
			continue;
		while (raw[0] == '/' || (raw[0] == '.' && raw[1] == '/'))
			raw += raw[0] == '/' ? 1 : 2;
		len = strlen(raw);
		while (len > 0 && raw[len - 1] == '/')
			len--;
		if (len >= sizeof dir)
			continue;
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
		if (wh == OCI_WH_BAD) {
			oci_fail(e, "\"%s\": a whiteout that names nothing, . or ..", archive_entry_pathname(ent));
			goto out;
		}
		if (wh == OCI_WH_FILE || wh == OCI_WH_OPAQUE_DIR) {
			join(path, sizeof path, dname, wh == OCI_WH_FILE ? target : "");
			if (fn(path, wh, OCI_WH_FORM_OCI, arg, e) < 0)
				goto out;
			continue;
		}
		/* overlayfs's own forms, if a layer carries them */
		join(path, sizeof path, dname, base);
		if (archive_entry_filetype(ent) == AE_IFCHR && archive_entry_rdevmajor(ent) == 0 &&
		    archive_entry_rdevminor(ent) == 0) {
			if (fn(path, OCI_WH_FILE, OCI_WH_FORM_OVERLAY, arg, e) < 0)
				goto out;
			continue;
		}
		archive_entry_xattr_reset(ent);
		while (archive_entry_xattr_next(ent, &name, &val, &len) == ARCHIVE_OK)
			if (oci_is_overlay_xattr(name) && strcmp(strchr(name, '.') + 1, "overlay.opaque") == 0 &&
			    len == 1 && *(const char *)val == 'y') {
				if (fn(path, OCI_WH_OPAQUE_DIR, OCI_WH_FORM_OVERLAY, arg, e) < 0)
					goto out;
				break;
			}
	}
	rc = 0;
out:
	archive_read_free(a);
	return rc;
}


struct walk {
	oci_whiteout_fn fn;	/* listing */
	void *arg;
	int convert;		/* converting, to this form */
	enum oci_wh_form to;
	const char *opaque_xattr;
	unsigned long count;
};

static int
walk_dir(struct walk *w, int dirfd, const char *dir, struct oci_err *e)
{
	/*
	 * On the heap: a tree can be PATH_MAX/2 directories deep, and 8 KiB
	 * of buffers a level would overflow the stack.
	 */
	struct { char path[PATH_MAX + 2], wh_name[NAME_MAX + 8], sub[PATH_MAX]; } *b;
	char *path, *wh_name, *sub;
	const char *target;
	struct stat st;
	size_t n, i;
	char **names;
	int fd, rc = 0, opaque;
	enum oci_wh wh;

	if ((b = malloc(sizeof *b)) == NULL)
		return oci_fail(e, "out of memory");
	path = b->path, wh_name = b->wh_name, sub = b->sub;
	if (oci_dir_names(dirfd, &names, &n, e) < 0) {
		free(b);
		return oci_context(e, "/%s", dir);
	}
	for (i = 0; rc == 0 && i < n; i++) {
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = oci_fail_errno(e, "/%s/%s", dir, names[i]);
			break;
		}
		wh = oci_whiteout_name(names[i], &target);
		if (S_ISREG(st.st_mode) && (wh == OCI_WH_FILE || wh == OCI_WH_OPAQUE_DIR)) {
			join(path, sizeof b->path, dir, wh == OCI_WH_FILE ? target : "");
			if (!w->convert) {
				rc = w->fn(path, wh, OCI_WH_FORM_OCI, w->arg, e);
				continue;
			}
			if (w->to != OCI_WH_FORM_OVERLAY)
				continue;
			if (unlinkat(dirfd, names[i], 0) < 0) {
				rc = oci_fail_errno(e, "%s", path);
				break;
			}
			/* A NAME beside its own whiteout is the layer's: it stays, unhidden. */
			if (wh == OCI_WH_FILE && mknodat(dirfd, target, S_IFCHR | 0, makedev(0, 0)) < 0 &&
			    errno != EEXIST)
				rc = oci_fail_errno(e, "%s: overlay whiteout", path);
			if (wh == OCI_WH_OPAQUE_DIR) {
				fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
				if (fd < 0 || fsetxattr(fd, w->opaque_xattr, "y", 1, 0) < 0)
					rc = oci_fail_errno(e, "%s: set %s", path, w->opaque_xattr);
				if (fd >= 0)
					close(fd);
			}
			w->count++;
			continue;
		}
		join(path, sizeof b->path, dir, names[i]);
		if (oci_is_overlay_whiteout(&st)) {
			if (!w->convert) {
				rc = w->fn(path, OCI_WH_FILE, OCI_WH_FORM_OVERLAY, w->arg, e);
				continue;
			}
			if (w->to != OCI_WH_FORM_OCI)
				continue;
			if ((size_t)snprintf(wh_name, sizeof b->wh_name, OCI_WH_PREFIX "%s", names[i]) > NAME_MAX) {
				rc = oci_fail(e, "%s: the name is too long for a .wh. whiteout", path);
				break;
			}
			if (unlinkat(dirfd, names[i], 0) < 0 ||
			    (fd = openat(dirfd, wh_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)) < 0) {
				rc = oci_fail_errno(e, "%s", path);
				break;
			}
			close(fd);
			w->count++;
			continue;
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		fd = openat(dirfd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			rc = oci_fail_errno(e, "%s", path);
			break;
		}
		opaque = oci_overlay_is_opaque(fd);
		if (opaque && !w->convert)
			rc = w->fn(path, OCI_WH_OPAQUE_DIR, OCI_WH_FORM_OVERLAY, w->arg, e);
		if (opaque && w->convert && w->to == OCI_WH_FORM_OCI) {
			int k = openat(fd, OCI_WH_OPAQUE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (k < 0 && errno != EEXIST)
				rc = oci_fail_errno(e, "%s: %s", path, OCI_WH_OPAQUE);
			if (k >= 0)
				close(k);
			fremovexattr(fd, "trusted.overlay.opaque");
			fremovexattr(fd, "user.overlay.opaque");
			w->count++;
		}
		if (snprintf(sub, sizeof b->sub, "%s%s%s", dir, dir[0] ? "/" : "", names[i]) >= (int)sizeof b->sub)
			rc = oci_fail(e, "%s: path too long", path);
		if (rc == 0)
			rc = walk_dir(w, fd, sub, e);
		close(fd);
	}
	oci_dir_names_free(names, n);
	free(b);
	return rc;
}

int
oci_whiteouts_dir(int dirfd, oci_whiteout_fn fn, void *arg, struct oci_err *e)
{
	struct walk w = { .fn = fn, .arg = arg };

	if (oci_overlay_is_opaque(dirfd) && fn("/", OCI_WH_OPAQUE_DIR, OCI_WH_FORM_OVERLAY, arg, e) < 0)
		return -1;
	return walk_dir(&w, dirfd, "", e);
}

int
oci_whiteouts_convert(int dirfd, enum oci_wh_form to, int user_xattrs, unsigned long *count,
    struct oci_err *e)
{
	struct walk w = { .convert = 1, .to = to,
		.opaque_xattr = user_xattrs ? "user.overlay.opaque" : "trusted.overlay.opaque" };
	int fd, rc;

	/* The top directory itself may be opaque, too. */
	if (to == OCI_WH_FORM_OCI && oci_overlay_is_opaque(dirfd)) {
		fd = openat(dirfd, OCI_WH_OPAQUE, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			return oci_fail_errno(e, "/%s", OCI_WH_OPAQUE);
		if (fd >= 0)
			close(fd);
		fremovexattr(dirfd, "trusted.overlay.opaque");
		fremovexattr(dirfd, "user.overlay.opaque");
		w.count++;
	}
	rc = walk_dir(&w, dirfd, "", e);
	if (count)
		*count = w.count;
	return rc;
}
