/*
 * lib/archive/archive.h — the archive wing: docker-archive and oci-archive
 * tarballs, read and written.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/archive/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_ARCHIVE_H
#define OCI_ARCHIVE_H

#include "registry/registry.h"

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

#endif /* OCI_ARCHIVE_H */
