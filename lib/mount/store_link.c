/*
 * lib/mount/store_link.c — the names of a store (lib/mount/store.c): random ones for
 * containers and short links, and the l/ short links themselves, which
 * docker's overlay2 driver keeps so that a mount's lowerdir= option fits in
 * a page (moby daemon/graphdriver/overlay2/overlay.go, "idLength").  Both
 * store.c and store_layer.c use them; this file uses neither.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

/* 1 when s is n characters, each of set. */
int
oci_store_all_of(const char *s, size_t n, const char *set)
{
	return strlen(s) == n && strspn(s, set) == n;
}

/* n random characters of set (its length a power of two, at most 256). */
int
oci_store_random_name(char *out, size_t n, const char *set, struct oci_err *e)
{
	unsigned char r[ID_LEN];
	size_t k = strlen(set), i;

	if (getrandom(r, n, 0) != (ssize_t)n)
		return oci_fail_errno(e, "getrandom");
	for (i = 0; i < n; i++)
		out[i] = set[r[i] % k];
	out[n] = '\0';
	return 0;
}

/* dir's link file: its LINK_LEN-letter short name, checked. */
int
oci_store_read_link(struct store *s, const char *dir, char link[LINK_LEN + 1], struct oci_err *e)
{
	char path[256], buf[64];

	snprintf(path, sizeof path, "%s/link", dir);
	if (oci_read_text(s->fd, path, buf, sizeof buf, e) < 0)
		return oci_context(e, "%s", s->path);
	if (!oci_store_all_of(buf, LINK_LEN, BASE32))
		return oci_fail(e, "%s/%s: not a short link name", s->path, path);
	memcpy(link, buf, LINK_LEN + 1);
	return 0;
}

/* l/LINK -> ../dir/diff: made when missing; one pointing elsewhere is refused. */
int
oci_store_ensure_link(struct store *s, const char *link, const char *dir, struct oci_err *e)
{
	char want[256], got[256];
	ssize_t n;

	snprintf(want, sizeof want, "../%s/diff", dir);
	if (symlinkat(want, s->lfd, link) == 0)
		return 0;
	if (errno != EEXIST)
		return oci_fail_errno(e, "%s/l/%s", s->path, link);
	if ((n = readlinkat(s->lfd, link, got, sizeof got - 1)) < 0 ||
	    (got[n] = '\0', strcmp(got, want) != 0))
		return oci_fail(e, "%s/l/%s: not a link to %s, refusing it", s->path, link, want);
	return 0;
}

/* A fresh short link name, not in l/ yet. */
int
oci_store_new_link(struct store *s, char link[LINK_LEN + 1], struct oci_err *e)
{
	struct stat st;

	do {
		if (oci_store_random_name(link, LINK_LEN, BASE32, e) < 0)
			return -1;
	} while (fstatat(s->lfd, link, &st, AT_SYMLINK_NOFOLLOW) == 0);
	return 0;
}
