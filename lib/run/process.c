/*
 * lib/run/process.c — the process an image config describes, and its exec.
 *
 * image-spec config.md, "config" object: Entrypoint and Cmd make argv (a
 * command given on the command line replaces Cmd, as `docker run IMAGE
 * ARGS` does, and keeps Entrypoint); Env is the whole environment;
 * WorkingDir and User say where and as whom it runs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

/* What docker and podman give a process whose image sets no PATH. */
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Append the strings of a JSON array to a NULL-terminated vector. */
static int
append_strings(char ***v, size_t *n, const json_t *arr, const char *what, struct oci_err *e)
{
	const json_t *s;
	size_t i;
	char **nv;

	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return oci_fail(e, "config: %s is not an array", what);
	nv = realloc(*v, (*n + json_array_size(arr) + 1) * sizeof *nv);
	if (nv == NULL)
		return oci_fail(e, "out of memory");
	*v = nv;
	json_array_foreach(arr, i, s) {
		if (!json_is_string(s))
			return oci_fail(e, "config: %s[%zu] is not a string", what, i);
		if ((nv[*n] = strdup(json_string_value(s))) == NULL)
			return oci_fail(e, "out of memory");
		nv[++*n] = NULL;
	}
	return 0;
}

static int
append_str(char ***v, size_t *n, const char *s, struct oci_err *e)
{
	json_t *a = json_pack("[s]", s);
	int rc = a ? append_strings(v, n, a, "", e) : oci_fail(e, "out of memory");

	json_decref(a);
	return rc;
}

int
oci_process_from_config(const json_t *config, char *const *cmd, struct oci_process *p,
    struct oci_err *e)
{
	const json_t *c = json_object_get(config, "config"), *v;
	size_t n = 0, nenv = 0, i;

	memset(p, 0, sizeof *p);
	if (c != NULL && !json_is_object(c) && !json_is_null(c))
		return oci_fail(e, "config: \"config\" is not an object");
	if (append_strings(&p->argv, &n, json_object_get(c, "Entrypoint"), "Entrypoint", e) < 0)
		goto bad;
	if (cmd && cmd[0]) {
		for (i = 0; cmd[i]; i++)
			if (append_str(&p->argv, &n, cmd[i], e) < 0)
				goto bad;
	} else if (append_strings(&p->argv, &n, json_object_get(c, "Cmd"), "Cmd", e) < 0) {
		goto bad;
	}
	if (n == 0) {
		oci_fail(e, "the image has no Entrypoint or Cmd: give a command");
		goto bad;
	}
	if (append_strings(&p->env, &nenv, json_object_get(c, "Env"), "Env", e) < 0)
		goto bad;
	for (i = 0; i < nenv; i++)
		if (strncmp(p->env[i], "PATH=", 5) == 0)
			break;
	if (i == nenv && append_str(&p->env, &nenv, DEFAULT_PATH, e) < 0)
		goto bad;
	v = json_object_get(c, "WorkingDir");
	if (json_is_string(v) && json_string_length(v) > 0 && (p->cwd = strdup(json_string_value(v))) == NULL)
		goto oom;
	v = json_object_get(c, "User");
	if (json_is_string(v) && json_string_length(v) > 0 && (p->user = strdup(json_string_value(v))) == NULL)
		goto oom;
	return 0;
oom:
	oci_fail(e, "out of memory");
bad:
	oci_process_free(p);
	return -1;
}

int
oci_process_setenv(struct oci_process *p, char *const *kv, struct oci_err *e)
{
	size_t n = 0, i, klen;
	char *copy;

	while (p->env && p->env[n])
		n++;
	for (; *kv; kv++) {
		klen = strcspn(*kv, "=") + 1;
		if ((copy = strdup(*kv)) == NULL)
			return oci_fail(e, "out of memory");
		for (i = 0; i < n; i++)
			if (strncmp(p->env[i], *kv, klen) == 0)
				break;
		if (i < n) {
			free(p->env[i]);
			p->env[i] = copy;
			continue;
		}
		char **nv = realloc(p->env, (n + 2) * sizeof *nv);
		if (nv == NULL) {
			free(copy);
			return oci_fail(e, "out of memory");
		}
		p->env = nv;
		p->env[n++] = copy;
		p->env[n] = NULL;
	}
	return 0;
}

void
oci_process_free(struct oci_process *p)
{
	size_t i;

	for (i = 0; p->argv && p->argv[i]; i++)
		free(p->argv[i]);
	for (i = 0; p->env && p->env[i]; i++)
		free(p->env[i]);
	free(p->argv);
	free(p->env);
	free(p->cwd);
	free(p->user);
	memset(p, 0, sizeof *p);
}

/* Become the config's User, found in the rootfs's own /etc/passwd and /etc/group. */
static int
become(const struct oci_process *p, char ***env, struct oci_err *e)
{
	struct oci_user u;
	size_t i, n = 0;
	char home[sizeof u.home + 8];

	if (oci_user_lookup(p->user, &u, e) < 0)
		return -1;
	if (oci_ns_setgroups_allowed() && setgroups(u.ngroups, u.groups) < 0)
		return oci_fail_errno(e, "user %s: setgroups", p->user);
	if (setgid(u.gid) < 0)
		return oci_fail_errno(e, "user %s: gid %lu%s", p->user ? p->user : "0",
		    (unsigned long)u.gid, errno == EINVAL ? " is not mapped in this user namespace" : "");
	if (setuid(u.uid) < 0)
		return oci_fail_errno(e, "user %s: uid %lu%s", p->user ? p->user : "0",
		    (unsigned long)u.uid, errno == EINVAL ? " is not mapped in this user namespace" : "");
	oci_say("user %s: uid %lu, gid %lu, %d more group%s, home %s", p->user ? p->user : "(none)",
	    (unsigned long)u.uid, (unsigned long)u.gid, u.ngroups, u.ngroups == 1 ? "" : "s", u.home);
	for (i = 0; (*env)[i]; i++, n++)
		if (strncmp((*env)[i], "HOME=", 5) == 0)
			return 0;
	snprintf(home, sizeof home, "HOME=%s", u.home);
	return append_str(env, &n, home, e);
}

int
oci_process_exec(struct oci_process *p, struct oci_err *e)
{
	extern char **environ;

	if (p->env && become(p, &p->env, e) < 0)
		return -1;
	if (p->cwd && oci_rootfs_chdir(p->cwd, e) < 0)
		return -1;
	if (p->cwd)
		oci_say("working directory: %s", p->cwd);
	/* Nothing we (or our caller) opened may reach the command:
	 * a leaked directory fd is a way out of the rootfs. */
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		return oci_fail_errno(e, "close_range");
	if (p->env)
		environ = p->env;
	oci_say("exec %s", p->argv[0]);
	execvp(p->argv[0], p->argv);
	oci_fail_errno(e, "exec %s", p->argv[0]);
	return errno;
}
