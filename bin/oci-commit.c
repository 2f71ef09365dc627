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
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f, "usage: oci-commit [-qv] [-m CREATED_BY] DIR IMAGE [NEWTAG]\n");
	exit(f == stdout ? 0 : 2);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		OCI_COMMON_LONGOPTS,
		{ "message", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *created_by = "oci-commit";
	struct oci_build *b = NULL;
	struct oci_layer layer;
	struct oci_ref ref;
	struct oci_err e;
	struct stat st;
	int64_t clamp = -1;
	int c, failed;

	while ((c = getopt_long(argc, argv, "hm:qv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
		case OCI_OPT_VERSION:
			oci_print_version();
			return 0;
		case 'm':
			created_by = optarg;
			break;
		case 'q':
			oci_quiet = 1;
			break;
		case 'v':
			oci_verbose++;
			break;
		default:
			usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || argc > 3 || (argc == 3 && argv[2][0] == '\0')) {
		usage(stderr);
	}
	/* DIR first: a failure must not leave a new, empty layout behind. */
	if (stat(argv[0], &st) < 0)
		err(1, "%s", argv[0]);
	if (!S_ISDIR(st.st_mode))
		errx(1, "%s: not a directory", argv[0]);
	if (oci_source_date_epoch(&clamp, &e) < 0)
		errx(1, "%s", e.msg);
	/* A progress line for people at a terminal, as oci-fetch draws. */
	oci_progress = !oci_quiet && !oci_verbose && isatty(STDERR_FILENO);
	/* A layout this run makes is removed again if the commit fails. */
	if (oci_ref_parse(argv[1], &ref, &e) < 0)
		errx(1, "%s", e.msg);
	if (stat(ref.layout, &st) < 0 && errno == ENOENT)
		oci_undo_add(OCI_UNDO_RMTREE, AT_FDCWD, ref.layout);
	oci_ref_free(&ref);
	/* The layer and config blobs stay only once index.json names them (oci_undo). */
	failed = oci_build_open(argv[1], argc == 3 ? argv[2] : NULL, 1, &b, &e) < 0 ||
	    (b->layout->provisional = 1, 0) ||
	    oci_layer_write(b->layout, argv[0], clamp, &layer, &e) < 0 ||
	    oci_build_add_layer(b, &layer, created_by, &e) < 0 ||
	    oci_build_commit(b, stdout, &e) < 0;
	oci_build_free(b);
	if (failed)
		errx(1, "%s", e.msg);
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	return 0;
}
