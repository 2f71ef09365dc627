/*
 * lib/registry/push_req.c — one HTTP request of a push (lib/registry/push.c), sent with
 * libcurl's easy interface from the thread that uploads a blob: its
 * headers, its body read from a blob file or memory, the 401 challenges it
 * answers (the Authorization header goes only to the registry itself), and
 * its reply kept for the step that sent it.
 */
#define _GNU_SOURCE	/* asprintf */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "push.h"

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

void
oci_req_free(struct req *q)
{
	reply_clear(q);
	free(q->url);
	q->url = NULL;
}

static size_t
on_header(char *line, size_t size, size_t n, void *arg)
{
	struct req *q = arg;
	size_t len = size * n;
	char *v;

	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		reply_clear(q);
		return len;
	}
	oci_say_ratelimit(line, len);
	if ((v = oci_http_header(line, len, "Location")))
		free(q->location), q->location = v;
	else if ((v = oci_http_header(line, len, "Docker-Content-Digest")))
		free(q->digest), q->digest = v;
	else if ((v = oci_http_header(line, len, "WWW-Authenticate")))
		free(q->www_auth), q->www_auth = v;
	else if ((v = oci_http_header(line, len, "Retry-After"))) {
		q->retry_after = oci_http_retry_after(v);
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

/* --timeout, or its default. */
static double
timeout(const struct pusher *p)
{
	return p->ro->timeout > 0 ? p->ro->timeout : OCI_TIMEOUT_DEFAULT;
}

/* c, reset and set for q: its method, headers h, and where its reply and body go. */
static void
req_setup(struct pusher *p, CURL *c, struct req *q, struct curl_slist *h)
{
	curl_easy_reset(c);
	reply_clear(q);
	q->pos = 0;
	curl_easy_setopt(c, CURLOPT_URL, q->url);
	oci_http_easy(c, "oci-push/" OCI_VERSION, &p->ro->tls, timeout(p));
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, q);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, q);
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
	/* a blob file that shrank or broke (on_read) is no better the next time */
	if (res == CURLE_READ_ERROR || res == CURLE_ABORTED_BY_CALLBACK || oci_http_final(res))
		return -1;
	return 1;
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
	    oci_auth_answer(p->auth, q->www_auth, q->scope, timeout(p), e) < 0)
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
int
oci_req_send(struct pusher *p, CURL *c, struct req *q, struct oci_err *e)
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
		    q->code >= 400 ? oci_http_words(q->body, w, sizeof w) : "");
		if (q->code != 401 || q->www_auth == NULL || !own || answers++ == 2)
			return 0;
		if (answer_challenge(p, q, sent_auth, where, e) < 0)
			return -1;
	}
}

/* A reply that is not what the step wanted: 1 (try again) for 5xx and 429, else -1. */
int
oci_req_unexpected(struct req *q, struct oci_err *e)
{
	char where[1024], w[400];

	path_of(q, where, sizeof where);
	oci_http_words(q->body, w, sizeof w);
	if (oci_http_class(q->code) == OCI_HTTP_DENIED) {
		oci_fail(e, "%s %s: access denied (HTTP %ld%s)", q->method, where, q->code, w);
		return -1;
	}
	oci_fail(e, "%s %s: HTTP %ld%s", q->method, where, q->code, w);
	return oci_http_class(q->code) == OCI_HTTP_AGAIN ? 1 : -1;
}

/* q->url = the base, then the path made from fmt. */
int
oci_req_set_url(struct pusher *p, struct req *q, const char *fmt, ...)
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
int
oci_req_follow(struct pusher *p, struct req *q, const char *extra, struct oci_err *e)
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
