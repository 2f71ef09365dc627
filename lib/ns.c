/*
 * lib/ns.c — Linux namespaces, as `unshare -mur` makes them.
 *
 * namespaces(7), user_namespaces(7): unshare(2) with CLONE_NEWUSER gives a
 * process a fresh set of capabilities that count only inside the new user
 * namespace; the other namespaces made in the same call belong to it.  The
 * caller becomes root inside once uid_map and gid_map say which outside ids
 * the inside ids stand for.  A new PID namespace is made by oci_ns_fork:
 * its child is PID 1 there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"

/* The inode number of the initial user namespace (include/linux/proc_ns.h). */
#define INIT_USER_NS_INO 0xEFFFFFFDU

int
oci_ns_initial_user(void)
{
	struct stat st;

	if (stat("/proc/self/ns/user", &st) < 0)
		return 1;	/* no /proc: assume the host */
	return st.st_ino == INIT_USER_NS_INO;
}

/* Write a whole small file at once: the kernel takes a map in one write(2). */
static int
write_file(const char *path, const char *text, struct oci_err *e)
{
	size_t n = strlen(text);
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return oci_fail_errno(e, "%s", path);
	if (write(fd, text, n) != (ssize_t)n) {
		oci_fail_errno(e, "%s: write \"%.*s\"", path, (int)strcspn(text, "\n"), text);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

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

static int
helper_write_maps(pid_t pid, struct oci_err *e)
{
	char path[64], map[4096];

	if (identity_map("/proc/self/uid_map", map, sizeof map, e) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/uid_map", (int)pid);
	if (write_file(path, map, e) < 0)
		return -1;
	if (identity_map("/proc/self/gid_map", map, sizeof map, e) < 0)
		return -1;
	snprintf(path, sizeof path, "/proc/%d/gid_map", (int)pid);
	return write_file(path, map, e);
}

/* Map just our own ids to 0, the one mapping an unprivileged user may write. */
static int
map_self_to_root(uid_t uid, gid_t gid, struct oci_err *e)
{
	char map[64];

	/* Without "deny", an unprivileged process may not write gid_map:
	 * dropping groups could grant access that a negative ACL refused. */
	if (write_file("/proc/self/setgroups", "deny", e) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)uid);
	if (write_file("/proc/self/uid_map", map, e) < 0)
		return -1;
	snprintf(map, sizeof map, "0 %lu 1\n", (unsigned long)gid);
	return write_file("/proc/self/gid_map", map, e);
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

int
oci_ns_unshare(int ns, struct oci_err *e)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	int go[2] = { -1, -1 }, res[2] = { -1, -1 }, status, rc = -1;
	pid_t helper = -1;
	char msg[sizeof e->msg];
	ssize_t n;

	/* root keeps every id it has: a helper outside writes the maps. */
	if ((ns & OCI_NS_USER) && uid == 0) {
		if (pipe2(go, O_CLOEXEC) < 0 || pipe2(res, O_CLOEXEC) < 0) {
			oci_fail_errno(e, "pipe");
			goto out;
		}
		if ((helper = fork()) < 0) {
			oci_fail_errno(e, "fork");
			goto out;
		}
		if (helper == 0) {
			struct oci_err he = { "" };
			char c;

			close(go[1]);
			close(res[0]);
			if (read(go[0], &c, 1) == 1 && helper_write_maps(getppid(), &he) < 0)
				(void)!write(res[1], he.msg, strlen(he.msg));
			_exit(0);
		}
		close(go[0]);
		close(res[1]);
		go[0] = res[1] = -1;
	}
	if (unshare(clone_flags(ns)) < 0) {
		if (errno == EPERM && !(ns & OCI_NS_USER))
			oci_fail(e, "unshare: not permitted (add -r for a user namespace)");
		else if (errno == EPERM || errno == ENOSPC)
			oci_userns_why(errno, e);
		else
			oci_fail_errno(e, "unshare");
		goto out;
	}
	if (ns & OCI_NS_USER) {
		if (helper > 0) {
			if (write(go[1], "x", 1) != 1) {
				oci_fail_errno(e, "id map helper");
				goto out;
			}
			n = read(res[0], msg, sizeof msg - 1);
			if (n > 0) {
				msg[n] = '\0';
				oci_fail(e, "id maps: %s", msg);
				goto out;
			}
			oci_say("user namespace: every id we had is mapped to itself; we are root inside");
		} else {
			if (map_self_to_root(uid, gid, e) < 0) {
				oci_context(e, "user namespace");
				goto out;
			}
			oci_say("user namespace: uid %lu and gid %lu outside are 0 inside; setgroups denied",
			    (unsigned long)uid, (unsigned long)gid);
		}
	}
	if (ns & OCI_NS_MOUNT) {
		/* Our mounts must not show up in the namespace we came from. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			oci_fail_errno(e, "make / private");
			goto out;
		}
		oci_say("mount namespace: a private copy of every mount");
	}
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
	 * mount namespace too, so that its /proc and pivot_root are not ours. */
	pid = syscall(SYS_clone, SIGCHLD | (ns & OCI_NS_PID ? CLONE_NEWPID : 0) |
	    (ns & OCI_NS_MOUNT ? CLONE_NEWNS : 0), NULL, NULL, NULL, 0);
	if (pid < 0)
		return oci_fail_errno(e, "fork");
	if (pid == 0) {
		/* If we are orphaned, die: PID 1's death ends the whole namespace.
		 * (Seen from a new PID namespace, our parent is pid 0.) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent && getppid() != 0)
			_exit(1);
	}
	return pid;
}

int
oci_ns_wait(pid_t child, struct oci_err *e)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };
	struct sigaction sa;
	int status;
	size_t i;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	forward_to = child;
	for (i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		sigaction(sigs[i], &sa, NULL);
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			return oci_fail_errno(e, "wait for pid %d", (int)child);
	forward_to = 0;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
