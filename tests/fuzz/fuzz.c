/*
 * tests/fuzz/fuzz.c — libFuzzer entry points for the parsers that read
 * untrusted bytes: documents, descriptor lines, IMAGE arguments, digests,
 * registries.conf, image archives, tar entry names with their whiteouts, and
 * WWW-Authenticate challenges.  One is chosen at build time with
 * -DFUZZ_<name> (the Makefile's FUZZ list); `make fuzz` builds them all
 * into build/fuzz/ with clang, and `make fuzz-check` (part of `make check`)
 * runs each for a few seconds from its seed corpus, tests/fuzz/corpus/<name>/,
 * where a crash once found stays as a regression case.  Run one longer:
 * build/fuzz/doc -max_total_time=60
 */
#define _GNU_SOURCE	/* fmemopen, memfd_create */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "oci.h"

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct oci_err e;
	char *s = malloc(size + 1);

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
#if defined(FUZZ_doc)
	{
		enum oci_kind kind;
		json_t *doc;
		/* The first line, when short, is the descriptor's media type hint. */
		char *nl = memchr(s, '\n', size < 128 ? size : 128);
		const char *hint = NULL, *body = s;

		if (nl) {
			*nl = '\0';
			hint = s;
			body = nl + 1;
		}
		if (oci_doc_parse(body, size - (body - s), hint, &doc, &kind, &e) == 0) {
			struct oci_platform want = { "linux", "amd64", "" };
			if (kind == OCI_KIND_INDEX)
				oci_platform_pick(doc, &want, &e);
			json_decref(doc);
		}
	}
#elif defined(FUZZ_desc)
	{
		FILE *f = fmemopen(s, size, "r");
		struct oci_desc d;
		json_t *obj;

		while (f && oci_desc_read(f, &obj, &e) > 0) {
			if (oci_desc_parse(obj, &d, &e) == 0)
				oci_short(d.digest);
			json_decref(obj);
		}
		if (f)
			fclose(f);
	}
#elif defined(FUZZ_ref)
	{
		struct oci_ref ref;

		if (oci_ref_parse(s, &ref, &e) == 0)
			oci_ref_free(&ref);
	}
#elif defined(FUZZ_digest)
	{
		char path[4096];

		if (oci_digest_check(s, NULL, &e) == 0)
			oci_blob_path(s, path, sizeof path, &e);
		oci_short(s);
	}
#elif defined(FUZZ_regconf)
	{
		/* registries.conf bytes (NULs and all), then the mirrors they give two names */
		struct oci_regconf c;
		struct oci_endpoint *eps;
		struct oci_source src;
		const char *names[] = { "busybox", "127.0.0.1:5000/team/app@sha256:"
		    "0000000000000000000000000000000000000000000000000000000000000000" };
		size_t n, i;

		if (oci_regconf_parse((const char *)data, size, "fuzz.conf", &c, &e) == 0) {
			for (i = 0; i < 2; i++) {
				if (oci_source_parse(names[i], &src, &e) < 0)
					continue;
				if (oci_endpoints(&src, i ? "mirror.example:5000" : NULL, &c, &eps, &n, &e) == 0)
					oci_endpoints_free(eps, n);
				oci_source_free(&src);
			}
			oci_regconf_free(&c);
		}
	}
#elif defined(FUZZ_archive)
	{
		/* The bytes as a docker archive (odd first byte) or an OCI archive, into one layout. */
		static struct oci_layout *l;
		struct oci_archive_ref a = { data[0] & 1 ? OCI_ARCHIVE_DOCKER : OCI_ARCHIVE_OCI, NULL, NULL };
		char path[64];
		json_t *stored;
		int fd = memfd_create("archive", 0);

		if (l == NULL && oci_layout_create("build/fuzz/archive-layout", &l, &e) < 0)
			abort();
		if (fd >= 0 && size > 0 && write(fd, data, size) == (ssize_t)size) {
			snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
			a.file = path;
			if (oci_archive_import(&a, l, NULL, NULL, data[0] & 2, &stored, &e) == 0)
				json_decref(stored);
		}
		if (fd >= 0)
			close(fd);
	}
#elif defined(FUZZ_path)
	{
		/* A tar entry's name, as oci-untar and oci-diff read it, and its whiteout. */
		char path[4096];
		const char *base, *target;

		if (oci_clean_path(s, path, &e) == 0) {
			base = strrchr(path, '/');
			base = base ? base + 1 : path;
			if (oci_whiteout_name(base, &target) == OCI_WH_FILE && strlen(target) == 0)
				abort();	/* ".wh." alone must be OCI_WH_BAD */
			if (strcmp(path, "..") == 0 || strncmp(path, "../", 3) == 0 || strstr(path, "/../"))
				abort();	/* a cleaned name never climbs out */
		}
	}
#elif defined(FUZZ_challenge)
	{
		struct oci_challenge c;
		char shown[256];

		if (oci_challenge_parse(s, &c, &e) == 0) {
			/* what -v and error messages do with the parts */
			oci_escape(shown, sizeof shown, c.realm ? c.realm : c.scheme);
			oci_escape(shown, sizeof shown, c.scope ? c.scope : "");
			oci_challenge_free(&c);
		}
	}
#else
#error "build with -DFUZZ_<name>, a name of the Makefile's FUZZ list"
#endif
	free(s);
	return 0;
}
