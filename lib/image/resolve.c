/*
 * lib/image/resolve.c — from an IMAGE argument to one manifest.
 *
 * The walk every reader of an image makes (image-spec image-layout.md and
 * image-index.md): index.json -> the descriptor named by tag or digest ->
 * while it is an image index, the entry for our platform -> a manifest ->
 * its config and layers.  Every document is checked against the digest and
 * size of the descriptor that led to it.
 */
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* Indexes may nest; a chain longer than this is a loop or an attack. */
#define MAX_DEPTH 8

/*
 * A tag that names one manifest, not an index, has no platform list to
 * choose from: a platform asked for (-p) is checked against its config's
 * os, architecture and variant instead (image-spec config.md), by the same
 * rules as an index's entries.  A config that names none is not refused.
 */
static int
check_platform(struct oci_layout *l, const json_t *manifest, const struct oci_platform *want,
    const char *digest, struct oci_err *e)
{
	struct oci_platform have;
	struct oci_desc c;
	char hs[96];
	json_t *config, *p;
	size_t len;
	char *buf;
	int ok;

	if (oci_desc_parse(json_object_get(manifest, "config"), &c, e) < 0)
		return oci_context(e, "manifest %s: config", oci_short(digest));
	if (oci_blob_read(l, c.digest, c.size, &buf, &len, e) < 0)
		return oci_context(e, "manifest %s: config", oci_short(digest));
	config = oci_config_parse(buf, len, oci_short(c.digest), e);
	free(buf);
	if (config == NULL)
		return oci_context(e, "manifest %s", oci_short(digest));
	if (!json_is_string(json_object_get(config, "os")) ||
	    !json_is_string(json_object_get(config, "architecture"))) {
		json_decref(config);
		return 0;
	}
	p = json_pack("{s:O, s:O}", "os", json_object_get(config, "os"),
	    "architecture", json_object_get(config, "architecture"));
	if (p && json_is_string(json_object_get(config, "variant")))
		json_object_set(p, "variant", json_object_get(config, "variant"));
	ok = oci_platform_match(want, p);
	if (!ok) {
		memset(&have, 0, sizeof have);
		snprintf(have.os, sizeof have.os, "%s", json_string_value(json_object_get(p, "os")));
		snprintf(have.arch, sizeof have.arch, "%s",
		    json_string_value(json_object_get(p, "architecture")));
		snprintf(have.variant, sizeof have.variant, "%s",
		    json_string_value(json_object_get(p, "variant")) ?: "");
		/* oci_platform_str has one buffer: the first is copied out */
		snprintf(hs, sizeof hs, "%s", oci_platform_str(&have));
		oci_fail(e, "manifest %s is an image for %s, not %s", oci_short(digest), hs,
		    oci_platform_str(want));
	}
	json_decref(p);
	json_decref(config);
	return ok ? 0 : -1;
}

int
oci_resolve_manifest(struct oci_layout *l, const json_t *start,
    const struct oci_platform *platform, json_t **desc_out, char **buf_out,
    size_t *len_out, json_t **doc_out, struct oci_err *e)
{
	struct oci_platform host;
	json_t *desc = json_incref((json_t *)start), *doc = NULL;
	enum oci_kind kind;
	struct oci_desc d;
	char *buf = NULL;
	size_t len;
	int depth, asked;

	asked = platform != NULL;
	if (platform == NULL) {
		oci_platform_host(&host);
		platform = &host;
	}
	for (depth = 0; depth < MAX_DEPTH; depth++) {
		const json_t *pick;

		if (oci_desc_parse(desc, &d, e) < 0)
			goto bad;
		kind = oci_media_kind(d.media_type);
		if (kind == OCI_KIND_LAYER || kind == OCI_KIND_CONFIG) {
			oci_fail(e, "%s %s is not a manifest or an index", oci_media_short(d.media_type),
			    oci_short(d.digest));
			goto bad;
		}
		if (oci_blob_read(l, d.digest, d.size, &buf, &len, e) < 0)
			goto bad;
		if (oci_doc_parse(buf, len, d.media_type, &doc, &kind, e) < 0) {
			oci_context(e, "%s %s", oci_media_short(d.media_type), oci_short(d.digest));
			goto bad;
		}
		if (kind == OCI_KIND_MANIFEST && depth == 0 && asked &&
		    check_platform(l, doc, platform, d.digest, e) < 0)
			goto bad;
		if (kind == OCI_KIND_MANIFEST) {
			oci_say("manifest %s → config %s, %zu layer%s", oci_short(d.digest),
			    oci_short(json_string_value(json_object_get(json_object_get(doc, "config"), "digest"))
				?: "?"),
			    json_array_size(json_object_get(doc, "layers")),
			    json_array_size(json_object_get(doc, "layers")) == 1 ? "" : "s");
			*desc_out = desc;
			*buf_out = buf;
			*len_out = len;
			*doc_out = doc;
			return 0;
		}
		/* An image index: choose the entry for this platform. */
		pick = oci_platform_pick(doc, platform, e);
		if (pick == NULL) {
			oci_context(e, "index %s", oci_short(d.digest));
			goto bad;
		}
		oci_say("index %s: %s → %s %s", oci_short(d.digest), oci_platform_str(platform),
		    oci_media_short(json_string_value(json_object_get(pick, "mediaType"))),
		    oci_short(json_string_value(json_object_get(pick, "digest")) ?: "?"));
		json_decref(desc);
		desc = json_incref((json_t *)pick);
		/* desc now borrows from doc's array: keep doc alive via the reference we took. */
		json_decref(doc);
		doc = NULL;
		free(buf);
		buf = NULL;
	}
	oci_fail(e, "image indexes nested more than %d deep", MAX_DEPTH);
bad:
	json_decref(desc);
	json_decref(doc);
	free(buf);
	return -1;
}

int
oci_image_entry(struct oci_layout *l, const struct oci_ref *ref, json_t **desc,
    struct oci_err *e)
{
	json_t *index;
	struct oci_desc d;

	*desc = NULL;
	if ((index = oci_index_load(l, e)) == NULL)
		return -1;
	if (oci_index_find(index, ref, desc, e) < 0) {
		json_decref(index);
		return -1;
	}
	json_decref(index);
	if (oci_desc_parse(*desc, &d, e) < 0) {
		json_decref(*desc);
		*desc = NULL;
		return oci_context(e, "%s/index.json", l->path);
	}
	oci_say("index.json: %s%s → %s %s (%lld bytes)", ref->tag ? "tag " : "",
	    ref->tag ? ref->tag : ref->digest ? "digest" : "its one entry",
	    oci_media_short(d.media_type), oci_short(d.digest), (long long)d.size);
	return 0;
}

int
oci_image_open_ref(const struct oci_ref *ref, const struct oci_platform *platform,
    struct oci_image **out, struct oci_err *e)
{
	struct oci_image *img;

	*out = NULL;
	img = calloc(1, sizeof *img);
	if (img == NULL)
		return oci_fail(e, "out of memory");
	img->ref.layout = strdup(ref->layout);
	img->ref.tag = ref->tag ? strdup(ref->tag) : NULL;
	img->ref.digest = ref->digest ? strdup(ref->digest) : NULL;
	if (img->ref.layout == NULL || !img->ref.tag != !ref->tag ||
	    !img->ref.digest != !ref->digest) {
		oci_image_free(img);
		return oci_fail(e, "out of memory");
	}
	if (oci_layout_open(img->ref.layout, &img->layout, e) < 0 ||
	    oci_image_entry(img->layout, &img->ref, &img->entry, e) < 0 ||
	    oci_resolve_manifest(img->layout, img->entry, platform, &img->desc,
	    &img->manifest_buf, &img->manifest_len, &img->manifest, e) < 0) {
		oci_image_free(img);
		return -1;
	}
	*out = img;
	return 0;
}

int
oci_image_open(const char *arg, const struct oci_platform *platform, struct oci_image **out,
    struct oci_err *e)
{
	struct oci_ref ref;
	int rc;

	*out = NULL;
	if (oci_ref_parse(arg, &ref, e) < 0)
		return -1;
	rc = oci_image_open_ref(&ref, platform, out, e);
	oci_ref_free(&ref);
	return rc;
}

int
oci_image_config(struct oci_image *img, char **buf, size_t *len, json_t **config,
    struct oci_err *e)
{
	struct oci_desc d;

	*config = NULL;
	if (oci_desc_parse(json_object_get(img->manifest, "config"), &d, e) < 0)
		return oci_context(e, "manifest %s: config", oci_short(json_string_value(json_object_get(img->desc, "digest"))));
	if (oci_blob_read(img->layout, d.digest, d.size, buf, len, e) < 0)
		return oci_context(e, "config");
	if ((*config = oci_config_parse(*buf, *len, oci_short(d.digest), e)) == NULL) {
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

const json_t *
oci_image_layers(struct oci_image *img, struct oci_err *e)
{
	const json_t *layers = json_object_get(img->manifest, "layers"), *l;
	struct oci_desc d;
	size_t i;

	json_array_foreach(layers, i, l)
		if (oci_desc_parse(l, &d, e) < 0) {
			oci_context(e, "layer %zu", i + 1);
			return NULL;
		}
	return layers;
}

const json_t *
oci_image_diff_ids(const json_t *config, const json_t *layers, struct oci_err *e)
{
	const json_t *diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids"), *v;
	size_t i;

	if (!json_is_array(diff_ids) || json_array_size(diff_ids) != json_array_size(layers)) {
		oci_fail(e, "the config has %zu diff_id%s for %zu layer%s",
		    json_array_size(diff_ids), json_array_size(diff_ids) == 1 ? "" : "s",
		    json_array_size(layers), json_array_size(layers) == 1 ? "" : "s");
		return NULL;
	}
	json_array_foreach(diff_ids, i, v)
		if (oci_digest_check(json_string_value(v), NULL, e) < 0) {
			oci_context(e, "config: diff_id %zu", i + 1);
			return NULL;
		}
	return diff_ids;
}

int
oci_image_stack(struct oci_image *img, json_t **config, const json_t **layers,
    const json_t **diff_ids, struct oci_err *e)
{
	char *buf = NULL;
	size_t len;

	if (oci_image_config(img, &buf, &len, config, e) < 0)
		return -1;
	free(buf);
	if ((*layers = oci_image_layers(img, e)) == NULL ||
	    (*diff_ids = oci_image_diff_ids(*config, *layers, e)) == NULL) {
		json_decref(*config);
		*config = NULL;
		return -1;
	}
	return 0;
}

void
oci_image_free(struct oci_image *img)
{
	if (img == NULL)
		return;
	json_decref(img->manifest);
	free(img->manifest_buf);
	json_decref(img->desc);
	json_decref(img->entry);
	oci_layout_close(img->layout);
	oci_ref_free(&img->ref);
	free(img);
}
