/*
 * lib/registry/registry.c — talking to a registry: the pull half of the Docker
 * Registry HTTP API V2 (OCI distribution-spec "Pull").
 *
 *   GET /v2/                          hello; a 401 here says how to authenticate
 *   GET /v2/<name>/manifests/<ref>    a manifest or index, by tag or digest
 *   GET /v2/<name>/blobs/<digest>     a config or layer (often a redirect to storage)
 *
 * Every request is a "transfer" (lib/registry/transfer.c: where its bytes go, when
 * it is tried again, what is checked in its reply), and this file runs
 * them through libcurl's multi interface, so that blobs download side by
 * side, at most -j at a time.
 *
 * A registry may be broken or hostile, so every reply is checked, and
 * every wait is bounded by the --timeout limit, SECONDS (lib/registry/transfer.c
 * holds these rules for each transfer): a reply's headers must come within
 * SECONDS; a document (the /v2/ check, a manifest) must come whole within
 * SECONDS, its retries included; a body must bring at least STALL_BYTES in
 * every SECONDS; a Retry-After longer than SECONDS is not waited for, and
 * the waits between the attempts of one request add up to SECONDS at most.
 * A reply that breaks a rule of HTTP or of the distribution-spec fails with
 * a message that says which.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "transfer.h"

#define DEFAULT_MAX_WAIT 10.0	/* seconds; $OCI_FETCH_MAX_WAIT overrides */
#define PROBE_MAX 3.0		/* seconds for a loopback port to answer a TLS handshake */
#define PROGRESS_EVERY 0.1	/* seconds between looks at the transfers when the network is quiet */

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
	struct xfer *x = oci_xfer_new(r, "blobs", w->digest);

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
			oci_xfer_free(x);
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
		switch (oci_xfer_finish(x, msg->data.result)) {
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
			oci_xfer_free(x);
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
	double t;
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
			if (oci_xfer_start(x, e) < 0)
				return -1;
			active++;
		}
		if (left == 0 || rc < 0)
			break;
		curl_multi_perform(r->multi, &running);
		rc = reap(r, xs, n, q, &active, &left, e);
		/* oci_meter_blobs draws at most ten times a second */
		if (show && r->o.progress)
			report(r, xs, n, q, 0);
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

/* A transfer whose reply goes to memory: at most cap bytes, and room for a NUL after them. */
static struct xfer *
doc_xfer(struct oci_registry *r, const char *kind, const char *what, size_t cap)
{
	struct xfer *x = oci_xfer_new(r, kind, what);

	if (x == NULL)
		return NULL;
	x->sink = SINK_MEM;
	x->memcap = cap;
	if ((x->mem = malloc(cap + 1)) == NULL) {
		oci_xfer_free(x);
		return NULL;
	}
	return x;
}

static int
ping(struct oci_registry *r, struct oci_err *e)
{
	struct xfer *x = doc_xfer(r, NULL, NULL, 64 * 1024);
	int rc;

	if (x == NULL)
		return oci_fail(e, "out of memory");
	rc = run(r, &x, 1, NULL, 0, e);
	oci_xfer_free(x);
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
	oci_http_easy(c, "oci-fetch/" OCI_VERSION, NULL, timeout < PROBE_MAX ? timeout : PROBE_MAX);
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
	struct xfer *x = doc_xfer(r, "manifests", ref, OCI_DOC_MAX);
	int rc = -1;

	*buf = *media_type = NULL;
	if (x == NULL)
		return oci_fail(e, "out of memory");
	x->accept = OCI_MANIFEST_ACCEPT;
	x->is_manifest = 1;
	if (strchr(ref, ':'))
		snprintf(x->digest, sizeof x->digest, "%s", ref);
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
	oci_xfer_free(x);
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
	if ((x = oci_xfer_new(r, "blobs", digest)) == NULL)
		return oci_fail(e, "out of memory");
	x->sink = SINK_FD;
	x->fd = fd;
	x->size = size;
	snprintf(x->digest, sizeof x->digest, "%s", digest);
	if ((x->hash = oci_hash_new(alg)) == NULL) {
		oci_xfer_free(x);
		return oci_fail(e, "out of memory");
	}
	rc = run(r, &x, 1, NULL, 1, e);
	oci_xfer_free(x);
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
		oci_xfer_free(xs[i]);
	free(sorted);
	free(q.w);
	return rc;
}

double
oci_registry_wait(const struct oci_registry *r, double retry_after, int failed)
{
	return oci_http_wait(retry_after, failed, r->max_wait, r->timeout);
}

/* ---- for lib/registry/push.c, which sends its own requests ---- */

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
