/*
 * lib/mount/overlay.c — an image's layers stacked with overlayfs.
 *
 * Linux Documentation/filesystems/overlayfs.rst: read-only lower
 * directories, the top one first, under one writable upper directory (and
 * a work directory on the same filesystem); a change copies the file up,
 * a deletion leaves a 0:0 character device in upper, a directory made
 * anew is marked opaque.  The real host root uses trusted.overlay.*
 * xattrs; inside a user namespace overlayfs is mounted with "userxattr"
 * and uses user.overlay.* instead, so the layers are extracted to match.
 *
 * The mount option string is limited to one page, which 120 layers of long
 * paths overflow.  Since Linux 6.8 the new mount API takes one "lowerdir+"
 * per layer, each in its own fsconfig(2) call.  Older kernels (Debian 12
 * runs 6.1) get docker's overlay2 answer: a short symlink per layer in
 * DIR/l/, and "lowerdir=l/…:l/…" given from inside DIR to mount(2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mount.h"

/* Why fsopen or fsconfig refused, in the words the user needs. */
static int
mount_error(int fs, const char *what, struct oci_err *e)
{
	char log[512];
	ssize_t n;
	int saved = errno;

	/* The kernel explains fsconfig failures in the fs context's log. */
	if (fs >= 0 && (n = read(fs, log, sizeof log - 1)) > 2) {
		log[n] = '\0';
		log[strcspn(log, "\n")] = '\0';
		return oci_fail(e, "%s: %s (%s)", what, strerror(saved), log + 2);
	}
	errno = saved;
	if (errno == EPERM)
		return oci_fail(e, "%s: mounting needs privilege: run it inside oci-unshare "
		    "(oci-unshare oci-overlay ...)", what);
	if (errno == ENODEV)
		return oci_fail(e, "%s: this kernel has no overlayfs (modprobe overlay)", what);
	return oci_fail_errno(e, "%s", what);
}

int
oci_overlay_can_mount(struct oci_err *e)
{
	int fs = fsopen("overlay", FSOPEN_CLOEXEC);

	if (fs < 0)
		return mount_error(-1, "overlayfs", e);
	close(fs);
	return 0;
}

/* mkdir that is happy when the directory is there. */
static int
make_dir(int dirfd, const char *name, struct oci_err *e)
{
	if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
		return oci_fail_errno(e, "%s", name);
	return 0;
}

/* 1 when path is the root of a mount, 0 when not, -1 on error. */
static int
is_mount_root(const char *path, struct oci_err *e)
{
	struct statx sx;

	if (statx(AT_FDCWD, path, 0, STATX_BASIC_STATS, &sx) < 0)
		return oci_fail_errno(e, "%s", path);
	return (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	    (sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/*
 * Why the kernel cannot have one "lowerdir+" per layer, or NULL when it
 * can.  Before Linux 6.5 overlayfs read its options only when mounting, so
 * fsconfig accepted any key at all: a made-up key that is accepted gives
 * such a kernel away.  Linux 6.5 to 6.7 refuse the unknown "lowerdir+".
 */
static const char *
no_lowerdir_plus(void)
{
	const char *force = getenv("OCI_OVERLAY_NO_LOWERDIR_PLUS");
	int fs, legacy, plus;

	if (force && strcmp(force, "1") == 0)
		return "lowerdir+ not used (OCI_OVERLAY_NO_LOWERDIR_PLUS=1)";
	if ((fs = fsopen("overlay", FSOPEN_CLOEXEC)) < 0)
		return NULL;	/* the mount itself will say why */
	legacy = fsconfig(fs, FSCONFIG_SET_FLAG, "oci-overlay-no-such-option", NULL, 0) == 0;
	plus = fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0 || errno != EINVAL;
	close(fs);
	return legacy || !plus ? "lowerdir+ not supported by this kernel" : NULL;
}

/* The new mount API: each lower directory in a fsconfig call of its own. */
static int
mount_lowerdir_plus(const struct oci_overlay *o, const char *merged, struct oci_err *e)
{
	int fs, rc = -1;
	size_t i;

	oci_say("lowerdir+: %zu lower director%s, one fsconfig(2) call each (Linux 6.8)",
	    o->nlower, o->nlower == 1 ? "y" : "ies");
	if ((fs = fsopen("overlay", FSOPEN_CLOEXEC)) < 0)
		return mount_error(-1, "overlayfs", e);
	for (i = 0; i < o->nlower; i++)
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", o->lower[i], 0) < 0) {
			mount_error(fs, o->lower[i], e);
			goto out;
		}
	if ((o->upper && fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", o->upper, 0) < 0) ||
	    (o->work && fsconfig(fs, FSCONFIG_SET_STRING, "workdir", o->work, 0) < 0) ||
	    (o->userxattr && fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)) {
		mount_error(fs, "overlayfs options", e);
		goto out;
	}
	switch (oci_mount_attach(fs, 0, AT_FDCWD, merged, NULL)) {
	case OCI_MOUNT_CREATE:
		mount_error(fs, "mount overlayfs", e);
		goto out;
	case OCI_MOUNT_FSMOUNT:
	case OCI_MOUNT_MOVE:
		oci_fail_errno(e, "mount overlayfs on %s", merged);
		goto out;
	}
	rc = 0;
out:
	close(fs);
	return rc;
}

/* Append s to the growing string *buf, quoted for sh when it needs to be. */
static int
append(char **buf, size_t *len, const char *s, int quote)
{
	size_t need = *len + 4 * strlen(s) + 3;
	char *nb = realloc(*buf, need + 1), *p;

	if (nb == NULL)
		return -1;
	*buf = nb;
	p = nb + *len;
	quote = quote && s[strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-:=,+")];
	if (quote)
		*p++ = '\'';
	for (; *s; s++) {
		if (quote && *s == '\'') {
			memcpy(p, "'\\''", 4);
			p += 4;
		} else {
			*p++ = *s;
		}
	}
	if (quote)
		*p++ = '\'';
	*p = '\0';
	*len = p - nb;
	return 0;
}

/* path relative to dir when it lies inside it ("DIR/upper" -> "upper"). */
static const char *
inside(const char *path, const char *dir)
{
	size_t n = dir ? strlen(dir) : 0;

	return n && strncmp(path, dir, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

/*
 * mount(2)'s option string "lowerdir=A:B,upperdir=U,workdir=W[,userxattr]",
 * with lower instead of o->lower and paths relative to dir (may be NULL).
 * Caller frees; NULL: no memory.
 */
static char *
options(const struct oci_overlay *o, char *const *lower, const char *dir)
{
	char *opts = NULL;
	size_t n = 0, i;
	int bad = 0;

	bad |= append(&opts, &n, "lowerdir=", 0);
	for (i = 0; i < o->nlower; i++)
		bad |= append(&opts, &n, i ? ":" : "", 0) | append(&opts, &n, inside(lower[i], dir), 0);
	if (o->upper)
		bad |= append(&opts, &n, ",upperdir=", 0) | append(&opts, &n, inside(o->upper, dir), 0);
	if (o->work)
		bad |= append(&opts, &n, ",workdir=", 0) | append(&opts, &n, inside(o->work, dir), 0);
	if (o->userxattr)
		bad |= append(&opts, &n, ",userxattr", 0);
	if (bad) {
		free(opts);
		return NULL;
	}
	return opts;
}

static int
fits_a_page(const char *opts)
{
	return strlen(opts) < (size_t)sysconf(_SC_PAGESIZE);
}

static void
free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; list && i < n; i++)
		free(list[i]);
	free(list);
}

/*
 * docker's overlay2/l/: for each lower directory under o->dir (layers/HEX)
 * the short symlink o->dir/l/<12 of HEX> -> ../layers/HEX, made once and
 * reused.  Returns the links' names relative to o->dir ("l/…"), for
 * free_list.  A link there already that points elsewhere (two diff_ids
 * alike in 12 hex) is an error: it is never followed.
 */
static char **
short_links(const struct oci_overlay *o, struct oci_err *e)
{
	char **names = calloc(o->nlower, sizeof *names), target[PATH_MAX], got[PATH_MAX], link[16];
	const char *rel;
	int dirfd = -1, lfd = -1, ok = 0;
	ssize_t n;
	size_t i;

	if (names == NULL) {
		oci_fail(e, "out of memory");
		return NULL;
	}
	if ((dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    make_dir(dirfd, "l", e) < 0 ||
	    (lfd = openat(dirfd, "l", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		oci_fail_errno(e, "%s/l", o->dir);
		goto out;
	}
	for (i = 0; i < o->nlower; i++) {
		if ((rel = inside(o->lower[i], o->dir)) == o->lower[i]) {
			oci_fail(e, "%s: not inside %s", o->lower[i], o->dir);
			goto out;
		}
		snprintf(link, sizeof link, "%.12s", strrchr(o->lower[i], '/') + 1);
		snprintf(target, sizeof target, "../%s", rel);
		if (symlinkat(target, lfd, link) < 0 && errno != EEXIST) {
			oci_fail_errno(e, "%s/l/%s", o->dir, link);
			goto out;
		}
		if ((n = readlinkat(lfd, link, got, sizeof got - 1)) < 0 ||
		    (got[n] = '\0', strcmp(got, target) != 0)) {
			oci_fail(e, "%s/l/%s: not a link to %s, refusing it", o->dir, link, target);
			goto out;
		}
		if (asprintf(&names[i], "l/%s", link) < 0) {
			names[i] = NULL;
			oci_fail(e, "out of memory");
			goto out;
		}
	}
	ok = 1;
out:
	if (lfd >= 0)
		close(lfd);
	if (dirfd >= 0)
		close(dirfd);
	if (!ok) {
		free_list(names, o->nlower);
		return NULL;
	}
	return names;
}

/*
 * The classic mount(2): one option string, at most a page.  An image's
 * layers go in as short links, from inside o->dir: the process changes
 * its working directory for the call and back.
 */
static int
mount_classic(const struct oci_overlay *o, const char *merged, const char *why, struct oci_err *e)
{
	char **links = NULL, *opts = NULL;
	int cwd = -1, rc = -1;

	if (o->links) {
		oci_say("%s: the short links in %s/l, from inside %s, keep the option string short",
		    why, o->dir, o->dir);
	} else if (o->dir) {
		oci_say("%s: short links under %s/l", why, o->dir);
		if ((links = short_links(o, e)) == NULL)
			return -1;
	} else {
		oci_say("%s: one option string for mount(2)", why);
	}
	if ((opts = options(o, o->links ? o->links : links ? links : o->lower, o->dir)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (!fits_a_page(opts)) {
		oci_fail(e, "%s, and the mount options (%zu bytes) do not fit in a page (%ld): "
		    "give fewer or shorter lower directories", why, strlen(opts), sysconf(_SC_PAGESIZE));
		goto out;
	}
	if (o->dir && ((cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 || chdir(o->dir) < 0)) {
		oci_fail_errno(e, "%s", o->dir);
		goto out;
	}
	if (mount("overlay", merged, "overlay", 0, opts) < 0)
		mount_error(-1, "mount overlayfs", e);
	else
		rc = 0;
	if (cwd >= 0 && fchdir(cwd) < 0 && rc == 0)
		rc = oci_fail_errno(e, "back to the working directory");
out:
	if (cwd >= 0)
		close(cwd);
	free(opts);
	free_list(links, o->nlower);
	return rc;
}

int
oci_overlay_mount(const struct oci_overlay *o, const char *merged, struct oci_err *e)
{
	const char *why;
	int r;

	if (o->nlower == 0)
		return oci_fail(e, "overlayfs needs at least one lower directory");
	if ((r = is_mount_root(merged, e)) != 0)
		return r < 0 ? -1 : oci_fail(e, "%s: already a mount point (unmount it first: oci-overlay -u)", merged);
	why = no_lowerdir_plus();
	if ((why ? mount_classic(o, merged, why, e) : mount_lowerdir_plus(o, merged, e)) < 0)
		return -1;
	/* Until the run succeeds, the mount is its to take down (oci_undo). */
	oci_undo_add(OCI_UNDO_UMOUNT, AT_FDCWD, merged);
	oci_say("mount -t overlay: %zu lower layer%s, upper %s, on %s%s", o->nlower,
	    o->nlower == 1 ? "" : "s", o->upper ? o->upper : "(none: read-only)", merged,
	    o->userxattr ? " (userxattr: user.overlay.* xattrs)" : "");
	return 0;
}

char *
oci_overlay_mount_line(const struct oci_overlay *o, const char *merged, struct oci_err *e)
{
	const char *why = no_lowerdir_plus(), *dir = NULL;
	char *opts, *line = NULL, **links = NULL;
	size_t m = 0;

	if ((opts = options(o, o->lower, NULL)) == NULL)
		goto out;
	/* mount(8) hands the options to mount(2): an image's must fit in a page. */
	if (o->dir && (why || !fits_a_page(opts))) {
		oci_say("%s: short links under %s/l", why ? why : "a page could not hold "
		    "the mount(8) options", o->dir);
		free(opts);
		if ((links = short_links(o, e)) == NULL)
			return NULL;
		dir = o->dir;
		if ((opts = options(o, links, dir)) == NULL)
			goto out;
	}
	if ((dir && (append(&line, &m, "cd ", 0) | append(&line, &m, dir, 1) |
	    append(&line, &m, " && ", 0))) |
	    append(&line, &m, "mount -t overlay overlay -o ", 0) | append(&line, &m, opts, 1) |
	    append(&line, &m, " ", 0) | append(&line, &m, inside(merged, dir), 1)) {
		free(line);
		line = NULL;
	}
out:
	if (line == NULL)
		oci_fail(e, "out of memory");
	free(opts);
	free_list(links, o->nlower);
	return line;
}

int
oci_overlay_is_mounted(const char *path)
{
	struct oci_err ignored;

	return is_mount_root(path, &ignored) == 1;
}

int
oci_overlay_umount(const char *path, struct oci_err *e)
{
	if (umount2(path, UMOUNT_NOFOLLOW) == 0) {
		oci_say("umount %s", path);
		return 0;
	}
	if (errno == EINVAL)
		return oci_fail(e, "%s: not a mount point", path);
	if (errno == EPERM)
		return oci_fail(e, "%s: unmounting needs privilege: run it inside the oci-unshare "
		    "that mounted it", path);
	return oci_fail_errno(e, "umount %s", path);
}

/* ---- an image's layers, each once, in DIR/layers/<diff_id hex> ---- */

/* Extract the iterator's layer into layers/<hex> unless it is there already. */
static int
layer_dir(struct oci_layers *it, int layersfd, int user_xattrs, struct oci_err *e)
{
	const char *hex = oci_digest_hex(it->diff_id);
	struct oci_untar_opts opts = { OCI_WHITEOUTS_OVERLAY, user_xattrs };
	char what[96];
	struct oci_temp t;
	struct stat st;

	if (fstatat(layersfd, hex, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		oci_say("layer %s: diff_id %s already in layers/, shared", oci_short(it->desc.digest),
		    oci_short(it->diff_id));
		return 0;
	}
	oci_say("layer %s (%s): extracting into layers/%.12s… with overlay whiteouts%s",
	    oci_short(it->desc.digest), oci_human_size(it->desc.size), hex,
	    user_xattrs ? " (user.overlay.opaque)" : " (trusted.overlay.opaque)");
	/* Under a temporary name: a half-extracted layer is never used. */
	snprintf(what, sizeof what, "extracting %s", oci_short(it->desc.digest));
	if (oci_untar_temp(it, what, layersfd, hex, NULL, &opts, &t, e) < 0)
		return -1;
	if (oci_temp_rename(&t, hex, e) < 0) {
		/* Another oci-overlay made the same layer meanwhile: use theirs. */
		if (errno == EEXIST || errno == ENOTEMPTY)
			return 0;
		return oci_context(e, "layers");
	}
	/* A whole layer under its diff_id stays: the next run shares it. */
	return 0;
}

/*
 * DIR (its absolute path in abs) and its layers, upper, work and merged
 * directories; DIR goes again if the run fails (oci_undo).  Returns a
 * descriptor of DIR/layers, or -1.
 */
static int
make_dirs(const char *dir, char abs[PATH_MAX], int empty, struct oci_err *e)
{
	int dirfd, layersfd = -1;

	/* 0700: what container root writes lands in DIR/upper as host root's
	 * files (setuid ones too), so no other host user may reach it, as no
	 * one but root reaches docker's /var/lib/docker (0710). */
	if (oci_undo_mkdir(dir, 0700, e) < 0)
		return -1;
	if (realpath(dir, abs) == NULL ||
	    (dirfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "%s", dir);
	if (make_dir(dirfd, "layers", e) < 0 || make_dir(dirfd, "upper", e) < 0 ||
	    make_dir(dirfd, "work", e) < 0 || make_dir(dirfd, "merged", e) < 0 ||
	    (empty && make_dir(dirfd, "layers/empty", e) < 0))
		goto out;
	layersfd = openat(dirfd, "layers", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (layersfd < 0)
		oci_fail_errno(e, "%s/layers", dir);
out:
	close(dirfd);
	return layersfd;
}

/* o's directories under abs; overlayfs wants the top layer first: the last one in the manifest. */
static int
overlay_paths(struct oci_overlay *o, const char *abs, const json_t *diff_ids, size_t n)
{
	char path[PATH_MAX + 128];
	size_t i;

	if ((o->lower = calloc(n ? n : 1, sizeof *o->lower)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof path, "%s/layers/%s", abs,
		    oci_digest_hex(json_string_value(json_array_get(diff_ids, n - 1 - i))));
		if ((o->lower[o->nlower++] = strdup(path)) == NULL)
			return -1;
	}
	if (n == 0) {
		snprintf(path, sizeof path, "%s/layers/empty", abs);
		if ((o->lower[o->nlower++] = strdup(path)) == NULL)
			return -1;
	}
	o->dir = strdup(abs);
	snprintf(path, sizeof path, "%s/upper", abs);
	o->upper = strdup(path);
	snprintf(path, sizeof path, "%s/work", abs);
	o->work = strdup(path);
	snprintf(path, sizeof path, "%s/merged", abs);
	o->merged = strdup(path);
	return o->dir && o->upper && o->work && o->merged ? 0 : -1;
}

int
oci_overlay_layers(struct oci_image *img, const char *dir, int user_xattrs,
    struct oci_overlay *o, struct oci_err *e)
{
	struct oci_layers it;
	char abs[PATH_MAX];
	int layersfd = -1, rc = -1, r;

	memset(o, 0, sizeof *o);
	o->userxattr = user_xattrs;
	if (oci_layers_start(img, &it, e) < 0)
		goto out;
	if ((layersfd = make_dirs(dir, abs, it.n == 0, e)) < 0)
		goto out;
	while ((r = oci_layers_next(&it, e)) > 0)
		if (layer_dir(&it, layersfd, user_xattrs, e) < 0)
			goto out;
	if (r < 0)
		goto out;
	if (overlay_paths(o, abs, it.diff_ids, it.n) < 0) {
		oci_fail(e, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		oci_overlay_free(o);
	if (layersfd >= 0)
		close(layersfd);
	oci_layers_end(&it);
	return rc;
}

void
oci_overlay_free(struct oci_overlay *o)
{
	free_list(o->lower, o->nlower);
	free_list(o->links, o->nlower);
	free(o->id);
	free(o->dir);
	free(o->upper);
	free(o->work);
	free(o->merged);
	memset(o, 0, sizeof *o);
}

json_t *
oci_overlay_graphdriver(const struct oci_overlay *o)
{
	char *lower = NULL;
	size_t n = 0, i;
	json_t *j;
	int bad = 0;

	for (i = 0; i < o->nlower; i++)
		bad |= append(&lower, &n, i ? ":" : "", 0) | append(&lower, &n, o->lower[i], 0);
	if (bad) {
		free(lower);
		return NULL;
	}
	/* A store is laid out as docker's "overlay2" driver; a DIR is simpler. */
	j = json_pack("{s:s, s:{s:s, s:s?, s:s?, s:s?}}", "Name", o->id ? "overlay2" : "overlay", "Data",
	    "LowerDir", lower, "UpperDir", o->upper, "WorkDir", o->work, "MergedDir", o->merged);
	free(lower);
	return j;
}
