/*
 * oci-config — change what an image runs, without a new layer.
 *
 * What `buildah config` does: the config's runtime settings (image-spec
 * config.md "config": Env, Entrypoint, Cmd, WorkingDir, User, Labels) are
 * edited in a new config, each change recorded as a history entry with
 * empty_layer; a new manifest points at it and the tag moves.  With no
 * change asked for, it prints the config's bytes.
 *
 *     oci-config alpine:latest --env IMAGE=curl --entrypoint /bin/sh
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "oci.h"

enum {
	OPT_ENV = 0x100, OPT_UNSET_ENV, OPT_LABEL, OPT_UNSET_LABEL, OPT_ENTRYPOINT,
	OPT_CMD, OPT_WORKDIR, OPT_USER, OPT_SCRATCH,
};

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f, "usage: oci-config [-qv] IMAGE\n"
	    "       oci-config [-qv] [-t NEWTAG] [--scratch] IMAGE [--env K=V] [--unset-env K]\n"
	    "                  [--entrypoint ARG]... [--cmd ARG]... [--workdir DIR] [--user USER]\n"
	    "                  [--label K=V] [--unset-label K]\n");
	exit(f == stdout ? 0 : 2);
}

/* Print the config's exact bytes. */
static void
print_config(const struct oci_ref *ref)
{
	struct oci_image *img;
	struct oci_err e;
	json_t *config;
	size_t len;
	char *buf;

	if (oci_image_open_ref(ref, NULL, &img, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_image_config(img, &buf, &len, &config, &e) < 0) {
		oci_image_free(img);
		errx(1, "%s", e.msg);
	}
	fwrite(buf, 1, len, stdout);
	free(buf);
	json_decref(config);
	oci_image_free(img);
}

/* One edit in the order given; Entrypoint and Cmd arguments are gathered first. */
static int
apply(struct oci_build *b, int opt, const char *arg, struct oci_err *e)
{
	switch (opt) {
	case OPT_ENV:
	case OPT_UNSET_ENV:
		return oci_build_env(b, arg, opt == OPT_UNSET_ENV, e);
	case OPT_LABEL:
	case OPT_UNSET_LABEL:
		return oci_build_label(b, arg, opt == OPT_UNSET_LABEL, e);
	case OPT_WORKDIR:
		return oci_build_string(b, "WorkingDir", arg, e);
	default:
		return oci_build_string(b, "User", arg, e);
	}
}

/* What the command line asks for: the edits of each kind, in order (never more than argc). */
struct args {
	char **edits;		/* --env, --unset-env, --label, --unset-label, --workdir, --user */
	int *opts;		/* which option each edit came from */
	char **ep, **cmd;	/* --entrypoint ARG..., --cmd ARG... */
	int nedits, nep, ncmd;
	int scratch;		/* --scratch */
	const char *newtag;	/* -t NEWTAG */
	const char *image;	/* IMAGE, as given */
	struct oci_ref ref;	/* IMAGE, parsed */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		OCI_COMMON_LONGOPTS,
		{ "tag", required_argument, NULL, 't' },
		{ "env", required_argument, NULL, OPT_ENV },
		{ "unset-env", required_argument, NULL, OPT_UNSET_ENV },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "unset-label", required_argument, NULL, OPT_UNSET_LABEL },
		{ "entrypoint", required_argument, NULL, OPT_ENTRYPOINT },
		{ "cmd", required_argument, NULL, OPT_CMD },
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ "user", required_argument, NULL, OPT_USER },
		{ "scratch", no_argument, NULL, OPT_SCRATCH },
		{ NULL, 0, NULL, 0 },
	};
	struct oci_err e;
	int c;

	if ((a->edits = calloc(argc, sizeof *a->edits)) == NULL ||
	    (a->opts = calloc(argc, sizeof *a->opts)) == NULL ||
	    (a->ep = calloc(argc, sizeof *a->ep)) == NULL ||
	    (a->cmd = calloc(argc, sizeof *a->cmd)) == NULL)
		errx(1, "out of memory");
	while ((c = oci_getopt(argc, argv, "hqt:v", longopts, usage)) != -1) {
		switch (c) {
		case 't': a->newtag = optarg; break;
		case OPT_SCRATCH: a->scratch = 1; break;
		case OPT_ENTRYPOINT: a->ep[a->nep++] = optarg; break;
		case OPT_CMD: a->cmd[a->ncmd++] = optarg; break;
		case OPT_ENV:
		case OPT_LABEL:
			if (optarg[0] == '=' || strchr(optarg, '=') == NULL)
				oci_usage_error("%s: expected KEY=VALUE", optarg);
			/* FALLTHROUGH */
		case OPT_UNSET_ENV:
		case OPT_UNSET_LABEL:
		case OPT_WORKDIR:
		case OPT_USER:
			a->opts[a->nedits] = c;
			a->edits[a->nedits++] = optarg;
			break;
		}
	}
	if (argc - optind != 1 || (a->newtag && a->newtag[0] == '\0'))
		usage(stderr);
	a->image = argv[optind];
	oci_cli_ref(a->image, &a->ref);
	if (a->newtag && oci_tag_check(a->newtag, &e) < 0)
		oci_usage_error("-t %s: %s", a->newtag, e.msg);
}

/* A new config with the edits, a new manifest for it, and the tag moved. */
static void
edit(const struct args *a)
{
	struct oci_build *b = NULL;
	struct oci_err e;
	int i, failed;

	/* --scratch: a missing image is an empty one, as after `buildah from scratch`. */
	if (oci_build_open(a->image, &a->ref, a->newtag, a->scratch, &b, &e) < 0)
		errx(1, "%s", e.msg);
	for (i = 0; i < a->nedits; i++)
		if (apply(b, a->opts[i], a->edits[i], &e) < 0)
			break;
	failed = i < a->nedits ||
	    (a->nep && oci_build_argv(b, "Entrypoint", a->ep, a->nep, &e) < 0) ||
	    (a->ncmd && oci_build_argv(b, "Cmd", a->cmd, a->ncmd, &e) < 0) ||
	    oci_build_commit(b, stdout, &e) < 0;
	oci_build_free(b);
	if (failed)
		errx(1, "%s", e.msg);
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };

	parse_args(argc, argv, &a);
	if (a.nedits == 0 && a.nep == 0 && a.ncmd == 0 && a.newtag == NULL && !a.scratch)
		print_config(&a.ref);
	else
		edit(&a);
	oci_ref_free(&a.ref);
	free(a.edits);
	free(a.opts);
	free(a.ep);
	free(a.cmd);
	return oci_cli_done(0);
}
