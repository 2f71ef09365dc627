/*
 * lib/base/base.h — the base wing: errors, the say reporter, undo,
 * digests, the clock, file-system and kernel helpers.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/base/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_BASE_H
#define OCI_BASE_H

#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <jansson.h>

#ifndef OCI_VERSION
#define OCI_VERSION "0.0.0"
#endif

/* ---------------------------------------------------------------- error.c */

struct oci_err {
	char msg[1024];
};

/*
 * Set the message; return -1 so that `return oci_fail(e, …);` reads well.
 * e is never NULL: a caller that does not want the message still passes one.
 */
int oci_fail(struct oci_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errno)" appended (errno as it was on entry). */
int oci_fail_errno(struct oci_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Put "what: " in front of the message already there; return -1. */
int oci_context(struct oci_err *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ----------------------------------------------------------------- undo.c */

/*
 * What a run makes stays only if the run succeeds.  Each thing is
 * registered as it is made; a program that exits without keeping it (a
 * failure) or is killed by SIGINT, SIGTERM or SIGHUP removes it first (and
 * then dies of that signal: exit status 128+N).  A forked child never
 * removes its parent's things.
 *   OCI_UNDO_UNLINK  name in dirfd (a temporary file, a blob nothing names yet)
 *   OCI_UNDO_RMTREE  name in dirfd and all under it (a directory the run made)
 *   OCI_UNDO_UMOUNT  the mount at name in dirfd (lazily detached)
 *   OCI_UNDO_KILL    the child process whose pidfd is dirfd (name ""): killed
 *                    (SIGKILL) and waited for, before what it was writing goes
 * dirfd may be AT_FDCWD; it is duplicated, so the caller may close its own.
 * Returns a handle, or -1 when it could not be registered.
 */
enum oci_undo_kind { OCI_UNDO_UNLINK, OCI_UNDO_RMTREE, OCI_UNDO_UMOUNT, OCI_UNDO_KILL };
int oci_undo_add(enum oci_undo_kind kind, int dirfd, const char *name);
/* It stays (the run needs it, or it got its final name). A handle of -1 is ignored. */
void oci_undo_keep(int h);
/* Remove it now (a step failed and the run goes on, or gives up). */
void oci_undo_now(int h);
/* Everything stays: the run has succeeded. */
void oci_undo_keep_all(void);
/*
 * Make the directory path (mode as for mkdir) unless it is there already;
 * one this run makes is registered (OCI_UNDO_RMTREE).  -1: e says why.
 */
int oci_undo_mkdir(const char *path, mode_t mode, struct oci_err *e);
/*
 * Hold SIGINT, SIGTERM and SIGHUP back (the old mask in *old, restored with
 * pthread_sigmask(SIG_SETMASK, old, NULL)), so that a step and the keeping
 * of what it made happen together or not at all.
 */
void oci_undo_block(sigset_t *old);
/* A change that the directory itself refused (EACCES): as non-root, a directory of mode 0555. */
#define OCI_DENIED (-2)
/*
 * rm -r of name in dirfd (what undo does for OCI_UNDO_RMTREE, and every
 * writer uses to clear a name), never following a symlink and never
 * emptying a mount met inside (EBUSY); directories that are not writable
 * (mode 0555 as non-root) are made so first.  A missing name is not an
 * error.  -1 with e filled, or OCI_DENIED when dirfd refused.
 */
int oci_rmtree_at(int dirfd, const char *name, struct oci_err *e);

/* --------------------------------------------------------------- fsutil.c */

/* Write all n bytes of buf to fd, through short writes and EINTR: 0, or -1 with errno. */
int oci_write_all(int fd, const void *buf, size_t n);
/*
 * Write text to a kernel's file (a procfs map, a cgroup's knob) in one
 * write(2), as such files want it: a short write is an error.
 */
int oci_write_knob(const char *path, const char *text, struct oci_err *e);
/*
 * A small regular file name in dirfd, never through a symlink, read whole:
 * *buf (the caller frees it) gets its len bytes and a NUL after them.  A
 * file over max bytes, or one that grows while it is read, is refused.
 */
int oci_read_small(int dirfd, const char *name, size_t max, char **buf, size_t *len,
    struct oci_err *e);
/* The same into buf, a text of at most cap - 1 bytes and its NUL. */
int oci_read_text(int dirfd, const char *name, char *buf, size_t cap, struct oci_err *e);
/* A new file name in dirfd holding text; never one that is there already (O_EXCL). */
int oci_write_new(int dirfd, const char *name, const char *text, struct oci_err *e);
/*
 * A new file (dir 0) or directory (dir 1) under a temporary name beside
 * name in dirfd (name may have directories in it), to be renamed onto name
 * once whole: t->fd is the file open for writing, or the directory.  It is
 * registered with lib/base/undo.c: a failed or interrupted run removes it.  A
 * name already taken (left behind, or planted) is never written through.
 * oci_temp_rename fsyncs a file, closes fd and renames it; -1 with e filled
 * and errno kept (EEXIST or ENOTEMPTY: a directory is there already) after
 * removing it.  oci_temp_abort removes it.
 */
struct oci_temp {
	int dirfd;		/* the caller's, not closed */
	int dir;
	int fd;
	int undo;
	char name[PATH_MAX];	/* its temporary name, for messages too */
};
int oci_temp_new(int dirfd, const char *name, int dir, struct oci_temp *t, struct oci_err *e);
int oci_temp_rename(struct oci_temp *t, const char *name, struct oci_err *e);
void oci_temp_abort(struct oci_temp *t);
/*
 * Make name in dirfd (a directory called dir in messages) hold data,
 * atomically: a new temporary file beside it (never one planted there),
 * written in full, fsync'd and renamed over name.  A failure, or an
 * interruption before the rename, removes the temporary file.  With commit,
 * the rename also keeps all that this run made (oci_undo_keep_all), with
 * SIGINT and SIGTERM held back between the two: index.json is where a
 * run's new blobs become part of the layout.
 */
int oci_file_replace(int dirfd, const char *dir, const char *name, const void *data, size_t len,
    int commit, struct oci_err *e);
/* 1 when path is a directory with nothing in it; 0 otherwise (or when it cannot be read). */
int oci_dir_is_empty(const char *path);
/*
 * The directory above fd, opened through ".." with flags (O_DIRECTORY and
 * O_CLOEXEC added), if it is still want (its dev and inode): a walk that
 * let its parent go while it went down finds it again.  -1 when it cannot
 * be opened, or is another directory now (moved meanwhile).
 */
int oci_reopen_parent(int fd, int flags, const struct stat *want);

/* ---------------------------------------------------------------- clock.c */

/* Seconds on the monotonic clock: for timeouts, token lifetimes, backoff and progress. */
double oci_now(void);

/* --------------------------------------------------------------- kernel.c */

/* openat2(2) with O_CLOEXEC added; resolve is RESOLVE_* flags.  An fd or -1 (errno). */
int oci_openat2(int dirfd, const char *path, int flags, unsigned long long resolve);
/*
 * 1 when err (an errno from openat2) means openat2 itself is refused here
 * (ENOSYS: an old kernel; EPERM: a seccomp profile that does not know it),
 * not the path: asked of the kernel again with a path nothing refuses.
 */
int oci_openat2_refused(int err);
/*
 * The error of a failed oci_openat2 of what: errno's, or, when openat2 is
 * refused as such (ENOSYS: an old kernel; EPERM: a seccomp profile that does
 * not know it), a message that says so.  Returns -1.
 */
int oci_openat2_error(struct oci_err *e, const char *what);
/*
 * The new mount API's last steps, the same for every filesystem mounted:
 * FSCONFIG_CMD_CREATE makes the superblock from what fsconfig(2) set on the
 * context fs, fsmount(2) makes a detached mount of it with attrs
 * (MOUNT_ATTR_*), move_mount(2) attaches that at path under dirfd ("" for
 * dirfd itself).  fs stays the caller's: its log says why a create failed.
 * root, when not NULL, gets a descriptor of the new mount's root (the
 * caller closes it).  0, or the step that failed with errno set (the
 * caller, who knows what it mounts, words the message).
 */
enum { OCI_MOUNT_CREATE = 1, OCI_MOUNT_FSMOUNT, OCI_MOUNT_MOVE };
int oci_mount_attach(int fs, unsigned attrs, int dirfd, const char *path, int *root);
/* 1 when this process is in the host's (initial) user namespace. */
int oci_ns_initial_user(void);
/*
 * Which overlayfs xattrs this process writes and an overlay it mounts
 * reads: 1 (user.overlay.*, mounted "userxattr") when it is not root in
 * the initial user namespace, else 0 (trusted.overlay.*).  The one answer
 * for oci-untar, oci-whiteout, oci-overlay and the store.
 */
int oci_overlay_user_xattrs(void);

/* ------------------------------------------------------------------ say.c */

/*
 * What the library has to tell people goes, one line at a time, to the
 * reporter the program sets (lib/cli/cli.c has the oci-* programs' one); with
 * none set, the library is silent.  msg has no program name and no
 * newline, and its control characters are escaped (oci_escape).
 */
enum oci_report {
	OCI_REPORT_SAY,		/* oci_say: a step, in the words of the specs (-v) */
	OCI_REPORT_WARN,	/* oci_warn: something to know; the run goes on */
	OCI_REPORT_METER,	/* oci_meter: how far a long step is (m), to be redrawn in place */
	OCI_REPORT_METER_DONE,	/* oci_meter_done: the long step is over, take its lines away */
};
/* One line of a progress meter: what (escaped), how far, of how much (-1: not known). */
struct oci_meter_line {
	const char *what;
	uint64_t done;
	int64_t total;
};
/*
 * A progress meter: the lines of what is in flight and, when count is not
 * 0, one for the whole ("3 of 7 blobs", its bytes).  The reporter draws it
 * (lib/cli/cli.c: "WHAT [=====     ] 12 MB / 30 MB").
 */
struct oci_meter {
	const struct oci_meter_line *lines;
	size_t n;
	size_t done, count;		/* of the whole: items finished, items in all */
	uint64_t bytes, total_bytes;	/* of the whole */
};
/* msg: the line for SAY and WARN ("" otherwise); m: the meter for METER (NULL otherwise). */
typedef void oci_reporter(enum oci_report kind, const char *msg, const struct oci_meter *m);
void oci_set_reporter(oci_reporter *fn);

/* How much to say, set by the program: -v given that many times (0: oci_say says nothing). */
extern int oci_verbose;

/* The teaching voice: a step, reported when oci_verbose is set. */
void oci_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A warning: always reported (a program's -q is its reporter's business). */
void oci_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * Progress of a long step (a layer read or written, blobs downloaded or
 * pushed): when the program has set oci_progress, oci_meter reports one
 * line, "WHAT [=====     ] 12 MB / 30 MB" (without the bar when total < 0),
 * and oci_meter_blobs the blobs in flight and the whole, both at most ten
 * times a second; oci_meter_done says it is over.  Without oci_progress
 * they do nothing.  Call them from one thread.
 */
extern int oci_progress;
void oci_meter(const char *what, uint64_t done, int64_t total);
/* For oci_registry_opts.progress (arg unused): the transfers of lib/registry/registry.c and lib/registry/push.c. */
struct oci_progress;
void oci_meter_blobs(void *arg, const struct oci_progress *p);
void oci_meter_done(void);

/*
 * A digest as people read it: "sha256:1395e5bb1165" (12 hex digits, as
 * docker shows them).  Returns one of a few static buffers, so that up to
 * four can appear in one printf.
 */
const char *oci_short(const char *digest);
/* 1234567 -> "1.2 MB"; returns one of a few static buffers, like oci_short. */
const char *oci_human_size(uint64_t bytes);
/*
 * Text from a document, a file name or a descriptor, made safe for a
 * terminal: control characters (C0, DEL, and C1 in UTF-8) become "\xNN",
 * so that no escape sequence in it reaches the screen.  oci_escape copies
 * into dst (always NUL-terminated, cut to cap); oci_printable returns s
 * itself when it has none, else a copy in one of a few static buffers.
 */
char *oci_escape(char *dst, size_t cap, const char *s);
const char *oci_printable(const char *s);

/* What is downloading, for a progress display. */
struct oci_progress_blob {
	const char *digest;
	uint64_t got;
	int64_t size;		/* -1: unknown */
};
struct oci_progress {
	const struct oci_progress_blob *active;
	size_t nactive;
	size_t done, total;	/* blobs */
	uint64_t bytes, total_bytes;
	int final;		/* the last call: clear the display */
};

/* --------------------------------------------------------------- digest.c */

enum oci_alg { OCI_SHA256, OCI_SHA512 };

/* "sha512:" + 128 hex digits + NUL */
#define OCI_DIGEST_MAX 136

/* "sha256" -> OCI_SHA256; -1 for anything else. */
int oci_alg_parse(const char *name, enum oci_alg *alg, struct oci_err *e);
const char *oci_alg_name(enum oci_alg alg);

/*
 * image-spec descriptor.md: a digest is "algorithm:encoded".  We accept only
 * the registered algorithms we implement, with lowercase hex of the exact
 * length, so that a checked digest is always safe in a path or a URL.
 * On success *alg (may be NULL) is set and 0 returned.
 */
int oci_digest_check(const char *digest, enum oci_alg *alg, struct oci_err *e);
/* The hex part of a checked digest (the text after the colon). */
const char *oci_digest_hex(const char *digest);

/* A running hash over a stream (OpenSSL EVP).  Freed with oci_hash_free. */
struct oci_hash;
struct oci_hash *oci_hash_new(enum oci_alg alg);
void oci_hash_update(struct oci_hash *h, const void *buf, size_t n);
/* How many bytes went in so far. */
uint64_t oci_hash_size(const struct oci_hash *h);
/* "sha256:<hex>" of everything so far; the hash can't be updated after. */
void oci_hash_final(struct oci_hash *h, char out[OCI_DIGEST_MAX]);
/*
 * Finish and compare with what a descriptor promised: want_size < 0 means
 * "any size".  The message names both digests ("digest mismatch: expected
 * sha256:…, got sha256:…") or both sizes.
 */
int oci_hash_check(struct oci_hash *h, const char *want_digest,
    int64_t want_size, struct oci_err *e);
void oci_hash_free(struct oci_hash *h);

/* Hash everything readable from fd; *size (may be NULL) gets the byte count. */
int oci_digest_fd(int fd, enum oci_alg alg, char out[OCI_DIGEST_MAX],
    uint64_t *size, struct oci_err *e);

/* The buffer size for streaming copies and hashing: 64 KiB stays in the
 * CPU cache between read() and the hash, and measured fastest (bench/digest.sh). */
#define OCI_IO_CHUNK (64 * 1024)

/* ------------------------------------------------------------------ dir.c */

/*
 * The names in the directory dirfd ("." and ".." left out), sorted by byte
 * value.  Free them with oci_dir_names_free.
 */
int oci_dir_names(int dirfd, char ***names, size_t *count, struct oci_err *e);
void oci_dir_names_free(char **names, size_t n);

#endif /* OCI_BASE_H */
