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

/* store.c: STORE opened (made when create) and locked, what a killed run left cleared; closed, unlocked. */
int oci_store_open(const char *path, int create, struct store *s, struct oci_err *e);
void oci_store_close(struct store *s);
/* STORE/xattrs says the layers carry user.overlay.* (user 1) or trusted.overlay.*, or is written so. */
int oci_store_same_xattrs(struct store *s, int user, struct oci_err *e);

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
/* The chain id of a layer with diff_id over the layers whose chain id is below (NULL: none). */
void oci_store_chain_id(const char *below, const char *diff_id, char out[OCI_DIGEST_MAX]);

#endif
