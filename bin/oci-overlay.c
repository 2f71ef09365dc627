/*
 * oci-overlay — stack an image's layers with overlayfs, without copying them.
 *
 * Each layer is extracted once into DIR/layers/<diff_id hex> with overlayfs
 * whiteouts (image-spec layer.md, "Whiteouts", in overlayfs' own form);
 * DIR/upper is the container's writable layer, and DIR/merged the view of
 * all of them.  Also the article's
 * hand-made `mount -t overlay`, with --lower, --upper and --work.
 *
 * With --store, many containers share one store of layers laid out like
 * docker's /var/lib/docker/overlay2 (lib/store.c): each layer extracted
 * once, an -init layer per container, the l/ short links.
 *
 *     oci-unshare sh -c 'oci-overlay bb:latest ctr && ls ctr/merged'
 *     oci-unshare sh -c 'oci-overlay --store st bb:latest web && oci-overlay --store st --ls'
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f, "usage: oci-overlay [-nqv] [-p OS/ARCH[/VARIANT]] IMAGE DIR\n"
	    "       oci-overlay [-nqv] --lower DIR[:DIR...] [--upper DIR --work DIR] MERGED\n"
	    "       oci-overlay [-qv] -u MERGED|DIR\n"
	    "       oci-overlay [-qv] [-p OS/ARCH[/VARIANT]] --store STORE IMAGE NAME\n"
	    "       oci-overlay [-qv] --store STORE -u NAME | --rm NAME | --ls\n");
	exit(f == stdout ? 0 : 2);
}

/* A layer's extraction on a terminal: one line, redrawn. */
static void
draw(void *arg, const char *digest, uint64_t done, int64_t size, int final)
{
	int fill = size > 0 ? (int)(30 * (done < (uint64_t)size ? done : (uint64_t)size) / size) : 0;

	(void)arg;
	if (final)
		fprintf(stderr, "\r\033[K");
	else
		fprintf(stderr, "\r\033[Kextracting %s [%-30.*s] %s / %s", oci_short(digest), fill,
		    "==============================", oci_human_size(done),
		    size >= 0 ? oci_human_size(size) : "?");
	fflush(stderr);
}

/* --store: a container made (and mounted), unmounted, removed, or the store listed. */
static int
store(const char *dir, char *argv[], int unmount, int rm, int ls, struct oci_image *img,
    const struct oci_extract_progress *p)
{
	struct oci_store_opts so = { argv[0], !oci_ns_initial_user(), p };
	struct oci_overlay o = { 0 };
	struct oci_err e = { "" };
	json_t *j;
	size_t i;

	if (ls) {
		if ((j = oci_store_list(dir, &e)) == NULL)
			errx(1, "%s", e.msg);
		for (i = 0; i < json_array_size(j); i++)
			oci_desc_write(stdout, json_array_get(j, i));
		json_decref(j);
	} else if (rm) {
		if (oci_store_remove(dir, argv[0], &e) < 0)
			errx(1, "%s", e.msg);
	} else if (unmount) {
		if (oci_store_container(dir, argv[0], &o, &e) < 0 || oci_overlay_umount(o.merged, &e) < 0)
			errx(1, "%s", e.msg);
	} else {
		if (oci_store_create(dir, img, argv[1], &so, &o, &e) < 0)
			errx(1, "%s", e.msg);
		if (oci_overlay_mount(&o, o.merged, &e) < 0)
			errx(1, "%s", e.msg);
		if ((j = oci_overlay_graphdriver(&o)) == NULL)
			errx(1, "out of memory");
		oci_desc_write(stdout, j);
		json_decref(j);
	}
	oci_overlay_free(&o);
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	return 0;
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
	enum { OPT_LOWER = 0x100, OPT_UPPER, OPT_WORK, OPT_STORE, OPT_RM, OPT_LS };
	static const struct option longopts[] = {
		{ "lower", required_argument, NULL, OPT_LOWER },
		{ "upper", required_argument, NULL, OPT_UPPER },
		{ "work", required_argument, NULL, OPT_WORK },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "unmount", no_argument, NULL, 'u' },
		{ "platform", required_argument, NULL, 'p' },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "rm", no_argument, NULL, OPT_RM },
		{ "ls", no_argument, NULL, OPT_LS },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *lower = NULL, *upper = NULL, *work = NULL, *merged, *dir = NULL;
	struct oci_extract_progress progress = { draw, NULL }, *shown = NULL;
	struct oci_platform plat, *platform = NULL;
	struct oci_overlay o = { 0 };
	struct oci_image *img = NULL;
	struct oci_err e = { "" };
	int c, dry = 0, unmount = 0, rm = 0, ls = 0;
	char *line, path[4096];
	json_t *gd;

	while ((c = getopt_long(argc, argv, "nup:hvq", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LOWER: lower = optarg; break;
		case OPT_UPPER: upper = optarg; break;
		case OPT_WORK: work = optarg; break;
		case 'n': dry = 1; break;
		case 'u': unmount = 1; break;
		case OPT_STORE: dir = optarg; break;
		case OPT_RM: rm = 1; break;
		case OPT_LS: ls = 1; break;
		case 'p':
			if (oci_platform_parse(optarg, &plat, &e) < 0) {
				warnx("%s", e.msg);
				usage(stderr);
			}
			platform = &plat;
			break;
		case 'v': oci_verbose++; break;
		case 'q': oci_quiet = 1; break;
		case 'h': usage(stdout);
		case OCI_OPT_VERSION: oci_print_version(); return 0;
		default: usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if ((dir && (lower || upper || work || dry || unmount + rm + ls > 1 ||
	    argc != (ls ? 0 : unmount || rm ? 1 : 2))) || (!dir && (rm || ls))) {
		usage(stderr);
	}
	if (!oci_quiet && !oci_verbose && isatty(STDERR_FILENO))
		shown = &progress;	/* progress only for people at a terminal */
	if (dir) {
		if (!unmount && !rm && !ls && oci_overlay_can_mount(&e) < 0)
			errx(1, "%s", e.msg);
		if (!unmount && !rm && !ls && oci_image_open(argv[0], platform, &img, &e) < 0)
			errx(1, "%s: %s", argv[0], e.msg);
		c = store(dir, argv, unmount, rm, ls, img, shown);
		oci_image_free(img);
		return c;
	}
	if ((unmount && (argc != 1 || lower || upper || work || dry)) ||
	    (!unmount && lower && argc != 1) || (!unmount && !lower && argc != 2) ||
	    (!lower && (upper || work)) || (!upper != !work) || (lower && lower[0] == '\0')) {
		usage(stderr);
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
		    oci_overlay_layers(img, argv[1], o.userxattr, shown, &o, &e) < 0)
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
