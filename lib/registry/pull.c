/*
 * lib/registry/pull.c — an image from a registry into a layout, in the order that
 * keeps the layout true at every moment.
 *
 * distribution-spec "Pull": resolve the tag to a manifest (or an index,
 * then choose the platform), then fetch the config and the layers by
 * digest.  image-spec image-layout.md: every blob is named by its digest,
 * and index.json is the entry point.  So the blobs come first, the
 * manifests (exactly as served, Docker types staying Docker types) after
 * them, and index.json is written last: a reader never finds index.json
 * pointing at something that is not there.
 */
#include <stdlib.h>
#include <string.h>

#include "registry.h"

#define REF_NAME "org.opencontainers.image.ref.name"
/*
 * The specs set no limit on layers; docker's layer store refuses a chain
 * of more than 125 ("max depth exceeded").  Far more than that is a
 * registry trying to make us work, not an image.
 */
#define LAYERS_MAX 1000
/* With --all, an index's manifests are held in memory until their blobs are in. */
#define INDEX_DOCS_MAX (64 * 1024 * 1024)

/* A document as the registry served it. */
struct doc {
	char *buf;
	size_t len;
	char digest[OCI_DIGEST_MAX];
	char *media_type;	/* its own mediaType, or the Content-Type */
	json_t *json;
	enum oci_kind kind;
};

static void
doc_free(struct doc *d)
{
	free(d->buf);
	free(d->media_type);
	json_decref(d->json);
	memset(d, 0, sizeof *d);
}

/* GET a manifest or index; want (may be NULL) is the descriptor that named it. */
static int
get_doc(struct oci_registry *r, const char *ref, const struct oci_desc *want, struct doc *d,
    struct oci_err *e)
{
	const char *mt;

	memset(d, 0, sizeof *d);
	if (oci_registry_manifest(r, ref, &d->buf, &d->len, &d->media_type, d->digest, e) < 0)
		return -1;
	if (want && (int64_t)d->len != want->size) {
		oci_fail(e, "manifest %s: %zu bytes, but its descriptor says %lld", oci_short(ref),
		    d->len, (long long)want->size);
		goto bad;
	}
	if (oci_doc_parse(d->buf, d->len, d->media_type[0] ? d->media_type : NULL, &d->json,
	    &d->kind, e) < 0) {
		oci_context(e, "%s", ref);
		goto bad;
	}
	mt = json_string_value(json_object_get(d->json, "mediaType"));
	if (mt == NULL && want)
		mt = want->media_type;
	if (mt && strcmp(mt, d->media_type) != 0) {
		free(d->media_type);
		if ((d->media_type = strdup(mt)) == NULL) {
			oci_fail(e, "out of memory");
			goto bad;
		}
	}
	if (d->media_type[0] == '\0') {
		oci_fail(e, "%s: the registry did not say what it is (no Content-Type, no mediaType)", ref);
		goto bad;
	}
	return 0;
bad:
	doc_free(d);
	return -1;
}

/* The config and layers of a manifest, appended to blobs. */
static int
add_blobs(const struct doc *m, json_t *blobs, struct oci_err *e)
{
	const json_t *layers = json_object_get(m->json, "layers"), *v;
	struct oci_desc d;
	uint64_t total = 0;
	size_t i;

	if (json_array_size(layers) > LAYERS_MAX)
		return oci_fail(e, "manifest %s: %zu layers, more than the %d that oci-fetch accepts",
		    oci_short(m->digest), json_array_size(layers), LAYERS_MAX);
	if (oci_desc_parse(json_object_get(m->json, "config"), &d, e) < 0)
		return oci_context(e, "manifest %s: config", oci_short(m->digest));
	json_array_append(blobs, json_object_get(m->json, "config"));
	json_array_foreach(layers, i, v) {
		if (oci_desc_parse(v, &d, e) < 0)
			return oci_context(e, "manifest %s: layer %zu", oci_short(m->digest), i + 1);
		total += d.size;
		json_array_append(blobs, (json_t *)v);
	}
	oci_say("%s %s (%zu bytes): config %s, %zu layer%s (%s)", oci_media_short(m->media_type),
	    oci_short(m->digest), m->len,
	    oci_short(json_string_value(json_object_get(json_object_get(m->json, "config"), "digest"))),
	    json_array_size(layers), json_array_size(layers) == 1 ? "" : "s", oci_human_size(total));
	return 0;
}

/* Store a document under its digest, unless it is there already. */
static int
put_doc(struct oci_layout *l, const struct doc *d, struct oci_err *e)
{
	struct oci_blob_writer *w;
	enum oci_alg alg;

	if (oci_blob_exists(l, d->digest, d->len))
		return 0;
	if (oci_digest_check(d->digest, &alg, e) < 0 || oci_blob_writer_new(l, alg, &w, e) < 0)
		return -1;
	if (oci_blob_writer_write(w, d->buf, d->len, e) < 0) {
		oci_blob_writer_abort(w);
		return -1;
	}
	return oci_blob_writer_commit(w, d->digest, d->len, NULL, e);
}

/* index.json edit: add desc with no tag, unless an entry has that digest already. */
static int
add_untagged(json_t *index, void *arg, struct oci_err *e)
{
	json_t *list = json_object_get(index, "manifests"), *v;
	const char *digest = json_string_value(json_object_get(arg, "digest"));
	size_t i;

	json_array_foreach(list, i, v)
		if (strcmp(json_string_value(json_object_get(v, "digest")) ?: "", digest) == 0)
			return 0;
	if (json_array_append(list, arg) < 0)
		return oci_fail(e, "out of memory");
	return 0;
}

/* Does index.json already have desc under tag (NULL: untagged, or any tag)?  Then it is left alone. */
static int
already_indexed(struct oci_layout *l, const char *tag, const json_t *desc)
{
	struct oci_err e;
	json_t *index = oci_index_load(l, &e), *v;
	const char *t;
	size_t i;
	int found = 0;

	json_array_foreach(json_object_get(index, "manifests"), i, v) {
		t = oci_desc_tag(v);
		if ((tag == NULL || (t && strcmp(t, tag) == 0)) &&
		    json_equal(json_object_get(v, "digest"), json_object_get(desc, "digest")) &&
		    json_equal(json_object_get(v, "mediaType"), json_object_get(desc, "mediaType")) &&
		    json_equal(json_object_get(v, "size"), json_object_get(desc, "size")))
			found = 1;
	}
	json_decref(index);
	return found;
}

/*
 * The manifests of index top that this pull takes (the one for the
 * platform, or with o->all every one), fetched into m[0..*nm) with their
 * config and layers added to blobs.
 */
static int
get_manifests(struct oci_registry *r, const struct doc *top, const struct oci_pull_opts *o,
    struct doc *m, size_t *nm, json_t *blobs, struct oci_err *e)
{
	const json_t *pick = NULL, *v;
	const struct oci_platform *want = o->platform;
	struct oci_platform host;
	struct oci_desc d;
	uint64_t held = 0;
	size_t i;

	if (want == NULL) {
		oci_platform_host(&host);
		want = &host;
	}
	if (!o->all) {
		pick = oci_platform_pick(top->json, want, e);
		if (pick == NULL)
			return oci_context(e, "%s %s", oci_media_short(top->media_type), oci_short(top->digest));
		oci_say("platform %s → manifest %s", oci_platform_str(want),
		    oci_short(json_string_value(json_object_get(pick, "digest")) ?: "?"));
	}
	json_array_foreach(json_object_get(top->json, "manifests"), i, v) {
		if (!o->all && v != pick)
			continue;
		if (oci_desc_parse(v, &d, e) < 0)
			return oci_context(e, "index %s: entry %zu", oci_short(top->digest), i + 1);
		if ((held += (uint64_t)d.size) > INDEX_DOCS_MAX)
			return oci_fail(e, "index %s: its manifests add up to more than %d MiB",
			    oci_short(top->digest), INDEX_DOCS_MAX / (1024 * 1024));
		if (get_doc(r, d.digest, &d, &m[*nm], e) < 0)
			return -1;
		if (m[(*nm)++].kind != OCI_KIND_MANIFEST)
			return oci_fail(e, "index %s: entry %s is not a manifest (nested indexes are not followed)",
			    oci_short(top->digest), oci_short(d.digest));
		if (add_blobs(&m[*nm - 1], blobs, e) < 0)
			return -1;
	}
	return 0;
}

/* Name desc in index.json, under o->tag or as an untagged entry; desc gets the tag's annotation. */
static int
record(struct oci_layout *l, const struct oci_pull_opts *o, json_t *desc, struct oci_err *e)
{
	if (already_indexed(l, o->tag, desc)) {
		oci_say("index.json: already has %s", o->tag ? o->tag : oci_short(
		    json_string_value(json_object_get(desc, "digest"))));
		if (o->tag)
			json_object_set_new(desc, "annotations", json_pack("{ss}", REF_NAME, o->tag));
	} else if (o->tag) {
		if (oci_layout_tag(l, o->tag, desc, e) < 0)
			return -1;
		json_object_set_new(desc, "annotations", json_pack("{ss}", REF_NAME, o->tag));
		oci_say("index.json: tag %s → %s %s", o->tag, oci_media_short(json_string_value(
		    json_object_get(desc, "mediaType"))), oci_short(json_string_value(json_object_get(desc, "digest"))));
	} else if (oci_index_update(l, add_untagged, desc, e) < 0) {
		return -1;
	}
	return 0;
}

/* The config of manifest md into l, then o->layers_next told that the layers come next. */
static int
layers_next(struct oci_registry *r, struct oci_layout *l, const struct doc *md,
    const struct oci_pull_opts *o, struct oci_err *e)
{
	json_t *config = json_pack("[O]", json_object_get(md->json, "config"));
	int rc;

	if (config == NULL)
		return oci_fail(e, "out of memory");
	rc = oci_registry_blobs(r, l, config, e);
	json_decref(config);
	if (rc < 0)
		return -1;
	return o->layers_next(o->layers_arg, l, md->json, md->digest, e);
}

int
oci_pull(struct oci_registry *r, const struct oci_source *src, struct oci_layout *l,
    const struct oci_pull_opts *o, json_t **stored, struct oci_err *e)
{
	struct doc top, *m = NULL, *md;
	json_t *blobs = json_array(), *desc = NULL;
	const json_t *list;
	size_t i, nm = 0;
	int rc = -1;

	*stored = NULL;
	if (get_doc(r, src->digest ? src->digest : src->tag, NULL, &top, e) < 0) {
		json_decref(blobs);
		return -1;
	}
	if (top.kind == OCI_KIND_INDEX) {
		list = json_object_get(top.json, "manifests");
		oci_say("%s %s (%zu bytes): %zu manifest%s", oci_media_short(top.media_type),
		    oci_short(top.digest), top.len, json_array_size(list),
		    json_array_size(list) == 1 ? "" : "s");
		m = calloc(json_array_size(list) + 1, sizeof *m);
		if (m == NULL) {
			oci_fail(e, "out of memory");
			goto out;
		}
		if (get_manifests(r, &top, o, m, &nm, blobs, e) < 0)
			goto out;
	} else if (add_blobs(&top, blobs, e) < 0) {
		goto out;
	}

	/* With a watcher of the layers (oci-fetch --store), the config first: it names their diff_ids. */
	if (o->layers_next && !o->all && layers_next(r, l, top.kind == OCI_KIND_INDEX ? &m[0] : &top, o, e) < 0)
		goto out;
	/* Bottom up: config and layers, the manifests, the index; then index.json. */
	if (oci_registry_blobs(r, l, blobs, e) < 0)
		goto out;
	if (o->layers_in && !o->all) {
		md = top.kind == OCI_KIND_INDEX ? &m[0] : &top;
		if (o->layers_in(o->layers_arg, l, md->json, md->digest, e) < 0)
			goto out;
	}
	for (i = 0; i < nm; i++)
		if (put_doc(l, &m[i], e) < 0)
			goto out;
	if (top.kind == OCI_KIND_INDEX && !o->all) {
		desc = oci_desc_new(m[0].media_type, m[0].digest, m[0].len);
	} else {
		if (put_doc(l, &top, e) < 0)
			goto out;
		desc = oci_desc_new(top.media_type, top.digest, top.len);
	}
	if (desc == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (record(l, o, desc, e) < 0)
		goto out;
	*stored = desc;
	desc = NULL;
	rc = 0;
out:
	if (rc < 0)
		oci_context(e, "%s/%s", src->registry, src->repo);
	for (i = 0; i < nm; i++)
		doc_free(&m[i]);
	free(m);
	doc_free(&top);
	json_decref(desc);
	json_decref(blobs);
	return rc;
}
