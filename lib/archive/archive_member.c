/*
 * lib/archive/archive_member.c — the members of an image archive once taken
 * (lib/archive/archive.c takes them, lib/archive/archive_docker.c reads a docker
 * archive's manifest.json): their names made plain, a member found by its
 * name through links, and the blobs the image uses given their names.  An
 * archive's names are only keys: nothing here creates a file by one.
 */
#define _GNU_SOURCE	/* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "archive_reader.h"

#define LINK_DEPTH 8

/*
 * A path inside the archive, made plain: "./a//b/" -> "a/b".  A ".." goes
 * up a level when up is set (a link's target) and is refused otherwise (a
 * member's own name: no file of an image archive has a reason for one).
 * NULL when the path is absolute or would climb out of the archive; *why
 * says which.
 */
static char *
plain_path(const char *raw, int up, const char **why)
{
	char *out = malloc(strlen(raw) + 1), *q = out;
	const char *p = raw;
	size_t n;

	*why = "out of memory";
	if (out == NULL)
		return NULL;
	if (*p == '/') {
		*why = "an absolute name";
		goto refuse;
	}
	while (*p) {
		n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			*why = up ? "outside the archive" : "a name with \"..\"";
			if (!up || q == out)
				goto refuse;
			while (q > out && q[-1] != '/')
				q--;
			if (q > out)
				q--;
		} else if (n > 0 && !(n == 1 && p[0] == '.')) {
			if (q > out)
				*q++ = '/';
			memmove(q, p, n);
			q += n;
		}
		p += n;
		p += strspn(p, "/");
	}
	*q = '\0';
	return out;
refuse:
	free(out);
	return NULL;
}

/* A member's name, made plain. */
char *
oci_archive_clean_name(const char *raw, struct oci_err *e)
{
	const char *why;
	char *name = plain_path(raw, 0, &why);

	if (name == NULL)
		oci_fail(e, "archive member \"%s\": %s", oci_printable(raw), why);
	return name;
}

/* A symlink's target, read from the member's directory. */
char *
oci_archive_link_target(const char *name, const char *target, struct oci_err *e)
{
	const char *slash = strrchr(name, '/'), *why;
	char *joined = NULL, *out = NULL;

	if (target[0] != '/' && asprintf(&joined, "%.*s%s%s", slash ? (int)(slash - name) : 0, name,
	    slash ? "/" : "", target) >= 0)
		out = plain_path(joined, 1, &why);
	else
		why = target[0] == '/' ? "outside the archive" : "out of memory";
	if (out == NULL)
		oci_fail(e, "archive member \"%s\": a link to \"%s\", %s", oci_printable(name),
		    oci_printable(target), why);
	free(joined);
	return out;
}

/* The member called name, links followed; NULL when the archive has none. */
struct member *
oci_archive_find(struct reader *r, const char *name)
{
	size_t i;
	int depth;

	for (depth = 0; name && depth < LINK_DEPTH; depth++) {
		for (i = 0; i < r->n && strcmp(r->m[i].name, name) != 0; i++)
			;
		if (i == r->n)
			return NULL;
		if (r->m[i].link == NULL)
			return &r->m[i];
		name = r->m[i].link;
	}
	return NULL;
}

/* Give the blobs the image uses their names; the others are thrown away. */
int
oci_archive_commit_used(struct reader *r, struct oci_err *e)
{
	size_t i;

	for (i = 0; i < r->n; i++) {
		struct member *m = &r->m[i];
		if (!m->used || m->w == NULL)
			continue;
		if (oci_blob_writer_commit(m->w, m->digest, (int64_t)m->size, NULL, e) < 0) {
			m->w = NULL;
			return oci_context(e, "archive member %s", oci_printable(m->name));
		}
		m->w = NULL;
	}
	return 0;
}
