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
static void
exec_failed(struct oci_err *e, int r)
{
	warnx("%s", e->msg);
	exit(r < 0 ? 1 : r == ENOENT ? 127 : 126);
}

int
main(int argc, char *argv[])
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
	static char *shell[] = { "/bin/sh", NULL };
	const char *rootfs = NULL, *image = NULL;
	struct oci_process proc = { 0 };
	struct oci_image *img = NULL;
	struct oci_err e = { "" };
	char id[13], *cfgbuf = NULL, **env = NULL;
	json_t *config = NULL;
	int c, ns = 0, status, hostnet = 0, userns = 'a', tree = -1, master = -1, slave = -1;
	int console[2] = { -1, -1 };
	uid_t remap = (uid_t)-1;
	size_t nenv = 0;
	pid_t pid;

	while ((c = getopt_long(argc, argv, "+mupnre:hvq", longopts, NULL)) != -1) {
		switch (c) {
		case 'm': ns |= OCI_NS_MOUNT; break;
		case 'u': ns |= OCI_NS_UTS; break;
		case 'p': ns |= OCI_NS_PID | OCI_NS_MOUNT; break;	/* a fresh /proc needs a mount ns */
		case 'n': ns |= OCI_NS_NET; break;
		case 'r': ns |= OCI_NS_USER; break;
		case OPT_ROOTFS: rootfs = optarg; break;
		case OPT_IMAGE: image = optarg; break;
		case 'e':
			if (!strchr(optarg, '=')) {
				warnx("--env %s: give NAME=VALUE", optarg);
				usage(stderr);
			}
			if ((env = realloc(env, (nenv + 2) * sizeof *env)) == NULL)
				err(1, "--env");
			env[nenv++] = optarg;
			env[nenv] = NULL;
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "host") != 0 && strcmp(optarg, "none") != 0) {
				warnx("--network %s: none (the default) or host", optarg);
				usage(stderr);
			}
			hostnet = strcmp(optarg, "host") == 0;
			break;
		case OPT_USERNS:
			if (strcmp(optarg, "host") != 0 && strcmp(optarg, "remap") != 0) {
				warnx("--userns %s: remap or host", optarg);
				usage(stderr);
			}
			userns = optarg[0];
			break;
		case 'v': oci_verbose++; break;
		case 'q': oci_quiet = 1; break;
		case 'h': usage(stdout);
		case OCI_OPT_VERSION: oci_print_version(); return 0;
		default: usage(stderr);
		}
	}
	argv += optind;
	if ((image || env || hostnet || userns != 'a') && !rootfs) {
		warnx("%s needs --rootfs (it sets up a container)",
		    image ? "--image" : env ? "--env" : hostnet ? "--network" : "--userns");
		usage(stderr);
	}
	if (ns == 0 && !rootfs)
		ns = OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_UTS;	/* unshare -mur */
	if (rootfs) {
		/* First of all, so that the container can never reach a
		 * writable runtime binary through /proc/self/exe. */
		if (oci_contain_reexec(argv - optind, &e) < 0)
			errx(1, "%s", e.msg);
		ns |= OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_PID | OCI_NS_UTS | OCI_NS_IPC;
		if (!hostnet)
			ns |= OCI_NS_NET;
	}
	if (getuid() != 0)
		ns |= OCI_NS_USER;	/* nothing else is permitted without it */

	if (image) {
		if (oci_image_open(image, NULL, &img, &e) < 0 ||
		    oci_image_config(img, &cfgbuf, &(size_t){ 0 }, &config, &e) < 0 ||
		    oci_process_from_config(config, argv, &proc, &e) < 0)
			errx(1, "%s: %s", image, e.msg);
		json_decref(config);
		free(cfgbuf);
		oci_image_free(img);
	} else if (rootfs) {
		/* Not the host's environment: a container starts from its own. */
		if (oci_process_from_config(NULL, argv[0] ? argv : shell, &proc, &e) < 0)
			errx(1, "%s", e.msg);
	} else {
		proc.argv = argv[0] ? argv : shell;
	}
	if (env && oci_process_setenv(&proc, env, &e) < 0)
		errx(1, "%s", e.msg);

	/* As root, container ids are a range of host ids that own nothing,
	 * seen through an idmapped mount of the rootfs. */
	if (rootfs && userns != 'h' && getuid() == 0 && oci_ns_initial_user()) {
		remap = oci_ns_pick_range();
		if ((tree = oci_rootfs_idmap(rootfs, remap, &e)) < 0) {
			if (userns == 'r')
				errx(1, "--userns remap: %s", e.msg);
			oci_say("%s: container ids stay host ids, as in docker's default", e.msg);
			remap = (uid_t)-1;
		}
	} else if (userns == 'r') {
		errx(1, "--userns remap: only root in the host's user namespace can remap ids");
	}
	/* The host's terminal stays out of reach: a container run from one
	 * gets a pseudo-terminal of its own, as `docker run -it` does. */
	if (rootfs && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console) < 0)
		err(1, "socketpair");
	if (console[0] >= 0 && !has_term(proc.env) &&
	    oci_process_setenv(&proc, (char *[]){ "TERM=xterm", NULL }, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_ns_unshare(ns, remap, &e) < 0)
		errx(1, "%s", e.msg);
	if (!(ns & OCI_NS_PID)) {
		exec_failed(&e, oci_process_exec(&proc, &e));
	}
	if ((pid = oci_ns_fork(ns, &e)) < 0)
		errx(1, "%s", e.msg);
	if (pid == 0) {
		/* PID 1 of the new PID namespace. */
		/* A store's container keeps its id as its hostname, as docker's does. */
		if (!rootfs || oci_store_hostname(rootfs, id) < 0)
			container_id(id);
		if (rootfs) {
			if (oci_rootfs_enter(rootfs, tree, id, &e) < 0)
				errx(1, "%s", e.msg);
			retitle(argc, argv - optind);
			if (console[1] >= 0) {
				close(console[0]);
				if (oci_contain_console(console[1], &slave, &e) < 0)
					warnx("%s: running without a terminal", e.msg);
				close(console[1]);
			}
			if (oci_contain_run(&proc, slave, &status, &e) < 0)
				warnx("%s", e.msg);
			_exit(status);
		}
		if (oci_ns_mount_proc("/proc", &e) < 0)
			errx(1, "%s", e.msg);
		exec_failed(&e, oci_process_exec(&proc, &e));
	}
	if (tree >= 0)
		close(tree);
	if (console[1] >= 0) {
		close(console[1]);
		master = oci_contain_console_recv(console[0]);
		close(console[0]);
	}
	if ((status = master >= 0 ? oci_contain_relay(pid, master, &e) : oci_ns_wait(pid, &e)) < 0)
		errx(1, "%s", e.msg);
	if (rootfs)
		oci_process_free(&proc);
	free(env);
	return status;
}
