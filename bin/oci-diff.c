/*
 * oci-diff — what each layer of an image changed.
 *
 * image-spec layer.md (changesets, whiteouts) and config.md
 * (rootfs.diff_ids): every layer, bottom first, is read once as a tar
 * listing, checked against its digest and diff_id, and compared with the
 * rootfs the layers below it made.  Nothing is extracted.
 *
 *     oci-diff --which /etc/passwd bb:latest
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
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
	    "usage: oci-diff [-qv] [-p OS/ARCH[/VARIANT]] [--short] IMAGE [UPPERDIR]\n"
	    "       oci-diff [-qv] [-p OS/ARCH[/VARIANT]] [--short] --which PATH IMAGE [UPPERDIR]\n"
	    "       oci-diff [-qv] [-p OS/ARCH[/VARIANT]] [--short] --summary IMAGE\n");
	exit(f == stdout ? 0 : 2);
}

struct out {
	int short_form, summary;
	const char *which;		/* cleaned, or NULL */
	const char *diff_id;		/* of the layer being read; NULL for an upperdir */
	/* which, through the symlinks of the rootfs before the layer and after it */
	struct oci_diff *d;
	char before[PATH_MAX + 1], after[PATH_MAX + 1];
	unsigned after_layer;		/* the layer after was found for */
};

/* Before each layer: its diff_id, and (--which) the name the path has in the rootfs before it. */
static void
before_layer(void *arg, size_t layer, const char *diff_id)
{
	struct out *o = arg;
	struct oci_change here;

	(void)layer;
	o->diff_id = diff_id;
	if (o->which)
		oci_diff_find(o->d, o->which, o->before, &here);
}

static int
print_change(const struct oci_change *c, void *arg, struct oci_err *e)
{
	static const char *names[] = { "added", "modified", "deleted" };
	struct out *o = arg;
	json_t *j;

	if (o->which && o->after_layer != c->layer) {
		struct oci_change here;
		oci_diff_find(o->d, o->which, o->after, &here);
		o->after_layer = c->layer;
	}
	if (o->which ? strcmp(c->path, o->before) != 0 && strcmp(c->path, o->after) != 0 : c->inside)
		return 0;
	if (o->short_form) {
		if (o->which)
			printf("layer %u: ", c->layer);
		printf("%c %s\n", "ACD"[c->change], oci_printable(c->path));
		return 0;
	}
	j = json_object();
	if (o->diff_id) {
		json_object_set_new(j, "layer", json_integer(c->layer));
		json_object_set_new(j, "diff_id", json_string(o->diff_id));
	}
	json_object_set_new(j, "path", oci_json_path(c->path));
	json_object_set_new(j, "change", json_string(names[c->change]));
	json_object_set_new(j, "type", json_string(oci_diff_type_name(c->type)));
	json_object_set_new(j, "size", json_integer(c->size));
	if (oci_desc_write(stdout, j) < 0) {
		json_decref(j);
		return oci_fail_errno(e, "stdout");
	}
	json_decref(j);
	return 0;
}

/* --summary: one line per layer, when the last layer has said what it hides. */
static int
print_summary(const struct oci_diff *d, const json_t *layers, const json_t *diff_ids,
    const struct oci_diff_counts *n, int short_form, struct oci_err *e)
{
	size_t i, nl = json_array_size(layers);
	uint64_t *files = calloc(nl + 1, sizeof *files), *wasted = calloc(nl + 1, sizeof *wasted);
	json_t *j;

	if (files == NULL || wasted == NULL) {
		free(files);
		free(wasted);
		return oci_fail(e, "out of memory");
	}
	oci_diff_bytes(d, files, wasted);
	for (i = 0; i < nl; i++) {
		const char *diff_id = json_string_value(json_array_get(diff_ids, i));
		const char *digest = json_string_value(json_object_get(json_array_get(layers, i), "digest"));
		if (short_form) {
			printf("layer %zu %s %s: %lu added, %lu modified, %lu deleted", i + 1,
			    oci_short(diff_id), oci_human_size(n[i].stored), n[i].added, n[i].modified,
			    n[i].deleted);
			printf(", %s wasted\n", oci_human_size(wasted[i + 1]));
			continue;
		}
		j = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "layer", (json_int_t)i + 1, "digest", digest, "diff_id", diff_id,
		    "size", (json_int_t)n[i].stored, "tar_size", (json_int_t)n[i].tar,
		    "entries", (json_int_t)n[i].entries,
		    "added", (json_int_t)n[i].added, "modified", (json_int_t)n[i].modified,
		    "deleted", (json_int_t)n[i].deleted, "files", (json_int_t)files[i + 1],
		    "visible", (json_int_t)(files[i + 1] - wasted[i + 1]), "wasted", (json_int_t)wasted[i + 1]);
		oci_desc_write(stdout, j);
		json_decref(j);
	}
	free(files);
	free(wasted);
	return 0;
}

/* --which: where the rootfs takes the path from, after every layer that touched it. */
static void
print_which(struct oci_diff *d, const json_t *diff_ids, struct out *o, int upper)
{
	struct oci_change c;
	char path[PATH_MAX + 1], at[PATH_MAX + 1];
	json_t *j, *from = json_null();
	int there = oci_diff_find(d, o->which, at, &c);

	snprintf(path, sizeof path, "/%s", o->which);
	if (o->short_form) {
		if (!there)
			printf("rootfs: no %s\n", oci_printable(path));
		else {
			printf("rootfs: %s", oci_printable(path));
			if (strcmp(at, path) != 0)
				printf(" is %s,", oci_printable(at));
			if (upper && c.layer > json_array_size(diff_ids))
				printf(" from the upper directory\n");
			else
				printf(" from layer %u\n", c.layer);
		}
		return;
	}
	if (there) {
		from = json_pack("{s:o, s:I, s:s, s:I}", "path", oci_json_path(at), "layer", (json_int_t)c.layer,
		    "type", oci_diff_type_name(c.type), "size", (json_int_t)c.size);
		if (c.layer <= json_array_size(diff_ids))
			json_object_set(from, "diff_id", json_array_get(diff_ids, c.layer - 1));
		else
			json_object_set_new(from, "upper", json_true());
	}
	j = json_pack("{s:o, s:o}", "path", oci_json_path(path), "rootfs", from);
	oci_desc_write(stdout, j);
	json_decref(j);
}

/* Every layer of IMAGE, bottom first; then UPPERDIR (may be NULL). */
static int
diff_image(const struct oci_ref *ref, const char *upperdir, const struct oci_platform *plat,
    struct out *o, struct oci_err *e)
{
	/* With UPPERDIR only its changes are listed (--which: all of them). */
	struct oci_diff_walk w = { before_layer,
		o->summary || (upperdir && !o->which) ? NULL : print_change, print_change, o };
	struct oci_diff_counts *n = NULL;
	struct oci_image *img;
	struct oci_layers it;
	int rc = -1;

	if (oci_image_open_ref(ref, plat, &img, e) < 0)
		return -1;
	if (oci_layers_start(img, &it, e) < 0)
		goto out;
	if ((o->d = oci_diff_new()) == NULL || (n = calloc(it.n + 1, sizeof *n)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (oci_diff_image(o->d, &it, upperdir, &w, n, e) < 0)
		goto out;
	if (o->summary && print_summary(o->d, it.layers, it.diff_ids, n, o->short_form, e) < 0)
		goto out;
	if (o->which)
		print_which(o->d, it.diff_ids, o, upperdir != NULL);
	rc = 0;
out:
	oci_diff_free(o->d);
	free(n);
	oci_layers_end(&it);
	oci_image_free(img);
	return rc;
}

/* What the command line asks for. */
struct args {
	struct out o;			/* --which, --summary, --short */
	char which[PATH_MAX];		/* --which PATH, cleaned */
	struct oci_platform plat, *platform;	/* -p */
	struct oci_ref image;		/* IMAGE */
	const char *upper;		/* [UPPERDIR] */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_WHICH = 0x100, OPT_SUMMARY, OPT_SHORT };
	static const struct option longopts[] = {
		{ "which", required_argument, NULL, OPT_WHICH },
		{ "summary", no_argument, NULL, OPT_SUMMARY },
		{ "short", no_argument, NULL, OPT_SHORT },
		{ "platform", required_argument, NULL, 'p' },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *pflag = NULL;
	struct oci_err e;
	int c;

	while ((c = oci_getopt(argc, argv, "p:hvq", longopts, usage)) != -1) {
		switch (c) {
		case OPT_WHICH:
			if (oci_clean_path(optarg, a->which, &e) < 0)
				oci_usage_error("--which: %s", e.msg);
			a->o.which = a->which;
			break;
		case OPT_SUMMARY: a->o.summary = 1; break;
		case OPT_SHORT: a->o.short_form = 1; break;
		case 'p': pflag = optarg; break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1 || argc > 2 || (a->o.summary && (a->o.which || argc != 1)))
		usage(stderr);
	if (a->o.which && a->o.which[0] == '\0')
		oci_usage_error("--which: give a path below /");
	a->platform = oci_cli_platform(pflag, &a->plat);
	oci_cli_ref(argv[0], &a->image);
	a->upper = argc == 2 ? argv[1] : NULL;
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };
	struct oci_err e;

	parse_args(argc, argv, &a);
	if (diff_image(&a.image, a.upper, a.platform, &a.o, &e) < 0)
		errx(1, "%s", e.msg);
	oci_ref_free(&a.image);
	return oci_cli_done(0);
}
