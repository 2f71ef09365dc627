/*
 * lib/registry/http.c — how every request to a registry is made and its reply
 * read, for pulls (lib/registry/transfer.c), pushes (lib/registry/push_req.c), the token
 * service (lib/registry/auth.c) and the probes (lib/registry/registry.c, lib/registry/mirror.c): the
 * options of a libcurl easy handle, a header's value, Retry-After, the
 * registry's own words in an error, which statuses and which libcurl
 * errors are worth trying again, how long to wait before the next try,
 * and the rate limits -v reports.  One rule each, so that a pull and a
 * push read the same reply the same way.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "registry.h"

#define FIRST_BACKOFF 0.25	/* seconds; doubled after each failure */

void
oci_tls_apply(void *curl, const struct oci_tls *tls)
{
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls->insecure ? 0L : 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls->insecure ? 0L : 2L);
	if (tls->cacert)
		curl_easy_setopt(curl, CURLOPT_CAINFO, tls->cacert);
}

void
oci_http_easy(void *curl, const char *agent, const struct oci_tls *tls, double timeout)
{
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, agent);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout * 1000));
	if (tls)
		oci_tls_apply(curl, tls);
}

char *
oci_http_header(const char *line, size_t len, const char *name)
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

double
oci_http_retry_after(const char *v)
{
	time_t when;

	/* RFC 9110: delay-seconds or an HTTP-date */
	if (*v && strspn(v, "0123456789") == strlen(v))
		return atof(v);
	when = curl_getdate(v, NULL);
	return when > 0 ? difftime(when, time(NULL)) : -1;
}

const char *
oci_http_words(const char *body, char *buf, size_t cap)
{
	json_t *doc = json_loads(body, 0, NULL);
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

enum oci_http_class
oci_http_class(long code)
{
	if (code == 401 || code == 403)
		return OCI_HTTP_DENIED;
	if (code == 429 || code >= 500)
		return OCI_HTTP_AGAIN;
	return OCI_HTTP_OTHER;
}

int
oci_http_final(int res)
{
	switch ((CURLcode)res) {
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
		return 1;
	default:
		return 0;
	}
}

double
oci_http_wait(double retry_after, int failed, double max_wait, double timeout)
{
	double wait = FIRST_BACKOFF * (1 << (failed - 1));

	/* RFC 9110 Retry-After; a wait longer than --timeout is not a wait but a refusal. */
	if (retry_after > timeout)
		return -1;
	if (retry_after >= 0)
		wait = retry_after;
	return wait > max_wait ? max_wait : wait;
}

void
oci_say_ratelimit(const char *line, size_t len)
{
	size_t end = len;

	if (!oci_verbose)
		return;
	if (!(len > 9 && strncasecmp(line, "ratelimit", 9) == 0) &&
	    !(len > 16 && strncasecmp(line, "docker-ratelimit", 16) == 0) &&
	    !(len > 11 && strncasecmp(line, "x-ratelimit", 11) == 0))
		return;
	while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	oci_say("rate limit: %.*s", (int)(end < 512 ? end : 512), line);
}
