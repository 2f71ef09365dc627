/*
 * oci-fetch — pull an image from a registry into an OCI image layout.
 *
 * The pull of the OCI distribution-spec (the Docker Registry HTTP API V2):
 * resolve the tag, answer the auth challenge, get the manifest or index,
 * choose the platform, get the config and layers by digest, verify every
 * byte, then tag the image in index.json.  -v narrates each request.
 * With --store STORE, each layer is also extracted into oci-overlay's
 * store while it downloads (lib/mount/store_pull.c).
 *
 *     oci-fetch busybox bb && oci-index bb:latest
 */
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
	    "usage: oci-fetch [-qv] [-j N] [-p OS/ARCH[/VARIANT]] [--all] [--plain-http] [--insecure]\n"
	    "                 [--cacert FILE] [--creds USER[:PASS]] [--authfile FILE] [--timeout SECONDS]\n"
	    "                 [--mirror HOST[:PORT]] [--store STORE] SOURCE LAYOUT[:TAG]\n"
	    "       oci-fetch [options] --manifest SOURCE\n"
	    "       oci-fetch [options] --blob DIGEST SOURCE\n"
	    "SOURCE is [docker://][REGISTRY/]REPO[:TAG][@DIGEST]; \"busybox\" is docker.io/library/busybox:latest\n"
	    "       or docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]\n");
	exit(f == stdout ? 0 : 2);
}

/* What to do in the place (a mirror or the origin) that serves the image. */
struct job {
	int manifest;		/* --manifest */
	const char *blob;	/* --blob DIGEST */
	struct oci_layout *l;	/* else: pull into l */
	const struct oci_pull_opts *po;
	json_t *desc;		/* the stored descriptor */
};

static int
run_job(struct oci_registry *r, const struct oci_source *src, void *arg, struct oci_err *e)
{
	struct job *j = arg;
	char *buf, *mt, digest[OCI_DIGEST_MAX];
	size_t len;

	if (j->manifest) {
		if (oci_registry_manifest(r, src->digest ? src->digest : src->tag, &buf, &len, &mt,
		    digest, e) < 0)
			return -1;
		fwrite(buf, 1, len, stdout);
		free(buf);
		free(mt);
		return 0;
	}
	if (j->blob) {
		/* bytes may already be on stdout: no other place may start again */
		if (oci_registry_blob_fd(r, j->blob, -1, STDOUT_FILENO, e) < 0) {
			oci_context(e, "blob %s", oci_short(j->blob));
			return -2;
		}
		return 0;
	}
	return oci_pull(r, src, j->l, j->po, &j->desc, e);
}

/* LAYOUT[:TAG], the destination of a pull. */
static void
parse_dest(const char *arg, struct oci_ref *dest)
{
	struct oci_err e;

	if (oci_ref_parse(arg, dest, &e) < 0)
		oci_usage_error("%s", e.msg);
	if (dest->digest)
		oci_usage_error("%s: the destination is LAYOUT[:TAG]; the digest is the image's own", arg);
}

/*
 * --store: the image just pulled (desc, in layout) has every layer in the
 * store; those extracted while they downloaded are taken as they are.
 */
static void
store_finish(struct oci_store_pull *sp, const char *layout, const json_t *desc,
    const struct oci_platform *platform)
{
	struct oci_image *img;
	struct oci_ref ref;
	struct oci_err e;
	char arg[4096];

	snprintf(arg, sizeof arg, "%s@%s", layout, json_string_value(json_object_get(desc, "digest")));
	if (oci_ref_parse(arg, &ref, &e) < 0 || oci_image_open_ref(&ref, platform, &img, &e) < 0 ||
	    oci_store_pull_finish(sp, img, &e) < 0)
		errx(1, "--store: %s", e.msg);
	oci_image_free(img);
	oci_ref_free(&ref);
}

/* SOURCE is docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]: the image comes from a file. */
static int
fetch_archive(struct oci_archive_ref *a, const char *dest_arg, struct oci_pull_opts *po,
    struct oci_store_pull *sp)
{
	struct oci_layout *l;
	struct oci_ref dest;
	struct oci_err e;
	json_t *desc;

	parse_dest(dest_arg, &dest);
	if (oci_layout_create(dest.layout, &l, &e) < 0 ||
	    oci_archive_import(a, l, dest.tag, po->platform, po->all, &desc, &e) < 0)
		errx(1, "%s", e.msg);
	if (sp) {
		store_finish(sp, dest.layout, desc, po->platform);
		oci_store_pull_close(sp);
	}
	oci_desc_write(stdout, desc);
	json_decref(desc);
	oci_layout_close(l);
	oci_ref_free(&dest);
	oci_archive_ref_free(a);
	return oci_cli_done(0);
}

/* What the command line asks for. */
struct args {
	struct oci_registry_args reg;
	struct oci_pull_opts po;
	int manifest;		/* --manifest */
	const char *blob;	/* --blob DIGEST */
	const char *mirror;	/* --mirror HOST[:PORT] */
	const char *store;	/* --store STORE */
	const char *source;
	const char *dest;	/* LAYOUT[:TAG]; NULL with --manifest and --blob */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_ALL = 0x100, OPT_MANIFEST, OPT_BLOB, OPT_MIRROR, OPT_STORE };
	static const struct option opts[] = {
		OCI_COMMON_LONGOPTS,
		OCI_REGISTRY_LONGOPTS,
		{ "all", no_argument, NULL, OPT_ALL },
		{ "manifest", no_argument, NULL, OPT_MANIFEST },
		{ "blob", required_argument, NULL, OPT_BLOB },
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ "store", required_argument, NULL, OPT_STORE },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_err e;
	int c;

	while ((c = oci_getopt(argc, argv, "hvq" OCI_REGISTRY_SHORTOPTS, opts, usage)) != -1) {
		switch (c) {
		case OPT_ALL: a->po.all = 1; break;
		case OPT_MANIFEST: a->manifest = 1; break;
		case OPT_BLOB: a->blob = optarg; break;
		case OPT_MIRROR: a->mirror = optarg; break;
		case OPT_STORE: a->store = optarg; break;
		default: oci_registry_option(c, optarg, &a->reg); break;
		}
	}
	a->po.platform = a->reg.platform;
	argc -= optind;
	argv += optind;
	if (argc != ((a->manifest || a->blob) ? 1 : 2) || (a->manifest && a->blob))
		usage(stderr);
	if (a->blob && oci_digest_check(a->blob, NULL, &e) < 0)
		oci_usage_error("--blob: %s", e.msg);
	if (a->store && (a->manifest || a->blob || a->po.all))
		oci_usage_error("--store makes one image's layers ready: not with --manifest, --blob or --all");
	a->source = argv[0];
	a->dest = argc == 2 ? argv[1] : NULL;
}

int
main(int argc, char *argv[])
{
	struct args a = { .reg = OCI_REGISTRY_ARGS_INIT };
	struct oci_archive_ref archive;
	struct oci_store_pull *sp = NULL;
	struct job job = { 0 };
	struct oci_source src;
	struct oci_ref dest;
	struct oci_err e;
	int c;

	parse_args(argc, argv, &a);
	if ((c = oci_archive_parse(a.source, &archive, &e)) < 0)
		oci_usage_error("%s", e.msg);
	if (c > 0 && (a.manifest || a.blob))
		oci_usage_error("--manifest and --blob read a registry, not %s", a.source);
	/* --store: opened (and locked) first, so that the layers can go in as they come. */
	if (a.store && oci_store_pull_open(a.store, oci_overlay_user_xattrs(), a.reg.ro.jobs, &sp, &e) < 0)
		errx(1, "--store: %s", e.msg);
	if (c > 0)
		return fetch_archive(&archive, a.dest, &a.po, sp);
	if (sp) {
		a.reg.ro.watch = oci_store_pull_watch(sp);
		a.po.layers_next = oci_store_pull_layers;
		a.po.layers_in = oci_store_pull_in;
		a.po.layers_arg = sp;
	}
	if (a.mirror && oci_host_check(a.mirror, &e) < 0)
		oci_usage_error("--mirror: %s", e.msg);
	if (oci_source_parse(a.source, &src, &e) < 0)
		oci_usage_error("%s", e.msg);
	oci_cli_say_source("source", &src);
	oci_registry_creds(&a.reg.ro);
	if (a.dest) {
		parse_dest(a.dest, &dest);
		a.po.tag = dest.tag ? dest.tag : src.tag;
	}
	/* Progress bars on a terminal: one line per blob in flight, then the total. */
	if ((oci_progress = oci_cli_progress()))
		a.reg.ro.progress = oci_meter_blobs;

	job.manifest = a.manifest;
	job.blob = a.blob;
	job.po = &a.po;
	if (a.dest && oci_layout_create(dest.layout, &job.l, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_pull_through(&src, a.mirror, &a.reg.ro, run_job, &job, &e) < 0)
		errx(1, "%s", e.msg);
	oci_store_pull_close(sp);
	if (job.l) {
		oci_desc_write(stdout, job.desc);
		json_decref(job.desc);
		oci_layout_close(job.l);
		oci_ref_free(&dest);
	}
	oci_source_free(&src);
	return oci_cli_done(0);
}
