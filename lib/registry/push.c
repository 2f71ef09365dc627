/*
 * lib/registry/push.c — sending an image to a registry: the push half of the OCI
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
 * (an upload from its POST), after the same wait as a pull
 * (oci_registry_wait: the registry's Retry-After, else a bounded backoff).  Each request is sent by lib/registry/push_req.c.
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

#include "push.h"

#define MAX_DEPTH 8		/* nested indexes */

/* One blob to send. */
struct job {
	char digest[OCI_DIGEST_MAX];
	int64_t size;
	uint64_t sent;		/* bytes on their way, for progress (atomic) */
	int state;		/* 0 waiting, 1 in flight, 2 done (under lock) */
};

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
		if (oci_req_set_url(p, q, "/v2/%s/blobs/uploads/?mount=%s&from=%s", name, j->digest,
		    p->o->mount_from) < 0)
			return oci_fail(e, "out of memory");
		if ((rc = oci_req_send(p, c, q, e)) != 0)
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
	if (oci_req_set_url(p, q, "/v2/%s/blobs/uploads/", name) < 0)
		return oci_fail(e, "out of memory");
	if ((rc = oci_req_send(p, c, q, e)) != 0)
		return rc;
	return q->code == 202 ? 0 : oci_req_unexpected(q, e);
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
		if (oci_req_follow(p, q, NULL, e) < 0)
			return -1;
		q->method = "PATCH";
		q->off = off;
		q->len = n;
		snprintf(q->content_range, sizeof q->content_range, "%llu-%llu",
		    (unsigned long long)off, (unsigned long long)(off + n - 1));
		if ((rc = oci_req_send(p, c, q, e)) != 0)
			return rc;
		if (q->code != 202)
			return oci_req_unexpected(q, e);
	}
	return 0;
}

/*
 * HEAD, then mount or upload.  Returns 0 when the registry has the blob,
 * 1 to try again from the start, -1 on failure.
 */
static int
push_blob(struct pusher *p, CURL *c, struct job *j, int fd, double *retry_after, struct oci_err *e)
{
	struct req q = { .fd = -1, .sent = &j->sent, .stop = &p->stop };
	uint64_t chunk = p->o->chunk > 0 ? (uint64_t)p->o->chunk : 0;
	char digest_q[OCI_DIGEST_MAX + 16];
	int rc, mounted;

	__atomic_store_n(&j->sent, 0, __ATOMIC_RELAXED);
	q.method = "HEAD";
	q.scope = p->scope;
	if (oci_req_set_url(p, &q, "/v2/%s/blobs/%s", p->dest->repo, j->digest) < 0) {
		rc = oci_fail(e, "out of memory");
		goto out;
	}
	if ((rc = oci_req_send(p, c, &q, e)) != 0)
		goto out;
	if (q.code == 200) {
		oci_say("blob %s is in %s already", oci_short(j->digest), p->dest->repo);
		goto done;
	}
	if (q.code != 404 && q.code != 401 && q.code != 403) {
		rc = oci_req_unexpected(&q, e);
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
	if (oci_req_follow(p, &q, digest_q, e) < 0) {
		rc = -1;
		goto out;
	}
	q.method = "PUT";
	q.content_range[0] = '\0';
	q.off = chunk > 0 ? (uint64_t)j->size : 0;
	q.len = chunk > 0 ? 0 : (uint64_t)j->size;
	if ((rc = oci_req_send(p, c, &q, e)) != 0)
		goto out;
	if (q.code != 201) {
		rc = oci_req_unexpected(&q, e);
		goto out;
	}
	oci_say("blob %s uploaded (%s%s)", oci_short(j->digest), oci_human_size(j->size),
	    chunk > 0 ? ", in chunks" : "");
done:
	__atomic_store_n(&j->sent, (uint64_t)j->size, __ATOMIC_RELAXED);
	rc = 0;
out:
	*retry_after = q.retry_after;
	oci_req_free(&q);
	return rc;
}

/*
 * A step: 0 done, 1 to try again (*retry_after: what the registry's last
 * reply said in Retry-After, -1 when nothing), -1 failed.
 */
typedef int step_fn(struct pusher *p, CURL *c, void *arg, double *retry_after, struct oci_err *e);

/* Run step until it is done, trying again while it says 1, after the wait the registry asks for. */
static int
retrying(struct pusher *p, step_fn *step, CURL *c, void *arg, struct oci_err *e)
{
	double wait, retry_after;
	int attempt, rc;

	for (attempt = 1;; attempt++) {
		retry_after = -1;
		if ((rc = step(p, c, arg, &retry_after, e)) <= 0)
			return rc;
		if (attempt >= OCI_ATTEMPTS)
			return oci_context(e, "gave up after %d attempts", attempt);
		if (__atomic_load_n(&p->stop, __ATOMIC_RELAXED))
			return -1;
		if ((wait = oci_registry_wait(p->r, retry_after, attempt)) < 0)
			return oci_context(e, "the registry asks to wait %.0fs (Retry-After), longer than --timeout %gs",
			    retry_after, oci_registry_options(p->r)->timeout > 0 ?
			    oci_registry_options(p->r)->timeout : OCI_TIMEOUT_DEFAULT);
		oci_warn("%s; trying again in %.1fs", e->msg, wait);
		usleep((useconds_t)(wait * 1e6));
	}
}

static int
blob_step(struct pusher *p, CURL *c, void *arg, double *retry_after, struct oci_err *e)
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
	rc = push_blob(p, c, j, fd, retry_after, e);
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
manifest_step(struct pusher *p, CURL *c, void *arg, double *retry_after, struct oci_err *e)
{
	struct doc_put *d = arg;
	struct req q = { .fd = -1, .scope = p->scope };
	int rc;

	q.method = "HEAD";
	q.accept = OCI_MANIFEST_ACCEPT;
	if (oci_req_set_url(p, &q, "/v2/%s/manifests/%s", p->dest->repo, d->ref) < 0) {
		oci_req_free(&q);
		return oci_fail(e, "out of memory");
	}
	if ((rc = oci_req_send(p, c, &q, e)) != 0)
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
	if ((rc = oci_req_send(p, c, &q, e)) != 0)
		goto out;
	if (q.code != 201) {
		rc = oci_req_unexpected(&q, e);
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
	*retry_after = q.retry_after;
	oci_req_free(&q);
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
	struct oci_desc td;
	CURL *c = NULL;
	size_t i;
	int rc = -1;

	*pushed = NULL;
	p.r = r;
	p.base = oci_registry_base(r);
	p.ro = oci_registry_options(r);
	p.auth = oci_registry_auth(r);
	p.dest = dest;
	p.l = l;
	p.o = o;
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
	oci_say("pushing %zu blob%s and %zu manifest%s to %s/%s", p.njobs, p.njobs == 1 ? "" : "s",
	    json_array_size(manifests), json_array_size(manifests) == 1 ? "" : "s", dest->registry,
	    dest->repo);
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
