/*
 * lib/archive/archive_write.c — an image in a layout becomes an archive.
 *
 *   oci-archive:FILE[:TAG]     the layout's own shape in one tar: oci-layout,
 *                              index.json (the image, tagged TAG), blobs/sha256/…
 *   docker-archive:FILE[:REF]  Docker's classic `docker save` layout, which
 *                              `docker load` and `podman load` read:
 *       <config hex>.json      the config, byte for byte
 *       <diff_id hex>.tar      each layer, uncompressed: its digest is its diff_id
 *       manifest.json          [{"Config":…,"RepoTags":[REF],"Layers":[…]}]
 *
 * Every byte is checked on its way out: a blob against its digest, an
 * uncompressed layer against the config's diff_id.  A tar entry's header
 * comes before its bytes and must say how many there are, so a compressed
 * layer is inflated (by lib/layer/decompress.c, as oci-untar reads it) into a
 * scratch file first (put_layer).  The archive is
 * written to a temporary file beside FILE and renamed only when it is
 * complete.
 */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "archive.h"

struct out {
	struct archive *a;
	struct oci_temp t;	/* the archive under its temporary name until whole */
	const char *tmp;	/* the temporary file's path (t.name) once made, else NULL */
	int fd;
	unsigned char *buf;
};

static int
la_fail(struct out *o, struct oci_err *e)
{
	return oci_fail(e, "%s", archive_error_string(o->a) ? archive_error_string(o->a) : "write failed");
}

/* A header for a file (or, with size < 0, a directory). */
static int
header(struct out *o, const char *name, int64_t size, struct oci_err *e)
{
	struct archive_entry *ent = archive_entry_new();
	int rc;

	if (ent == NULL)
		return oci_fail(e, "out of memory");
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, size < 0 ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(ent, size < 0 ? 0755 : 0644);
	archive_entry_set_size(ent, size < 0 ? 0 : size);
	rc = archive_write_header(o->a, ent);
	archive_entry_free(ent);
	return rc == ARCHIVE_OK ? 0 : la_fail(o, e);
}

static int
put_mem(struct out *o, const char *name, const char *buf, size_t len, struct oci_err *e)
{
	if (header(o, name, (int64_t)len, e) < 0)
		return -1;
	if (len > 0 && archive_write_data(o->a, buf, len) != (la_ssize_t)len)
		return la_fail(o, e);
	return 0;
}

/* A blob as it is, checked against its digest on the way. */
static int
put_blob(struct out *o, struct oci_layout *l, const char *name, const json_t *desc,
    struct oci_err *e)
{
	struct oci_desc d;
	struct oci_hash *h = NULL;
	enum oci_alg alg;
	ssize_t k;
	int fd, rc = -1;

	if (oci_desc_parse(desc, &d, e) < 0 || oci_digest_check(d.digest, &alg, e) < 0)
		return -1;
	if ((fd = oci_blob_open(l, d.digest, e)) < 0)
		return oci_context(e, "blob %s", oci_short(d.digest));
	if ((h = oci_hash_new(alg)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (header(o, name, d.size, e) < 0)
		goto out;
	while ((k = read(fd, o->buf, OCI_IO_CHUNK)) > 0) {
		oci_hash_update(h, o->buf, (size_t)k);
		if (oci_hash_size(h) > (uint64_t)d.size)
			break;
		if (archive_write_data(o->a, o->buf, (size_t)k) != k) {
			la_fail(o, e);
			goto out;
		}
	}
	if (k < 0) {
		oci_fail_errno(e, "blob %s: read", oci_short(d.digest));
		goto out;
	}
	rc = oci_hash_check(h, d.digest, d.size, e);
	if (rc < 0)
		oci_context(e, "blob %s", oci_short(d.digest));
out:
	oci_hash_free(h);
	close(fd);
	return rc;
}

/* ---- a layer, uncompressed ---- */

/* Where a layer's tar goes as lib/layer/decompress.c inflates it: hashed, and copied to fd unless -1. */
struct tar_sink {
	struct oci_hash *h;
	int fd;
	const char *path;	/* fd's, for a message */
};

static int
tar_chunk(void *arg, const void *buf, size_t n, struct oci_err *e)
{
	struct tar_sink *s = arg;

	oci_hash_update(s->h, buf, n);
	if (s->fd >= 0 && oci_write_all(s->fd, buf, n) < 0)
		return oci_fail_errno(e, "%s", s->path);
	return 0;
}

/* The tar inside layer blob digest of l (tar, gzip or zstd, as oci-untar reads it) into s. */
static int
inflate_layer(struct oci_layout *l, const char *digest, struct tar_sink *s, struct oci_err *e)
{
	int fd, rc;

	if ((fd = oci_blob_open(l, digest, e)) < 0)
		return -1;
	rc = oci_layer_inflate(fd, tar_chunk, s, e);
	close(fd);
	return rc < 0 ? oci_context(e, "layer %s", oci_short(digest)) : 0;
}

/*
 * A layer's tar into the archive.  Its header must say its size before the
 * bytes come, and a compressed blob does not say it: the tar is inflated
 * once into a scratch file beside the archive (one layer at a time,
 * unlinked at once) while its diff_id is checked against want, then copied
 * in.
 */
static int
put_layer(struct out *o, struct oci_layout *l, const char *digest, const char *want,
    const char *name, uint64_t *size, struct oci_err *e)
{
	struct tar_sink s = { oci_hash_new(OCI_SHA256), -1, NULL };
	ssize_t n;
	int rc = -1;
	char *path = NULL;

	if (s.h == NULL || asprintf(&path, "%s-layer", o->tmp) < 0) {
		path = NULL;
		oci_fail(e, "out of memory");
		goto out;
	}
	if ((s.fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		oci_fail_errno(e, "%s", path);
		goto out;
	}
	unlink(path);
	s.path = path;
	if (inflate_layer(l, digest, &s, e) < 0)
		goto out;
	*size = oci_hash_size(s.h);
	if (oci_hash_check(s.h, want, (int64_t)*size, e) < 0) {
		oci_context(e, "layer %s: the diff_id of its tar", oci_short(digest));
		goto out;
	}
	if (header(o, name, (int64_t)*size, e) < 0 || lseek(s.fd, 0, SEEK_SET) < 0)
		goto out;
	while ((n = read(s.fd, o->buf, OCI_IO_CHUNK)) > 0)
		if (archive_write_data(o->a, o->buf, (size_t)n) != n) {
			la_fail(o, e);
			goto out;
		}
	rc = n == 0 ? 0 : oci_fail_errno(e, "%s", path);
out:
	if (s.fd >= 0)
		close(s.fd);
	free(path);
	oci_hash_free(s.h);
	return rc;
}

int
oci_layer_diff_id(struct oci_layout *l, const char *digest, char out[OCI_DIGEST_MAX],
    struct oci_err *e)
{
	struct tar_sink s = { oci_hash_new(OCI_SHA256), -1, NULL };
	int rc = -1;

	if (s.h == NULL)
		oci_fail(e, "out of memory");
	else if ((rc = inflate_layer(l, digest, &s, e)) == 0)
		oci_hash_final(s.h, out);
	oci_hash_free(s.h);
	return rc;
}

/* ---- the two kinds ---- */

static int
write_oci(struct out *o, struct oci_layout *l, const json_t *blobs, const json_t *manifests,
    const json_t *top, const char *tag, struct oci_err *e)
{
	static const char layout_doc[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
	struct oci_desc d;
	json_t *index = NULL, *desc = NULL, *done = json_object();
	const json_t *v;
	char *buf = NULL, name[OCI_DIGEST_MAX + 16];
	size_t i;
	int rc = -1, pass;

	if (oci_desc_parse(top, &d, e) < 0)
		goto out;
	desc = oci_desc_new(d.media_type, d.digest, (uint64_t)d.size);
	if (tag)
		json_object_set_new(desc, "annotations",
		    json_pack("{ss}", "org.opencontainers.image.ref.name", tag));
	index = json_pack("{si ss s[O]}", "schemaVersion", 2, "mediaType", OCI_MT_INDEX,
	    "manifests", desc);
	if (done == NULL || index == NULL || (buf = json_dumps(index, JSON_COMPACT)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (put_mem(o, "oci-layout", layout_doc, strlen(layout_doc), e) < 0 ||
	    put_mem(o, "index.json", buf, strlen(buf), e) < 0 ||
	    header(o, "blobs", -1, e) < 0 || header(o, "blobs/sha256", -1, e) < 0)
		goto out;
	for (pass = 0; pass < 2; pass++) {
		json_array_foreach(pass ? manifests : blobs, i, v) {
			if (oci_desc_parse(v, &d, e) < 0)
				goto out;
			if (json_object_get(done, d.digest))
				continue;
			json_object_set_new(done, d.digest, json_true());
			snprintf(name, sizeof name, "blobs/%.*s/%s", (int)strcspn(d.digest, ":"),
			    d.digest, oci_digest_hex(d.digest));
			if (put_blob(o, l, name, v, e) < 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	json_decref(index);
	json_decref(desc);
	json_decref(done);
	return rc;
}

static int
write_docker(struct out *o, struct oci_layout *l, const json_t *top, const char *ref,
    struct oci_err *e)
{
	struct oci_desc md, cd, ld;
	char *mbuf = NULL, *cbuf = NULL, *text = NULL, name[160];
	size_t mlen, clen, i;
	json_t *manifest = NULL, *config = NULL, *layers = json_array(), *v, *image = NULL, *list = NULL;
	const json_t *diff_ids;
	enum oci_kind kind;
	uint64_t size;
	int rc = -1;

	if (layers == NULL)
		return oci_fail(e, "out of memory");
	if (oci_desc_parse(top, &md, e) < 0 ||
	    oci_blob_read(l, md.digest, md.size, &mbuf, &mlen, e) < 0 ||
	    oci_doc_parse(mbuf, mlen, md.media_type, &manifest, &kind, e) < 0)
		goto out;
	if (kind != OCI_KIND_MANIFEST) {
		oci_fail(e, "a docker archive holds one image's manifest (the platform's, not an index)");
		goto out;
	}
	if (oci_desc_parse(json_object_get(manifest, "config"), &cd, e) < 0 ||
	    oci_blob_read(l, cd.digest, cd.size, &cbuf, &clen, e) < 0)
		goto out;
	if ((config = oci_config_parse(cbuf, clen, oci_short(cd.digest), e)) == NULL)
		goto out;
	diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids");
	if (!json_is_array(diff_ids) ||
	    json_array_size(diff_ids) != json_array_size(json_object_get(manifest, "layers"))) {
		oci_fail(e, "config %s: no rootfs.diff_ids, one per layer", oci_short(cd.digest));
		goto out;
	}
	snprintf(name, sizeof name, "%s.json", oci_digest_hex(cd.digest));
	if (put_mem(o, name, cbuf, clen, e) < 0)
		goto out;
	json_array_foreach(json_object_get(manifest, "layers"), i, v) {
		const char *diff_id = json_string_value(json_array_get(diff_ids, i));
		size_t j;
		if (oci_desc_parse(v, &ld, e) < 0)
			goto out;
		if (diff_id == NULL || oci_digest_check(diff_id, NULL, e) < 0) {
			oci_fail(e, "config %s: diff_id %zu is not a digest", oci_short(cd.digest), i + 1);
			goto out;
		}
		snprintf(name, sizeof name, "%s.tar", oci_digest_hex(diff_id));
		for (j = 0; j < i && strcmp(json_string_value(json_array_get(diff_ids, j)), diff_id) != 0; j++)
			;
		if (j == i) {	/* the same layer twice is written once */
			if (put_layer(o, l, ld.digest, diff_id, name, &size, e) < 0)
				goto out;
			oci_say("layer %s → %s (%s, diff_id checked)", oci_short(ld.digest), name,
			    oci_human_size(size));
		}
		if (json_array_append_new(layers, json_string(name)) < 0)
			goto oom;
	}
	snprintf(name, sizeof name, "%s.json", oci_digest_hex(cd.digest));
	image = json_pack("{ss s[] sO}", "Config", name, "RepoTags", "Layers", layers);
	if (image == NULL || (ref && json_array_append_new(json_object_get(image, "RepoTags"),
	    json_string(ref)) < 0))
		goto oom;
	if ((list = json_pack("[O]", image)) == NULL || (text = json_dumps(list, JSON_COMPACT)) == NULL)
		goto oom;
	if (put_mem(o, "manifest.json", text, strlen(text), e) < 0)
		goto out;
	rc = 0;
	goto out;
oom:
	oci_fail(e, "out of memory");
out:
	free(text);
	json_decref(list);
	json_decref(image);
	json_decref(layers);
	json_decref(config);
	json_decref(manifest);
	free(cbuf);
	free(mbuf);
	return rc;
}

/* A docker archive's REF as a RepoTag: a name and a tag (":latest" when it has none). */
static char *
repo_tag(const char *ref, struct oci_err *e)
{
	struct oci_source s;
	char *out = NULL;
	const char *slash = strrchr(ref, '/'), *colon;

	if (oci_source_parse(ref, &s, e) < 0)
		return NULL;
	colon = strchr(slash ? slash : ref, ':');
	if (s.digest)
		oci_fail(e, "%s: a RepoTag has a tag, not a digest", ref);
	else if (asprintf(&out, "%s%s", ref, colon ? "" : ":latest") < 0)
		out = NULL;
	oci_source_free(&s);
	return out;
}

int
oci_archive_export(struct oci_layout *l, const json_t *desc, const char *tag,
    const struct oci_archive_ref *ar, const struct oci_push_opts *po, json_t **written,
    struct oci_err *e)
{
	struct out o = { .fd = -1 };
	struct oci_push_opts docker_po;
	json_t *blobs = json_array(), *manifests = json_array();
	const json_t *top = NULL;
	char *rtag = NULL;
	int rc = -1;

	*written = NULL;
	if (ar->kind == OCI_ARCHIVE_DOCKER) {
		/* one image: an index is followed to the platform's manifest */
		docker_po = *po;
		docker_po.all = 0;
		po = &docker_po;
		if (ar->ref && (rtag = repo_tag(ar->ref, e)) == NULL)
			goto out;
	}
	if (blobs == NULL || manifests == NULL || (o.buf = malloc(OCI_IO_CHUNK)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (oci_push_plan(l, desc, po, blobs, manifests, &top, e) < 0)
		goto out;
	/* Beside FILE, so that the rename is atomic; an interrupted run removes it (oci_undo). */
	if (oci_temp_new(AT_FDCWD, ar->file, 0, &o.t, e) < 0)
		goto out;
	o.tmp = o.t.name;
	o.fd = o.t.fd;
	if ((o.a = archive_write_new()) == NULL ||
	    archive_write_set_format_pax_restricted(o.a) != ARCHIVE_OK ||
	    archive_write_open_fd(o.a, o.fd) != ARCHIVE_OK) {
		oci_fail(e, "cannot start the tar");
		goto out;
	}
	if (ar->kind == OCI_ARCHIVE_OCI)
		rc = write_oci(&o, l, blobs, manifests, top, ar->ref ? ar->ref : tag, e);
	else
		rc = write_docker(&o, l, top, rtag, e);
	if (rc == 0 && archive_write_close(o.a) != ARCHIVE_OK)
		rc = oci_fail(e, "%s: %s", o.tmp, archive_error_string(o.a) ? archive_error_string(o.a) :
		    strerror(errno));
	if (rc == 0) {
		o.fd = -1;	/* oci_temp_rename closes it */
		o.tmp = NULL;
		rc = oci_temp_rename(&o.t, ar->file, e);
	}
	if (rc == 0) {
		*written = json_deep_copy(top);
		oci_say("%s: %s archive of %s written", ar->file,
		    ar->kind == OCI_ARCHIVE_OCI ? "an OCI" : "a docker", oci_short(
		    json_string_value(json_object_get(top, "digest"))));
	}
out:
	if (o.a)
		archive_write_free(o.a);
	if (o.tmp)
		oci_temp_abort(&o.t);
	free(o.buf);
	free(rtag);
	json_decref(blobs);
	json_decref(manifests);
	return rc < 0 ? oci_context(e, "%s", ar->file) : 0;
}
