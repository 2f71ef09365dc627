/*
 * lib/push.c — sending an image to a registry: the push half of the OCI
 * distribution-spec ("Push"), over the registry that registry.c opened.
 *
 *   HEAD  /v2/<name>/blobs/<digest>            200: the registry has it; nothing to send
 *   POST  /v2/<name>/blobs/uploads/?mount=<digest>&from=<other>
 *                                              201: mounted from another repository
 *   POST  /v2/<name>/blobs/uploads/            202 and a Location: an upload session
 *   PATCH <location>  (Content-Range: a-b)     one chunk; 202 and the next Location
 *   PUT   <location>?digest=<digest>           all the bytes (monolithic), or none
 *                                              after the chunks; 201: the blob is there
 *   HEAD, PUT /v2/<name>/manifests/<reference> manifests last: a registry refuses a
 *                                              manifest whose blobs it does not have
 *
 * Blobs go up -j at a time, one thread each: an upload is a conversation of
 * several requests, and reads best as straight-line code.  A step that
 * fails on 5xx, 429 or a dropped connection is tried again from its start
 * (an upload from its POST), after the same bounded backoff as a pull.
 */
#define _GNU_SOURCE	/* asprintf */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "oci.h"

#define MAX_ATTEMPTS 6		/* as registry.c */
#define FIRST_BACKOFF 0.25
#define DEFAULT_MAX_WAIT 10.0
#define MAX_DEPTH 8		/* nested indexes */

static const char manifest_accept[] = "Accept: " OCI_MT_INDEX ", " OCI_MT_MANIFEST ", "
    OCI_MT_DOCKER_LIST ", " OCI_MT_DOCKER_MANIFEST;

/* One blob to send. */
struct job {
	char digest[OCI_DIGEST_MAX];
	int64_t size;
	uint64_t sent;		/* bytes on their way, for progress (atomic) */
	int state;		/* 0 waiting, 1 in flight, 2 done (under lock) */
};

struct pusher {
	const char *base;	/* "https://host:port" */
	const struct oci_registry_opts *ro;
	struct oci_auth *auth;
	pthread_mutex_t auth_lock;
	const struct oci_source *dest;
	struct oci_layout *l;
	const struct oci_push_opts *o;
	char scope[600];	/* "repository:<name>:pull,push" */
	char mount_scope[1200];	/* ... and "repository:<from>:pull" */
	double max_wait;

	pthread_mutex_t lock;	/* the queue below */
	pthread_cond_t changed;
	struct job *jobs;
	size_t njobs, next, finished, workers;
	int stop;		/* a blob failed for good: the others give up (atomic) */
	struct oci_err err;	/* the first failure */
};

/* One request and its reply. */
struct req {
	const char *method;	/* HEAD POST PUT PATCH */
	char *url;		/* malloc'd */
	const char *scope;
	const char *accept;	/* a whole "Accept: …" line, or NULL */
	const char *content_type;
	char content_range[64];	/* "" when none */
	int fd;			/* a body from a blob file: len bytes at off (-1: none) */
	const char *mem;	/* or from memory */
	uint64_t off, len, pos;
	uint64_t *sent;		/* progress counter, or NULL */
	int *stop;

	long code;
	char *location, *digest, *www_auth;
	double retry_after;
	char body[512];		/* the start of an error reply */
	size_t bodylen;
};

static void
reply_clear(struct req *q)
{
	free(q->location);
	free(q->digest);
	free(q->www_auth);
	q->location = q->digest = q->www_auth = NULL;
	q->code = 0;
	q->retry_after = -1;
	q->bodylen = 0;
	q->body[0] = '\0';
}

static void
req_free(struct req *q)
{
	reply_clear(q);
	free(q->url);
	q->url = NULL;
}

/* The value of header `name` in one header line, trimmed; NULL when it is another. */
static char *
header(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name);
	const char *v, *end = line + len;

	if (len <= n + 1 || line[n] != ':' || strncasecmp(line, name, n) != 0)
		return NULL;
	for (v = line + n + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	return strndup(v, end - v);
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;
	char *v;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0)
		reply_clear(q);
	else if ((v = header(line, len, "Location")))
		free(q->location), q->location = v;
	else if ((v = header(line, len, "Docker-Content-Digest")))
		free(q->digest), q->digest = v;
	else if ((v = header(line, len, "WWW-Authenticate")))
		free(q->www_auth), q->www_auth = v;
	else if ((v = header(line, len, "Retry-After"))) {
		time_t when = curl_getdate(v, NULL);
		q->retry_after = *v && strspn(v, "0123456789") == strlen(v) ? atof(v) :
		    when > 0 ? difftime(when, time(NULL)) : -1;
		free(v);
	}
	return len;
}

/* Keep the start of the reply's body, for the registry's own words in an error. */
static size_t
on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n, k = sizeof q->body - 1 - q->bodylen;

	if (k > len)
		k = len;
	memcpy(q->body + q->bodylen, buf, k);
	q->bodylen += k;
	q->body[q->bodylen] = '\0';
	return len;
}

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t want = size * n;
	ssize_t k;

	if (q->stop && __atomic_load_n(q->stop, __ATOMIC_RELAXED))
		return CURL_READFUNC_ABORT;
	if (want > q->len - q->pos)
		want = q->len - q->pos;
	if (q->mem) {
		memcpy(buf, q->mem + q->pos, want);
	} else if (want > 0) {
		k = pread(q->fd, buf, want, (off_t)(q->off + q->pos));
		if (k <= 0)
			return CURL_READFUNC_ABORT;	/* the blob file shrank or broke */
		want = (size_t)k;
	}
	q->pos += want;
	if (q->sent)
		__atomic_store_n(q->sent, q->off + q->pos, __ATOMIC_RELAXED);
	return want;
}

/* libcurl rewinds a body it must send again (a redirect). */
static int
on_seek(void *arg, curl_off_t offset, int origin)
{
	struct req *q = arg;

	if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > q->len)
		return CURL_SEEKFUNC_FAIL;
	q->pos = (uint64_t)offset;
	return CURL_SEEKFUNC_OK;
}

/* The registry's own words from an error body: {"errors":[{"code":…,"message":…}]}. */
static const char *
words(struct req *q, char *buf, size_t cap)
{
	json_t *doc = json_loads(q->body, 0, NULL);
	json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *msg = json_string_value(json_object_get(first, "message"));

	char c[64], m[300];

	/* The registry's words are untrusted: no escape sequence reaches the terminal. */
	snprintf(buf, cap, "%s%s%s%s", code || msg ? ": " : "", code ? oci_escape(c, sizeof c, code) : "",
	    code && msg ? " " : "", msg ? oci_escape(m, sizeof m, msg) : "");
	json_decref(doc);
	return buf;
}

/*
 * The request as messages show it: path and query without scheme and host,
 * a long query value (distribution's opaque upload _state) cut to "…".
 */
static const char *
path_of(const struct req *q, char *buf, size_t cap)
{
	const char *p = strstr(q->url, "://"), *v;
	size_t n, len = 0;

	p = p ? strchr(p + 3, '/') : NULL;
	p = p ? p : q->url;
	n = strcspn(p, "?");
	len = (size_t)snprintf(buf, cap, "%.*s", (int)n, p);
	for (p += n; *p && len < cap; p += n) {
		n = 1 + strcspn(p + 1, "&");
		v = memchr(p, '=', n);
		if (v && n - (size_t)(v - p) > 72)
			len += (size_t)snprintf(buf + len, cap - len, "%.*s…", (int)(v - p + 1), p);
		else
			len += (size_t)snprintf(buf + len, cap - len, "%.*s", (int)n, p);
	}
	return buf;
}

/*
 * The request's headers: the registry's Authorization (only to the
 * registry itself, own), Accept, Content-Type and Content-Range.  What
 * Authorization was sent is kept in sent_auth ("" for none).
 */
static struct curl_slist *
req_headers(struct pusher *p, const struct req *q, int own, char *sent_auth, size_t cap)
{
	struct curl_slist *h = NULL;
	const char *auth;
	char line[128];

	sent_auth[0] = '\0';
	pthread_mutex_lock(&p->auth_lock);
	if (own && (auth = oci_auth_header(p->auth, q->scope)))
		snprintf(sent_auth, cap, "%s", auth);
	pthread_mutex_unlock(&p->auth_lock);
	if (sent_auth[0])
		h = curl_slist_append(h, sent_auth);
	if (q->accept)
		h = curl_slist_append(h, q->accept);
	if (q->content_type) {
		snprintf(line, sizeof line, "Content-Type: %s", q->content_type);
		h = curl_slist_append(h, line);
	}
	if (q->content_range[0]) {
		snprintf(line, sizeof line, "Content-Range: %s", q->content_range);
		h = curl_slist_append(h, line);
	}
	return curl_slist_append(h, "Expect:");	/* no 100-continue round trip */
}

/* c, reset and set for q: its method, headers h, and where its reply and body go. */
static void
req_setup(struct pusher *p, CURL *c, struct req *q, struct curl_slist *h)
{
	curl_easy_reset(c);
	reply_clear(q);
	q->pos = 0;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "oci-push/" OCI_VERSION);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
	oci_tls_apply(c, &p->ro->tls);
	if (strcmp(q->method, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(q->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	} else {
		/* PUT and PATCH carry a body (perhaps empty) read by on_read. */
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 1024L * 1024);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(c, CURLOPT_READDATA, q);
		curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
		curl_easy_setopt(c, CURLOPT_SEEKDATA, q);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->len);
		if (strcmp(q->method, "PUT") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

/* No reply came: -1 when trying again cannot help, 1 when it may. */
static int
transport_error(struct pusher *p, const struct req *q, CURLcode res, const char *where,
    struct oci_err *e)
{
	if (q->stop && __atomic_load_n(q->stop, __ATOMIC_RELAXED))
		return oci_fail(e, "%s %s: stopped", q->method, where);
	oci_fail(e, "%s %s%s: %s%s", q->method, p->base, where, curl_easy_strerror(res),
	    res == CURLE_PEER_FAILED_VERIFICATION ?
	    " (--cacert FILE to trust its CA, or --insecure)" : "");
	if (res == CURLE_OUT_OF_MEMORY && q->code == 0)
		/* libcurl refuses a header line over 100 KiB this way */
		return oci_fail(e, "%s %s: the registry sent a header line longer than "
		    "libcurl accepts (100 KiB)", q->method, where);
	switch (res) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_READ_ERROR:
	case CURLE_ABORTED_BY_CALLBACK:
		return -1;
	default:
		return 1;
	}
}

/* Answer q's 401 challenge, unless another thread already has (its header is not sent_auth). */
static int
answer_challenge(struct pusher *p, const struct req *q, const char *sent_auth, const char *where,
    struct oci_err *e)
{
	const char *auth;
	int rc = 0;

	pthread_mutex_lock(&p->auth_lock);
	auth = oci_auth_header(p->auth, q->scope);
	if ((auth == NULL || strcmp(auth, sent_auth) == 0) &&
	    oci_auth_answer(p->auth, q->www_auth, q->scope,
	    p->ro->timeout > 0 ? p->ro->timeout : OCI_TIMEOUT_DEFAULT, e) < 0)
		rc = oci_context(e, "%s %s", q->method, where);
	pthread_mutex_unlock(&p->auth_lock);
	return rc;
}

/*
 * Send one request, answering up to two auth challenges.  Returns 0 when a
 * reply came (q->code says which), 1 when the connection failed in a way
 * worth trying again, -1 when it failed for good.  The Authorization header
 * goes only to the registry itself, never to another host a Location names.
 */
static int
send_req(struct pusher *p, CURL *c, struct req *q, struct oci_err *e)
{
	struct curl_slist *h;
	char sent_auth[8192], where[1024], w[400];
	int answers = 0, own = strncmp(q->url, p->base, strlen(p->base)) == 0 &&
	    q->url[strlen(p->base)] == '/';
	CURLcode res;

	for (;;) {
		h = req_headers(p, q, own, sent_auth, sizeof sent_auth);
		req_setup(p, c, q, h);
		res = curl_easy_perform(c);
		curl_slist_free_all(h);
		path_of(q, where, sizeof where);
		if (res != CURLE_OK)
			return transport_error(p, q, res, where, e);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &q->code);
		oci_say("%s %s → %ld%s%s%s", q->method, where, q->code,
		    q->code == 401 && q->www_auth ? " " : "",
		    q->code == 401 && q->www_auth ? q->www_auth : "",
		    q->code >= 400 ? words(q, w, sizeof w) : "");
		if (q->code != 401 || q->www_auth == NULL || !own || answers++ == 2)
			return 0;
		if (answer_challenge(p, q, sent_auth, where, e) < 0)
			return -1;
	}
}

/* A reply that is not what the step wanted: 1 (try again) for 5xx and 429, else -1. */
static int
unexpected(struct req *q, struct oci_err *e)
{
	char where[1024], w[400];

	path_of(q, where, sizeof where);
	words(q, w, sizeof w);
	if (q->code == 401 || q->code == 403) {
		oci_fail(e, "%s %s: access denied (HTTP %ld%s)", q->method, where, q->code, w);
		return -1;
	}
	oci_fail(e, "%s %s: HTTP %ld%s", q->method, where, q->code, w);
	return q->code == 429 || q->code >= 500 ? 1 : -1;
}

/* q->url = the base, then the path made from fmt. */
static int
set_url(struct pusher *p, struct req *q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int
set_url(struct pusher *p, struct req *q, const char *fmt, ...)
{
	char *path;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&path, fmt, ap);
	va_end(ap);
	free(q->url);
	q->url = NULL;
	if (n < 0 || asprintf(&q->url, "%s%s", p->base, path) < 0)
		q->url = NULL;
	if (n >= 0)
		free(path);
	return q->url ? 0 : -1;
}

/*
 * Follow an upload's Location: an absolute URL, or a path on the registry
 * (distribution-spec: "the Location header … MAY be absolute or relative").
 * extra ("digest=…") is added to its query.
 */
static int
follow(struct pusher *p, struct req *q, const char *extra, struct oci_err *e)
{
	char *loc = q->location, *url = NULL;
	int rc;

	if (loc == NULL || *loc == '\0')
		return oci_fail(e, "%s: HTTP %ld without a Location", q->method, q->code);
	if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
		rc = asprintf(&url, "%s%s%s", loc, extra ? (strchr(loc, '?') ? "&" : "?") : "",
		    extra ? extra : "");
	else if (loc[0] == '/')
		rc = asprintf(&url, "%s%s%s%s", p->base, loc,
		    extra ? (strchr(loc, '?') ? "&" : "?") : "", extra ? extra : "");
	else
		return oci_fail(e, "%s: a Location that is neither a URL nor a path", q->method);
	if (rc < 0)
		return oci_fail(e, "out of memory");
	free(q->url);
	q->url = url;
	return 0;
}

/* ---- one blob ---- */

/*
 * distribution-spec "Mounting a blob from another repository", or else
 * POST to open an upload.  0 when the blob was mounted (*mounted) or an
 * upload is open (q->code 202), 1 to try again, -1 on failure.
 */
static int
open_upload(struct pusher *p, CURL *c, const struct job *j, struct req *q, int *mounted,
    struct oci_err *e)
{
	const char *name = p->dest->repo;
	int rc;

	*mounted = 0;
	q->method = "POST";
	if (p->o->mount_from) {
		q->scope = p->mount_scope;
		if (set_url(p, q, "/v2/%s/blobs/uploads/?mount=%s&from=%s", name, j->digest,
		    p->o->mount_from) < 0)
			return oci_fail(e, "out of memory");
		if ((rc = send_req(p, c, q, e)) != 0)
			return rc;
		if (q->code == 201) {
			oci_say("blob %s mounted from %s", oci_short(j->digest), p->o->mount_from);
			*mounted = 1;
			return 0;
		}
		q->scope = p->scope;
		if (q->code == 202)	/* the registry opened an upload instead */
			oci_say("%s has no blob %s to mount: uploading it", p->o->mount_from,
			    oci_short(j->digest));
	}
	if (q->code == 202)
		return 0;
	if (set_url(p, q, "/v2/%s/blobs/uploads/", name) < 0)
		return oci_fail(e, "out of memory");
	if ((rc = send_req(p, c, q, e)) != 0)
		return rc;
	return q->code == 202 ? 0 : unexpected(q, e);
}

/* Chunks of at most chunk bytes: PATCH with Content-Range, each reply naming where the next goes. */
static int
upload_chunks(struct pusher *p, CURL *c, const struct job *j, struct req *q, uint64_t chunk,
    struct oci_err *e)
{
	uint64_t off, n;
	int rc;

	for (off = 0; off < (uint64_t)j->size; off += n) {
		n = (uint64_t)j->size - off < chunk ? (uint64_t)j->size - off : chunk;
		if (follow(p, q, NULL, e) < 0)
			return -1;
		q->method = "PATCH";
		q->off = off;
		q->len = n;
		snprintf(q->content_range, sizeof q->content_range, "%llu-%llu",
		    (unsigned long long)off, (unsigned long long)(off + n - 1));
		if ((rc = send_req(p, c, q, e)) != 0)
			return rc;
		if (q->code != 202)
			return unexpected(q, e);
	}
	return 0;
}

/*
 * HEAD, then mount or upload.  Returns 0 when the registry has the blob,
 * 1 to try again from the start, -1 on failure.
 */
static int
push_blob(struct pusher *p, CURL *c, struct job *j, int fd, struct oci_err *e)
{
	struct req q = { .fd = -1, .sent = &j->sent, .stop = &p->stop };
	uint64_t chunk = p->o->chunk > 0 ? (uint64_t)p->o->chunk : 0;
	char digest_q[OCI_DIGEST_MAX + 16];
	int rc, mounted;

	__atomic_store_n(&j->sent, 0, __ATOMIC_RELAXED);
	q.method = "HEAD";
	q.scope = p->scope;
	if (set_url(p, &q, "/v2/%s/blobs/%s", p->dest->repo, j->digest) < 0) {
		rc = oci_fail(e, "out of memory");
		goto out;
	}
	if ((rc = send_req(p, c, &q, e)) != 0)
		goto out;
	if (q.code == 200) {
		oci_say("blob %s is in %s already", oci_short(j->digest), p->dest->repo);
		goto done;
	}
	if (q.code != 404 && q.code != 401 && q.code != 403) {
		rc = unexpected(&q, e);
		goto out;
	}
	if ((rc = open_upload(p, c, j, &q, &mounted, e)) != 0)
		goto out;
	if (mounted)
		goto done;
	q.fd = fd;
	q.content_type = "application/octet-stream";
	if (chunk > 0 && (rc = upload_chunks(p, c, j, &q, chunk, e)) != 0)
		goto out;
	/* The closing PUT: every byte (monolithic), or none after the chunks. */
	snprintf(digest_q, sizeof digest_q, "digest=%s", j->digest);
	if (follow(p, &q, digest_q, e) < 0) {
		rc = -1;
		goto out;
	}
	q.method = "PUT";
	q.content_range[0] = '\0';
	q.off = chunk > 0 ? (uint64_t)j->size : 0;
	q.len = chunk > 0 ? 0 : (uint64_t)j->size;
	if ((rc = send_req(p, c, &q, e)) != 0)
		goto out;
	if (q.code != 201) {
		rc = unexpected(&q, e);
		goto out;
	}
	oci_say("blob %s uploaded (%s%s)", oci_short(j->digest), oci_human_size(j->size),
	    chunk > 0 ? ", in chunks" : "");
done:
	__atomic_store_n(&j->sent, (uint64_t)j->size, __ATOMIC_RELAXED);
	rc = 0;
out:
	req_free(&q);
	return rc;
}

/* Run step until it is done, trying again with backoff while it says 1. */
static int
retrying(struct pusher *p, int (*step)(struct pusher *, CURL *, void *, struct oci_err *),
    CURL *c, void *arg, struct oci_err *e)
{
	double wait;
	int attempt, rc;

	for (attempt = 1;; attempt++) {
		if ((rc = step(p, c, arg, e)) <= 0)
			return rc;
		if (attempt >= MAX_ATTEMPTS)
			return oci_context(e, "gave up after %d attempts", attempt);
		if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
			return -1;
		wait = FIRST_BACKOFF * (1 << (attempt - 1));
		if (wait > p->max_wait)
			wait = p->max_wait;
		oci_warn("%s; trying again in %.1fs", e->msg, wait);
		usleep((useconds_t)(wait * 1e6));
	}
}

static int
blob_step(struct pusher *p, CURL *c, void *arg, struct oci_err *e)
{
	struct job *j = arg;
	struct stat st;
	int fd, rc;

	if ((fd = oci_blob_open(p->l, j->digest, e)) < 0)
		return oci_context(e, "blob %s", oci_short(j->digest));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size != j->size) {
		close(fd);
		return oci_fail(e, "blob %s: the layout's file is not the %lld bytes its descriptor says",
		    oci_short(j->digest), (long long)j->size);
	}
	rc = push_blob(p, c, j, fd, e);
	close(fd);
	return rc;
}

/* A thread: take the next blob from the queue until none is left or one failed. */
static void *
worker(void *arg)
{
	struct pusher *p = arg;
	struct oci_err e;
	struct job *j;
	CURL *c = curl_easy_init();

	for (;;) {
		pthread_mutex_lock(&p->lock);
		if (p->next == p->njobs || p->stop || c == NULL) {
			if (c == NULL && !p->stop) {
				oci_fail(&p->err, "out of memory");
				__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
			}
			p->workers--;
			pthread_cond_broadcast(&p->changed);
			pthread_mutex_unlock(&p->lock);
			break;
		}
		j = &p->jobs[p->next++];
		j->state = 1;
		pthread_mutex_unlock(&p->lock);

		int rc = retrying(p, blob_step, c, j, &e);

		pthread_mutex_lock(&p->lock);
		j->state = 2;
		p->finished++;
		if (rc < 0 && !p->stop) {
			p->err = e;
			__atomic_store_n(&p->stop, 1, __ATOMIC_RELAXED);
		}
		pthread_cond_broadcast(&p->changed);
		pthread_mutex_unlock(&p->lock);
	}
	if (c)
		curl_easy_cleanup(c);
	return NULL;
}

/* Progress while the threads work: the caller's callback about ten times a second. */
static void
watch(struct pusher *p)
{
	struct oci_progress_blob active[64];
	struct oci_progress pr;
	struct timespec until;
	size_t i;

	pthread_mutex_lock(&p->lock);
	while (p->workers > 0) {
		if (p->ro->progress) {
			pr = (struct oci_progress){ active, 0, p->finished, p->njobs, 0, 0, 0 };
			for (i = 0; i < p->njobs; i++) {
				uint64_t sent = __atomic_load_n(&p->jobs[i].sent, __ATOMIC_RELAXED);
				pr.total_bytes += (uint64_t)p->jobs[i].size;
				pr.bytes += sent;
				if (p->jobs[i].state == 1 && pr.nactive < 64)
					active[pr.nactive++] = (struct oci_progress_blob){
					    p->jobs[i].digest, sent, p->jobs[i].size };
			}
			p->ro->progress(p->ro->progress_arg, &pr);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 100 * 1000 * 1000;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&p->changed, &p->lock, &until);
	}
	pthread_mutex_unlock(&p->lock);
	if (p->ro->progress) {
		pr = (struct oci_progress){ active, 0, p->finished, p->njobs, 0, 0, 1 };
		p->ro->progress(p->ro->progress_arg, &pr);
	}
}

static int
push_blobs(struct pusher *p, struct oci_err *e)
{
	pthread_t t[64];
	size_t i, n = (size_t)p->ro->jobs;

	if (n > 64)
		n = 64;
	if (n > p->njobs)
		n = p->njobs;
	p->workers = 0;
	for (i = 0; i < n; i++) {
		pthread_mutex_lock(&p->lock);
		p->workers++;
		pthread_mutex_unlock(&p->lock);
		if (pthread_create(&t[i], NULL, worker, p) != 0) {
			pthread_mutex_lock(&p->lock);
			p->workers--;
			pthread_mutex_unlock(&p->lock);
			if (i == 0)
				return oci_fail(e, "cannot start a thread");
			break;
		}
	}
	n = i;
	watch(p);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (p->stop) {
		*e = p->err;
		return -1;
	}
	return 0;
}

/* ---- manifests ---- */

struct doc_put {
	const char *ref;	/* a tag or the digest */
	const char *digest, *media_type;
	const char *buf;
	size_t len;
};

/* HEAD: there already (with this digest)?  Else PUT. */
static int
manifest_step(struct pusher *p, CURL *c, void *arg, struct oci_err *e)
{
	struct doc_put *d = arg;
	struct req q = { .fd = -1, .scope = p->scope };
	int rc;

	q.method = "HEAD";
	q.accept = manifest_accept;
	if (set_url(p, &q, "/v2/%s/manifests/%s", p->dest->repo, d->ref) < 0) {
		req_free(&q);
		return oci_fail(e, "out of memory");
	}
	if ((rc = send_req(p, c, &q, e)) != 0)
		goto out;
	if (q.code == 200 && q.digest && strcmp(q.digest, d->digest) == 0) {
		oci_say("manifest %s is %s:%s already", oci_short(d->digest), p->dest->repo, d->ref);
		goto out;
	}
	q.method = "PUT";
	q.accept = NULL;
	q.content_type = d->media_type;
	q.mem = d->buf;
	q.len = d->len;
	if ((rc = send_req(p, c, &q, e)) != 0)
		goto out;
	if (q.code != 201) {
		rc = unexpected(&q, e);
		goto out;
	}
	/* The registry names what it stored: it must be these bytes. */
	if (q.digest && strcmp(q.digest, d->digest) != 0) {
		rc = oci_fail(e, "PUT manifest %s: the registry says it stored %s", d->digest, q.digest);
		goto out;
	}
	oci_say("manifest %s (%s) is %s:%s", oci_short(d->digest), oci_media_short(d->media_type),
	    p->dest->repo, d->ref);
out:
	req_free(&q);
	return rc;
}

static int
push_manifest(struct pusher *p, CURL *c, const json_t *desc, const char *ref,
    struct oci_err *e)
{
	struct doc_put d;
	struct oci_desc od;
	char *buf = NULL;
	size_t len;
	json_t *doc = NULL;
	enum oci_kind kind;
	const char *mt;
	int rc = -1;

	if (oci_desc_parse(desc, &od, e) < 0 ||
	    oci_blob_read(p->l, od.digest, od.size, &buf, &len, e) < 0 ||
	    oci_doc_parse(buf, len, od.media_type, &doc, &kind, e) < 0)
		goto out;
	/* The document's own mediaType wins over the descriptor's, as oci_doc_parse decides. */
	mt = json_string_value(json_object_get(doc, "mediaType"));
	d = (struct doc_put){ ref ? ref : od.digest, od.digest, mt ? mt : od.media_type, buf, len };
	rc = retrying(p, manifest_step, c, &d, e);
out:
	if (rc < 0)
		oci_context(e, "manifest %s", oci_short(od.digest ? od.digest : "?"));
	json_decref(doc);
	free(buf);
	return rc;
}

/* ---- what to send ---- */

/*
 * Walk from desc: blobs gets every config and layer, manifests every
 * manifest and index to send, children first.  An index is pushed whole
 * only with all; else the walk goes down to the platform's manifest.
 * *top is the descriptor the tag will name (borrowed from manifests).
 */
static int
plan(struct oci_layout *l, const struct oci_push_opts *o, const json_t *desc, int depth,
    json_t *blobs, json_t *manifests, const json_t **top, struct oci_err *e)
{
	struct oci_platform host;
	struct oci_desc d;
	const json_t *child;
	json_t *doc = NULL, *v;
	enum oci_kind kind;
	char *buf = NULL;
	size_t len, i;
	int rc = -1;

	if (depth > MAX_DEPTH)
		return oci_fail(e, "indexes nested more than %d deep", MAX_DEPTH);
	if (oci_desc_parse(desc, &d, e) < 0 ||
	    oci_blob_read(l, d.digest, d.size, &buf, &len, e) < 0 ||
	    oci_doc_parse(buf, len, d.media_type, &doc, &kind, e) < 0)
		goto out;
	if (kind == OCI_KIND_INDEX && !o->all) {
		if (o->platform == NULL)
			oci_platform_host(&host);
		if ((child = oci_platform_pick(doc, o->platform ? o->platform : &host, e)) == NULL)
			goto out;
		oci_say("index %s: %s → manifest %s (--all takes every platform)", oci_short(d.digest),
		    oci_platform_str(o->platform ? o->platform : &host),
		    oci_short(json_string_value(json_object_get(child, "digest"))));
		rc = plan(l, o, child, depth + 1, blobs, manifests, top, e);
		goto out;
	}
	if (kind == OCI_KIND_INDEX) {
		json_array_foreach(json_object_get(doc, "manifests"), i, v)
			if (plan(l, o, v, depth + 1, blobs, manifests, top, e) < 0)
				goto out;
	} else if (kind == OCI_KIND_MANIFEST) {
		if (json_array_append(blobs, json_object_get(doc, "config")) < 0)
			goto oom;
		json_array_foreach(json_object_get(doc, "layers"), i, v)
			if (json_array_append(blobs, v) < 0)
				goto oom;
	} else {
		oci_fail(e, "%s is a %s, not a manifest or an index", oci_short(d.digest),
		    oci_media_short(d.media_type));
		goto out;
	}
	if (json_array_append_new(manifests, oci_desc_new(d.media_type, d.digest, d.size)) < 0)
		goto oom;
	*top = json_array_get(manifests, json_array_size(manifests) - 1);
	rc = 0;
	goto out;
oom:
	oci_fail(e, "out of memory");
out:
	json_decref(doc);
	free(buf);
	return rc;
}

int
oci_push_plan(struct oci_layout *l, const json_t *desc, const struct oci_push_opts *o,
    json_t *blobs, json_t *manifests, const json_t **top, struct oci_err *e)
{
	return plan(l, o, desc, 0, blobs, manifests, top, e);
}

/* The distinct blobs of the plan, as jobs. */
static int
queue(struct pusher *p, const json_t *blobs, struct oci_err *e)
{
	struct oci_desc d;
	const json_t *v;
	size_t i, k;

	if ((p->jobs = calloc(json_array_size(blobs) + 1, sizeof *p->jobs)) == NULL)
		return oci_fail(e, "out of memory");
	json_array_foreach(blobs, i, v) {
		if (oci_desc_parse(v, &d, e) < 0)
			return -1;
		for (k = 0; k < p->njobs && strcmp(p->jobs[k].digest, d.digest) != 0; k++)
			;
		if (k < p->njobs)
			continue;
		snprintf(p->jobs[k].digest, sizeof p->jobs[k].digest, "%s", d.digest);
		p->jobs[k].size = d.size;
		p->njobs++;
	}
	return 0;
}

int
oci_push(struct oci_registry *r, const struct oci_source *dest, struct oci_layout *l,
    const json_t *desc, const struct oci_push_opts *o, json_t **pushed, struct oci_err *e)
{
	struct pusher p = { 0 };
	json_t *blobs = json_array(), *manifests = json_array();
	const json_t *top = NULL, *v;
	const char *env = getenv("OCI_FETCH_MAX_WAIT");
	struct oci_desc td;
	CURL *c = NULL;
	size_t i;
	int rc = -1;

	*pushed = NULL;
	p.base = oci_registry_base(r);
	p.ro = oci_registry_options(r);
	p.auth = oci_registry_auth(r);
	p.dest = dest;
	p.l = l;
	p.o = o;
	p.max_wait = env && *env ? atof(env) : DEFAULT_MAX_WAIT;
	if (p.max_wait < 0)
		p.max_wait = 0;
	pthread_mutex_init(&p.auth_lock, NULL);
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.changed, NULL);
	/* Docker's token specification: push needs "pull,push"; a mount, pull on the other repository too. */
	snprintf(p.scope, sizeof p.scope, "repository:%s:pull,push", dest->repo);
	snprintf(p.mount_scope, sizeof p.mount_scope, "%s repository:%s:pull", p.scope,
	    o->mount_from ? o->mount_from : "");
	if (blobs == NULL || manifests == NULL || (c = curl_easy_init()) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (plan(l, o, desc, 0, blobs, manifests, &top, e) < 0 || queue(&p, blobs, e) < 0 ||
	    oci_desc_parse(top, &td, e) < 0)
		goto out;
	if (dest->digest && strcmp(dest->digest, td.digest) != 0) {
		oci_fail(e, "the image is %s, not %s", td.digest, dest->digest);
		goto out;
	}
	oci_say("pushing %zu blobs and %zu manifests to %s/%s", p.njobs,
	    json_array_size(manifests), dest->registry, dest->repo);
	if (p.njobs > 0 && push_blobs(&p, e) < 0)
		goto out;
	/* Children of an index go by digest; the last one under the tag. */
	json_array_foreach(manifests, i, v)
		if (push_manifest(&p, c, v, v == top ? dest->tag : NULL, e) < 0)
			goto out;
	*pushed = json_deep_copy(top);
	rc = 0;
out:
	if (c)
		curl_easy_cleanup(c);
	json_decref(blobs);
	json_decref(manifests);
	free(p.jobs);
	pthread_mutex_destroy(&p.auth_lock);
	pthread_mutex_destroy(&p.lock);
	pthread_cond_destroy(&p.changed);
	return rc < 0 ? oci_context(e, "push to %s/%s", dest->registry, dest->repo) : 0;
}
