/*
 * lib/run/cgroup.c — a cgroup of its own for each container that root runs:
 * the directories made for it, the limits written there and read back,
 * moving a process in and out, and removing them again.  For a user who
 * cannot make cgroups, RLIMIT_NPROC stands in for the pids limit.
 *
 * Namespaces do not limit how much a container takes.  A fork bomb inside
 * one fills the host's process table (pid_max is the host's); a device
 * node that a layer ships (oci-untar makes them, as root) names one of the
 * host's devices, and opening it opens that device.  Control groups are the
 * kernel's answer to both (cgroups(7); the kernel's
 * Documentation/admin-guide/cgroup-v2.rst, and cgroup-v1/pids.rst and
 * cgroup-v1/devices.rst for version 1):
 *
 *   - the pids controller makes fork(2) and clone(2) fail with EAGAIN once
 *     the cgroup and its descendants hold pids.max tasks;
 *   - the devices controller refuses to open (read, write) or make (mknod)
 *     a device node that its allow-list does not name.  Version 1 has
 *     devices.allow, devices.deny and devices.list; version 2 has no files
 *     at all, only a BPF_PROG_TYPE_CGROUP_DEVICE program attached to the
 *     cgroup, which the kernel asks about every access (cgroup-v2.rst,
 *     "Device controller").
 *
 * A limit that was not applied protects nothing, and a write to a cgroup
 * file can fail in ways that leave the old value in place; so each value
 * is read back, and a cgroup that is not what was asked for is removed
 * and the run refused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/*
 * The devices every container may use, as runc allows them to every
 * container it runs (libcontainer/specconv/spec_linux.go, AllowedDevices;
 * runc appends them to whatever the configuration asks, so every container
 * docker runs with runc gets them): mknod of any node (using one is what
 * is refused), the memory devices and terminals that oci_rootfs_enter
 * puts in /dev, the container's own pseudo-terminals, and tun/tap (dropped
 * in runc 1.2.0, put back in 1.2.4: runc#4555).  /dev/console, c 5:1, was
 * on older lists; runc removed it in 1.0.0-rc95 (commit 60e21ec) as the
 * host's console is no container's business, and so do we.  major or
 * minor -1: any ("*").
 */
static const struct dev_rule {
	char type;		/* 'c' or 'b' */
	int major, minor;
	const char *access;	/* of "rwm": read, write, mknod */
} allowed[] = {
	{ 'c', -1, -1, "m" },
	{ 'b', -1, -1, "m" },
	{ 'c', 1, 3, "rwm" },	/* /dev/null */
	{ 'c', 1, 8, "rwm" },	/* /dev/random */
	{ 'c', 1, 7, "rwm" },	/* /dev/full */
	{ 'c', 5, 0, "rwm" },	/* /dev/tty */
	{ 'c', 1, 5, "rwm" },	/* /dev/zero */
	{ 'c', 1, 9, "rwm" },	/* /dev/urandom */
	{ 'c', 136, -1, "rwm" },	/* /dev/pts/N */
	{ 'c', 5, 2, "rwm" },	/* /dev/ptmx */
	{ 'c', 10, 200, "rwm" },	/* /dev/net/tun */
};
#define NALLOWED (sizeof allowed / sizeof allowed[0])

/* A rule as devices.allow takes it and devices.list shows it: "c 136:* rwm". */
static void
rule_line(const struct dev_rule *r, char *buf, size_t cap)
{
	char maj[16] = "*", min[16] = "*";

	if (r->major >= 0)
		snprintf(maj, sizeof maj, "%d", r->major);
	if (r->minor >= 0)
		snprintf(min, sizeof min, "%d", r->minor);
	snprintf(buf, cap, "%c %s:%s %s", r->type, maj, min, r->access);
}

/* ---- files of a cgroup ---- */

static int
put(const char *dir, const char *file, const char *value, struct oci_err *e)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof path, "%s/%s", dir, file);
	return oci_write_knob(path, value, e);
}

/* The file's text, without its last newline, into buf. */
static int
get(const char *path, char *buf, size_t cap, struct oci_err *e)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "%s", path);
	while (len < cap - 1 && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += n;
	close(fd);
	if (len == cap - 1)
		return oci_fail(e, "%s: longer than %zu bytes", path, cap - 2);
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	return 0;
}

/* pids.max is limit ("max": none), as written into want and read back. */
static int
pids_max(const char *dir, long limit, char *want, size_t cap, struct oci_err *e)
{
	char got[64], path[PATH_MAX + 16];

	if (limit < 0)
		snprintf(want, cap, "max");
	else
		snprintf(want, cap, "%ld", limit);
	if (put(dir, "pids.max", want, e) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/pids.max", dir);
	if (get(path, got, sizeof got, e) < 0)
		return -1;
	if (strcmp(got, want) != 0)
		return oci_fail(e, "%s: wrote %s, reads %s", path, want, got);
	return 0;
}

/* Is word one of the words of list, separated by sep? */
static int
has_word(const char *list, char sep, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == sep) && (p[n] == sep || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo (proc(5)). */
static void
unescape(char *s)
{
	char *o = s;

	for (; *s; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*o = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else
			*o = *s;
	}
	*o = '\0';
}

/*
 * Where this process's cgroup of a version 1 controller is: the mount of
 * its hierarchy (/proc/self/mountinfo: type "cgroup", the controller among
 * its super options) joined with the path /proc/self/cgroup gives for it
 * (cgroups(7): "hierarchy-ID:controller-list:cgroup-path"), less the
 * mount's own root.  1 and the path in dir; 0 when no hierarchy of that
 * controller is mounted.
 */
static int
v1_own(const char *ctrl, char *dir, size_t cap, struct oci_err *e)
{
	char *line = NULL, cg[PATH_MAX] = "";
	size_t len = 0;
	FILE *f;
	int found = 0, mounted = 0;

	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return oci_fail_errno(e, "/proc/self/cgroup");
	while (!found && getline(&line, &len, f) > 0) {
		char *list = strchr(line, ':'), *path;

		if (list == NULL || (path = strchr(++list, ':')) == NULL)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (has_word(list, ',', ctrl) && strlen(path) < sizeof cg) {
			strcpy(cg, path);
			found = 1;
		}
	}
	fclose(f);
	if (!found) {
		free(line);
		return 0;
	}

	if ((f = fopen("/proc/self/mountinfo", "re")) == NULL) {
		free(line);
		return oci_fail_errno(e, "/proc/self/mountinfo");
	}
	found = 0;
	while (!found && getline(&line, &len, f) > 0) {
		char *field[5], *sep, *type, *opts, *save = NULL;
		size_t rootlen;
		int i;

		/* id parent maj:min root mountpoint … - type source super-options */
		if ((sep = strstr(line, " - ")) == NULL)
			continue;
		*sep = '\0';
		type = strtok_r(sep + 3, " \n", &save);
		strtok_r(NULL, " \n", &save);
		opts = strtok_r(NULL, " \n", &save);
		if (type == NULL || opts == NULL || strcmp(type, "cgroup") != 0 ||
		    !has_word(opts, ',', ctrl))
			continue;
		mounted = 1;
		save = NULL;
		for (i = 0; i < 5; i++)
			if ((field[i] = strtok_r(i ? NULL : line, " ", &save)) == NULL)
				break;
		if (i < 5)
			continue;
		unescape(field[3]);
		unescape(field[4]);
		/* A mount of a part of the hierarchy holds the cgroups under its root only. */
		rootlen = strcmp(field[3], "/") == 0 ? 0 : strlen(field[3]);
		if (strncmp(cg, field[3], rootlen) != 0 || (cg[rootlen] != '/' && cg[rootlen] != '\0'))
			continue;
		if ((size_t)snprintf(dir, cap, "%s%s", field[4], cg + rootlen) >= cap) {
			fclose(f);
			free(line);
			return oci_fail(e, "%s cgroup %s: path too long", ctrl, cg);
		}
		found = 1;
	}
	fclose(f);
	free(line);
	if (!found && mounted)
		return oci_fail(e, "%s cgroup %s: not under any mount of its hierarchy", ctrl, cg);
	return found;
}

/* Strip a trailing "/" that joining "/sys/fs/cgroup/pids" and "/" leaves. */
static void
trim_slash(char *dir)
{
	size_t n = strlen(dir);

	if (n > 1 && dir[n - 1] == '/')
		dir[n - 1] = '\0';
}

/* ---- version 1 ---- */

static int
v1_pids(struct oci_cgroup *cg, const char *name, long limit, char *said, size_t cap,
    struct oci_err *e)
{
	char want[32];
	int r;

	if ((r = v1_own("pids", cg->from[0], sizeof cg->from[0], e)) < 0)
		return -1;
	if (r == 0)
		return oci_fail(e, "no pids controller mounted (cgroup v1 without \"pids\" in /proc/self/mountinfo)");
	trim_slash(cg->from[0]);
	if ((size_t)snprintf(cg->dir[0], sizeof cg->dir[0], "%s/oci-%s", cg->from[0], name) >=
	    sizeof cg->dir[0])
		return oci_fail(e, "%s/oci-%s: path too long", cg->from[0], name);
	if (mkdir(cg->dir[0], 0755) < 0)
		return oci_fail_errno(e, "mkdir %s", cg->dir[0]);
	cg->n = 1;
	if (pids_max(cg->dir[0], limit, want, sizeof want, e) < 0)
		return -1;
	snprintf(said, cap, "%s: pids.max %s (read back)", cg->dir[0], want);
	return 0;
}

/*
 * devices.deny "a" empties the allow-list and refuses everything; each
 * rule then goes to devices.allow (cgroup-v1/devices.rst).  A rule the
 * parent cgroup does not allow is refused with EPERM: the hierarchy is
 * enforced, a child can only narrow.  devices.list must then show exactly
 * our rules, in any order.
 */
static int
v1_devices(struct oci_cgroup *cg, const char *name, char *said, size_t cap, struct oci_err *e)
{
	char from[PATH_MAX], dir[PATH_MAX], list[4096], rule[64], path[PATH_MAX + 16];
	char *line, *save = NULL;
	size_t i, seen = 0;
	int r;

	if ((r = v1_own("devices", from, sizeof from, e)) < 0)
		return -1;
	if (r == 0)
		return oci_fail(e, "cgroup: no devices controller is mounted (cgroup v1), so which devices "
		    "container root may open or make cannot be limited: refused (mount one: "
		    "mkdir -p /sys/fs/cgroup/devices && mount -t cgroup -o devices cgroup "
		    "/sys/fs/cgroup/devices)");
	trim_slash(from);
	if ((size_t)snprintf(dir, sizeof dir, "%s/oci-%s", from, name) >= sizeof dir)
		return oci_fail(e, "%s/oci-%s: path too long", from, name);
	/* pids and devices may share a hierarchy, and so the directory. */
	if (strcmp(dir, cg->dir[0]) != 0) {
		if (mkdir(dir, 0755) < 0)
			return oci_fail_errno(e, "mkdir %s", dir);
		strcpy(cg->dir[1], dir);
		strcpy(cg->from[1], from);
		cg->n = 2;
	}
	if (put(dir, "devices.deny", "a", e) < 0)
		return -1;
	for (i = 0; i < NALLOWED; i++) {
		rule_line(&allowed[i], rule, sizeof rule);
		if (put(dir, "devices.allow", rule, e) < 0)
			return -1;
	}
	snprintf(path, sizeof path, "%s/devices.list", dir);
	if (get(path, list, sizeof list, e) < 0)
		return -1;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		for (i = 0; i < NALLOWED; i++) {
			rule_line(&allowed[i], rule, sizeof rule);
			if (strcmp(line, rule) == 0)
				break;
		}
		if (i == NALLOWED)
			return oci_fail(e, "%s: \"%s\" is allowed, which we did not ask", path, line);
		seen++;
	}
	if (seen != NALLOWED)
		return oci_fail(e, "%s: %zu rules, not the %zu we wrote", path, seen, NALLOWED);
	snprintf(said, cap, "%s: runc's device allow-list, every other device refused (read back)", dir);
	return 0;
}

/* ---- version 2 ---- */

#define V2_ROOT "/sys/fs/cgroup"
#define V2_OURS V2_ROOT "/oci-unshare"

static struct bpf_insn
insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };

	return i;
}

/*
 * The allow-list as a program: r2 the device type, r3 the access asked,
 * r4 and r5 major and minor (struct bpf_cgroup_dev_ctx: access_type is
 * BPF_DEVCG_ACC_* << 16 | BPF_DEVCG_DEV_*).  One block per rule, each test
 * jumping to the next block when it does not match; a block that runs to
 * its end returns 1, allowed; past the last one, 0: refused with EPERM.
 * Returns the number of instructions.
 */
static size_t
dev_program(struct bpf_insn *p)
{
	size_t n = 0, i, j, jumps[4], nj;

	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, 2, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	p[n++] = insn(BPF_ALU | BPF_AND | BPF_K, 2, 0, 0, 0xffff);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, 3, 1, offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	p[n++] = insn(BPF_ALU | BPF_RSH | BPF_K, 3, 0, 0, 16);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, 4, 1, offsetof(struct bpf_cgroup_dev_ctx, major), 0);
	p[n++] = insn(BPF_LDX | BPF_MEM | BPF_W, 5, 1, offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
	for (i = 0; i < NALLOWED; i++) {
		const struct dev_rule *r = &allowed[i];
		int32_t acc = 0;

		acc |= strchr(r->access, 'm') ? BPF_DEVCG_ACC_MKNOD : 0;
		acc |= strchr(r->access, 'r') ? BPF_DEVCG_ACC_READ : 0;
		acc |= strchr(r->access, 'w') ? BPF_DEVCG_ACC_WRITE : 0;
		nj = 0;
		jumps[nj++] = n;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 2, 0, 0,
		    r->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
		/* Every access asked must be one the rule allows: none left once those are masked off. */
		p[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, 1, 3, 0, 0);
		p[n++] = insn(BPF_ALU | BPF_AND | BPF_K, 1, 0, 0, ~acc);
		jumps[nj++] = n;
		p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 1, 0, 0, 0);
		if (r->major >= 0) {
			jumps[nj++] = n;
			p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 4, 0, 0, r->major);
		}
		if (r->minor >= 0) {
			jumps[nj++] = n;
			p[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, 5, 0, 0, r->minor);
		}
		p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 1);
		p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
		for (j = 0; j < nj; j++)
			p[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
	}
	p[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
	p[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	return n;
}

static int
bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(SYS_bpf, cmd, a, sizeof *a);
}

int
oci_cgroup_devices_bpf(int dirfd, struct oci_err *e)
{
	struct bpf_insn prog[6 + NALLOWED * 8 + 2];
	struct bpf_prog_info info;
	uint32_t ids[64], i;
	union bpf_attr a;
	char log[8192];
	int fd;

	memset(&a, 0, sizeof a);
	a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	a.insns = (uintptr_t)prog;
	a.insn_cnt = (uint32_t)dev_program(prog);
	a.license = (uintptr_t)"ISC";	/* ours (LICENSE); it calls no GPL-only helper */
	strcpy(a.prog_name, "oci_devices");
	if ((fd = bpf(BPF_PROG_LOAD, &a)) < 0) {
		/* Again, with the verifier's log for the message. */
		a.log_buf = (uintptr_t)log;
		a.log_size = sizeof log;
		a.log_level = 1;
		log[0] = '\0';
		if ((fd = bpf(BPF_PROG_LOAD, &a)) < 0) {
			log[strcspn(log, "\n")] = '\0';
			return oci_fail_errno(e, "load the device program (BPF_PROG_LOAD)%s%s",
			    log[0] ? ": " : "", log);
		}
	}
	memset(&a, 0, sizeof a);
	a.target_fd = dirfd;
	a.attach_bpf_fd = fd;
	a.attach_type = BPF_CGROUP_DEVICE;
	/* In addition to any program of the cgroups above: the access must pass them all. */
	a.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &a) < 0) {
		oci_fail_errno(e, "attach the device program (BPF_PROG_ATTACH)");
		close(fd);
		return -1;
	}

	/* Read back: the cgroup's device programs include ours. */
	memset(&info, 0, sizeof info);
	memset(&a, 0, sizeof a);
	a.info.bpf_fd = fd;
	a.info.info_len = sizeof info;
	a.info.info = (uintptr_t)&info;
	if (bpf(BPF_OBJ_GET_INFO_BY_FD, &a) < 0) {
		oci_fail_errno(e, "the device program's id (BPF_OBJ_GET_INFO_BY_FD)");
		close(fd);
		return -1;
	}
	close(fd);
	memset(&a, 0, sizeof a);
	a.query.target_fd = dirfd;
	a.query.attach_type = BPF_CGROUP_DEVICE;
	a.query.prog_ids = (uintptr_t)ids;
	a.query.prog_cnt = sizeof ids / sizeof ids[0];
	if (bpf(BPF_PROG_QUERY, &a) < 0)
		return oci_fail_errno(e, "the cgroup's device programs (BPF_PROG_QUERY)");
	for (i = 0; i < a.query.prog_cnt; i++)
		if (ids[i] == info.id)
			return 0;
	return oci_fail(e, "the device program (id %u) is not among the cgroup's", info.id);
}

/*
 * cgroup-v2.rst, "No Internal Process Constraint": apart from the root, a
 * cgroup cannot both hold processes and distribute domain resources to
 * children.  So the container's cgroup does not go under our own, which
 * holds us (and on a systemd machine is systemd's to manage: "Delegation"),
 * but under V2_OURS, which holds none, with pids enabled in the root's and
 * in its cgroup.subtree_control; memory or cpu can be enabled there alike.
 */
static int
v2_create(struct oci_cgroup *cg, const char *name, long limit, int devices, char *said, size_t cap,
    struct oci_err *e)
{
	char line[PATH_MAX + 8], want[32], got[512];
	FILE *f;
	int fd;

	if (get(V2_ROOT "/cgroup.controllers", got, sizeof got, e) < 0)
		return -1;
	if (!has_word(got, ' ', "pids"))
		return oci_fail(e, "no pids controller in " V2_ROOT "/cgroup.controllers");
	if (put(V2_ROOT, "cgroup.subtree_control", "+pids", e) < 0)
		return -1;
	if (mkdir(V2_OURS, 0755) < 0 && errno != EEXIST)
		return oci_fail_errno(e, "mkdir %s", V2_OURS);
	if (put(V2_OURS, "cgroup.subtree_control", "+pids", e) < 0)
		return -1;

	/* Where we are: the "0::PATH" line of /proc/self/cgroup. */
	if ((f = fopen("/proc/self/cgroup", "re")) == NULL)
		return oci_fail_errno(e, "/proc/self/cgroup");
	cg->from[0][0] = '\0';
	while (cg->from[0][0] == '\0' && fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			if ((size_t)snprintf(cg->from[0], sizeof cg->from[0], "%s%s", V2_ROOT, line + 3) >=
			    sizeof cg->from[0]) {
				fclose(f);
				return oci_fail(e, "our cgroup %s: path too long", line + 3);
			}
		}
	fclose(f);
	if (cg->from[0][0] == '\0')
		return oci_fail(e, "/proc/self/cgroup: no cgroup v2 line");
	trim_slash(cg->from[0]);

	snprintf(cg->dir[0], sizeof cg->dir[0], "%s/%s", V2_OURS, name);
	if (mkdir(cg->dir[0], 0755) < 0)
		return oci_fail_errno(e, "mkdir %s", cg->dir[0]);
	cg->n = 1;
	if (pids_max(cg->dir[0], limit, want, sizeof want, e) < 0)
		return -1;

	if (!devices) {
		snprintf(said, cap, "%s: pids.max %s (read back)", cg->dir[0], want);
		return 0;
	}
	if ((fd = open(cg->dir[0], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return oci_fail_errno(e, "%s", cg->dir[0]);
	if (oci_cgroup_devices_bpf(fd, e) < 0) {
		close(fd);
		return oci_context(e, "%s", cg->dir[0]);
	}
	close(fd);
	snprintf(said, cap, "%s: pids.max %s (read back); devices: runc's allow-list as a "
	    "BPF_PROG_TYPE_CGROUP_DEVICE program, every other device refused (attached, read back)",
	    cg->dir[0], want);
	return 0;
}

/* ---- the API ---- */

/* A name that is one path component in every hierarchy: [A-Za-z0-9_.-], not "." or "..". */
static int
name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 128 || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

int
oci_cgroup_create(struct oci_cgroup *cg, const char *name, long limit, int devices, struct oci_err *e)
{
	char pids[PATH_MAX + 512], devices_said[PATH_MAX + 512];
	struct statfs st;

	memset(cg, 0, sizeof *cg);
	if (!name_ok(name))
		return oci_fail(e, "cgroup name \"%s\": give letters, digits, \"_\", \".\" or \"-\"", name);
	if (statfs(V2_ROOT, &st) < 0)
		return oci_fail_errno(e, "%s", V2_ROOT);
	if (st.f_type == CGROUP2_SUPER_MAGIC) {
		cg->version = 2;
		if (v2_create(cg, name, limit, devices, pids, sizeof pids, e) < 0)
			goto fail;
		oci_say("cgroup: %s", pids);
		return 0;
	}
	cg->version = 1;
	if (v1_pids(cg, name, limit, pids, sizeof pids, e) < 0 ||
	    (devices && v1_devices(cg, name, devices_said, sizeof devices_said, e) < 0))
		goto fail;
	if (devices)
		oci_say("cgroup: %s; %s", pids, devices_said);
	else
		oci_say("cgroup: %s", pids);
	return 0;
fail:
	oci_cgroup_remove(cg);
	return -1;
}

/* Move process pid (0: this one) into the cgroup dir. */
static int
move_to(const char *dir, pid_t pid, struct oci_err *e)
{
	char s[32];

	snprintf(s, sizeof s, "%d", (int)(pid ? pid : getpid()));
	return put(dir, "cgroup.procs", s, e);
}

int
oci_cgroup_enter(struct oci_cgroup *cg, struct oci_err *e)
{
	struct oci_err ignored;
	int i, j;

	for (i = 0; i < cg->n; i++)
		if (move_to(cg->dir[i], 0, e) < 0) {
			for (j = 0; j < i; j++)
				move_to(cg->from[j], 0, &ignored);
			return -1;
		}
	cg->entered = 1;
	return 0;
}

/* Every hierarchy is tried; the first failure is the message. */
int
oci_cgroup_leave(struct oci_cgroup *cg, struct oci_err *e)
{
	struct oci_err later;
	int i, r = 0;

	for (i = 0; i < cg->n; i++)
		if (move_to(cg->from[i], 0, r < 0 ? &later : e) < 0)
			r = -1;
	if (r == 0)
		cg->entered = 0;
	return r;
}

/*
 * A cgroup with tasks in it cannot be removed (EBUSY), and a task that
 * has been killed leaves it a moment after its parent has reaped it; so
 * rmdir is tried again, every 10 ms for two seconds.
 */
void
oci_cgroup_remove(struct oci_cgroup *cg)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	struct oci_err e;
	int i, try;

	if (cg->entered && oci_cgroup_leave(cg, &e) < 0)
		oci_warn("cgroup: leave: %s", e.msg);
	for (i = cg->n - 1; i >= 0; i--) {
		for (try = 0; rmdir(cg->dir[i]) < 0; try++) {
			if (errno == ENOENT)
				break;
			if (errno != EBUSY || try == 200) {
				oci_warn("cgroup: rmdir %s: %s", cg->dir[i], strerror(errno));
				break;
			}
			nanosleep(&pause, NULL);
		}
	}
	cg->n = 0;
}

/*
 * Once we are in a user namespace of the container's, we are no longer
 * host root, and may neither move ourselves out of the cgroup nor remove
 * it.  So a keeper, forked before (outside the cgroup, host root like us),
 * does both when told: 'l' moves us (its parent) back where we came from,
 * and end of input (we are done, or dead) removes the cgroup.
 */
int
oci_cgroup_keeper(struct oci_cgroup *cg, struct oci_err *e)
{
	int p[2], i;
	pid_t parent = getpid();
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return oci_fail_errno(e, "pipe");
	if ((cg->keeper = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return oci_fail_errno(e, "fork");
	}
	if (cg->keeper == 0) {
		struct oci_err ke = { "" };

		/* A ^C for the container must not stop the clean-up. */
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		close(p[1]);
		while (read(p[0], &c, 1) == 1)
			for (i = 0; c == 'l' && i < cg->n; i++)
				if (move_to(cg->from[i], parent, &ke) < 0)
					oci_warn("cgroup: leave %s: %s", cg->dir[i], ke.msg);
		cg->entered = 0;
		oci_cgroup_remove(cg);
		_exit(0);
	}
	close(p[0]);
	cg->keeper_fd = p[1];
	return 0;
}

void
oci_cgroup_keeper_leave(struct oci_cgroup *cg)
{
	if (cg->keeper > 0 && write(cg->keeper_fd, "l", 1) == 1)
		cg->entered = 0;
}

void
oci_cgroup_keeper_done(struct oci_cgroup *cg)
{
	int st;

	if (cg->keeper <= 0)
		return;
	close(cg->keeper_fd);
	while (waitpid(cg->keeper, &st, 0) < 0 && errno == EINTR)
		;
	cg->keeper = 0;
	cg->n = 0;
}

/*
 * getrlimit(2): RLIMIT_NPROC is the number of processes (threads) of the
 * caller's real uid, and fork fails with EAGAIN at it; it does not bind
 * real uid 0, nor CAP_SYS_ADMIN or CAP_SYS_RESOURCE.  Since Linux 5.14
 * ("Reimplement RLIMIT_NPROC on top of ucounts") the count is kept per
 * user namespace, and a user namespace made afterwards keeps the limit of
 * the user who made it as a ceiling for all under it: a container cannot
 * escape it with a user namespace of its own.  The hard limit goes down
 * too, or the container could raise the soft one again.
 */
int
oci_cgroup_rlimit(long limit, struct oci_err *e)
{
	struct rlimit rl;

	if (limit < 0) {
		oci_say("cgroup: none, only host root makes cgroups here; --pids-limit -1: RLIMIT_NPROC unchanged");
		return 0;
	}
	if (getrlimit(RLIMIT_NPROC, &rl) < 0)
		return oci_fail_errno(e, "getrlimit RLIMIT_NPROC");
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)limit)
		rl.rlim_cur = (rlim_t)limit;
	if (rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)limit)
		rl.rlim_max = (rlim_t)limit;
	if (setrlimit(RLIMIT_NPROC, &rl) < 0)
		return oci_fail_errno(e, "setrlimit RLIMIT_NPROC %ld", limit);
	if (getrlimit(RLIMIT_NPROC, &rl) < 0)
		return oci_fail_errno(e, "getrlimit RLIMIT_NPROC");
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)limit ||
	    rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)limit)
		return oci_fail(e, "RLIMIT_NPROC: set %ld, reads soft %llu, hard %llu", limit,
		    (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
	oci_say("cgroup: none, only host root makes cgroups here; RLIMIT_NPROC %llu (read back) "
	    "bounds uid %u of this user namespace instead, whose processes the kernel counts apart",
	    (unsigned long long)rl.rlim_cur, (unsigned)getuid());
	return 0;
}
