/*
 * oci-commit — a directory becomes a new layer on top of an image.
 *
 * What `buildah commit` and `docker commit` do: the files in DIR (a tree,
 * or the upperdir of an overlay mount: a container's changes) are written
 * as one tar+gzip layer (image-spec layer.md), the config gets the layer's
 * diff_id and a history entry (config.md), a new manifest lists the base's
 * layers and the new one (manifest.md), and the tag moves to it.
 *
 *     oci-commit -m 'apk add curl' ctr/upper alpine:latest curl
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f, "usage: oci-commit [-qv] [-m CREATED_BY] DIR IMAGE [NEWTAG]\n");
	exit(f == stdout ? 0 : 2);
}

/* What the command line asks for. */
struct args {
	const char *created_by;		/* -m */
	const char *dir, *image, *newtag;	/* DIR IMAGE [NEWTAG] */
	struct oci_ref ref;			/* IMAGE, parsed */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		OCI_COMMON_LONGOPTS,
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_err e;
	int c;

	a->created_by = "oci-commit";
	while ((c = oci_getopt(argc, argv, "hm:qv", longopts, usage)) != -1) {
		switch (c) {
		case 'm': a->created_by = optarg; break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3 || (argc == 3 && argv[2][0] == '\0'))
		usage(stderr);
	a->dir = argv[0];
	a->image = argv[1];
	a->newtag = argc == 3 ? argv[2] : NULL;
	oci_cli_ref(a->image, &a->ref);
	if (a->newtag && oci_tag_check(a->newtag, &e) < 0)
		oci_usage_error("NEWTAG %s: %s", a->newtag, e.msg);
}

int
main(int argc, char *argv[])
{
	struct oci_build *b = NULL;
	struct oci_layer layer;
	struct args a = { 0 };
	struct oci_err e;
	struct stat st;
	int64_t clamp = -1;
	int failed;

	parse_args(argc, argv, &a);
	/* DIR first: a failure must not leave a new, empty layout behind. */
	if (stat(a.dir, &st) < 0)
		err(1, "%s", a.dir);
	if (!S_ISDIR(st.st_mode))
		errx(1, "%s: not a directory", a.dir);
	if (oci_source_date_epoch(&clamp, &e) < 0)
		errx(1, "%s", e.msg);
	/* A progress line for people at a terminal, as oci-fetch draws. */
	oci_progress = oci_cli_progress();
	/*
	 * A layout this run makes, and the layer and config blobs it adds,
	 * stay only once index.json names them (oci_undo).
	 */
	failed = oci_build_open(a.image, &a.ref, a.newtag, 1, &b, &e) < 0 ||
	    oci_layer_write(b->layout, a.dir, clamp, &layer, &e) < 0 ||
	    oci_build_add_layer(b, &layer, a.created_by, &e) < 0 ||
	    oci_build_commit(b, stdout, &e) < 0;
	oci_build_free(b);
	oci_ref_free(&a.ref);
	if (failed)
		errx(1, "%s", e.msg);
	return oci_cli_done(0);
}
