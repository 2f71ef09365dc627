/*
 * lib/run/run.h — the run wing: running a process in its own namespaces:
 * user namespaces, procfs, the rootfs, users, the process, containment,
 * cgroups.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/run/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_RUN_H
#define OCI_RUN_H

#include "archive/archive.h"

/* ---------------------- ns.c rootfs.c procfs.c passwd.c process.c */

/*
 * Namespaces (ns.c).  oci_ns_unshare makes the namespaces asked for in one
 * unshare(2); with OCI_NS_USER the caller becomes root inside: root keeps
 * every id it has (a helper outside writes identity maps) or, with remap,
 * a range of its own; anyone else has
 * their own uid and gid mapped to 0 and setgroups denied.  OCI_NS_MOUNT also
 * makes every mount private; OCI_NS_NET brings up lo.
 */
enum {
	OCI_NS_USER = 1 << 0,
	OCI_NS_MOUNT = 1 << 1,
	OCI_NS_PID = 1 << 2,	/* made by oci_ns_fork, not oci_ns_unshare */
	OCI_NS_UTS = 1 << 3,
	OCI_NS_IPC = 1 << 4,
	OCI_NS_NET = 1 << 5,
	OCI_NS_CGROUP = 1 << 6,	/* made by oci_ns_fork: rooted at the child's cgroup */
};
int oci_ns_unshare(int ns, uid_t remap, struct oci_err *e);
/*
 * remap, for root: instead of every id mapped to itself, ids 0 to
 * OCI_NS_RANGE-1 inside are remap… outside ((uid_t)-1: no remapping).
 * oci_ns_pick_range picks such a base for a container, one no process's
 * uid_map meets ((uid_t)-1 when none was found); oci_ns_userns_fd
 * opens a user namespace with that mapping (for an idmapped mount).
 */
#define OCI_NS_RANGE 65536U
uid_t oci_ns_pick_range(void);
int oci_ns_userns_fd(uid_t remap, struct oci_err *e);
/* 1 when our uid is host uid 0, as far as our own uid_map tells. */
int oci_ns_maps_host_root(void);
/*
 * May we call setgroups(2)?  Not after "deny" in /proc/self/setgroups
 * (user_namespaces(7)), as read by oci_ns_unshare from the procfs we
 * started with: the container's /proc is not asked.
 */
int oci_ns_setgroups_allowed(void);
/* A new procfs on path (for the PID namespace we are in). */
int oci_ns_mount_proc(const char *path, struct oci_err *e);
/*
 * fork(2); with OCI_NS_PID in ns the child is PID 1 of a new PID namespace,
 * with OCI_NS_MOUNT it has a mount namespace of its own (a copy of ours).
 * The child dies with its parent (PR_SET_PDEATHSIG).
 */
pid_t oci_ns_fork(int ns, struct oci_err *e);
/*
 * Wait for child, forwarding SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and
 * SIGUSR2 to it; returns its exit status, or 128+N when signal N killed it.
 */
int oci_ns_wait(pid_t child, struct oci_err *e);
/* Just the forwarding of oci_ns_wait, from now on (child 0: the signals are taken and dropped). */
void oci_ns_forward(pid_t child);

/*
 * Containers (rootfs.c).  oci_rootfs_tree: a detached, recursive copy of
 * the mount of our working directory, nodev, and with remap not (uid_t)-1
 * idmapped through a user namespace that maps 0… to remap… (a file owned
 * by 0 on disk is then root's in a container whose ids are remap…); it
 * fails where the filesystem cannot be idmapped (overlayfs).  The caller
 * closes it, or hands it to oci_rootfs_enter.
 *
 * oci_rootfs_enter, in a new mount and PID namespace (we are PID 1), with
 * dir our working directory: attach tree (-1: make one, not idmapped) on
 * dir, mount /dev and /proc in it through descriptors, pivot_root into it,
 * detach the old root, verify from inside (oci_procfs_verify) and set
 * hostname (may be NULL).  idmapped says which tree it is, for -v.  A
 * /proc or /dev that is a symlink or not a directory refuses the run.
 *
 * oci_rootfs_private: 0 when some directory from "/" down to dir (and, for
 * an overlay mounted on dir, to its upper directory) is root's and closed
 * to everyone else; otherwise -1 with a message that says what to close.
 */
int oci_rootfs_tree(uid_t remap, struct oci_err *e);
int oci_rootfs_enter(const char *dir, int tree, int idmapped, const char *hostname,
    struct oci_err *e);
int oci_rootfs_private(const char *dir, struct oci_err *e);
/* chdir to dir, the rootfs; when a directory on the way is closed to us, the message names it. */
int oci_rootfs_cd(const char *dir, struct oci_err *e);

/*
 * A container's /proc (procfs.c).  oci_procfs_mount: a new procfs on
 * target (a descriptor of the rootfs's /proc), then /proc/sys and friends
 * read-only and /proc/kcore, /proc/keys and friends masked (by the /dev/null
 * of devfd, the container's /dev), each through descriptors.
 * oci_procfs_verify, after pivot_root: "/" is nodev, /proc is that procfs,
 * every fence is in place; -1 refuses the run.  oci_procfs_narrate says
 * what oci_procfs_mount did (for -v).
 */
int oci_procfs_mount(int target, int devfd, struct oci_err *e);
int oci_procfs_verify(struct oci_err *e);
void oci_procfs_narrate(void);
/* chdir inside the current root, refusing /proc magic links on the way. */
int oci_rootfs_chdir(const char *dir, struct oci_err *e);

/* A user as the rootfs's own /etc/passwd and /etc/group say (passwd.c). */
#define OCI_USER_GROUPS_MAX 64
struct oci_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[OCI_USER_GROUPS_MAX];	/* supplementary groups */
	int ngroups;
	char name[256];		/* "" when the passwd file has no entry */
	char home[1024];	/* "/" when unknown */
};
/* spec: image-spec config.md User ("user", "uid", "user:group", "uid:gid", …; NULL or "" = root). */
int oci_user_lookup(const char *spec, struct oci_user *u, struct oci_err *e);

/* The process an image config describes (process.c).  Free with oci_process_free. */
struct oci_process {
	char **argv;	/* Entrypoint + (cmd or Cmd) */
	char **env;	/* Env (PATH added when missing); NULL: keep ours */
	char *cwd;	/* WorkingDir, or NULL */
	char *user;	/* User, or NULL */
};
/* cmd (NULL-terminated, may be NULL or empty) replaces Cmd, as docker run does. */
int oci_process_from_config(const json_t *config, char *const *cmd, struct oci_process *p,
    struct oci_err *e);
/* Set each "NAME=VALUE" of kv (NULL-terminated) in p->env, replacing NAME's value. */
int oci_process_setenv(struct oci_process *p, char *const *kv, struct oci_err *e);
void oci_process_free(struct oci_process *p);
/*
 * Become p->user (when p->env is set: an image's process), chdir to
 * p->cwd, mark every fd above 2 close-on-exec, and execvp.  Returns only on
 * failure: -1 when the preparation failed, exec's errno when exec did.
 */
int oci_process_exec(struct oci_process *p, struct oci_err *e);

/* -------------------------------------------------------------- contain.c */

/*
 * What keeps a container in (contain.c), the defaults runc applies.
 * oci_contain_reexec: unless /proc/self/exe is already a sealed memfd,
 * copy it into one and re-execute with argv (returns only on failure).
 * oci_contain_run: as PID 1,
 * in a session of its own, run p as a child under docker's default
 * capabilities, no_new_privs and the seccomp filter, and reap every orphan until it ends (tty: see below; -1 for none); *status
 * is its exit status (128+N for
 * signal N).  -1 when it could not start: *status is 127 (no such command),
 * 126 (exec refused it) or 1.
 */
int oci_contain_reexec(char *argv[], struct oci_err *e);
int oci_contain_run(struct oci_process *p, int tty, int *status, struct oci_err *e);
/*
 * With a terminal, the container gets its own, from its own /dev/pts (as
 * runc's console socket does it): PID 1 calls oci_contain_console to open
 * a pseudo-terminal there, sized as stdin, and send its master over sock
 * (an AF_UNIX socket); *slave is oci_contain_run's tty, the command's
 * controlling terminal and its 0, 1, 2 where ours were a terminal.  On the
 * host side oci_contain_console_recv returns the master (-1: none came), and
 * oci_contain_relay puts stdin in raw mode, copies stdin to the master and
 * the master to stdout until the container's side closes, restores stdin
 * and returns oci_ns_wait(child).
 */
int oci_contain_console(int sock, int *slave, struct oci_err *e);
int oci_contain_console_recv(int sock);
int oci_contain_relay(pid_t child, int master, struct oci_err *e);
/*
 * Without a terminal of its own, the container still never gets the host's
 * as a file descriptor, with which it could put it in raw mode with echo
 * off, and leave it so: each of fds 0, 1 and 2 that is a terminal becomes a
 * pipe, relayed by oci-unshare (what is no terminal is passed as it is).
 * inner[fd] is the container's end, outer[fd] ours; -1 for none.
 * oci_contain_pipes, before oci_ns_fork, makes them; oci_contain_pipes_use,
 * in PID 1, makes the inner ends its fds 0-2 unless own_tty (the command has
 * a pseudo-terminal, oci_contain_console), and closes the rest;
 * oci_contain_pipes_close closes every end still open.  On the host,
 * oci_contain_relay_pipes copies stdin into the container's until either
 * ends, and the container's stdout and stderr to ours until their end of
 * file, and returns oci_ns_wait(child).  The host's terminal is left as it is.
 */
struct oci_pipes {
	int inner[3], outer[3];
};
int oci_contain_pipes(struct oci_pipes *p, struct oci_err *e);
int oci_contain_pipes_use(struct oci_pipes *p, int own_tty, struct oci_err *e);
void oci_contain_pipes_close(struct oci_pipes *p);
int oci_contain_relay_pipes(pid_t child, struct oci_pipes *p, struct oci_err *e);

/* ----------------------------------------------------- Cgroups (cgroup.c) */

/*
 * A cgroup of its own for each container that root runs: a pids limit
 * and, where the kernel has a devices controller, the device allow-list
 * runc gives every container.  cgroup v1 (and hybrid): oci-NAME under this
 * process's own cgroup, in the pids hierarchy and in the devices one.
 * cgroup v2 (/sys/fs/cgroup is cgroup2): /sys/fs/cgroup/oci-unshare/NAME,
 * its devices limited by a BPF program.  Every value is read back; a
 * cgroup that is not what was asked is removed and the call fails.
 */
#define OCI_CGROUP_DIRS 2
struct oci_cgroup {
	int version;		/* 1 or 2 */
	int n;			/* directories made: v1 pids (and devices), v2 one */
	int entered;		/* this process is in them (oci_cgroup_enter) */
	char dir[OCI_CGROUP_DIRS][PATH_MAX];	/* the cgroups made */
	char from[OCI_CGROUP_DIRS][PATH_MAX];	/* this process's cgroup in the same hierarchy */
	pid_t keeper;		/* oci_cgroup_keeper's process, or 0 */
	int keeper_fd;		/* the pipe it reads */
};
/*
 * As root: make the cgroup NAME ([A-Za-z0-9_.-]) for one container, with
 * pids.max limit (limit < 0: "max", none) and, when devices, the device
 * allow-list (which needs CAP_SYS_ADMIN in the host's user namespace).
 * 0, or -1 with nothing left made.  A cgroup of that name already there
 * is an error.
 */
int oci_cgroup_create(struct oci_cgroup *cg, const char *name, long limit, int devices,
    struct oci_err *e);
/* Move this process in (the children it forks from now on are born there). */
int oci_cgroup_enter(struct oci_cgroup *cg, struct oci_err *e);
/* Move this process back where it was; its children stay. */
int oci_cgroup_leave(struct oci_cgroup *cg, struct oci_err *e);
/*
 * Leave it if still in, and rmdir each directory, trying again for a
 * moment while killed tasks drain (EBUSY); what stays is warned about.
 * Nothing on a cg that oci_cgroup_create failed on or that was removed.
 */
void oci_cgroup_remove(struct oci_cgroup *cg);
/*
 * cgroup v2's device allow-list alone: load it as a
 * BPF_PROG_TYPE_CGROUP_DEVICE program and attach it, in addition to any
 * above, to the cgroup2 directory dirfd; read back with BPF_PROG_QUERY.
 * oci_cgroup_create calls it on v2; on its own it serves a hybrid
 * machine's cgroup2 hierarchy (/sys/fs/cgroup/unified), where such
 * programs are enforced too.
 */
int oci_cgroup_devices_bpf(int dirfd, struct oci_err *e);
/*
 * For a caller about to leave host root behind (a user namespace): start
 * a keeper process, outside the cgroup, that stays host root.
 * oci_cgroup_keeper_leave has it move us back where we came from (our
 * children stay); oci_cgroup_keeper_done has it remove the cgroup and
 * waits for it.  Should we die first, it removes the cgroup all the same.
 */
int oci_cgroup_keeper(struct oci_cgroup *cg, struct oci_err *e);
void oci_cgroup_keeper_leave(struct oci_cgroup *cg);
void oci_cgroup_keeper_done(struct oci_cgroup *cg);
/*
 * Not root (no cgroups to make): RLIMIT_NPROC, soft and hard, lowered to
 * limit (limit < 0: left as it is) for this process and its children.
 */
int oci_cgroup_rlimit(long limit, struct oci_err *e);

/* ---------------------------------------------------------- userns_why.c */

/*
 * unshare(2) of a user namespace failed with err (EPERM or ENOSPC): fill e
 * with "unshare: <strerror>: " and the setting that is the likely cause
 * (user.max_user_namespaces, kernel.unprivileged_userns_clone,
 * kernel.apparmor_restrict_unprivileged_userns, a seccomp filter) and the
 * command that changes it.  Returns -1.
 */
int oci_userns_why(int err, struct oci_err *e);
/* Writing our own id map failed (e has why): name AppArmor's restriction when it is on. */
void oci_userns_map_why(struct oci_err *e);

#endif /* OCI_RUN_H */
