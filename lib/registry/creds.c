/*
 * lib/registry/creds.c — where a user's registry credentials are: auth files and
 * credential helpers.
 *
 * containers-auth.json(5) and docker's config.json keep, per registry (or
 * registry/repository), an "auths" entry with "auth" (base64 of USER:PASS)
 * or "identitytoken" (an OAuth2 refresh token that docker login got from
 * a token service).  docker's config.json may instead name a credential
 * helper: "credHelpers" per registry, or "credsStore" for all, a program
 * docker-credential-NAME that answers "get" with the server name on its
 * stdin and {"Username":…,"Secret":…} on its stdout (a Username of
 * "<token>" makes Secret an identity token).  As in docker, a registry's
 * credHelpers entry comes first, then credsStore, then "auths".
 *
 * A secret is never put in an argument, a message or the -v narration.
 */
#define _GNU_SOURCE	/* pipe2 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "registry.h"

/* A helper's answer is a small JSON object; more is refused. */
#define HELPER_REPLY_MAX (64 * 1024)

/* "user:pass" in base64 (an auth file's "auth") into its two halves. */
static int
split_auth(const char *b64, char **user, char **pass, struct oci_err *e)
{
	size_t n = strlen(b64);
	unsigned char *raw;
	char *colon;
	int len;

	if (n == 0 || n % 4 != 0)
		return oci_fail(e, "\"auth\" is not base64");
	raw = malloc(n / 4 * 3 + 1);
	if (raw == NULL)
		return oci_fail(e, "out of memory");
	len = EVP_DecodeBlock(raw, (const unsigned char *)b64, n);
	if (len < 0) {
		free(raw);
		return oci_fail(e, "\"auth\" is not base64");
	}
	/* EVP_DecodeBlock counts the padding as zero bytes. */
	while (n > 0 && b64[--n] == '=')
		len--;
	raw[len] = '\0';
	colon = strchr((char *)raw, ':');
	if (colon == NULL || strlen((char *)raw) != (size_t)len) {
		free(raw);
		return oci_fail(e, "\"auth\" is not base64 of USER:PASSWORD");
	}
	*colon = '\0';
	*user = strdup((char *)raw);
	*pass = strdup(colon + 1);
	free(raw);
	return 0;
}

/*
 * An "auths" key as docker and podman write them ("https://index.docker.io/v1/",
 * "quay.io", "localhost:5000/team") without scheme, API suffix or Docker
 * Hub's other host names.
 */
static void
normalise_key(const char *key, char *out, size_t cap)
{
	size_t n;

	if (strncmp(key, "https://", 8) == 0)
		key += 8;
	else if (strncmp(key, "http://", 7) == 0)
		key += 7;
	if (strncmp(key, "index.docker.io", 15) == 0 && strchr("/", key[15]))
		snprintf(out, cap, "docker.io%s", key + 15);
	else if (strncmp(key, "registry-1.docker.io", 20) == 0 && strchr("/", key[20]))
		snprintf(out, cap, "docker.io%s", key + 20);
	else
		snprintf(out, cap, "%s", key);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	if (n >= 3 && (strcmp(out + n - 3, "/v1") == 0 || strcmp(out + n - 3, "/v2") == 0))
		out[n - 3] = '\0';
}

/* The credential helper config.json names for registry: credHelpers first, then credsStore. */
static const char *
helper_for(const json_t *doc, const char *registry)
{
	const char *key;
	char norm[1024];
	json_t *v;

	json_object_foreach(json_object_get(doc, "credHelpers"), key, v) {
		normalise_key(key, norm, sizeof norm);
		if (strcmp(norm, registry) == 0 && json_is_string(v) && *json_string_value(v))
			return json_string_value(v);
	}
	v = json_object_get(doc, "credsStore");
	return json_is_string(v) && *json_string_value(v) ? json_string_value(v) : NULL;
}

/*
 * Run "docker-credential-NAME get" with server on its stdin; its stdout
 * (at most HELPER_REPLY_MAX bytes) into *out, NUL-terminated.  Returns
 * its exit status, or -1 when it could not be run.
 */
static int
run_helper(const char *prog, const char *server, char **out, struct oci_err *e)
{
	int in[2], res[2], status;
	void (*oldpipe)(int);
	size_t len = 0;
	ssize_t k;
	pid_t pid;
	char *buf;

	*out = NULL;
	if ((buf = malloc(HELPER_REPLY_MAX + 1)) == NULL)
		return oci_fail(e, "out of memory");
	if (pipe2(in, O_CLOEXEC) < 0) {
		free(buf);
		return oci_fail_errno(e, "%s", prog);
	}
	if (pipe2(res, O_CLOEXEC) < 0) {
		close(in[0]);
		close(in[1]);
		free(buf);
		return oci_fail_errno(e, "%s", prog);
	}
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(in[0], 0);
		dup2(res[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execlp(prog, prog, "get", (char *)NULL);
		_exit(127);	/* not exit: the parent's atexit work is not the child's */
	}
	close(in[0]);
	close(res[1]);
	if (pid < 0) {
		close(in[1]);
		close(res[0]);
		free(buf);
		return oci_fail_errno(e, "%s", prog);
	}
	/* A helper that does not read its stdin must not kill us with SIGPIPE. */
	oldpipe = signal(SIGPIPE, SIG_IGN);
	k = write(in[1], server, strlen(server));
	(void)k;
	close(in[1]);
	signal(SIGPIPE, oldpipe);
	while (len < HELPER_REPLY_MAX && (k = read(res[0], buf + len, HELPER_REPLY_MAX - len)) != 0) {
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			break;
		len += k;
	}
	close(res[0]);
	buf[len] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			free(buf);
			return oci_fail_errno(e, "%s", prog);
		}
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* What config.json's helper NAME says for registry: 1 and *user, *pass; 0 none; -1 error. */
static int
creds_from_helper(const char *name, const char *registry, char **user, char **pass,
    struct oci_err *e)
{
	char prog[300], *reply;
	const char *u, *s;
	json_t *doc;
	int status;

	/* Only a plain name: "docker-credential-NAME" is looked up in PATH. */
	if (name[strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")] != '\0' ||
	    strlen(name) > 200)
		return oci_fail(e, "credential helper \"%s\": not a helper name", name);
	snprintf(prog, sizeof prog, "docker-credential-%s", name);
	/* docker keeps Docker Hub under its old index address. */
	status = run_helper(prog, strcmp(registry, "docker.io") == 0 ?
	    "https://index.docker.io/v1/" : registry, &reply, e);
	if (status < 0)
		return -1;
	if (status != 0) {
		/* docker-credential-helpers' own words for "nothing stored for this server" */
		int none = strstr(reply, "credentials not found") != NULL;

		free(reply);
		if (none) {
			oci_say("%s has no credentials for %s", prog, registry);
			return 0;
		}
		if (status == 127)
			return oci_fail(e, "credential helper %s: not found in PATH", prog);
		return oci_fail(e, "credential helper %s get: exit status %d", prog, status);
	}
	doc = json_loads(reply, 0, NULL);
	explicit_bzero(reply, strlen(reply));
	free(reply);
	u = json_string_value(json_object_get(doc, "Username"));
	s = json_string_value(json_object_get(doc, "Secret"));
	if (u == NULL || s == NULL || *s == '\0') {
		json_decref(doc);
		return oci_fail(e, "credential helper %s get: no Username and Secret in its answer", prog);
	}
	*user = strdup(u);
	*pass = strdup(s);
	json_decref(doc);
	if (*user == NULL || *pass == NULL)
		return oci_fail(e, "out of memory");
	oci_say("%s for %s from %s", strcmp(*user, OCI_IDENTITY_TOKEN_USER) == 0 ?
	    "an identity token" : "credentials", registry, prog);
	return 1;
}

/*
 * The entry of one file's "auths" that matches registry/repo best: the
 * longest key that is the registry or the registry and a leading part of
 * the repository.  1 found, 0 not, -1 broken file.
 */
static int
creds_in_file(const char *path, const char *registry, const char *repo, char **user,
    char **pass, struct oci_err *e)
{
	const char *key, *b64 = NULL, *token = NULL, *helper;
	char want[1024], norm[1024];
	size_t best = 0, n;
	json_error_t je;
	json_t *doc, *v;
	int rc;

	doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	if (doc == NULL) {
		if (errno == ENOENT && strstr(je.text, "unable to open"))
			return 0;
		return oci_fail(e, "%s: %s", path, je.text);
	}
	snprintf(want, sizeof want, "%s/%s", registry, repo);
	json_object_foreach(json_object_get(doc, "auths"), key, v) {
		normalise_key(key, norm, sizeof norm);
		n = strlen(norm);
		if (n <= best || strncmp(want, norm, n) != 0 || (want[n] != '/' && want[n] != '\0'))
			continue;
		if (n < strlen(registry))	/* "docker.io/lib" must not match "docker.io/library" */
			continue;
		if (json_is_string(json_object_get(v, "identitytoken")) &&
		    *json_string_value(json_object_get(v, "identitytoken"))) {
			token = json_string_value(json_object_get(v, "identitytoken"));
			b64 = NULL;
			best = n;
		} else if (json_is_string(json_object_get(v, "auth"))) {
			b64 = json_string_value(json_object_get(v, "auth"));
			token = NULL;
			best = n;
		}
	}
	rc = 0;
	if ((helper = helper_for(doc, registry)) != NULL) {
		rc = creds_from_helper(helper, registry, user, pass, e);
		if (rc < 0)
			oci_context(e, "%s", path);
	} else if (token) {
		*user = strdup(OCI_IDENTITY_TOKEN_USER);
		*pass = strdup(token);
		rc = 1;
		oci_say("an identity token for %s from %s", registry, path);
	} else if (b64) {
		rc = split_auth(b64, user, pass, e) < 0 ? -1 : 1;
		if (rc < 0)
			oci_context(e, "%s", path);
		else
			oci_say("credentials for %s from %s", registry, path);
	}
	json_decref(doc);
	return rc;
}

int
oci_creds_find(const char *registry, const char *repo, const char *authfile, char **user,
    char **pass, struct oci_err *e)
{
	const char *env, *home = getenv("HOME");
	char xdg[4096], docker[4096];
	int rc;

	*user = *pass = NULL;
	if (authfile) {
		if (access(authfile, R_OK) < 0)
			return oci_fail_errno(e, "auth file %s", authfile);
		return creds_in_file(authfile, registry, repo, user, pass, e);
	}
	if ((env = getenv("REGISTRY_AUTH_FILE")) && *env)
		return creds_in_file(env, registry, repo, user, pass, e);
	if ((env = getenv("XDG_RUNTIME_DIR")) && *env) {
		snprintf(xdg, sizeof xdg, "%s/containers/auth.json", env);
		if ((rc = creds_in_file(xdg, registry, repo, user, pass, e)) != 0)
			return rc;
	}
	if ((env = getenv("DOCKER_CONFIG")) && *env)
		snprintf(docker, sizeof docker, "%s/config.json", env);
	else if (home)
		snprintf(docker, sizeof docker, "%s/.docker/config.json", home);
	else
		return 0;
	return creds_in_file(docker, registry, repo, user, pass, e);
}
