/*
 * lib/platform.c — which manifest of an index is for which machine.
 *
 * image-spec image-index.md: each entry may carry a platform object with
 * os, architecture and variant, in Go's names (GOOS/GOARCH).  We match the
 * way containerd's platform matcher does: a missing variant on arm64 means
 * v8, on arm v7, on amd64 v1.
 */
#include <string.h>
#include <sys/utsname.h>

#include "oci.h"

static int
copy_part(char *dst, size_t cap, const char *src, size_t n)
{
	if (n == 0 || n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

int
oci_platform_parse(const char *s, struct oci_platform *p, struct oci_err *e)
{
	const char *a, *v;

	memset(p, 0, sizeof *p);
	a = strchr(s, '/');
	if (a == NULL || copy_part(p->os, sizeof p->os, s, a - s) < 0)
		return oci_fail(e, "bad platform \"%s\": expected OS/ARCH[/VARIANT]", s);
	a++;
	v = strchr(a, '/');
	if (copy_part(p->arch, sizeof p->arch, a, v ? (size_t)(v - a) : strlen(a)) < 0 ||
	    (v && (copy_part(p->variant, sizeof p->variant, v + 1, strlen(v + 1)) < 0 ||
	    strchr(v + 1, '/'))))
		return oci_fail(e, "bad platform \"%s\": expected OS/ARCH[/VARIANT]", s);
	return 0;
}

void
oci_platform_host(struct oci_platform *p)
{
	static const struct { const char *machine, *arch, *variant; } map[] = {
		{ "x86_64", "amd64", "" },
		{ "aarch64", "arm64", "v8" },
		{ "armv7l", "arm", "v7" },
		{ "armv6l", "arm", "v6" },
		{ "i686", "386", "" },
		{ "i386", "386", "" },
		{ "ppc64le", "ppc64le", "" },
		{ "s390x", "s390x", "" },
		{ "riscv64", "riscv64", "" },
		{ "mips64", "mips64", "" },
	};
	struct utsname u;
	size_t i;

	memset(p, 0, sizeof *p);
	strcpy(p->os, "linux");
	uname(&u);
	snprintf(p->arch, sizeof p->arch, "%.31s", u.machine);
	for (i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(u.machine, map[i].machine) == 0) {
			strcpy(p->arch, map[i].arch);
			strcpy(p->variant, map[i].variant);
		}
}

const char *
oci_platform_str(const struct oci_platform *p)
{
	static char buf[96];

	snprintf(buf, sizeof buf, "%s/%s%s%s", p->os, p->arch, p->variant[0] ? "/" : "",
	    p->variant);
	return buf;
}

/* The variant an architecture has when none is written. */
static const char *
default_variant(const char *arch)
{
	if (strcmp(arch, "arm64") == 0)
		return "v8";
	if (strcmp(arch, "arm") == 0)
		return "v7";
	if (strcmp(arch, "amd64") == 0)
		return "v1";
	return "";
}

/*
 * Does a descriptor's "platform" object match want?  As container tools
 * match: arm64's variant "" equals "v8", arm's "" equals "v7", amd64's ""
 * equals "v1".  A want with no variant matches any variant.
 */
static int
oci_platform_match(const struct oci_platform *want, const json_t *platform)
{
	const char *os, *arch, *variant, *wv;

	if (!json_is_object(platform))
		return 0;
	os = json_string_value(json_object_get(platform, "os"));
	arch = json_string_value(json_object_get(platform, "architecture"));
	variant = json_string_value(json_object_get(platform, "variant"));
	if (os == NULL || arch == NULL || strcmp(os, want->os) != 0 || strcmp(arch, want->arch) != 0)
		return 0;
	if (want->variant[0] == '\0')
		return 1;
	wv = want->variant;
	if (variant == NULL || variant[0] == '\0')
		variant = default_variant(arch);
	return strcmp(wv, variant) == 0;
}

const json_t *
oci_platform_pick(const json_t *index, const struct oci_platform *want, struct oci_err *e)
{
	const json_t *list = json_object_get(index, "manifests"), *m;
	char have[512] = "";
	size_t i, n;

	/* image-spec image-index.md: the first entry that matches wins. */
	json_array_foreach(list, i, m)
		if (oci_platform_match(want, json_object_get(m, "platform")))
			return m;
	/*
	 * A nested index often has no platform of its own (it holds
	 * several): follow the first such one, as containerd does.
	 */
	json_array_foreach(list, i, m)
		if (json_object_get(m, "platform") == NULL &&
		    oci_media_kind(json_string_value(json_object_get(m, "mediaType"))) == OCI_KIND_INDEX)
			return m;
	json_array_foreach(list, i, m) {
		const json_t *p = json_object_get(m, "platform");
		const char *os = json_string_value(json_object_get(p, "os"));
		const char *ar = json_string_value(json_object_get(p, "architecture"));
		const char *va = json_string_value(json_object_get(p, "variant"));

		n = strlen(have);
		if (os && ar)
			snprintf(have + n, sizeof have - n, "%s%s/%s%s%s", n ? ", " : "", os, ar,
			    va ? "/" : "", va ? va : "");
	}
	oci_fail(e, "no manifest for %s (it has: %s)", oci_platform_str(want),
	    have[0] ? have : "none");
	return NULL;
}
