/*
 * lib/layer/build.c — a new image on top of an old one (oci-commit, oci-config).
 *
 * image-spec config.md and manifest.md: an image is a config (what to run,
 * rootfs.diff_ids, history) and a manifest (the config's descriptor and the
 * layers' descriptors, bottom first).  Neither can change in place — each is
 * named by its digest — so building means: copy the base's config and layer
 * list, edit the copies, store them as new blobs, and move the tag in
 * index.json to the new manifest.  The old image stays in the layout.
 *
 * We always write OCI media types.  A base with Docker media types (schema2
 * manifest, container.image.v1 config, rootfs.diff.tar.gzip layers) is
 * converted on the way: its config JSON is kept as it is (the fields OCI
 * defines have the same names; Docker's extra ones are allowed and kept) and
 * its layers' media types are renamed to their OCI equivalents, as skopeo
 * does when it copies such an image into an OCI layout.
 */
#define _GNU_SOURCE		/* asprintf */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "layer.h"

#define NOP "/bin/sh -c #(nop) "	/* how docker and buildah mark a history step without a layer */

int
oci_source_date_epoch(int64_t *t, struct oci_err *e)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	char *end;
	long long v;

	if (s == NULL || s[0] == '\0')
		return 0;
	errno = 0;
	v = strtoll(s, &end, 10);
	/* An RFC 3339 date has a four-digit year: 9999-12-31T23:59:59Z at most. */
	if (errno != 0 || *end != '\0' || v < 0 || v > 253402300799LL || s[0] < '0' || s[0] > '9')
		return oci_fail(e, "SOURCE_DATE_EPOCH=\"%.40s\": not a number of seconds since 1970"
		    " before the year 10000", s);
	*t = v;
	return 1;
}

/* An OCI name for each Docker media type a base image may carry. */
static const char *
oci_media_type(const char *mt)
{
	if (strcmp(mt, OCI_MT_DOCKER_LAYER) == 0)
		return OCI_MT_LAYER_GZIP;
	if (strcmp(mt, "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip") == 0)
		return "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
	return mt;
}

/* An empty config for this machine: FROM scratch. */
static json_t *
scratch_config(const char *created)
{
	struct oci_platform p;
	json_t *c;

	oci_platform_host(&p);
	c = json_pack("{s:s, s:s, s:s}", "created", created, "architecture", p.arch, "os", p.os);
	if (c && p.variant[0])
		json_object_set_new(c, "variant", json_string(p.variant));
	if (c)
		json_object_set_new(c, "config", json_object());
	if (c && json_object_set_new(c, "rootfs", json_pack("{s:s, s:[]}", "type", "layers",
	    "diff_ids")) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/*
 * Is there an image to build on?  With a digest the answer is left to
 * oci_image_open; a tag must be found exactly or as the tag of a full
 * reference; no tag at all means "the one entry", if there is one.
 */
static int
base_exists(struct oci_layout *l, const struct oci_ref *ref, int *exists, struct oci_err *e)
{
	json_t *index, *desc = NULL;
	struct oci_err ignored;

	index = oci_index_load(l, e);
	if (index == NULL)
		return -1;
	if (ref->digest)
		*exists = 1;
	else if (ref->tag)
		*exists = oci_index_find(index, ref, &desc, &ignored) == 0;
	else
		*exists = json_array_size(json_object_get(index, "manifests")) > 0;
	json_decref(desc);
	json_decref(index);
	return 0;
}

/* Open a layout to build in; make it when the path is missing or an empty directory. */
static int
open_or_create(const char *path, struct oci_layout **l, struct oci_err *e)
{
	struct stat st;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return oci_fail_errno(e, "layout %s", path);
		/* A layout this run makes goes again if the run fails (oci_undo). */
		oci_undo_add(OCI_UNDO_RMTREE, AT_FDCWD, path);
	} else if (!S_ISDIR(st.st_mode)) {
		return oci_fail(e, "layout %s: not a directory", path);
	} else if (oci_layout_open(path, l, e) == 0) {
		return 0;
	} else if (!oci_dir_is_empty(path)) {
		/* A directory with files in it is someone's, not a layout to make. */
		return -1;
	}
	oci_say("%s: a new OCI layout", path);
	return oci_layout_create(path, l, e);
}

/* Copy the base's config and layer list into b. */
static int
load_base(struct oci_build *b, const char *image, const struct oci_ref *ref, struct oci_err *e)
{
	const json_t *layers, *d;
	struct oci_image *img;
	char *buf = NULL;
	json_t *copy;
	size_t len, i;
	int rc = -1;

	if (oci_image_open_ref(ref, NULL, &img, e) < 0)
		return -1;
	if (oci_image_config(img, &buf, &len, &b->config, e) < 0 ||
	    (layers = oci_image_layers(img, e)) == NULL)
		goto out;
	json_array_foreach(layers, i, d) {
		copy = json_deep_copy(d);
		json_object_set_new(copy, "mediaType",
		    json_string(oci_media_type(json_string_value(json_object_get(d, "mediaType")))));
		json_array_append_new(b->layers, copy);
	}
	if (json_is_object(json_object_get(img->manifest, "annotations")))
		b->annotations = json_deep_copy(json_object_get(img->manifest, "annotations"));
	if (!json_is_array(json_object_get(json_object_get(b->config, "rootfs"), "diff_ids"))) {
		oci_fail(e, "config of %s has no rootfs.diff_ids array", image);
		goto out;
	}
	if (json_array_size(json_object_get(json_object_get(b->config, "rootfs"), "diff_ids")) !=
	    json_array_size(b->layers)) {
		size_t nd = json_array_size(json_object_get(json_object_get(b->config, "rootfs"), "diff_ids"));
		size_t nl = json_array_size(b->layers);

		oci_fail(e, "%s: the config lists %zu diff_id%s for %zu layer%s", image,
		    nd, nd == 1 ? "" : "s", nl, nl == 1 ? "" : "s");
		goto out;
	}
	rc = 0;
out:
	free(buf);
	oci_image_free(img);
	return rc;
}

int
oci_build_open(const char *image, const struct oci_ref *ref, const char *newtag, int scratch_ok,
    struct oci_build **out, struct oci_err *e)
{
	struct oci_build *b;
	int64_t when;
	time_t t;
	int exists = 1, epoch;

	*out = NULL;
	b = calloc(1, sizeof *b);
	if (b == NULL || (b->layers = json_array()) == NULL) {
		free(b);
		return oci_fail(e, "out of memory");
	}
	/* As docker does, an image named without a tag is "latest". */
	b->tag = strdup(newtag ? newtag : ref->tag ? ref->tag : "latest");
	if (b->tag == NULL) {
		oci_fail(e, "out of memory");
		goto bad;
	}
	if (oci_tag_check(b->tag, e) < 0)
		goto bad;
	if ((epoch = oci_source_date_epoch(&when, e)) < 0)
		goto bad;
	t = epoch ? (time_t)when : time(NULL);
	strftime(b->created, sizeof b->created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (scratch_ok) {
		if (open_or_create(ref->layout, &b->layout, e) < 0 ||
		    base_exists(b->layout, ref, &exists, e) < 0)
			goto bad;
	}
	if (exists) {
		oci_layout_close(b->layout);
		b->layout = NULL;
		if (load_base(b, image, ref, e) < 0 || oci_layout_open(ref->layout, &b->layout, e) < 0)
			goto bad;
	} else {
		oci_say("%s: no image yet: FROM scratch", image);
		b->config = scratch_config(b->created);
		if (b->config == NULL) {
			oci_fail(e, "out of memory");
			goto bad;
		}
	}
	/* A build's blobs stay only once index.json names its manifest (oci_build_commit). */
	b->layout->provisional = 1;
	*out = b;
	return 0;
bad:
	oci_build_free(b);
	return -1;
}

void
oci_build_free(struct oci_build *b)
{
	if (b == NULL)
		return;
	oci_layout_close(b->layout);
	json_decref(b->config);
	json_decref(b->layers);
	json_decref(b->annotations);
	free(b->tag);
	free(b);
}

/*
 * The offset of the first byte of s that is not UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or -1 when all is.
 */
static long
bad_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *start = p;
	unsigned c, n, i, min;

	while (*p) {
		c = *p;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, min = 0x80, c &= 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, min = 0x800, c &= 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, min = 0x10000, c &= 0x07;
		else
			return p - start;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return p - start;
			c = c << 6 | (p[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return p - start;
		p += n + 1;
	}
	return -1;
}

/* image-spec config.md's strings are JSON strings, which are UTF-8 (RFC 8259). */
static int
check_utf8(const char *what, const char *s, struct oci_err *e)
{
	long at = bad_utf8(s);

	if (at < 0)
		return 0;
	return oci_fail(e, "%s: byte %ld (0x%02x) is not UTF-8, and a config's strings are JSON, "
	    "which is UTF-8", what, at + 1, (unsigned char)s[at]);
}

/* image-spec config.md "history": one entry per step, in order; created_by is printf'd. */
static int
add_history(struct oci_build *b, int empty_layer, struct oci_err *e, const char *fmt, ...)
{
	json_t *h = json_object_get(b->config, "history"), *entry;
	char *created_by;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&created_by, fmt, ap);
	va_end(ap);
	if (n < 0)
		return oci_fail(e, "out of memory");
	if (!json_is_array(h)) {
		h = json_array();
		json_object_set_new(b->config, "history", h);
	}
	entry = json_pack("{s:s, s:s}", "created", b->created, "created_by", created_by);
	if (entry && empty_layer)
		json_object_set_new(entry, "empty_layer", json_true());
	if (entry == NULL || json_array_append_new(h, entry) < 0) {
		free(created_by);
		return oci_fail(e, "out of memory");
	}
	json_object_set_new(b->config, "created", json_string(b->created));
	oci_say("config history: %s%s", created_by, empty_layer ? " (no layer)" : "");
	free(created_by);
	return 0;
}

int
oci_build_add_layer(struct oci_build *b, const struct oci_layer *layer, const char *created_by,
    struct oci_err *e)
{
	json_t *diff_ids = json_object_get(json_object_get(b->config, "rootfs"), "diff_ids");

	if (check_utf8("created_by", created_by, e) < 0)
		return -1;
	if (json_array_append_new(diff_ids, json_string(layer->diff_id)) < 0 ||
	    json_array_append_new(b->layers, oci_desc_new(OCI_MT_LAYER_GZIP, layer->digest,
	    layer->size)) < 0)
		return oci_fail(e, "out of memory");
	return add_history(b, 0, e, "%s", created_by);
}

/* The "config" object of the config (the runtime settings), made when missing. */
static json_t *
settings(struct oci_build *b)
{
	json_t *c = json_object_get(b->config, "config");

	if (!json_is_object(c)) {
		c = json_object();
		json_object_set_new(b->config, "config", c);
	}
	return c;
}

/* Set or remove NAME in the settings' Env array ("K=V" strings): value NULL removes. */
static int
env_edit(json_t *env, const char *name, size_t nlen, const char *kv)
{
	const char *s;
	size_t i;
	json_t *v;

	json_array_foreach(env, i, v) {
		s = json_string_value(v);
		if (s && strncmp(s, name, nlen) == 0 && s[nlen] == '=') {
			if (kv)
				return json_array_set_new(env, i, json_string(kv)) == 0;
			json_array_remove(env, i);
			return 1;
		}
	}
	if (kv)
		return json_array_append_new(env, json_string(kv)) == 0;
	return 0;
}

int
oci_build_env(struct oci_build *b, const char *kv, int unset, struct oci_err *e)
{
	json_t *c = settings(b), *env = json_object_get(c, "Env");
	const char *eq = strchr(kv, '=');
	size_t nlen = unset ? strlen(kv) : (size_t)(eq ? eq - kv : 0);

	if (check_utf8("Env", kv, e) < 0)
		return -1;
	if (nlen == 0 || (unset && eq))
		return oci_fail(e, "\"%s\": %s", kv, unset ? "expected a variable NAME" : "expected NAME=VALUE");
	if (!json_is_array(env)) {
		env = json_array();
		json_object_set_new(c, "Env", env);
	}
	if (env_edit(env, kv, nlen, unset ? NULL : kv) == 0) {
		if (!unset)
			return oci_fail(e, "out of memory");
		oci_warn("no variable %s in Env to unset", kv);
		return 0;
	}
	return add_history(b, 1, e, NOP "ENV %s%s", kv, unset ? "-" : "");
}

int
oci_build_label(struct oci_build *b, const char *kv, int unset, struct oci_err *e)
{
	json_t *c = settings(b), *labels = json_object_get(c, "Labels");
	const char *eq = strchr(kv, '=');
	char *name;

	if (check_utf8("Labels", kv, e) < 0)
		return -1;
	if (unset ? kv[0] == '\0' : (eq == NULL || eq == kv))
		return oci_fail(e, "\"%s\": %s", kv, unset ? "expected a label KEY" : "expected KEY=VALUE");
	if (!json_is_object(labels)) {
		labels = json_object();
		json_object_set_new(c, "Labels", labels);
	}
	name = unset ? strdup(kv) : strndup(kv, eq - kv);
	if (name == NULL)
		return oci_fail(e, "out of memory");
	if (unset && json_object_del(labels, name) < 0) {
		oci_warn("no label %s to unset", name);
		free(name);
		return 0;
	}
	if (!unset)
		json_object_set_new(labels, name, json_string(eq + 1));
	free(name);
	return add_history(b, 1, e, NOP "LABEL %s%s", kv, unset ? "-" : "");
}

/* The Dockerfile instruction that sets a field, for the history entry. */
static const char *
instruction(const char *field)
{
	if (strcmp(field, "Entrypoint") == 0)
		return "ENTRYPOINT";
	if (strcmp(field, "Cmd") == 0)
		return "CMD";
	if (strcmp(field, "WorkingDir") == 0)
		return "WORKDIR";
	return "USER";
}

int
oci_build_argv(struct oci_build *b, const char *field, char *const *argv, size_t n,
    struct oci_err *e)
{
	json_t *list = NULL, *v;
	json_error_t je;
	char *text;
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if (check_utf8(field, argv[i], e) < 0)
			return -1;
	/* One argument that is a JSON array of strings is the whole list, as in
	 * `buildah config --entrypoint '["/bin/sh"]'`; a single "" clears the field. */
	if (n == 1 && argv[0][0] == '[' && (list = json_loads(argv[0], 0, &je)) != NULL) {
		json_array_foreach(list, i, v)
			if (!json_is_string(v)) {
				json_decref(list);
				return oci_fail(e, "%s %s: not an array of strings", field, argv[0]);
			}
	} else {
		list = json_array();
		for (i = 0; list && i < n && !(n == 1 && argv[0][0] == '\0'); i++)
			json_array_append_new(list, json_string(argv[i]));
	}
	if (list == NULL)
		return oci_fail(e, "out of memory");
	text = json_dumps(list, JSON_COMPACT);
	if (json_array_size(list) == 0)
		json_object_del(settings(b), field);
	else
		json_object_set(settings(b), field, list);
	json_decref(list);
	if (text == NULL)
		return oci_fail(e, "out of memory");
	rc = add_history(b, 1, e, NOP "%s %s", instruction(field), text);
	free(text);
	return rc;
}

int
oci_build_string(struct oci_build *b, const char *field, const char *value, struct oci_err *e)
{
	if (check_utf8(field, value, e) < 0)
		return -1;
	if (value[0] == '\0')
		json_object_del(settings(b), field);
	else
		json_object_set_new(settings(b), field, json_string(value));
	return add_history(b, 1, e, NOP "%s %s", instruction(field), value);
}

/* Store a JSON document as a blob: its descriptor, or NULL. */
static json_t *
put_doc(struct oci_layout *l, const json_t *doc, const char *media_type, struct oci_err *e)
{
	char digest[OCI_DIGEST_MAX], *text;
	size_t len;
	json_t *d = NULL;

	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		oci_fail(e, "out of memory");
		return NULL;
	}
	len = strlen(text);
	if (oci_blob_put(l, text, len, digest, e) == 0) {
		d = oci_desc_new(media_type, digest, len);
		oci_say("%s %s (%zu bytes) written", oci_media_short(media_type), oci_short(digest), len);
	}
	free(text);
	return d;
}

int
oci_build_commit(struct oci_build *b, FILE *out, struct oci_err *e)
{
	json_t *config, *manifest, *desc;
	int rc;

	config = put_doc(b->layout, b->config, OCI_MT_CONFIG, e);
	if (config == NULL)
		return oci_context(e, "config");
	manifest = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", OCI_MT_MANIFEST,
	    "config", config, "layers", b->layers);
	if (manifest && b->annotations)
		json_object_set(manifest, "annotations", b->annotations);
	if (manifest == NULL)
		return oci_fail(e, "out of memory");
	desc = put_doc(b->layout, manifest, OCI_MT_MANIFEST, e);
	json_decref(manifest);
	if (desc == NULL)
		return oci_context(e, "manifest");
	rc = oci_layout_tag(b->layout, b->tag, desc, e);
	if (rc < 0)
		oci_context(e, "tag %s", b->tag);
	else
		oci_say("index.json: tag %s → manifest %s", b->tag,
		    oci_short(json_string_value(json_object_get(desc, "digest"))));
	if (rc == 0 && oci_desc_write(out, desc) < 0)
		rc = oci_fail_errno(e, "write");
	json_decref(desc);
	return rc;
}
