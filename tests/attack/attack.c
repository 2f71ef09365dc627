/*
 * tests/attack/attack.c — what an untrusted image would try from inside
 * oci-unshare --rootfs; built static by tests/oci-unshare.bats and run as
 * the container's command.  Each mode prints what the kernel answered, one
 * line per attempt; the suite checks that every attempt was refused, and
 * that what docker allows still works.
 *
 *     attack tiocsti        type into the terminal (TIOCSTI on fds 0-2, /dev/tty)
 *     attack ttyfds         which of fds 0-2 are terminals; put each in raw mode
 *     attack seccomp        keyctl, a new user namespace, bpf
 *     attack vsock          socket and socketpair of AF_VSOCK, the host's ports
 *     attack alg            an AF_ALG socket, the kernel's crypto API
 *     attack io_uring       io_uring_setup: seccomp never sees its submissions
 *     attack personality    personality READ_IMPLIES_EXEC and 1 << 32, then the
 *                           query (0xffffffff), which docker allows
 *     attack kill0          SIGKILL to our whole process group
 *     attack orphan NAME    leave a process named NAME that ignores its parent's death
 *     attack rewrite FD     for 3 s, try to open FD (a handle on the runtime's
 *                           binary, from fake_ld.c) for writing, and write to it
 *     attack flood N        fork N children that wait, and say how many forks worked
 *     attack plant          copy itself to /planted, setuid root, and to
 *                           /planted-cap with the file capability cap_setuid+ep
 *     attack whoami         (as a planted copy, run by a host user) setuid(0),
 *                           then print the real and effective uid
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <linux/capability.h>
#include <termios.h>
#include <unistd.h>

/* A copy of this program at path, with mode (set after the copy, as chmod would). */
static int
copy_self(const char *path, mode_t mode)
{
	char buf[65536];
	ssize_t n;
	int in = open("/proc/self/exe", O_RDONLY), out;

	if (in < 0 || (out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0700)) < 0)
		return -1;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			return -1;
	close(in);
	return fchmod(out, mode) < 0 ? -1 : close(out);
}

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif
#ifndef AF_ALG
#define AF_ALG 38
#endif

static const char *
said(long r)
{
	return r < 0 ? strerror(errno) : "done";
}

int
main(int argc, char *argv[])
{
	const char *mode = argc > 1 ? argv[1] : "";
	int fd;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (strcmp(mode, "tiocsti") == 0) {
		struct stat st;

		if (fstat(0, &st) == 0)
			printf("stdin is pts %u of the devpts on %u:%u\n", minor(st.st_rdev),
			    major(st.st_dev), minor(st.st_dev));
		for (fd = 0; fd < 3; fd++)
			if (isatty(fd))
				printf("tiocsti fd %d: %s\n", fd, said(ioctl(fd, TIOCSTI, "#")));
		fd = open("/dev/tty", O_RDWR);
		printf("/dev/tty: %s\n", said(fd));
		if (fd >= 0)
			printf("tiocsti /dev/tty: %s\n", said(ioctl(fd, TIOCSTI, "#")));
		return 0;
	}
	if (strcmp(mode, "ttyfds") == 0) {
		struct termios t;

		for (fd = 0; fd < 3; fd++)
			printf("fd %d: %s\n", fd, isatty(fd) ? "tty" : "not a tty");
		/* Raw, no echo: what would leave the host's terminal unusable. */
		for (fd = 0; fd < 3; fd++) {
			long r = tcgetattr(fd, &t);

			if (r == 0) {
				cfmakeraw(&t);
				r = tcsetattr(fd, TCSANOW, &t);
			}
			printf("raw fd %d: %s\n", fd, said(r));
		}
		return 0;
	}
	if (strcmp(mode, "seccomp") == 0) {
		printf("keyctl: %s\n", said(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0)));
		printf("unshare user: %s\n", said(unshare(CLONE_NEWUSER)));
		printf("bpf: %s\n", said(syscall(SYS_bpf, 0, NULL, 0)));
		return 0;
	}
	if (strcmp(mode, "vsock") == 0) {
		int sv[2];

		printf("vsock: %s\n", said(socket(AF_VSOCK, SOCK_STREAM, 0)));
		printf("vsock socketpair: %s\n", said(socketpair(AF_VSOCK, SOCK_STREAM, 0, sv)));
		return 0;
	}
	if (strcmp(mode, "alg") == 0) {
		printf("alg: %s\n", said(socket(AF_ALG, SOCK_SEQPACKET, 0)));
		return 0;
	}
	if (strcmp(mode, "io_uring") == 0) {
		struct io_uring_params params;

		memset(&params, 0, sizeof params);
		printf("io_uring_setup: %s\n", said(syscall(SYS_io_uring_setup, 1, &params)));
		return 0;
	}
	if (strcmp(mode, "personality") == 0) {
		/* The raw call: glibc's personality() takes the call never to
		 * fail, and leaves errno alone.  The kernel reads an unsigned
		 * int, so 1 << 32 asks for PER_LINUX in a value docker refuses. */
		printf("personality READ_IMPLIES_EXEC: %s\n",
		    said(syscall(SYS_personality, READ_IMPLIES_EXEC)));
		printf("personality 1 << 32: %s\n", said(syscall(SYS_personality, 1UL << 32)));
		printf("personality query: %s\n", said(syscall(SYS_personality, 0xffffffffUL)));
		return 0;
	}
	if (strcmp(mode, "kill0") == 0) {
		kill(0, SIGKILL);
		printf("still alive\n");
		return 0;
	}
	if (strcmp(mode, "orphan") == 0 && argc > 2) {
		prctl(PR_SET_PDEATHSIG, 0);
		setsid();
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, 0);
			prctl(PR_SET_NAME, argv[2]);
			for (;;)
				pause();
		}
		printf("orphan ready\n");
		for (;;)
			pause();
	}
	if (strcmp(mode, "rewrite") == 0 && argc > 2) {
		char path[64];
		int i, w = -1;

		snprintf(path, sizeof path, "/proc/self/fd/%s", argv[2]);
		for (i = 0; i < 30 && w < 0; i++)
			if ((w = open(path, O_WRONLY)) < 0)
				usleep(100000);
		printf("open runtime for writing: %s\n", said(w));
		if (w >= 0)
			printf("write runtime: %s\n", said(write(w, "PWNED", 5)));
		return 0;
	}
	if (strcmp(mode, "flood") == 0 && argc > 2) {
		int n = atoi(argv[2]), i;
		pid_t pid = 0;

		for (i = 0; i < n && (pid = fork()) > 0; i++)
			;
		if (pid == 0) {
			pause();
			_exit(0);
		}
		printf("forked %d of %d%s%s\n", i, n, pid < 0 ? ": " : "", pid < 0 ? strerror(errno) : "");
		return 0;	/* PID 1 ends, and every child with it */
	}
	if (strcmp(mode, "plant") == 0) {
		struct vfs_cap_data cap = { .magic_etc = VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE };

		cap.data[0].permitted = 1U << CAP_SETUID;
		printf("setuid copy: %s\n", said(copy_self("/planted", 04755)));
		printf("file capability copy: %s\n", said(copy_self("/planted-cap", 0755) < 0 ? -1 :
		    setxattr("/planted-cap", "security.capability", &cap, sizeof cap, 0)));
		return 0;
	}
	if (strcmp(mode, "whoami") == 0) {
		printf("setuid(0): %s\n", said(setuid(0)));
		printf("uid %d euid %d\n", (int)getuid(), (int)geteuid());
		return 0;
	}
	fprintf(stderr, "usage: attack tiocsti|ttyfds|seccomp|vsock|alg|io_uring|personality|kill0|"
	    "orphan NAME|rewrite FD|flood N|plant|whoami\n");
	return 2;
}
