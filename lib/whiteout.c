/*
 * lib/whiteout.c — how a layer says "deleted".
 *
 * image-spec layer.md "Whiteouts": in a tar, ".wh.NAME" deletes NAME from
 * the layers below, and ".wh..wh..opq" in a directory hides everything the
 * lower layers had there.  overlayfs says the same on disk with a 0:0
 * character device and an "opaque" xattr on a directory.  These few
 * predicates are shared by everything that converts one form to the other.
 */
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "oci.h"

enum oci_wh
oci_whiteout_name(const char *base, const char **target)
{
	const char *name;

	if (strncmp(base, OCI_WH_PREFIX, 4) != 0)
		return OCI_WH_NONE;
	if (strcmp(base, OCI_WH_OPAQUE) == 0)
		return OCI_WH_OPAQUE_DIR;
	name = base + 4;
	/* ".wh." alone, ".wh..", ".wh..." or ".wh..wh.X" would name ., .. or a marker. */
	if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strncmp(name, OCI_WH_PREFIX, 4) == 0 || strchr(name, '/'))
		return OCI_WH_BAD;
	if (target)
		*target = name;
	return OCI_WH_FILE;
}

int
oci_is_overlay_whiteout(const struct stat *st)
{
	return S_ISCHR(st->st_mode) && major(st->st_rdev) == 0 && minor(st->st_rdev) == 0;
}

int
oci_overlay_is_opaque(int dirfd)
{
	static const char *names[] = { "trusted.overlay.opaque", "user.overlay.opaque" };
	char v[4];
	ssize_t n;
	size_t i;

	for (i = 0; i < 2; i++) {
		n = fgetxattr(dirfd, names[i], v, sizeof v);
		if (n == 1 && v[0] == 'y')
			return 1;
	}
	return 0;
}

int
oci_is_overlay_xattr(const char *name)
{
	return strncmp(name, "trusted.overlay.", 16) == 0 ||
	    strncmp(name, "user.overlay.", 13) == 0;
}
