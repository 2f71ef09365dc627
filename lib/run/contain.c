/*
 * lib/run/contain.c — what keeps a container in, once its namespaces and its
 * root are there: most of it what runc (and so docker and podman) applies
 * to every container by default, in the small, and a little more.
 *
 * Namespaces alone do not contain.  Root inside a user namespace still owns
 * whatever its uid owns outside, procfs still offers host-wide knobs such as
 * /proc/sys/kernel/core_pattern, and a process that runs the runtime's own
 * binary (/proc/self/exe) could rewrite it.  So:
 *
 *   - the runtime re-executes itself from a sealed in-memory copy, so that
 *     /proc/self/exe never names a file that can be written (runc's
 *     CVE-2019-5736 fix: memfd_create(2) and F_SEAL_WRITE);
 *   - /proc/sys and friends are read-only and /proc/kcore and friends
 *     masked (lib/run/procfs.c, mounted before the switch of root);
 *   - the command gets docker's default capability set; no_new_privs,
 *     which docker sets only when asked (--security-opt no-new-privileges);
 *     and a seccomp filter of our own, a deny-list where docker's profile
 *     is an allow-list, refusing the system calls that reach what
 *     namespaces do not isolate (the kernel keyring, TIOCSTI, new user
 *     namespaces, vsock, io_uring, …); each is read back before the
 *     command runs;
 *   - a small init of ours is PID 1 (as `docker run --init` does): it dies
 *     with oci-unshare, and with it every process of the container.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

/* ---- a runtime that cannot be rewritten ---- */

#define EXE_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

int
oci_contain_reexec(char *argv[], struct oci_err *e)
{
	extern char **environ;
	struct stat st;
	int exe, mem;
	off_t off = 0;

	if ((exe = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "/proc/self/exe");
	if ((fcntl(exe, F_GET_SEALS) & EXE_SEALS) == EXE_SEALS) {
		close(exe);
		oci_say("runtime: running from a sealed in-memory copy, /proc/self/exe cannot be written");
		return 0;
	}
	if (fstat(exe, &st) < 0 ||
	    (mem = memfd_create("oci-unshare", MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0) {
		oci_fail_errno(e, "copy the runtime into memory");
		close(exe);
		return -1;
	}
	while (off < st.st_size)
		if (sendfile(mem, exe, &off, st.st_size - off) <= 0)
			break;
	close(exe);
	if (off != st.st_size || fcntl(mem, F_ADD_SEALS, EXE_SEALS) < 0) {
		oci_fail_errno(e, "copy the runtime into memory");
		close(mem);
		return -1;
	}
	fexecve(mem, argv, environ);
	oci_fail_errno(e, "re-execute the runtime from its sealed copy");
	close(mem);
	return -1;
}

/* ---- capabilities ---- */

/* docker's default set (moby oci/caps/defaults.go); every other is dropped. */
static const int default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
	CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
	CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

/*
 * The highest capability this kernel knows, asked of the kernel itself:
 * PR_CAPBSET_READ fails with EINVAL past it.  (Not from
 * /proc/sys/kernel/cap_last_cap: a file read by path inside the
 * container is whatever the image put there.)
 */
static int
last_cap(void)
{
	int c = 0;

	while (c < 63 && prctl(PR_CAPBSET_READ, c + 1, 0, 0, 0) >= 0)
		c++;
	return c;
}

static int
bound_caps(struct oci_err *e)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int c, last = last_cap();
	size_t i;
	uint64_t keep = 0;

	for (i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
		keep |= 1ULL << default_caps[i];
	for (c = 0; c <= last && c < 64; c++)
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return oci_fail_errno(e, "drop capability %d from the bounding set", c);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return oci_fail_errno(e, "clear the ambient capabilities");
	memset(d, 0, sizeof d);
	d[0].effective = d[0].permitted = (uint32_t)keep;
	d[1].effective = d[1].permitted = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		return oci_fail_errno(e, "capset");
	return 0;
}

/* ---- seccomp ---- */

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#define SECCOMP_NR_LIMIT 0x40000000	/* __X32_SYSCALL_BIT: x32 numbers are refused */
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#define SECCOMP_NR_LIMIT 0x40000000
#endif

#ifdef SECCOMP_ARCH
/*
 * Refused with EPERM: what namespaces do not isolate, or what a container
 * has no business doing (docker's default profile refuses each of these
 * too, most by way of the capability they need).
 */
static const int denied_calls[] = {
	SYS_keyctl, SYS_add_key, SYS_request_key,	/* the keyring is not namespaced */
	SYS_bpf, SYS_perf_event_open, SYS_userfaultfd,
	SYS_kexec_load, SYS_kexec_file_load, SYS_init_module, SYS_finit_module,
	SYS_delete_module, SYS_open_by_handle_at, SYS_name_to_handle_at,
	SYS_mount, SYS_umount2, SYS_pivot_root, SYS_setns, SYS_swapon, SYS_swapoff,
	SYS_fsopen, SYS_fsconfig, SYS_fsmount, SYS_fspick, SYS_move_mount, SYS_open_tree,
	SYS_mount_setattr, SYS_acct, SYS_quotactl, SYS_syslog, SYS_settimeofday,
	SYS_clock_settime, SYS_clock_adjtime, SYS_adjtimex,
	/* io_uring's submissions do the work of calls that seccomp never
	 * sees; docker refuses the three since 25.0 (moby#46762). */
	SYS_io_uring_setup, SYS_io_uring_enter, SYS_io_uring_register,
#ifdef SYS_iopl
	SYS_iopl, SYS_ioperm,
#endif
};

/*
 * The personalities docker's default profile allows (moby profiles,
 * seccomp/default.json): Linux, 32-bit Linux, a 2.6 uname, both, and
 * 0xffffffff, which only asks for the current one.  Every other is refused:
 * READ_IMPLIES_EXEC makes every readable mapping executable, and
 * ADDR_NO_RANDOMIZE turns address-space randomization off.
 */
static const uint32_t docker_personalities[] = {
	PER_LINUX, PER_LINUX32, UNAME26, PER_LINUX32 | UNAME26, 0xffffffff,
};

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

/* A BPF_W load reads 32 bits: on these little-endian ABIs an argument's
 * low word is at its offset, its high word 4 bytes on. */
#define LD_NR BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define LD_ARG(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]))
#define LD_ARG_HI(n) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[n]) + 4)
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (v))
#define DENY(err) RET(SECCOMP_RET_ERRNO | (err))

static int
seccomp_filter(struct oci_err *e)
{
	enum {
		NDENIED = sizeof denied_calls / sizeof denied_calls[0],
		NPERS = sizeof docker_personalities / sizeof docker_personalities[0],
	};
	/* 6 for the ABI, 2 a denied call, 2 for clone3, 5 for new user
	 * namespaces, 7 for sockets, 7 for personality and 1 a value, 6 for
	 * the ioctls, 1 to allow. */
	struct sock_filter f[6 + 2 * NDENIED + 2 + 5 + 7 + 7 + NPERS + 6 + 1];
	struct sock_fprog prog;
	size_t n = 0, i;

	f[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_ARCH, 1, 0);
	f[n++] = (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS);	/* another ABI: no table for it */
	f[n++] = (struct sock_filter)LD_NR;
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, SECCOMP_NR_LIMIT, 0, 1);
	f[n++] = (struct sock_filter)RET(SECCOMP_RET_KILL_PROCESS);
	for (i = 0; i < NDENIED; i++) {
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, denied_calls[i], 0, 1);
		f[n++] = (struct sock_filter)DENY(EPERM);
	}
	/* clone3 passes its flags in memory the filter cannot read: ENOSYS
	 * makes the C library fall back to clone, whose flags it can. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3, 0, 1);
	f[n++] = (struct sock_filter)DENY(ENOSYS);
	/* No new user namespace: inside one, every capability is back. */
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_unshare, 1, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone, 0, 3);
	f[n++] = (struct sock_filter)LD_ARG(0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_NEWUSER, 0, 1);
	f[n++] = (struct sock_filter)DENY(EPERM);
	/* No vsock socket: a network namespace does not isolate vsock, so a
	 * port bound inside is taken on the host.  No AF_ALG socket either:
	 * the kernel's crypto API, which a container has no use for.  docker
	 * refuses these two families to socket() (AF_VSOCK since 24.0, AF_ALG
	 * since 29.5) and lets socketpair() be; we refuse them to socketpair()
	 * too, which runs the family's own code to make both sockets before
	 * it asks for a pair.  The kernel reads the family as an int: the low
	 * word is all of it. */
	f[n++] = (struct sock_filter)LD_NR;
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 1, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_socketpair, 0, 4);
	f[n++] = (struct sock_filter)LD_ARG(0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_VSOCK, 1, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_ALG, 0, 1);
	f[n++] = (struct sock_filter)DENY(EPERM);
	/* personality: docker's values only.  The kernel reads an unsigned
	 * int, but docker compares all 64 bits, so the high word must be 0
	 * too. */
	f[n++] = (struct sock_filter)LD_NR;
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_personality, 0, NPERS + 5);
	f[n++] = (struct sock_filter)LD_ARG_HI(0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, NPERS + 1);
	f[n++] = (struct sock_filter)LD_ARG(0);
	for (i = 0; i < NPERS; i++)
		f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, docker_personalities[i], NPERS - i, 0);
	f[n++] = (struct sock_filter)DENY(EPERM);
	f[n++] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	/* TIOCSTI and TIOCLINUX type into a terminal: into the host's shell. */
	f[n++] = (struct sock_filter)LD_NR;
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 4);
	f[n++] = (struct sock_filter)LD_ARG(1);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI, 1, 0);
	f[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX, 0, 1);
	f[n++] = (struct sock_filter)DENY(EPERM);
	f[n++] = (struct sock_filter)RET(SECCOMP_RET_ALLOW);
	prog.len = n;
	prog.filter = f;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0)
		return oci_fail_errno(e, "install the seccomp filter");
	return 0;
}
#else
static int
seccomp_filter(struct oci_err *e)
{
	(void)e;
	oci_say("seccomp: no filter for this architecture");
	return 0;
}
#endif

/* Are the capabilities, no_new_privs and the filter what oci_contain_limit set? */
static int
limits_verified(uint64_t keep, struct oci_err *e)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t eff, prm, inh;
	int c, last = last_cap();

	if (syscall(SYS_capget, &h, d) < 0)
		return oci_fail_errno(e, "verify: capget");
	eff = d[0].effective | (uint64_t)d[1].effective << 32;
	prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	if (eff != keep || prm != keep || inh != 0)
		return oci_fail(e, "verify: capabilities are not docker's default set: refused");
	for (c = 0; c <= last && c < 64; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) != !!(keep & (1ULL << c)) ||
		    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) > 0)
			return oci_fail(e, "verify: capability %d is still there: refused", c);
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		return oci_fail(e, "verify: no_new_privs is not set: refused");
#ifdef SECCOMP_ARCH
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != SECCOMP_MODE_FILTER)
		return oci_fail(e, "verify: the seccomp filter is not in place: refused");
#endif
	return 0;
}

/* What the command runs under: docker's default capabilities, no_new_privs, the seccomp filter. */
static int
oci_contain_limit(struct oci_err *e)
{
	uint64_t keep = 0;
	size_t i;

	for (i = 0; i < sizeof default_caps / sizeof default_caps[0]; i++)
		keep |= 1ULL << default_caps[i];
	if (bound_caps(e) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return oci_fail_errno(e, "no_new_privs");
	if (seccomp_filter(e) < 0 || limits_verified(keep, e) < 0)
		return -1;
	/* "more": the rest of denied_calls, and clone3. */
	oci_say("capabilities: docker's default %zu, every other dropped; no_new_privs; "
	    "seccomp refuses keyctl, bpf, mount, io_uring and %zu more calls, new user namespaces, "
	    "TIOCSTI, vsock and AF_ALG sockets, and the personalities docker refuses (capabilities and "
	    "no_new_privs read back, the filter seen in place)",
	    sizeof default_caps / sizeof default_caps[0],
#ifdef SECCOMP_ARCH
	    sizeof denied_calls / sizeof denied_calls[0] - 6 + 1
#else
	    (size_t)0
#endif
	);
	return 0;
}

/* ---- PID 1 ---- */

int
oci_contain_run(struct oci_process *p, int tty, int *status, struct oci_err *e)
{
	int fail[2], st, code;
	ssize_t n;
	pid_t pid, w;

	*status = 1;
	/* Our own session: kill(0, …) and the terminal's signals stay inside. */
	if (setsid() < 0 && errno != EPERM)
		return oci_fail_errno(e, "setsid");
	/* Nobody inside may ptrace or read the memory of this process. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	prctl(PR_SET_NAME, "oci-init", 0, 0, 0);
	if (pipe2(fail, O_CLOEXEC) < 0)
		return oci_fail_errno(e, "pipe");
	/* Handled from now on, so that none of them kills us before the
	 * command is there to take it. */
	oci_ns_forward(0);
	fflush(NULL);
	if ((pid = fork()) < 0) {
		oci_fail_errno(e, "fork");
		close(fail[0]);
		close(fail[1]);
		return -1;
	}
	if (pid == 0) {
		struct oci_err ce = { "" };

		close(fail[0]);
		setsid();
		/* A terminal of our own: the pty's far end becomes our
		 * controlling terminal, and 0, 1 and 2 where they were one. */
		if (tty >= 0) {
			ioctl(tty, TIOCSCTTY, 0);
			for (int fd = 0; fd < 3; fd++)
				if (isatty(fd))
					dup2(tty, fd);
			close(tty);
		}
		code = oci_contain_limit(&ce) < 0 ? -1 : oci_process_exec(p, &ce);
		code = code < 0 ? 1 : code == ENOENT ? 127 : 126;
		(void)!write(fail[1], &code, sizeof code);
		(void)!write(fail[1], ce.msg, strlen(ce.msg));
		_exit(code);
	}
	oci_ns_forward(pid);
	close(fail[1]);
	if (tty >= 0)
		close(tty);	/* the pty hangs up when the command's side closes */
	n = read(fail[0], &code, sizeof code);
	if (n == (ssize_t)sizeof code) {
		n = read(fail[0], e->msg, sizeof e->msg - 1);
		e->msg[n > 0 ? n : 0] = '\0';
		close(fail[0]);
		*status = code;
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		return -1;
	}
	close(fail[0]);
	/* Reap every orphan; the command's own end is the container's. */
	for (;;) {
		w = waitpid(-1, &st, 0);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return oci_fail_errno(e, "wait");
		if (w == pid)
			break;
	}
	*status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	return 0;
}

/* ---- a terminal of the container's own ---- */

static struct termios saved_termios;
static volatile sig_atomic_t winch;

static void
on_winch(int sig)
{
	(void)sig;
	winch = 1;
}

int
oci_contain_console(int sock, int *slave, struct oci_err *e)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = 'm';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c;
	struct winsize ws;
	int master;

	*slave = -1;
	/* The container's own devpts instance (newinstance), as runc's console. */
	if ((master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0 || unlockpt(master) < 0 ||
	    (*slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		oci_fail_errno(e, "a pseudo-terminal in the container's /dev/pts");
		if (master >= 0)
			close(master);
		return -1;
	}
	if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
		ioctl(master, TIOCSWINSZ, &ws);
	memset(cbuf, 0, sizeof cbuf);
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &master, sizeof master);
	if (sendmsg(sock, &msg, 0) < 0) {
		oci_fail_errno(e, "hand the terminal to oci-unshare");
		close(master);
		close(*slave);
		*slave = -1;
		return -1;
	}
	oci_say("terminal: %s, from the container's own /dev/pts; oci-unshare relays the host's to it",
	    ptsname(master));
	close(master);
	return 0;
}

int
oci_contain_console_recv(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof cbuf };
	struct cmsghdr *c;
	int fd = -1;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) <= 0)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
	return fd;
}

/* Copy what is readable on from to to; 0 at end of input, -1 on error. */
static int
pass(int from, int to)
{
	char buf[4096];
	ssize_t n = read(from, buf, sizeof buf);

	if (n <= 0)
		return n == 0 || errno == EIO ? 0 : (errno == EINTR || errno == EAGAIN) ? 1 : -1;
	return oci_write_all(to, buf, n) < 0 ? -1 : 1;
}

int
oci_contain_relay(pid_t child, int master, struct oci_err *e)
{
	struct sigaction sa;
	struct termios raw;
	struct winsize ws;
	struct pollfd fds[2];
	int in_open = 1, raw_set = 0, rc;

	oci_ns_forward(child);
	if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) {
		raw = saved_termios;
		cfmakeraw(&raw);
		raw_set = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_winch;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGWINCH, &sa, NULL);
	for (;;) {
		if (winch) {
			winch = 0;
			if (ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0)
				ioctl(master, TIOCSWINSZ, &ws);
		}
		fds[0] = (struct pollfd){ .fd = in_open ? STDIN_FILENO : -1, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = master, .events = POLLIN };
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[1].revents & (POLLIN | POLLHUP | POLLERR))
			if (pass(master, STDOUT_FILENO) <= 0)
				break;	/* the container's side is closed */
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
			in_open = pass(STDIN_FILENO, master) > 0;
	}
	if (raw_set)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
	close(master);
	rc = oci_ns_wait(child, e);
	return rc;
}

/* ---- pipes in place of the host's terminal ---- */

static void
pipes_none(struct oci_pipes *p)
{
	for (int fd = 0; fd < 3; fd++)
		p->inner[fd] = p->outer[fd] = -1;
}

void
oci_contain_pipes_close(struct oci_pipes *p)
{
	for (int fd = 0; fd < 3; fd++) {
		if (p->inner[fd] >= 0)
			close(p->inner[fd]);
		if (p->outer[fd] >= 0)
			close(p->outer[fd]);
	}
	pipes_none(p);
}

int
oci_contain_pipes(struct oci_pipes *p, struct oci_err *e)
{
	int end[2];

	pipes_none(p);
	for (int fd = 0; fd < 3; fd++) {
		if (!isatty(fd))
			continue;	/* a file, a pipe, /dev/null: passed as it is */
		if (pipe2(end, O_CLOEXEC) < 0) {
			oci_contain_pipes_close(p);
			return oci_fail_errno(e, "a pipe in place of the terminal on fd %d", fd);
		}
		/* The container reads its stdin from the pipe, and writes its
		 * stdout and stderr into it. */
		p->inner[fd] = fd == 0 ? end[0] : end[1];
		p->outer[fd] = fd == 0 ? end[1] : end[0];
	}
	return 0;
}

/* "stdin and stderr", "0, 1 and 2": the names of the fds in set (bit fd). */
static const char *
names(char *out, size_t size, unsigned set, const char *const name[3])
{
	int n = 0, total = __builtin_popcount(set);
	size_t len = 0;

	out[0] = '\0';
	for (int fd = 0; fd < 3; fd++)
		if (set & (1U << fd)) {
			n++;
			len += snprintf(out + len, size - len, "%s%s",
			    n == 1 ? "" : n == total ? " and " : ", ", name[fd]);
		}
	return out;
}

/* Say which of fds 0-2 became pipes, and why. */
static void
say_pipes(const struct oci_pipes *p)
{
	static const char *const stream[3] = { "stdin", "stdout", "stderr" };
	static const char *const number[3] = { "0", "1", "2" };
	char ttys[32], rest[32], others[48], fds[16];
	unsigned set = 0;
	int many;

	for (int fd = 0; fd < 3; fd++)
		if (p->inner[fd] >= 0)
			set |= 1U << fd;
	if (set == 0)
		return;
	many = __builtin_popcount(set) > 1;
	names(ttys, sizeof ttys, set, stream);
	names(fds, sizeof fds, set, number);
	if (set == 7)
		others[0] = '\0';
	else
		snprintf(others, sizeof others, ", %s %s not", names(rest, sizeof rest, ~set & 7, stream),
		    __builtin_popcount(~set & 7) > 1 ? "are" : "is");
	oci_say("terminal: %s %s the host's terminal%s: the container gets %s for %s, relayed, "
	    "as docker run -i without -t", ttys, many ? "are" : "is", others, many ? "pipes" : "a pipe", fds);
}

int
oci_contain_pipes_use(struct oci_pipes *p, int own_tty, struct oci_err *e)
{
	for (int fd = 0; fd < 3; fd++)
		if (p->outer[fd] >= 0) {
			close(p->outer[fd]);
			p->outer[fd] = -1;
		}
	if (!own_tty) {
		say_pipes(p);
		for (int fd = 0; fd < 3; fd++)
			if (p->inner[fd] >= 0 && dup2(p->inner[fd], fd) < 0) {
				oci_fail_errno(e, "a pipe in place of the terminal on fd %d", fd);
				oci_contain_pipes_close(p);
				return -1;
			}
	}
	oci_contain_pipes_close(p);
	return 0;
}

int
oci_contain_relay_pipes(pid_t child, struct oci_pipes *p, struct oci_err *e)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	struct pollfd fds[4];
	char buf[4096];
	size_t have = 0, off = 0;	/* what was read from stdin and not yet into the pipe */
	ssize_t n;
	int *out = p->outer;

	oci_ns_forward(child);
	for (int fd = 0; fd < 3; fd++)
		if (p->inner[fd] >= 0) {
			close(p->inner[fd]);
			p->inner[fd] = -1;
		}
	/* The container may be gone when we write to its stdin: EPIPE, not a
	 * signal that would end us before its status is known. */
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old);
	/* Never blocked writing to a container that does not read, while what
	 * it writes waits for us. */
	if (out[0] >= 0)
		fcntl(out[0], F_SETFL, fcntl(out[0], F_GETFL) | O_NONBLOCK);
	while (out[0] >= 0 || out[1] >= 0 || out[2] >= 0) {
		/* Read the host's stdin only when the last of it is in the
		 * pipe, and only while the container may still read it. */
		fds[0] = (struct pollfd){ .fd = out[0] >= 0 && have == 0 ? STDIN_FILENO : -1, .events = POLLIN };
		fds[1] = (struct pollfd){ .fd = out[0], .events = have ? POLLOUT : 0 };
		fds[2] = (struct pollfd){ .fd = out[1], .events = POLLIN };
		fds[3] = (struct pollfd){ .fd = out[2], .events = POLLIN };
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR)
				continue;	/* a signal, forwarded */
			break;	/* stop relaying; the container still ends, and is waited for */
		}
		/* POLLERR on the pipe's write end: no reader is left, the
		 * container has ended. */
		if (fds[1].revents & POLLERR) {
			close(out[0]);
			out[0] = -1;
		} else if (fds[1].revents & POLLOUT) {
			n = write(out[0], buf + off, have - off);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				close(out[0]);
				out[0] = -1;
			} else if (n > 0 && (off += n) == have) {
				have = off = 0;
			}
		}
		if (out[0] >= 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(STDIN_FILENO, buf, sizeof buf);
			if (n > 0) {
				have = n;
				off = 0;
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				close(out[0]);	/* end of the host's stdin: the container's too */
				out[0] = -1;
			}
		}
		/* Until the end of file, when the last writer in the container
		 * is gone: what it wrote just before is still read. */
		for (int fd = 1; fd < 3; fd++)
			if ((fds[fd + 1].revents & (POLLIN | POLLHUP | POLLERR)) && pass(out[fd], fd) <= 0) {
				close(out[fd]);
				out[fd] = -1;
			}
	}
	oci_contain_pipes_close(p);
	sigaction(SIGPIPE, &old, NULL);
	return oci_ns_wait(child, e);
}
