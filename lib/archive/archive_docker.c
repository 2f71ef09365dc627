/*
 * lib/archive/archive_docker.c — the image a docker archive holds, as an OCI
 * manifest: what lib/archive/archive.c hands over once it has taken every file.
 *
 * `docker save` and `podman save` write a manifest.json that lists the
 * images of the archive:
 *     [{"Config":"<hex>.json","RepoTags":["busybox:latest"],
 *       "Layers":["<id>/layer.tar", …]}]
 * Its Config and Layers are names of other files of the archive: the
 * config, and each layer as an uncompressed tar (classic), or all of them
 * under blobs/sha256/ beside an OCI index.json (Docker 25 and later).
 * Here one entry is picked (by RepoTag or @N), each layer is checked
 * against the config's rootfs.diff_ids, and an OCI manifest is made that
 * names the config and the layers (a plain tar as the gzip blob
 * lib/archive/archive.c made of it).
 */
#include <stdlib.h>
#include <string.h>

#include "archive_reader.h"

/* Does RepoTag tag name the image ref names ("busybox" is docker.io/library/busybox:latest)? */
static int
same_image(const char *tag, const char *ref)
{
	struct oci_source a, b;
	struct oci_err ignored;
	int same;

	if (strcmp(tag, ref) == 0)
		return 1;
	if (oci_source_parse(tag, &a, &ignored) < 0)
		return 0;
	if (oci_source_parse(ref, &b, &ignored) < 0) {
		oci_source_free(&a);
		return 0;
	}
	same = strcmp(a.registry, b.registry) == 0 && strcmp(a.repo, b.repo) == 0 &&
	    a.tag && b.tag && strcmp(a.tag, b.tag) == 0;
	oci_source_free(&a);
	oci_source_free(&b);
	return same;
}

/* The entry of manifest.json that ref picks ("@N", or a RepoTag); the only one without ref. */
static const json_t *
pick_image(const json_t *list, const char *ref, struct oci_err *e)
{
	const json_t *img, *t;
	char names[600] = "";
	size_t i, j, len = 0;
	char *end;
	long n;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		oci_fail(e, "manifest.json: not a list of images");
		return NULL;
	}
	if (ref == NULL && json_array_size(list) == 1)
		return json_array_get(list, 0);
	if (ref && ref[0] == '@') {
		n = strtol(ref + 1, &end, 10);
		if (ref[1] == '\0' || *end != '\0' || n < 0 || (size_t)n >= json_array_size(list)) {
			oci_fail(e, "manifest.json has images @0 to @%zu, not %s",
			    json_array_size(list) - 1, ref);
			return NULL;
		}
		return json_array_get(list, (size_t)n);
	}
	json_array_foreach(list, i, img) {
		json_array_foreach(json_object_get(img, "RepoTags"), j, t) {
			if (ref && json_is_string(t) && same_image(json_string_value(t), ref))
				return img;
			if (json_is_string(t) && len < sizeof names - 1)
				len += (size_t)snprintf(names + len, sizeof names - len, "%s%s",
				    len ? ", " : "", oci_printable(json_string_value(t)));
		}
		if (json_array_size(json_object_get(img, "RepoTags")) == 0 && len < sizeof names - 1)
			len += (size_t)snprintf(names + len, sizeof names - len, "%s@%zu",
			    len ? ", " : "", i);
	}
	if (ref)
		oci_fail(e, "no image %s in the archive; it has %s", oci_printable(ref), names);
	else
		oci_fail(e, "the archive holds %zu images; name one (FILE:REF, REF a RepoTag or @N): %s",
		    json_array_size(list), names);
	return NULL;
}

/* A file manifest.json names, as a path inside the archive. */
static struct member *
named_member(struct reader *r, const json_t *v, const char *what, struct oci_err *e)
{
	const char *s = json_string_value(v);
	struct member *m;
	char *name;

	if (s == NULL) {
		oci_fail(e, "manifest.json: %s is not a file name", what);
		return NULL;
	}
	if ((name = oci_archive_clean_name(s, e)) == NULL)
		return NULL;
	m = oci_archive_find(r, name);
	if (m == NULL)
		oci_fail(e, "manifest.json: %s \"%s\" is not in the archive", what, oci_printable(s));
	free(name);
	return m;
}

/*
 * The config manifest.json names for img: the image's own account of its
 * layers (rootfs.diff_ids, one for each of img's Layers).  The caller
 * json_decref()s it; *cm is its member, *diff_ids its list.
 */
static json_t *
docker_config(struct reader *r, const json_t *img, struct member **cm, const json_t **diff_ids,
    struct oci_err *e)
{
	const json_t *layers = json_object_get(img, "Layers");
	json_t *config = NULL;

	if ((*cm = named_member(r, json_object_get(img, "Config"), "Config", e)) == NULL)
		return NULL;
	if ((*cm)->mem && !(*cm)->layer &&
	    (config = oci_config_parse((*cm)->mem, (*cm)->len, oci_printable((*cm)->name), e)) == NULL)
		return NULL;
	if ((*cm)->mem == NULL || (*cm)->layer ||
	    !json_is_array(*diff_ids = json_object_get(json_object_get(config, "rootfs"), "diff_ids"))) {
		oci_fail(e, "config %s: not an image config with rootfs.diff_ids", oci_printable((*cm)->name));
		json_decref(config);
		return NULL;
	}
	(*cm)->used = 1;
	if (!json_is_array(layers) || json_array_size(layers) != json_array_size(*diff_ids)) {
		oci_fail(e, "manifest.json names %zu layers, but the config has %zu diff_ids",
		    json_array_size(layers), json_array_size(*diff_ids));
		json_decref(config);
		return NULL;
	}
	return config;
}

/*
 * img's Layers, each a tar we gzipped (its diff_id checked here) or a
 * compressed blob (checked by docker_inflated once it has its name), as the
 * manifest's layer descriptors; the caller json_decref()s them.
 */
static json_t *
docker_layers(struct reader *r, const json_t *img, const json_t *diff_ids, struct oci_err *e)
{
	json_t *layers = json_array();
	const json_t *v;
	struct member *lm;
	char what[32];
	size_t i;

	if (layers == NULL)
		goto oom;
	json_array_foreach(json_object_get(img, "Layers"), i, v) {
		const char *want = json_string_value(json_array_get(diff_ids, i));
		snprintf(what, sizeof what, "layer %zu", i + 1);
		if ((lm = named_member(r, v, what, e)) == NULL)
			goto fail;
		if (!lm->layer && (lm->w == NULL || lm->comp == OCI_COMP_NONE)) {
			oci_fail(e, "layer %s: not a tar layer", oci_printable(lm->name));
			goto fail;
		}
		if (lm->layer && (want == NULL || strcmp(want, lm->diff_id) != 0)) {
			oci_fail(e, "layer %s: its diff_id is %s, but the config says %s",
			    oci_printable(lm->name), lm->diff_id, want ? oci_printable(want) : "nothing");
			goto fail;
		}
		lm->used = 1;
		if (json_array_append_new(layers, oci_desc_new(lm->comp == OCI_COMP_ZSTD ?
		    OCI_MT_LAYER_ZSTD : OCI_MT_LAYER_GZIP, lm->digest, lm->size)) < 0)
			goto oom;
	}
	return layers;
oom:
	oci_fail(e, "out of memory");
fail:
	json_decref(layers);
	return NULL;
}

/*
 * A layer that came compressed (Docker 25's blobs) can only be inflated to
 * check its diff_id once it is a blob: a mismatch then stops before the
 * config, the manifest and the tag.
 */
static int
docker_inflated(struct reader *r, const json_t *img, const json_t *diff_ids, struct oci_err *e)
{
	struct member *lm;
	const json_t *v;
	size_t i;

	json_array_foreach(json_object_get(img, "Layers"), i, v) {
		char got[OCI_DIGEST_MAX];
		const char *want = json_string_value(json_array_get(diff_ids, i));
		if ((lm = named_member(r, v, "layer", e)) == NULL)
			return -1;
		if (lm->layer)
			continue;
		if (oci_layer_diff_id(r->l, lm->digest, got, e) < 0)
			return -1;
		if (want == NULL || strcmp(got, want) != 0)
			return oci_fail(e, "layer %s: its diff_id is %s, but the config says %s",
			    oci_printable(lm->name), got, want ? oci_printable(want) : "nothing");
	}
	return 0;
}

/* The config and an OCI manifest naming it and layers, as blobs; *stored the manifest's descriptor. */
static int
docker_manifest(struct reader *r, const struct member *cm, json_t *layers, const char *repotag,
    json_t **stored, struct oci_err *e)
{
	char *mbuf = NULL, cdigest[OCI_DIGEST_MAX], mdigest[OCI_DIGEST_MAX];
	json_t *manifest;
	int rc = -1;

	if (oci_blob_put(r->l, cm->mem, cm->len, cdigest, e) < 0)
		return -1;
	manifest = json_pack("{si ss s{ss ss sI} sO}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
	    "config", "mediaType", OCI_MT_CONFIG, "digest", cdigest, "size", (json_int_t)cm->len,
	    "layers", layers);
	if (manifest == NULL || (mbuf = json_dumps(manifest, JSON_COMPACT)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (oci_blob_put(r->l, mbuf, strlen(mbuf), mdigest, e) < 0)
		goto out;
	oci_say("%s: config %s and %zu layers (gzipped, diff_ids checked) → manifest %s",
	    oci_printable(repotag ? repotag : "the image"), oci_short(cdigest),
	    json_array_size(layers), oci_short(mdigest));
	*stored = oci_desc_new(OCI_MT_MANIFEST, mdigest, strlen(mbuf));
	rc = 0;
out:
	free(mbuf);
	json_decref(manifest);
	return rc;
}

int
oci_archive_docker_image(struct reader *r, const char *ref, json_t **stored, char **repotag,
    struct oci_err *e)
{
	struct member *mf = oci_archive_find(r, "manifest.json"), *cm = NULL;
	json_t *list = NULL, *config = NULL, *layers = NULL;
	const json_t *img, *diff_ids = NULL, *v;
	int rc = -1;

	if (mf == NULL || mf->mem == NULL)
		return oci_fail(e, "no manifest.json in the archive: not what docker save writes");
	if ((list = json_loadb(mf->mem, mf->len, 0, NULL)) == NULL) {
		oci_fail(e, "manifest.json: not JSON");
		goto out;
	}
	if ((img = pick_image(list, ref, e)) == NULL)
		goto out;
	v = json_array_get(json_object_get(img, "RepoTags"), 0);
	*repotag = json_is_string(v) ? strdup(json_string_value(v)) : NULL;
	if ((config = docker_config(r, img, &cm, &diff_ids, e)) == NULL ||
	    (layers = docker_layers(r, img, diff_ids, e)) == NULL)
		goto out;
	/* Everything checked: the blobs get their names, then the config and a manifest. */
	if (oci_archive_commit_used(r, e) < 0 || docker_inflated(r, img, diff_ids, e) < 0)
		goto out;
	rc = docker_manifest(r, cm, layers, *repotag, stored, e);
out:
	json_decref(layers);
	json_decref(config);
	json_decref(list);
	return rc;
}
