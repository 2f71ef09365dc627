/*
 * lib/registry/registry.h — the registry wing: talking to a registry:
 * credentials, registries.conf, HTTP replies, auth, mirrors, transfers,
 * pull, push.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/registry/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_REGISTRY_H
#define OCI_REGISTRY_H

#include "layer/layer.h"

/* ----------------------------------------------------------------- http.c */

/*
 * How every request to a registry is made and its reply read: pulls,
 * pushes, the token service and the probes all go by these rules.  A
 * libcurl handle is a void * and a libcurl error an int here, to keep
 * curl.h out of oci.h.
 */

/* TLS for every connection: registry, token service, redirects. */
struct oci_tls {
	int insecure;		/* --insecure: accept any certificate */
	const char *cacert;	/* --cacert FILE, or NULL for the system's CAs */
};
/* Apply tls to a libcurl easy handle (a CURL *). */
void oci_tls_apply(void *curl, const struct oci_tls *tls);
/*
 * The options every easy handle to a registry has: no signals, the user
 * agent ("oci-fetch/0.1.0"), http and https only (redirects too), a
 * connection within timeout seconds (--timeout, > 0), and tls unless it is
 * NULL (a probe that believes nothing).
 */
void oci_http_easy(void *curl, const char *agent, const struct oci_tls *tls, double timeout);
/* The value of header name (any case) in one raw header line, trimmed and malloc'd; NULL when the line is another header. */
char *oci_http_header(const char *line, size_t len, const char *name);
/* A Retry-After value (RFC 9110: delay-seconds or an HTTP-date) in seconds from now; -1 when unreadable. */
double oci_http_retry_after(const char *value);
/*
 * The registry's own words in an error body {"errors":[{"code":…,"message":…}]}:
 * ": CODE message" into buf, escaped (they are untrusted), or "" when
 * there are none.  Returns buf.
 */
const char *oci_http_words(const char *body, char *buf, size_t cap);
/* What a reply's status asks for: the credentials were refused (401, 403), try again (429, 5xx), or neither. */
enum oci_http_class { OCI_HTTP_OTHER, OCI_HTTP_DENIED, OCI_HTTP_AGAIN };
enum oci_http_class oci_http_class(long code);
/* Is res (a CURLcode) a libcurl error that trying again cannot help: TLS, DNS, a refused connection, a bad URL, a reply that is not HTTP? */
int oci_http_final(int res);
/*
 * The one wait before trying again, for pulls and pushes: the registry's
 * Retry-After when it sent one (retry_after >= 0), else 0.25 s doubled
 * after each of the failed attempts; at most max_wait either way.  -1 when
 * the registry asks for longer than timeout (--timeout): a refusal, not a
 * wait.
 */
double oci_http_wait(double retry_after, int failed, double max_wait, double timeout);
/* A request is tried at most this many times. */
#define OCI_ATTEMPTS 6
/* -v: a RateLimit-* (or Docker-RateLimit-Source) header line, said as it came. */
void oci_say_ratelimit(const char *line, size_t len);

/* -------------------------- auth.c creds.c registry.c transfer.c pull.c */

/*
 * Pulling from a registry: the Docker Registry HTTP API V2, which the OCI
 * distribution-spec standardised.
 */

/* A WWW-Authenticate challenge (RFC 7235) with the parameters registries use
 * (public for tests/fuzz: the challenge is untrusted text). */
struct oci_challenge {
	char scheme[16];	/* "Bearer" or "Basic" */
	char *realm, *service, *scope;	/* NULL when absent */
};
int oci_challenge_parse(const char *header, struct oci_challenge *c, struct oci_err *e);
void oci_challenge_free(struct oci_challenge *c);

/*
 * Credentials for registry (repo narrows the match, as containers-auth.json
 * allows) from the first of: authfile, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json (or
 * $DOCKER_CONFIG/config.json), each with its credential helpers (creds.c).
 * Returns 1 and sets *user and *pass (caller frees), 0 when no file names
 * the registry, -1 when a file is unreadable or malformed or a helper
 * fails.  An identity token (an OAuth2 refresh token) comes back as user
 * OCI_IDENTITY_TOKEN_USER with the token as *pass, as credential helpers
 * return it.
 */
#define OCI_IDENTITY_TOKEN_USER "<token>"
int oci_creds_find(const char *registry, const char *repo, const char *authfile,
    char **user, char **pass, struct oci_err *e);

/* Credentials and cached tokens for one registry.  Free with oci_auth_free. */
struct oci_auth;
struct oci_auth *oci_auth_new(const char *user, const char *pass, const struct oci_tls *tls);
void oci_auth_free(struct oci_auth *a);
/* "Authorization: …" for scope, or NULL when there is none (or it expired). Borrowed. */
const char *oci_auth_header(struct oci_auth *a, const char *scope);
/*
 * Answer a 401's WWW-Authenticate: Bearer asks the realm for a token for
 * scope (with the credentials, if any; the token service must answer
 * within timeout seconds) and caches it for expires_in seconds; Basic
 * sends the credentials (an error when there are none).
 */
int oci_auth_answer(struct oci_auth *a, const char *challenge, const char *scope,
    double timeout, struct oci_err *e);

struct oci_registry_opts {
	int plain_http;		/* --plain-http: never try TLS */
	int http_fallback;	/* plain HTTP when the port does not speak TLS, as for loopback */
	struct oci_tls tls;
	const char *user, *pass;	/* NULL: from the auth files */
	const char *authfile;	/* --authfile, or NULL */
	int jobs;		/* parallel downloads, >= 1 */
	double timeout;		/* --timeout seconds; 0: OCI_TIMEOUT_DEFAULT */
	/* Called as blobs download or upload (NULL: never); oci_meter_blobs draws it. */
	void (*progress)(void *arg, const struct oci_progress *p);
	void *progress_arg;
	const struct oci_blob_watch *watch;	/* NULL: none */
};

/*
 * Told of each blob as it downloads into a layout, so that it can be read
 * while it lands (oci-fetch --store extracts layers so: lib/mount/store_pull.c).
 * start: the blob's bytes are going into the file fd (borrowed: open your
 * own, e.g. through /proc/self/fd); grow: fd holds got bytes now; end: no
 * more will come, ok 1 when the blob was verified and stored under its
 * digest, 0 when the bytes were thrown away or kept for a later run.  A
 * blob that starts again from its first byte ends (0) and starts again.
 */
struct oci_blob_watch {
	void (*start)(void *arg, const char *digest, int fd);
	void (*grow)(void *arg, const char *digest, uint64_t got);
	void (*end)(void *arg, const char *digest, int ok);
	void *arg;
};

/*
 * One repository of one registry, reached: open says hello (GET /v2/),
 * settles HTTPS or plain HTTP and answers an auth challenge.  Every request
 * is retried with bounded backoff on 5xx, 429 (Retry-After) and dropped
 * connections ($OCI_FETCH_MAX_WAIT caps any one wait, in seconds; default
 * 10), resuming blobs with a Range request.  The timeout bounds every
 * wait: reply headers, a whole document with its retries, a stalled body,
 * a Retry-After.  src is borrowed.
 */
#define OCI_TIMEOUT_DEFAULT 30.0
struct oci_registry;
int oci_registry_open(const struct oci_source *src, const struct oci_registry_opts *o,
    struct oci_registry **r, struct oci_err *e);
void oci_registry_close(struct oci_registry *r);
/*
 * GET /v2/<repo>/manifests/<ref> (a tag or a digest), at most OCI_DOC_MAX
 * bytes.  *buf and *media_type are malloc'd; digest gets the bytes'
 * digest, which must equal ref when ref is a digest and the registry's
 * Docker-Content-Digest when it sends one.
 */
int oci_registry_manifest(struct oci_registry *r, const char *ref, char **buf, size_t *len,
    char **media_type, char digest[OCI_DIGEST_MAX], struct oci_err *e);
/*
 * Stream one blob to fd while hashing it (size < 0: any).  The bytes are
 * written before they can be checked: -1 at the end means the reader must
 * throw them away.
 */
int oci_registry_blob_fd(struct oci_registry *r, const char *digest, int64_t size, int fd,
    struct oci_err *e);
/*
 * Download the blobs that descs (a JSON array of descriptors) name into l,
 * -j at a time; blobs already there are skipped, and each is verified by
 * the blob writer before it gets its name.
 */
int oci_registry_blobs(struct oci_registry *r, struct oci_layout *l, const json_t *descs,
    struct oci_err *e);

/*
 * For lib/registry/push_req.c, which sends requests of its own to the registry open
 * reached: the base URL it settled on ("https://host:port"), the
 * credentials and tokens, and the options.  All borrowed.
 */
const char *oci_registry_base(const struct oci_registry *r);
struct oci_auth *oci_registry_auth(const struct oci_registry *r);
const struct oci_registry_opts *oci_registry_options(const struct oci_registry *r);
/*
 * The one retry rule, for pulls and pushes (oci_http_wait with r's
 * limits): before attempt failed+1, wait as the registry asked
 * (retry_after, from Retry-After; -1 when none), else 0.25 s doubled after
 * each failure; at most $OCI_FETCH_MAX_WAIT seconds (10 when unset).  -1
 * when the registry asks for longer than --timeout.
 */
double oci_registry_wait(const struct oci_registry *r, double retry_after, int failed);
/* What a manifest request accepts: OCI and Docker manifests and indexes. */
#define OCI_MANIFEST_ACCEPT "Accept: " OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " \
    OCI_MT_DOCKER_LIST ", " OCI_MT_DOCKER_MANIFEST

struct oci_pull_opts {
	const struct oci_platform *platform;	/* NULL: this machine's */
	int all;		/* keep the index and every platform's blobs */
	const char *tag;	/* the tag in index.json; NULL: none */
	/*
	 * NULL, or called once the manifest (json, of that digest) and its
	 * config are in l, before any layer is fetched; not with all.  -1 (e)
	 * stops the pull.
	 */
	int (*layers_next)(void *arg, struct oci_layout *l, const json_t *manifest, const char *digest,
	    struct oci_err *e);
	/* NULL, or the same once every blob is in, before index.json names the image. */
	int (*layers_in)(void *arg, struct oci_layout *l, const json_t *manifest, const char *digest,
	    struct oci_err *e);
	void *layers_arg;
};
/*
 * Pull src into l: the manifest (through an index to the platform), then
 * config and layers, then the manifests themselves, and index.json last,
 * so that it never points at a blob that is not in place.  *stored gets
 * the descriptor written to index.json (caller decrefs).
 */
int oci_pull(struct oci_registry *r, const struct oci_source *src, struct oci_layout *l,
    const struct oci_pull_opts *o, json_t **stored, struct oci_err *e);

/* ----------------------------------------------------------------- push.c */

struct oci_push_opts {
	const struct oci_platform *platform;	/* an index without all: NULL means this machine's */
	int all;		/* push the whole index and every platform */
	const char *mount_from;	/* a repository of the same registry that has the blobs, or NULL */
	int64_t chunk;		/* > 0: blobs bigger than this go up in PATCH requests of this size */
};
/*
 * Push the image that desc (a descriptor of l's index.json) names to dest's
 * repository, as distribution-spec "Push" describes: every blob first (a
 * HEAD skips those already there; with mount_from a POST asks the registry
 * to mount it from that repository; else an upload, -j at a time), then
 * the manifests, children of an index before the index, and last the
 * manifest under dest's tag (or its digest).  *pushed gets the descriptor
 * of what the tag names (caller decrefs).
 */
int oci_push(struct oci_registry *r, const struct oci_source *dest, struct oci_layout *l,
    const json_t *desc, const struct oci_push_opts *o, json_t **pushed, struct oci_err *e);
/*
 * What a push of desc sends: blobs gets every config and layer descriptor
 * (repeats included), manifests every manifest and index, children before
 * the index that names them; *top (borrowed from manifests) is the one the
 * tag names.  An index is followed to o's platform unless o->all.
 */
int oci_push_plan(struct oci_layout *l, const json_t *desc, const struct oci_push_opts *o,
    json_t *blobs, json_t *manifests, const json_t **top, struct oci_err *e);

/* ----------------------------------------------------- regconf.c, mirror.c */

/*
 * registries.conf (containers-registries.conf(5), version 2): the
 * [[registry]] tables and their [[registry.mirror]] tables; every other key
 * is read past.  pull_from is pull-from-mirror.
 */
enum { OCI_PULL_FROM_ALL, OCI_PULL_FROM_DIGEST, OCI_PULL_FROM_TAG };
struct oci_regconf_mirror {
	char *location;		/* host[:port][/namespace...] */
	int insecure, pull_from;
};
struct oci_regconf_registry {
	char *prefix, *location;	/* either may be NULL, not both */
	int insecure, blocked;
	int digest_only;	/* mirror-by-digest-only */
	struct oci_regconf_mirror *mirrors;
	size_t nmirrors;
};
struct oci_regconf {
	struct oci_regconf_registry *reg;
	size_t nreg;
	char *path;		/* the file read, or NULL when there was none */
};
/* Parse buf (name is the file, for messages: "NAME:LINE: what is wrong"). Free with oci_regconf_free. */
int oci_regconf_parse(const char *buf, size_t len, const char *name, struct oci_regconf *c,
    struct oci_err *e);
/*
 * Read the first of $CONTAINERS_REGISTRIES_CONF (which must exist),
 * ~/.config/containers/registries.conf, /etc/containers/registries.conf;
 * none there is an empty configuration.
 */
int oci_regconf_load(struct oci_regconf *c, struct oci_err *e);
void oci_regconf_free(struct oci_regconf *c);

/* One place to pull an image from: a mirror, or the origin. */
struct oci_endpoint {
	struct oci_source src;	/* the image's name in that place */
	int insecure;		/* registries.conf insecure = true */
	int http_fallback;	/* plain HTTP when its port does not speak TLS (--mirror, insecure) */
	char what[4200];	/* "--mirror", "a mirror in FILE", "the origin" */
};
/*
 * The places to try for src, in order: mirror (--mirror HOST[:PORT], or
 * NULL), the mirrors registries.conf c gives it (c may be NULL), and the
 * origin last.  A blocked [[registry]] is an error.  Free with oci_endpoints_free.
 */
int oci_endpoints(const struct oci_source *src, const char *mirror, const struct oci_regconf *c,
    struct oci_endpoint **eps, size_t *n, struct oci_err *e);
void oci_endpoints_free(struct oci_endpoint *eps, size_t n);
/*
 * What to do with one place: 0 done; -1 failed (the next place is tried);
 * -2 failed so that no other place may try again (bytes already went out).
 */
typedef int (*oci_endpoint_op)(struct oci_registry *r, const struct oci_source *src, void *arg,
    struct oci_err *e);
/*
 * Read registries.conf, then open each place for src in turn and call op
 * there, until one succeeds; a mirror that fails is a warning, the
 * origin's failure the error.  -v says which place served.
 */
int oci_pull_through(const struct oci_source *src, const char *mirror,
    const struct oci_registry_opts *o, oci_endpoint_op op, void *arg, struct oci_err *e);

#endif /* OCI_REGISTRY_H */
