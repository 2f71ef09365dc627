/*
 * lib/image/source.c — an image's name in a registry, as docker and skopeo read it.
 *
 * [docker://][REGISTRY/]REPO[:TAG][@DIGEST].  The first path component is
 * a registry only when it looks like a host (it has a '.' or a ':', or is
 * "localhost"); otherwise the image is on Docker Hub, where a one-part name
 * lives under "library/".  The grammar is distribution's reference package:
 *   component  [a-z0-9]+ ((. | _ | __ | -+) [a-z0-9]+)*
 *   tag        [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
 */
#define _GNU_SOURCE	/* asprintf */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

#define NAME_MAX_LEN 255	/* distribution: a repository name's limit */
#define TAG_MAX_LEN 128

/* One path component of a repository name. */
static int
component_ok(const char *s, size_t n)
{
	size_t i = 0, sep;

	while (i < n) {
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]))
			return 0;
		while (i < n && (islower((unsigned char)s[i]) || isdigit((unsigned char)s[i])))
			i++;
		if (i == n)
			return 1;
		/* a separator: ".", "_", "__" or a run of "-", then more alphanumerics */
		sep = i;
		if (s[i] == '.')
			i++;
		else if (s[i] == '_')
			i += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
		else
			while (i < n && s[i] == '-')
				i++;
		if (i == sep || i == n)
			return 0;
	}
	return 0;
}

static int
repo_ok(const char *repo, struct oci_err *e)
{
	const char *p = repo, *slash;
	size_t n;

	if (strlen(repo) > NAME_MAX_LEN)
		return oci_fail(e, "repository name is longer than %d characters", NAME_MAX_LEN);
	for (const char *c = repo; *c; c++)
		if (isupper((unsigned char)*c))
			return oci_fail(e, "repository name must be lowercase");
	do {
		slash = strchr(p, '/');
		n = slash ? (size_t)(slash - p) : strlen(p);
		if (!component_ok(p, n))
			return oci_fail(e, "\"%.*s\" is not a valid repository name component", (int)n, p);
		p = slash + 1;
	} while (slash);
	return 0;
}

/*
 * The one tag grammar, for a registry's tags and a layout's alike (a tag
 * that LAYOUT:TAG or REPO:TAG could not name again is refused):
 * distribution-spec, [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
 */
int
oci_tag_check(const char *tag, struct oci_err *e)
{
	size_t n = strlen(tag), i;

	if (n == 0 || n > TAG_MAX_LEN)
		return oci_fail(e, "bad tag \"%s\": a tag has 1 to %d characters", tag, TAG_MAX_LEN);
	if (tag[0] == '.' || tag[0] == '-')
		return oci_fail(e, "bad tag \"%s\": a tag does not start with '%c'", tag, tag[0]);
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)tag[i]) && !strchr("_.-", tag[i]))
			return oci_fail(e, "bad tag \"%s\": a tag has no '%c' (only letters, digits, "
			    "'_', '.' and '-')", tag, tag[i]);
	return 0;
}

/* A registry host: DNS labels or an IPv4 address, or [IPv6], with an optional :port. */
static int
host_ok(const char *h)
{
	const char *p = h, *colon;

	if (*p == '[') {
		p = strchr(h, ']');
		if (p == NULL || p == h + 1)
			return 0;
		for (const char *c = h + 1; c < p; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
				return 0;
		p++;
	} else {
		for (; *p && *p != ':'; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '-')
				return 0;
		if (p == h || h[0] == '.' || h[0] == '-' || p[-1] == '.' || p[-1] == '-')
			return 0;
	}
	if (*p == '\0')
		return 1;
	if (*p != ':' || p[1] == '\0')
		return 0;
	for (colon = p + 1; *colon; colon++)
		if (!isdigit((unsigned char)*colon))
			return 0;
	return p[1] != '0' && strlen(p + 1) <= 5 && atoi(p + 1) <= 65535;
}

int
oci_host_check(const char *host, struct oci_err *e)
{
	return host_ok(host) ? 0 : oci_fail(e, "\"%s\" is not a registry host[:port]", host);
}

int
oci_host_is_loopback(const char *host)
{
	size_t n = strcspn(host, ":");

	if (strncmp(host, "[::1]", 5) == 0 || strcmp(host, "::1") == 0)
		return 1;
	if (n == 9 && strncmp(host, "localhost", 9) == 0)
		return 1;
	return strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == n;
}

/* The registry: a first component that looks like a host, else Docker Hub; *rest is what follows. */
static int
parse_registry(const char *name, struct oci_source *src, const char **rest, struct oci_err *e)
{
	const char *slash = strchr(name, '/');
	size_t hostlen = slash ? (size_t)(slash - name) : 0;

	if (slash && (memchr(name, '.', hostlen) || memchr(name, ':', hostlen) ||
	    (hostlen == 9 && strncmp(name, "localhost", 9) == 0) ||
	    memchr(name, '[', hostlen))) {
		src->registry = strndup(name, hostlen);
		*rest = slash + 1;
	} else {
		src->registry = strdup("docker.io");
		*rest = name;
	}
	if (src->registry && strcmp(src->registry, "index.docker.io") == 0) {
		free(src->registry);
		src->registry = strdup("docker.io");
	}
	if (src->registry == NULL)
		return oci_fail(e, "out of memory");
	if (!host_ok(src->registry))
		return oci_fail(e, "\"%s\" is not a registry host[:port]", src->registry);
	src->host = strdup(strcmp(src->registry, "docker.io") == 0 ? "registry-1.docker.io" :
	    src->registry);
	return src->host ? 0 : oci_fail(e, "out of memory");
}

/* REPO[:TAG][@DIGEST]: a one-part name on Docker Hub lives under "library/". */
static int
parse_repo(const char *rest, struct oci_source *src, struct oci_err *e)
{
	const char *at = strchr(rest, '@'), *slash, *colon;
	char *repo;
	int rc = -1;

	if (at && oci_digest_check(at + 1, NULL, e) < 0)
		return -1;
	if (at && (src->digest = strdup(at + 1)) == NULL)
		return oci_fail(e, "out of memory");
	if ((repo = strndup(rest, at ? (size_t)(at - rest) : strlen(rest))) == NULL)
		return oci_fail(e, "out of memory");
	slash = strrchr(repo, '/');
	colon = strrchr(slash ? slash : repo, ':');
	if (colon) {
		repo[colon - repo] = '\0';
		if (oci_tag_check(colon + 1, e) < 0)
			goto out;
		if ((src->tag = strdup(colon + 1)) == NULL) {
			oci_fail(e, "out of memory");
			goto out;
		}
	}
	if (repo[0] == '\0') {
		oci_fail(e, "no repository name");
		goto out;
	}
	if (repo_ok(repo, e) < 0)
		goto out;
	if (strcmp(src->registry, "docker.io") == 0 && strchr(repo, '/') == NULL) {
		if (asprintf(&src->repo, "library/%s", repo) < 0) {
			src->repo = NULL;
			oci_fail(e, "out of memory");
			goto out;
		}
	} else {
		src->repo = repo;
		repo = NULL;
	}
	rc = 0;
out:
	free(repo);
	return rc;
}

int
oci_source_parse(const char *arg, struct oci_source *src, struct oci_err *e)
{
	const char *name = arg, *rest;

	memset(src, 0, sizeof *src);
	if (strncmp(name, "docker://", 9) == 0)
		name += 9;
	else if (strstr(name, "://"))
		return oci_fail(e, "bad source \"%s\": only docker:// names a registry", arg);
	if (*name == '\0')
		return oci_fail(e, "bad source \"%s\": no repository", arg);
	if (parse_registry(name, src, &rest, e) < 0 || parse_repo(rest, src, e) < 0)
		goto bad;
	if (src->tag == NULL && src->digest == NULL && (src->tag = strdup("latest")) == NULL) {
		oci_fail(e, "out of memory");
		goto bad;
	}
	return 0;
bad:
	oci_source_free(src);
	return oci_context(e, "bad source \"%s\"", arg);
}

void
oci_source_free(struct oci_source *src)
{
	free(src->registry);
	free(src->host);
	free(src->repo);
	free(src->tag);
	free(src->digest);
	memset(src, 0, sizeof *src);
}
