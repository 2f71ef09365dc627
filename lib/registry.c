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
	int body_started;
	int64_t range_start;	/* from Content-Range; -1 when none */
	char *content_type, *docker_digest, *www_auth;
	double retry_after;	/* seconds; -1 when none */
	char errbody[512];
	size_t errlen;
	int too_big, broken;	/* more bytes than allowed; a sink failed */
	int errbody_full;	/* an error reply was cut short once errbody was full */
	struct curl_slist *headers;

	int attempts, auth_answers;
	double not_before;
	int active, done;
	struct oci_err err;
};

static double
now(void)
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
		while (n > 0) {
			ssize_t k = write(x->fd, buf, n);
			if (k < 0)
				return oci_fail_errno(&x->err, "write");
			buf += k;
			n -= k;
		}
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
		return len;
	}
	if (!x->content_type && (x->content_type = header_value(line, len, "Content-Type")))
		x->content_type[strcspn(x->content_type, "; ")] = '\0';
	if (!x->docker_digest)
		x->docker_digest = header_value(line, len, "Docker-Content-Digest");
	if (!x->www_auth)
		x->www_auth = header_value(line, len, "WWW-Authenticate");
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
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT, 30L);
	/* A connection that stalls for a minute is dropped (and retried). */
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, 60L);
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

	response_reset(x);
	x->too_big = 0;
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
		if (want)
			oci_digest_check(want, &alg, &x->err);
		else if (x->docker_digest && oci_digest_check(x->docker_digest, &alg, NULL) == 0)
			want = x->docker_digest;
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
retry_later(struct xfer *x, const char *why)
{
	double wait;

	if (++x->attempts >= MAX_ATTEMPTS) {
		oci_fail(&x->err, "GET %s: %s (gave up after %d attempts)", x->path, why, x->attempts);
		return FAILED;
	}
	wait = x->retry_after >= 0 ? x->retry_after : FIRST_BACKOFF * (1 << (x->attempts - 1));
	if (wait > x->r->max_wait)
		wait = x->r->max_wait;
	x->not_before = now() + wait;
	oci_warn("GET %s: %s; trying again in %.1fs", x->path, why, wait);
	return AGAIN;
}

/* A transfer ended: done, to be tried again, or failed for good. */
static enum outcome
xfer_finish(struct xfer *x, CURLcode res)
{
	char why[700], words[400];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &x->code);
	if (res == CURLE_WRITE_ERROR && x->errbody_full)
		res = CURLE_OK;	/* we stopped reading an error reply: it is complete enough */
	if (x->broken) {
		oci_context(&x->err, "GET %s", x->path);
		return FAILED;
	}
	if (res == CURLE_OK && (x->code == 200 || x->code == 206)) {
		oci_say("GET %s → %ld (%s)", x->path, x->code, oci_human_size(x->got));
		if (x->size >= 0 && x->got < (uint64_t)x->size) {
			snprintf(why, sizeof why, "the body ended after %llu of %lld bytes",
			    (unsigned long long)x->got, (long long)x->size);
			return retry_later(x, why);
		}
		if (verify(x) == 0)
			return DONE;
		if (x->sink == SINK_FD) {
			oci_context(&x->err, "GET %s", x->path);
			return FAILED;
		}
		/* Bad bytes: forget them all and download again. */
		snprintf(why, sizeof why, "%s", x->err.msg);
		sink_reset(x);
		return retry_later(x, why);
	}
	if (res == CURLE_OK) {
		error_words(x, words, sizeof words);
		oci_say("GET %s → %ld%s%s%s", x->path, x->code, x->www_auth ? " " : "",
		    x->www_auth ? x->www_auth : "", words);
		if (x->code == 401 && x->www_auth && x->auth_answers++ < 2) {
			if (oci_auth_answer(x->r->auth, x->www_auth, x->r->scope, &x->err) < 0) {
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
		else
			oci_fail(&x->err, "GET %s: %s", x->path, why);
		return FAILED;
	}
	if (x->too_big) {
		if (x->sink == SINK_MEM) {
			oci_fail(&x->err, "GET %s: a document over %zu bytes is refused", x->path, x->memcap);
			return FAILED;
		}
		snprintf(why, sizeof why, "more than the %lld bytes the descriptor promised",
		    (long long)x->size);
		if (sink_reset(x) < 0)
			return FAILED;
		return retry_later(x, why);
	}
	switch (res) {
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_TOO_MANY_REDIRECTS:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
		oci_fail(&x->err, "GET %s%s: %s%s", x->r->base, x->path, curl_easy_strerror(res),
		    res == CURLE_PEER_FAILED_VERIFICATION ?
		    " (--cacert FILE to trust its CA, or --insecure)" : "");
		return FAILED;
	default:
		snprintf(why, sizeof why, "%s after %s", curl_easy_strerror(res), oci_human_size(x->got));
		return retry_later(x, why);
	}
}

/* ---- running transfers side by side ---- */

static void
report(struct oci_registry *r, struct xfer **xs, size_t n, int final)
{
	struct oci_progress_blob active[64];
	struct oci_progress p = { active, 0, 0, n, 0, 0, final };
	size_t i;

	for (i = 0; i < n; i++) {
		struct xfer *x = xs[i];
		p.total_bytes += x->size > 0 ? (uint64_t)x->size : 0;
		p.bytes += x->done && x->size > 0 ? (uint64_t)x->size : x->got;
		p.done += x->done;
		if (x->active && p.nactive < 64)
			active[p.nactive++] = (struct oci_progress_blob){ x->digest, x->got, x->size };
	}
	r->o.progress(r->o.progress_arg, &p);
}

/*
 * Run transfers until all are done or one has failed for good, at most
 * r->o.jobs at a time; a failure stops the others (their partial files
 * are thrown away when the transfers are freed).
 */
static int
run(struct oci_registry *r, struct xfer **xs, size_t n, int show, struct oci_err *e)
{
	size_t i, left = n, active = 0;
	double t, next, last_report = 0;
	struct xfer *x;
	CURLMsg *msg;
	int running, q, rc = 0;

	while (left > 0 && rc == 0) {
		t = now();
		for (i = 0; i < n && (int)active < r->o.jobs; i++) {
			x = xs[i];
			if (x->done || x->active || x->not_before > t)
				continue;
			if (xfer_start(x, e) < 0)
				return -1;
			active++;
		}
		curl_multi_perform(r->multi, &running);
		while ((msg = curl_multi_info_read(r->multi, &q))) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			curl_multi_remove_handle(r->multi, x->easy);
			x->active = 0;
			active--;
			switch (xfer_finish(x, msg->data.result)) {
			case DONE:
				x->done = 1;
				left--;
				break;
			case AGAIN:
				break;
			case FAILED:
				*e = x->err;
				rc = -1;
				break;
			}
			if (rc < 0)
				break;
		}
		if (show && r->o.progress && (t = now()) - last_report >= PROGRESS_EVERY) {
			report(r, xs, n, 0);
			last_report = t;
		}
		if (left > 0 && rc == 0) {
			/* Sleep until there is network activity, a retry is due, or progress to show. */
			double wait;
			next = now() + PROGRESS_EVERY;
			for (i = 0; i < n; i++)
				if (!xs[i]->done && !xs[i]->active && xs[i]->not_before < next)
					next = xs[i]->not_before;
			wait = next - now();
			curl_multi_poll(r->multi, NULL, 0, wait > 0 ? (int)(wait * 1000) + 1 : 0, NULL);
		}
	}
	if (show && r->o.progress)
		report(r, xs, n, 1);
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
	rc = run(r, &x, 1, 0, e);
	xfer_free(x);
	return rc;
}

/*
 * Does host:port answer a TLS handshake?  Only a probe: nothing is sent
 * or believed, so no certificate store is loaded (that alone costs more
 * than a whole re-fetch).  0 only when the port clearly does not speak TLS.
 */
static int
speaks_tls(const char *host)
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
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	res = curl_easy_perform(c);
	curl_easy_cleanup(c);
	return res != CURLE_SSL_CONNECT_ERROR;
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

	/* HTTPS, except on a loopback port that does not speak TLS (or --plain-http). */
	if (!plain && oci_host_is_loopback(src->host) && !speaks_tls(src->host)) {
		oci_say("%s does not speak TLS: plain HTTP, as for any loopback registry", src->host);
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
	if (strchr(ref, ':'))
		snprintf(x->digest, sizeof x->digest, "%s", ref);
	if ((x->mem = malloc(x->memcap + 1)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (run(r, &x, 1, 0, e) < 0)
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
	rc = run(r, &x, 1, 1, e);
	xfer_free(x);
	return rc;
}

int
oci_registry_blobs(struct oci_registry *r, struct oci_layout *l, const json_t *descs,
    struct oci_err *e)
{
	struct xfer **xs;
	struct oci_desc d;
	const json_t *v;
	size_t i, j, n = 0;
	int rc = -1;

	xs = calloc(json_array_size(descs) + 1, sizeof *xs);
	if (xs == NULL)
		return oci_fail(e, "out of memory");
	json_array_foreach(descs, i, v) {
		if (oci_desc_parse(v, &d, e) < 0)
			goto out;
		for (j = 0; j < n && strcmp(xs[j]->digest, d.digest) != 0; j++)
			;
		if (j < n)
			continue;
		if (oci_blob_exists(l, d.digest, d.size)) {
			oci_say("%s %s is already in %s", oci_media_short(d.media_type),
			    oci_short(d.digest), l->path);
			continue;
		}
		if ((xs[n] = xfer_new(r, "blobs", d.digest)) == NULL) {
			oci_fail(e, "out of memory");
			goto out;
		}
		xs[n]->sink = SINK_LAYOUT;
		xs[n]->layout = l;
		xs[n]->size = d.size;
		snprintf(xs[n]->digest, sizeof xs[n]->digest, "%s", d.digest);
		n++;
		if (oci_blob_partial_exists(l, d.digest)) {
			if (oci_blob_writer_resume(l, d.digest, d.size, &xs[n - 1]->w, &xs[n - 1]->got, e) < 0)
				goto out;
			if (xs[n - 1]->got > 0)
				oci_say("%s %s: %s from an earlier run are in %s, resuming",
				    oci_media_short(d.media_type), oci_short(d.digest),
				    oci_human_size(xs[n - 1]->got), l->path);
		}
	}
	rc = n ? run(r, xs, n, 1, e) : 0;
out:
	for (i = 0; i < n; i++)
		xfer_free(xs[i]);
	free(xs);
	return rc;
}
