/*
 * oci-push — send an image from an OCI image layout to a registry.
 *
 * The push of the OCI distribution-spec (the Docker Registry HTTP API V2):
 * every blob first (a HEAD skips what the registry has; a blob another
 * repository has can be mounted; the rest is uploaded, -j at a time), then
 * the manifests, then the tag.  -v narrates each request.
 *
 *     oci-push bb:latest localhost:5000/lab/busybox:1
 */
#define _GNU_SOURCE	/* asprintf */
#include <err.h>
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
	fprintf(f,
	    "usage: oci-push [-qv] [-j N] [-p OS/ARCH[/VARIANT]] [--all] [--mount-from REPO]\n"
	    "                [--chunk-size BYTES] [--plain-http] [--insecure] [--cacert FILE]\n"
	    "                [--creds USER[:PASS]] [--authfile FILE] [--timeout SECONDS] IMAGE DEST\n"
	    "IMAGE is LAYOUT[:TAG] or LAYOUT@DIGEST; DEST is [docker://]REGISTRY/REPO[:TAG][@DIGEST],\n"
	    "docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]\n");
	exit(f == stdout ? 0 : 2);
}

/* DEST is docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]: the image goes into a file. */
static int
push_archive(struct oci_ref ref, struct oci_archive_ref *a, const struct oci_push_opts *po)
{
	struct oci_layout *l;
	struct oci_err e;
	json_t *desc, *written;

	if (oci_layout_open(ref.layout, &l, &e) < 0 || oci_image_entry(l, &ref, &desc, &e) < 0 ||
	    oci_archive_export(l, desc, oci_desc_tag(desc), a, po, &written, &e) < 0)
		errx(1, "%s", e.msg);
	oci_desc_write(stdout, written);
	json_decref(written);
	json_decref(desc);
	oci_layout_close(l);
	oci_ref_free(&ref);
	oci_archive_ref_free(a);
	return oci_cli_done(0);
}

/* What the command line asks for. */
struct args {
	struct oci_registry_args reg;
	struct oci_push_opts po;
	const char *image, *dest;
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_ALL = 0x100, OPT_MOUNT, OPT_CHUNK };
	static const struct option opts[] = {
		OCI_COMMON_LONGOPTS,
		OCI_REGISTRY_LONGOPTS,
		{ "all", no_argument, NULL, OPT_ALL },
		{ "mount-from", required_argument, NULL, OPT_MOUNT },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	while ((c = oci_getopt(argc, argv, "hvq" OCI_REGISTRY_SHORTOPTS, opts, usage)) != -1) {
		switch (c) {
		case OPT_ALL: a->po.all = 1; break;
		case OPT_MOUNT: a->po.mount_from = optarg; break;
		case OPT_CHUNK:
			a->po.chunk = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || a->po.chunk < 1)
				oci_usage_error("--chunk-size %s: expected a number of bytes", optarg);
			break;
		default: oci_registry_option(c, optarg, &a->reg); break;
		}
	}
	a->po.platform = a->reg.platform;
	oci_registry_creds(&a->reg.ro);
	if (argc - optind != 2)
		usage(stderr);
	a->image = argv[optind];
	a->dest = argv[optind + 1];
}

/* --mount-from names a repository of the same registry: check it as a name there. */
static void
check_mount_from(const struct oci_source *dest, const char *mount)
{
	struct oci_source from;
	struct oci_err e;
	char *name;

	if (asprintf(&name, "%s/%s", dest->registry, mount) < 0)
		err(1, "asprintf");
	if (oci_source_parse(name, &from, &e) < 0 || strcmp(from.repo, mount) != 0)
		oci_usage_error("--mount-from %s: expected a repository name of %s", mount, dest->registry);
	oci_source_free(&from);
	free(name);
}

int
main(int argc, char *argv[])
{
	struct args a = { .reg = OCI_REGISTRY_ARGS_INIT };
	struct oci_archive_ref archive;
	struct oci_registry *r;
	struct oci_source dest;
	struct oci_layout *l;
	struct oci_ref ref;
	struct oci_err e;
	json_t *desc, *pushed;
	int c;

	parse_args(argc, argv, &a);
	oci_cli_ref(a.image, &ref);
	if ((c = oci_archive_parse(a.dest, &archive, &e)) < 0)
		oci_usage_error("%s", e.msg);
	if (c > 0)
		return push_archive(ref, &archive, &a.po);
	if (oci_source_parse(a.dest, &dest, &e) < 0)
		oci_usage_error("%s", e.msg);
	if (a.po.mount_from)
		check_mount_from(&dest, a.po.mount_from);
	oci_cli_say_source("destination", &dest);
	/* On a terminal: a line per blob in flight and one for them all, redrawn. */
	if ((oci_progress = oci_cli_progress()))
		a.reg.ro.progress = oci_meter_blobs;

	/* The image first: nothing goes out for a tag that is not there. */
	if (oci_layout_open(ref.layout, &l, &e) < 0 || oci_image_entry(l, &ref, &desc, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_registry_open(&dest, &a.reg.ro, &r, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_push(r, &dest, l, desc, &a.po, &pushed, &e) < 0)
		errx(1, "%s", e.msg);
	oci_desc_write(stdout, pushed);

	json_decref(pushed);
	json_decref(desc);
	oci_registry_close(r);
	oci_layout_close(l);
	oci_ref_free(&ref);
	oci_source_free(&dest);
	return oci_cli_done(0);
}
