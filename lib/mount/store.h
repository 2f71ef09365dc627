/*
 * lib/mount/store.h — what lib/mount/store.c, lib/mount/store_layer.c and lib/mount/store_link.c
 * share, and no other file: the store directory and the layers in it.  Not
 * part of the library's interface (that is lib/oci.h).
 */
#ifndef OCI_STORE_H
#define OCI_STORE_H

#include <limits.h>

#include "mount.h"

#define LINK_LEN 26	/* docker's overlay2 idLength */
#define ID_LEN 64	/* a container id: 32 random bytes in hex, as docker's */
#define SMALL_MAX 65536	/* link, lower, config.json, resolv.conf */

struct store {
	char path[PATH_MAX];
	int fd, lfd, cfd;	/* STORE, STORE/l, STORE/containers */
};

/* store_link.c: names (n characters of a set), and the l/ short links. */
#define HEX "0123456789abcdef"
#define BASE32 "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
/* 1 when s is n characters, each of set. */
int oci_store_all_of(const char *s, size_t n, const char *set);
/* n random characters of set (its length a power of two, at most 256) and a NUL. */
int oci_store_random_name(char *out, size_t n, const char *set, struct oci_err *e);
int oci_store_read_link(struct store *s, const char *dir, char link[LINK_LEN + 1], struct oci_err *e);
int oci_store_new_link(struct store *s, char link[LINK_LEN + 1], struct oci_err *e);
int oci_store_ensure_link(struct store *s, const char *link, const char *dir, struct oci_err *e);

/* store_layer.c: an image's layers, and a container's init and writable layers. */
int oci_store_image_layers(struct store *s, struct oci_image *img, const struct oci_store_opts *so,
    json_t *list, char *lower, char link[LINK_LEN + 1], struct oci_err *e);
int oci_store_rw_layer(struct store *s, const char *dir, const char *lower, const char *id, int init,
    char link[LINK_LEN + 1], struct oci_err *e);
void oci_store_lower_push(char *buf, size_t cap, const char *link);

#endif
