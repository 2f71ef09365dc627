/*
 * lib/archive/archive_reader.h — what lib/archive/archive.c, lib/archive/archive_docker.c and
 * lib/archive/archive_member.c share, and no other file: the files of an archive as
 * lib/archive/archive.c took them.  Not part of the library's interface (that is
 * lib/oci.h).
 */
#ifndef OCI_ARCHIVE_READER_H
#define OCI_ARCHIVE_READER_H

#include "archive.h"

/* One file of the archive. */
struct member {
	char *name;		/* normalised: no "./", no trailing "/" */
	char *link;		/* a symlink or hard link: the member it stands for */
	char *mem;		/* a document's bytes (NUL-terminated), or NULL */
	size_t len;
	struct oci_blob_writer *w;	/* a blob waiting for its name, or NULL */
	char digest[OCI_DIGEST_MAX];	/* of the blob as stored */
	char diff_id[OCI_DIGEST_MAX];	/* a docker layer: of the tar as the archive had it */
	uint64_t size;			/* of the blob as stored */
	int layer;			/* a docker layer that we compressed */
	enum oci_compression comp;	/* as the archive has it */
	int used;
};

struct reader {
	enum oci_archive_kind kind;
	struct oci_layout *l;
	struct member *m;
	size_t n;
	size_t docs;		/* bytes kept in memory */
};

/* archive_member.c: the files as they were taken. */
/* A member's name, made plain ("./a//b/" -> "a/b"); NULL (e filled) when it has ".." or is absolute. */
char *oci_archive_clean_name(const char *raw, struct oci_err *e);
/*
 * The member a symlink called name with target stands for, read from name's
 * directory and made plain; NULL (e filled) when it leads out of the archive.
 */
char *oci_archive_link_target(const char *name, const char *target, struct oci_err *e);
/* The member called name, links followed; NULL when the archive has none. */
struct member *oci_archive_find(struct reader *r, const char *name);
/* Give the blobs the image uses their names; the others are thrown away. */
int oci_archive_commit_used(struct reader *r, struct oci_err *e);

/*
 * archive_docker.c: the image of a docker archive that ref picks, as a
 * config and an OCI manifest; *stored gets the manifest's descriptor,
 * *repotag (the caller frees it) its first RepoTag, or NULL.
 */
int oci_archive_docker_image(struct reader *r, const char *ref, json_t **stored, char **repotag,
    struct oci_err *e);

#endif
