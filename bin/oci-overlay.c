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
 * docker's /var/lib/docker/overlay2 (lib/mount/store.c): each layer extracted
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

#include "cli/cli.h"
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

/* What the command line asks for. */
struct args {
	const char *lower, *upper, *work;	/* --lower, --upper, --work */
	const char *store;			/* --store STORE */
	int dry, unmount, rm, ls;		/* -n, -u, --rm, --ls */
	struct oci_platform plat, *platform;	/* -p */
	int argc;				/* the operands */
	char **argv;
	struct oci_ref ref;			/* argv[0], when it is the IMAGE */
};

static void
parse_args(int argc, char *argv[], struct args *a)
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
	struct oci_err e;
	int c, bad;

	while ((c = oci_getopt(argc, argv, "nup:hvq", longopts, usage)) != -1) {
		switch (c) {
		case OPT_LOWER: a->lower = optarg; break;
		case OPT_UPPER: a->upper = optarg; break;
		case OPT_WORK: a->work = optarg; break;
		case 'n': a->dry = 1; break;
		case 'u': a->unmount = 1; break;
		case OPT_STORE: a->store = optarg; break;
		case OPT_RM: a->rm = 1; break;
		case OPT_LS: a->ls = 1; break;
		case 'p':
			if (oci_platform_parse(optarg, &a->plat, &e) < 0)
				oci_usage_error("%s", e.msg);
			a->platform = &a->plat;
			break;
		}
	}
	argc -= optind;
	argv += optind;
	if (a->store)		/* STORE IMAGE NAME, -u NAME, --rm NAME or --ls */
		bad = a->lower || a->upper || a->work || a->dry || a->unmount + a->rm + a->ls > 1 ||
		    argc != (a->ls ? 0 : a->unmount || a->rm ? 1 : 2);
	else if (a->unmount)	/* -u MERGED|DIR */
		bad = a->rm || a->ls || argc != 1 || a->lower || a->upper || a->work || a->dry;
	else if (a->lower)	/* --lower DIR[:DIR...] [--upper DIR --work DIR] MERGED */
		bad = a->rm || a->ls || argc != 1 || !a->upper != !a->work || a->lower[0] == '\0';
	else			/* IMAGE DIR */
		bad = a->rm || a->ls || argc != 2 || a->upper || a->work;
	if (bad)
		usage(stderr);
	a->argc = argc;
	a->argv = argv;
	if (a->store ? !a->ls && !a->unmount && !a->rm : !a->unmount && !a->lower)
		oci_cli_ref(argv[0], &a->ref);
}

/* --store: a container made (and mounted), unmounted, removed, or the store listed. */
static int
store(const struct args *a)
{
	struct oci_store_opts so = { .image = a->argv[0], .user_xattrs = oci_overlay_user_xattrs() };
	struct oci_overlay o = { 0 };
	struct oci_image *img = NULL;
	struct oci_err e = { "" };
	json_t *j;
	size_t i;

	if (a->ls) {
		if ((j = oci_store_list(a->store, &e)) == NULL)
			errx(1, "%s", e.msg);
		for (i = 0; i < json_array_size(j); i++)
			oci_desc_write(stdout, json_array_get(j, i));
		json_decref(j);
	} else if (a->rm) {
		if (oci_store_remove(a->store, a->argv[0], &e) < 0)
			errx(1, "%s", e.msg);
	} else if (a->unmount) {
		if (oci_store_container(a->store, a->argv[0], &o, &e) < 0 ||
		    oci_overlay_umount(o.merged, &e) < 0)
			errx(1, "%s", e.msg);
	} else {
		if (oci_overlay_can_mount(&e) < 0)
			errx(1, "%s", e.msg);
		if (oci_image_open_ref(&a->ref, a->platform, &img, &e) < 0)
			errx(1, "%s: %s", a->argv[0], e.msg);
		if (oci_store_create(a->store, img, a->argv[1], &so, &o, &e) < 0)
			errx(1, "%s", e.msg);
		if (oci_overlay_mount(&o, o.merged, &e) < 0)
			errx(1, "%s", e.msg);
		if ((j = oci_overlay_graphdriver(&o)) == NULL)
			errx(1, "out of memory");
		oci_desc_write(stdout, j);
		json_decref(j);
	}
	oci_overlay_free(&o);
	oci_image_free(img);
	return oci_cli_done(0);
}

/* -u MERGED|DIR: DIR as oci-overlay IMAGE DIR made it, or a mount point. */
static int
unmount(const char *arg)
{
	const char *merged = arg;
	struct oci_err e = { "" };
	char path[4096];

	snprintf(path, sizeof path, "%s/layers", arg);
	if (access(path, F_OK) == 0) {
		snprintf(path, sizeof path, "%s/merged", arg);
		merged = path;
	}
	if (oci_overlay_umount(merged, &e) < 0)
		errx(1, "%s", e.msg);
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

/* IMAGE DIR or --lower: mount the overlay, or with -n print the mount(8) line for it. */
static int
mount_overlay(const struct args *a)
{
	struct oci_overlay o = { 0 };
	struct oci_image *img;
	struct oci_err e = { "" };
	const char *merged;
	char *line;
	json_t *gd;

	o.userxattr = oci_overlay_user_xattrs();
	if (!a->dry && oci_overlay_can_mount(&e) < 0)
		errx(1, "%s", e.msg);
	if (a->lower) {
		merged = a->argv[0];
		if (split_lower(a->lower, &o) < 0 ||
		    (o.upper = strdup(a->upper ? a->upper : "")) == NULL ||
		    (o.work = strdup(a->work ? a->work : "")) == NULL)
			errx(1, "out of memory");
		if (!a->upper) {
			free(o.upper);
			free(o.work);
			o.upper = o.work = NULL;
		}
	} else {
		if (oci_image_open_ref(&a->ref, a->platform, &img, &e) < 0 ||
		    oci_overlay_layers(img, a->argv[1], o.userxattr, &o, &e) < 0)
			errx(1, "%s: %s", a->argv[0], e.msg);
		oci_image_free(img);
		merged = o.merged;
	}

	if (a->dry) {
		if ((line = oci_overlay_mount_line(&o, merged, &e)) == NULL)
			errx(1, "%s", e.msg);
		printf("%s\n", line);
		free(line);
	} else {
		if (oci_overlay_mount(&o, merged, &e) < 0)
			errx(1, "%s", e.msg);
		if (!a->lower) {
			if ((gd = oci_overlay_graphdriver(&o)) == NULL)
				errx(1, "out of memory");
			oci_desc_write(stdout, gd);
			json_decref(gd);
		}
	}
	oci_overlay_free(&o);
	return oci_cli_done(0);
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };
	int rc;

	parse_args(argc, argv, &a);
	/* A progress line while a layer is extracted, for people at a terminal. */
	oci_progress = oci_cli_progress();
	if (a.store)
		rc = store(&a);
	else if (a.unmount)
		rc = unmount(a.argv[0]);
	else
		rc = mount_overlay(&a);
	oci_ref_free(&a.ref);
	return rc;
}
