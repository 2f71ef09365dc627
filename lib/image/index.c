/*
 * lib/image/index.c — index.json, the entry point of a layout.
 *
 * image-spec image-layout.md: index.json is an image index whose entries
 * may be named with the org.opencontainers.image.ref.name annotation (a
 * tag).  Readers take it as it is; writers replace it atomically under a
 * lock so that concurrent taggers never lose each other's work.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "image.h"

#define REF_NAME "org.opencontainers.image.ref.name"

json_t *
oci_index_load(struct oci_layout *l, struct oci_err *e)
{
	json_t *doc;
	enum oci_kind kind;
	struct stat st;
	char *buf;
	ssize_t n;
	size_t len = 0;
	int fd;

	fd = openat(l->dirfd, "index.json", OCI_OPEN_FILE);
	if (fd < 0) {
		oci_fail_errno(e, "%s/index.json", l->path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > OCI_DOC_MAX) {
		close(fd);
		oci_fail(e, "%s/index.json: not a regular file of at most %d bytes", l->path, OCI_DOC_MAX);
		return NULL;
	}
	buf = malloc(st.st_size + 1);
	if (buf == NULL) {
		close(fd);
		oci_fail(e, "out of memory");
		return NULL;
	}
	while (len < (size_t)st.st_size && (n = read(fd, buf + len, st.st_size - len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	if (oci_doc_parse(buf, len, OCI_MT_INDEX, &doc, &kind, e) == 0 && kind != OCI_KIND_INDEX) {
		json_decref(doc);
		doc = NULL;
		oci_fail(e, "not an image index");
	}
	if (doc == NULL) {
		free(buf);
		oci_context(e, "%s/index.json", l->path);
		return NULL;
	}
	free(buf);
	return doc;
}

const char *
oci_desc_tag(const json_t *desc)
{
	return json_string_value(json_object_get(json_object_get(desc, "annotations"), REF_NAME));
}

/* Does a ref.name match a tag?  Either exactly, or as a full reference ending in ":tag". */
static int
tag_exact(const char *name, const char *tag)
{
	return name && strcmp(name, tag) == 0;
}

static int
tag_suffix(const char *name, const char *tag)
{
	size_t n, t;

	if (name == NULL)
		return 0;
	n = strlen(name);
	t = strlen(tag);
	return n > t + 1 && name[n - t - 1] == ':' && strcmp(name + n - t, tag) == 0 &&
	    strchr(name + n - t, '/') == NULL;
}

int
oci_index_find(const json_t *index, const struct oci_ref *ref, json_t **desc, struct oci_err *e)
{
	const json_t *list = json_object_get(index, "manifests"), *d, *found = NULL;
	char known[512] = "";
	size_t i, hits = 0;
	struct oci_desc dd;

	*desc = NULL;
	if (ref->digest) {
		json_array_foreach(list, i, d)
			if (oci_desc_parse(d, &dd, e) == 0 && strcmp(dd.digest, ref->digest) == 0) {
				found = d;
				break;
			}
		if (!found)
			return oci_fail(e, "no manifest %s in %s/index.json", oci_short(ref->digest), ref->layout);
	} else if (ref->tag) {
		json_array_foreach(list, i, d)
			if (tag_exact(oci_desc_tag(d), ref->tag))
				found = d;
		if (!found) {
			json_array_foreach(list, i, d)
				if (tag_suffix(oci_desc_tag(d), ref->tag)) {
					found = d;
					hits++;
				}
			if (hits > 1)
				return oci_fail(e, "tag \"%s\" is ambiguous in %s/index.json", ref->tag, ref->layout);
		}
		if (!found) {
			json_array_foreach(list, i, d) {
				const char *t = oci_desc_tag(d);
				size_t n = strlen(known);
				if (t && n + strlen(t) + 3 < sizeof known)
					snprintf(known + n, sizeof known - n, "%s%s", n ? ", " : "", t);
			}
			return oci_fail(e, "no tag \"%s\" in %s/index.json (tags: %s)", ref->tag,
			    ref->layout, known[0] ? known : "none");
		}
	} else {
		if (json_array_size(list) != 1)
			return oci_fail(e, "%s/index.json has %zu entries: name one with :TAG or @DIGEST",
			    ref->layout, json_array_size(list));
		found = json_array_get(list, 0);
	}
	if (oci_desc_parse(found, &dd, e) < 0)
		return oci_context(e, "%s/index.json", ref->layout);
	*desc = json_incref((json_t *)found);
	return 0;
}

/* An edit for oci_index_update: tag a descriptor, replacing that tag. */
static int
oci_index_set_tag(json_t *index, const char *tag, const json_t *desc)
{
	json_t *list = json_object_get(index, "manifests"), *copy, *ann;
	size_t i;

	/* Replacing a tag drops the entry that had it, as skopeo and umoci do. */
	for (i = 0; i < json_array_size(list);) {
		if (tag_exact(oci_desc_tag(json_array_get(list, i)), tag))
			json_array_remove(list, i);
		else
			i++;
	}
	copy = json_deep_copy(desc);
	if (copy == NULL)
		return -1;
	ann = json_object_get(copy, "annotations");
	if (!json_is_object(ann)) {
		ann = json_object();
		json_object_set_new(copy, "annotations", ann);
	}
	json_object_set_new(ann, REF_NAME, json_string(tag));
	return json_array_append_new(list, copy);
}

int
oci_index_remove_tag(json_t *index, const char *tag, struct oci_err *e)
{
	json_t *list = json_object_get(index, "manifests");
	size_t i, removed = 0;

	for (i = 0; i < json_array_size(list);) {
		if (tag_exact(oci_desc_tag(json_array_get(list, i)), tag)) {
			json_array_remove(list, i);
			removed++;
		} else {
			i++;
		}
	}
	return removed ? 0 : oci_fail(e, "no tag \"%s\" to remove", tag);
}

int
oci_index_update(struct oci_layout *l, int (*edit)(json_t *, void *, struct oci_err *),
    void *arg, struct oci_err *e)
{
	char *text = NULL;
	json_t *index = NULL;
	int rc = -1;

	/* The lock is on the layout directory itself: index.json is replaced, not rewritten. */
	while (flock(l->dirfd, LOCK_EX) < 0)
		if (errno != EINTR)
			return oci_fail_errno(e, "lock %s", l->path);
	index = oci_index_load(l, e);
	if (index == NULL)
		goto out;
	if (edit(index, arg, e) < 0)
		goto out;
	text = json_dumps(index, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (text == NULL) {
		oci_fail(e, "out of memory");
		goto out;
	}
	/*
	 * index.json is where a run's new blobs become part of the layout: the
	 * rename and the keeping of what the run made (oci_undo) happen together.
	 */
	if (oci_file_replace(l->dirfd, l->path, "index.json", text, strlen(text), 1, e) < 0)
		goto out;
	rc = 0;
out:
	free(text);
	json_decref(index);
	flock(l->dirfd, LOCK_UN);
	return rc;
}

struct tag_arg {
	const char *tag;
	const json_t *desc;
};

static int
edit_tag(json_t *index, void *arg, struct oci_err *e)
{
	struct tag_arg *t = arg;

	if (oci_index_set_tag(index, t->tag, t->desc) < 0)
		return oci_fail(e, "out of memory");
	return 0;
}

int
oci_layout_tag(struct oci_layout *l, const char *tag, const json_t *desc, struct oci_err *e)
{
	struct tag_arg t = { tag, desc };
	struct oci_desc d;

	if (oci_tag_check(tag, e) < 0)
		return -1;
	if (oci_desc_parse(desc, &d, e) < 0)
		return -1;
	return oci_index_update(l, edit_tag, &t, e);
}
