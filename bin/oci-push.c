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

#include "oci.h"

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f,
	    "usage: oci-push [-qv] [-j N] [-p OS/ARCH[/VARIANT]] [--all] [--mount-from REPO]\n"
	    "                [--chunk-size BYTES] [--plain-http] [--insecure] [--cacert FILE]\n"
	    "                [--creds USER[:PASS]] [--authfile FILE] IMAGE DEST\n"
	    "IMAGE is LAYOUT[:TAG] or LAYOUT@DIGEST; DEST is [docker://]REGISTRY/REPO[:TAG][@DIGEST],\n"
	    "docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]\n");
	exit(f == stdout ? 0 : 2);
}

/* On a terminal: one line, redrawn, saying how far the blobs are. */
static void
draw(void *arg, const struct oci_progress *p)
{
	(void)arg;
	if (p->final) {
		fprintf(stderr, "\r\033[K");
		return;
	}
	fprintf(stderr, "\r\033[Kpushing: %zu of %zu blobs, %s of %s", p->done, p->total,
	    oci_human_size(p->bytes), oci_human_size(p->total_bytes));
}

/* DEST is docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]: the image goes into a file. */
static int
push_archive(struct oci_ref ref, struct oci_archive_ref *a, const struct oci_push_opts *po)
{
	struct oci_layout *l;
	struct oci_err e;
	json_t *index, *desc, *written;

	if (oci_layout_open(ref.layout, &l, &e) < 0 || (index = oci_index_load(l, &e)) == NULL ||
	    oci_index_find(index, &ref, &desc, &e) < 0 ||
	    oci_archive_export(l, desc, oci_desc_tag(desc), a, po, &written, &e) < 0)
		errx(1, "%s", e.msg);
	oci_desc_write(stdout, written);
	json_decref(written);
	json_decref(desc);
	json_decref(index);
	oci_layout_close(l);
	oci_ref_free(&ref);
	oci_archive_ref_free(a);
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	return 0;
}

int
main(int argc, char *argv[])
{
	enum { OPT_ALL = 0x100, OPT_MOUNT, OPT_CHUNK };
	static const struct option opts[] = {
		OCI_COMMON_LONGOPTS,
		OCI_REGISTRY_LONGOPTS,
		{ "platform", required_argument, NULL, 'p' },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "mount-from", required_argument, NULL, OPT_MOUNT },
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_registry_opts ro = { .jobs = 4 };
	struct oci_push_opts po = { 0 };
	struct oci_platform platform;
	struct oci_source dest, from;
	struct oci_registry *r;
	struct oci_layout *l;
	struct oci_ref ref;
	struct oci_archive_ref archive;
	struct oci_err e;
	char *end, *mount = NULL, *name = NULL;
	json_t *index, *desc, *pushed;
	int c;

	while ((c = getopt_long(argc, argv, "hvqp:j:", opts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout);
		case OCI_OPT_VERSION: oci_print_version(); return 0;
		case 'v': oci_verbose++; break;
		case 'q': oci_quiet = 1; break;
		case 'p':
			if (oci_platform_parse(optarg, &platform, &e) < 0)
				errx(2, "%s", e.msg);
			po.platform = &platform;
			break;
		case OPT_ALL: po.all = 1; break;
		case OPT_MOUNT: mount = optarg; break;
		case OPT_CHUNK:
			po.chunk = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || po.chunk < 1)
				errx(2, "--chunk-size %s: expected a number of bytes", optarg);
			break;
		default:
			switch (oci_registry_option(c, optarg, &ro, &e)) {
			case 1: break;
			case -1: errx(2, "%s", e.msg);
			default: usage(stderr);
			}
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2) {
		usage(stderr);
	}
	if (oci_ref_parse(argv[0], &ref, &e) < 0)
		errx(2, "%s", e.msg);
	if ((c = oci_archive_parse(argv[1], &archive, &e)) < 0)
		errx(2, "%s", e.msg);
	if (c > 0)
		return push_archive(ref, &archive, &po);
	if (oci_source_parse(argv[1], &dest, &e) < 0)
		errx(2, "%s", e.msg);
	/* --mount-from names a repository of the same registry: check it as a name there. */
	if (mount) {
		if (asprintf(&name, "%s/%s", dest.registry, mount) < 0)
			err(1, "asprintf");
		if (oci_source_parse(name, &from, &e) < 0 || strcmp(from.repo, mount) != 0)
			errx(2, "--mount-from %s: expected a repository name of %s", mount,
			    dest.registry);
		po.mount_from = mount;
	}
	oci_say("destination %s/%s%s%s%s%s (served at %s)", dest.registry, dest.repo,
	    dest.tag ? ":" : "", dest.tag ? dest.tag : "", dest.digest ? "@" : "",
	    dest.digest ? dest.digest : "", dest.host);
	if (!oci_quiet && !oci_verbose && isatty(STDERR_FILENO))
		ro.progress = draw;

	/* The image first: nothing goes out for a tag that is not there. */
	if (oci_layout_open(ref.layout, &l, &e) < 0 || (index = oci_index_load(l, &e)) == NULL ||
	    oci_index_find(index, &ref, &desc, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_registry_open(&dest, &ro, &r, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_push(r, &dest, l, desc, &po, &pushed, &e) < 0)
		errx(1, "%s", e.msg);
	oci_desc_write(stdout, pushed);

	json_decref(pushed);
	json_decref(desc);
	json_decref(index);
	oci_registry_close(r);
	oci_layout_close(l);
	oci_ref_free(&ref);
	oci_source_free(&dest);
	if (mount)
		oci_source_free(&from);
	free(name);
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	return 0;
}
