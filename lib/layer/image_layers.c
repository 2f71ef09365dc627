/*
 * lib/layer/image_layers.c — an image's layers, bottom first, each with its
 * diff_id and its blob opened to be read and checked.
 *
 * image-spec manifest.md ("layers": base layer at index 0) and config.md
 * (rootfs.diff_ids, one per layer, in the same order): whoever reads an
 * image's layers — to extract them, to list their changes, to keep them
 * once in a directory or a store — walks the two arrays side by side.
 * umoci keeps this walk in one place too (oci/layer/unpack.go); here it is
 * an iterator, so that a caller that already has a layer (under its
 * diff_id) can skip it without opening its blob:
 *
 *     oci_layers_start(img, &it, e);
 *     while ((r = oci_layers_next(&it, e)) > 0)
 *             … oci_layers_open(&it, NULL, e) … oci_layer_read(&it.src, …) …
 *     oci_layers_end(&it);
 *
 * The blob is not trusted: it.src names the digest and size of the
 * manifest's descriptor and the config's diff_id, which oci_layer_read
 * (lib/layer/decompress.c) checks while it reads, failing at the end of a stream
 * that does not match.
 */
#include <string.h>
#include <unistd.h>

#include "layer.h"

int
oci_layers_start(struct oci_image *img, struct oci_layers *it, struct oci_err *e)
{
	memset(it, 0, sizeof *it);
	it->img = img;
	it->src.fd = -1;
	if (oci_image_stack(img, &it->config, &it->layers, &it->diff_ids, e) < 0)
		return -1;
	it->n = json_array_size(it->layers);
	return 0;
}

/* The blob the last oci_layers_open opened, closed again. */
static void
close_blob(struct oci_layers *it)
{
	if (it->src.fd >= 0)
		close(it->src.fd);
	it->src.fd = -1;
}

int
oci_layers_next(struct oci_layers *it, struct oci_err *e)
{
	close_blob(it);
	if (it->i == it->n)
		return 0;
	if (oci_desc_parse(json_array_get(it->layers, it->i), &it->desc, e) < 0)
		return oci_context(e, "layer %zu", it->i + 1);
	it->diff_id = json_string_value(json_array_get(it->diff_ids, it->i));
	it->i++;
	return 1;
}

int
oci_layers_open(struct oci_layers *it, const char *what, struct oci_err *e)
{
	close_blob(it);
	if ((it->src.fd = oci_blob_open(it->img->layout, it->desc.digest, e)) < 0)
		return -1;
	it->src.digest = it->desc.digest;
	it->src.size = it->desc.size;
	it->src.diff_id = it->diff_id;
	it->src.what = what;
	return 0;
}

void
oci_layers_end(struct oci_layers *it)
{
	close_blob(it);
	json_decref(it->config);
	it->config = NULL;
}
