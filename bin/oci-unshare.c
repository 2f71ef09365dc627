/*
 * oci-unshare — run a process in its own namespaces; with --rootfs, a container.
 *
 * Without --rootfs it is `unshare -mur`: new user, mount and UTS namespaces,
 * you are root inside, then CMD runs.  With --rootfs DIR it does what a
 * runtime does for runtime-spec config-linux.md: new user, mount, PID, UTS
 * and IPC namespaces, DIR becomes "/" with its own /proc and a small /dev,
 * and CMD — or, with --image, the image config's Entrypoint and Cmd, with
 * its Env, WorkingDir and User — runs as PID 1.
 *
 *     oci-unshare sh -c 'oci-overlay bb:latest ctr && oci-unshare --rootfs ctr/merged --image bb:latest'
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f, "usage: oci-unshare [-mnpqruv] [--] [CMD [ARG...]]\n"
	    "       oci-unshare --rootfs DIR [--image IMAGE] [-e K=V]... [--network none|host]\n"
	    "                   [--userns remap|host] [-qv] [--] [CMD [ARG...]]\n");
	exit(f == stdout ? 0 : 2);
}

/* A container id as docker shows one: 12 hex digits. */
static void
container_id(char out[13])
{
	unsigned char r[6];
	size_t i;

	if (getrandom(r, sizeof r, 0) != sizeof r)
		memset(r, 0x5a, sizeof r);
	for (i = 0; i < sizeof r; i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
}

/*
 * PID 1 shows up in the container's `ps` by its command line: make that
 * "oci-init" rather than this run's (with its host paths), as
 * `docker run --init` shows docker-init.  argv's strings are no longer
 * needed once the rootfs is entered.
 */
static void
retitle(int argc, char *argv[])
{
	char *end = argv[argc - 1] + strlen(argv[argc - 1]);

	program_invocation_short_name = (char *)"oci-unshare";	/* for messages */
	memset(argv[0], '\0', end - argv[0]);
	snprintf(argv[0], end - argv[0] + 1, "oci-init");
}

/* Does env set TERM?  With a terminal, docker run -t sets TERM=xterm when it does not. */
static int
has_term(char **env)
{
	for (; env && *env; env++)
		if (strncmp(*env, "TERM=", 5) == 0)
			return 1;
	return 0;
}

/* The command did not start: 127 when there is no such command, 126 when
 * exec refused it (as sh does), 1 when preparing it failed. */
static void __attribute__((noreturn))
exec_failed(struct oci_err *e, int r)
{
	warnx("%s", e->msg);
	exit(r < 0 ? 1 : r == ENOENT ? 127 : 126);
}

/* What the command line asks for. */
struct args {
	const char *rootfs, *image;	/* --rootfs DIR, --image IMAGE */
	char **env;			/* -e K=V..., NULL-terminated; NULL when none */
	int ns;				/* OCI_NS_* to unshare */
	int hostnet;			/* --network host */
	int userns;			/* --userns: 'r'emap, 'h'ost, or 'a's root may */
	char **cmd;			/* CMD [ARG...], or empty */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_ROOTFS = 0x100, OPT_IMAGE, OPT_NETWORK, OPT_USERNS };
	static const struct option longopts[] = {
		{ "rootfs", required_argument, NULL, OPT_ROOTFS },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "mount", no_argument, NULL, 'm' },
		{ "uts", no_argument, NULL, 'u' },
		{ "pid", no_argument, NULL, 'p' },
		{ "net", no_argument, NULL, 'n' },
		{ "map-root-user", no_argument, NULL, 'r' },
		{ "env", required_argument, NULL, 'e' },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "userns", required_argument, NULL, OPT_USERNS },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	size_t nenv = 0;
	int c;

	a->userns = 'a';
	while ((c = oci_getopt(argc, argv, "+mupnre:hvq", longopts, usage)) != -1) {
		switch (c) {
		case 'm': a->ns |= OCI_NS_MOUNT; break;
		case 'u': a->ns |= OCI_NS_UTS; break;
		case 'p': a->ns |= OCI_NS_PID | OCI_NS_MOUNT; break;	/* a fresh /proc needs a mount ns */
		case 'n': a->ns |= OCI_NS_NET; break;
		case 'r': a->ns |= OCI_NS_USER; break;
		case OPT_ROOTFS: a->rootfs = optarg; break;
		case OPT_IMAGE: a->image = optarg; break;
		case 'e':
			if (!strchr(optarg, '=')) {
				warnx("--env %s: give NAME=VALUE", optarg);
				usage(stderr);
			}
			if ((a->env = realloc(a->env, (nenv + 2) * sizeof *a->env)) == NULL)
				err(1, "--env");
			a->env[nenv++] = optarg;
			a->env[nenv] = NULL;
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "host") != 0 && strcmp(optarg, "none") != 0) {
				warnx("--network %s: none (the default) or host", optarg);
				usage(stderr);
			}
			a->hostnet = strcmp(optarg, "host") == 0;
			break;
		case OPT_USERNS:
			if (strcmp(optarg, "host") != 0 && strcmp(optarg, "remap") != 0) {
				warnx("--userns %s: remap or host", optarg);
				usage(stderr);
			}
			a->userns = optarg[0];
			break;
		}
	}
	a->cmd = argv + optind;
	if ((a->image || a->env || a->hostnet || a->userns != 'a') && !a->rootfs) {
		warnx("%s needs --rootfs (it sets up a container)", a->image ? "--image" :
		    a->env ? "--env" : a->hostnet ? "--network" : "--userns");
		usage(stderr);
	}
	if (a->ns == 0 && !a->rootfs)
		a->ns = OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_UTS;	/* unshare -mur */
	if (a->rootfs) {
		a->ns |= OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_PID | OCI_NS_UTS | OCI_NS_IPC;
		if (!a->hostnet)
			a->ns |= OCI_NS_NET;
	}
	if (getuid() != 0)
		a->ns |= OCI_NS_USER;	/* nothing else is permitted without it */
}

/* What runs: CMD, or the image's Entrypoint and Cmd; with --rootfs, in the container's environment. */
static void
process(const struct args *a, struct oci_process *proc)
{
	static char *shell[] = { "/bin/sh", NULL };
	struct oci_image *img = NULL;
	struct oci_err e = { "" };
	json_t *config = NULL;
	char *cfgbuf = NULL;

	if (a->image) {
		if (oci_image_open(a->image, NULL, &img, &e) < 0 ||
		    oci_image_config(img, &cfgbuf, &(size_t){ 0 }, &config, &e) < 0 ||
		    oci_process_from_config(config, a->cmd, proc, &e) < 0)
			errx(1, "%s: %s", a->image, e.msg);
		json_decref(config);
		free(cfgbuf);
		oci_image_free(img);
	} else if (a->rootfs) {
		/* Not the host's environment: a container starts from its own. */
		if (oci_process_from_config(NULL, a->cmd[0] ? a->cmd : shell, proc, &e) < 0)
			errx(1, "%s", e.msg);
	} else {
		proc->argv = a->cmd[0] ? a->cmd : shell;
	}
	if (a->env && oci_process_setenv(proc, a->env, &e) < 0)
		errx(1, "%s", e.msg);
}

/*
 * As root, container ids are a range of host ids that own nothing, seen
 * through an idmapped mount of the rootfs (*tree).  Returns the first of
 * the range, or -1 when container ids stay host ids.
 */
static uid_t
remap_ids(const struct args *a, int *tree)
{
	struct oci_err e = { "" };
	uid_t remap = (uid_t)-1;

	if (a->rootfs && a->userns != 'h' && getuid() == 0 && oci_ns_initial_user()) {
		remap = oci_ns_pick_range();
		if ((*tree = oci_rootfs_idmap(a->rootfs, remap, &e)) < 0) {
			if (a->userns == 'r')
				errx(1, "--userns remap: %s", e.msg);
			oci_say("%s: container ids stay host ids, as in docker's default", e.msg);
			remap = (uid_t)-1;
		}
	} else if (a->userns == 'r') {
		errx(1, "--userns remap: only root in the host's user namespace can remap ids");
	}
	return remap;
}

/* PID 1 of the new PID namespace: enter the rootfs and run the container, or mount /proc and exec. */
static void __attribute__((noreturn))
pid1(const struct args *a, struct oci_process *proc, int tree, const int console[2],
    struct oci_pipes *pipes, int argc, char *argv[])
{
	struct oci_err e = { "" };
	int slave = -1, status;
	char id[13];

	if (!a->rootfs) {
		if (oci_ns_mount_proc("/proc", &e) < 0)
			errx(1, "%s", e.msg);
		exec_failed(&e, oci_process_exec(proc, &e));
	}
	/* A store's container keeps its id as its hostname, as docker's does. */
	if (oci_store_hostname(a->rootfs, id) < 0)
		container_id(id);
	if (oci_rootfs_enter(a->rootfs, tree, id, &e) < 0)
		errx(1, "%s", e.msg);
	retitle(argc, argv);
	if (console[1] >= 0) {
		close(console[0]);
		if (oci_contain_console(console[1], &slave, &e) < 0)
			warnx("%s: running without a terminal", e.msg);
		close(console[1]);
	}
	if (oci_contain_pipes_use(pipes, slave >= 0, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_contain_run(proc, slave, &status, &e) < 0)
		warnx("%s", e.msg);
	_exit(status);
}

int
main(int argc, char *argv[])
{
	struct oci_process proc = { 0 };
	struct args a = { 0 };
	struct oci_err e = { "" };
	int status, tree = -1, master = -1;
	int console[2] = { -1, -1 };
	struct oci_pipes pipes = { { -1, -1, -1 }, { -1, -1, -1 } };
	uid_t remap;
	pid_t pid;

	parse_args(argc, argv, &a);
	/* First of all, so that the container can never reach a writable
	 * runtime binary through /proc/self/exe. */
	if (a.rootfs && oci_contain_reexec(argv, &e) < 0)
		errx(1, "%s", e.msg);
	process(&a, &proc);
	remap = remap_ids(&a, &tree);
	/* The host's terminal stays out of reach: with stdin and stdout
	 * terminals, the container gets a pseudo-terminal of its own, as
	 * `docker run -it` does; otherwise, or when it cannot have one, pipes
	 * in place of those of fds 0-2 that are terminals. */
	if (a.rootfs && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
		err(1, "socketpair");
	if (a.rootfs && oci_contain_pipes(&pipes, &e) < 0)
		errx(1, "%s", e.msg);
	if (console[0] >= 0 && !has_term(proc.env) &&
	    oci_process_setenv(&proc, (char *[]){ "TERM=xterm", NULL }, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_ns_unshare(a.ns, remap, &e) < 0)
		errx(1, "%s", e.msg);
	if (!(a.ns & OCI_NS_PID))
		exec_failed(&e, oci_process_exec(&proc, &e));
	if ((pid = oci_ns_fork(a.ns, &e)) < 0)
		errx(1, "%s", e.msg);
	if (pid == 0)
		pid1(&a, &proc, tree, console, &pipes, argc, argv);
	if (tree >= 0)
		close(tree);
	if (console[1] >= 0) {
		close(console[1]);
		master = oci_contain_console_recv(console[0]);
		close(console[0]);
	}
	if (master >= 0)
		oci_contain_pipes_close(&pipes);	/* it has a terminal of its own */
	if ((status = master >= 0 ? oci_contain_relay(pid, master, &e) :
	    oci_contain_relay_pipes(pid, &pipes, &e)) < 0)
		errx(1, "%s", e.msg);
	if (a.rootfs)
		oci_process_free(&proc);
	free(a.env);
	return oci_cli_done(status);
}
