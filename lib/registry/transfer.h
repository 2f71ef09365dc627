/*
 * lib/registry/transfer.h — what lib/registry/registry.c and lib/registry/transfer.c share, and no
 * other file: a registry connection and one transfer of it.  Not part of
 * the library's interface (that is lib/oci.h).
 */
#ifndef OCI_TRANSFER_H
#define OCI_TRANSFER_H

#include <curl/curl.h>

#include "registry.h"

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
	int watched;			/* r->o.watch was told w started, and not yet that it ended */
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

/* How a transfer ended (oci_xfer_finish): done, to be tried again (not before x->not_before), or failed (x->err). */
enum outcome { DONE, AGAIN, FAILED };

/* A new transfer (see lib/registry/transfer.c); NULL when out of memory.  Free with oci_xfer_free. */
struct xfer *oci_xfer_new(struct oci_registry *r, const char *kind, const char *what);
void oci_xfer_free(struct xfer *x);
/* Hand x to r's libcurl multi handle for its next attempt. */
int oci_xfer_start(struct xfer *x, struct oci_err *e);
/* x's attempt ended with res (libcurl's word for it). */
enum outcome oci_xfer_finish(struct xfer *x, CURLcode res);

#endif
