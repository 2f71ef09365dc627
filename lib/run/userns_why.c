/*
 * lib/run/userns_why.c — why the kernel would not make a user namespace.
 *
 * unshare(2) with CLONE_NEWUSER says only EPERM or ENOSPC; the cause is one
 * of a few settings a lab machine may have, and its message should name it:
 *   ENOSPC  the count in /proc/sys/user/max_user_namespaces (a limit of 0
 *           forbids them; the limit is checked in every user namespace the
 *           new one nests in, Documentation/admin-guide/sysctl/user.rst), or
 *           32 levels of nesting reached (user_namespaces(7));
 *   EPERM   Debian's and Ubuntu's kernel.unprivileged_userns_clone = 0,
 *           Ubuntu's AppArmor restriction without its unprivileged_userns
 *           profile (kernel.apparmor_restrict_unprivileged_userns = 1), or a
 *           seccomp filter (docker gives every container one) refusing unshare.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

/* The first line of a /proc file, without its newline; "" when unreadable. */
static const char *
proc_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, (int)size, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* Is a seccomp filter on this process?  proc(5): "Seccomp: 2" is filter mode. */
static int
under_seccomp(void)
{
	char line[256];
	int filtered = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "Seccomp:", 8) == 0) {
			filtered = strtol(line + 8, NULL, 10) == 2;
			break;
		}
	fclose(f);
	return filtered;
}

int
oci_userns_why(int err, struct oci_err *e)
{
	char v[64];
	const char *what = strerror(err);

	if (err == ENOSPC) {
		proc_line("/proc/sys/user/max_user_namespaces", v, sizeof v);
		if (strcmp(v, "0") == 0)
			return oci_fail(e, "unshare: %s: user.max_user_namespaces is 0, so no user "
			    "namespace may be made (as root: sysctl -w user.max_user_namespaces=15000)", what);
		return oci_fail(e, "unshare: %s: the limit user.max_user_namespaces (%s here) is "
		    "reached, or user namespaces nest 32 deep (as root: sysctl -w "
		    "user.max_user_namespaces=15000)", what, v[0] ? v : "unknown");
	}
	if (err == EPERM && geteuid() != 0 &&
	    strcmp(proc_line("/proc/sys/kernel/unprivileged_userns_clone", v, sizeof v), "0") == 0)
		return oci_fail(e, "unshare: %s: kernel.unprivileged_userns_clone is 0, so only "
		    "root may make user namespaces (as root: sysctl -w kernel.unprivileged_userns_clone=1)", what);
	if (err == EPERM && geteuid() != 0 &&
	    strcmp(proc_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", v, sizeof v), "1") == 0)
		return oci_fail(e, "unshare: %s: AppArmor restricts user namespaces "
		    "(kernel.apparmor_restrict_unprivileged_userns is 1; as root: sysctl -w "
		    "kernel.apparmor_restrict_unprivileged_userns=0)", what);
	if (err == EPERM && under_seccomp())
		return oci_fail(e, "unshare: %s: a seccomp filter on this process (a container's, "
		    "for one) refuses it: run on a machine or VM, or in a container whose seccomp "
		    "profile allows unshare", what);
	return oci_fail(e, "unshare: %s (are user namespaces allowed? see "
	    "/proc/sys/user/max_user_namespaces, walkthroughs/preflight)", what);
}

void
oci_userns_map_why(struct oci_err *e)
{
	char v[64];

	/* Ubuntu's restriction lets unshare succeed and takes the new
	 * namespace's capabilities away: the first write of a map fails. */
	if (strcmp(proc_line("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", v, sizeof v), "1") == 0)
		oci_context(e, "AppArmor restricts user namespaces (kernel.apparmor_restrict_unprivileged_userns "
		    "is 1; as root: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)");
}
