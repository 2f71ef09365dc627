/*
 * oci-fetch — pull an image from a registry into an OCI image layout.
 *
 * The pull of the OCI distribution-spec (the Docker Registry HTTP API V2):
 * resolve the tag, answer the auth challenge, get the manifest or index,
 * choose the platform, get the config and layers by digest, verify every
 * byte, then tag the image in index.json.  -v narrates each request.
 *
 *     oci-fetch busybox bb && oci-index bb:latest
 */
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
	    "usage: oci-fetch [-qv] [-j N] [-p OS/ARCH[/VARIANT]] [--all] [--plain-http] [--insecure]\n"
	    "                 [--cacert FILE] [--creds USER[:PASS]] [--authfile FILE] [--timeout SECONDS]\n"
	    "                 [--mirror HOST[:PORT]] SOURCE LAYOUT[:TAG]\n"
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

/* Progress bars on a terminal: one line per blob in flight, then the total. */
static void
draw(void *arg, const struct oci_progress *p)
{
	int *lines = arg;
	size_t i;

	if (*lines > 0)
		fprintf(stderr, "\033[%dA", *lines);
	*lines = 0;
	for (i = 0; !p->final && i < p->nactive; i++, (*lines)++) {
		const struct oci_progress_blob *b = &p->active[i];
		int fill = b->size > 0 ? (int)(30 * b->got / b->size) : 0;
		fprintf(stderr, "\033[K%s [%-30.*s] %s / %s\n", oci_short(b->digest), fill,
		    "==============================", oci_human_size(b->got),
		    b->size >= 0 ? oci_human_size(b->size) : "?");
	}
	if (p->final) {
		fprintf(stderr, "\033[J");
		return;
	}
	fprintf(stderr, "\033[Ktotal               [%-30.*s] %s / %s, %zu of %zu blobs\n",
	    p->total_bytes ? (int)(30 * p->bytes / p->total_bytes) : 0,
	    "==============================", oci_human_size(p->bytes),
	    oci_human_size(p->total_bytes), p->done, p->total);
	(*lines)++;
}

/* SOURCE is docker-archive:FILE[:REF] or oci-archive:FILE[:TAG]: the image comes from a file. */
static int
fetch_archive(struct oci_archive_ref *a, const char *dest_arg, struct oci_pull_opts *po)
{
	struct oci_layout *l;
	struct oci_ref dest;
	struct oci_err e;
	json_t *desc;

	if (oci_ref_parse(dest_arg, &dest, &e) < 0)
		errx(2, "%s", e.msg);
	if (dest.digest)
		errx(2, "%s: the destination is LAYOUT[:TAG]; the digest is the image's own", dest_arg);
	if (oci_layout_create(dest.layout, &l, &e) < 0 ||
	    oci_archive_import(a, l, dest.tag, po->platform, po->all, &desc, &e) < 0)
		errx(1, "%s", e.msg);
	oci_desc_write(stdout, desc);
	json_decref(desc);
	oci_layout_close(l);
	oci_ref_free(&dest);
	oci_archive_ref_free(a);
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	return 0;
}

int
main(int argc, char *argv[])
{
	enum { OPT_ALL = 0x100, OPT_PLAIN, OPT_INSECURE, OPT_CACERT, OPT_CREDS, OPT_AUTHFILE,
		OPT_MANIFEST, OPT_BLOB, OPT_TIMEOUT, OPT_MIRROR };
	static const struct option opts[] = {
		OCI_COMMON_LONGOPTS,
		{ "platform", required_argument, NULL, 'p' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "all", no_argument, NULL, OPT_ALL },
		{ "plain-http", no_argument, NULL, OPT_PLAIN },
		{ "insecure", no_argument, NULL, OPT_INSECURE },
		{ "cacert", required_argument, NULL, OPT_CACERT },
		{ "creds", required_argument, NULL, OPT_CREDS },
		{ "authfile", required_argument, NULL, OPT_AUTHFILE },
		{ "manifest", no_argument, NULL, OPT_MANIFEST },
		{ "blob", required_argument, NULL, OPT_BLOB },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "mirror", required_argument, NULL, OPT_MIRROR },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_registry_opts ro = { .jobs = 4 };
	struct oci_pull_opts po = { 0 };
	struct oci_platform platform;
	struct oci_source src;
	struct job job = { 0 };
	struct oci_ref dest;
	struct oci_archive_ref archive;
	struct oci_err e;
	const char *blob = NULL, *mirror = NULL;
	char *creds = NULL, *end;
	int c, manifest = 0, lines = 0;

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
		case 'j':
			ro.jobs = (int)strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || ro.jobs < 1 || ro.jobs > 64)
				errx(2, "-j %s: expected a number from 1 to 64", optarg);
			break;
		case OPT_ALL: po.all = 1; break;
		case OPT_PLAIN: ro.plain_http = 1; break;
		case OPT_INSECURE: ro.tls.insecure = 1; break;
		case OPT_CACERT: ro.tls.cacert = optarg; break;
		case OPT_CREDS: creds = optarg; break;
		case OPT_AUTHFILE: ro.authfile = optarg; break;
		case OPT_MANIFEST: manifest = 1; break;
		case OPT_BLOB: blob = optarg; break;
		case OPT_TIMEOUT:
			ro.timeout = strtod(optarg, &end);
			if (*optarg == '\0' || *end != '\0' || !(ro.timeout >= 0.1 && ro.timeout <= 3600))
				errx(2, "--timeout %s: expected seconds from 0.1 to 3600", optarg);
			break;
		case OPT_MIRROR: mirror = optarg; break;
		default: usage(stderr);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != ((manifest || blob) ? 1 : 2) || (manifest && blob)) {
		usage(stderr);
	}
	if (blob && oci_digest_check(blob, NULL, &e) < 0)
		errx(2, "--blob: %s", e.msg);
	if ((c = oci_archive_parse(argv[0], &archive, &e)) < 0)
		errx(2, "%s", e.msg);
	if (c > 0 && (manifest || blob))
		errx(2, "--manifest and --blob read a registry, not %s", argv[0]);
	if (c > 0)
		return fetch_archive(&archive, argv[1], &po);
	if (mirror && oci_host_check(mirror, &e) < 0)
		errx(2, "--mirror: %s", e.msg);
	if (oci_source_parse(argv[0], &src, &e) < 0)
		errx(2, "%s", e.msg);
	oci_say("source %s/%s%s%s%s%s (served at %s)", src.registry, src.repo, src.tag ? ":" : "",
	    src.tag ? src.tag : "", src.digest ? "@" : "", src.digest ? src.digest : "", src.host);
	if (creds) {
		ro.user = creds;
		if ((end = strchr(creds, ':'))) {
			*end = '\0';
			ro.pass = end + 1;
		} else if ((ro.pass = getpass("Password: ")) == NULL) {
			errx(2, "--creds %s: no :PASS and no terminal to ask for it", creds);
		}
	}
	if (!manifest && !blob) {
		if (oci_ref_parse(argv[1], &dest, &e) < 0)
			errx(2, "%s", e.msg);
		if (dest.digest)
			errx(2, "%s: the destination is LAYOUT[:TAG]; the digest is the image's own", argv[1]);
		po.tag = dest.tag ? dest.tag : src.tag;
	}
	if (!oci_quiet && !oci_verbose && isatty(STDERR_FILENO)) {
		ro.progress = draw;
		ro.progress_arg = &lines;
	}

	job.manifest = manifest;
	job.blob = blob;
	job.po = &po;
	if (!manifest && !blob && oci_layout_create(dest.layout, &job.l, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_pull_through(&src, mirror, &ro, run_job, &job, &e) < 0)
		errx(1, "%s", e.msg);
	if (job.l) {
		oci_desc_write(stdout, job.desc);
		json_decref(job.desc);
		oci_layout_close(job.l);
		oci_ref_free(&dest);
	}
	oci_source_free(&src);
	if (oci_stdout_ok() < 0)
		err(1, "stdout");
	return 0;
}
