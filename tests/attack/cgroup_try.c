/*
 * tests/attack/cgroup_try.c — test-only: what a container's fork bomb and
 * a node for a device it was not given meet in lib/run/cgroup.c's cgroups.
 * Built against lib/liboci.a by tests/wip-cgroup.bats and run there, as
 * root (rlimit: as anyone); never installed.  It prints what the library
 * said ("say: …") and what the kernel answered, one line each; the suite
 * checks the lines.
 *
 *     cgroup_try lib NAME LIMIT FORKS DIR [wait]
 *         oci_cgroup_create NAME with pids.max LIMIT (-1: max), enter, fork
 *         up to FORKS children, open the device nodes made on a tmpfs
 *         mounted on DIR (in a mount namespace of our own; opened outside
 *         the cgroup first, the control; DIR "-": none), leave, remove,
 *         and check that each directory is gone; with "wait", once in, say
 *         "entered" and wait for stdin to end (a test reads the cgroup then)
 *     cgroup_try bpf CGDIR DIR
 *         make CGDIR in a cgroup2 hierarchy (a hybrid machine's
 *         /sys/fs/cgroup/unified), attach oci_cgroup_devices_bpf to it,
 *         move in, open the same nodes, move back, rmdir CGDIR
 *     cgroup_try rlimit LIMIT FORKS
 *         oci_cgroup_rlimit LIMIT, print RLIMIT_NPROC as it reads then
 *         (-1: unlimited), and fork up to FORKS children
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"

static void
report(enum oci_report kind, const char *msg, const struct oci_meter *m)
{
	(void)m;
	if (kind == OCI_REPORT_SAY || kind == OCI_REPORT_WARN)
		printf("%s: %s\n", kind == OCI_REPORT_SAY ? "say" : "warn", msg);
}

/* Fork up to n children that wait to be killed; say how many were born, then kill them. */
static void
forks(int n)
{
	pid_t *kids = calloc(n, sizeof *kids);
	int born = 0, err = 0, i;

	if (kids == NULL)
		return;
	for (; born < n; born++) {
		pid_t p = fork();

		if (p < 0) {
			err = errno;
			break;
		}
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			pause();
			_exit(0);
		}
		kids[born] = p;
	}
	printf("forks: %d of %d%s%s\n", born, n, err ? ", then " : "", err ? strerror(err) : "");
	for (i = 0; i < born; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < born; i++)
		waitpid(kids[i], NULL, 0);
	free(kids);
}

static const struct node {
	const char *name;
	mode_t type;
	int major, minor;
} nodes[] = {
	{ "null", S_IFCHR, 1, 3 },	/* on the allow-list */
	{ "pts99", S_IFCHR, 136, 99 },	/* on it, by "c 136:* rwm" (no such pty: ENXIO or EIO) */
	{ "kmsg", S_IFCHR, 1, 11 },	/* not: the kernel's log */
	{ "loop0", S_IFBLK, 7, 0 },	/* not: a block device */
};
#define NNODES (sizeof nodes / sizeof nodes[0])

/* A tmpfs on dir (dev allowed), in a mount namespace of our own, with the nodes in it. */
static int
make_nodes(const char *dir)
{
	char path[PATH_MAX];
	size_t i;

	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
	    mount("tmpfs", dir, "tmpfs", 0, "mode=0700") < 0) {
		fprintf(stderr, "cgroup_try: tmpfs on %s: %s\n", dir, strerror(errno));
		return -1;
	}
	for (i = 0; i < NNODES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, nodes[i].name);
		if (mknod(path, nodes[i].type | 0600, makedev(nodes[i].major, nodes[i].minor)) < 0) {
			fprintf(stderr, "cgroup_try: mknod %s: %s\n", path, strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Each node opened, where: "outside" the cgroup (the control) or "inside". */
static void
open_nodes(const char *dir, const char *where)
{
	char path[PATH_MAX];
	size_t i;
	int fd;

	for (i = 0; i < NNODES; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, nodes[i].name);
		fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		printf("%s: open %c %d:%d: %s\n", where, S_ISCHR(nodes[i].type) ? 'c' : 'b', nodes[i].major,
		    nodes[i].minor, fd >= 0 ? "opened" : strerror(errno));
		if (fd >= 0)
			close(fd);
	}
}

static void
gone(const char *dir)
{
	struct stat st;

	printf("%s: %s\n", dir, stat(dir, &st) < 0 && errno == ENOENT ? "gone" : "still there");
}

static int
try_lib(const char *name, long limit, int n, const char *dir, int wait)
{
	char made[OCI_CGROUP_DIRS][PATH_MAX];
	struct oci_cgroup cg;
	struct oci_err e;
	int i, status = 0;

	if (strcmp(dir, "-") != 0) {
		if (make_nodes(dir) < 0)
			return 1;
		open_nodes(dir, "outside");
	}
	if (oci_cgroup_create(&cg, name, limit, 1, &e) < 0) {
		printf("create: %s\n", e.msg);
		return 1;
	}
	for (i = 0; i < cg.n; i++)
		strcpy(made[i], cg.dir[i]);
	if (oci_cgroup_enter(&cg, &e) < 0) {
		printf("enter: %s\n", e.msg);
		status = 1;
	} else {
		if (wait) {
			char c;

			printf("entered\n");
			while (read(0, &c, 1) > 0)
				;
		}
		forks(n);
		if (strcmp(dir, "-") != 0)
			open_nodes(dir, "inside");
		if (oci_cgroup_leave(&cg, &e) < 0) {
			printf("leave: %s\n", e.msg);
			status = 1;
		} else
			printf("left\n");
	}
	n = cg.n;
	oci_cgroup_remove(&cg);
	for (i = 0; i < n; i++)
		gone(made[i]);
	return status;
}

/* Write our pid to dir/cgroup.procs: move there. */
static int
move(const char *dir)
{
	char path[PATH_MAX + 16];
	FILE *f;
	int r;

	snprintf(path, sizeof path, "%s/cgroup.procs", dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	r = fclose(f);
	return r;
}

static int
try_bpf(const char *cgdir, const char *dir)
{
	char line[PATH_MAX], from[PATH_MAX + 64] = "", *slash;
	struct oci_err e;
	FILE *f;
	int fd, status = 1;

	if (make_nodes(dir) < 0)
		return 1;
	open_nodes(dir, "outside");
	/* We come from the cgroup2 path of /proc/self/cgroup, in the hierarchy cgdir is in. */
	if ((f = fopen("/proc/self/cgroup", "r")) == NULL)
		return 1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(from, sizeof from, "%s", cgdir);
			if ((slash = strrchr(from, '/')) != NULL)
				snprintf(slash, sizeof from - (slash - from), "%s", line + 3);
		}
	fclose(f);
	if (mkdir(cgdir, 0755) < 0) {
		printf("mkdir %s: %s\n", cgdir, strerror(errno));
		return 1;
	}
	if ((fd = open(cgdir, O_RDONLY | O_DIRECTORY)) < 0 || oci_cgroup_devices_bpf(fd, &e) < 0) {
		printf("devices: %s\n", fd < 0 ? strerror(errno) : e.msg);
	} else if (move(cgdir) < 0) {
		printf("enter: %s\n", strerror(errno));
	} else {
		printf("devices: attached and read back\n");
		open_nodes(dir, "inside");
		if (move(from) < 0)
			printf("leave %s: %s\n", from, strerror(errno));
		else {
			printf("left\n");
			status = 0;
		}
	}
	if (fd >= 0)
		close(fd);
	if (rmdir(cgdir) < 0)
		printf("rmdir %s: %s\n", cgdir, strerror(errno));
	gone(cgdir);
	return status;
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "";
	struct oci_err e;
	struct rlimit rl;

	setvbuf(stdout, NULL, _IONBF, 0);
	oci_set_reporter(report);
	oci_verbose = 1;
	if (strcmp(mode, "lib") == 0 && (argc == 6 || (argc == 7 && strcmp(argv[6], "wait") == 0)))
		return try_lib(argv[2], atol(argv[3]), atoi(argv[4]), argv[5], argc == 7);
	if (strcmp(mode, "bpf") == 0 && argc == 4)
		return try_bpf(argv[2], argv[3]);
	if (strcmp(mode, "rlimit") == 0 && argc == 4) {
		if (oci_cgroup_rlimit(atol(argv[2]), &e) < 0) {
			printf("rlimit: %s\n", e.msg);
			return 1;
		}
		if (getrlimit(RLIMIT_NPROC, &rl) == 0)
			printf("RLIMIT_NPROC: soft %lld, hard %lld\n", rl.rlim_cur == RLIM_INFINITY ? -1LL :
			    (long long)rl.rlim_cur, rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
		forks(atoi(argv[3]));
		return 0;
	}
	fprintf(stderr, "usage: cgroup_try lib NAME LIMIT FORKS DIR [wait] | bpf CGDIR DIR | rlimit LIMIT FORKS\n");
	return 2;
}
