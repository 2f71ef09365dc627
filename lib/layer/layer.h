/*
 * lib/layer/layer.h — the layer wing: a layer as a stream and as files:
 * decompressing, tar entries, paths inside a root, untar, whiteouts,
 * diffs, writing a layer, builds, the view page.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/layer/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_LAYER_H
#define OCI_LAYER_H

#include "image/image.h"

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
	/*
	 * grows 1: fd is a file still being written (a download, read as it
	 * lands).  At its end the reader waits on the pipe wake_fd, whose
	 * writer sends a byte when more is there and closes it when no more
	 * will come; only then is the end of fd the end of the stream.
	 */
	int grows, wake_fd;
	uint64_t *progress;	/* may be NULL: bytes read so far, stored as they are read */
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
 * mismatch fails naming both digests.  Implemented in lib/layer/untar.c.
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
 * Start from IMAGE (image as given, for messages; ref, as parsed with
 * oci_ref_parse, borrowed).  scratch_ok: a layout or tag that does not exist yet
 * means FROM scratch (an empty config for this machine; the layout is made
 * if missing).  The result will be tagged newtag, else IMAGE's tag, else
 * "latest".  Its blobs are provisional (struct oci_layout): they stay only
 * once oci_build_commit's index.json names them.  Free with oci_build_free.
 */
int oci_build_open(const char *image, const struct oci_ref *ref, const char *newtag,
    int scratch_ok, struct oci_build **out, struct oci_err *e);
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

#endif /* OCI_LAYER_H */
