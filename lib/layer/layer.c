/*
 * lib/layer/layer.c — a directory becomes a layer blob.
 *
 * image-spec layer.md: a layer is a tar archive of a file system change
 * set, here gzip-compressed.  Two digests name it: the blob's digest (of
 * the gzip bytes, in the manifest) and its diff_id (of the tar inside, in
 * the config's rootfs).  Both are computed while the bytes stream by:
 *
 *     files --libarchive--> tar --sha256 (diff_id)--> zlib deflate
 *           --sha256 (digest)--> blobs/sha256/.tmp-… --rename--> blobs/sha256/<hex>
 *
 * so that no more than one buffer of the layer is ever in memory.
 *
 * The directory may be an overlayfs upperdir: what overlayfs says with a
 * 0:0 character device or an opaque xattr becomes the ".wh." entries the
 * image-spec uses ("Whiteouts"), and overlayfs' own xattrs stay out.
 *
 * Reproducible: entries in byte order of their names, numeric owners only,
 * whole-second mtimes (clamped to SOURCE_DATE_EPOCH when it is given), no
 * atime or ctime, and a gzip header without a time or a file name.
 */
#define _GNU_SOURCE		/* asprintf, tdestroy */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <search.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include "layer.h"

/* Where libarchive's tar bytes go: hashed, deflated, hashed again, stored. */
struct sink {
	struct oci_hash *diff;		/* over the tar: the diff_id */
	z_stream z;
	unsigned char *zbuf;
	struct oci_blob_writer *blob;	/* hashes the gzip bytes: the digest */
	struct oci_err *e;
	int failed;			/* e holds the first error */
	char what[256];			/* "layer from DIR", for oci_meter */
};

/* Deflate n bytes (flush: Z_NO_FLUSH or Z_FINISH) into the blob writer. */
static int
sink_deflate(struct sink *s, const void *buf, size_t n, int flush)
{
	int rc;

	s->z.next_in = (unsigned char *)buf;
	s->z.avail_in = n;
	do {
		s->z.next_out = s->zbuf;
		s->z.avail_out = OCI_IO_CHUNK;
		rc = deflate(&s->z, flush);
		if (rc == Z_STREAM_ERROR)
			return oci_fail(s->e, "gzip: deflate failed");
		if (oci_blob_writer_write(s->blob, s->zbuf, OCI_IO_CHUNK - s->z.avail_out, s->e) < 0)
			return -1;
	} while (s->z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
	return 0;
}

static la_ssize_t
sink_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct sink *s = arg;

	(void)a;
	if (s->failed)
		return -1;
	oci_hash_update(s->diff, buf, n);
	if (sink_deflate(s, buf, n, Z_NO_FLUSH) < 0) {
		s->failed = 1;
		return -1;
	}
	/* How big the tar will be is known only at its end: no total. */
	oci_meter(s->what, oci_hash_size(s->diff), -1);
	return n;
}

/* A file that has more than one name: the first name the walk gave it. */
struct link {
	dev_t dev;
	ino_t ino;
	char *path;
};

static int
link_cmp(const void *a, const void *b)
{
	const struct link *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return 0;
}

static void
link_free(void *p)
{
	struct link *l = p;

	free(l->path);
	free(l);
}

struct walk {
	struct archive *a;
	struct archive_entry *ent;
	int64_t clamp;			/* -1: keep mtimes as they are */
	dev_t layout_dev;		/* the layout must not be inside the tree */
	ino_t layout_ino;
	void *links;			/* tsearch tree of struct link */
	char *buf;			/* OCI_IO_CHUNK, for file contents */
	uint64_t entries;
	struct sink *sink;
	struct oci_err *e;
};

static int
la_fail(struct walk *w, const char *path)
{
	if (w->sink->failed)
		return oci_context(w->e, "%s", path);
	return oci_fail(w->e, "%s: tar: %s", path, archive_error_string(w->a));
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Copy the xattrs of dirfd/name into the entry, in name order, leaving overlayfs' own out. */
static int
add_xattrs(struct walk *w, int dirfd, const char *name, const char *path)
{
	char proc[64 + NAME_MAX], *list = NULL, **names = NULL, *p, *val = NULL;
	ssize_t len, vlen;
	size_t n = 0, i;
	int rc = -1;

	/* /proc/self/fd/N/NAME reaches the file through its directory fd; the l*
	 * calls do not follow NAME itself when it is a symlink. */
	snprintf(proc, sizeof proc, "/proc/self/fd/%d/%s", dirfd, name);
	len = llistxattr(proc, NULL, 0);
	if (len < 0 && (errno == ENOTSUP || errno == ENODATA))
		return 0;
	if (len <= 0)
		return len < 0 ? oci_fail_errno(w->e, "%s: list xattrs", path) : 0;
	list = malloc(len + 1);
	names = calloc(len, sizeof *names);
	val = malloc(XATTR_SIZE_MAX);
	if (list == NULL || names == NULL || val == NULL) {
		oci_fail(w->e, "out of memory");
		goto out;
	}
	len = llistxattr(proc, list, len);
	if (len < 0) {
		oci_fail_errno(w->e, "%s: list xattrs", path);
		goto out;
	}
	list[len] = '\0';
	for (p = list; p < list + len; p += strlen(p) + 1)
		if (*p && !oci_is_overlay_xattr(p))
			names[n++] = p;
	qsort(names, n, sizeof *names, name_cmp);
	for (i = 0; i < n; i++) {
		vlen = lgetxattr(proc, names[i], val, XATTR_SIZE_MAX);
		if (vlen < 0) {
			if (errno == ENODATA)
				continue;
			oci_fail_errno(w->e, "%s: xattr %s", path, names[i]);
			goto out;
		}
		archive_entry_xattr_add_entry(w->ent, names[i], val, vlen);
	}
	rc = 0;
out:
	free(val);
	free(names);
	free(list);
	return rc;
}

/* Fill the entry's header fields from st: the same for every kind of entry. */
static void
set_header(struct walk *w, const char *path, const struct stat *st)
{
	time_t mtime = st->st_mtime;

	archive_entry_clear(w->ent);
	archive_entry_set_pathname(w->ent, path);
	archive_entry_set_mode(w->ent, st->st_mode);
	archive_entry_set_uid(w->ent, st->st_uid);
	archive_entry_set_gid(w->ent, st->st_gid);
	if (w->clamp >= 0 && mtime > w->clamp)
		mtime = w->clamp;
	archive_entry_set_mtime(w->ent, mtime, 0);
}

/* An empty regular file: a whiteout (".wh.NAME" or ".wh..wh..opq"). */
static int
write_marker(struct walk *w, const char *path, const struct stat *like)
{
	struct stat st = *like;

	st.st_mode = S_IFREG | 0644;
	set_header(w, path, &st);
	archive_entry_set_size(w->ent, 0);
	if (archive_write_header(w->a, w->ent) < ARCHIVE_WARN)
		return la_fail(w, path);
	w->entries++;
	oci_say("  %s (whiteout)", path);
	return 0;
}

/* A regular file's bytes, exactly st_size of them, or an error. */
static int
write_contents(struct walk *w, int dirfd, const char *name, const char *path, off_t size)
{
	off_t left = size;
	ssize_t n;
	int fd, rc = -1;

	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(w->e, "%s", path);
	while (left > 0) {
		n = read(fd, w->buf, left < OCI_IO_CHUNK ? (size_t)left : OCI_IO_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			oci_fail_errno(w->e, "%s: read", path);
			goto out;
		}
		if (n == 0)
			break;
		if (archive_write_data(w->a, w->buf, n) != n) {
			la_fail(w, path);
			goto out;
		}
		left -= n;
	}
	/* The header promised size bytes: a file that shrank or grew is an error, not a lie. */
	if (left != 0 || read(fd, w->buf, 1) != 0) {
		oci_fail(w->e, "%s: changed while it was read", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Hard links: the second and later names of a file become link entries. */
static int
hardlink_of(struct walk *w, const struct stat *st, const char *path, const char **first)
{
	struct link key = { st->st_dev, st->st_ino, NULL }, *l, **found;

	*first = NULL;
	if (S_ISDIR(st->st_mode) || st->st_nlink < 2)
		return 0;
	found = tfind(&key, &w->links, link_cmp);
	if (found) {
		*first = (*found)->path;
		return 0;
	}
	l = malloc(sizeof *l);
	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		return oci_fail(w->e, "out of memory");
	}
	l->dev = st->st_dev;
	l->ino = st->st_ino;
	if (tsearch(l, &w->links, link_cmp) == NULL) {
		link_free(l);
		return oci_fail(w->e, "out of memory");
	}
	return 0;
}

/* One non-directory entry: regular file, symlink, hard link, FIFO or device. */
static int
write_file(struct walk *w, int dirfd, const char *name, const char *path, const struct stat *st)
{
	char target[PATH_MAX];
	const char *first;
	ssize_t n;

	if (S_ISSOCK(st->st_mode)) {
		oci_warn("%s: a socket cannot be stored in a layer; left out", path);
		return 0;
	}
	if (hardlink_of(w, st, path, &first) < 0)
		return -1;
	set_header(w, path, st);
	if (first) {
		archive_entry_set_hardlink(w->ent, first);
		archive_entry_set_size(w->ent, 0);
	} else if (S_ISLNK(st->st_mode)) {
		n = readlinkat(dirfd, name, target, sizeof target);
		if (n < 0)
			return oci_fail_errno(w->e, "%s: readlink", path);
		if (n == sizeof target)
			return oci_fail(w->e, "%s: symlink target too long", path);
		target[n] = '\0';
		archive_entry_set_symlink(w->ent, target);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
		archive_entry_set_rdevmajor(w->ent, major(st->st_rdev));
		archive_entry_set_rdevminor(w->ent, minor(st->st_rdev));
	} else if (S_ISREG(st->st_mode)) {
		archive_entry_set_size(w->ent, st->st_size);
	}
	if (add_xattrs(w, dirfd, name, path) < 0)
		return -1;
	if (archive_write_header(w->a, w->ent) < ARCHIVE_WARN)
		return la_fail(w, path);
	w->entries++;
	if (S_ISREG(st->st_mode) && first == NULL && st->st_size > 0 &&
	    write_contents(w, dirfd, name, path, st->st_size) < 0)
		return -1;
	if (archive_write_finish_entry(w->a) < ARCHIVE_WARN)
		return la_fail(w, path);
	return 0;
}

static int walk_dir(struct walk *w, int dirfd, const char *prefix);

/* A directory entry, its opaque marker when overlayfs made it opaque, then its contents. */
static int
write_dir(struct walk *w, int dirfd, const char *name, const char *path, const struct stat *st)
{
	char *prefix = NULL;
	int fd, rc = -1;

	if (st->st_dev == w->layout_dev && st->st_ino == w->layout_ino)
		return oci_fail(w->e, "%s is the layout being written to: it cannot be in its own layer", path);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(w->e, "%s", path);
	set_header(w, path, st);
	if (add_xattrs(w, dirfd, name, path) < 0)
		goto out;
	if (archive_write_header(w->a, w->ent) < ARCHIVE_WARN) {
		la_fail(w, path);
		goto out;
	}
	w->entries++;
	if (asprintf(&prefix, "%s/", path) < 0) {
		prefix = NULL;
		oci_fail(w->e, "out of memory");
		goto out;
	}
	rc = walk_dir(w, fd, prefix);
out:
	free(prefix);
	close(fd);
	return rc;
}

/* Every entry below dirfd, whose tar path starts with prefix ("" or "a/b/"). */
static int
walk_dir(struct walk *w, int dirfd, const char *prefix)
{
	char **names = NULL, *path = NULL, *wh = NULL;
	size_t n = 0, i;
	struct stat st;
	int rc = -1;

	/* image-spec layer.md: ".wh..wh..opq" hides the lower layers' entries in its directory. */
	if (oci_overlay_is_opaque(dirfd)) {
		if (fstat(dirfd, &st) < 0 || asprintf(&wh, "%s%s", prefix, OCI_WH_OPAQUE) < 0) {
			wh = NULL;
			return oci_fail_errno(w->e, "%s", prefix);
		}
		rc = write_marker(w, wh, &st);
		free(wh);
		wh = NULL;
		if (rc < 0)
			return -1;
		rc = -1;
	}
	if (oci_dir_names(dirfd, &names, &n, w->e) < 0)
		return oci_context(w->e, "%s", prefix[0] ? prefix : ".");
	for (i = 0; i < n; i++) {
		free(path);
		if (asprintf(&path, "%s%s", prefix, names[i]) < 0) {
			path = NULL;
			oci_fail(w->e, "out of memory");
			goto out;
		}
		if (fstatat(dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			oci_fail_errno(w->e, "%s", path);
			goto out;
		}
		if (oci_is_overlay_whiteout(&st)) {
			/* overlayfs' deletion mark becomes the image-spec's ".wh.NAME". */
			if (asprintf(&wh, "%s" OCI_WH_PREFIX "%s", prefix, names[i]) < 0) {
				wh = NULL;
				oci_fail(w->e, "out of memory");
				goto out;
			}
			rc = write_marker(w, wh, &st);
			free(wh);
			wh = NULL;
			if (rc < 0)
				goto out;
			rc = -1;
			continue;
		}
		if (oci_whiteout_name(names[i], NULL) != OCI_WH_NONE) {
			oci_fail(w->e, "%s: a file named " OCI_WH_PREFIX "* would read as a whiteout; "
			    "it cannot be stored in a layer", path);
			goto out;
		}
		if (S_ISDIR(st.st_mode) ? write_dir(w, dirfd, names[i], path, &st) < 0 :
		    write_file(w, dirfd, names[i], path, &st) < 0)
			goto out;
	}
	rc = 0;
out:
	free(path);
	oci_dir_names_free(names, n);
	return rc;
}

/* The layout's identity (w->layout_*); dir (rootfd) must not be it. */
static int
not_the_layout(struct walk *w, struct oci_layout *l, int rootfd, const char *dir, struct oci_err *e)
{
	struct stat st;

	if (fstat(l->dirfd, &st) < 0)
		return oci_fail_errno(e, "%s", l->path);
	w->layout_dev = st.st_dev;
	w->layout_ino = st.st_ino;
	if (fstat(rootfd, &st) < 0 || (st.st_dev == w->layout_dev && st.st_ino == w->layout_ino))
		return oci_fail(e, "%s is the layout being written to", dir);
	return 0;
}

/* The pipeline's pieces: hashes, buffers, deflate, the blob writer and libarchive on top. */
static int
pipeline_open(struct walk *w, struct sink *s, struct oci_layout *l, int *zok, struct oci_err *e)
{
	s->diff = oci_hash_new(OCI_SHA256);
	s->zbuf = malloc(OCI_IO_CHUNK);
	w->buf = malloc(OCI_IO_CHUNK);
	w->a = archive_write_new();
	w->ent = archive_entry_new();
	if (s->diff == NULL || s->zbuf == NULL || w->buf == NULL || w->a == NULL || w->ent == NULL)
		return oci_fail(e, "out of memory");
	/* windowBits 15 + 16: a gzip wrapper, whose header zlib writes with mtime 0 and no name. */
	if (deflateInit2(&s->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return oci_fail(e, "gzip: cannot start deflate");
	*zok = 1;
	if (oci_blob_writer_new(l, OCI_SHA256, &s->blob, e) < 0)
		return -1;
	/* pax_restricted: plain ustar headers unless a long name, a big number or
	 * an xattr needs pax records (POSIX.1-2001 "pax Interchange Format"). */
	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK ||
	    archive_write_open(w->a, s, NULL, sink_write, NULL) != ARCHIVE_OK)
		return oci_fail(e, "tar: %s", archive_error_string(w->a));
	return 0;
}

int
oci_layer_write(struct oci_layout *l, const char *dir, int64_t clamp, struct oci_layer *out,
    struct oci_err *e)
{
	struct sink s = { .e = e };
	struct walk w = { .clamp = clamp, .sink = &s, .e = e };
	int rootfd = -1, rc = -1, zok = 0;

	memset(out, 0, sizeof *out);
	snprintf(s.what, sizeof s.what, "layer from %s", dir);
	rootfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return oci_fail_errno(e, "%s", dir);
	if (not_the_layout(&w, l, rootfd, dir, e) < 0 || pipeline_open(&w, &s, l, &zok, e) < 0)
		goto out;
	oci_say("layer: walking %s in name order%s", dir,
	    clamp >= 0 ? ", mtimes clamped to SOURCE_DATE_EPOCH" : "");
	if (walk_dir(&w, rootfd, "") < 0)
		goto out;
	if (archive_write_close(w.a) != ARCHIVE_OK) {
		la_fail(&w, dir);
		goto out;
	}
	if (sink_deflate(&s, NULL, 0, Z_FINISH) < 0)
		goto out;
	oci_hash_final(s.diff, out->diff_id);
	out->tar_size = oci_hash_size(s.diff);
	out->size = oci_blob_writer_size(s.blob);
	rc = oci_blob_writer_commit(s.blob, NULL, -1, out->digest, e);
	s.blob = NULL;
	if (rc < 0)
		goto out;
	out->entries = w.entries;
	oci_say("layer %s: %llu entr%s, tar %s (diff_id %s), gzip %s", oci_short(out->digest),
	    (unsigned long long)out->entries, out->entries == 1 ? "y" : "ies", oci_human_size(out->tar_size),
	    oci_short(out->diff_id), oci_human_size(out->size));
out:
	oci_meter_done();
	if (rc < 0)
		oci_context(e, "layer from %s", dir);
	/* Freeing the archive may still flush through the sink: the blob goes last. */
	if (w.a)
		archive_write_free(w.a);
	oci_blob_writer_abort(s.blob);
	archive_entry_free(w.ent);
	if (zok)
		deflateEnd(&s.z);
	tdestroy(w.links, link_free);
	oci_hash_free(s.diff);
	free(s.zbuf);
	free(w.buf);
	if (rootfd >= 0)
		close(rootfd);
	return rc;
}
