/*
 * lib/image/descriptor.c — descriptors, the links between blobs.
 *
 * image-spec descriptor.md: {"mediaType":…, "digest":…, "size":…} plus
 * optional fields (platform, annotations, urls) that we carry unchanged.
 * Programs pass descriptors to each other as one compact JSON object per
 * line, so that `oci-index L:latest | oci-manifest L` works like a pipe of
 * words.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* A descriptor line with annotations is small; this bounds a hostile one. */
#define DESC_LINE_MAX (1024 * 1024)

int
oci_desc_parse(const json_t *obj, struct oci_desc *d, struct oci_err *e)
{
	const json_t *mt, *dg, *sz;

	if (!json_is_object(obj))
		return oci_fail(e, "descriptor is not a JSON object");
	mt = json_object_get(obj, "mediaType");
	dg = json_object_get(obj, "digest");
	sz = json_object_get(obj, "size");
	if (!json_is_string(mt))
		return oci_fail(e, "descriptor has no mediaType string");
	if (!json_is_string(dg))
		return oci_fail(e, "descriptor has no digest string");
	if (oci_digest_check(json_string_value(dg), NULL, e) < 0)
		return oci_context(e, "descriptor");
	if (!json_is_integer(sz) || json_integer_value(sz) < 0)
		return oci_fail(e, "descriptor %s: size is not a non-negative integer",
		    oci_short(json_string_value(dg)));
	d->media_type = json_string_value(mt);
	d->digest = json_string_value(dg);
	d->size = json_integer_value(sz);
	return 0;
}

json_t *
oci_desc_new(const char *media_type, const char *digest, uint64_t size)
{
	return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest,
	    "size", (json_int_t)size);
}

int
oci_desc_read(FILE *in, json_t **obj, struct oci_err *e)
{
	char *line = NULL;
	size_t cap = 0, n;
	json_error_t je;
	ssize_t len;
	int c, rc;

	for (;;) {
		/* Read one line, refusing to grow past DESC_LINE_MAX. */
		n = 0;
		while ((c = getc(in)) != EOF && c != '\n') {
			if (n + 2 > cap) {
				char *p;
				if (cap >= DESC_LINE_MAX) {
					free(line);
					return oci_fail(e, "descriptor line longer than %d bytes",
					    DESC_LINE_MAX);
				}
				cap = cap ? cap * 2 : 1024;
				p = realloc(line, cap);
				if (p == NULL) {
					free(line);
					return oci_fail(e, "out of memory");
				}
				line = p;
			}
			line[n++] = (char)c;
		}
		if (c == EOF && n == 0) {
			rc = ferror(in) ? oci_fail_errno(e, "read descriptor") : 0;
			free(line);
			return rc;
		}
		len = n;
		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (len > 0)
			break;
	}
	*obj = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	free(line);
	if (*obj == NULL)
		return oci_fail(e, "descriptor line is not JSON: %s", je.text);
	if (!json_is_object(*obj)) {
		json_decref(*obj);
		*obj = NULL;
		return oci_fail(e, "descriptor line is not a JSON object");
	}
	return 1;
}

int
oci_desc_write(FILE *out, const json_t *obj)
{
	if (json_dumpf(obj, out, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0)
		return -1;
	if (putc('\n', out) == EOF)
		return -1;
	return 0;
}
