/*
 * oci-index — the entry point of an image layout: index.json.
 *
 * image-spec image-layout.md: index.json is an image index whose entries
 * point at the layout's images; an entry's tag is its
 * org.opencontainers.image.ref.name annotation.  oci-index prints those
 * entries as descriptors (one compact JSON object per line), finds one by
 * tag or digest, follows image indexes (image-index.md) down to a
 * platform's manifest, draws the whole layout as a tree, and adds or
 * removes tags, rewriting index.json atomically under a lock.
 *
 *     oci-index bb:latest | oci-manifest bb
 */
#include <dirent.h>
#include <err.h>
#include <getopt.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

/*
 * What this run does.  --tree, --init, --tag and --untag are their own
 * getopt codes, numbered from 0x100 as every long-only option is.
 */
enum mode { LOOKUP, TREE = 0x100, INIT, TAG, UNTAG };

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f,
	    "usage: oci-index [-qv] [-p OS/ARCH[/VARIANT]] IMAGE|LAYOUT\n"
	    "       oci-index [-qv] [-p OS/ARCH[/VARIANT]] --tree IMAGE|LAYOUT\n"
	    "       oci-index [-qv] --init LAYOUT\n"
	    "       oci-index [-qv] --tag TAG LAYOUT\n"
	    "       oci-index [-qv] --untag TAG LAYOUT\n");
	exit(f == stdout ? 0 : 2);
}

/* ---- looking up: IMAGE or LAYOUT, and -p ---- */

/*
 * LAYOUT alone prints every entry of index.json; IMAGE prints the entry
 * its tag or digest names; -p then follows image indexes to the manifest
 * for that platform and prints the manifest's descriptor instead.
 */
static void
lookup(const struct oci_ref *ref, const struct oci_platform *platform)
{
	struct oci_layout *l;
	struct oci_err e;
	json_t *index, *desc, *mdesc, *doc, *entry;
	char *buf;
	size_t len, i;

	if (oci_layout_open(ref->layout, &l, &e) < 0)
		errx(1, "%s", e.msg);
	if (ref->tag == NULL && ref->digest == NULL && platform == NULL) {
		if ((index = oci_index_load(l, &e)) == NULL)
			errx(1, "%s", e.msg);
		oci_say("%s/index.json: %zu entr%s", l->path,
		    json_array_size(json_object_get(index, "manifests")),
		    json_array_size(json_object_get(index, "manifests")) == 1 ? "y" : "ies");
		json_array_foreach(json_object_get(index, "manifests"), i, entry)
			oci_desc_write(stdout, entry);
		json_decref(index);
		goto out;
	}
	if (oci_image_entry(l, ref, &desc, &e) < 0)
		errx(1, "%s", e.msg);
	if (platform == NULL) {
		oci_desc_write(stdout, desc);
	} else {
		if (oci_resolve_manifest(l, desc, platform, &mdesc, &buf, &len, &doc, &e) < 0)
			errx(1, "%s", e.msg);
		oci_desc_write(stdout, mdesc);
		json_decref(mdesc);
		json_decref(doc);
		free(buf);
	}
	json_decref(desc);
out:
	oci_layout_close(l);
}

/* ---- --tree: a drawing, as tree(1) draws a directory ---- */

struct tree {
	struct oci_layout *layout;
	const char *branch, *last, *pipe, *blank;	/* "├── " "└── " "│   " "    " */
	const char *bad;	/* "✗", marking a problem */
	json_t *seen;		/* digests of documents already drawn in full */
	struct oci_err first;	/* the first problem found; drawing goes on */
	int problems;
};

static void tree_node(struct tree *t, const json_t *desc, const char *prefix, int last,
    int depth);

/* Draw a list of descriptors as the children of a node. */
static void
tree_children(struct tree *t, const json_t *list, const json_t *config, const char *prefix,
    int depth)
{
	size_t i, n = json_array_size(list);
	const json_t *c;

	if (config)
		tree_node(t, config, prefix, n == 0, depth);
	json_array_foreach(list, i, c)
		tree_node(t, c, prefix, i + 1 == n, depth);
}

static void
tree_problem(struct tree *t, const char *prefix, struct oci_err *e)
{
	printf("%s%s%s %s\n", prefix, t->last, t->bad, e->msg);
	if (t->problems++ == 0)
		t->first = *e;
}

static void
tree_node(struct tree *t, const json_t *desc, const char *prefix, int last, int depth)
{
	const json_t *p = json_object_get(desc, "platform");
	const char *tag = oci_desc_tag(desc), *os, *arch, *variant;
	char *buf = NULL, sub[4096];
	enum oci_kind kind;
	struct oci_desc d;
	struct oci_err e;
	json_t *doc = NULL;
	size_t len;

	snprintf(sub, sizeof sub, "%s%s", prefix, last ? t->blank : t->pipe);
	if (oci_desc_parse(desc, &d, &e) < 0) {
		printf("%s%s?\n", prefix, last ? t->last : t->branch);
		tree_problem(t, sub, &e);
		return;
	}
	/* Media types, platforms and tags come from the layout: escaped for the terminal. */
	printf("%s%s%s %s (%s)", prefix, last ? t->last : t->branch,
	    oci_printable(oci_media_short(d.media_type)), oci_short(d.digest), oci_human_size(d.size));
	os = json_string_value(json_object_get(p, "os"));
	arch = json_string_value(json_object_get(p, "architecture"));
	variant = json_string_value(json_object_get(p, "variant"));
	if (os && arch)
		printf(" %s/%s%s%s", oci_printable(os), oci_printable(arch), variant ? "/" : "",
		    variant ? oci_printable(variant) : "");
	if (tag)
		printf(" tag %s", oci_printable(tag));
	kind = oci_media_kind(d.media_type);
	if (kind != OCI_KIND_INDEX && kind != OCI_KIND_MANIFEST && kind != OCI_KIND_SCHEMA1) {
		putchar('\n');
		return;
	}
	/* A document reached twice (the same manifest under two tags) is drawn once. */
	if (json_object_get(t->seen, d.digest)) {
		printf(" (shown above)\n");
		return;
	}
	putchar('\n');
	json_object_set_new(t->seen, d.digest, json_true());
	if (depth >= 8) {
		oci_fail(&e, "image indexes nested more than 8 deep");
		tree_problem(t, sub, &e);
		return;
	}
	if (oci_blob_read(t->layout, d.digest, d.size, &buf, &len, &e) < 0) {
		tree_problem(t, sub, &e);
	} else if (oci_doc_parse(buf, len, d.media_type, &doc, &kind, &e) < 0) {
		oci_context(&e, "%s %s", oci_media_short(d.media_type), oci_short(d.digest));
		tree_problem(t, sub, &e);
	} else if (kind == OCI_KIND_INDEX) {
		tree_children(t, json_object_get(doc, "manifests"), NULL, sub, depth + 1);
	} else {
		tree_children(t, json_object_get(doc, "layers"), json_object_get(doc, "config"), sub,
		    depth + 1);
	}
	json_decref(doc);
	free(buf);
}

/*
 * The root is the argument as given; its children are index.json's
 * entries (all of them for LAYOUT, the one named for IMAGE, or the
 * platform's manifest with -p), drawn down to configs and layers.
 */
static void
tree(const char *arg, const struct oci_ref *ref, const struct oci_platform *platform)
{
	struct tree t = { 0 };
	struct oci_err e;
	json_t *index, *list, *desc, *mdesc, *doc;
	char *buf;
	size_t len;

	setlocale(LC_CTYPE, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") == 0) {
		t.branch = "├── ", t.last = "└── ", t.pipe = "│   ", t.blank = "    ", t.bad = "✗";
	} else {
		t.branch = "|-- ", t.last = "`-- ", t.pipe = "|   ", t.blank = "    ", t.bad = "!";
	}
	t.seen = json_object();
	if (oci_layout_open(ref->layout, &t.layout, &e) < 0)
		errx(1, "%s", e.msg);
	list = json_array();
	if (ref->tag == NULL && ref->digest == NULL && platform == NULL) {
		if ((index = oci_index_load(t.layout, &e)) == NULL)
			errx(1, "%s", e.msg);
		json_array_extend(list, json_object_get(index, "manifests"));
		json_decref(index);
	} else {
		if (oci_image_entry(t.layout, ref, &desc, &e) < 0)
			errx(1, "%s", e.msg);
		if (platform) {
			if (oci_resolve_manifest(t.layout, desc, platform, &mdesc, &buf, &len, &doc,
			    &e) < 0)
				errx(1, "%s", e.msg);
			json_decref(doc);
			free(buf);
			json_decref(desc);
			desc = mdesc;
		}
		json_array_append_new(list, desc);
	}
	printf("%s\n", arg);
	tree_children(&t, list, NULL, "", 0);
	if (t.problems)
		errx(1, "%s%s%s", t.first.msg, t.problems > 1 ? " (and more problems, marked " : "",
		    t.problems > 1 ? t.bad : "");
	json_decref(list);
	json_decref(t.seen);
	oci_layout_close(t.layout);
}

/* ---- --init, --tag, --untag: editing index.json ---- */

/*
 * --init on an existing layout leaves it as it is, as mkdir -p would; it
 * never turns a directory that holds other things into a layout.
 */
static void
init(const char *path)
{
	struct oci_layout *l;
	struct oci_err e;

	if (access(path, F_OK) == 0 && oci_layout_open(path, &l, &e) == 0) {
		oci_say("%s is already an OCI layout", path);
	} else {
		if (access(path, F_OK) == 0 && !oci_dir_is_empty(path))
			errx(1, "%s exists and is not an empty directory or an OCI layout", path);
		if (oci_layout_create(path, &l, &e) < 0)
			errx(1, "%s", e.msg);
		oci_say("%s: new layout (oci-layout 1.0.0, index.json with no entries)", path);
	}
	oci_layout_close(l);
}

/*
 * The descriptor must lead to an index or manifest that is really there,
 * with the bytes it promises: a tag that points at nothing is a broken
 * layout for every reader after us.
 */
static void
tag(const char *name, const char *path)
{
	struct oci_layout *l;
	struct oci_desc d;
	struct oci_err e;
	enum oci_kind kind;
	json_t *desc, *extra, *doc;
	char *buf;
	size_t len;
	int rc;

	if (isatty(STDIN_FILENO))
		oci_usage_error("--tag reads the descriptor to tag on stdin (e.g. from oci-index or oci-digest -d)");
	if ((rc = oci_desc_read(stdin, &desc, &e)) <= 0)
		errx(1, "stdin: %s", rc < 0 ? e.msg : "no descriptor to tag");
	if ((rc = oci_desc_read(stdin, &extra, &e)) != 0)
		errx(1, "stdin: %s", rc < 0 ? e.msg : "more than one descriptor: --tag takes one");
	if (oci_desc_parse(desc, &d, &e) < 0)
		errx(1, "stdin: %s", e.msg);
	kind = oci_media_kind(d.media_type);
	if (kind == OCI_KIND_LAYER || kind == OCI_KIND_CONFIG)
		errx(1, "stdin: %s %s is not a manifest or an index",
		    oci_printable(oci_media_short(d.media_type)), oci_short(d.digest));
	if (oci_layout_open(path, &l, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_blob_read(l, d.digest, d.size, &buf, &len, &e) < 0 ||
	    oci_doc_parse(buf, len, d.media_type, &doc, &kind, &e) < 0)
		errx(1, "%s %s: %s", oci_printable(oci_media_short(d.media_type)),
		    oci_short(d.digest), e.msg);
	if (oci_layout_tag(l, name, desc, &e) < 0)
		errx(1, "%s", e.msg);
	oci_say("index.json: tag %s → %s %s (%lld bytes)", name, oci_media_short(d.media_type),
	    oci_short(d.digest), (long long)d.size);
	json_decref(doc);
	free(buf);
	json_decref(desc);
	oci_layout_close(l);
}

static int
edit_untag(json_t *index, void *name, struct oci_err *e)
{
	return oci_index_remove_tag(index, name, e);
}

static void
untag(const char *name, const char *path)
{
	struct oci_layout *l;
	struct oci_err e;

	if (oci_layout_open(path, &l, &e) < 0)
		errx(1, "%s", e.msg);
	if (oci_index_update(l, edit_untag, (void *)name, &e) < 0)
		errx(1, "%s/index.json: %s", path, e.msg);
	oci_say("index.json: tag %s removed", name);
	oci_layout_close(l);
}

/* What the command line asks for. */
struct args {
	enum mode mode;
	const char *name;	/* the TAG of --tag and --untag */
	struct oci_platform plat, *platform;	/* -p */
	const char *arg;	/* IMAGE or LAYOUT */
	struct oci_ref ref;	/* arg, parsed, for a lookup or --tree */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	static const struct option longopts[] = {
		OCI_COMMON_LONGOPTS,
		{ "platform", required_argument, NULL, 'p' },
		{ "tree", no_argument, NULL, TREE },
		{ "init", no_argument, NULL, INIT },
		{ "tag", required_argument, NULL, TAG },
		{ "untag", required_argument, NULL, UNTAG },
		{ NULL, 0, NULL, 0 },
	};
	const char *pflag = NULL;
	int c;

	a->mode = LOOKUP;
	while ((c = oci_getopt(argc, argv, "hvqp:", longopts, usage)) != -1) {
		switch (c) {
		case 'p': pflag = optarg; break;
		case TREE:
		case INIT:
		case TAG:
		case UNTAG:
			if (a->mode != LOOKUP && a->mode != (enum mode)c)
				oci_usage_error("--tree, --init, --tag and --untag go alone");
			a->mode = c;
			a->name = optarg;
			break;
		}
	}
	a->platform = oci_cli_platform(pflag, &a->plat);
	if (argc - optind != 1 || (a->platform && a->mode != LOOKUP && a->mode != TREE))
		usage(stderr);
	a->arg = argv[optind];
	if (a->mode == LOOKUP || a->mode == TREE)
		oci_cli_ref(a->arg, &a->ref);
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };

	parse_args(argc, argv, &a);
	switch (a.mode) {
	case LOOKUP:
		lookup(&a.ref, a.platform);
		break;
	case TREE:
		tree(a.arg, &a.ref, a.platform);
		break;
	case INIT:
		init(a.arg);
		break;
	case TAG:
		tag(a.name, a.arg);
		break;
	case UNTAG:
		untag(a.name, a.arg);
		break;
	}
	oci_ref_free(&a.ref);
	return oci_cli_done(0);
}
