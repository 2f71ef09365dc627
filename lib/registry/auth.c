/*
 * lib/registry/auth.c — who we are to a registry: credentials, challenges, tokens.
 *
 * distribution-spec and Docker's token authentication: a registry that
 * wants proof answers 401 with a WWW-Authenticate challenge (RFC 7235).
 * "Basic" wants a user name and password on every request.  "Bearer"
 * names a realm (a token service), a service and a scope; the client asks
 * the realm for a token for that scope, anonymously or with Basic
 * credentials, and sends "Authorization: Bearer <token>" until the token's
 * expires_in runs out.  Tokens are cached per scope.
 */
#define _GNU_SOURCE	/* asprintf */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "registry.h"

#define TOKEN_REPLY_MAX (1024 * 1024)
#define TOKEN_TTL_MAX (24 * 3600.0)	/* seconds; a longer expires_in changes nothing for one pull */

/* ---- WWW-Authenticate ---- */

static const char *
skip_space(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A token or a quoted-string (with backslash escapes) into a new string. */
static char *
param_value(const char **pp)
{
	const char *p = *pp;
	char *out = malloc(strlen(p) + 1), *o = out;

	if (out == NULL)
		return NULL;
	if (*p == '"') {
		for (p++; *p && *p != '"'; p++) {
			if (*p == '\\' && p[1])
				p++;
			*o++ = *p;
		}
		if (*p != '"') {
			free(out);
			return NULL;
		}
		p++;
	} else {
		while (*p && *p != ',' && *p != ' ' && *p != '\t')
			*o++ = *p++;
	}
	*o = '\0';
	*pp = p;
	return out;
}

int
oci_challenge_parse(const char *header, struct oci_challenge *c, struct oci_err *e)
{
	const char *p = skip_space(header), *name;
	size_t n;
	char **slot, *v;

	memset(c, 0, sizeof *c);
	n = strcspn(p, " \t,");
	if (n == 0)
		return oci_fail(e, "WWW-Authenticate \"%.80s\": no scheme", header);
	if (n >= sizeof c->scheme)
		return oci_fail(e, "WWW-Authenticate \"%.80s\": unsupported authentication scheme (Bearer or Basic)",
		    header);
	memcpy(c->scheme, p, n);
	p = skip_space(p + n);
	/* auth-params: name=value, separated by commas; stop at the next challenge */
	while (*p) {
		name = p;
		n = strcspn(p, "= \t,");
		p = skip_space(p + n);
		if (*p != '=')
			break;
		p = skip_space(p + 1);
		if ((v = param_value(&p)) == NULL) {
			oci_challenge_free(c);
			return oci_fail(e, "WWW-Authenticate \"%.80s\": unterminated quoted value", header);
		}
		slot = n == 5 && strncasecmp(name, "realm", 5) == 0 ? &c->realm :
		    n == 7 && strncasecmp(name, "service", 7) == 0 ? &c->service :
		    n == 5 && strncasecmp(name, "scope", 5) == 0 ? &c->scope : NULL;
		if (slot && *slot == NULL)
			*slot = v;
		else
			free(v);
		p = skip_space(p);
		if (*p == ',')
			p = skip_space(p + 1);
	}
	return 0;
}

void
oci_challenge_free(struct oci_challenge *c)
{
	free(c->realm);
	free(c->service);
	free(c->scope);
	memset(c, 0, sizeof *c);
}

/* ---- Basic credentials ---- */

static char *
base64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);

	if (out)
		EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, n);
	return out;
}

/* ---- tokens ---- */

struct token {
	struct token *next;
	char *scope;
	char *header;	/* "Authorization: Bearer …" */
	double expires;	/* monotonic seconds */
};

struct oci_auth {
	char *user, *pass;
	struct oci_tls tls;
	char *basic;		/* "Authorization: Basic …" once a registry asked for it */
	struct token *tokens;
};

struct oci_auth *
oci_auth_new(const char *user, const char *pass, const struct oci_tls *tls)
{
	struct oci_auth *a = calloc(1, sizeof *a);

	if (a == NULL)
		return NULL;
	a->tls = *tls;
	if (user && ((a->user = strdup(user)) == NULL || (a->pass = strdup(pass ? pass : "")) == NULL)) {
		oci_auth_free(a);
		return NULL;
	}
	return a;
}

void
oci_auth_free(struct oci_auth *a)
{
	struct token *t, *next;

	if (a == NULL)
		return;
	for (t = a->tokens; t; t = next) {
		next = t->next;
		free(t->scope);
		free(t->header);
		free(t);
	}
	free(a->user);
	if (a->pass)
		explicit_bzero(a->pass, strlen(a->pass));
	free(a->pass);
	free(a->basic);
	free(a);
}

const char *
oci_auth_header(struct oci_auth *a, const char *scope)
{
	struct token *t;

	if (a->basic)
		return a->basic;
	for (t = a->tokens; t; t = t->next)
		if (strcmp(t->scope, scope) == 0)
			return oci_now() < t->expires ? t->header : NULL;
	return NULL;
}

static int
cache_token(struct oci_auth *a, const char *scope, const char *token, double ttl)
{
	struct token *t;

	for (t = a->tokens; t; t = t->next)
		if (strcmp(t->scope, scope) == 0)
			break;
	if (t == NULL) {
		if ((t = calloc(1, sizeof *t)) == NULL || (t->scope = strdup(scope)) == NULL) {
			free(t);
			return -1;
		}
		t->next = a->tokens;
		a->tokens = t;
	}
	free(t->header);
	if (asprintf(&t->header, "Authorization: Bearer %s", token) < 0) {
		t->header = NULL;
		return -1;
	}
	/* Renew a little early, so that a token does not run out in flight. */
	t->expires = oci_now() + ttl - (ttl > 20 ? 10 : ttl / 2);
	return 0;
}

struct reply {
	char *buf;
	size_t len;
	int too_big;
};

static size_t
on_reply(char *p, size_t size, size_t n, void *arg)
{
	struct reply *r = arg;
	size_t len = size * n;
	char *nb;

	if (r->len + len > TOKEN_REPLY_MAX) {
		r->too_big = 1;
		return 0;
	}
	if ((nb = realloc(r->buf, r->len + len + 1)) == NULL)
		return 0;
	r->buf = nb;
	memcpy(r->buf + r->len, p, len);
	r->len += len;
	r->buf[r->len] = '\0';
	return len;
}

/*
 * May the password go to this realm?  Docker sends it to whatever host the
 * registry names as its realm; we do too, but never in clear text across
 * the network: an http:// realm gets it only on this machine.
 */
static int
realm_ok(const char *realm, int with_password, struct oci_err *e)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = 0;

	if (realm == NULL || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0))
		rc = oci_fail(e, "Bearer challenge without an http(s) realm");
	else if (u == NULL || curl_url_set(u, CURLUPART_URL, realm, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		rc = oci_fail(e, "Bearer realm \"%.200s\" is not a URL", realm);
	else if (with_password && strncmp(realm, "http://", 7) == 0 && !oci_host_is_loopback(host))
		rc = oci_fail(e, "Bearer realm %.200s is plain HTTP on another machine: the password is not sent in clear text",
		    realm);
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

/* A token goes into a header: only the visible ASCII of RFC 6750's b64token and JWTs. */
static int
token_ok(const char *t)
{
	if (t == NULL || *t == '\0')
		return 0;
	for (; *t; t++)
		if (*t < 0x21 || *t > 0x7e)
			return 0;
	return 1;
}

/*
 * "scope=A&scope=B" for the scopes "A B": a push that mounts a blob from
 * another repository needs two (Docker's token specification repeats the
 * parameter; a challenge lists them with spaces between).  Caller frees.
 */
static char *
scope_params(CURL *curl, const char *scopes)
{
	char *out = strdup(""), *one, *esc, *next;
	const char *p = scopes;
	size_t n;

	while (out && *p) {
		n = strcspn(p, " ");
		one = strndup(p, n);
		esc = one ? curl_easy_escape(curl, one, 0) : NULL;
		next = NULL;
		if (esc == NULL || asprintf(&next, "%s%sscope=%s", out, *out ? "&" : "", esc) < 0)
			next = NULL;
		curl_free(esc);
		free(one);
		free(out);
		out = next;
		p += n;
		p += strspn(p, " ");
	}
	return out;
}

/*
 * An identity token is an OAuth2 refresh token (distribution's "OAuth2
 * token authentication"): POSTed to the realm in a form, never in the URL,
 * with grant_type=refresh_token.  *form is malloc'd.
 */
static int
refresh_form(CURL *curl, const char *token, const char *svc, const char *sc, char **form)
{
	char *t = curl_easy_escape(curl, token, 0);
	int n;

	if (t == NULL)
		return -1;
	/* sc is scope_params' "scope=A&scope=B", as the GET form asks for a token. */
	n = asprintf(form, "grant_type=refresh_token&client_id=oci-fetch&refresh_token=%s%s%s%s%s",
	    t, *sc ? "&" : "", sc, svc ? "&service=" : "", svc ? svc : "");
	explicit_bzero(t, strlen(t));
	curl_free(t);
	if (n < 0)
		*form = NULL;
	return n < 0 ? -1 : 0;
}

/* The token request's options: where, how long, who asks (form: an identity token's POST body). */
static void
token_request(CURL *curl, const struct oci_auth *a, const char *url, const char *form,
    double timeout, struct reply *r)
{
	curl_easy_setopt(curl, CURLOPT_URL, url);
	oci_http_easy(curl, "oci-fetch/" OCI_VERSION, &a->tls, timeout);
	/* The whole answer within --timeout: a token service that drips is a token service that failed. */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "identity");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	if (form) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	} else if (a->user) {
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERNAME, a->user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, a->pass);
	}
}

/* Did the token service answer 200 with a reply small enough to be a token? */
static int
token_status(const struct oci_auth *a, const char *realm, CURLcode res, long code,
    const struct reply *r, double timeout, struct oci_err *e)
{
	if (r->too_big)
		return oci_fail(e, "token service %s: its reply is over %d KiB, too big for a token",
		    realm, TOKEN_REPLY_MAX / 1024);
	if (res == CURLE_OPERATION_TIMEDOUT)
		return oci_fail(e, "token service %s: no complete reply within %gs (--timeout)", realm,
		    timeout);
	if (res != CURLE_OK)
		return oci_fail(e, "token service %s: %s", realm, curl_easy_strerror(res));
	if (code == 401 || code == 403)
		return oci_fail(e, "token service %s: %ld: %s", realm, code,
		    a->user ? "the user name or password was refused" : "anonymous access refused (--creds or an auth file)");
	if (code != 200)
		return oci_fail(e, "token service %s: HTTP %ld instead of a token%s", realm, code,
		    code >= 300 && code < 400 ? " (its redirects are not followed)" : "");
	return 0;
}

/* The token in the service's JSON reply, cached for scope for as long as it lives. */
static int
token_from_reply(struct oci_auth *a, const struct oci_challenge *c, const char *scope,
    const struct reply *r, struct oci_err *e)
{
	const char *token;
	json_error_t je;
	json_t *doc;
	double ttl;
	int rc = -1;

	/* Numbers as reals: an expires_in too big for an integer is still a number. */
	if ((doc = json_loadb(r->buf ? r->buf : "", r->len, JSON_DECODE_INT_AS_REAL, &je)) == NULL ||
	    !json_is_object(doc)) {
		oci_fail(e, "token service %s: its reply is not a JSON object (%s)", c->realm,
		    doc ? "another JSON value" : je.text);
		goto out;
	}
	token = json_string_value(json_object_get(doc, "token"));
	if (token == NULL || *token == '\0')
		token = json_string_value(json_object_get(doc, "access_token"));
	if (token == NULL || *token == '\0') {
		oci_fail(e, "token service %s: no \"token\" or \"access_token\" in its reply", c->realm);
		goto out;
	}
	if (!token_ok(token)) {
		oci_fail(e, "token service %s: its token has characters that an HTTP header cannot carry",
		    c->realm);
		goto out;
	}
	/* Docker's token spec: expires_in defaults to 60 seconds. */
	ttl = json_number_value(json_object_get(doc, "expires_in"));
	if (!(ttl > 0))
		ttl = 60;
	if (ttl > TOKEN_TTL_MAX)
		ttl = TOKEN_TTL_MAX;
	if (cache_token(a, scope, token, ttl) < 0) {
		oci_fail(e, "out of memory");
		goto out;
	}
	oci_say("token for %s from %s (%s, valid %.0fs)", c->scope ? c->scope : scope, c->realm,
	    a->user ? a->user : "anonymous", ttl);
	rc = 0;
out:
	json_decref(doc);
	return rc;
}

/* GET realm?service=…&scope=…, as Docker's token specification asks. */
static int
fetch_token(struct oci_auth *a, const struct oci_challenge *c, const char *scope,
    double timeout, struct oci_err *e)
{
	struct reply r = { NULL, 0, 0 };
	char *url = NULL, *svc = NULL, *sc = NULL, *form = NULL;
	CURLcode res;
	long code = 0;
	CURL *curl;
	int rc = -1;

	if (realm_ok(c->realm, a->user != NULL, e) < 0)
		return -1;
	if ((curl = curl_easy_init()) == NULL)
		return oci_fail(e, "out of memory");
	svc = c->service ? curl_easy_escape(curl, c->service, 0) : NULL;
	sc = scope_params(curl, c->scope ? c->scope : scope);
	if (sc == NULL || asprintf(&url, "%s%s%s%s%s", c->realm, strchr(c->realm, '?') ? "&" : "?", sc,
	    svc ? "&service=" : "", svc ? svc : "") < 0) {
		url = NULL;
		oci_fail(e, "out of memory");
		goto out;
	}
	if (a->user && strcmp(a->user, OCI_IDENTITY_TOKEN_USER) == 0 &&
	    refresh_form(curl, a->pass, svc, sc, &form) < 0) {
		oci_fail(e, "out of memory");
		goto out;
	}
	token_request(curl, a, form ? c->realm : url, form, timeout, &r);
	res = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	if (token_status(a, c->realm, res, code, &r, timeout, e) < 0 ||
	    token_from_reply(a, c, scope, &r, e) < 0)
		goto out;
	rc = 0;
out:
	free(r.buf);
	free(url);
	if (form)
		explicit_bzero(form, strlen(form));
	free(form);
	curl_free(svc);
	free(sc);
	curl_easy_cleanup(curl);
	return rc;
}

int
oci_auth_answer(struct oci_auth *a, const char *header, const char *scope, double timeout,
    struct oci_err *e)
{
	struct oci_challenge c;
	char *userpass = NULL;
	int rc;

	if (oci_challenge_parse(header, &c, e) < 0)
		return -1;
	if (strcasecmp(c.scheme, "Bearer") == 0) {
		rc = fetch_token(a, &c, scope, timeout, e);
	} else if (strcasecmp(c.scheme, "Basic") == 0) {
		if (a->user == NULL || strcmp(a->user, OCI_IDENTITY_TOKEN_USER) == 0) {
			oci_challenge_free(&c);
			return oci_fail(e, "the registry wants a user name and password (--creds or an auth file)%s",
			    a->user ? "; an identity token is only for a token service" : "");
		}
		if (a->basic) {
			oci_challenge_free(&c);
			return oci_fail(e, "the registry refused the user name or password");
		}
		rc = -1;
		if (asprintf(&userpass, "%s:%s", a->user, a->pass) >= 0) {
			char *b = base64(userpass);
			if (b && asprintf(&a->basic, "Authorization: Basic %s", b) >= 0)
				rc = 0;
			else
				a->basic = NULL;
			free(b);
			explicit_bzero(userpass, strlen(userpass));
			free(userpass);
		}
		if (rc < 0)
			oci_fail(e, "out of memory");
		else
			oci_say("Basic credentials for realm %s as %s", c.realm ? c.realm : "(none)",
			    a->user);
	} else {
		rc = oci_fail(e, "unsupported authentication scheme \"%s\" (Bearer or Basic)", c.scheme);
	}
	oci_challenge_free(&c);
	return rc;
}
