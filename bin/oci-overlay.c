/*
 * oci-overlay — stack an image's layers with overlayfs, without copying them.
 *
 * Each layer is extracted once into DIR/layers/<diff_id hex> with overlayfs
 * whiteouts (image-spec layer.md, "Whiteouts", in overlayfs' own form);
 * DIR/upper is the container's writable layer, and DIR/merged the view of
 * all of them, as docker's overlay2 driver lays it out.  Also the article's
 * hand-made `mount -t overlay`, with --lower, --upper and --work.
 *
 *     oci-unshare sh -c 'oci-overlay bb:latest ctr && ls ctr/merged'
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: oci-overlay [-nqv] [-p OS/ARCH[/VARIANT]] IMAGE DIR\n"
	    "       oci-overlay [-nqv] --lower DIR[:DIR...] [--upper DIR --work DIR] MERGED\n"
	    "       oci-overlay [-qv] -u MERGED|DIR\n");
}

/* "a:b:c" -> lower directories a, b, c (the top one first, as given). */
static int
split_lower(const char *arg, struct oci_overlay *o)
{
	char *copy = strdup(arg), *p, *save;

	if (copy == NULL || (o->lower = calloc(strlen(arg) / 2 + 1, sizeof *o->lower)) == NULL)
		return -1;
	for (p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
		if ((o->lower[o->nlower++] = strdup(p)) == NULL)
			return -1;
	free(copy);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "lower", required_argument, NULL, 'L' },
		{ "upper", required_argument, NULL, 'U' },
		{ "work", required_argument, NULL, 'W' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "unmount", no_argument, NULL, 'u' },
		{ "platform", required_argument, NULL, 'p' },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *lower = NULL, *upper = NULL, *work = NULL, *merged;
	struct oci_platform plat, *platform = NULL;
	struct oci_overlay o = { 0 };
	struct oci_image *img = NULL;
	struct oci_err e = { "" };
	int c, dry = 0, unmount = 0;
	char *line, path[4096];
	json_t *gd;

	while ((c = getopt_long(argc, argv, "nup:hvq", longopts, NULL)) != -1) {
		switch (c) {
		case 'L': lower = optarg; break;
		case 'U': upper = optarg; break;
		case 'W': work = optarg; break;
		case 'n': dry = 1; break;
		case 'u': unmount = 1; break;
		case 'p':
			if (oci_platform_parse(optarg, &plat, &e) < 0) {
				warnx("%s", e.msg);
				usage(stderr);
				return 2;
			}
			platform = &plat;
			break;
		case 'v': oci_verbose++; break;
		case 'q': oci_quiet = 1; break;
		case 'h': usage(stdout); return 0;
		case OCI_OPT_VERSION: oci_print_version(); return 0;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if ((unmount && (argc != 1 || lower || upper || work || dry)) ||
	    (!unmount && lower && argc != 1) || (!unmount && !lower && argc != 2) ||
	    (!lower && (upper || work)) || (!upper != !work) || (lower && lower[0] == '\0')) {
		usage(stderr);
		return 2;
	}

	if (unmount) {
		/* DIR as oci-overlay IMAGE DIR made it, or a mount point. */
		snprintf(path, sizeof path, "%s/layers", argv[0]);
		merged = argv[0];
		if (access(path, F_OK) == 0) {
			snprintf(path, sizeof path, "%s/merged", argv[0]);
			merged = path;
		}
		if (oci_overlay_umount(merged, &e) < 0)
			errx(1, "%s", e.msg);
		return 0;
	}
	o.userxattr = !oci_ns_initial_user();
	if (!dry && oci_overlay_can_mount(&e) < 0)
		errx(1, "%s", e.msg);
	if (lower) {
		merged = argv[0];
		if (split_lower(lower, &o) < 0 || (o.upper = strdup(upper ? upper : "")) == NULL ||
		    (o.work = strdup(work ? work : "")) == NULL)
			errx(1, "out of memory");
		if (!upper) {
			free(o.upper);
			free(o.work);
			o.upper = o.work = NULL;
		}
	} else {
		if (oci_image_open(argv[0], platform, &img, &e) < 0 ||
		    oci_overlay_layers(img, argv[1], o.userxattr, &o, &e) < 0)
			errx(1, "%s: %s", argv[0], e.msg);
		oci_image_free(img);
		merged = o.merged;
	}

	if (dry) {
		if ((line = oci_overlay_mount_line(&o, merged, &e)) == NULL)
			errx(1, "%s", e.msg);
		printf("%s\n", line);
		free(line);
	} else {
		if (oci_overlay_mount(&o, merged, &e) < 0)
			errx(1, "%s", e.msg);
		/* Until it is reported, the mount is this run's to take down if it fails. */
		oci_undo_add(OCI_UNDO_UMOUNT, AT_FDCWD, merged);
		if (!lower) {
			if ((gd = oci_overlay_graphdriver(&o)) == NULL)
				errx(1, "out of memory");
			oci_desc_write(stdout, gd);
			json_decref(gd);
		}
	}
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	oci_overlay_free(&o);
	oci_undo_keep_all();
	return 0;
}
