/*
 * lib/archive/archive.c — an image archive becomes an image in a layout: reading
 * the tar, its members and their names, taking each file into memory or
 * into a blob, and the OCI layout an oci-archive holds.  What a docker
 * archive's manifest.json says is lib/archive/archive_docker.c's.
 *
 * Two kinds of archive, both a tar (maybe compressed) read in one pass:
 *
 *   docker-archive:FILE[:REF]  what `docker save` and `podman save` write: a
 *       manifest.json naming the config and the layers (uncompressed tars,
 *       or Docker 25's blobs under blobs/sha256/), one entry per image
 *   oci-archive:FILE[:TAG]     an OCI image layout as one tar (skopeo's oci-archive:)
 *
 * A tar can only be read in order, and manifest.json (which says what the
 * files are) usually comes last.  So every file is taken as it comes: small
 * ones (up to OCI_DOC_MAX, at most ARCHIVE_DOCS_MAX in all) are kept in
 * memory; a docker layer is gzip-compressed into a blob while both its tar
 * (its diff_id) and the gzip bytes (its digest) are hashed; an OCI blob is
 * written as it is and checked against its name.  No blob gets its name
 * until the end, when the image has been checked whole: the config's
 * diff_ids against the layers, every blob a manifest names present with its
 * size.  Files that the image does not use are thrown away.  Archive names
 * are only keys: nothing is ever created by a name from the archive
 * (lib/archive/archive_member.c makes them plain and finds a member by its name).
 */
#define _GNU_SOURCE	/* asprintf, strndup */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <isa-l/igzip_lib.h>

#include "archive_reader.h"

#define ARCHIVE_DOCS_MAX (64 * 1024 * 1024)	/* documents kept in memory, in all */
#define ARCHIVE_FILES_MAX 4096			/* files of an archive we keep track of */

int
oci_archive_parse(const char *arg, struct oci_archive_ref *a, struct oci_err *e)
{
	const char *rest, *colon;

	memset(a, 0, sizeof *a);
	if (strncmp(arg, "docker-archive:", 15) == 0) {
		a->kind = OCI_ARCHIVE_DOCKER;
		rest = arg + 15;
	} else if (strncmp(arg, "oci-archive:", 12) == 0) {
		a->kind = OCI_ARCHIVE_OCI;
		rest = arg + 12;
	} else {
		return 0;
	}
	/* As skopeo reads it: the file name ends at the first ':'. */
	colon = strchr(rest, ':');
	a->file = colon ? strndup(rest, colon - rest) : strdup(rest);
	a->ref = colon && colon[1] ? strdup(colon + 1) : NULL;
	if (a->file == NULL || (colon && colon[1] && a->ref == NULL)) {
		oci_archive_ref_free(a);
		return oci_fail(e, "out of memory");
	}
	if (a->file[0] == '\0') {
		oci_archive_ref_free(a);
		return oci_fail(e, "%s: no file name", arg);
	}
	return 1;
}

void
oci_archive_ref_free(struct oci_archive_ref *a)
{
	free(a->file);
	free(a->ref);
	a->file = a->ref = NULL;
}

/* ---- taking the files as they come ---- */

static struct member *
add(struct reader *r, char *name, struct oci_err *e)
{
	struct member *m;
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->m[i].name, name) == 0) {
			oci_fail(e, "archive member \"%s\" appears twice", oci_printable(name));
			free(name);
			return NULL;
		}
	if (r->n == ARCHIVE_FILES_MAX) {
		oci_fail(e, "more than %d files in the archive", ARCHIVE_FILES_MAX);
		free(name);
		return NULL;
	}
	if ((m = realloc(r->m, (r->n + 1) * sizeof *m)) == NULL) {
		free(name);
		oci_fail(e, "out of memory");
		return NULL;
	}
	r->m = m;
	m = &r->m[r->n++];
	memset(m, 0, sizeof *m);
	m->name = name;
	return m;
}

/* "blobs/sha256/<hex>": the digest it names, checked; else "". */
static void
blob_name(const char *name, char digest[OCI_DIGEST_MAX])
{
	struct oci_err ignored;
	const char *alg;

	digest[0] = '\0';
	if (strncmp(name, "blobs/", 6) != 0 || (alg = strchr(name + 6, '/')) == NULL ||
	    (size_t)(alg - name - 6) > 16)
		return;
	snprintf(digest, OCI_DIGEST_MAX, "%.*s:%s", (int)(alg - name - 6), name + 6, alg + 1);
	if (oci_digest_check(digest, NULL, &ignored) < 0)
		digest[0] = '\0';
}

/*
 * A gzip stream into a blob writer, hashed on the way (the blob's digest).
 * ISA-L's igzip at level 1, as fast as the tar comes; its gzip header has no
 * time and no name, so the same tar always makes the same blob.
 */
struct gz {
	struct isal_zstream z;
	unsigned char out[OCI_IO_CHUNK];
	unsigned char *level_buf;
	struct oci_blob_writer *w;
	struct oci_hash *h;
};

static int
gz_open(struct gz *g, struct oci_blob_writer *w)
{
	isal_deflate_init(&g->z);
	g->z.gzip_flag = IGZIP_GZIP;
	g->z.level = 1;
	g->z.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
	g->z.level_buf = g->level_buf = malloc(ISAL_DEF_LVL1_DEFAULT);
	g->h = oci_hash_new(OCI_SHA256);
	g->w = w;
	return g->level_buf && g->h ? 0 : -1;
}

static int
gz_put(struct gz *g, const void *buf, size_t n, int last, struct oci_err *e)
{
	size_t made;

	g->z.next_in = (uint8_t *)buf;
	g->z.avail_in = (uint32_t)n;
	g->z.end_of_stream = (uint16_t)last;
	do {
		g->z.next_out = g->out;
		g->z.avail_out = sizeof g->out;
		if (isal_deflate(&g->z) != COMP_OK)
			return oci_fail(e, "gzip: deflate failed");
		made = sizeof g->out - g->z.avail_out;
		oci_hash_update(g->h, g->out, made);
		if (made > 0 && oci_blob_writer_write(g->w, g->out, made, e) < 0)
			return -1;
	} while (g->z.avail_in > 0 || g->z.avail_out == 0 ||
	    (last && g->z.internal_state.state != ZSTATE_END));
	return 0;
}

/* Read up to cap bytes of the current member into buf; the count, or -1. */
static ssize_t
read_full(struct archive *a, void *buf, size_t cap)
{
	size_t got = 0;
	la_ssize_t k;

	while (got < cap && (k = archive_read_data(a, (char *)buf + got, cap - got)) > 0)
		got += (size_t)k;
	return k < 0 ? -1 : (ssize_t)got;
}

/* What take_file carries from one step to the next. */
struct intake {
	unsigned char *buf;		/* OCI_IO_CHUNK bytes: the first chunk, then each next one */
	ssize_t k;			/* bytes in buf */
	struct oci_hash *raw;		/* of the bytes as the archive has them */
	struct gz *g;			/* a docker layer's gzip stream, or NULL */
	char named[OCI_DIGEST_MAX];	/* the digest a blobs/<alg>/<hex> name says, or "" */
	enum oci_alg alg;		/* its algorithm (sha256 when there is none) */
};

static void
intake_free(struct intake *in)
{
	if (in->g) {
		oci_hash_free(in->g->h);
		free(in->g->level_buf);
		free(in->g);
	}
	oci_hash_free(in->raw);
	free(in->buf);
}

static int
bad_read(struct archive *a, const struct member *m, struct oci_err *e)
{
	return oci_fail(e, "archive member %s: %s", oci_printable(m->name), archive_error_string(a));
}

/* What the first chunk says: a tar (in a docker archive, a layer), and how it is compressed. */
static int
sniff(const struct reader *r, struct member *m, const struct intake *in, struct oci_err *e)
{
	const unsigned char *buf = in->buf;
	ssize_t k = in->k;

	/* tar's magic "ustar" at offset 257 (POSIX and GNU alike) */
	m->layer = r->kind == OCI_ARCHIVE_DOCKER && k >= 263 && memcmp(buf + 257, "ustar", 5) == 0;
	m->comp = k >= 4 && memcmp(buf, "\x1f\x8b", 2) == 0 ? OCI_COMP_GZIP :
	    k >= 4 && memcmp(buf, "\x28\xb5\x2f\xfd", 4) == 0 ? OCI_COMP_ZSTD : OCI_COMP_NONE;
	/* Docker 25 and later may keep a layer compressed, as an OCI blob; classic layers are plain tars. */
	if (r->kind == OCI_ARCHIVE_DOCKER && m->comp != OCI_COMP_NONE && !in->named[0])
		return oci_fail(e, "archive member %s: compressed; docker save writes each layer as a plain tar",
		    oci_printable(m->name));
	return 0;
}

/* A small file, size bytes, kept in memory (NUL-terminated); the first chunk is in in->buf. */
static int
keep_doc(struct reader *r, struct archive *a, struct member *m, const struct intake *in,
    size_t size, struct oci_err *e)
{
	ssize_t k;

	if ((m->mem = malloc(size + 1)) == NULL)
		return oci_fail(e, "out of memory");
	memcpy(m->mem, in->buf, (size_t)in->k);
	m->len = (size_t)in->k;
	if (m->len < size) {
		if ((k = read_full(a, m->mem + m->len, size - m->len)) < 0)
			return bad_read(a, m, e);
		m->len += (size_t)k;
	}
	m->mem[m->len] = '\0';
	r->docs += m->len;
	return 0;
}

/* The rest of a file into its blob (gzipped when it is a docker layer), hashed on the way. */
static int
stream(struct archive *a, struct member *m, struct intake *in, struct oci_err *e)
{
	/* the first chunk is in buf already */
	while (in->k > 0) {
		oci_hash_update(in->raw, in->buf, (size_t)in->k);
		m->size += (uint64_t)in->k;
		if (m->layer ? gz_put(in->g, in->buf, (size_t)in->k, 0, e) < 0 :
		    oci_blob_writer_write(m->w, in->buf, (size_t)in->k, e) < 0)
			return -1;
		if ((in->k = read_full(a, in->buf, OCI_IO_CHUNK)) < 0)
			return bad_read(a, m, e);
	}
	return 0;
}

/* The digests: the blob's, and a docker layer's diff_id; a blobs/<alg>/<hex> name must match. */
static int
seal(struct member *m, struct intake *in, struct oci_err *e)
{
	oci_hash_final(in->raw, m->layer ? m->diff_id : m->digest);
	if (m->layer) {
		if (gz_put(in->g, NULL, 0, 1, e) < 0)
			return -1;
		oci_hash_final(in->g->h, m->digest);
		m->size = oci_hash_size(in->g->h);	/* isal's total_out is 32 bits */
	}
	if (in->named[0] && strcmp(in->named, m->layer ? m->diff_id : m->digest) != 0)
		return oci_fail(e, "archive member %s: its bytes are %s", oci_printable(m->name),
		    m->layer ? m->diff_id : m->digest);
	return 0;
}

/* A file that gets a blob: a kept document written out whole, any other streamed. */
static int
store(struct reader *r, struct archive *a, struct member *m, struct intake *in, int keep,
    struct oci_err *e)
{
	if (!keep || in->named[0] || r->kind == OCI_ARCHIVE_OCI)
		if (oci_blob_writer_new(r->l, m->layer ? OCI_SHA256 : in->alg, &m->w, e) < 0)
			return -1;
	if (m->layer && ((in->g = calloc(1, sizeof *in->g)) == NULL || gz_open(in->g, m->w) < 0))
		return oci_fail(e, "out of memory");
	if (keep) {
		oci_hash_update(in->raw, m->mem, m->len);
		m->size = m->len;
		if (m->w && oci_blob_writer_write(m->w, m->mem, m->len, e) < 0)
			return -1;
	} else if (stream(a, m, in, e) < 0) {
		return -1;
	}
	return seal(m, in, e);
}

/*
 * A regular file.  A docker layer (in a docker archive, a file that is a
 * tar) is gzipped into a blob; another OCI blob is stored as it is; a small
 * file is kept in memory (and stored too when it is an OCI blob); anything
 * else is read past.  A blobs/<alg>/<hex> name must be what its bytes hash to.
 */
static int
take_file(struct reader *r, struct archive *a, struct member *m, int64_t size,
    struct oci_err *e)
{
	struct intake in = { .alg = OCI_SHA256 };
	int rc = -1, keep;

	blob_name(m->name, in.named);
	if (in.named[0])
		oci_digest_check(in.named, &in.alg, e);	/* checked by blob_name */
	if ((in.buf = malloc(OCI_IO_CHUNK)) == NULL || (in.raw = oci_hash_new(in.alg)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if ((in.k = read_full(a, in.buf, OCI_IO_CHUNK)) < 0) {
		bad_read(a, m, e);
		goto out;
	}
	if (sniff(r, m, &in, e) < 0)
		goto out;
	keep = !m->layer && size >= 0 && size <= OCI_DOC_MAX && r->docs + (size_t)size <= ARCHIVE_DOCS_MAX;
	if (keep && keep_doc(r, a, m, &in, (size_t)size, e) < 0)
		goto out;
	if (!keep && !m->layer && !in.named[0] && r->kind == OCI_ARCHIVE_DOCKER)
		rc = 0;	/* not a layer, too big for a document: read past it */
	else
		rc = store(r, a, m, &in, keep, e);
out:
	intake_free(&in);
	return rc;
}

static int
take(struct reader *r, struct archive *a, struct archive_entry *ent, struct oci_err *e)
{
	const char *raw = archive_entry_pathname(ent), *target;
	struct member *m;
	char *name;

	if (raw == NULL)
		return oci_fail(e, "an archive member without a name");
	if ((name = oci_archive_clean_name(raw, e)) == NULL)
		return -1;
	if (archive_entry_filetype(ent) == AE_IFDIR || name[0] == '\0') {
		free(name);
		return 0;
	}
	if ((m = add(r, name, e)) == NULL)
		return -1;
	if ((target = archive_entry_hardlink(ent))) {
		/* a hard link names another member from the top */
		if ((m->link = oci_archive_clean_name(target, e)) == NULL)
			return -1;
		return 0;
	}
	switch (archive_entry_filetype(ent)) {
	case AE_IFLNK:
		if ((target = archive_entry_symlink(ent)) == NULL)
			return oci_fail(e, "archive member %s: a symlink without a target",
			    oci_printable(m->name));
		m->link = oci_archive_link_target(m->name, target, e);
		return m->link ? 0 : -1;
	case AE_IFREG:
		return take_file(r, a, m, archive_entry_size(ent), e);
	default:
		return oci_fail(e, "archive member %s: not a file, a directory or a link",
		    oci_printable(m->name));
	}
}

static void
reader_free(struct reader *r)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		free(r->m[i].name);
		free(r->m[i].link);
		free(r->m[i].mem);
		oci_blob_writer_abort(r->m[i].w);
	}
	free(r->m);
}

/* ---- oci-archive ---- */

/* A blob the image uses: present, with the size its descriptor says; marked used. */
static struct member *
use_blob(struct reader *r, const json_t *desc, struct oci_err *e)
{
	struct oci_desc d;
	struct member *m;
	char name[OCI_DIGEST_MAX + 8];

	if (oci_desc_parse(desc, &d, e) < 0)
		return NULL;
	snprintf(name, sizeof name, "blobs/%.*s/%s", (int)strcspn(d.digest, ":"), d.digest,
	    oci_digest_hex(d.digest));
	if ((m = oci_archive_find(r, name)) == NULL || m->w == NULL) {
		oci_fail(e, "%s %s is not in the archive", oci_media_short(d.media_type), d.digest);
		return NULL;
	}
	if (d.size >= 0 && m->size != (uint64_t)d.size) {
		oci_fail(e, "%s %s: %llu bytes, but its descriptor says %lld", oci_media_short(d.media_type),
		    d.digest, (unsigned long long)m->size, (long long)d.size);
		return NULL;
	}
	m->used = 1;
	return m;
}

/*
 * Mark what desc needs (through indexes: every platform with all, else the
 * platform's).  *top gets a copy of the descriptor the tag will name;
 * manifests gets each manifest, for the diff_id check.
 */
static int
use_image(struct reader *r, const json_t *desc, const struct oci_platform *platform, int all,
    int depth, json_t **top, json_t *manifests, struct oci_err *e)
{
	struct oci_platform host;
	struct member *m;
	json_t *doc = NULL, *v;
	enum oci_kind kind;
	size_t i;
	int rc = -1;

	if (depth > 8)
		return oci_fail(e, "indexes nested too deep");
	if ((m = use_blob(r, desc, e)) == NULL)
		return -1;
	if (m->mem == NULL)
		return oci_fail(e, "document %s: larger than %d bytes", m->digest, OCI_DOC_MAX);
	if (oci_doc_parse(m->mem, m->len, json_string_value(json_object_get(desc, "mediaType")),
	    &doc, &kind, e) < 0)
		return -1;
	if (kind == OCI_KIND_INDEX && !all) {
		if (platform == NULL)
			oci_platform_host(&host);
		if ((v = (json_t *)oci_platform_pick(doc, platform ? platform : &host, e)) == NULL)
			goto out;
		m->used = 0;	/* only the platform's manifest is kept */
		rc = use_image(r, v, platform, all, depth + 1, top, manifests, e);
		goto out;
	}
	if (kind == OCI_KIND_INDEX) {
		json_array_foreach(json_object_get(doc, "manifests"), i, v)
			if (use_image(r, v, platform, all, depth + 1, top, manifests, e) < 0)
				goto out;
	} else {
		if (use_blob(r, json_object_get(doc, "config"), e) == NULL)
			goto out;
		json_array_foreach(json_object_get(doc, "layers"), i, v)
			if (use_blob(r, v, e) == NULL)
				goto out;
		if (json_array_append(manifests, doc) < 0) {
			oci_fail(e, "out of memory");
			goto out;
		}
	}
	json_decref(*top);
	if ((*top = json_deep_copy(desc)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/*
 * image-spec config.md: the config's rootfs.diff_ids are the digests of the
 * layers' tars, in order.  A compressed layer must be inflated to learn
 * that, so this is done once the blobs have their names; a mismatch stops
 * before index.json names the image.
 */
static int
check_diff_ids(struct reader *r, const json_t *manifest, struct oci_err *e)
{
	struct oci_desc cd, ld;
	struct member *cm;
	json_t *config = NULL, *v;
	const json_t *diff_ids;
	char got[OCI_DIGEST_MAX], name[OCI_DIGEST_MAX + 16];
	const char *want;
	size_t i;
	int rc = -1;

	if (oci_desc_parse(json_object_get(manifest, "config"), &cd, e) < 0)
		return -1;
	snprintf(name, sizeof name, "blobs/%.*s/%s", (int)strcspn(cd.digest, ":"), cd.digest,
	    oci_digest_hex(cd.digest));
	if ((cm = oci_archive_find(r, name)) == NULL || cm->mem == NULL) {
		oci_fail(e, "config %s: not JSON of at most %d bytes", cd.digest, OCI_DOC_MAX);
		goto out;
	}
	if ((config = oci_config_parse(cm->mem, cm->len, oci_short(cd.digest), e)) == NULL)
		goto out;
	diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (json_array_size(diff_ids) != json_array_size(json_object_get(manifest, "layers"))) {
		oci_fail(e, "config %s has %zu diff_ids for %zu layers", oci_short(cd.digest),
		    json_array_size(diff_ids), json_array_size(json_object_get(manifest, "layers")));
		goto out;
	}
	json_array_foreach(json_object_get(manifest, "layers"), i, v) {
		want = json_string_value(json_array_get(diff_ids, i));
		if (oci_desc_parse(v, &ld, e) < 0 || oci_layer_diff_id(r->l, ld.digest, got, e) < 0)
			goto out;
		if (want == NULL || strcmp(want, got) != 0) {
			oci_fail(e, "layer %s: its diff_id is %s, but the config says %s",
			    ld.digest, got, want ? oci_printable(want) : "nothing");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(config);
	return rc;
}

static int
oci_image(struct reader *r, const char *tag, const struct oci_platform *platform, int all,
    json_t **stored, char **reftag, struct oci_err *e)
{
	struct member *im = oci_archive_find(r, "index.json"), *lm = oci_archive_find(r, "oci-layout");
	struct oci_ref ref = { 0 };
	json_t *index = NULL, *desc = NULL, *top = NULL, *manifests, *v;
	size_t i;
	int rc = -1;

	if (im == NULL || im->mem == NULL || lm == NULL || lm->mem == NULL)
		return oci_fail(e, "no index.json and oci-layout in the archive: not an OCI layout");
	if ((manifests = json_array()) == NULL)
		return oci_fail(e, "out of memory");
	if ((index = json_loadb(im->mem, im->len, 0, NULL)) == NULL ||
	    !json_is_array(json_object_get(index, "manifests"))) {
		oci_fail(e, "index.json: not an image index");
		goto out;
	}
	ref.tag = (char *)tag;
	if (oci_index_find(index, &ref, &desc, e) < 0)
		goto out;
	if (oci_desc_tag(desc) && (*reftag = strdup(oci_desc_tag(desc))) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (use_image(r, desc, platform, all, 0, &top, manifests, e) < 0 ||
	    oci_archive_commit_used(r, e) < 0)
		goto out;
	json_array_foreach(manifests, i, v)
		if (check_diff_ids(r, v, e) < 0)
			goto out;
	oci_say("%zu manifests: every blob matches its name, every layer its diff_id",
	    json_array_size(manifests));
	json_object_del(top, "annotations");
	*stored = top;
	top = NULL;
	rc = 0;
out:
	json_decref(top);
	json_decref(manifests);
	json_decref(desc);
	json_decref(index);
	return rc;
}

/* ---- the whole import ---- */

/* Open file and take every member, in one pass; *fd is the caller's to close. */
static int
read_members(struct reader *r, struct archive *a, const char *file, int *fd, struct oci_err *e)
{
	struct archive_entry *ent;
	int k;

	archive_read_support_format_tar(a);
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_xz(a);
	if ((*fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "open");
	if (archive_read_open_fd(a, *fd, 256 * 1024) != ARCHIVE_OK)
		return oci_fail(e, "%s", archive_error_string(a));
	while ((k = archive_read_next_header(a, &ent)) == ARCHIVE_OK)
		if (take(r, a, ent, e) < 0)
			return -1;
	if (k != ARCHIVE_EOF)
		return oci_fail(e, "%s", archive_error_string(a));
	return 0;
}

int
oci_archive_import(const struct oci_archive_ref *ar, struct oci_layout *l, const char *tag,
    const struct oci_platform *platform, int all, json_t **stored, struct oci_err *e)
{
	struct reader r = { ar->kind, l, NULL, 0, 0 };
	struct archive *a = archive_read_new();
	char *found_tag = NULL, *colon;
	const char *t;
	int fd = -1, rc = -1;

	*stored = NULL;
	if (a == NULL)
		return oci_fail(e, "out of memory");
	if (read_members(&r, a, ar->file, &fd, e) < 0)
		goto out;
	oci_say("%s: %zu files read, %zu bytes of documents kept", ar->file, r.n, r.docs);
	if (ar->kind == OCI_ARCHIVE_DOCKER)
		rc = oci_archive_docker_image(&r, ar->ref, stored, &found_tag, e);
	else
		rc = oci_image(&r, ar->ref, platform, all, stored, &found_tag, e);
	if (rc < 0)
		goto out;
	/*
	 * The tag: the one asked for, else the archive's own: a RepoTag's or a
	 * full reference's tag part ("localhost/app:1" is tagged 1).
	 */
	t = tag;
	if (t == NULL && found_tag) {
		colon = strrchr(found_tag, ':');
		t = colon && !strchr(colon, '/') ? colon + 1 : !strchr(found_tag, '/') ? found_tag : NULL;
	}
	if (t && *stored && (rc = oci_layout_tag(l, t, *stored, e)) == 0)
		json_object_set_new(*stored, "annotations",
		    json_pack("{ss}", "org.opencontainers.image.ref.name", t));
out:
	if (rc < 0) {
		json_decref(*stored);
		*stored = NULL;
	}
	free(found_tag);
	reader_free(&r);
	archive_read_free(a);
	if (fd >= 0)
		close(fd);
	return rc < 0 ? oci_context(e, "%s", ar->file) : 0;
}
