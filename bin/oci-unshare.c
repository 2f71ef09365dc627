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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <linux/close_range.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f, "usage: oci-unshare [-mnpqruv] [--] [CMD [ARG...]]\n"
	    "       oci-unshare --rootfs DIR [--image IMAGE] [-e K=V]... [--network none|host]\n"
	    "                   [--userns remap|host] [--pids-limit N] [-qv] [--] [CMD [ARG...]]\n");
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
	struct oci_ref ref;		/* --image IMAGE, parsed */
	char **env;			/* -e K=V..., NULL-terminated; NULL when none */
	int ns;				/* OCI_NS_* to unshare */
	int hostnet;			/* --network host */
	int userns;			/* --userns: 'r'emap, 'h'ost, or 'a's root may */
	long pids;			/* --pids-limit: at most this many processes, -1 none */
	int haspids;			/* --pids-limit was given */
	char **cmd;			/* CMD [ARG...], or empty */
};

/* The namespaces to make: what was asked, or `unshare -mur`'s; a container's whole set. */
static void
namespaces(struct args *a)
{
	if (a->ns == 0 && !a->rootfs)
		a->ns = OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_UTS;	/* unshare -mur */
	if (a->rootfs) {
		a->ns |= OCI_NS_USER | OCI_NS_MOUNT | OCI_NS_PID | OCI_NS_UTS | OCI_NS_IPC | OCI_NS_CGROUP;
		if (!a->hostnet)
			a->ns |= OCI_NS_NET;
	}
	if (getuid() != 0)
		a->ns |= OCI_NS_USER;	/* nothing else is permitted without it */
}

/* --pids-limit N: a number of processes, or -1 for none (a usage error otherwise). */
static long
pids_limit(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n == 0 || n < -1 || n > 4194304)
		oci_usage_error("--pids-limit %s: give a number of processes, or -1 for no limit", s);
	return n;
}

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_ROOTFS = 0x100, OPT_IMAGE, OPT_NETWORK, OPT_USERNS, OPT_PIDS };
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
		{ "pids-limit", required_argument, NULL, OPT_PIDS },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	size_t nenv = 0;
	int c;

	a->userns = 'a';
	a->pids = 2048;		/* podman's default pids_limit */
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
			if (!strchr(optarg, '='))
				oci_usage_error("--env %s: give NAME=VALUE", optarg);
			if ((a->env = realloc(a->env, (nenv + 2) * sizeof *a->env)) == NULL)
				err(1, "--env");
			a->env[nenv++] = optarg;
			a->env[nenv] = NULL;
			break;
		case OPT_NETWORK:
			if (strcmp(optarg, "host") != 0 && strcmp(optarg, "none") != 0)
				oci_usage_error("--network %s: none (the default) or host", optarg);
			a->hostnet = strcmp(optarg, "host") == 0;
			break;
		case OPT_USERNS:
			if (strcmp(optarg, "host") != 0 && strcmp(optarg, "remap") != 0)
				oci_usage_error("--userns %s: remap or host", optarg);
			a->userns = optarg[0];
			break;
		case OPT_PIDS:
			a->pids = pids_limit(optarg);
			a->haspids = 1;
			break;
		}
	}
	a->cmd = argv + optind;
	if ((a->image || a->env || a->hostnet || a->userns != 'a' || a->haspids) && !a->rootfs)
		oci_usage_error("%s needs --rootfs (it sets up a container)", a->image ? "--image" :
		    a->env ? "--env" : a->hostnet ? "--network" : a->haspids ? "--pids-limit" : "--userns");
	if (a->image)
		oci_cli_ref(a->image, &a->ref);
	namespaces(a);
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
		if (oci_image_open_ref(&a->ref, NULL, &img, &e) < 0 ||
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
 * Before any namespace, as the caller: a rootfs that other host users can
 * reach is refused when container root would be host root on disk; the
 * container's hostname is chosen; and we move into the rootfs, which is
 * how the steps after unshare find it without looking its path up (a
 * parent of mode 0700 would stop a remapped root).
 */
static void
rootfs_dir(const struct args *a, char id[13])
{
	struct oci_err e = { "" };
	char here[PATH_MAX];

	if (oci_rootfs_cd(a->rootfs, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_ns_maps_host_root() &&
	    (getcwd(here, sizeof here) == NULL || oci_rootfs_private(here, &e) < 0))
		errx(1, "%s", e.msg[0] ? e.msg : "rootfs: getcwd failed");
	/* A store's container keeps its id as its hostname, as docker's does. */
	if (oci_store_hostname(".", id) < 0)
		container_id(id);
}

/*
 * As root, container ids are a range of host ids that own nothing, seen
 * through an idmapped copy of the rootfs's mount (*tree); returns the
 * first of the range, or -1 when container ids stay host ids.  Root makes
 * the copy now, in the host's namespaces; anyone else makes it inside.
 */
static uid_t
remap_ids(const struct args *a, int *tree)
{
	struct oci_err e = { "" };
	uid_t remap;

	if (!a->rootfs || getuid() != 0 || !oci_ns_initial_user()) {
		if (a->userns == 'r')
			errx(1, "--userns remap: only root in the host's user namespace can remap ids");
		return (uid_t)-1;
	}
	if (a->userns != 'h') {
		if ((remap = oci_ns_pick_range()) == (uid_t)-1)
			oci_fail(&e, "no range of ids that no user namespace maps to was found in 64 picks "
			    "(/proc unreadable, or ranges all taken)");
		else if ((*tree = oci_rootfs_tree(remap, &e)) >= 0)
			return remap;
		if (a->userns == 'r')
			errx(1, "--userns remap: rootfs %s: %s", a->rootfs, e.msg);
		oci_say("rootfs %s: %s: container ids stay host ids, as in docker's default", a->rootfs, e.msg);
	}
	if ((*tree = oci_rootfs_tree((uid_t)-1, &e)) < 0)
		errx(1, "rootfs %s: %s", a->rootfs, e.msg);
	return (uid_t)-1;
}

/*
 * At most a->pids processes.  As host root, a cgroup of the container's
 * own, with (in the host's user namespace) runc's device allow-list as a
 * second wall behind the nodev rootfs; it is made and entered now, before
 * any namespace, so that the container is born in it, and a keeper
 * outside removes it at the end.  RLIMIT_NPROC does not bind host root,
 * so no cgroup means no run.
 */
static void
limit_root(const struct args *a, const char *id, struct oci_cgroup *cg)
{
	struct oci_err e = { "" };
	int devices = oci_ns_initial_user();
	char name[64];

	if (!a->rootfs || !oci_ns_maps_host_root())
		return;
	snprintf(name, sizeof name, "%s.%d", id, (int)getpid());
	if (oci_cgroup_create(cg, name, a->pids, devices, &e) < 0)
		errx(1, "cgroup: %s", e.msg);
	if (!devices)
		oci_say("cgroup: no device allow-list: it needs CAP_SYS_ADMIN in the host's user namespace, "
		    "which an oci-unshare inside another does not have; the nodev rootfs, verified, is the wall");
	if (oci_cgroup_keeper(cg, &e) < 0 || oci_cgroup_enter(cg, &e) < 0) {
		oci_cgroup_remove(cg);
		errx(1, "cgroup: %s", e.msg);
	}
}

/*
 * Anyone else: RLIMIT_NPROC, set inside the new user namespace, where the
 * kernel counts the processes of each uid of that namespace apart (Linux
 * 5.14 and later): the container's own.
 */
static void
limit_user(const struct args *a, const struct oci_cgroup *cg)
{
	struct oci_err e = { "" };

	if (a->rootfs && cg->n == 0 && oci_cgroup_rlimit(a->pids, &e) < 0)
		errx(1, "%s", e.msg);
}

/* What main hands PID 1, and keeps for itself: the container's plumbing. */
struct run {
	int tree;		/* the rootfs's copy (oci_rootfs_tree), or -1 */
	int idmapped;		/* tree is idmapped */
	char id[13];		/* the container's id, its hostname */
	int console[2];		/* the socket the pseudo-terminal comes back on */
	struct oci_pipes pipes;	/* in place of the host's terminal fds */
	struct oci_cgroup cg;	/* as host root, the container's cgroup */
};

/* PID 1 of the new PID namespace: enter the rootfs and run the container, or mount /proc and exec. */
static void __attribute__((noreturn))
pid1(const struct args *a, struct oci_process *proc, struct run *r, int argc, char *argv[])
{
	struct oci_err e = { "" };
	int slave = -1, status;

	if (!a->rootfs) {
		if (oci_ns_mount_proc("/proc", &e) < 0)
			errx(1, "%s", e.msg);
		exec_failed(&e, oci_process_exec(proc, &e));
	}
	if (oci_rootfs_enter(a->rootfs, r->tree, r->idmapped, r->id, &e) < 0)
		errx(1, "%s", e.msg);
	retitle(argc, argv);
	if (r->console[1] >= 0) {
		close(r->console[0]);
		if (oci_contain_console(r->console[1], &slave, &e) < 0)
			warnx("%s: running without a terminal", e.msg);
		close(r->console[1]);
	}
	if (oci_contain_pipes_use(&r->pipes, slave >= 0, &e) < 0)
		errx(1, "%s", e.msg);
	/* oci-init keeps nothing of ours either (the cgroup keeper's pipe,
	 * say): only the terminal, when there is one, as fd 3. */
	if (slave >= 0 && slave != 3) {
		dup2(slave, 3);
		close(slave);
		slave = 3;
	}
	close_range(slave >= 0 ? 4 : 3, ~0U, 0);
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
	struct run r = { .tree = -1, .console = { -1, -1 },
	    .pipes = { { -1, -1, -1 }, { -1, -1, -1 } } };
	int status, master = -1;
	uid_t remap;
	pid_t pid;

	parse_args(argc, argv, &a);
	/* Nothing the caller left open reaches the container, not even oci-init. */
	if (a.rootfs)
		close_range(3, ~0U, 0);
	/* First of all, so that the container can never reach a writable
	 * runtime binary through /proc/self/exe. */
	if (a.rootfs && oci_contain_reexec(argv, &e) < 0)
		errx(1, "%s", e.msg);
	process(&a, &proc);
	oci_ref_free(&a.ref);
	if (a.rootfs)
		rootfs_dir(&a, r.id);
	remap = remap_ids(&a, &r.tree);
	r.idmapped = remap != (uid_t)-1;
	limit_root(&a, r.id, &r.cg);
	/* The host's terminal stays out of reach: with stdin and stdout
	 * terminals, the container gets a pseudo-terminal of its own, as
	 * `docker run -it` does; otherwise, or when it cannot have one, pipes
	 * in place of those of fds 0-2 that are terminals. */
	if (a.rootfs && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, r.console) < 0)
		err(1, "socketpair");
	if (a.rootfs && oci_contain_pipes(&r.pipes, &e) < 0)
		errx(1, "%s", e.msg);
	if (r.console[0] >= 0 && !has_term(proc.env) &&
	    oci_process_setenv(&proc, (char *[]){ "TERM=xterm", NULL }, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_ns_unshare(a.ns, remap, &e) < 0)
		errx(1, "%s", e.msg);
	limit_user(&a, &r.cg);
	if (!(a.ns & OCI_NS_PID))
		exec_failed(&e, oci_process_exec(&proc, &e));
	if ((pid = oci_ns_fork(a.ns, &e)) < 0)
		errx(1, "%s", e.msg);
	if (pid == 0)
		pid1(&a, &proc, &r, argc, argv);
	oci_cgroup_keeper_leave(&r.cg);	/* only the container counts */
	if (r.tree >= 0)
		close(r.tree);
	if (r.console[1] >= 0) {
		close(r.console[1]);
		master = oci_contain_console_recv(r.console[0]);
		close(r.console[0]);
	}
	if (master >= 0)
		oci_contain_pipes_close(&r.pipes);	/* it has a terminal of its own */
	if ((status = master >= 0 ? oci_contain_relay(pid, master, &e) :
	    oci_contain_relay_pipes(pid, &r.pipes, &e)) < 0)
		errx(1, "%s", e.msg);
	oci_cgroup_keeper_done(&r.cg);
	if (a.rootfs)
		oci_process_free(&proc);
	free(a.env);
	return oci_cli_done(status);
}
