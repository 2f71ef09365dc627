/*
 * lib/base/digest.c — naming bytes by their content.
 *
 * image-spec descriptor.md "Digests": algorithm ":" encoded.  We implement
 * sha256 (the one every registry uses) and sha512, hash with OpenSSL's EVP
 * interface (which uses the CPU's SHA instructions where it has them), and
 * stream: nothing here holds more than one buffer of input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "base.h"

struct oci_hash {
	EVP_MD_CTX *ctx;
	enum oci_alg alg;
	uint64_t size;
};

int
oci_alg_parse(const char *name, enum oci_alg *alg, struct oci_err *e)
{
	if (strcmp(name, "sha256") == 0)
		*alg = OCI_SHA256;
	else if (strcmp(name, "sha512") == 0)
		*alg = OCI_SHA512;
	else
		return oci_fail(e, "unsupported digest algorithm \"%s\" (sha256 or sha512)", name);
	return 0;
}

const char *
oci_alg_name(enum oci_alg alg)
{
	return alg == OCI_SHA512 ? "sha512" : "sha256";
}

/* How many hex digits a digest of this algorithm has (64 or 128). */
static size_t
oci_alg_hexlen(enum oci_alg alg)
{
	return alg == OCI_SHA512 ? 128 : 64;
}

int
oci_digest_check(const char *digest, enum oci_alg *alg, struct oci_err *e)
{
	const char *colon, *p;
	char name[16];
	enum oci_alg a = OCI_SHA256;
	size_t n;

	if (digest == NULL)
		return oci_fail(e, "missing digest");
	colon = strchr(digest, ':');
	if (colon == NULL || colon == digest || (size_t)(colon - digest) >= sizeof name)
		return oci_fail(e, "bad digest \"%.80s\": expected algorithm:hex", digest);
	memcpy(name, digest, colon - digest);
	name[colon - digest] = '\0';
	if (oci_alg_parse(name, &a, e) < 0)
		return oci_context(e, "digest \"%.80s\"", digest);
	/* Lowercase hex only, exactly as long as the algorithm's output. */
	for (p = colon + 1, n = 0; *p; p++, n++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return oci_fail(e, "bad digest \"%.80s\": not lowercase hex", digest);
	if (n != oci_alg_hexlen(a))
		return oci_fail(e, "bad digest \"%.80s\": %s needs %zu hex digits, not %zu",
		    digest, name, oci_alg_hexlen(a), n);
	if (alg)
		*alg = a;
	return 0;
}

const char *
oci_digest_hex(const char *digest)
{
	const char *colon = strchr(digest, ':');

	return colon ? colon + 1 : digest;
}

struct oci_hash *
oci_hash_new(enum oci_alg alg)
{
	struct oci_hash *h = calloc(1, sizeof *h);

	if (h == NULL)
		return NULL;
	h->alg = alg;
	h->ctx = EVP_MD_CTX_new();
	if (h->ctx == NULL ||
	    !EVP_DigestInit_ex(h->ctx, alg == OCI_SHA512 ? EVP_sha512() : EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(h->ctx);
		free(h);
		return NULL;
	}
	return h;
}

void
oci_hash_update(struct oci_hash *h, const void *buf, size_t n)
{
	EVP_DigestUpdate(h->ctx, buf, n);
	h->size += n;
}

uint64_t
oci_hash_size(const struct oci_hash *h)
{
	return h->size;
}

void
oci_hash_final(struct oci_hash *h, char out[OCI_DIGEST_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0, i;
	char *p;

	EVP_DigestFinal_ex(h->ctx, md, &len);
	p = out + sprintf(out, "%s:", oci_alg_name(h->alg));
	for (i = 0; i < len; i++) {
		*p++ = hex[md[i] >> 4];
		*p++ = hex[md[i] & 15];
	}
	*p = '\0';
}

int
oci_hash_check(struct oci_hash *h, const char *want_digest, int64_t want_size,
    struct oci_err *e)
{
	char got[OCI_DIGEST_MAX];

	if (want_size >= 0 && h->size != (uint64_t)want_size)
		return oci_fail(e, "size mismatch: expected %lld bytes, got %llu",
		    (long long)want_size, (unsigned long long)h->size);
	oci_hash_final(h, got);
	if (want_digest && strcmp(got, want_digest) != 0)
		return oci_fail(e, "digest mismatch: expected %s, got %s", want_digest, got);
	return 0;
}

void
oci_hash_free(struct oci_hash *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int
oci_digest_fd(int fd, enum oci_alg alg, char out[OCI_DIGEST_MAX], uint64_t *size,
    struct oci_err *e)
{
	struct oci_hash *h;
	char *buf;
	ssize_t n;
	int rc = -1;

	h = oci_hash_new(alg);
	buf = malloc(OCI_IO_CHUNK);
	if (h == NULL || buf == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	for (;;) {
		n = read(fd, buf, OCI_IO_CHUNK);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			oci_fail_errno(e, "read");
			goto out;
		}
		oci_hash_update(h, buf, n);
	}
	if (size)
		*size = oci_hash_size(h);
	oci_hash_final(h, out);
	rc = 0;
out:
	free(buf);
	oci_hash_free(h);
	return rc;
}
