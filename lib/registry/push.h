/*
 * lib/registry/push.h — what lib/registry/push.c and lib/registry/push_req.c share, and no other
 * file: the state of one push and the requests it sends.  Not part of the
 * library's interface (that is lib/oci.h).
 */
#ifndef OCI_PUSH_H
#define OCI_PUSH_H

#include <pthread.h>

#include <curl/curl.h>

#include "registry.h"

struct job;

struct pusher {
	const struct oci_registry *r;
	const char *base;	/* "https://host:port" */
	const struct oci_registry_opts *ro;
	struct oci_auth *auth;
	pthread_mutex_t auth_lock;
	const struct oci_source *dest;
	struct oci_layout *l;
	const struct oci_push_opts *o;
	char scope[600];	/* "repository:<name>:pull,push" */
	char mount_scope[1200];	/* ... and "repository:<from>:pull" */

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

/*
 * Send one request, answering up to two auth challenges.  Returns 0 when a
 * reply came (q->code says which), 1 when the connection failed in a way
 * worth trying again, -1 when it failed for good.
 */
int oci_req_send(struct pusher *p, CURL *c, struct req *q, struct oci_err *e);
/* A reply that is not what the step wanted: 1 (try again) for 5xx and 429, else -1. */
int oci_req_unexpected(struct req *q, struct oci_err *e);
/* q->url = the registry's base, then the path made from fmt; -1 when out of memory. */
int oci_req_set_url(struct pusher *p, struct req *q, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* q->url = the upload's Location, with extra ("digest=…") added to its query. */
int oci_req_follow(struct pusher *p, struct req *q, const char *extra, struct oci_err *e);
/* Free what q and its reply hold. */
void oci_req_free(struct req *q);

#endif
