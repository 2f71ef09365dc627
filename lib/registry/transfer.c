/*
 * lib/registry/transfer.c — one transfer from a registry: a GET run by libcurl,
 * its bytes into a sink while they are hashed, and the rules for what came
 * back (lib/registry/registry.c runs transfers side by side and speaks the API).
 *
 * A sink is memory for documents, the layout's blob writer, or a file
 * descriptor.  When an attempt fails it is tried again after a bounded
 * backoff: on 5xx, on 429 (after Retry-After), on a dropped connection
 * (resuming with "Range: bytes=N-"), and on a digest mismatch (from the
 * start).  A 401 is answered through auth.c and the request sent again.
 * Every reply is checked, and every wait is bounded by --timeout, as
 * lib/registry/registry.c's opening comment says.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "transfer.h"

#define STALL_BYTES 1024	/* a body brings at least this much in every --timeout seconds */
#define HEADERS_MAX (256 * 1024)	/* bytes of headers in one reply */
#define WRITE_BUF (1024 * 1024)	/* libcurl hands over 16 KiB at a time; write in bigger pieces */

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

/* Tell the watcher (r->o.watch, if any) that w's bytes end here: ok, stored under the digest. */
static void
watch_end(struct xfer *x, int ok)
{
	const struct oci_blob_watch *wt = x->r->o.watch;

	if (x->watched)
		wt->end(wt->arg, x->digest, ok);
	x->watched = 0;
}

/* Throw away what the sink holds, to start again from byte 0. */
static int
sink_reset(struct xfer *x)
{
	switch (x->sink) {
	case SINK_MEM:
		break;
	case SINK_LAYOUT:
		watch_end(x, 0);
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
		if (x->r->o.watch) {
			x->r->o.watch->start(x->r->o.watch->arg, x->digest, oci_blob_writer_fd(x->w));
			x->watched = 1;
		}
	}
	if (x->wlen > 0 && oci_blob_writer_write(x->w, x->wbuf, x->wlen, &x->err) < 0)
		return -1;
	x->wlen = 0;
	if (x->watched)
		x->r->o.watch->grow(x->r->o.watch->arg, x->digest, oci_blob_writer_size(x->w));
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
		if (n >= WRITE_BUF) {
			if (oci_blob_writer_write(x->w, buf, n, &x->err) < 0)
				return -1;
			if (x->watched)
				x->r->o.watch->grow(x->r->o.watch->arg, x->digest, oci_blob_writer_size(x->w));
			return 0;
		}
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
	if (!x->content_type && (x->content_type = oci_http_header(line, len, "Content-Type")))
		x->content_type[strcspn(x->content_type, "; ")] = '\0';
	if (!x->docker_digest)
		x->docker_digest = oci_http_header(line, len, "Docker-Content-Digest");
	if (!x->www_auth)
		x->www_auth = oci_http_header(line, len, "WWW-Authenticate");
	if ((v = oci_http_header(line, len, "Content-Encoding"))) {
		x->encoded |= strcasecmp(v, "identity") != 0;
		free(v);
	}
	oci_say_ratelimit(line, len);
	if ((v = oci_http_header(line, len, "Retry-After"))) {
		x->retry_after = oci_http_retry_after(v);
		free(v);
	}
	if ((v = oci_http_header(line, len, "Content-Range"))) {
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
struct xfer *
oci_xfer_new(struct oci_registry *r, const char *kind, const char *what)
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
	oci_http_easy(x->easy, "oci-fetch/" OCI_VERSION, &r->o.tls, r->timeout);
	/*
	 * Blobs are often redirected to storage on another host.  libcurl
	 * follows, but sends our Authorization header only to the host we
	 * asked (CURLOPT_UNRESTRICTED_AUTH stays off): credentials never
	 * leave the registry.
	 */
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 5L);
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
	response_reset(x);
	return x;
}

void
oci_xfer_free(struct xfer *x)
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
	watch_end(x, 0);
	oci_blob_writer_suspend(x->w);
	oci_hash_free(x->hash);
	free(x->mem);
	free(x->wbuf);
	free(x);
}

int
oci_xfer_start(struct xfer *x, struct oci_err *e)
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
		watch_end(x, rc == 0);
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

	if (++x->attempts >= OCI_ATTEMPTS) {
		oci_fail(&x->err, "GET %s: %s (gave up after %d attempts)", x->path, why, x->attempts);
		return FAILED;
	}
	if ((wait = oci_http_wait(x->retry_after, x->attempts, x->r->max_wait, limit)) < 0) {
		oci_fail(&x->err, "GET %s: %s, and the registry asks to wait %.0fs (Retry-After), longer than --timeout %gs",
		    x->path, why, x->retry_after, limit);
		return FAILED;
	}
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

	oci_http_words(x->errbody, words, sizeof words);
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
	if (oci_http_class(x->code) == OCI_HTTP_AGAIN || x->code == 0)
		return retry_later(x, why);
	/* A Range the server cannot serve: start over from byte 0. */
	if (x->code == 416 && x->got > 0 && sink_reset(x) == 0)
		return retry_later(x, why);
	if (x->code == 404)
		oci_fail(&x->err, "GET %s: not found%s", x->path, words);
	else if (oci_http_class(x->code) == OCI_HTTP_DENIED)
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
	/* "Couldn't resolve host name (Could not resolve host: …)" says it twice. */
	if (res == CURLE_COULDNT_RESOLVE_HOST)
		snprintf(why, sizeof why, "cannot resolve the host name (no network here, or no DNS?)");
	if (res == CURLE_OUT_OF_MEMORY) {
		if (x->headers_done)
			return fail(x, why);
		/* libcurl refuses a header line over 100 KiB this way */
		return fail(x, "the registry sent a header line longer than libcurl accepts (100 KiB)");
	}
	if (res == CURLE_TOO_MANY_REDIRECTS)
		return fail(x, "the registry redirected more than 5 times");
	if (oci_http_final(res)) {
		oci_fail(&x->err, "GET %s%s: %s%s", x->r->base, x->path, why,
		    res == CURLE_PEER_FAILED_VERIFICATION ?
		    " (--cacert FILE to trust its CA, or --insecure)" : "");
		return FAILED;
	}
	snprintf(why + strlen(why), sizeof why - strlen(why), " after %s", oci_human_size(x->got));
	return retry_later(x, why);
}

/* A transfer ended: done, to be tried again, or failed for good. */
enum outcome
oci_xfer_finish(struct xfer *x, CURLcode res)
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
