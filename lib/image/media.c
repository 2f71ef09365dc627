/*
 * lib/image/media.c — media types, OCI's and Docker's, and telling documents apart.
 *
 * image-spec media-types.md lists the OCI types and their Docker schema2
 * counterparts; we accept both everywhere and store what we were given.
 */
#include <string.h>

#include "image.h"

static const struct {
	const char *type;
	enum oci_kind kind;
	const char *name;
} types[] = {
	{ OCI_MT_INDEX, OCI_KIND_INDEX, "index" },
	{ OCI_MT_MANIFEST, OCI_KIND_MANIFEST, "manifest" },
	{ OCI_MT_CONFIG, OCI_KIND_CONFIG, "config" },
	{ OCI_MT_LAYER, OCI_KIND_LAYER, "layer tar" },
	{ OCI_MT_LAYER_GZIP, OCI_KIND_LAYER, "layer tar+gzip" },
	{ OCI_MT_LAYER_ZSTD, OCI_KIND_LAYER, "layer tar+zstd" },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar", OCI_KIND_LAYER, "layer tar (nondistributable)" },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", OCI_KIND_LAYER, "layer tar+gzip (nondistributable)" },
	{ "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", OCI_KIND_LAYER, "layer tar+zstd (nondistributable)" },
	{ OCI_MT_DOCKER_LIST, OCI_KIND_INDEX, "docker manifest list" },
	{ OCI_MT_DOCKER_MANIFEST, OCI_KIND_MANIFEST, "docker manifest" },
	{ OCI_MT_DOCKER_CONFIG, OCI_KIND_CONFIG, "docker config" },
	{ OCI_MT_DOCKER_LAYER, OCI_KIND_LAYER, "docker layer tar+gzip" },
	{ "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", OCI_KIND_LAYER, "docker foreign layer" },
	{ OCI_MT_DOCKER_SCHEMA1, OCI_KIND_SCHEMA1, "docker schema1 manifest" },
	{ OCI_MT_DOCKER_SCHEMA1_SIGNED, OCI_KIND_SCHEMA1, "docker schema1 manifest (signed)" },
};

enum oci_kind
oci_media_kind(const char *mt)
{
	size_t i;

	for (i = 0; mt && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(mt, types[i].type) == 0)
			return types[i].kind;
	return OCI_KIND_UNKNOWN;
}

const char *
oci_media_short(const char *mt)
{
	size_t i;

	for (i = 0; mt && i < sizeof types / sizeof types[0]; i++)
		if (strcmp(mt, types[i].type) == 0)
			return types[i].name;
	return mt ? mt : "(no media type)";
}

int
oci_doc_parse(const char *buf, size_t len, const char *hint, json_t **doc,
    enum oci_kind *kind, struct oci_err *e)
{
	const json_t *mt, *sv;
	const char *type;
	int has_manifests, has_layers;
	json_error_t je;
	enum oci_kind k;

	*doc = NULL;
	if (len > OCI_DOC_MAX)
		return oci_fail(e, "document of %zu bytes is over the %d byte limit", len, OCI_DOC_MAX);
	*doc = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (*doc == NULL)
		return oci_fail(e, "not valid JSON (line %d: %s)", je.line, je.text);
	if (!json_is_object(*doc)) {
		oci_fail(e, "not a JSON object");
		goto bad;
	}
	mt = json_object_get(*doc, "mediaType");
	if (mt && !json_is_string(mt)) {
		oci_fail(e, "mediaType is not a string");
		goto bad;
	}
	type = mt ? json_string_value(mt) : hint;
	/* image-spec manifest.md / image-index.md: a document is one or the other. */
	has_manifests = json_object_get(*doc, "manifests") != NULL;
	has_layers = json_object_get(*doc, "layers") != NULL || json_object_get(*doc, "config") != NULL;
	if (has_manifests && has_layers) {
		oci_fail(e, "document has both \"manifests\" and \"layers\"/\"config\": neither an index nor a manifest");
		goto bad;
	}
	sv = json_object_get(*doc, "schemaVersion");
	if (json_is_integer(sv) && json_integer_value(sv) == 1) {
		oci_fail(e, "Docker schema1 manifests are not supported (pull the image again with a current tool)");
		goto bad;
	}
	k = oci_media_kind(type);
	if (type == NULL)	/* OCI allows the field to be missing: go by shape */
		k = has_manifests ? OCI_KIND_INDEX : has_layers ? OCI_KIND_MANIFEST : OCI_KIND_UNKNOWN;
	switch (k) {
	case OCI_KIND_INDEX:
		if (has_layers || !json_is_array(json_object_get(*doc, "manifests"))) {
			oci_fail(e, "%s has no \"manifests\" array", oci_media_short(type));
			goto bad;
		}
		break;
	case OCI_KIND_MANIFEST:
		if (has_manifests || !json_is_object(json_object_get(*doc, "config")) ||
		    !json_is_array(json_object_get(*doc, "layers"))) {
			oci_fail(e, "%s needs a \"config\" object and a \"layers\" array", oci_media_short(type));
			goto bad;
		}
		break;
	case OCI_KIND_SCHEMA1:
		oci_fail(e, "%s: Docker schema1 manifests are not supported", type);
		goto bad;
	default:
		oci_fail(e, "unsupported media type \"%s\" (not an index or a manifest)",
		    type ? type : "(none)");
		goto bad;
	}
	if (mt && hint && strcmp(json_string_value(mt), hint) != 0 &&
	    oci_media_kind(hint) != k) {
		oci_fail(e, "document is a %s but its descriptor says %s", oci_media_short(type), hint);
		goto bad;
	}
	if (!json_is_integer(sv) || json_integer_value(sv) != 2) {
		oci_fail(e, "schemaVersion is not 2");
		goto bad;
	}
	*kind = k;
	return 0;
bad:
	json_decref(*doc);
	*doc = NULL;
	return -1;
}

json_t *
oci_config_parse(const char *buf, size_t len, const char *what, struct oci_err *e)
{
	json_error_t je = { .text = "" };
	json_t *config;

	/* As for every document: a key given twice is refused, not read as the last one. */
	config = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(config)) {
		json_decref(config);
		oci_fail(e, "config %s: not a JSON object (%s)", what, je.text);
		return NULL;
	}
	return config;
}
