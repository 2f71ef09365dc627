/*
 * oci-view — an image, a container's changes or a store as one HTML page.
 *
 * image-spec image-layout.md, image-index.md, manifest.md, config.md and
 * layer.md: the chain from index.json to the layers, each layer read as
 * oci-diff reads it (checked against its digest and diff_id, nothing
 * extracted), the changes it makes and the bytes it wastes, and the
 * config.  The page (bin/view/page.html, page.css, page.js, built into the
 * program) draws them from the data embedded in it; it asks for nothing
 * over the network.
 *
 *     oci-view -o busybox.html bb:latest
 */
#include <err.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "oci.h"

/* Made from bin/view/ by the Makefile (xxd -i). */
extern unsigned char page_html[], page_css[], page_js[];
extern unsigned int page_html_len, page_css_len, page_js_len;

static void __attribute__((noreturn))
usage(FILE *f)
{
	fprintf(f,
	    "usage: oci-view [-qv] [-p OS/ARCH[/VARIANT]] [-o FILE] IMAGE [UPPERDIR]\n"
	    "       oci-view [-qv] [-o FILE] --store STORE [NAME]\n");
	exit(f == stdout ? 0 : 2);
}

/* Each change as [path, layer, "A"|"M"|"D", type, size, from, inside, opaque]. */
static int
add_change(const struct oci_change *c, void *arg, struct oci_err *e)
{
	json_t *j = json_pack("[o, I, s#, s, I, I, b, b]", oci_json_path(c->path), (json_int_t)c->layer,
	    "AMD" + c->change, (size_t)1, oci_diff_type_name(c->type), (json_int_t)c->size,
	    (json_int_t)c->from, c->inside, c->opaque);

	if (j == NULL || json_array_append_new(arg, j) < 0)
		return oci_fail(e, "out of memory");
	return 0;
}

/* What index.json names for the image, and the index it is when it is one. */
static int
add_chain(struct oci_image *img, json_t *data, struct oci_err *e)
{
	json_t *top = img->entry, *doc = NULL;
	struct oci_desc d;
	char *buf = NULL;
	size_t len;
	enum oci_kind kind;
	int rc = -1;

	if (oci_desc_parse(top, &d, e) < 0)
		goto out;
	if (oci_media_kind(d.media_type) == OCI_KIND_INDEX) {
		oci_say("%s: an image index; every platform it has is drawn", oci_short(d.digest));
		if (oci_blob_read(img->layout, d.digest, d.size, &buf, &len, e) < 0 ||
		    oci_doc_parse(buf, len, d.media_type, &doc, &kind, e) < 0) {
			oci_context(e, "index %s", oci_short(d.digest));
			goto out;
		}
	}
	json_object_set_new(data, "chain", json_pack("{s:O, s:o, s:O, s:O}", "top", top,
	    "index", doc ? doc : json_null(), "manifest_desc", img->desc, "manifest", img->manifest));
	rc = 0;
out:
	free(buf);
	return rc;
}

/* Every layer of IMAGE, bottom first, then UPPERDIR (may be NULL), into data. */
static int
view_image(const char *arg, const struct oci_ref *ref, const char *upperdir,
    const struct oci_platform *plat, json_t *data, struct oci_err *e)
{
	json_t *changes = json_array(), *out = json_array();
	struct oci_diff_walk w = { NULL, add_change, add_change, changes };
	struct oci_diff_counts *n = NULL;
	uint64_t *files = NULL, *wasted = NULL;
	struct oci_image *img;
	struct oci_layers it;
	struct oci_diff *d = NULL;
	size_t i;
	int rc = -1;

	json_object_set_new(data, "changes", changes);
	json_object_set_new(data, "layers", out);
	if (oci_image_open_ref(ref, plat, &img, e) < 0)
		return -1;
	oci_say("%s: manifest %s", arg, oci_short(json_string_value(json_object_get(img->desc, "digest"))));
	if (oci_layers_start(img, &it, e) < 0 || add_chain(img, data, e) < 0)
		goto out;
	if ((d = oci_diff_new()) == NULL || (n = calloc(it.n + 1, sizeof *n)) == NULL ||
	    (files = calloc(it.n + 2, sizeof *files)) == NULL || (wasted = calloc(it.n + 2, sizeof *wasted)) == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	if (oci_diff_image(d, &it, upperdir, &w, n, e) < 0)
		goto out;
	if (upperdir)
		json_object_set_new(data, "upper", json_string(upperdir));
	/* As oci-diff --summary: the bytes each layer ships, and those no one sees. */
	oci_diff_bytes(d, files, wasted);
	for (i = 0; i < it.n; i++)
		json_array_append_new(out, json_pack("{s:I, s:O, s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
		    "layer", (json_int_t)i + 1, "desc", json_array_get(it.layers, i),
		    "diff_id", json_array_get(it.diff_ids, i), "tar_size", (json_int_t)n[i].tar,
		    "entries", (json_int_t)n[i].entries, "added", (json_int_t)n[i].added,
		    "modified", (json_int_t)n[i].modified, "deleted", (json_int_t)n[i].deleted,
		    "files", (json_int_t)files[i + 1], "wasted", (json_int_t)wasted[i + 1]));
	json_object_set(data, "config", it.config);
	oci_say("%zu changes in %zu layers%s", json_array_size(changes), it.n,
	    upperdir ? " and the upper directory" : "");
	rc = 0;
out:
	oci_diff_free(d);
	free(n);
	free(files);
	free(wasted);
	oci_layers_end(&it);
	oci_image_free(img);
	return rc;
}

/* The store's containers and layers, each with its l/ link and the disk it takes. */
static int
view_store(const char *store, const char *name, json_t *data, struct oci_err *e)
{
	json_t *list = oci_store_list(store, e), *o;
	char path[PATH_MAX], link[64];
	const char *dirs[] = { "", "-init" };
	uint64_t bytes;
	size_t i, k;
	FILE *f;

	if (list == NULL)
		return -1;
	json_object_set_new(data, "store", json_string(store));
	json_object_set_new(data, "list", list);
	json_array_foreach(list, i, o) {
		const char *id = json_string_value(json_object_get(o, "id"));
		const char *layer = json_string_value(json_object_get(o, "layer"));
		for (k = 0; k < (id ? 2 : 1); k++) {
			snprintf(path, sizeof path, "%s/%s%s", store, id ? id : layer, dirs[k]);
			if (oci_disk_usage(path, &bytes, e) < 0)
				return -1;
			json_object_set_new(o, k ? "init_disk" : "disk", json_integer((json_int_t)bytes));
			snprintf(path, sizeof path, "%s/%s%s/link", store, id ? id : layer, dirs[k]);
			if (id && (f = fopen(path, "re")) != NULL) {
				if (fgets(link, sizeof link, f) && (link[strcspn(link, "\n")] = '\0', 1))
					json_object_set_new(o, k ? "init_link" : "link", json_string(link));
				fclose(f);
			}
		}
		if (id)
			oci_say("container %s: %s on disk, its -init layer %s",
			    oci_printable(json_string_value(json_object_get(o, "container"))),
			    oci_human_size((uint64_t)json_integer_value(json_object_get(o, "disk"))),
			    oci_human_size(bytes));
		else
			oci_say("layer %.12s…: %s on disk", layer, oci_human_size(bytes));
	}
	if (name)
		json_object_set_new(data, "name", json_string(name));
	return 0;
}

/* The page to stdout, or to file (atomically: all of it or nothing). */
static int
write_page(const char *file, const json_t *data, struct oci_err *e)
{
	struct oci_view_parts p = { (char *)page_html, (char *)page_css, (char *)page_js,
		page_html_len, page_css_len, page_js_len };
	char *buf = NULL, dir[PATH_MAX], base[PATH_MAX];
	size_t len = 0;
	FILE *m = file ? open_memstream(&buf, &len) : stdout;
	int rc = -1, dfd;

	if (m == NULL)
		return oci_fail_errno(e, "out of memory");
	rc = oci_view_page(m, &p, data, e);
	if (!file)
		return rc;
	fclose(m);
	if (rc == 0) {
		snprintf(dir, sizeof dir, "%s", file);
		snprintf(base, sizeof base, "%s", file);
		if ((dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
			rc = oci_fail_errno(e, "%s", dir);
		else {
			rc = oci_file_replace(dfd, dir, basename(base), buf, len, 1, e);
			close(dfd);
		}
		if (rc == 0)
			oci_say("%s: %s", file, oci_human_size(len));
	}
	free(buf);
	return rc;
}

struct args {
	struct oci_platform plat, *platform;	/* -p */
	const char *out, *store;		/* -o, --store */
	const char *arg, *arg2;			/* IMAGE [UPPERDIR] or [NAME] */
	struct oci_ref ref;			/* IMAGE, parsed */
};

static void
parse_args(int argc, char *argv[], struct args *a)
{
	enum { OPT_STORE = 0x100 };
	static const struct option longopts[] = {
		{ "store", required_argument, NULL, OPT_STORE },
		{ "platform", required_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		OCI_COMMON_LONGOPTS,
		{ NULL, 0, NULL, 0 }
	};
	const char *pflag = NULL;
	int c;

	while ((c = oci_getopt(argc, argv, "o:p:hvq", longopts, usage)) != -1) {
		switch (c) {
		case OPT_STORE: a->store = optarg; break;
		case 'o': a->out = optarg; break;
		case 'p': pflag = optarg; break;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 2 || (a->store ? pflag != NULL || argc > 1 : argc < 1))
		usage(stderr);
	a->platform = oci_cli_platform(pflag, &a->plat);
	a->arg = argc > 0 ? argv[0] : NULL;
	a->arg2 = argc > 1 ? argv[1] : NULL;
	if (a->store == NULL)
		oci_cli_ref(a->arg, &a->ref);
}

int
main(int argc, char *argv[])
{
	struct args a = { 0 };
	json_t *data = json_object();
	struct oci_err e;

	parse_args(argc, argv, &a);
	json_object_set_new(data, "view", json_string(a.store ? "store" : "image"));
	if (!a.store)
		json_object_set_new(data, "image", json_string(a.arg));
	if ((a.store ? view_store(a.store, a.arg, data, &e) :
	    view_image(a.arg, &a.ref, a.arg2, a.platform, data, &e)) < 0 || write_page(a.out, data, &e) < 0)
		errx(1, "%s", e.msg);
	json_decref(data);
	oci_ref_free(&a.ref);
	return oci_cli_done(0);
}
