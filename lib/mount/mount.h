/*
 * lib/mount/mount.h — the mount wing: overlayfs mounts and the store of
 * extracted layers and containers.
 *
 * The wing's public functions, each under the heading of the file in
 * lib/mount/ that defines it.  A wing sees only itself and the wings below
 * it (CONTRIBUTING.md, "The library"); lib/oci.h gathers them all.
 */
#ifndef OCI_MOUNT_H
#define OCI_MOUNT_H

#include "run/run.h"

/* -------------------------------------------------------------- overlay.c */

/*
 * overlayfs (overlay.c).  lower is top layer first, as overlayfs wants it;
 * upper and work may be NULL (a read-only mount).  userxattr: mount with
 * "userxattr" (inside a user namespace: user.overlay.* xattrs).
 */
struct oci_overlay {
	char **lower;
	size_t nlower;
	char *upper, *work, *merged;
	char *dir;	/* oci_overlay_layers' DIR, for short links in DIR/l (or NULL) */
	/* A store's container (store.c): the lower directories' short links
	 * ("l/…", relative to dir, one per lower), and the container id; NULL
	 * for oci_overlay_layers and a hand-made mount. */
	char **links;
	char *id;
	int userxattr;
};
/* May this process mount overlayfs?  The error says why not (privilege, no overlayfs). */
int oci_overlay_can_mount(struct oci_err *e);
/*
 * Mount with fsconfig(2), one "lowerdir+" per layer (Linux 6.8), so that
 * many layers fit.  Without it (or with OCI_OVERLAY_NO_LOWERDIR_PLUS=1 in
 * the environment) mount(2) gets one option string of at most a page, from
 * inside o->dir with short links in o->dir/l when o->dir is set.  The
 * mount is registered with lib/base/undo.c: a run that does not end well
 * (oci_undo_keep_all) takes it down again.
 */
int oci_overlay_mount(const struct oci_overlay *o, const char *merged, struct oci_err *e);
/*
 * The same mount as a mount(8) command line, quoted for sh; with o->dir's
 * short links when oci_overlay_mount would use them or the line would not
 * fit mount(2)'s page ("cd DIR && mount …").  Caller frees; NULL on error.
 */
char *oci_overlay_mount_line(const struct oci_overlay *o, const char *merged, struct oci_err *e);
int oci_overlay_umount(const char *path, struct oci_err *e);
/* 1 when path is the root of a mount in this mount namespace, else 0. */
int oci_overlay_is_mounted(const char *path);
/*
 * Each layer of img extracted once into dir/layers/<diff_id hex> with
 * overlay whiteouts (oci_untar_fd, OCI_WHITEOUTS_OVERLAY; user_xattrs as in
 * struct oci_untar_opts), reused when it is there already; dir/upper,
 * dir/work and dir/merged made.  o gets absolute paths; free with oci_overlay_free.
 */
int oci_overlay_layers(struct oci_image *img, const char *dir, int user_xattrs,
    struct oci_overlay *o, struct oci_err *e);
void oci_overlay_free(struct oci_overlay *o);
/*
 * {"Name":"overlay","Data":{"LowerDir":"a:b","UpperDir":…,"WorkDir":…,"MergedDir":…}},
 * as docker inspect's GraphDriver ("overlay2" for a store's container).
 */
json_t *oci_overlay_graphdriver(const struct oci_overlay *o);

/* ----------------------------------- store.c, store_layer.c, store_link.c */

/*
 * A store of containers that share their image layers, laid out like
 * docker's overlay2 directory (store.c says how and where it differs):
 *
 *   STORE/<chain id hex>/{diff/,link,lower}     an image layer, extracted once
 *   STORE/<id>-init/{diff/,link,lower,work/}    a container's init layer
 *   STORE/<id>/{diff/,link,lower,work/,merged/} its writable layer and its mount
 *   STORE/l/<26 letters and digits>             -> ../<dir>/diff, one per layer
 *   STORE/containers/<id>/config.json           {"ID","Name","Image","Layers"}
 *   STORE/xattrs                                which overlayfs xattrs the layers carry
 *
 * Every change to the store is made holding flock(2) on STORE itself.
 */
struct oci_store_opts {
	const char *image;	/* IMAGE as the user named it, for config.json */
	int user_xattrs;	/* as struct oci_untar_opts */
	/*
	 * NULL, or asked before a layer missing from the store is extracted:
	 * 1 when it hands over t, a temporary directory beside the layer's
	 * whose diff/ holds that layer already extracted and checked against
	 * its digest and diff_id (lib/mount/store_pull.c); 0 to extract it.
	 */
	int (*ready)(void *arg, const struct oci_layers *it, struct oci_temp *t);
	void *ready_arg;
	/*
	 * 1 (oci-fetch --store): a layer put into the store is removed again
	 * if the run fails before oci_undo_keep_all, which comes when
	 * index.json names the image.  0: each layer stays once it is in.
	 */
	int provisional;
};
/*
 * Container name over img in store (made if missing): each layer of img
 * extracted unless the store has it, then name's init and writable layers.
 * A container of that name made from the same image already is reused
 * (its upper kept).  *o is ready for oci_overlay_mount(o, o->merged);
 * free with oci_overlay_free.
 */
int oci_store_create(const char *store, struct oci_image *img, const char *name,
    const struct oci_store_opts *so, struct oci_overlay *o, struct oci_err *e);
/* The container name (or its id, or a unique prefix of it) as an overlay. */
int oci_store_container(const char *store, const char *name, struct oci_overlay *o,
    struct oci_err *e);
/* Unmount the container if mounted here, then remove it; its layers stay. */
int oci_store_remove(const char *store, const char *name, struct oci_err *e);
/*
 * What the store holds, one object each: containers
 * {"container":NAME,"id":…,"image":…,"mounted":bool,"lower":["<dir>",…]} and
 * layers {"layer":"<dir>","link":"l/…","lower":"l/…:…","diff_id":…,"used_by":[NAME…]}.
 * Caller frees (json_decref).
 */
json_t *oci_store_list(const char *store, struct oci_err *e);
/*
 * A pull that fills a store as it goes (oci-fetch --store, in
 * lib/mount/store_pull.c): each layer is extracted into a temporary
 * directory of STORE while it downloads, read as it lands, and checked
 * against its digest and diff_id; once the pull is done,
 * oci_store_pull_finish puts the image's layers in the store (those
 * ready taken as they are, the others extracted then) as oci_store_create
 * would.  Until then nothing new in the store has its final name.
 */
struct oci_store_pull;
int oci_store_pull_open(const char *store, int user_xattrs, int jobs, struct oci_store_pull **sp,
    struct oci_err *e);
/* What the registry is to tell it (struct oci_registry_opts.watch). */
const struct oci_blob_watch *oci_store_pull_watch(struct oci_store_pull *sp);
/* struct oci_pull_opts.layers_next: the manifest's layers, to extract as they come (arg: sp). */
int oci_store_pull_layers(void *arg, struct oci_layout *l, const json_t *manifest, const char *digest,
    struct oci_err *e);
/* struct oci_pull_opts.layers_in: every layer of the manifest in the store, before index.json names it. */
int oci_store_pull_in(void *arg, struct oci_layout *l, const json_t *manifest, const char *digest,
    struct oci_err *e);
/* The same for an image already in a layout (an archive imported). */
int oci_store_pull_finish(struct oci_store_pull *sp, struct oci_image *img, struct oci_err *e);
/* Unlock the store; extractions not finished are stopped and removed. */
void oci_store_pull_close(struct oci_store_pull *sp);
/*
 * The hostname of a store's container, for a runtime to set: the first 12
 * hex digits of its id, as docker's default hostname, when dir is its
 * merged directory (STORE/<id>/merged).  0 with out set; -1 when dir is not one.
 */
int oci_store_hostname(const char *dir, char out[13]);

#endif /* OCI_MOUNT_H */
