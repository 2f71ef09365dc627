/*
 * oci-manifest — follow a manifest to its config and layers.
 *
 * image-spec manifest.md: a manifest names one config and the layers,
 * bottom first, by descriptor.  oci-manifest finds an image's manifest
 * (through index.json and, for a multi-platform image, the image index:
 * image-index.md), checks its bytes against the descriptor's digest and
 * size, and prints those exact bytes, the config's bytes (--config) or the
 * layer descriptors, one per line (--layers).  Docker schema2 manifests and
 * manifest lists are read the same way.
 *
 *     oci-index bb:latest | oci-manifest bb | jq .layers
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

enum what { MANIFEST, CONFIG, LAYERS };

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f,
	    "usage: oci-manifest [-qv] [-p OS/ARCH[/VARIANT]] [--config | --layers] IMAGE\n"
	    "       oci-manifest [-qv] [-p OS/ARCH[/VARIANT]] [--config | --layers] LAYOUT < DESCRIPTORS\n");
	exit(f == stdout ? 0 : 2);
}

/* Print what was asked for of one image whose manifest has been read and checked. */
static void
print(struct oci_image *img, enum what what)
{
	const json_t *layers, *layer;
	struct oci_err e;
	json_t *config;
	char *buf;
	size_t len, i;

	switch (what) {
	case MANIFEST:
		fwrite(img->manifest_buf, 1, img->manifest_len, stdout);
		break;
	case CONFIG:
		if (oci_image_config(img, &buf, &len, &config, &e) < 0)
			errx(1, "%s", e.msg);
		oci_say("config %s (%zu bytes)",
		    oci_short(json_string_value(json_object_get(json_object_get(img->manifest,
		    "config"), "digest"))), len);
		fwrite(buf, 1, len, stdout);
		json_decref(config);
		free(buf);
		break;
	case LAYERS:
		if ((layers = oci_image_layers(img, &e)) == NULL)
			errx(1, "manifest %s: %s", oci_short(json_string_value(json_object_get(img->desc,
			    "digest"))), e.msg);
		json_array_foreach(layers, i, layer)
			oci_desc_write(stdout, layer);
		break;
	}
}

/*
 * LAYOUT with descriptors on stdin (from oci-index): each one is followed
 * to its manifest like an entry of index.json would be.
 */
static void
from_stdin(const char *path, const struct oci_platform *platform, enum what what)
{
	struct oci_image img = { 0 };
	struct oci_err e;
	json_t *desc;
	int rc, n = 0;

	if (isatty(STDIN_FILENO))
		oci_usage_error("%s: LAYOUT alone reads descriptors on stdin; name an image as "
		    "LAYOUT:TAG or LAYOUT@DIGEST", path);
	if (oci_layout_open(path, &img.layout, &e) < 0)
		errx(1, "%s", e.msg);
	while ((rc = oci_desc_read(stdin, &desc, &e)) > 0) {
		n++;
		if (oci_resolve_manifest(img.layout, desc, platform, &img.desc, &img.manifest_buf,
		    &img.manifest_len, &img.manifest, &e) < 0)
			errx(1, "%s", e.msg);
		print(&img, what);
		json_decref(img.desc);
		json_decref(img.manifest);
		free(img.manifest_buf);
		json_decref(desc);
	}
	if (rc < 0)
		errx(1, "stdin: %s", e.msg);
	if (n == 0)
		errx(1, "stdin: no descriptor (pipe one from oci-index, or name an image as "
		    "LAYOUT:TAG)");
	oci_layout_close(img.layout);
}

/* What the command line asks for. */
struct args {
	enum what what;		/* --config, --layers */
	struct oci_platform plat, *platform;	/* -p */
	struct oci_ref ref;	/* IMAGE or LAYOUT */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		OCI_COMMON_LONGOPTS,
		{ "platform", required_argument, NULL, 'p' },
		{ "config", no_argument, NULL, 'c' },
		{ "layers", no_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pflag = NULL;
	int c;

	a->what = MANIFEST;
	while ((c = oci_getopt(argc, argv, "hvqp:cl", longopts, usage)) != -1) {
		switch (c) {
		case 'p': pflag = optarg; break;
		case 'c':
		case 'l':
			if (a->what != MANIFEST)
				oci_usage_error("--config and --layers go alone");
			a->what = c == 'c' ? CONFIG : LAYERS;
			break;
		}
	}
	a->platform = oci_cli_platform(pflag, &a->plat);
	if (argc - optind != 1)
		usage(stderr);
	oci_cli_ref(argv[optind], &a->ref);
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };
	struct oci_image *img;
	struct oci_err e;

	parse_args(argc, argv, &a);
	if (a.ref.tag == NULL && a.ref.digest == NULL) {
		from_stdin(a.ref.layout, a.platform, a.what);
	} else {
		if (oci_image_open_ref(&a.ref, a.platform, &img, &e) < 0)
			errx(1, "%s", e.msg);
		print(img, a.what);
		oci_image_free(img);
	}
	oci_ref_free(&a.ref);
	return oci_cli_done(0);
}
