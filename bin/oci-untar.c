/*
 * oci-untar — a layer's tarball becomes files.
 *
 * image-spec layer.md (changesets and whiteouts) and config.md
 * (rootfs.diff_ids): the layers of an image, bottom first, are extracted
 * into DIR as if DIR were "/".  Each layer is checked while it streams: its
 * stored bytes against the manifest's digest and size, its tar against the
 * config's diff_id.
 *
 *     oci-untar -C rootfs bb:latest
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

/* The SYNOPSIS; exits 0 (-h, on stdout) or 2 (a usage error, on stderr). */
static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f,
	    "usage: oci-untar [-qv] [-p OS/ARCH[/VARIANT]] [--whiteouts=MODE] -C DIR IMAGE\n"
	    "       oci-untar [-qv] [--whiteouts=MODE] -C DIR LAYOUT < DESCRIPTORS\n"
	    "       oci-untar [-qv] [--whiteouts=MODE] -C DIR -f FILE|-\n"
	    "  MODE: apply (default), overlay or keep\n");
	exit(f == stdout ? 0 : 2);
}

/* Every layer of IMAGE, bottom first, each with its diff_id. */
static int
untar_image(int rootfd, const struct oci_ref *ref, const struct oci_platform *plat,
    const struct oci_untar_opts *o, struct oci_err *e)
{
	struct oci_image *img;
	int rc;

	if (oci_image_open_ref(ref, plat, &img, e) < 0)
		return -1;
	rc = oci_untar_image(rootfd, img, o, e);
	oci_image_free(img);
	return rc;
}

/* The layer descriptors on stdin, in order (digests only: no config to give diff_ids). */
static int
untar_stdin(int rootfd, const char *path, const struct oci_untar_opts *o, struct oci_err *e)
{
	struct oci_layout *l;
	json_t *desc;
	int n = 0, r;

	if (oci_layout_open(path, &l, e) < 0)
		return -1;
	while ((r = oci_desc_read(stdin, &desc, e)) > 0) {
		n++;
		r = oci_untar_layer(rootfd, l, desc, NULL, o, e);
		json_decref(desc);
		if (r < 0)
			break;
	}
	oci_layout_close(l);
	if (r == 0 && n == 0)
		return oci_fail(e, "no layer descriptors on stdin (give LAYOUT:TAG to extract an image)");
	return r;
}

static int
untar_file(int rootfd, const char *file, const struct oci_untar_opts *o, struct oci_err *e)
{
	int fd, rc;

	fd = strcmp(file, "-") == 0 ? STDIN_FILENO : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return oci_fail_errno(e, "%s", file);
	rc = oci_untar_fd(rootfd, fd, o, NULL, -1, NULL, e);
	if (fd != STDIN_FILENO)
		close(fd);
	return rc < 0 ? oci_context(e, "%s", file) : 0;
}

/* What the command line asks for. */
struct args {
	const char *dir;		/* -C DIR */
	const char *file;		/* -f FILE, or NULL */
	struct oci_ref ref;		/* IMAGE or LAYOUT, without -f */
	struct oci_platform plat, *platform;	/* -p */
	struct oci_untar_opts o;	/* --whiteouts */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_WHITEOUTS = 0x100 };
	static const struct option longopts[] = {
		{ "directory", required_argument, NULL, 'C' },
		{ "file", required_argument, NULL, 'f' },
		{ "platform", required_argument, NULL, 'p' },
		{ "whiteouts", required_argument, NULL, OPT_WHITEOUTS },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *pflag = NULL;
	int c;

	a->o.whiteouts = OCI_WHITEOUTS_APPLY;
	while ((c = oci_getopt(argc, argv, "C:f:p:hvq", longopts, usage)) != -1) {
		switch (c) {
		case 'C': a->dir = optarg; break;
		case 'f': a->file = optarg; break;
		case 'p': pflag = optarg; break;
		case OPT_WHITEOUTS:
			if (strcmp(optarg, "apply") == 0)
				a->o.whiteouts = OCI_WHITEOUTS_APPLY;
			else if (strcmp(optarg, "overlay") == 0)
				a->o.whiteouts = OCI_WHITEOUTS_OVERLAY;
			else if (strcmp(optarg, "keep") == 0)
				a->o.whiteouts = OCI_WHITEOUTS_KEEP;
			else
				oci_usage_error("--whiteouts: \"%s\" is not apply, overlay or keep", optarg);
			break;
		}
	}
	if (a->dir == NULL || argc - optind != (a->file ? 0 : 1))
		usage(stderr);
	if (a->file == NULL)
		oci_cli_ref(argv[optind], &a->ref);
	a->platform = oci_cli_platform(pflag, &a->plat);
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };
	struct oci_err e;
	int rootfd, rc;

	parse_args(argc, argv, &a);
	/* In a user namespace overlayfs honours only user.overlay.* ("userxattr"). */
	a.o.user_xattrs = oci_overlay_user_xattrs();
	/* A progress line for people at a terminal, as oci-fetch draws. */
	oci_progress = oci_cli_progress();

	/* A DIR this run makes is removed again if it fails or is interrupted. */
	if (oci_undo_mkdir(a.dir, 0755, &e) < 0)
		errx(1, "%s", e.msg);
	rootfd = open(a.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		err(1, "%s", a.dir);

	if (a.file)
		rc = untar_file(rootfd, a.file, &a.o, &e);
	/* A bare LAYOUT reads descriptors from stdin, unless that is a terminal. */
	else if (a.ref.tag || a.ref.digest || isatty(STDIN_FILENO))
		rc = untar_image(rootfd, &a.ref, a.platform, &a.o, &e);
	else
		rc = untar_stdin(rootfd, a.ref.layout, &a.o, &e);
	oci_ref_free(&a.ref);
	close(rootfd);
	if (rc < 0)
		errx(1, "%s", e.msg);
	return oci_cli_done(0);
}
