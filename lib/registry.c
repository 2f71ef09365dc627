/*
 * lib/registry.c — talking to a registry: the pull half of the Docker
 * Registry HTTP API V2 (OCI distribution-spec "Pull").
 *
 *   GET /v2/                          hello; a 401 here says how to authenticate
 *   GET /v2/<name>/manifests/<ref>    a manifest or index, by tag or digest
 *   GET /v2/<name>/blobs/<digest>     a config or layer (often a redirect to storage)
 *
 * Every request is a "transfer" run by libcurl's multi interface, so that
 * blobs download side by side.  A transfer's bytes go to a sink (memory for
 * documents, the layout's blob writer, or a file descriptor) while they are
 * hashed.  When a transfer fails it is tried again after a bounded backoff:
 * on 5xx, on 429 (after Retry-After), on a dropped connection (resuming with
 * "Range: bytes=N-"), and on a digest mismatch (from the start).  A 401 is
 * answered through auth.c and the request sent again.
 *
 * A registry may be broken or hostile, so every reply is checked, and
 * every wait is bounded by the --timeout limit (SECONDS below): a reply's
 * headers must come within SECONDS; a document (the /v2/ check, a
 * manifest) must come whole within SECONDS, its retries included; a body
 * must bring at least STALL_BYTES in every SECONDS; a Retry-After longer
 * than SECONDS is not waited for, and the waits between the attempts of
 * one request add up to SECONDS at most.  A reply that breaks a rule of HTTP or of
 * the distribution-spec fails with a message that says which.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "oci.h"

#define MAX_ATTEMPTS 6		/* a request is tried at most this often */
#define FIRST_BACKOFF 0.25	/* seconds; doubled after each failure */
#define DEFAULT_MAX_WAIT 10.0	/* seconds; $OCI_FETCH_MAX_WAIT overrides */
#define STALL_BYTES 1024	/* a body brings at least this much in every --timeout seconds */
#define PROBE_MAX 3.0		/* seconds for a loopback port to answer a TLS handshake */
#define HEADERS_MAX (256 * 1024)	/* bytes of headers in one reply */
#define PROGRESS_EVERY 0.1	/* seconds between progress calls */
#define WRITE_BUF (1024 * 1024)	/* libcurl hands over 16 KiB at a time; write in bigger pieces */

static const char manifest_accept[] = "Accept: " OCI_MT_INDEX ", " OCI_MT_MANIFEST ", "
    OCI_MT_DOCKER_LIST ", " OCI_MT_DOCKER_MANIFEST;

struct oci_registry {
	const struct oci_source *src;
	struct oci_registry_opts o;
	char base[300];		/* "https://host:port" */
	char scope[600];	/* "repository:<name>:pull" */
	struct oci_auth *auth;
	CURLM *multi;
	CURLSH *share;		/* connections, DNS and TLS sessions, shared by all transfers */
	double max_wait;
	double timeout;		/* seconds: --timeout */
};

enum sink { SINK_MEM, SINK_LAYOUT, SINK_FD };

struct xfer {
	struct oci_registry *r;
	CURL *easy;
	char path[700];		/* "/v2/library/busybox/blobs/sha256:…" */
	const char *accept;	/* an Accept: header, or NULL */
	char digest[OCI_DIGEST_MAX];	/* what the bytes must hash to; "" when unknown */
	int64_t size;		/* how many bytes they must be; -1 when unknown */

	enum sink sink;
	struct oci_layout *layout;	/* SINK_LAYOUT */
	struct oci_blob_writer *w;
	char *wbuf;			/* bytes on their way to w */
	size_t wlen;
	int fd;				/* SINK_FD */
	struct oci_hash *hash;
	char *mem;			/* SINK_MEM: at most OCI_DOC_MAX bytes */
	size_t memcap;
	uint64_t got;		/* bytes the sink holds (wbuf included) */

	/* the response being received */
	long code;
	int headers_done;	/* its headers ended with their blank line */
	size_t header_bytes;
	int encoded;		/* it came with a Content-Encoding (decoded by libcurl) */
	int body_started;
	int64_t range_start;	/* from Content-Range; -1 when none */
	char *content_type, *docker_digest, *www_auth;
	double retry_after;	/* seconds; -1 when none */
	char errbody[512];
	size_t errlen;
	int too_big, broken;	/* more bytes than allowed; a sink failed */
	int errbody_full;	/* an error reply was cut short once errbody was full */
	int fatal;		/* the reply breaks a rule: trying again would not help */
	char stop[200];		/* why on_progress or on_header stopped the transfer */
	char curl_err[CURL_ERROR_SIZE];
	struct curl_slist *headers;

	int attempts, auth_answers;
	int is_manifest;	/* a manifest request: Docker-Content-Digest is checked */
	double not_before;
	double waited;		/* seconds spent waiting to try again */
	double started;		/* when this attempt started */
	double deadline;	/* documents: when the request, retries included, must be done; 0: none */
	uint64_t seen;		/* bytes of body seen in this attempt */
	uint64_t mark_seen;	/* ... at mark_time, the start of the stall window */
	double mark_time;
	int active, done;
	struct oci_err err;
};

double
oci_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- one transfer ---- */

static void
response_reset(struct xfer *x)
{
	x->code = 0;
	x->headers_done = 0;
	x->header_bytes = 0;
	x->encoded = 0;
	x->body_started = 0;
	x->range_start = -1;
	x->retry_after = -1;
	x->errlen = 0;
	x->errbody[0] = '\0';
	x->errbody_full = 0;
	free(x->content_type);
	free(x->docker_digest);
	free(x->www_auth);
	x->content_type = x->docker_digest = x->www_auth = NULL;
}

/* Throw away what the sink holds, to start again from byte 0. */
static int
sink_reset(struct xfer *x)
{
	switch (x->sink) {
	case SINK_MEM:
		break;
	case SINK_LAYOUT:
		oci_blob_writer_abort(x->w);
		x->w = NULL;
		x->wlen = 0;
		break;
	case SINK_FD:
		if (x->got > 0)
			return oci_fail(&x->err, "the download broke after %llu bytes had been written out; it cannot start again",
			    (unsigned long long)x->got);
		break;
	}
	x->got = 0;
	return 0;
}

/* Hand the buffered bytes to the blob writer (made on first use). */
static int
flush(struct xfer *x)
{
	enum oci_alg alg;
	uint64_t had;

	/* A .partial file: what an interrupted run got is resumed by the next. */
	if (x->w == NULL) {
		if (oci_digest_check(x->digest, &alg, &x->err) < 0 ||
		    oci_blob_writer_resume(x->layout, x->digest, 0, &x->w, &had, &x->err) < 0)
			return -1;
	}
	if (x->wlen > 0 && oci_blob_writer_write(x->w, x->wbuf, x->wlen, &x->err) < 0)
		return -1;
	x->wlen = 0;
	return 0;
}

static int
sink_write(struct xfer *x, const char *buf, size_t n)
{
	switch (x->sink) {
	case SINK_MEM:
		memcpy(x->mem + x->got, buf, n);
		return 0;
	case SINK_LAYOUT:
		/* Made when the first bytes come, so a long list of blobs costs nothing up front. */
		if (x->wbuf == NULL && (x->wbuf = malloc(WRITE_BUF)) == NULL)
			return oci_fail(&x->err, "out of memory");
		/* ">=": a chunk of WRITE_BUF bytes or more needs the writer made by flush. */
		if (x->wlen + n >= WRITE_BUF && flush(x) < 0)
			return -1;
		if (n >= WRITE_BUF)
			return oci_blob_writer_write(x->w, buf, n, &x->err);
		memcpy(x->wbuf + x->wlen, buf, n);
		x->wlen += n;
		return 0;
	case SINK_FD:
		oci_hash_update(x->hash, buf, n);
		if (oci_write_all(x->fd, buf, n) < 0)
			return oci_fail_errno(&x->err, "write");
		return 0;
	}
	return 0;
}

static char *
header_value(const char *line, size_t len, const char *name)
{
	size_t n = strlen(name), end;

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return NULL;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	for (end = len; end > 0 && strchr(" \t\r\n", line[end - 1]); end--)
		;
	return strndup(line, end);
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;
	char *v;

	/* A new status line: a redirect's or the final response's. */
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		response_reset(x);
		x->header_bytes = len;
		return len;
	}
	/* libcurl keeps every header: a reply whose headers never end must not fill memory. */
	if ((x->header_bytes += len) > HEADERS_MAX) {
		snprintf(x->stop, sizeof x->stop, "the registry sent more than %d KiB of headers in one reply",
		    HEADERS_MAX / 1024);
		x->fatal = 1;
		return 0;
	}
	/* The blank line: without it, a reply cut off inside its headers looks complete. */
	if (strspn(line, "\r\n") == len) {
		x->headers_done = 1;
		x->mark_time = oci_now();
		return len;
	}
	if (!x->content_type && (x->content_type = header_value(line, len, "Content-Type")))
		x->content_type[strcspn(x->content_type, "; ")] = '\0';
	if (!x->docker_digest)
		x->docker_digest = header_value(line, len, "Docker-Content-Digest");
	if (!x->www_auth)
		x->www_auth = header_value(line, len, "WWW-Authenticate");
	if ((v = header_value(line, len, "Content-Encoding"))) {
		x->encoded |= strcasecmp(v, "identity") != 0;
		free(v);
	}
	oci_say_ratelimit(line, len);
	if ((v = header_value(line, len, "Retry-After"))) {
		/* RFC 9110: delay-seconds or an HTTP-date */
		time_t when = curl_getdate(v, NULL);
		x->retry_after = strspn(v, "0123456789") == strlen(v) && *v ? atof(v) :
		    when > 0 ? difftime(when, time(NULL)) : -1;
		free(v);
	}
	if ((v = header_value(line, len, "Content-Range"))) {
		long long start;
		if (sscanf(v, "bytes %lld-", &start) == 1 && start >= 0)
			x->range_start = start;
		free(v);
	}
	return len;
}

static size_t
on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct xfer *x = arg;
	size_t len = size * n;

	x->seen += len;
	if (!x->body_started) {
		x->body_started = 1;
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->code);
		/* A resumed download must go on where we stopped; anything else starts over. */
		if ((x->code == 200 && x->got > 0) ||
		    (x->code == 206 && x->range_start != (int64_t)x->got)) {
			if (sink_reset(x) < 0) {
				x->broken = 1;
				return 0;
			}
			if (x->code == 206 && x->range_start != 0) {
				x->code = 0;	/* a retry without Range */
				return 0;
			}
		}
	}
	if (x->code != 200 && x->code != 206) {
		/* an error reply: keep its start for the message */
		size_t k = len < sizeof x->errbody - 1 - x->errlen ? len : sizeof x->errbody - 1 - x->errlen;
		memcpy(x->errbody + x->errlen, buf, k);
		x->errlen += k;
		x->errbody[x->errlen] = '\0';
		/* The rest is not needed, and a hostile server's may never end. */
		if (x->errlen == sizeof x->errbody - 1) {
			x->errbody_full = 1;
			return 0;
		}
		return len;
	}
	if ((x->size >= 0 && x->got + len > (uint64_t)x->size) ||
	    (x->sink == SINK_MEM && x->got + len > x->memcap)) {
		x->too_big = 1;
		return 0;
	}
	if (sink_write(x, buf, len) < 0) {
		x->broken = 1;
		return 0;
	}
	x->got += len;
	return len;
}

/*
 * libcurl calls this at least once a second: the place to see that a reply
 * is late or stalls (a drip of a byte a second never trips libcurl's own
 * low-speed check in a useful time).
 */
static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer *x = arg;
	double t = oci_now(), limit = x->r->timeout;

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (x->deadline > 0 && t > x->deadline)
		snprintf(x->stop, sizeof x->stop, "no complete reply within %gs (--timeout)", limit);
	else if (!x->headers_done && t - x->started > limit)
		snprintf(x->stop, sizeof x->stop, "no reply headers within %gs (--timeout)", limit);
	else if (x->headers_done && x->seen - x->mark_seen >= STALL_BYTES) {
		x->mark_seen = x->seen;
		x->mark_time = t;
		return 0;
	} else if (x->headers_done && t - x->mark_time > limit)
		snprintf(x->stop, sizeof x->stop, "the reply stalled: less than %d bytes in %gs (--timeout)",
		    STALL_BYTES, limit);
	else
		return 0;
	return 1;
}

/* A transfer of /v2/<repo>/<kind>/<what> ("manifests", "latest"), or of /v2/ when kind is NULL. */
static struct xfer *
xfer_new(struct oci_registry *r, const char *kind, const char *what)
{
	struct xfer *x = calloc(1, sizeof *x);
	char url[1024];

	if (x == NULL || (x->easy = curl_easy_init()) == NULL) {
		free(x);
		return NULL;
	}
	x->r = r;
	x->size = -1;
	x->fd = -1;
	if (kind)
		snprintf(x->path, sizeof x->path, "/v2/%s/%s/%s", r->src->repo, kind, what);
	else
		snprintf(x->path, sizeof x->path, "/v2/");
	snprintf(url, sizeof url, "%s%s", r->base, x->path);
	curl_easy_setopt(x->easy, CURLOPT_URL, url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_SHARE, r->share);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, "oci-fetch/" OCI_VERSION);
	/*
	 * Blobs are often redirected to storage on another host.  libcurl
	 * follows, but sends our Authorization header only to the host we
	 * asked (CURLOPT_UNRESTRICTED_AUTH stays off): credentials never
	 * leave the registry.
	 */
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(r->timeout * 1000));
	/* Deadlines and stalls are watched by on_progress. */
	curl_easy_setopt(x->easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->curl_err);
	/*
	 * Digests are over the bytes as stored: ask for them unencoded.  A
	 * server that compresses anyway (Content-Encoding: gzip) is decoded by
	 * libcurl, and the digest decides whether what came out is right.
	 */
	curl_easy_setopt(x->easy, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(x->easy, CURLOPT_BUFFERSIZE, 256L * 1024);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	oci_tls_apply(x->easy, &r->o.tls);
	response_reset(x);
	return x;
}

static void
xfer_free(struct xfer *x)
{
	if (x == NULL)
		return;
	if (x->active)
		curl_multi_remove_handle(x->r->multi, x->easy);
	curl_easy_cleanup(x->easy);
	curl_slist_free_all(x->headers);
	response_reset(x);
	/* A download cut short keeps its bytes in .partial for the next run. */
	if (x->w && x->wlen > 0)
		oci_blob_writer_write(x->w, x->wbuf, x->wlen, &x->err);
	oci_blob_writer_suspend(x->w);
	oci_hash_free(x->hash);
	free(x->mem);
	free(x->wbuf);
	free(x);
}

static int
xfer_start(struct xfer *x, struct oci_err *e)
{
	const char *auth = oci_auth_header(x->r->auth, x->r->scope);
	char range[32];

	/* A Range counts bytes as sent: after a decoded reply, start again. */
	if (x->encoded && x->got > 0 && sink_reset(x) < 0)
		return oci_fail(e, "GET %s: %s", x->path, x->err.msg);
	response_reset(x);
	x->too_big = 0;
	x->fatal = 0;
	x->stop[0] = x->curl_err[0] = '\0';
	x->seen = x->mark_seen = 0;
	x->started = x->mark_time = oci_now();
	if (x->sink == SINK_MEM && x->deadline == 0)
		x->deadline = x->started + x->r->timeout;
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	if (x->accept)
		x->headers = curl_slist_append(x->headers, x->accept);
	if (auth)
		x->headers = curl_slist_append(x->headers, auth);
	curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->headers);
	if (x->got > 0) {
		snprintf(range, sizeof range, "%llu-", (unsigned long long)x->got);
		curl_easy_setopt(x->easy, CURLOPT_RANGE, range);
		oci_say("GET %s (resuming at byte %s)", x->path, range);
	} else {
		curl_easy_setopt(x->easy, CURLOPT_RANGE, NULL);
	}
	if (curl_multi_add_handle(x->r->multi, x->easy) != CURLM_OK)
		return oci_fail(e, "GET %s: libcurl refused the transfer", x->path);
	x->active = 1;
	return 0;
}

/* The registry's own words from an error body: {"errors":[{"code":…,"message":…}]}. */
static void
error_words(const struct xfer *x, char *buf, size_t cap)
{
	json_t *doc = json_loads(x->errbody, 0, NULL);
	json_t *first = json_array_get(json_object_get(doc, "errors"), 0);
	const char *code = json_string_value(json_object_get(first, "code"));
	const char *msg = json_string_value(json_object_get(first, "message"));

	if (code || msg)
		snprintf(buf, cap, ": %s%s%s", code ? code : "", code && msg ? " " : "",
		    msg ? msg : "");
	else
		buf[0] = '\0';
	json_decref(doc);
}

/* Check what a finished download holds; -1 with x->err on a mismatch. */
static int
verify(struct xfer *x)
{
	char got[OCI_DIGEST_MAX];
	const char *want = x->digest[0] ? x->digest : NULL;
	struct oci_hash *h;
	enum oci_alg alg = OCI_SHA256;
	int rc;

	switch (x->sink) {
	case SINK_LAYOUT:
		if (flush(x) < 0)
			return -1;
		rc = oci_blob_writer_commit(x->w, want, x->size, NULL, &x->err);
		x->w = NULL;	/* committed or thrown away */
		return rc;
	case SINK_FD:
		return oci_hash_check(x->hash, want, x->size, &x->err);
	case SINK_MEM:
		/* distribution-spec: Docker-Content-Digest is the digest of the manifest's bytes. */
		if (x->is_manifest && x->docker_digest) {
			if (oci_digest_check(x->docker_digest, NULL, &x->err) < 0) {
				x->fatal = 1;
				return oci_context(&x->err, "the registry's Docker-Content-Digest header");
			}
			if (want == NULL)
				want = x->docker_digest;
		}
		if (want && oci_digest_check(want, &alg, &x->err) < 0)
			return -1;
		h = oci_hash_new(alg);
		if (h == NULL)
			return oci_fail(&x->err, "out of memory");
		oci_hash_update(h, x->mem, x->got);
		oci_hash_final(h, got);
		oci_hash_free(h);
		if (want && strcmp(want, got) != 0)
			return oci_fail(&x->err, "digest mismatch: expected %s, got %s", want, got);
		strcpy(x->digest, got);
		return 0;
	}
	return 0;
}

enum outcome { DONE, AGAIN, FAILED };

static enum outcome
fail(struct xfer *x, const char *why)
{
	oci_fail(&x->err, "GET %s: %s", x->path, why);
	return FAILED;
}

static enum outcome
retry_later(struct xfer *x, const char *why)
{
	double wait, limit = x->r->timeout;

	if (++x->attempts >= MAX_ATTEMPTS) {
		oci_fail(&x->err, "GET %s: %s (gave up after %d attempts)", x->path, why, x->attempts);
		return FAILED;
	}
	/* RFC 9110 Retry-After; a wait longer than --timeout is not a wait but a refusal. */
	if (x->retry_after > limit) {
		oci_fail(&x->err, "GET %s: %s, and the registry asks to wait %.0fs (Retry-After), longer than --timeout %gs",
		    x->path, why, x->retry_after, limit);
		return FAILED;
	}
	wait = x->retry_after >= 0 ? x->retry_after : FIRST_BACKOFF * (1 << (x->attempts - 1));
	if (wait > x->r->max_wait)
		wait = x->r->max_wait;
	if ((x->deadline > 0 && oci_now() + wait >= x->deadline) || x->waited + wait > limit) {
		oci_fail(&x->err, "GET %s: %s (no time left to try again within --timeout %gs)", x->path,
		    why, limit);
		return FAILED;
	}
	x->waited += wait;
	x->not_before = oci_now() + wait;
	oci_warn("GET %s: %s; trying again in %.1fs", x->path, why, wait);
	return AGAIN;
}

/* Did this reply come from the registry itself, not from where a redirect led? */
static int
from_registry(struct xfer *x)
{
	const char *url = NULL;
	size_t n = strlen(x->r->base);

	curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
	return url && strncmp(url, x->r->base, n) == 0 && url[n] == '/';
}

/* A 200 or 206 reply came whole: its bytes are checked against the descriptor. */
static enum outcome
body_done(struct xfer *x)
{
	char why[900];

	oci_say("GET %s → %ld (%s)", x->path, x->code, oci_human_size(x->got));
	if (x->size >= 0 && x->got < (uint64_t)x->size) {
		/* The reply was complete by HTTP's rules: this is what the registry has. */
		snprintf(why, sizeof why, "the registry's reply ended after %llu bytes, but the descriptor says %lld",
		    (unsigned long long)x->got, (long long)x->size);
		return fail(x, why);
	}
	if (verify(x) == 0)
		return DONE;
	if (x->sink == SINK_FD || x->fatal) {
		oci_context(&x->err, "GET %s", x->path);
		return FAILED;
	}
	/* Bad bytes: forget them all and download again. */
	snprintf(why, sizeof why, "%s", x->err.msg);
	sink_reset(x);
	return retry_later(x, why);
}

/* A whole reply with another status: a challenge to answer, a wait, or a failure. */
static enum outcome
http_error(struct xfer *x)
{
	char why[900], words[400];

	error_words(x, words, sizeof words);
	oci_say("GET %s → %ld%s%.200s%s", x->path, x->code, x->www_auth ? " " : "",
	    x->www_auth ? x->www_auth : "", words);
	if (x->code == 401 && x->www_auth && !from_registry(x)) {
		/* A challenge from another host is never answered with our credentials. */
		return fail(x, "HTTP 401 from the host a redirect led to; credentials go only to the registry");
	}
	if (x->code == 401 && x->www_auth && x->auth_answers++ < 2) {
		if (oci_auth_answer(x->r->auth, x->www_auth, x->r->scope, x->r->timeout, &x->err) < 0) {
			oci_context(&x->err, "GET %s", x->path);
			return FAILED;
		}
		x->not_before = 0;
		return AGAIN;
	}
	snprintf(why, sizeof why, "HTTP %ld%s", x->code, words);
	if (x->code == 429 || x->code >= 500 || x->code == 0)
		return retry_later(x, why);
	/* A Range the server cannot serve: start over from byte 0. */
	if (x->code == 416 && x->got > 0 && sink_reset(x) == 0)
		return retry_later(x, why);
	if (x->code == 404)
		oci_fail(&x->err, "GET %s: not found%s", x->path, words);
	else if (x->code == 401 || x->code == 403)
		oci_fail(&x->err, "GET %s: access denied (HTTP %ld%s)", x->path, x->code, words);
	else if (x->code >= 300 && x->code < 400)
		oci_fail(&x->err, "GET %s: HTTP %ld, a redirect without a usable Location", x->path, x->code);
	else
		oci_fail(&x->err, "GET %s: %s", x->path, why);
	return FAILED;
}

/* No whole reply: too many bytes, or what libcurl says went wrong. */
static enum outcome
cut_short(struct xfer *x, CURLcode res)
{
	char why[900];

	if (x->too_big) {
		if (x->sink == SINK_MEM) {
			oci_fail(&x->err, "GET %s: a document over %zu bytes is refused", x->path, x->memcap);
			return FAILED;
		}
		snprintf(why, sizeof why, "the registry sent more than the %lld bytes the descriptor says",
		    (long long)x->size);
		return fail(x, why);
	}
	/* libcurl's own words say more than its error code ("…in chunked-encoding"). */
	snprintf(why, sizeof why, "%s%s%s%s", curl_easy_strerror(res), x->curl_err[0] ? " (" : "",
	    x->curl_err, x->curl_err[0] ? ")" : "");
	switch (res) {
	case CURLE_OUT_OF_MEMORY:
		if (x->headers_done)
			return fail(x, why);
		/* libcurl refuses a header line over 100 KiB this way */
		return fail(x, "the registry sent a header line longer than libcurl accepts (100 KiB)");
	case CURLE_TOO_MANY_REDIRECTS:
		return fail(x, "the registry redirected more than 5 times");
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_WEIRD_SERVER_REPLY:
		oci_fail(&x->err, "GET %s%s: %s%s", x->r->base, x->path, why,
		    res == CURLE_PEER_FAILED_VERIFICATION ?
		    " (--cacert FILE to trust its CA, or --insecure)" : "");
		return FAILED;
	default:
		snprintf(why + strlen(why), sizeof why - strlen(why), " after %s", oci_human_size(x->got));
		return retry_later(x, why);
	}
}

/* A transfer ended: done, to be tried again, or failed for good. */
static enum outcome
xfer_finish(struct xfer *x, CURLcode res)
{
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->code);
	if (res == CURLE_WRITE_ERROR && x->errbody_full)
		res = CURLE_OK;	/* we stopped reading an error reply: it is complete enough */
	if (x->broken) {
		oci_context(&x->err, "GET %s", x->path);
		return FAILED;
	}
	if (x->stop[0])	/* stopped by on_header or on_progress */
		return x->fatal ? fail(x, x->stop) : retry_later(x, x->stop);
	if (res == CURLE_OK && !x->headers_done)
		return retry_later(x, "the reply ended inside its headers");
	if (res == CURLE_OK && (x->code == 200 || x->code == 206))
		return body_done(x);
	if (res == CURLE_OK)
		return http_error(x);
	return cut_short(x, res);
}

/* ---- running transfers side by side ---- */

/*
 * Blobs waiting for a transfer.  A transfer (and its libcurl handle) is
 * made only when one of the -j slots is free, and freed when its blob is
 * stored: memory follows -j, not the number of layers.
 */
struct want {
	const char *media_type, *digest;	/* borrowed from the descriptors */
	int64_t size;
};
struct queue {
	struct oci_layout *l;
	struct want *w;
	size_t n, next;		/* next: the first not yet given a transfer */
	size_t done;
	uint64_t done_bytes, total_bytes;
};

static struct xfer *
queue_take(struct oci_registry *r, struct queue *q, struct oci_err *e)
{
	const struct want *w = &q->w[q->next];
	struct xfer *x = xfer_new(r, "blobs", w->digest);

	if (x == NULL) {
		oci_fail(e, "out of memory");
		return NULL;
	}
	x->sink = SINK_LAYOUT;
	x->layout = q->l;
	x->size = w->size;
	snprintf(x->digest, sizeof x->digest, "%s", w->digest);
	q->next++;
	/* What an interrupted run got is in a .partial file: go on from there (Range). */
	if (oci_blob_partial_exists(q->l, w->digest)) {
		if (oci_blob_writer_resume(q->l, w->digest, w->size, &x->w, &x->got, e) < 0) {
			xfer_free(x);
			return NULL;
		}
		if (x->got > 0)
			oci_say("%s %s: %s from an earlier run are in %s, resuming",
			    oci_media_short(w->media_type), oci_short(w->digest),
			    oci_human_size(x->got), q->l->path);
	}
	return x;
}

static void
report(struct oci_registry *r, struct xfer **xs, size_t n, const struct queue *q, int final)
{
	struct oci_progress_blob active[64];
	struct oci_progress p = { active, 0, 0, q ? q->n : n, 0, 0, final };
	size_t i;

	if (q) {
		p.done = q->done;
		p.bytes = q->done_bytes;
		p.total_bytes = q->total_bytes;
	}
	for (i = 0; i < n; i++) {
		struct xfer *x = xs[i];
		if (x == NULL)
			continue;
		if (q == NULL)
			p.total_bytes += x->size > 0 ? (uint64_t)x->size : 0;
		p.bytes += x->done && x->size > 0 ? (uint64_t)x->size : x->got;
		p.done += x->done;
		if (x->active && p.nactive < 64)
			active[p.nactive++] = (struct oci_progress_blob){ x->digest, x->got, x->size };
	}
	r->o.progress(r->o.progress_arg, &p);
}

/*
 * Take the transfers libcurl has finished: one that is done leaves its
 * slot (freed, when there is a queue to refill it), one to be tried again
 * waits for its turn.  -1 when one has failed for good.
 */
static int
reap(struct oci_registry *r, struct xfer **xs, size_t n, struct queue *q, size_t *active,
    size_t *left, struct oci_err *e)
{
	struct xfer *x;
	CURLMsg *msg;
	int pending;
	size_t i;

	while ((msg = curl_multi_info_read(r->multi, &pending))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
		curl_multi_remove_handle(r->multi, x->easy);
		x->active = 0;
		(*active)--;
		switch (xfer_finish(x, msg->data.result)) {
		case DONE:
			x->done = 1;
			(*left)--;
			break;
		case AGAIN:
			break;
		case FAILED:
			*e = x->err;
			return -1;
		}
		for (i = 0; q && x->done && i < n; i++) {
			if (xs[i] != x)
				continue;
			q->done++;
			q->done_bytes += x->size > 0 ? (uint64_t)x->size : 0;
			xfer_free(x);
			xs[i] = NULL;
			break;
		}
	}
	return 0;
}

/* Seconds until there is something to do without the network: a retry due, progress to show. */
static double
idle_time(struct oci_registry *r, struct xfer **xs, size_t n, const struct queue *q, size_t active)
{
	double next = oci_now() + PROGRESS_EVERY;
	size_t i;

	if (q && q->next < q->n && (int)active < r->o.jobs)
		next = 0;	/* a slot is free for the next blob */
	for (i = 0; i < n; i++)
		if (xs[i] && !xs[i]->done && !xs[i]->active && xs[i]->not_before < next)
			next = xs[i]->not_before;
	return next - oci_now();
}

/*
 * Run transfers until all are done or one has failed for good, at most
 * r->o.jobs at a time.  xs has n slots; with a queue q, empty slots (NULL)
 * are filled from it, and a transfer that is done is freed and its slot
 * emptied.  A failure stops the others (their partial files are thrown
 * away when the caller frees the transfers left in xs).
 */
static int
run(struct oci_registry *r, struct xfer **xs, size_t n, struct queue *q, int show,
    struct oci_err *e)
{
	size_t i, left, active = 0;
	double t, last_report = 0;
	struct xfer *x;
	int running, rc = 0;

	for (;;) {
		t = oci_now();
		left = q ? q->n - q->next : 0;
		for (i = 0; i < n; i++) {
			if (xs[i] == NULL && q && q->next < q->n) {
				if ((xs[i] = queue_take(r, q, e)) == NULL)
					return -1;
				left--;
			}
			x = xs[i];
			if (x == NULL || x->done)
				continue;
			left++;
			if (x->active || x->not_before > t || (int)active >= r->o.jobs)
				continue;
			if (xfer_start(x, e) < 0)
				return -1;
			active++;
		}
		if (left == 0 || rc < 0)
			break;
		curl_multi_perform(r->multi, &running);
		rc = reap(r, xs, n, q, &active, &left, e);
		if (show && r->o.progress && (t = oci_now()) - last_report >= PROGRESS_EVERY) {
			report(r, xs, n, q, 0);
			last_report = t;
		}
		if (rc < 0 || left == 0)
			break;
		/* Sleep until there is network activity, a retry is due, or progress to show. */
		t = idle_time(r, xs, n, q, active);
		curl_multi_poll(r->multi, NULL, 0, t > 0 ? (int)(t * 1000) + 1 : 0, NULL);
	}
	if (show && r->o.progress)
		report(r, xs, n, q, 1);
	return rc;
}

/* ---- the registry ---- */

static int
ping(struct oci_registry *r, struct oci_err *e)
{
	struct xfer *x = xfer_new(r, NULL, NULL);
	int rc;

	if (x == NULL)
		return oci_fail(e, "out of memory");
	x->sink = SINK_MEM;
	x->memcap = 64 * 1024;
	if ((x->mem = malloc(x->memcap)) == NULL) {
		xfer_free(x);
		return oci_fail(e, "out of memory");
	}
	rc = run(r, &x, 1, NULL, 0, e);
	xfer_free(x);
	return rc;
}

/*
 * Does host:port answer a TLS handshake?  Only a probe: nothing is sent
 * or believed, so no certificate store is loaded (that alone costs more
 * than a whole re-fetch).  0 when the port does not speak TLS: it answers
 * the handshake with something else, or with nothing at all for PROBE_MAX
 * seconds (a TLS server on this machine answers in milliseconds; a plain
 * HTTP server may wait for the end of a request line that never comes).
 */
static int
speaks_tls(const char *host, double timeout)
{
	char url[300];
	CURLcode res;
	CURL *c = curl_easy_init();

	if (c == NULL)
		return 1;
	snprintf(url, sizeof url, "https://%s/", host);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)((timeout < PROBE_MAX ? timeout : PROBE_MAX) * 1000));
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	res = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return res != CURLE_SSL_CONNECT_ERROR && res != CURLE_OPERATION_TIMEDOUT;
}

int
oci_registry_open(const struct oci_source *src, const struct oci_registry_opts *o,
    struct oci_registry **out, struct oci_err *e)
{
	struct oci_registry *r;
	char *user = NULL, *pass = NULL;
	const char *env = getenv("OCI_FETCH_MAX_WAIT");
	int found = 0, plain = o->plain_http;

	*out = NULL;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if ((r = calloc(1, sizeof *r)) == NULL)
		return oci_fail(e, "out of memory");
	r->src = src;
	r->o = *o;
	if (r->o.jobs < 1)
		r->o.jobs = 1;
	r->max_wait = env && *env ? atof(env) : DEFAULT_MAX_WAIT;
	if (r->max_wait < 0)
		r->max_wait = 0;
	r->timeout = o->timeout > 0 ? o->timeout : OCI_TIMEOUT_DEFAULT;
	snprintf(r->scope, sizeof r->scope, "repository:%s:pull", src->repo);
	if (o->user == NULL &&
	    (found = oci_creds_find(src->registry, src->repo, o->authfile, &user, &pass, e)) < 0)
		goto bad;
	r->auth = found ? oci_auth_new(user, pass, &o->tls) : oci_auth_new(o->user, o->pass, &o->tls);
	if (pass)
		explicit_bzero(pass, strlen(pass));
	free(user);
	free(pass);
	r->multi = curl_multi_init();
	r->share = curl_share_init();
	if (r->auth == NULL || r->multi == NULL || r->share == NULL) {
		oci_fail(e, "out of memory");
		goto bad;
	}
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(r->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);

	/* HTTPS, except on a loopback (or --mirror, or insecure) port that does not speak TLS (or --plain-http). */
	if (!plain && (oci_host_is_loopback(src->host) || o->http_fallback) && !speaks_tls(src->host, r->timeout)) {
		oci_say("%s does not speak TLS: plain HTTP, as for any %s registry", src->host,
		    o->http_fallback ? "named mirror or insecure" : "loopback");
		plain = 1;
	}
	snprintf(r->base, sizeof r->base, "%s://%s", plain ? "http" : "https", src->host);
	if (ping(r, e) < 0)
		goto bad;
	*out = r;
	return 0;
bad:
	oci_registry_close(r);
	return oci_context(e, "registry %s", src->registry);
}

void
oci_registry_close(struct oci_registry *r)
{
	if (r == NULL)
		return;
	if (r->multi)
		curl_multi_cleanup(r->multi);
	if (r->share)
		curl_share_cleanup(r->share);
	oci_auth_free(r->auth);
	free(r);
}

int
oci_registry_manifest(struct oci_registry *r, const char *ref, char **buf, size_t *len,
    char **media_type, char digest[OCI_DIGEST_MAX], struct oci_err *e)
{
	struct xfer *x = xfer_new(r, "manifests", ref);
	int rc = -1;

	*buf = *media_type = NULL;
	if (x == NULL)
		return oci_fail(e, "out of memory");
	x->sink = SINK_MEM;
	x->memcap = OCI_DOC_MAX;
	x->accept = manifest_accept;
	x->is_manifest = 1;
	if (strchr(ref, ':'))
		snprintf(x->digest, sizeof x->digest, "%s", ref);
	if ((x->mem = malloc(x->memcap + 1)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (run(r, &x, 1, NULL, 0, e) < 0)
		goto out;
	x->mem[x->got] = '\0';
	*media_type = strdup(x->content_type ? x->content_type : "");
	if (*media_type == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	*buf = x->mem;
	*len = x->got;
	x->mem = NULL;
	strcpy(digest, x->digest);
	rc = 0;
out:
	xfer_free(x);
	return rc;
}

int
oci_registry_blob_fd(struct oci_registry *r, const char *digest, int64_t size, int fd,
    struct oci_err *e)
{
	struct xfer *x;
	enum oci_alg alg;
	int rc;

	if (oci_digest_check(digest, &alg, e) < 0)
		return -1;
	if ((x = xfer_new(r, "blobs", digest)) == NULL)
		return oci_fail(e, "out of memory");
	x->sink = SINK_FD;
	x->fd = fd;
	x->size = size;
	snprintf(x->digest, sizeof x->digest, "%s", digest);
	if ((x->hash = oci_hash_new(alg)) == NULL) {
		xfer_free(x);
		return oci_fail(e, "out of memory");
	}
	rc = run(r, &x, 1, NULL, 1, e);
	xfer_free(x);
	return rc;
}

/* Order for finding duplicates: by digest, then by place in the list. */
static int
by_digest(const void *a, const void *b)
{
	const struct want *x = *(struct want *const *)a, *y = *(struct want *const *)b;
	int c = strcmp(x->digest, y->digest);

	return c ? c : (x > y) - (x < y);
}

int
oci_registry_blobs(struct oci_registry *r, struct oci_layout *l, const json_t *descs,
    struct oci_err *e)
{
	struct queue q = { .l = l };
	struct xfer *xs[64] = { NULL };
	struct want **sorted = NULL, *first;
	struct oci_desc d;
	const json_t *v;
	size_t i, n = json_array_size(descs), slots = r->o.jobs < 64 ? (size_t)r->o.jobs : 64;
	int rc = -1;

	q.w = calloc(n + 1, sizeof *q.w);
	sorted = calloc(n + 1, sizeof *sorted);
	if (q.w == NULL || sorted == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	json_array_foreach(descs, i, v) {
		if (oci_desc_parse(v, &d, e) < 0)
			goto out;
		q.w[i] = (struct want){ d.media_type, d.digest, d.size };
		sorted[i] = &q.w[i];
	}
	/* The same blob twice is fetched once (n log n, for manifests with many descriptors). */
	qsort(sorted, n, sizeof *sorted, by_digest);
	for (i = 1, first = sorted[0]; i < n; i++) {
		if (strcmp(sorted[i]->digest, first->digest) != 0) {
			first = sorted[i];
			continue;
		}
		if (sorted[i]->size != first->size) {
			oci_fail(e, "blob %s is listed twice, with sizes %lld and %lld",
			    oci_short(first->digest), (long long)first->size, (long long)sorted[i]->size);
			goto out;
		}
		sorted[i]->digest = NULL;	/* a later copy */
	}
	for (i = 0; i < n; i++) {
		if (q.w[i].digest == NULL)
			continue;
		if (oci_blob_exists(l, q.w[i].digest, q.w[i].size)) {
			oci_say("%s %s is already in %s", oci_media_short(q.w[i].media_type),
			    oci_short(q.w[i].digest), l->path);
			continue;
		}
		q.total_bytes += (uint64_t)q.w[i].size;
		q.w[q.n++] = q.w[i];
	}
	rc = q.n ? run(r, xs, slots, &q, 1, e) : 0;
out:
	for (i = 0; i < slots; i++)
		xfer_free(xs[i]);
	free(sorted);
	free(q.w);
	return rc;
}

/* ---- for lib/push.c, which sends its own requests ---- */

const char *
oci_registry_base(const struct oci_registry *r)
{
	return r->base;
}

struct oci_auth *
oci_registry_auth(const struct oci_registry *r)
{
	return r->auth;
}

const struct oci_registry_opts *
oci_registry_options(const struct oci_registry *r)
{
	return &r->o;
}
