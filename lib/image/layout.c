/*
 * lib/image/layout.c — the OCI image layout on disk, and the IMAGE argument.
 *
 * image-spec image-layout.md: a directory with an "oci-layout" file, an
 * "index.json", and "blobs/<alg>/<encoded>" files named by their digest.
 * A blob's name is a promise about its content, so bytes are only given a
 * digest name after they have been hashed and found equal to it.
 */
#define _GNU_SOURCE	/* sync_file_range */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

/* ---- the IMAGE argument ---- */

static int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
oci_ref_parse(const char *arg, struct oci_ref *ref, struct oci_err *e)
{
	const char *slash, *cut, *at, *colon;

	memset(ref, 0, sizeof *ref);
	if (arg == NULL || arg[0] == '\0')
		return oci_fail(e, "empty image name");
	if (is_dir(arg)) {
		ref->layout = strdup(arg);
		return ref->layout ? 0 : oci_fail(e, "out of memory");
	}
	slash = strrchr(arg, '/');
	slash = slash ? slash + 1 : arg;
	at = strrchr(slash, '@');
	colon = strrchr(slash, ':');
	/* A digest has a ':' of its own: "L@sha256:…" splits at the '@'. */
	cut = at ? at : colon;
	if (cut == NULL) {
		ref->layout = strdup(arg);
		return ref->layout ? 0 : oci_fail(e, "out of memory");
	}
	if (cut == arg)
		return oci_fail(e, "\"%s\": no layout directory before '%c'", arg, *cut);
	if (cut[1] == '\0')
		return oci_fail(e, "\"%s\": empty %s after '%c'", arg,
		    *cut == '@' ? "digest" : "tag", *cut);
	ref->layout = strndup(arg, cut - arg);
	if (*cut == '@') {
		if (oci_digest_check(cut + 1, NULL, e) < 0) {
			oci_ref_free(ref);
			return oci_context(e, "image \"%s\"", arg);
		}
		ref->digest = strdup(cut + 1);
	} else {
		ref->tag = strdup(cut + 1);
	}
	if (ref->layout == NULL || (ref->digest == NULL && ref->tag == NULL)) {
		oci_ref_free(ref);
		return oci_fail(e, "out of memory");
	}
	return 0;
}

void
oci_ref_free(struct oci_ref *ref)
{
	free(ref->layout);
	free(ref->tag);
	free(ref->digest);
	memset(ref, 0, sizeof *ref);
}

/* ---- opening and making layouts ---- */

static struct oci_layout *
layout_new(const char *path, int dirfd)
{
	struct oci_layout *l = calloc(1, sizeof *l);

	if (l == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		close(dirfd);
		return NULL;
	}
	l->dirfd = dirfd;
	l->undo = -1;
	return l;
}

/* Something is in blobs/: a layout this run made stays, to be read or resumed. */
static void
layout_keep(struct oci_layout *l)
{
	oci_undo_keep(__atomic_exchange_n(&l->undo, -1, __ATOMIC_ACQ_REL));
}

int
oci_layout_open(const char *path, struct oci_layout **out, struct oci_err *e)
{
	json_t *doc, *v;
	json_error_t je;
	size_t len;
	char *buf;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "layout %s", path);
	if (oci_read_small(fd, "oci-layout", 64 * 1024, &buf, &len, e) < 0) {
		close(fd);
		return oci_context(e, "%s is not an OCI layout", path);
	}
	doc = json_loadb(buf, len, 0, &je);
	free(buf);
	v = json_object_get(doc, "imageLayoutVersion");
	if (!json_is_string(v)) {
		json_decref(doc);
		close(fd);
		return oci_fail(e, "%s/oci-layout: no imageLayoutVersion: not an OCI layout", path);
	}
	json_decref(doc);
	*out = layout_new(path, fd);
	return *out ? 0 : oci_fail(e, "out of memory");
}

/*
 * blobs/<alg> as a directory fd, opened one component at a time and never
 * through a symlink: a blobs/ or blobs/sha256 that is a symlink would take
 * reads and writes outside the layout.  create: make what is missing.
 * errno is kept for the caller (ENOENT: no such directory).
 */
static int
alg_dir_open(int dirfd, const char *path, enum oci_alg alg, int create, struct oci_err *e)
{
	const char *names[2] = { "blobs", oci_alg_name(alg) };
	int fd = dirfd, next, i, saved;

	for (i = 0; i < 2; i++) {
		if (create && mkdirat(fd, names[i], 0755) < 0 && errno != EEXIST)
			next = -1;
		else
			next = openat(fd, names[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		saved = errno;
		if (fd != dirfd)
			close(fd);
		if (next < 0) {
			errno = saved;
			if (errno == ELOOP || errno == ENOTDIR)
				oci_fail(e, "%s/blobs%s%s is a symlink or not a directory", path,
				    i ? "/" : "", i ? names[1] : "");
			else
				oci_fail_errno(e, "%s/blobs%s%s", path, i ? "/" : "", i ? names[1] : "");
			errno = saved;
			return -1;
		}
		fd = next;
	}
	return fd;
}

/* mkdir -p, for the layout's own directories. */
static int
mkdirs(const char *path, struct oci_err *e)
{
	char buf[PATH_MAX], *p;

	if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
		return oci_fail(e, "%s: path too long", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return oci_fail_errno(e, "mkdir %s", buf);
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return oci_fail_errno(e, "mkdir %s", buf);
	return 0;
}

int
oci_layout_create(const char *path, struct oci_layout **out, struct oci_err *e)
{
	static const char layout_doc[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	static const char index_doc[] = "{\"schemaVersion\":2,\"mediaType\":\"" OCI_MT_INDEX
	    "\",\"manifests\":[]}";
	struct stat st;
	int fd, blobs, made = stat(path, &st) < 0 && errno == ENOENT;

	*out = NULL;
	if (mkdirs(path, e) < 0)
		return -1;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "layout %s", path);
	if ((blobs = alg_dir_open(fd, path, OCI_SHA256, 1, e)) < 0)
		goto bad;
	close(blobs);
	if (fstatat(fd, "oci-layout", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    oci_file_replace(fd, path, "oci-layout", layout_doc, sizeof layout_doc - 1, 0, e) < 0)
		goto bad;
	if (fstatat(fd, "index.json", &st, AT_SYMLINK_NOFOLLOW) < 0 &&
	    oci_file_replace(fd, path, "index.json", index_doc, sizeof index_doc - 1, 0, e) < 0)
		goto bad;
	close(fd);
	if (oci_layout_open(path, out, e) < 0)
		return -1;
	/* A first fetch that fails leaves no empty layout behind. */
	if (made)
		(*out)->undo = oci_undo_add(OCI_UNDO_RMTREE, AT_FDCWD, path);
	return 0;
bad:
	close(fd);
	return oci_context(e, "create layout %s", path);
}

void
oci_layout_close(struct oci_layout *l)
{
	if (l == NULL)
		return;
	close(l->dirfd);
	free(l->path);
	free(l);
}

/* ---- reading blobs ---- */

int
oci_blob_path(const char *digest, char *buf, size_t len, struct oci_err *e)
{
	enum oci_alg alg;

	if (oci_digest_check(digest, &alg, e) < 0)
		return -1;
	if ((size_t)snprintf(buf, len, "blobs/%s/%s", oci_alg_name(alg), oci_digest_hex(digest)) >= len)
		return oci_fail(e, "blob path too long");
	return 0;
}

/* The directory fd of a checked digest's blob (see alg_dir_open); -1 and errno on failure. */
static int
blob_dir(struct oci_layout *l, const char *digest, struct oci_err *e)
{
	enum oci_alg alg;

	if (oci_digest_check(digest, &alg, e) < 0) {
		errno = EINVAL;
		return -1;
	}
	return alg_dir_open(l->dirfd, l->path, alg, 0, e);
}

int
oci_blob_open(struct oci_layout *l, const char *digest, struct oci_err *e)
{
	struct stat st;
	int fd, dir, saved;

	if ((dir = blob_dir(l, digest, e)) < 0) {
		if (errno == ENOENT)
			return oci_fail(e, "blob %s is missing from %s", oci_short(digest), l->path);
		return -1;
	}
	fd = openat(dir, oci_digest_hex(digest), OCI_OPEN_FILE);
	saved = errno;
	close(dir);
	errno = saved;
	if (fd < 0) {
		if (errno == ENOENT)
			return oci_fail(e, "blob %s is missing from %s", oci_short(digest), l->path);
		return oci_fail_errno(e, "blob %s", oci_short(digest));
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oci_fail(e, "blob %s is not a regular file", oci_short(digest));
	}
	fcntl(fd, F_SETFL, 0);	/* blocking reads from here on, as callers expect */
	return fd;
}

int
oci_blob_exists(struct oci_layout *l, const char *digest, int64_t size)
{
	struct oci_err e;
	struct stat st;
	int dir, rc;

	if ((dir = blob_dir(l, digest, &e)) < 0)
		return 0;
	rc = fstatat(dir, oci_digest_hex(digest), &st, AT_SYMLINK_NOFOLLOW);
	close(dir);
	if (rc < 0 || !S_ISREG(st.st_mode))
		return 0;
	return size < 0 || st.st_size == size;
}

int
oci_blob_read(struct oci_layout *l, const char *digest, int64_t size, char **buf,
    size_t *len, struct oci_err *e)
{
	struct oci_hash *h;
	enum oci_alg alg;
	int rc, dir;

	*buf = NULL;
	if (oci_digest_check(digest, &alg, e) < 0)
		return -1;
	if (size > OCI_DOC_MAX)
		return oci_fail(e, "blob %s: %lld bytes is over the %d byte limit for a document",
		    oci_short(digest), (long long)size, OCI_DOC_MAX);
	if ((dir = blob_dir(l, digest, e)) >= 0) {
		rc = oci_read_small(dir, oci_digest_hex(digest), OCI_DOC_MAX, buf, len, e);
		close(dir);
	}
	if (dir < 0 || rc < 0) {
		if (errno == ENOENT)
			return oci_fail(e, "blob %s is missing from %s", oci_short(digest), l->path);
		return dir < 0 ? -1 : oci_context(e, "blob %s", oci_short(digest));
	}
	h = oci_hash_new(alg);
	if (h == NULL) {
		free(*buf);
		*buf = NULL;
		return oci_fail(e, "out of memory");
	}
	oci_hash_update(h, *buf, *len);
	rc = oci_hash_check(h, digest, size, e);
	oci_hash_free(h);
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
		return oci_context(e, "blob %s", oci_short(digest));
	}
	return 0;
}

/* ---- writing blobs ---- */

/* Start writing back every this many bytes, so that commit's fsync has little left to wait for. */
#define WRITEBACK_EVERY (8 * 1024 * 1024)

struct oci_blob_writer {
	struct oci_layout *layout;
	struct oci_hash *hash;
	enum oci_alg alg;
	int fd;
	int dirfd;		/* blobs/<alg> */
	uint64_t written_back;	/* bytes handed to sync_file_range so far */
	char tmp[PATH_MAX];	/* "blobs/sha256/.tmp-…", for messages */
	const char *tmpname;	/* its last component, in dirfd */
	int undo;		/* its oci_undo handle: -1 for a .partial file, which is kept */
};

/* A writer's state, before its file is opened; NULL when out of memory. */
static struct oci_blob_writer *
writer_alloc(struct oci_layout *l, enum oci_alg alg, int dirfd)
{
	struct oci_blob_writer *w = calloc(1, sizeof *w);

	if (w == NULL || (w->hash = oci_hash_new(alg)) == NULL) {
		free(w);
		return NULL;
	}
	w->layout = l;
	w->alg = alg;
	w->dirfd = dirfd;
	w->undo = -1;
	return w;
}

int
oci_blob_writer_new(struct oci_layout *l, enum oci_alg alg, struct oci_blob_writer **out,
    struct oci_err *e)
{
	struct oci_blob_writer *w;
	struct oci_temp t = { .fd = -1, .undo = -1 };
	int dirfd, n;

	*out = NULL;
	if ((dirfd = alg_dir_open(l->dirfd, l->path, alg, 1, e)) < 0)
		return -1;
	if ((w = writer_alloc(l, alg, dirfd)) == NULL) {
		close(dirfd);
		return oci_fail(e, "out of memory");
	}
	/* The temporary file lives beside its final name, so rename is atomic. */
	n = snprintf(w->tmp, sizeof w->tmp, "blobs/%s/", oci_alg_name(alg));
	w->tmpname = w->tmp + n;
	if (oci_temp_new(dirfd, "blob", 0, &t, e) < 0) {
		oci_context(e, "%s/blobs/%s", l->path, oci_alg_name(alg));
		oci_hash_free(w->hash);
		close(dirfd);
		free(w);
		return -1;
	}
	/* The writer renames it itself (oci_blob_writer_commit): a blob may be provisional. */
	snprintf(w->tmp + n, sizeof w->tmp - n, "%s", t.name);	/* NAME_MAX at most: it fits */
	w->fd = t.fd;
	w->undo = t.undo;
	*out = w;
	return 0;
}

int
oci_blob_writer_resume(struct oci_layout *l, const char *digest, int64_t max_size,
    struct oci_blob_writer **out, uint64_t *got, struct oci_err *e)
{
	struct oci_blob_writer *w;
	enum oci_alg alg;
	struct stat st;
	char *buf;
	ssize_t n;
	int dirfd;

	*out = NULL;
	*got = 0;
	if (oci_digest_check(digest, &alg, e) < 0 ||
	    (dirfd = alg_dir_open(l->dirfd, l->path, alg, 1, e)) < 0)
		return -1;
	if ((w = writer_alloc(l, alg, dirfd)) == NULL || (buf = malloc(OCI_IO_CHUNK)) == NULL) {
		if (w)
			oci_hash_free(w->hash);
		free(w);
		close(dirfd);
		return oci_fail(e, "out of memory");
	}
	n = snprintf(w->tmp, sizeof w->tmp, "blobs/%s/", oci_alg_name(alg));
	snprintf(w->tmp + n, sizeof w->tmp - n, ".partial-%s", oci_digest_hex(digest));
	w->tmpname = w->tmp + n;
	w->fd = openat(dirfd, w->tmpname, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	/*
	 * Only a plain file of ours with one name is read on; the lock keeps a
	 * second oci-fetch of the same blob to a temporary file of its own.
	 */
	if (w->fd >= 0 && (fstat(w->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    flock(w->fd, LOCK_EX | LOCK_NB) < 0)) {
		close(w->fd);
		w->fd = -1;
	}
	if (w->fd < 0) {
		free(buf);
		oci_hash_free(w->hash);
		free(w);
		return oci_blob_writer_new(l, alg, out, e);
	}
	if (max_size >= 0 && st.st_size > max_size && ftruncate(w->fd, 0) < 0)
		n = -1;
	else
		while ((n = read(w->fd, buf, OCI_IO_CHUNK)) > 0)
			oci_hash_update(w->hash, buf, n);
	free(buf);
	if (n < 0) {
		oci_fail_errno(e, "%s/%s", l->path, w->tmp);
		oci_blob_writer_abort(w);
		return -1;
	}
	w->written_back = *got = oci_hash_size(w->hash);
	layout_keep(l);		/* the .partial is what a later run resumes from */
	*out = w;
	return 0;
}

int
oci_blob_partial_exists(struct oci_layout *l, const char *digest)
{
	char name[OCI_DIGEST_MAX + 16];
	struct oci_err e;
	struct stat st;
	int dir, rc;

	if ((dir = blob_dir(l, digest, &e)) < 0)
		return 0;
	snprintf(name, sizeof name, ".partial-%s", oci_digest_hex(digest));
	rc = fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
	close(dir);
	return rc;
}

void
oci_blob_writer_suspend(struct oci_blob_writer *w)
{
	if (w == NULL)
		return;
	if (w->undo >= 0) {
		oci_blob_writer_abort(w);
		return;
	}
	close(w->fd);
	close(w->dirfd);
	oci_hash_free(w->hash);
	free(w);
}

int
oci_blob_writer_write(struct oci_blob_writer *w, const void *buf, size_t n, struct oci_err *e)
{
	oci_hash_update(w->hash, buf, n);
	if (oci_write_all(w->fd, buf, n) < 0)
		return oci_fail_errno(e, "write %s/%s", w->layout->path, w->tmp);
	if (oci_hash_size(w->hash) - w->written_back >= WRITEBACK_EVERY) {
		/* Only a hint to the kernel: errors show up at fsync. */
		sync_file_range(w->fd, w->written_back, oci_hash_size(w->hash) - w->written_back,
		    SYNC_FILE_RANGE_WRITE);
		w->written_back = oci_hash_size(w->hash);
	}
	return 0;
}

uint64_t
oci_blob_writer_size(const struct oci_blob_writer *w)
{
	return oci_hash_size(w->hash);
}

int
oci_blob_writer_fd(const struct oci_blob_writer *w)
{
	return w->fd;
}

void
oci_blob_writer_abort(struct oci_blob_writer *w)
{
	if (w == NULL)
		return;
	if (w->fd >= 0)
		close(w->fd);
	unlinkat(w->dirfd, w->tmpname, 0);
	oci_undo_keep(w->undo);
	close(w->dirfd);
	oci_hash_free(w->hash);
	free(w);
}

int
oci_blob_writer_commit(struct oci_blob_writer *w, const char *want_digest, int64_t want_size,
    char out[OCI_DIGEST_MAX], struct oci_err *e)
{
	char got[OCI_DIGEST_MAX], path[PATH_MAX];
	struct stat st;
	sigset_t old;
	int fd, existed;

	if (want_digest && oci_digest_check(want_digest, NULL, e) < 0)
		goto bad;
	if (want_size >= 0 && oci_hash_size(w->hash) != (uint64_t)want_size) {
		oci_fail(e, "size mismatch: expected %lld bytes, got %llu", (long long)want_size,
		    (unsigned long long)oci_hash_size(w->hash));
		goto bad;
	}
	oci_hash_final(w->hash, got);
	if (want_digest && strcmp(want_digest, got) != 0) {
		oci_fail(e, "digest mismatch: expected %s, got %s", want_digest, got);
		goto bad;
	}
	if (fsync(w->fd) < 0) {
		oci_fail_errno(e, "fsync %s/%s", w->layout->path, w->tmp);
		goto bad;
	}
	fd = w->fd;
	w->fd = -1;
	if (close(fd) < 0) {
		oci_fail_errno(e, "close %s/%s", w->layout->path, w->tmp);
		goto bad;
	}
	oci_blob_path(got, path, sizeof path, e);
	/* A new blob of a provisional run, and its undo, come together or not at all. */
	oci_undo_block(&old);
	existed = fstatat(w->dirfd, oci_digest_hex(got), &st, AT_SYMLINK_NOFOLLOW) == 0;
	if (renameat(w->dirfd, w->tmpname, w->dirfd, oci_digest_hex(got)) < 0) {
		oci_fail_errno(e, "rename to %s/%s", w->layout->path, path);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto bad;
	}
	oci_undo_keep(w->undo);
	layout_keep(w->layout);
	if (w->layout->provisional && !existed)
		oci_undo_add(OCI_UNDO_UNLINK, w->dirfd, oci_digest_hex(got));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/* Make the new name itself durable. */
	fsync(w->dirfd);
	close(w->dirfd);
	if (out)
		strcpy(out, got);
	oci_hash_free(w->hash);
	free(w);
	return 0;
bad:
	oci_blob_writer_abort(w);
	return -1;
}

int
oci_blob_put(struct oci_layout *l, const void *buf, size_t n, char out[OCI_DIGEST_MAX],
    struct oci_err *e)
{
	struct oci_blob_writer *w;

	if (oci_blob_writer_new(l, OCI_SHA256, &w, e) < 0 ||
	    oci_blob_writer_write(w, buf, n, e) < 0) {
		oci_blob_writer_abort(w);
		return -1;
	}
	return oci_blob_writer_commit(w, NULL, (int64_t)n, out, e);
}
