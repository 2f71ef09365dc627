/*
 * lib/oci.h — the one public header of liboci.a, the library every oci-*
 * program is built on.
 *
 * What the programs promise their users (the words layout, IMAGE,
 * descriptor line, document; options, output, exit status; the environment)
 * is oci(7), bin/oci.7; how code, tests and man pages are written here is
 * CONTRIBUTING.md.
 *
 * Rules of the house: the library never prints and never exits.  What it
 * has to tell people (the -v teaching voice, warnings, progress) goes to
 * the reporter the program sets (say.c); command lines, stderr and exit
 * status are the programs' own (lib/cli.h).  A function that can fail
 * returns -1 (or NULL) and fills a struct oci_err that the caller owns;
 * callers add context on the way up with oci_context():
 *
 *     layer sha256:ab12cd34ef56: open blob: No such file or directory
 *
 * Every name that is freed by the caller says so where it is declared.
 */
#ifndef OCI_H
#define OCI_H

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
 * dirfd may be AT_FDCWD; it is duplicated, so the caller may close its own.
 * Returns a handle, or -1 when it could not be registered.
 */
enum oci_undo_kind { OCI_UNDO_UNLINK, OCI_UNDO_RMTREE, OCI_UNDO_UMOUNT };
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
 * registered with lib/undo.c: a failed or interrupted run removes it.  A
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
 * reporter the program sets (lib/cli.c has the oci-* programs' one); with
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
 * (lib/cli.c: "WHAT [=====     ] 12 MB / 30 MB").
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
/* For oci_registry_opts.progress (arg unused): the transfers of lib/registry.c and lib/push.c. */
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

/* ----------------------------------------------------------- descriptor.c */

/* Borrowed views into a descriptor's JSON: valid while the json_t lives. */
struct oci_desc {
	const char *media_type;
	const char *digest;
	int64_t size;
};

/* Check a descriptor object (mediaType string, checked digest, size >= 0). */
int oci_desc_parse(const json_t *obj, struct oci_desc *d, struct oci_err *e);
/* A new descriptor object; the caller json_decref()s it. */
json_t *oci_desc_new(const char *media_type, const char *digest, uint64_t size);
/*
 * Read one descriptor line from in (programs pass them one compact JSON
 * object per line).  Returns 1 and sets *obj (caller decrefs), 0 at end of
 * input, -1 on malformed input.  Blank lines are skipped.
 */
int oci_desc_read(FILE *in, json_t **obj, struct oci_err *e);
/* Write obj as one compact line; -1 if the write failed. */
int oci_desc_write(FILE *out, const json_t *obj);

/* ---------------------------------------------------------------- media.c */

#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_MT_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define OCI_MT_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define OCI_MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define OCI_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

enum oci_kind {
	OCI_KIND_UNKNOWN,
	OCI_KIND_INDEX,		/* OCI index or Docker manifest list */
	OCI_KIND_MANIFEST,	/* OCI manifest or Docker schema2 manifest */
	OCI_KIND_CONFIG,
	OCI_KIND_LAYER,
	OCI_KIND_SCHEMA1,	/* Docker schema1: recognised, refused */
};

enum oci_compression { OCI_COMP_NONE, OCI_COMP_GZIP, OCI_COMP_ZSTD };

/* What a media type names, OCI or Docker. */
enum oci_kind oci_media_kind(const char *media_type);
/* A short name for people: "index", "manifest", "config", "layer tar+gzip", "docker manifest" … */
const char *oci_media_short(const char *media_type);

/*
 * Parse a document (index or manifest) from its exact bytes and tell which
 * it is.  The document's own mediaType wins over the descriptor's hint
 * (hint may be NULL); a document with both "manifests" and "layers"/"config"
 * is refused, as are schema1 and unknown types (the message names the type).
 * *doc is decref'd by the caller.
 */
int oci_doc_parse(const char *buf, size_t len, const char *hint,
    json_t **doc, enum oci_kind *kind, struct oci_err *e);
/*
 * An image config's bytes (image-spec config.md), parsed as strictly as a
 * document: a JSON object, no key twice.  NULL with e filled ("config
 * WHAT: …"); the caller frees what it returns (json_decref).
 */
json_t *oci_config_parse(const char *buf, size_t len, const char *what, struct oci_err *e);

/* ------------------------------------------------------------- platform.c */

struct oci_platform {
	char os[32];
	char arch[32];
	char variant[16];	/* "" when none */
};

/* "linux/arm64/v8", "linux/amd64"; exit-2-worthy errors are -1 here. */
int oci_platform_parse(const char *s, struct oci_platform *p, struct oci_err *e);
/* This machine, in Go's names (x86_64 -> linux/amd64, aarch64 -> linux/arm64/v8). */
void oci_platform_host(struct oci_platform *p);
/* "linux/amd64" or "linux/arm/v7"; returns a static buffer. */
const char *oci_platform_str(const struct oci_platform *p);
/*
 * Does a descriptor's "platform" object suit want?  As containerd's
 * platform matcher decides: variants are normalised (none is arm64's "v8",
 * arm's "v7", amd64's "v1", also for a want with no variant), and an arm
 * want also takes an older arm variant (v8: v7, v6, v5; v7: v6, v5; v6: v5).
 */
int oci_platform_match(const struct oci_platform *want, const json_t *platform);
/*
 * The entry of an index's "manifests" for want (borrowed): the best that
 * suits (the exact variant before an older arm one; among equals the
 * first), else the first nested index without a platform; or NULL and an
 * error that lists the platforms the index has.
 */
const json_t *oci_platform_pick(const json_t *index, const struct oci_platform *want, struct oci_err *e);

/* --------------------------------------------------------------- layout.c */

/*
 * The IMAGE argument (oci(7), WORDS): LAYOUT[:TAG] or LAYOUT@DIGEST.
 * The split is at the last ':' or '@' after the last '/'; an argument that
 * names an existing directory is a layout with no tag.
 */
struct oci_ref {
	char *layout;	/* the layout directory */
	char *tag;	/* NULL when none */
	char *digest;	/* NULL when none; checked with oci_digest_check */
};
int oci_ref_parse(const char *arg, struct oci_ref *ref, struct oci_err *e);
void oci_ref_free(struct oci_ref *ref);

struct oci_layout {
	char *path;	/* as given */
	int dirfd;	/* the layout directory, O_DIRECTORY */
	/*
	 * A layout oci_layout_create made in this run goes again if the run
	 * fails before anything lands in its blobs/ (a blob, or a .partial to
	 * resume from): its oci_undo handle until then, -1 after.
	 */
	int undo;
	/*
	 * Set by oci_build_open for a build on the layout (oci-commit,
	 * oci-config): each blob it adds is removed again (oci_undo) unless the run ends
	 * with index.json naming it.
	 */
	int provisional;
};

/* Open a layout: the directory must have an oci-layout file with imageLayoutVersion. */
int oci_layout_open(const char *path, struct oci_layout **out, struct oci_err *e);
/*
 * Open or make a layout: directories made as needed, oci-layout and an
 * empty index.json written (atomically) when missing.
 */
int oci_layout_create(const char *path, struct oci_layout **out, struct oci_err *e);
void oci_layout_close(struct oci_layout *l);

/* "blobs/sha256/<hex>" for a checked digest, relative to the layout; buf of PATH_MAX. */
int oci_blob_path(const char *digest, char *buf, size_t len, struct oci_err *e);
/*
 * How a file of a layout is opened to read, before fstat says it is a
 * regular file: never through a symlink, and O_NONBLOCK so that a FIFO
 * (which would wait for a writer) or a device cannot block the open.
 */
#define OCI_OPEN_FILE (O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
/* Open a blob to read (never through a symlink); returns an fd or -1. */
int oci_blob_open(struct oci_layout *l, const char *digest, struct oci_err *e);
/* 1 when the blob is present with this size (size < 0: any), else 0. */
int oci_blob_exists(struct oci_layout *l, const char *digest, int64_t size);

/* Documents are small: this is the most we read into memory (image-spec suggests 4 MiB). */
#define OCI_DOC_MAX (4 * 1024 * 1024)
/*
 * Read a whole small blob (a document) into memory, refusing more than
 * OCI_DOC_MAX, and check it against digest and size (size < 0: any).
 * *buf is malloc'd and NUL-terminated (the NUL is not counted in *len).
 */
int oci_blob_read(struct oci_layout *l, const char *digest, int64_t size,
    char **buf, size_t *len, struct oci_err *e);

/*
 * Writing a blob: bytes go to a temporary file in blobs/<alg>/ while they are
 * hashed; commit checks digest and size, fsyncs, and only then renames the
 * file to its digest.  A failure (or abort) unlinks the temporary file, so no
 * unverified bytes ever carry a digest name.
 */
struct oci_blob_writer;
int oci_blob_writer_new(struct oci_layout *l, enum oci_alg alg,
    struct oci_blob_writer **w, struct oci_err *e);
int oci_blob_writer_write(struct oci_blob_writer *w, const void *buf, size_t n,
    struct oci_err *e);
/* Bytes written so far. */
uint64_t oci_blob_writer_size(const struct oci_blob_writer *w);
/*
 * want_digest NULL: keep whatever it hashes to; want_size < 0: any size.
 * out (may be NULL) gets the digest.  Frees w whatever the outcome.
 */
int oci_blob_writer_commit(struct oci_blob_writer *w, const char *want_digest,
    int64_t want_size, char out[OCI_DIGEST_MAX], struct oci_err *e);
void oci_blob_writer_abort(struct oci_blob_writer *w);
/*
 * A download that may be cut short and resumed by a later run: its bytes
 * go to "blobs/<alg>/.partial-<hex>" of the digest they must have, which is
 * kept when the writer is put aside with oci_blob_writer_suspend (a failed
 * or interrupted run) and read again, hashed, by the next resume; *got is
 * how many bytes are there already.  When another process holds that file,
 * a private temporary file is used instead (*got = 0).  A partial file
 * longer than max_size (>= 0) is thrown away.  Commit and abort are as for
 * oci_blob_writer_new's writers.
 */
int oci_blob_writer_resume(struct oci_layout *l, const char *digest, int64_t max_size,
    struct oci_blob_writer **w, uint64_t *got, struct oci_err *e);
/* 1 when a .partial file of digest is there (worth resuming before the first byte comes). */
int oci_blob_partial_exists(struct oci_layout *l, const char *digest);
/* Close w, keeping a .partial file for the next run (other writers: abort). */
void oci_blob_writer_suspend(struct oci_blob_writer *w);
/* Store a small buffer as a blob (a document); out gets its digest. */
int oci_blob_put(struct oci_layout *l, const void *buf, size_t n,
    char out[OCI_DIGEST_MAX], struct oci_err *e);

/* ---------------------------------------------------------------- index.c */

/* index.json, parsed and checked (schemaVersion 2, a "manifests" array). Caller decrefs. */
json_t *oci_index_load(struct oci_layout *l, struct oci_err *e);
/*
 * The descriptor of index.json that ref names: by digest, or by tag (the
 * org.opencontainers.image.ref.name annotation; a full reference such as
 * "docker.io/library/busybox:latest" is found by its tag when only one
 * entry ends so).  With neither, the one descriptor when there is exactly
 * one.  The error for an unknown tag lists the known ones.  *desc is a new
 * reference (caller decrefs).
 */
int oci_index_find(const json_t *index, const struct oci_ref *ref,
    json_t **desc, struct oci_err *e);
/* The tag of a descriptor, or NULL. */
const char *oci_desc_tag(const json_t *desc);
/*
 * Change index.json under an exclusive flock of the layout directory: load,
 * call edit, write a temporary file, fsync, rename.  Two writers at once
 * never lose each other's tags; a crash leaves the old or the new file.
 */
int oci_index_update(struct oci_layout *l,
    int (*edit)(json_t *index, void *arg, struct oci_err *e), void *arg,
    struct oci_err *e);
/* An edit for oci_index_update: remove a tag. */
int oci_index_remove_tag(json_t *index, const char *tag, struct oci_err *e);
/* One call: tag desc as tag in the layout's index.json; a tag LAYOUT:TAG could not name is refused. */
int oci_layout_tag(struct oci_layout *l, const char *tag, const json_t *desc,
    struct oci_err *e);

/* -------------------------------------------------------------- resolve.c */

/*
 * An image, followed from its IMAGE argument down to one manifest:
 * index.json -> tag or digest -> (image indexes, by platform) -> manifest.
 * Every document on the way is checked against its digest and size.
 */
struct oci_image {
	struct oci_layout *layout;
	struct oci_ref ref;
	json_t *entry;		/* the entry of index.json that ref names */
	json_t *desc;		/* the manifest's descriptor */
	char *manifest_buf;	/* its exact bytes */
	size_t manifest_len;
	json_t *manifest;	/* parsed */
};
/* platform NULL: this machine's. Free with oci_image_free. */
int oci_image_open(const char *arg, const struct oci_platform *platform,
    struct oci_image **img, struct oci_err *e);
/* The same for an IMAGE already parsed (oci_ref_parse); the image keeps a copy of ref. */
int oci_image_open_ref(const struct oci_ref *ref, const struct oci_platform *platform,
    struct oci_image **img, struct oci_err *e);
/*
 * The first step of the walk: the entry of the layout's index.json that
 * ref names (its tag, its digest, or the layout's one entry), checked with
 * oci_desc_parse, in *desc (json_decref'd by the caller).
 */
int oci_image_entry(struct oci_layout *l, const struct oci_ref *ref, json_t **desc,
    struct oci_err *e);
/*
 * Follow one descriptor (from index.json or stdin) to its manifest, through
 * image indexes by platform (NULL: this machine's).  *desc_out gets the
 * manifest's descriptor, *buf and *len its bytes, *doc the parsed manifest.
 */
int oci_resolve_manifest(struct oci_layout *l, const json_t *desc,
    const struct oci_platform *platform, json_t **desc_out, char **buf,
    size_t *len, json_t **doc, struct oci_err *e);
/* The config's bytes and parsed JSON, checked against the manifest's config descriptor. */
int oci_image_config(struct oci_image *img, char **buf, size_t *len,
    json_t **config, struct oci_err *e);
/* The manifest's "layers" array (borrowed), each checked with oci_desc_parse. */
const json_t *oci_image_layers(struct oci_image *img, struct oci_err *e);
/* The config's rootfs.diff_ids (borrowed): one checked digest per layer, or NULL. */
const json_t *oci_image_diff_ids(const json_t *config, const json_t *layers, struct oci_err *e);
/*
 * What every reader of an image's layers needs, checked: the parsed config
 * (*config, json_decref'd by the caller), the manifest's layers and the
 * config's diff_ids, one per layer (both borrowed, from img and *config).
 */
int oci_image_stack(struct oci_image *img, json_t **config, const json_t **layers,
    const json_t **diff_ids, struct oci_err *e);
void oci_image_free(struct oci_image *img);

/* ------------------------------------------------------------------ dir.c */

/*
 * The names in the directory dirfd ("." and ".." left out), sorted by byte
 * value.  Free them with oci_dir_names_free.
 */
int oci_dir_names(int dirfd, char ***names, size_t *count, struct oci_err *e);
void oci_dir_names_free(char **names, size_t n);

/* ------------------------------------------------------------- whiteout.c */

/* image-spec layer.md "Whiteouts" */
#define OCI_WH_PREFIX ".wh."
#define OCI_WH_OPAQUE ".wh..wh..opq"

enum oci_wh {
	OCI_WH_NONE,		/* an ordinary name */
	OCI_WH_FILE,		/* ".wh.NAME": NAME is deleted */
	OCI_WH_OPAQUE_DIR,	/* ".wh..wh..opq": the directory is opaque */
	OCI_WH_BAD,		/* ".wh.", ".wh..", ".wh..." or another ".wh..wh." name */
};
/* Classify the last component of a tar path; *target (may be NULL) gets NAME. */
enum oci_wh oci_whiteout_name(const char *base, const char **target);
/* overlayfs: a whiteout is a character device 0:0. */
int oci_is_overlay_whiteout(const struct stat *st);
/*
 * Is the directory fd opaque for overlayfs ("y" in trusted.overlay.opaque or
 * user.overlay.opaque)?  1 yes, 0 no.
 */
int oci_overlay_is_opaque(int dirfd);
/*
 * Make the directory fd (any kind of fd) opaque for overlayfs: "y" in
 * user.overlay.opaque when user_xattrs, else trusted.overlay.opaque.
 */
int oci_overlay_set_opaque(int fd, int user_xattrs, struct oci_err *e);
/* Is this xattr name overlayfs metadata that must never come from a tar? */
int oci_is_overlay_xattr(const char *name);

/*
 * Whiteouts found in a layer (a tar stream, compressed or not) or in a
 * directory (".wh." files, or overlayfs's 0:0 devices and opaque xattrs).
 * path is absolute inside the layer ("/etc/motd"); for an opaque whiteout,
 * the directory.  Directories are listed in name order.  A callback that
 * returns -1 stops the walk (and fills e).
 */
enum oci_wh_form { OCI_WH_FORM_OCI, OCI_WH_FORM_OVERLAY };
typedef int (*oci_whiteout_fn)(const char *path, enum oci_wh kind,
    enum oci_wh_form form, void *arg, struct oci_err *e);
int oci_whiteouts_tar(int fd, oci_whiteout_fn fn, void *arg, struct oci_err *e);
int oci_whiteouts_dir(int dirfd, oci_whiteout_fn fn, void *arg, struct oci_err *e);
/*
 * Convert a directory in place: OCI_WH_FORM_OVERLAY turns ".wh.NAME" into
 * a 0:0 device and ".wh..wh..opq" into the opaque xattr (user.overlay.* when
 * user_xattrs, else trusted.overlay.*); OCI_WH_FORM_OCI turns an overlayfs
 * upperdir's whiteouts back into ".wh." files (what oci-commit puts in a
 * layer).  *count (may be NULL) gets how many were converted.
 */
int oci_whiteouts_convert(int dirfd, enum oci_wh_form to, int user_xattrs,
    unsigned long *count, struct oci_err *e);

/* ----------------------------------------------------------- decompress.c */

/* A layer stream, and what it is checked against. */
struct oci_layer_src {
	int fd;
	const char *digest;	/* of the bytes as read (NULL: not checked) */
	int64_t size;		/* their count (-1: not checked) */
	const char *diff_id;	/* of the tar inside (NULL: not checked) */
	const char *what;	/* what oci_meter's line says is read (NULL: the short digest) */
};
/*
 * Every program that looks at a layer reads it with this: the stream (tar,
 * or tar compressed with gzip or zstd, told by content; xz and bzip2 are
 * refused) is read once, checked against src's digest/size and diff_id (a
 * mismatch fails naming both digests), and each tar entry is given to fn in
 * order, with the archive so that fn may read the entry's data (what it
 * leaves unread is skipped).  fn returning -1 stops the read.  st (may be
 * NULL) gets the byte counts.
 */
struct archive;
struct archive_entry;
struct oci_layer_stats {
	uint64_t stored;	/* bytes as stored (compressed) */
	uint64_t tar;		/* bytes of the tar inside */
	enum oci_compression comp;
	unsigned long entries;
};
typedef int (*oci_tar_entry_fn)(struct archive *a, struct archive_entry *ent, void *arg,
    struct oci_err *e);
int oci_layer_read(const struct oci_layer_src *src, oci_tar_entry_fn fn, void *arg,
    struct oci_layer_stats *st, struct oci_err *e);
/*
 * The tar inside the layer stream fd, for a caller that wants its bytes
 * (to copy it uncompressed, or to hash it): the stream is read as
 * oci_layer_read reads it (the same formats accepted and refused, the same
 * end-of-stream checks) and the tar given to fn in order, a chunk of at
 * most a MiB at a time; fn returning -1 stops the read.  No progress is
 * drawn, and nothing is checked against a digest: that is the caller's.
 */
typedef int (*oci_bytes_fn)(void *arg, const void *buf, size_t n, struct oci_err *e);
int oci_layer_inflate(int fd, oci_bytes_fn fn, void *arg, struct oci_err *e);

/* ---------------------------------------------------------------- entry.c */

/*
 * A tar entry's name as oci-untar reads it: no leading "/", no "." or empty
 * components ("./a", "a/" and "/a" are all "a"); ".." and names longer than
 * PATH_MAX are refused.  out has room for PATH_MAX bytes; the root is "".
 */
int oci_clean_path(const char *in, char *out, struct oci_err *e);
/* A tar entry's name, as oci-untar and oci-diff both take it (oci_entry_name). */
struct oci_entry_name {
	const char *raw;		/* as the tar has it, for messages */
	char path[PATH_MAX];		/* cleaned (oci_clean_path); the root is "" */
	char parent[PATH_MAX];		/* path's directory */
	const char *name;		/* path's last component */
	const char *hardlink;		/* a hardlink's target as the tar has it, or NULL */
	enum oci_wh wh;			/* NONE, FILE or OPAQUE_DIR (BAD is refused) */
	const char *wh_target;		/* OCI_WH_FILE: NAME of ".wh.NAME" */
};
/*
 * ent's name into n; whiteouts 0 reads ".wh." names as ordinary ones
 * (oci-untar --whiteouts=keep).  1: an entry to apply; 0: "./", which
 * changes nothing; -1 with e filled: no usable name, "..", a whiteout that
 * names nothing, "." or "..", or an entry that would replace the root.
 */
int oci_entry_name(struct archive_entry *ent, int whiteouts, struct oci_entry_name *n,
    struct oci_err *e);
/* A set of cleaned paths; { 0 } is empty.  Free with oci_pathset_free. */
struct oci_pathset {
	char **v;
	size_t n, cap;		/* cap is a power of two */
};
/* Add p[0..n) and every parent of it ("a/b" adds "a" too).  -1: out of memory. */
int oci_pathset_add(struct oci_pathset *s, const char *p, size_t n);
/* 1 when p is in s, else 0. */
int oci_pathset_has(const struct oci_pathset *s, const char *p);
void oci_pathset_free(struct oci_pathset *s);
/* A hash of n bytes of a name (FNV-1a), for the path sets of entry.c and diff.c. */
uint64_t oci_hash_name(const char *s, size_t n);

/* --------------------------------------------------------------- rooted.c */

/*
 * The directory at path (relative, cleaned) as if rootfd were "/":
 * symlinks are followed only inside the root (follow 1), or not at all
 * (follow 0: a symlink on the way is ELOOP).  openat2 RESOLVE_IN_ROOT, or
 * a component walk where openat2 is missing or refused.  Like openat(2):
 * an O_PATH fd, or -1 with errno set.
 */
int oci_open_in_root(int rootfd, const char *path, int follow);

/* --------------------------------------------------------- image_layers.c */

/*
 * The layers of an image, bottom first, each with its diff_id (the
 * manifest's "layers" and the config's rootfs.diff_ids side by side), and
 * its blob opened on demand as a stream that oci_layer_read checks against
 * the descriptor's digest and size and the diff_id.
 */
struct oci_layers {
	struct oci_image *img;		/* borrowed */
	json_t *config;			/* the image's config, parsed */
	const json_t *layers, *diff_ids;	/* borrowed from img and config */
	size_t i, n;			/* after oci_layers_next: layer i (from 1) of n */
	struct oci_desc desc;		/* its descriptor (borrowed from img) */
	const char *diff_id;		/* its diff_id (borrowed from config) */
	struct oci_layer_src src;	/* after oci_layers_open: its blob, and what it must be */
};
/* Read img's config and check its layers and diff_ids; end with oci_layers_end, even after -1. */
int oci_layers_start(struct oci_image *img, struct oci_layers *it, struct oci_err *e);
/* The next layer into it->desc and it->diff_id: 1, 0 after the last, -1 on error. */
int oci_layers_next(struct oci_layers *it, struct oci_err *e);
/*
 * The current layer's blob, opened into it->src (what: as oci_layer_src's,
 * may be NULL); closed by the next call or by oci_layers_end.  The caller
 * says which layer failed ("layer sha256:…").
 */
int oci_layers_open(struct oci_layers *it, const char *what, struct oci_err *e);
/* Close the blob and free the config: layers, diff_ids and desc go with them. */
void oci_layers_end(struct oci_layers *it);

/* ---------------------------------------------------------------- untar.c */

/* What to do with a layer's whiteouts (oci-untar(1) --whiteouts=). */
enum oci_whiteouts {
	OCI_WHITEOUTS_APPLY,	/* delete what they name: a flattened rootfs */
	OCI_WHITEOUTS_OVERLAY,	/* 0:0 char devices and opaque xattrs: an overlayfs lowerdir */
	OCI_WHITEOUTS_KEEP,	/* .wh. files kept as plain files, as tar -xf does */
};

struct oci_untar_opts {
	enum oci_whiteouts whiteouts;
	/* OVERLAY: write user.overlay.opaque (a user namespace's overlayfs with
	 * "userxattr") instead of trusted.overlay.opaque (real root). */
	int user_xattrs;
};

/*
 * Extract one layer stream (tar, or tar compressed with gzip or zstd,
 * detected by content) read from layer_fd into the directory rootfd, as if
 * rootfd were "/": nothing outside it is created, changed or deleted.
 * digest/size (NULL / -1: not checked) are checked against the bytes as
 * read, diff_id (NULL: not checked) against the uncompressed tar; a
 * mismatch fails naming both digests.  Implemented in lib/untar.c.
 */
int oci_untar_fd(int rootfd, int layer_fd, const struct oci_untar_opts *o,
    const char *digest, int64_t size, const char *diff_id, struct oci_err *e);
/* oci_untar_fd for a stream and its checks as oci_layer_read takes them (its meter's words too). */
int oci_untar_src(int rootfd, const struct oci_layer_src *src, const struct oci_untar_opts *o,
    struct oci_err *e);
/*
 * One layer of a layout, named by its descriptor: its blob is extracted
 * with oci_untar_fd, checked against the descriptor's digest and size and
 * against diff_id (NULL: not checked).  Documents (a manifest, a config)
 * are refused; any other media type is read for what its bytes are.
 */
int oci_untar_layer(int rootfd, struct oci_layout *l, const json_t *desc,
    const char *diff_id, const struct oci_untar_opts *o, struct oci_err *e);
/* Every layer of img, bottom first, as oci_untar_layer, each checked against its diff_id. */
int oci_untar_image(int rootfd, struct oci_image *img, const struct oci_untar_opts *o,
    struct oci_err *e);
/*
 * A layer extracted once into a cache: the iterator's current layer (it,
 * from oci_layers_next; what names it on the progress line), checked
 * against its descriptor and diff_id, extracted into a new directory under
 * a temporary name beside name in dirfd (into its sub/ when sub is not
 * NULL), which t gets (oci_temp_new): the caller adds what else it keeps
 * there and renames it onto name with oci_temp_rename, so that a
 * half-extracted layer is never used.  On failure nothing is left.
 */
int oci_untar_temp(struct oci_layers *it, const char *what, int dirfd, const char *name,
    const char *sub, const struct oci_untar_opts *o, struct oci_temp *t, struct oci_err *e);

/* ----------------------------------------------------------------- diff.c */

/*
 * What each layer of an image changes, read from the tar listings alone
 * (oci_layer_read: nothing is extracted) into a model of the rootfs, one
 * node per path, with oci_untar_fd's rules.  A change is told by comparing
 * a path before and after the layer: "added" (not there before), "modified"
 * (there before, and the layer writes it again), "deleted" (there before,
 * gone after: a whiteout, an opaque directory, a directory replaced).
 */
enum oci_change_kind { OCI_CHANGE_ADDED, OCI_CHANGE_MODIFIED, OCI_CHANGE_DELETED };
enum oci_diff_type {
	OCI_DIFF_FILE, OCI_DIFF_DIR, OCI_DIFF_SYMLINK, OCI_DIFF_HARDLINK,
	OCI_DIFF_CHAR, OCI_DIFF_BLOCK, OCI_DIFF_FIFO,
};
/* "file", "dir", "symlink", "hardlink", "char", "block", "fifo" */
const char *oci_diff_type_name(enum oci_diff_type t);

struct oci_change {
	const char *path;		/* "/etc/motd" (valid during the callback) */
	enum oci_change_kind change;
	enum oci_diff_type type;	/* deleted: what it was */
	uint64_t size;			/* a file's (or hardlink's) bytes; 0 for the rest */
	unsigned layer;			/* the layer that changes it, 1 = bottom */
	unsigned from;			/* modified, deleted: the layer it came from */
	int inside;			/* deleted with its deleted parent: docker diff shows only the parent */
	int opaque;			/* deleted: hidden by its directory's opaque marker in this layer */
};
typedef int (*oci_change_fn)(const struct oci_change *c, void *arg, struct oci_err *e);

/* What one layer held and changed (inside deletions are not counted). */
struct oci_diff_counts {
	unsigned long added, modified, deleted, entries;
	uint64_t stored, tar;
	enum oci_compression comp;
};

struct oci_diff;
/* An empty rootfs; NULL when out of memory.  Free with oci_diff_free. */
struct oci_diff *oci_diff_new(void);
void oci_diff_free(struct oci_diff *d);
/*
 * The next layer, the stream src read and checked as oci_untar_fd checks
 * it (digest, size, diff_id: NULL / -1 for none).  When it is read, fn (may
 * be NULL) gets each of its changes in path order; n (may be NULL) the counts.
 * Names oci-untar refuses fail here too, naming the entry; an entry written
 * through a symlink is where oci-untar puts it (symlinks followed inside the
 * rootfs, as openat2's RESOLVE_IN_ROOT follows them).
 */
int oci_diff_layer(struct oci_diff *d, const struct oci_layer_src *src, oci_change_fn fn,
    void *arg, struct oci_diff_counts *n, struct oci_err *e);
/*
 * An overlayfs upper directory as one more layer on top: its 0:0 devices and
 * .wh. files are whiteouts, its opaque directories opaque.  Nothing in it is
 * followed (symlinks are read as symlinks).
 */
int oci_diff_upper(struct oci_diff *d, int dirfd, oci_change_fn fn, void *arg,
    struct oci_err *e);
/*
 * After the last layer: for each layer n (1 … the number of layers; both
 * arrays have room for one more), files[n] the bytes of the regular files
 * it ships (a hardlink group once) and wasted[n] those the rootfs never shows.
 */
void oci_diff_bytes(const struct oci_diff *d, uint64_t *files, uint64_t *wasted);
/* What oci_diff_image tells its caller on the way (each may be NULL). */
struct oci_diff_walk {
	/* before each layer: its number (from 1) and diff_id (NULL: the upper directory) */
	void (*before)(void *arg, size_t layer, const char *diff_id);
	oci_change_fn fn;		/* the changes of the image's layers */
	oci_change_fn upper_fn;		/* those of the upper directory */
	void *arg;
};
/*
 * The changes of an image: every layer of it (started with oci_layers_start),
 * bottom first, read into d with oci_diff_layer, then the upper directory
 * upperdir (NULL: none) with oci_diff_upper.  n: one struct per layer (it->n),
 * filled with each layer's counts.
 */
int oci_diff_image(struct oci_diff *d, struct oci_layers *it, const char *upperdir,
    const struct oci_diff_walk *w, struct oci_diff_counts *n, struct oci_err *e);
/*
 * Is path (cleaned, as oci_clean_path makes it) in the rootfs now?  Its
 * directory is found as oci-untar finds it, through symlinks: resolved (of
 * PATH_MAX + 1 bytes) gets the name that holds it ("/bin/sh" may be
 * "/usr/bin/sh").  1 and c's path, layer, type and size; 0 when it is not there.
 */
int oci_diff_find(struct oci_diff *d, const char *path, char *resolved, struct oci_change *c);
/* A path as JSON (caller decrefs): a name that is not UTF-8 gets "\xNN" for each byte >= 0x80. */
json_t *oci_json_path(const char *path);

/* ----------------------------------------------------------------- view.c */

/* oci-view's page: its template (with @CSP@, @CSS@, @JS@ and @DATA@ in it), style and script. */
struct oci_view_parts {
	const char *html, *css, *js;
	size_t html_len, css_len, js_len;
};
/*
 * The page, one self-contained file: the style and script inlined and
 * allowed by their sha256 in a Content-Security-Policy that allows nothing
 * else, and data as JSON with every '<', '>' and '&' written as a \u escape.
 */
int oci_view_page(FILE *out, const struct oci_view_parts *p, const json_t *data, struct oci_err *e);
/* The disk the files under path take (st_blocks), not crossing mounts; symlinks not followed. */
int oci_disk_usage(const char *path, uint64_t *bytes, struct oci_err *e);

/* ---------------------------------------------------------------- layer.c */

/* A layer made from a directory: both names of it, and its sizes. */
struct oci_layer {
	char digest[OCI_DIGEST_MAX];	/* of the gzip bytes: the blob, in the manifest */
	char diff_id[OCI_DIGEST_MAX];	/* of the tar inside: in the config's rootfs */
	uint64_t size;			/* gzip bytes */
	uint64_t tar_size;		/* tar bytes */
	uint64_t entries;
};

/*
 * Write the tree under dir as one tar+gzip layer blob into the layout,
 * streaming (one buffer at a time) and hashing both the tar and the gzip
 * bytes on the way.  Entries are sorted by name, owners numeric, mtimes
 * whole seconds and, when clamp >= 0 (SOURCE_DATE_EPOCH), no later than
 * clamp.  Hard links, symlinks, FIFOs, devices, modes and xattrs are kept.
 * An overlayfs upperdir is understood: a 0:0 character device becomes
 * ".wh.NAME", an opaque directory gets ".wh..wh..opq", and overlayfs'
 * own xattrs are left out.  dir itself is not an entry.
 */
int oci_layer_write(struct oci_layout *l, const char *dir, int64_t clamp,
    struct oci_layer *out, struct oci_err *e);

/* ---------------------------------------------------------------- build.c */

/* SOURCE_DATE_EPOCH: 1 and *t when set, 0 when unset, -1 when not a second of 1970..9999. */
int oci_source_date_epoch(int64_t *t, struct oci_err *e);

/*
 * An image being built on top of another (oci-commit, oci-config): copies
 * of the base's config and layer list to edit.  Nothing is written to the
 * layout until oci_build_commit.  The result always has OCI media types
 * (a Docker base is converted).
 */
struct oci_build {
	struct oci_layout *layout;
	char *tag;		/* the tag the result gets */
	json_t *config;		/* the new config */
	json_t *layers;		/* the new manifest's layer descriptors, bottom first */
	json_t *annotations;	/* the base manifest's, or NULL */
	char created[32];	/* RFC 3339, from SOURCE_DATE_EPOCH or the clock */
};

/*
 * Start from IMAGE.  scratch_ok: a layout or tag that does not exist yet
 * means FROM scratch (an empty config for this machine; the layout is made
 * if missing).  The result will be tagged newtag, else IMAGE's tag, else
 * "latest".  Its blobs are provisional (struct oci_layout): they stay only
 * once oci_build_commit's index.json names them.  Free with oci_build_free.
 */
int oci_build_open(const char *image, const char *newtag, int scratch_ok,
    struct oci_build **b, struct oci_err *e);
void oci_build_free(struct oci_build *b);
/* Add a layer: its diff_id, its descriptor and a history entry saying created_by. */
int oci_build_add_layer(struct oci_build *b, const struct oci_layer *layer,
    const char *created_by, struct oci_err *e);
/*
 * Edits of the config's runtime settings.  Each adds a history entry with
 * empty_layer, worded as buildah and docker do ("/bin/sh -c #(nop) ENV K=V").
 *   env:    "K=V" sets K; unset: "K" removes it.   label: the same for Labels.
 *   argv:   field "Entrypoint" or "Cmd"; one "" (or n = 0) removes it; one
 *           argument that is a JSON array of strings is the whole list.
 *   string: field "WorkingDir" or "User"; "" removes it.
 */
int oci_build_env(struct oci_build *b, const char *kv, int unset, struct oci_err *e);
int oci_build_label(struct oci_build *b, const char *kv, int unset, struct oci_err *e);
int oci_build_argv(struct oci_build *b, const char *field, char *const *argv,
    size_t n, struct oci_err *e);
int oci_build_string(struct oci_build *b, const char *field, const char *value,
    struct oci_err *e);
/* Store the config and the manifest, tag the manifest, write its descriptor line to out. */
int oci_build_commit(struct oci_build *b, FILE *out, struct oci_err *e);

/* ----------------------------------------------------------------- http.c */

/*
 * How every request to a registry is made and its reply read: pulls,
 * pushes, the token service and the probes all go by these rules.  A
 * libcurl handle is a void * and a libcurl error an int here, to keep
 * curl.h out of oci.h.
 */

/* TLS for every connection: registry, token service, redirects. */
struct oci_tls {
	int insecure;		/* --insecure: accept any certificate */
	const char *cacert;	/* --cacert FILE, or NULL for the system's CAs */
};
/* Apply tls to a libcurl easy handle (a CURL *). */
void oci_tls_apply(void *curl, const struct oci_tls *tls);
/*
 * The options every easy handle to a registry has: no signals, the user
 * agent ("oci-fetch/0.1.0"), http and https only (redirects too), a
 * connection within timeout seconds (--timeout, > 0), and tls unless it is
 * NULL (a probe that believes nothing).
 */
void oci_http_easy(void *curl, const char *agent, const struct oci_tls *tls, double timeout);
/* The value of header name (any case) in one raw header line, trimmed and malloc'd; NULL when the line is another header. */
char *oci_http_header(const char *line, size_t len, const char *name);
/* A Retry-After value (RFC 9110: delay-seconds or an HTTP-date) in seconds from now; -1 when unreadable. */
double oci_http_retry_after(const char *value);
/*
 * The registry's own words in an error body {"errors":[{"code":…,"message":…}]}:
 * ": CODE message" into buf, escaped (they are untrusted), or "" when
 * there are none.  Returns buf.
 */
const char *oci_http_words(const char *body, char *buf, size_t cap);
/* What a reply's status asks for: the credentials were refused (401, 403), try again (429, 5xx), or neither. */
enum oci_http_class { OCI_HTTP_OTHER, OCI_HTTP_DENIED, OCI_HTTP_AGAIN };
enum oci_http_class oci_http_class(long code);
/* Is res (a CURLcode) a libcurl error that trying again cannot help: TLS, DNS, a refused connection, a bad URL, a reply that is not HTTP? */
int oci_http_final(int res);
/*
 * The one wait before trying again, for pulls and pushes: the registry's
 * Retry-After when it sent one (retry_after >= 0), else 0.25 s doubled
 * after each of the failed attempts; at most max_wait either way.  -1 when
 * the registry asks for longer than timeout (--timeout): a refusal, not a
 * wait.
 */
double oci_http_wait(double retry_after, int failed, double max_wait, double timeout);
/* A request is tried at most this many times. */
#define OCI_ATTEMPTS 6
/* -v: a RateLimit-* (or Docker-RateLimit-Source) header line, said as it came. */
void oci_say_ratelimit(const char *line, size_t len);

/* -------------------- source.c auth.c creds.c registry.c transfer.c pull.c */

/*
 * Pulling from a registry: the Docker Registry HTTP API V2, which the OCI
 * distribution-spec standardised.  A SOURCE names an image in a registry
 * the way docker and skopeo parse it: [docker://][REGISTRY/]REPO[:TAG][@DIGEST].
 * "busybox" is docker.io/library/busybox:latest, and docker.io is served
 * at registry-1.docker.io.
 */
struct oci_source {
	char *registry;	/* "docker.io", "127.0.0.1:5000": the name auth files use */
	char *host;	/* where to connect: "registry-1.docker.io", "127.0.0.1:5000" */
	char *repo;	/* "library/busybox" */
	char *tag;	/* "latest" when neither tag nor digest is given; NULL with only a digest */
	char *digest;	/* NULL when none; checked with oci_digest_check */
};
/* A bad reference is -1 with the reason (a usage error in a program). */
int oci_source_parse(const char *arg, struct oci_source *src, struct oci_err *e);
void oci_source_free(struct oci_source *src);
/* Is host[:port] this machine (localhost, 127.0.0.0/8, ::1)? */
int oci_host_is_loopback(const char *host);
/* Is host[:port] a registry host: DNS labels, IPv4, or [IPv6], and a port up to 65535? */
int oci_host_check(const char *host, struct oci_err *e);
/* Is tag a tag (distribution-spec: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127})?  0, or -1 with why not.
 * The one rule for a registry's tags and a layout's (org.opencontainers.image.ref.name). */
int oci_tag_check(const char *tag, struct oci_err *e);

/* A WWW-Authenticate challenge (RFC 7235) with the parameters registries use
 * (public for tests/fuzz: the challenge is untrusted text). */
struct oci_challenge {
	char scheme[16];	/* "Bearer" or "Basic" */
	char *realm, *service, *scope;	/* NULL when absent */
};
int oci_challenge_parse(const char *header, struct oci_challenge *c, struct oci_err *e);
void oci_challenge_free(struct oci_challenge *c);

/*
 * Credentials for registry (repo narrows the match, as containers-auth.json
 * allows) from the first of: authfile, $REGISTRY_AUTH_FILE,
 * $XDG_RUNTIME_DIR/containers/auth.json, ~/.docker/config.json (or
 * $DOCKER_CONFIG/config.json), each with its credential helpers (creds.c).
 * Returns 1 and sets *user and *pass (caller frees), 0 when no file names
 * the registry, -1 when a file is unreadable or malformed or a helper
 * fails.  An identity token (an OAuth2 refresh token) comes back as user
 * OCI_IDENTITY_TOKEN_USER with the token as *pass, as credential helpers
 * return it.
 */
#define OCI_IDENTITY_TOKEN_USER "<token>"
int oci_creds_find(const char *registry, const char *repo, const char *authfile,
    char **user, char **pass, struct oci_err *e);

/* Credentials and cached tokens for one registry.  Free with oci_auth_free. */
struct oci_auth;
struct oci_auth *oci_auth_new(const char *user, const char *pass, const struct oci_tls *tls);
void oci_auth_free(struct oci_auth *a);
/* "Authorization: …" for scope, or NULL when there is none (or it expired). Borrowed. */
const char *oci_auth_header(struct oci_auth *a, const char *scope);
/*
 * Answer a 401's WWW-Authenticate: Bearer asks the realm for a token for
 * scope (with the credentials, if any; the token service must answer
 * within timeout seconds) and caches it for expires_in seconds; Basic
 * sends the credentials (an error when there are none).
 */
int oci_auth_answer(struct oci_auth *a, const char *challenge, const char *scope,
    double timeout, struct oci_err *e);

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

struct oci_registry_opts {
	int plain_http;		/* --plain-http: never try TLS */
	int http_fallback;	/* plain HTTP when the port does not speak TLS, as for loopback */
	struct oci_tls tls;
	const char *user, *pass;	/* NULL: from the auth files */
	const char *authfile;	/* --authfile, or NULL */
	int jobs;		/* parallel downloads, >= 1 */
	double timeout;		/* --timeout seconds; 0: OCI_TIMEOUT_DEFAULT */
	/* Called as blobs download or upload (NULL: never); oci_meter_blobs draws it. */
	void (*progress)(void *arg, const struct oci_progress *p);
	void *progress_arg;
};

/*
 * One repository of one registry, reached: open says hello (GET /v2/),
 * settles HTTPS or plain HTTP and answers an auth challenge.  Every request
 * is retried with bounded backoff on 5xx, 429 (Retry-After) and dropped
 * connections ($OCI_FETCH_MAX_WAIT caps any one wait, in seconds; default
 * 10), resuming blobs with a Range request.  The timeout bounds every
 * wait: reply headers, a whole document with its retries, a stalled body,
 * a Retry-After.  src is borrowed.
 */
#define OCI_TIMEOUT_DEFAULT 30.0
struct oci_registry;
int oci_registry_open(const struct oci_source *src, const struct oci_registry_opts *o,
    struct oci_registry **r, struct oci_err *e);
void oci_registry_close(struct oci_registry *r);
/*
 * GET /v2/<repo>/manifests/<ref> (a tag or a digest), at most OCI_DOC_MAX
 * bytes.  *buf and *media_type are malloc'd; digest gets the bytes'
 * digest, which must equal ref when ref is a digest and the registry's
 * Docker-Content-Digest when it sends one.
 */
int oci_registry_manifest(struct oci_registry *r, const char *ref, char **buf, size_t *len,
    char **media_type, char digest[OCI_DIGEST_MAX], struct oci_err *e);
/*
 * Stream one blob to fd while hashing it (size < 0: any).  The bytes are
 * written before they can be checked: -1 at the end means the reader must
 * throw them away.
 */
int oci_registry_blob_fd(struct oci_registry *r, const char *digest, int64_t size, int fd,
    struct oci_err *e);
/*
 * Download the blobs that descs (a JSON array of descriptors) name into l,
 * -j at a time; blobs already there are skipped, and each is verified by
 * the blob writer before it gets its name.
 */
int oci_registry_blobs(struct oci_registry *r, struct oci_layout *l, const json_t *descs,
    struct oci_err *e);

/*
 * For lib/push_req.c, which sends requests of its own to the registry open
 * reached: the base URL it settled on ("https://host:port"), the
 * credentials and tokens, and the options.  All borrowed.
 */
const char *oci_registry_base(const struct oci_registry *r);
struct oci_auth *oci_registry_auth(const struct oci_registry *r);
const struct oci_registry_opts *oci_registry_options(const struct oci_registry *r);
/*
 * The one retry rule, for pulls and pushes (oci_http_wait with r's
 * limits): before attempt failed+1, wait as the registry asked
 * (retry_after, from Retry-After; -1 when none), else 0.25 s doubled after
 * each failure; at most $OCI_FETCH_MAX_WAIT seconds (10 when unset).  -1
 * when the registry asks for longer than --timeout.
 */
double oci_registry_wait(const struct oci_registry *r, double retry_after, int failed);
/* What a manifest request accepts: OCI and Docker manifests and indexes. */
#define OCI_MANIFEST_ACCEPT "Accept: " OCI_MT_INDEX ", " OCI_MT_MANIFEST ", " \
    OCI_MT_DOCKER_LIST ", " OCI_MT_DOCKER_MANIFEST

struct oci_pull_opts {
	const struct oci_platform *platform;	/* NULL: this machine's */
	int all;		/* keep the index and every platform's blobs */
	const char *tag;	/* the tag in index.json; NULL: none */
};
/*
 * Pull src into l: the manifest (through an index to the platform), then
 * config and layers, then the manifests themselves, and index.json last,
 * so that it never points at a blob that is not in place.  *stored gets
 * the descriptor written to index.json (caller decrefs).
 */
int oci_pull(struct oci_registry *r, const struct oci_source *src, struct oci_layout *l,
    const struct oci_pull_opts *o, json_t **stored, struct oci_err *e);

/* ----------------------------------------------------------------- push.c */

struct oci_push_opts {
	const struct oci_platform *platform;	/* an index without all: NULL means this machine's */
	int all;		/* push the whole index and every platform */
	const char *mount_from;	/* a repository of the same registry that has the blobs, or NULL */
	int64_t chunk;		/* > 0: blobs bigger than this go up in PATCH requests of this size */
};
/*
 * Push the image that desc (a descriptor of l's index.json) names to dest's
 * repository, as distribution-spec "Push" describes: every blob first (a
 * HEAD skips those already there; with mount_from a POST asks the registry
 * to mount it from that repository; else an upload, -j at a time), then
 * the manifests, children of an index before the index, and last the
 * manifest under dest's tag (or its digest).  *pushed gets the descriptor
 * of what the tag names (caller decrefs).
 */
int oci_push(struct oci_registry *r, const struct oci_source *dest, struct oci_layout *l,
    const json_t *desc, const struct oci_push_opts *o, json_t **pushed, struct oci_err *e);
/*
 * What a push of desc sends: blobs gets every config and layer descriptor
 * (repeats included), manifests every manifest and index, children before
 * the index that names them; *top (borrowed from manifests) is the one the
 * tag names.  An index is followed to o's platform unless o->all.
 */
int oci_push_plan(struct oci_layout *l, const json_t *desc, const struct oci_push_opts *o,
    json_t *blobs, json_t *manifests, const json_t **top, struct oci_err *e);

/* ------------------------- archive.c, archive_write.c, archive_member.c */

/*
 * Image archives: docker-archive:FILE[:REF] (what docker save and podman
 * save write; REF a RepoTag or "@N") and oci-archive:FILE[:TAG] (an OCI
 * layout as one tar, as skopeo names them).  The file name ends at the
 * first ':', as skopeo reads it.
 */
enum oci_archive_kind { OCI_ARCHIVE_DOCKER, OCI_ARCHIVE_OCI };
struct oci_archive_ref {
	enum oci_archive_kind kind;
	char *file;
	char *ref;	/* REF or TAG; NULL when none */
};
/* 1 and *a filled when arg names an archive, 0 when it does not, -1 when it is malformed. */
int oci_archive_parse(const char *arg, struct oci_archive_ref *a, struct oci_err *e);
void oci_archive_ref_free(struct oci_archive_ref *a);
/*
 * Read the archive in one pass into l (no copy of it is made; memory stays
 * bounded): a docker archive's layers are gzipped and their diff_ids checked
 * against its config, and an OCI manifest written; an OCI archive's blobs
 * are checked against their names.  Nothing gets a blob's name before the
 * whole image is checked, and blobs the image does not use are left out.
 * The image is tagged tag, else the archive's own tag.  *stored gets its
 * descriptor (caller decrefs).
 */
int oci_archive_import(const struct oci_archive_ref *a, struct oci_layout *l, const char *tag,
    const struct oci_platform *platform, int all, json_t **stored, struct oci_err *e);
/*
 * Write the image desc names in l as the archive a names: a temporary file
 * beside it, renamed when complete.  A docker archive holds one manifest
 * (an index is followed to platform) in Docker's classic layout, each
 * layer an uncompressed tar checked against its diff_id; an OCI archive
 * the whole image (with all, every platform of an index).  *written gets
 * the descriptor of what it holds (caller decrefs).
 */
int oci_archive_export(struct oci_layout *l, const json_t *desc, const char *tag,
    const struct oci_archive_ref *a, const struct oci_push_opts *o, json_t **written,
    struct oci_err *e);
/* The diff_id of a layer blob of l: the digest of its tar, inflated when gzip or zstd. */
int oci_layer_diff_id(struct oci_layout *l, const char *digest, char out[OCI_DIGEST_MAX],
    struct oci_err *e);

/* ------------------------ ns.c rootfs.c procfs.c passwd.c process.c overlay.c */

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

/* -------------------------------------------------------------- overlay.c */

/*
 * overlayfs (overlay.c).  lower is top layer first, as overlayfs wants it;
 * upper and work may be NULL (a read-only mount).  userxattr: mount with
 * "userxattr" (inside a user namespace: user.overlay.* xattrs).
 */
struct oci_overlay {
	char **lower;
	size_t nlower;
	char *upper, *work, *merged;
	char *dir;	/* oci_overlay_layers' DIR, for short links in DIR/l (or NULL) */
	/* A store's container (store.c): the lower directories' short links
	 * ("l/…", relative to dir, one per lower), and the container id; NULL
	 * for oci_overlay_layers and a hand-made mount. */
	char **links;
	char *id;
	int userxattr;
};
/* May this process mount overlayfs?  The error says why not (privilege, no overlayfs). */
int oci_overlay_can_mount(struct oci_err *e);
/*
 * Mount with fsconfig(2), one "lowerdir+" per layer (Linux 6.8), so that
 * many layers fit.  Without it (or with OCI_OVERLAY_NO_LOWERDIR_PLUS=1 in
 * the environment) mount(2) gets one option string of at most a page, from
 * inside o->dir with short links in o->dir/l when o->dir is set.  The
 * mount is registered with lib/undo.c: a run that does not end well
 * (oci_undo_keep_all) takes it down again.
 */
int oci_overlay_mount(const struct oci_overlay *o, const char *merged, struct oci_err *e);
/*
 * The same mount as a mount(8) command line, quoted for sh; with o->dir's
 * short links when oci_overlay_mount would use them or the line would not
 * fit mount(2)'s page ("cd DIR && mount …").  Caller frees; NULL on error.
 */
char *oci_overlay_mount_line(const struct oci_overlay *o, const char *merged, struct oci_err *e);
int oci_overlay_umount(const char *path, struct oci_err *e);
/* 1 when path is the root of a mount in this mount namespace, else 0. */
int oci_overlay_is_mounted(const char *path);
/*
 * Each layer of img extracted once into dir/layers/<diff_id hex> with
 * overlay whiteouts (oci_untar_fd, OCI_WHITEOUTS_OVERLAY; user_xattrs as in
 * struct oci_untar_opts), reused when it is there already; dir/upper,
 * dir/work and dir/merged made.  o gets absolute paths; free with oci_overlay_free.
 */
int oci_overlay_layers(struct oci_image *img, const char *dir, int user_xattrs,
    struct oci_overlay *o, struct oci_err *e);
void oci_overlay_free(struct oci_overlay *o);
/*
 * {"Name":"overlay","Data":{"LowerDir":"a:b","UpperDir":…,"WorkDir":…,"MergedDir":…}},
 * as docker inspect's GraphDriver ("overlay2" for a store's container).
 */
json_t *oci_overlay_graphdriver(const struct oci_overlay *o);

/* ----------------------------------- store.c, store_layer.c, store_link.c */

/*
 * A store of containers that share their image layers, laid out like
 * docker's overlay2 directory (store.c says how and where it differs):
 *
 *   STORE/<chain id hex>/{diff/,link,lower}     an image layer, extracted once
 *   STORE/<id>-init/{diff/,link,lower,work/}    a container's init layer
 *   STORE/<id>/{diff/,link,lower,work/,merged/} its writable layer and its mount
 *   STORE/l/<26 letters and digits>             -> ../<dir>/diff, one per layer
 *   STORE/containers/<id>/config.json           {"ID","Name","Image","Layers"}
 *   STORE/xattrs                                which overlayfs xattrs the layers carry
 *
 * Every change to the store is made holding flock(2) on STORE itself.
 */
struct oci_store_opts {
	const char *image;	/* IMAGE as the user named it, for config.json */
	int user_xattrs;	/* as struct oci_untar_opts */
};
/*
 * Container name over img in store (made if missing): each layer of img
 * extracted unless the store has it, then name's init and writable layers.
 * A container of that name made from the same image already is reused
 * (its upper kept).  *o is ready for oci_overlay_mount(o, o->merged);
 * free with oci_overlay_free.
 */
int oci_store_create(const char *store, struct oci_image *img, const char *name,
    const struct oci_store_opts *so, struct oci_overlay *o, struct oci_err *e);
/* The container name (or its id, or a unique prefix of it) as an overlay. */
int oci_store_container(const char *store, const char *name, struct oci_overlay *o,
    struct oci_err *e);
/* Unmount the container if mounted here, then remove it; its layers stay. */
int oci_store_remove(const char *store, const char *name, struct oci_err *e);
/*
 * What the store holds, one object each: containers
 * {"container":NAME,"id":…,"image":…,"mounted":bool,"lower":["<dir>",…]} and
 * layers {"layer":"<dir>","link":"l/…","lower":"l/…:…","diff_id":…,"used_by":[NAME…]}.
 * Caller frees (json_decref).
 */
json_t *oci_store_list(const char *store, struct oci_err *e);
/*
 * The hostname of a store's container, for a runtime to set: the first 12
 * hex digits of its id, as docker's default hostname, when dir is its
 * merged directory (STORE/<id>/merged).  0 with out set; -1 when dir is not one.
 */
int oci_store_hostname(const char *dir, char out[13]);

/* ----------------------------------------------------- regconf.c, mirror.c */

/*
 * registries.conf (containers-registries.conf(5), version 2): the
 * [[registry]] tables and their [[registry.mirror]] tables; every other key
 * is read past.  pull_from is pull-from-mirror.
 */
enum { OCI_PULL_FROM_ALL, OCI_PULL_FROM_DIGEST, OCI_PULL_FROM_TAG };
struct oci_regconf_mirror {
	char *location;		/* host[:port][/namespace...] */
	int insecure, pull_from;
};
struct oci_regconf_registry {
	char *prefix, *location;	/* either may be NULL, not both */
	int insecure, blocked;
	int digest_only;	/* mirror-by-digest-only */
	struct oci_regconf_mirror *mirrors;
	size_t nmirrors;
};
struct oci_regconf {
	struct oci_regconf_registry *reg;
	size_t nreg;
	char *path;		/* the file read, or NULL when there was none */
};
/* Parse buf (name is the file, for messages: "NAME:LINE: what is wrong"). Free with oci_regconf_free. */
int oci_regconf_parse(const char *buf, size_t len, const char *name, struct oci_regconf *c,
    struct oci_err *e);
/*
 * Read the first of $CONTAINERS_REGISTRIES_CONF (which must exist),
 * ~/.config/containers/registries.conf, /etc/containers/registries.conf;
 * none there is an empty configuration.
 */
int oci_regconf_load(struct oci_regconf *c, struct oci_err *e);
void oci_regconf_free(struct oci_regconf *c);

/* One place to pull an image from: a mirror, or the origin. */
struct oci_endpoint {
	struct oci_source src;	/* the image's name in that place */
	int insecure;		/* registries.conf insecure = true */
	int http_fallback;	/* plain HTTP when its port does not speak TLS (--mirror, insecure) */
	char what[4200];	/* "--mirror", "a mirror in FILE", "the origin" */
};
/*
 * The places to try for src, in order: mirror (--mirror HOST[:PORT], or
 * NULL), the mirrors registries.conf c gives it (c may be NULL), and the
 * origin last.  A blocked [[registry]] is an error.  Free with oci_endpoints_free.
 */
int oci_endpoints(const struct oci_source *src, const char *mirror, const struct oci_regconf *c,
    struct oci_endpoint **eps, size_t *n, struct oci_err *e);
void oci_endpoints_free(struct oci_endpoint *eps, size_t n);
/*
 * What to do with one place: 0 done; -1 failed (the next place is tried);
 * -2 failed so that no other place may try again (bytes already went out).
 */
typedef int (*oci_endpoint_op)(struct oci_registry *r, const struct oci_source *src, void *arg,
    struct oci_err *e);
/*
 * Read registries.conf, then open each place for src in turn and call op
 * there, until one succeeds; a mirror that fails is a warning, the
 * origin's failure the error.  -v says which place served.
 */
int oci_pull_through(const struct oci_source *src, const char *mirror,
    const struct oci_registry_opts *o, oci_endpoint_op op, void *arg, struct oci_err *e);

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

#endif /* OCI_H */
