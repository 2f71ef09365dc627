/*
 * lib/run/ns.c — Linux namespaces, as `unshare -mur` makes them.
 *
 * namespaces(7), user_namespaces(7): unshare(2) with CLONE_NEWUSER gives a
 * process a fresh set of capabilities that count only inside the new user
 * namespace; the other namespaces made in the same call belong to it.  The
 * caller becomes root inside once uid_map and gid_map say which outside ids
 * the inside ids stand for.  A new PID namespace is made by oci_ns_fork:
 * its child is PID 1 there.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/*
 * Every range mapped in our own user namespace, mapped to itself: root
 * keeps all the ids it has ("0 0 4294967295" on the host).  Only a process
 * with CAP_SETUID in the parent namespace may write such a map, which is why
 * a helper left outside writes it (user_namespaces(7), "Defining user and
 * group ID mappings").
 */
static int
identity_map(const char *own, char *out, size_t len, struct oci_err *e)
{
	unsigned long in, outside, count;
	size_t used = 0;
	FILE *f;

	out[0] = '\0';
	if ((f = fopen(own, "re")) == NULL)
		return oci_fail_errno(e, "%s", own);
	while (fscanf(f, "%lu %lu %lu", &in, &outside, &count) == 3) {
		int n = snprintf(out + used, len - used, "%lu %lu %lu\n", in, in, count);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += n;
	}
	fclose(f);
	if (used == 0)
		return oci_fail(e, "%s: no id ranges", own);
	return 0;
}

/* With remap: ids 0-65535 inside are remap… outside, as a container's own range. */
static int
helper_write_maps(pid_t pid, uid_t remap, struct oci_err *e)
{
	char path[64], map[4096];

	if (remap != (uid_t)-1)
		snprintf(map, sizeof map, "0 %lu %u\n", (unsigned long)remap, OCI_NS_RANGE);
	else if (identity_map("/proc/self/uid_map", map, sizeof map, e) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	if (oci_write_knob(path, map, e) < 0)
		return -1;
	if (remap == (uid_t)-1 && identity_map("/proc/self/gid_map", map, sizeof map, e) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	return oci_write_knob(path, map, e);
}

/* Does [base, base+OCI_NS_RANGE) meet a range that some process's uid_map maps to?
 * Without /proc to read, it cannot be known to be free: in use. */
static int
range_in_use(uid_t base)
{
	char path[300], line[128];
	unsigned long in, out, count;
	struct dirent *d;
	DIR *proc = opendir("/proc");
	FILE *f;
	int used = 0;

	if (proc == NULL)
		return 1;
	while (!used && (d = readdir(proc))) {
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/uid_map", d->d_name);
		if ((f = fopen(path, "re")) == NULL)
			continue;
		while (fgets(line, sizeof line, f))
			/* Every id mapped to itself is the host's own namespace, or one like it. */
			if (sscanf(line, "%lu %lu %lu", &in, &out, &count) == 3 && count < 4294967295UL &&
			    out < (unsigned long)base + OCI_NS_RANGE && base < out + count)
				used = 1;
		fclose(f);
	}
	closedir(proc);
	return used;
}

/*
 * systemd's convention (UIDS-GIDS.md): ids 524288 to 1879048191 are for
 * containers' user namespaces, in blocks of 65536.  We take one at random,
 * as `systemd-nspawn --private-users=pick` and podman's --userns=auto give
 * each container a range of its own, and not one that a running
 * container's user namespace already maps to.  (uid_t)-1 when 64 picks
 * found none free.
 */
uid_t
oci_ns_pick_range(void)
{
	unsigned int r = 0;
	uid_t base;
	int tries;

	for (tries = 0; tries < 64; tries++) {
		if (getrandom(&r, sizeof r, 0) != sizeof r)
			r = (unsigned int)getpid() + tries;
		base = 524288 + (uid_t)OCI_NS_RANGE * (r % ((1879048192U - 524288U) / OCI_NS_RANGE));
		if (!range_in_use(base))
			return base;
	}
	return (uid_t)-1;
}

int
oci_ns_maps_host_root(void)
{
	unsigned long in, out, count, uid = geteuid();
	FILE *f = fopen("/proc/self/uid_map", "re");
	int root = 0;

	if (f == NULL)
		return uid == 0;
	while (fscanf(f, "%lu %lu %lu", &in, &out, &count) == 3)
		if (in <= uid && uid - in < count && out + (uid - in) == 0)
			root = 1;
	fclose(f);
	return root;
}

/* What /proc/self/setgroups said once our ids were mapped: 0 after "deny". */
static int setgroups_ok = 1;

int
oci_ns_setgroups_allowed(void)
{
	return setgroups_ok;
}

/* Read now, from the procfs we came with: later, /proc is the container's. */
static void
note_setgroups(void)
{
	char buf[8] = "";
	FILE *f = fopen("/proc/self/setgroups", "re");

	if (f == NULL)
		return;
	if (fgets(buf, sizeof buf, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	setgroups_ok = strncmp(buf, "deny", 4) != 0;
}

int
oci_ns_userns_fd(uid_t remap, struct oci_err *e)
{
	int hold[2], ready[2] = { -1, -1 }, fd = -1, status;
	char path[64], c;
	pid_t pid;

	if (pipe2(hold, O_CLOEXEC) < 0)
		return oci_fail_errno(e, "pipe");
	if (pipe2(ready, O_CLOEXEC) < 0 || (pid = fork()) < 0) {
		oci_fail_errno(e, "fork");
		goto out;
	}
	if (pid == 0) {
		close(hold[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		(void)!read(hold[0], &c, 1);	/* until our namespace has been opened */
		_exit(0);
	}
	close(ready[1]);
	ready[1] = -1;
	if (read(ready[0], &c, 1) != 1)
		oci_fail(e, "user namespace for the idmapped rootfs: unshare failed");
	else if (helper_write_maps(pid, remap, e) == 0) {
		snprintf(path, sizeof path, "/proc/%d/ns/user", (int)pid);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			oci_fail_errno(e, "%s", path);
	}
	close(hold[1]);
	hold[1] = -1;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
out:
	close(hold[0]);
	if (hold[1] >= 0)
		close(hold[1]);
	if (ready[0] >= 0)
		close(ready[0]);
	if (ready[1] >= 0)
		close(ready[1]);
	return fd;
}

/* Map just our own ids to 0, the one mapping an unprivileged user may write. */
static int
map_self_to_root(uid_t uid, gid_t gid, struct oci_err *e)
{
	char map[64];

	/* Without "deny", an unprivileged process may not write gid_map:
	 * dropping groups could grant access that a negative ACL refused. */
	if (oci_write_knob("/proc/self/setgroups", "deny", e) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)uid);
	if (oci_write_knob("/proc/self/uid_map", map, e) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)gid);
	return oci_write_knob("/proc/self/gid_map", map, e);
}

static int
loopback_up(struct oci_err *e)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return oci_fail_errno(e, "socket");
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		oci_fail_errno(e, "bring up lo");
		close(s);
		return -1;
	}
	close(s);
	oci_say("network namespace: lo is up, nothing else");
	return 0;
}

static int
clone_flags(int ns)
{
	return (ns & OCI_NS_USER ? CLONE_NEWUSER : 0) | (ns & OCI_NS_MOUNT ? CLONE_NEWNS : 0) |
	    (ns & OCI_NS_UTS ? CLONE_NEWUTS : 0) |
	    (ns & OCI_NS_IPC ? CLONE_NEWIPC : 0) | (ns & OCI_NS_NET ? CLONE_NEWNET : 0);
}

/*
 * For root: a helper process outside the namespace-to-be, which writes
 * our id maps once told (a byte on go) and answers on res with why it
 * could not ("" when it could).  The pipes' other ends are closed here.
 */
static int
start_map_helper(uid_t remap, int go[2], int res[2], pid_t *helper, struct oci_err *e)
{
	if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0)
		return oci_fail_errno(e, "pipe");
	if ((*helper = fork()) < 0)
		return oci_fail_errno(e, "fork");
	if (*helper == 0) {
		struct oci_err he = { "" };
		char c;

		close(go[1]);
		close(res[0]);
		if (read(go[0], &c, 1) == 1 && helper_write_maps(getppid(), remap, &he) < 0)
			(void)!write(res[1], he.msg, strlen(he.msg));
		_exit(0);
	}
	close(go[0]);
	close(res[1]);
	go[0] = res[1] = -1;
	return 0;
}

/* In the new user namespace: have the helper write the maps, then become root of a remapped range. */
static int
helper_maps(int go, int res, uid_t remap, struct oci_err *e)
{
	char msg[sizeof e->msg];
	ssize_t n;

	if (write(go, "x", 1) != 1)
		return oci_fail_errno(e, "id map helper");
	n = read(res, msg, sizeof msg - 1);
	if (n > 0) {
		msg[n] = '\0';
		return oci_fail(e, "id maps: %s", msg);
	}
	/* Our host uid 0 is not in a remapped range: become its 0. */
	if (remap != (uid_t)-1 && (setgroups(0, NULL) < 0 ||
	    setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
		return oci_fail_errno(e, "user namespace: become root of ids %lu…", (unsigned long)remap);
	if (remap != (uid_t)-1)
		oci_say("user namespace: ids 0-%u inside are %lu-%lu outside; root inside is nobody outside",
		    OCI_NS_RANGE - 1, (unsigned long)remap, (unsigned long)remap + OCI_NS_RANGE - 1);
	else
		oci_say("user namespace: every id we had is mapped to itself; we are root inside");
	return 0;
}

int
oci_ns_unshare(int ns, uid_t remap, struct oci_err *e)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int go[2] = { -1, -1 }, res[2] = { -1, -1 }, status, rc = -1;
	pid_t helper = -1;

	/* root keeps every id it has: a helper outside writes the maps. */
	if ((ns & OCI_NS_USER) && uid == 0 && start_map_helper(remap, go, res, &helper, e) < 0)
		goto out;
	if (unshare(clone_flags(ns)) < 0) {
		if (errno == EPERM && !(ns & OCI_NS_USER))
			oci_fail(e, "unshare: not permitted (add -r for a user namespace)");
		else if (errno == EPERM || errno == ENOSPC)
			oci_userns_why(errno, e);
		else
			oci_fail_errno(e, "unshare");
		goto out;
	}
	if ((ns & OCI_NS_USER) && helper > 0) {
		if (helper_maps(go[1], res[0], remap, e) < 0)
			goto out;
	} else if (ns & OCI_NS_USER) {
		if (map_self_to_root(uid, gid, e) < 0) {
			oci_userns_map_why(e);
			oci_context(e, "user namespace");
			goto out;
		}
		oci_say("user namespace: uid %lu and gid %lu outside are 0 inside; setgroups denied",
		    (unsigned long)uid, (unsigned long)gid);
	}
	if (ns & OCI_NS_USER)
		note_setgroups();
	if (ns & OCI_NS_MOUNT) {
		/* Our mounts must not show up in the namespace we came from. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			oci_fail_errno(e, "make / private");
			goto out;
		}
		oci_say("mount namespace: a private copy of every mount");
	}
	if (ns & OCI_NS_UTS)
		oci_say("UTS namespace: a hostname of our own, set here without changing the host's");
	if (ns & OCI_NS_IPC)
		oci_say("IPC namespace: System V IPC objects and POSIX message queues of our own");
	if ((ns & OCI_NS_NET) && loopback_up(e) < 0)
		goto out;
	rc = 0;
out:
	if (go[1] >= 0)
		close(go[1]);	/* an early failure: the helper reads EOF and exits */
	if (res[0] >= 0)
		close(res[0]);
	if (go[0] >= 0)
		close(go[0]);
	if (res[1] >= 0)
		close(res[1]);
	if (helper > 0)
		while (waitpid(helper, &status, 0) < 0 && errno == EINTR)
			;
	return rc;
}

int
oci_ns_mount_proc(const char *path, struct oci_err *e)
{
	if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return oci_fail_errno(e, "mount proc on %s", path);
	return 0;
}

/* ---- a child and its parent ---- */

static volatile pid_t forward_to;

static void
forward(int sig)
{
	if (forward_to > 0)
		kill(forward_to, sig);
}

pid_t
oci_ns_fork(int ns, struct oci_err *e)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	/* clone(2) as a fork whose child alone is in the new PID namespace:
	 * after unshare(CLONE_NEWPID) every later child of ours would go there
	 * too, and none can once its PID 1 has exited.  The child gets its own
	 * mount namespace too, so that its /proc and pivot_root are not ours,
	 * and with OCI_NS_CGROUP a cgroup namespace rooted where it is born. */
	pid = syscall(SYS_clone, SIGCHLD | (ns & OCI_NS_PID ? CLONE_NEWPID : 0) |
	    (ns & OCI_NS_CGROUP ? CLONE_NEWCGROUP : 0) |
	    (ns & OCI_NS_MOUNT ? CLONE_NEWNS : 0), NULL, NULL, NULL, 0);
	if (pid < 0)
		return oci_fail_errno(e, "fork");
	if (pid == 0) {
		/* If we are orphaned, die: PID 1's death ends the whole namespace.
		 * (Seen from a new PID namespace, our parent is pid 0.) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent && getppid() != 0)
			_exit(1);
		if (ns & OCI_NS_CGROUP)
			oci_say("cgroup namespace: the cgroup we were born in is \"/\" in /proc/self/cgroup, "
			    "as docker's private cgroup namespace on cgroup v2");
	}
	return pid;
}

void
oci_ns_forward(pid_t child)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	forward_to = child;
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
}

int
oci_ns_wait(pid_t child, struct oci_err *e)
{
	int status;

	oci_ns_forward(child);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return oci_fail_errno(e, "wait for pid %d", (int)child);
	forward_to = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
