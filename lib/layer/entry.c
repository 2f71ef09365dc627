/*
 * lib/layer/entry.c — a tar entry's name, as every layer reader takes it.
 *
 * oci-untar writes what a layer's entries say and oci-diff models it in
 * memory: both must refuse the same names and see the same whiteouts, so
 * the rules live here once.  A name is cleaned as if the root were "/"
 * ("./a", "a/" and "/a" are all "a"); ".." is refused, never resolved
 * (image-spec layer.md: entries are paths inside the layer).  ".wh." names
 * are whiteouts (image-spec layer.md "Whiteouts"); one that names nothing,
 * "." or ".." is refused.  "./" itself is in many layers and changes
 * nothing: the root is never replaced.
 *
 * A set of such paths (struct oci_pathset) is how oci-untar remembers what
 * a layer wrote, which its own whiteouts must not delete.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "layer.h"

int
oci_clean_path(const char *in, char *out, struct oci_err *e)
{
	const char *p = in, *end;
	size_t n = 0, k;

	while (*p) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		k = end - p;
		if (k == 0 || (k == 1 && p[0] == '.')) {
			p = end;
			continue;
		}
		if (k == 2 && p[0] == '.' && p[1] == '.')
			return oci_fail(e, "\"%.200s\": \"..\" would leave the root", in);
		if (n + (n > 0) + k >= PATH_MAX)
			return oci_fail(e, "\"%.200s…\": name longer than PATH_MAX", in);
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, p, k);
		n += k;
		p = end;
	}
	out[n] = '\0';
	return 0;
}

int
oci_entry_name(struct archive_entry *ent, int whiteouts, struct oci_entry_name *n,
    struct oci_err *e)
{
	const char *slash;

	n->raw = archive_entry_pathname(ent);
	if (n->raw == NULL)
		n->raw = archive_entry_pathname_utf8(ent);
	if (n->raw == NULL)
		return oci_fail(e, "entry with no usable name");
	if (oci_clean_path(n->raw, n->path, e) < 0)
		return -1;
	slash = strrchr(n->path, '/');
	snprintf(n->parent, sizeof n->parent, "%.*s", slash ? (int)(slash - n->path) : 0, n->path);
	n->name = slash ? slash + 1 : n->path;
	n->hardlink = archive_entry_hardlink(ent);
	if (n->hardlink == NULL)
		n->hardlink = archive_entry_hardlink_utf8(ent);

	n->wh = whiteouts ? oci_whiteout_name(n->name, &n->wh_target) : OCI_WH_NONE;
	if (n->wh == OCI_WH_BAD)
		return oci_fail(e, "\"%.200s\": refusing a whiteout that names nothing, . or ..", n->raw);
	if (n->wh != OCI_WH_NONE || n->path[0] != '\0')
		return 1;
	if (archive_entry_filetype(ent) == AE_IFDIR && n->hardlink == NULL)
		return 0;
	return oci_fail(e, "\"%.200s\": an entry may not replace the root", n->raw);
}

/* ---- a set of paths ---- */

static char **
slot_of(struct oci_pathset *s, const char *p, size_t n)
{
	size_t i = oci_hash_name(p, n) & (s->cap - 1);

	while (s->v[i] && !(strncmp(s->v[i], p, n) == 0 && s->v[i][n] == '\0'))
		i = (i + 1) & (s->cap - 1);
	return &s->v[i];
}

int
oci_pathset_has(const struct oci_pathset *s, const char *p)
{
	return s->cap && *slot_of((struct oci_pathset *)s, p, strlen(p)) != NULL;
}

int
oci_pathset_add(struct oci_pathset *s, const char *p, size_t n)
{
	char **slot;

	for (;;) {
		if ((s->n + 1) * 2 > s->cap) {
			struct oci_pathset bigger = { NULL, 0, s->cap ? s->cap * 2 : 1024 };
			size_t i;
			bigger.v = calloc(bigger.cap, sizeof *bigger.v);
			if (bigger.v == NULL)
				return -1;
			for (i = 0; i < s->cap; i++)
				if (s->v[i])
					*slot_of(&bigger, s->v[i], strlen(s->v[i])) = s->v[i];
			bigger.n = s->n;
			free(s->v);
			*s = bigger;
		}
		slot = slot_of(s, p, n);
		if (*slot)
			return 0;	/* its parents are in already */
		if ((*slot = strndup(p, n)) == NULL)
			return -1;
		s->n++;
		while (n > 0 && p[n - 1] != '/')
			n--;
		if (n == 0)
			return 0;
		n--;
	}
}

void
oci_pathset_free(struct oci_pathset *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
}

uint64_t
oci_hash_name(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (n--)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}
