/*
 * lib/layer/view.c — oci-view's page: a template with its style and script
 * inlined, and the data as JSON that no name in it can end.
 *
 * HTML (the "script data" state of the tokenizer) ends a <script> element
 * at the first "</script"; a JSON string may hold one, so every '<' (and
 * '>', '&') is written as a \u escape, which JSON.parse reads back as the
 * same character.  The page allows nothing but its own inline style and
 * script: the Content-Security-Policy names them by their sha256 (CSP
 * level 2 hash sources), so no other script on the page could run.
 */
#define _GNU_SOURCE	/* nftw's FTW_MOUNT */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>

#include "layer.h"

/* "'sha256-<base64>'" of n bytes. */
static void
csp_hash(const char *buf, size_t n, char out[80])
{
	unsigned char md[EVP_MAX_MD_SIZE], b64[64];
	unsigned len = 0;

	EVP_Digest(buf, n, md, &len, EVP_sha256(), NULL);
	EVP_EncodeBlock(b64, md, (int)len);
	snprintf(out, 80, "'sha256-%s'", (char *)b64);
}

/* The data, compact and ASCII, with no '<', '>' or '&' left. */
static int
write_data(FILE *out, const json_t *data, struct oci_err *e)
{
	char *s = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII), *p;

	if (s == NULL)
		return oci_fail(e, "out of memory");
	for (p = s; *p; p++) {
		if (*p == '<' || *p == '>' || *p == '&')
			fprintf(out, "\\u%04x", (unsigned char)*p);
		else
			putc(*p, out);
	}
	free(s);
	return 0;
}

int
oci_view_page(FILE *out, const struct oci_view_parts *p, const json_t *data, struct oci_err *e)
{
	const char *t = p->html, *end = p->html + p->html_len, *at;
	char css[80], js[80];

	csp_hash(p->css, p->css_len, css);
	csp_hash(p->js, p->js_len, js);
	while (t < end && (at = memchr(t, '@', (size_t)(end - t))) != NULL) {
		fwrite(t, 1, (size_t)(at - t), out);
		t = at + 1;
		if ((size_t)(end - t) >= 4 && memcmp(t, "CSP@", 4) == 0)
			fprintf(out, "default-src 'none'; style-src %s; script-src %s; "
			    "base-uri 'none'; form-action 'none'", css, js);
		else if ((size_t)(end - t) >= 4 && memcmp(t, "CSS@", 4) == 0)
			fwrite(p->css, 1, p->css_len, out);
		else if ((size_t)(end - t) >= 3 && memcmp(t, "JS@", 3) == 0)
			fwrite(p->js, 1, p->js_len, out);
		else if ((size_t)(end - t) >= 5 && memcmp(t, "DATA@", 5) == 0) {
			if (write_data(out, data, e) < 0)
				return -1;
		} else {
			putc('@', out);
			continue;
		}
		t = strchr(t, '@') + 1;
	}
	fwrite(t, 1, (size_t)(end - t), out);
	return 0;
}

static uint64_t du_bytes;

static int
du_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)path, (void)flag, (void)f;
	du_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

int
oci_disk_usage(const char *path, uint64_t *bytes, struct oci_err *e)
{
	du_bytes = 0;
	if (nftw(path, du_one, 32, FTW_PHYS | FTW_MOUNT) < 0)
		return oci_fail_errno(e, "%s", path);
	*bytes = du_bytes;
	return 0;
}
