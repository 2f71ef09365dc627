/*
 * lib/image/image.h — the image wing: what an image is made of: media
 * types, descriptors, platforms, names (IMAGE, SOURCE, tags), the layout,
 * index.json, resolving IMAGE to a manifest.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/image/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_IMAGE_H
#define OCI_IMAGE_H

#include "base/base.h"

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
/* The file it writes, for a reader that follows it (never to write to, or close). */
int oci_blob_writer_fd(const struct oci_blob_writer *w);
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

/* --------------------------------------------------------------- source.c */

/*
 * A SOURCE names an image in a registry the way docker and skopeo parse it:
 * [docker://][REGISTRY/]REPO[:TAG][@DIGEST].  "busybox" is
 * docker.io/library/busybox:latest, and docker.io is served at
 * registry-1.docker.io.
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

#endif /* OCI_IMAGE_H */
