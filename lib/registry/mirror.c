/*
 * lib/registry/mirror.c — pull through a mirror first, from the origin when it fails.
 *
 * A class of thirty behind one address meets Docker Hub's pull rate limit;
 * a pull-through cache on the teacher's machine (docker-registry with a
 * proxy: section) serves every student after the first.  Where to look is
 * what users already configure: --mirror HOST[:PORT], then the mirrors of
 * the [[registry]] whose prefix matches the image longest in
 * registries.conf (containers-registries.conf(5)), in their order, and the
 * origin last (its location rewritten when the [[registry]] says so).
 * Each mirror must be reachable and have the image; the origin is the
 * answer when none does.  Every byte is verified against the digests
 * whichever place served it, so a mirror can make a pull fail, never
 * make it wrong.
 */
#define _GNU_SOURCE	/* asprintf, strncasecmp */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "registry.h"

#define CONNECT_TIMEOUT 3L	/* seconds to wait for a mirror to answer at all */

/* "registry/repo[:tag][@digest]", the name registries.conf prefixes match. */
static char *
full_name(const struct oci_source *src)
{
	char *s;

	if (asprintf(&s, "%s/%s%s%s%s%s", src->registry, src->repo, src->tag ? ":" : "",
	    src->tag ? src->tag : "", src->digest ? "@" : "", src->digest ? src->digest : "") < 0)
		return NULL;
	return s;
}

/* Does prefix match name: all of it, or up to a '/', ':' or '@'? */
static size_t
prefix_match(const char *prefix, const char *name)
{
	size_t n = strlen(prefix);

	if (n == 0 || strncmp(prefix, name, n) != 0)
		return 0;
	return name[n] == '\0' || strchr("/:@", name[n]) ? n : 0;
}

/* The [[registry]] whose prefix (or location, when it has none) matches name longest. */
static const struct oci_regconf_registry *
choose(const struct oci_regconf *c, const char *name, size_t *len)
{
	const struct oci_regconf_registry *best = NULL;
	size_t i, n;

	*len = 0;
	for (i = 0; c && i < c->nreg; i++) {
		n = prefix_match(c->reg[i].prefix ? c->reg[i].prefix : c->reg[i].location, name);
		if (n > *len) {
			*len = n;
			best = &c->reg[i];
		}
	}
	return best;
}

static int
add(struct oci_endpoint **eps, size_t *n, const char *ref, int insecure, const char *what,
    struct oci_err *e)
{
	struct oci_endpoint *p = realloc(*eps, (*n + 1) * sizeof **eps);

	if (p == NULL)
		return oci_fail(e, "out of memory");
	*eps = p;
	memset(&p[*n], 0, sizeof p[*n]);
	if (oci_source_parse(ref, &p[*n].src, e) < 0)
		return -1;
	p[*n].insecure = p[*n].http_fallback = insecure;
	snprintf(p[*n].what, sizeof p[*n].what, "%s", what);
	(*n)++;
	return 0;
}

/* location + what follows the prefix in name: where the image is in that place. */
static int
add_mapped(struct oci_endpoint **eps, size_t *n, const char *location, const char *rest,
    int insecure, const char *what, struct oci_err *e)
{
	char *ref;
	size_t hostlen;
	int rc;

	if (asprintf(&ref, "%s%s", location, rest) < 0)
		return oci_fail(e, "out of memory");
	/* the first part of a location is its host, where a name's could be read as a repository */
	hostlen = strcspn(location, "/");
	if (memchr(location, '.', hostlen) || memchr(location, ':', hostlen) ||
	    (hostlen == 9 && strncmp(location, "localhost", 9) == 0))
		rc = add(eps, n, ref, insecure, what, e);
	else
		rc = oci_fail(e, "%s: a registry host has a '.' or a ':' (teacher:5000, teacher.lan) "
		    "or is localhost", location);
	if (rc < 0)
		oci_context(e, "%s", what);
	free(ref);
	return rc;
}

int
oci_endpoints(const struct oci_source *src, const char *mirror, const struct oci_regconf *c,
    struct oci_endpoint **eps, size_t *n, struct oci_err *e)
{
	const struct oci_regconf_registry *reg;
	char *name = full_name(src), *ref = NULL, what[sizeof (*eps)->what];
	size_t len, i;
	int by_digest = src->digest != NULL;

	*eps = NULL;
	*n = 0;
	if (name == NULL)
		return oci_fail(e, "out of memory");
	reg = choose(c, name, &len);
	if (reg && reg->blocked) {
		oci_fail(e, "%s: blocked by %s ([[registry]] %s)", name, c->path ? c->path : "registries.conf",
		    reg->prefix ? reg->prefix : reg->location);
		goto bad;
	}
	if (mirror) {
		/* --mirror serves the same repository names (a pull-through cache does) */
		if (oci_host_check(mirror, e) < 0) {
			oci_context(e, "--mirror %s", mirror);
			goto bad;
		}
		if (add_mapped(eps, n, mirror, name + strlen(src->registry), 0, "--mirror", e) < 0)
			goto bad;
		/* a mirror named on the command line is trusted as a loopback one is */
		(*eps)[*n - 1].http_fallback = 1;
	}
	for (i = 0; reg && i < reg->nmirrors; i++) {
		const struct oci_regconf_mirror *m = &reg->mirrors[i];

		/* containers-registries.conf(5): mirror-by-digest-only, pull-from-mirror */
		if ((reg->digest_only && !by_digest) ||
		    (m->pull_from == OCI_PULL_FROM_DIGEST && !by_digest) ||
		    (m->pull_from == OCI_PULL_FROM_TAG && by_digest))
			continue;
		snprintf(what, sizeof what, "a mirror in %s", c->path ? c->path : "registries.conf");
		if (add_mapped(eps, n, m->location, name + len, m->insecure, what, e) < 0)
			goto bad;
	}
	if (reg && reg->location && reg->prefix && strcmp(reg->location, reg->prefix) != 0) {
		snprintf(what, sizeof what, "the location in %s", c->path ? c->path : "registries.conf");
		if (add_mapped(eps, n, reg->location, name + len, reg->insecure, what, e) < 0)
			goto bad;
	} else {
		if ((ref = strdup(name)) == NULL || add(eps, n, ref, reg && reg->insecure, "the origin", e) < 0) {
			if (ref == NULL)
				oci_fail(e, "out of memory");
			goto bad;
		}
		/* the origin keeps the source's own host (docker.io is served elsewhere) */
		free((*eps)[*n - 1].src.host);
		if (((*eps)[*n - 1].src.host = strdup(src->host)) == NULL) {
			oci_fail(e, "out of memory");
			goto bad;
		}
	}
	free(ref);
	free(name);
	return 0;
bad:
	free(ref);
	free(name);
	oci_endpoints_free(*eps, *n);
	*eps = NULL;
	*n = 0;
	return -1;
}

void
oci_endpoints_free(struct oci_endpoint *eps, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		oci_source_free(&eps[i].src);
	free(eps);
}

/* Does anything answer on host[:port] (443 when no port)?  A down mirror costs seconds, not retries. */
static int
reachable(const char *host, char *why, size_t cap)
{
	const char *close = strrchr(host, ']');
	int has_port = strchr(close ? close : host, ':') != NULL;
	char url[600];
	CURLcode res;
	CURL *c = curl_easy_init();

	if (c == NULL)
		return 1;
	/* http:// with CONNECT_ONLY: a TCP connection and nothing more */
	snprintf(url, sizeof url, "http://%s%s/", host, has_port ? "" : ":443");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	oci_http_easy(c, "oci-fetch/" OCI_VERSION, NULL, CONNECT_TIMEOUT);
	res = curl_easy_perform(c);
	curl_easy_cleanup(c);
	if (res != CURLE_OK)
		snprintf(why, cap, "cannot connect: %s", curl_easy_strerror(res));
	return res == CURLE_OK;
}

int
oci_pull_through(const struct oci_source *src, const char *mirror,
    const struct oci_registry_opts *o, oci_endpoint_op op, void *arg, struct oci_err *e)
{
	struct oci_regconf c;
	struct oci_endpoint *eps = NULL;
	struct oci_registry_opts ro;
	struct oci_registry *r;
	size_t n = 0, i;
	char why[256];
	int rc = -1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (oci_regconf_load(&c, e) < 0)
		return -1;
	if (c.path)
		oci_say("%s: %zu [[registry]] table%s", c.path, c.nreg, c.nreg == 1 ? "" : "s");
	if (oci_endpoints(src, mirror, &c, &eps, &n, e) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		const struct oci_endpoint *ep = &eps[i];
		int last = i + 1 == n;

		ro = *o;
		/* registries.conf insecure = true: plain HTTP or an untrusted certificate */
		ro.tls.insecure |= ep->insecure;
		ro.http_fallback |= ep->http_fallback;
		if (!last)
			oci_say("trying mirror %s/%s (%s)", ep->src.host, ep->src.repo, ep->what);
		else if (i > 0 || strcmp(ep->what, "the origin") != 0)
			oci_say("trying %s, %s/%s", ep->what, ep->src.host, ep->src.repo);
		if (!last && !reachable(ep->src.host, why, sizeof why)) {
			oci_warn("mirror %s: %s; trying the next place", ep->src.host, why);
			continue;
		}
		if (oci_registry_open(&ep->src, &ro, &r, e) == 0) {
			rc = op(r, &ep->src, arg, e);
			oci_registry_close(r);
			if (rc == 0) {
				if (n > 1)
					oci_say("served by %s %s", last ? "the origin," : "mirror", ep->src.host);
				break;
			}
		}
		if (last || rc == -2) {
			rc = -1;
			break;
		}
		oci_warn("mirror %s: %s; trying the next place", ep->src.host, e->msg);
	}
out:
	oci_endpoints_free(eps, n);
	oci_regconf_free(&c);
	return rc;
}
