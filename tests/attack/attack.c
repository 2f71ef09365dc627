/*
 * tests/attack/attack.c — what an untrusted image would try from inside
 * oci-unshare --rootfs; built static by tests/oci-unshare.bats and run as
 * the container's command.  Each mode prints what the kernel answered, one
 * line per attempt; the suite checks that every attempt was refused.
 *
 *     attack tiocsti        type into the terminal (TIOCSTI on fds 0-2, /dev/tty)
 *     attack ttyfds         which of fds 0-2 are terminals; put each in raw mode
 *     attack seccomp        keyctl, a new user namespace, bpf
 *     attack kill0          SIGKILL to our whole process group
 *     attack orphan NAME    leave a process named NAME that ignores its parent's death
 *     attack rewrite FD     for 3 s, try to open FD (a handle on the runtime's
 *                           binary, from fake_ld.c) for writing, and write to it
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

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
	fprintf(stderr, "usage: attack tiocsti|ttyfds|seccomp|kill0|orphan NAME|rewrite FD\n");
	return 2;
}
