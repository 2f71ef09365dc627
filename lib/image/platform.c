/*
 * lib/image/platform.c — which manifest of an index is for which machine.
 *
 * image-spec image-index.md: each entry may carry a platform object with
 * os, architecture and variant, in Go's names (GOOS/GOARCH).  We match the
 * way containerd's platform matcher does: a missing variant on arm64 means
 * v8, on arm v7, on amd64 v1.
 */
#include <string.h>
#include <sys/utsname.h>

#include "image.h"

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
 * How well a descriptor's "platform" suits want, as containerd's platform
 * matcher ranks it: 0 for the platform itself, once both variants are
 * normalised (none is arm64's v8, arm's v7, amd64's v1); for arm, n for a
 * variant n older that the wanted one also runs (v8 runs v7, v6 and v5;
 * v7 runs v6 and v5; v6 runs v5); -1 when it does not suit.
 */
static int
platform_rank(const struct oci_platform *want, const json_t *platform)
{
	const char *os, *arch, *variant, *wv;
	int w, h;

	if (!json_is_object(platform))
		return -1;
	os = json_string_value(json_object_get(platform, "os"));
	arch = json_string_value(json_object_get(platform, "architecture"));
	variant = json_string_value(json_object_get(platform, "variant"));
	if (os == NULL || arch == NULL || strcmp(os, want->os) != 0 || strcmp(arch, want->arch) != 0)
		return -1;
	wv = want->variant[0] ? want->variant : default_variant(arch);
	if (variant == NULL || variant[0] == '\0')
		variant = default_variant(arch);
	if (strcmp(wv, variant) == 0)
		return 0;
	if (strcmp(arch, "arm") == 0 && wv[0] == 'v' && variant[0] == 'v' &&
	    strlen(wv) == 2 && strlen(variant) == 2) {
		w = wv[1] - '0';
		h = variant[1] - '0';
		if (w <= 8 && h >= 5 && h < w)
			return w - h;
	}
	return -1;
}

int
oci_platform_match(const struct oci_platform *want, const json_t *platform)
{
	return platform_rank(want, platform) >= 0;
}

const json_t *
oci_platform_pick(const json_t *index, const struct oci_platform *want, struct oci_err *e)
{
	const json_t *list = json_object_get(index, "manifests"), *m;
	char have[512] = "";
	size_t i, n;

	/*
	 * The best entry by containerd's ranking (platform_rank), not the
	 * first that would run; among equals, the first (image-spec
	 * image-index.md leaves the choice among matches to the client).
	 */
	const json_t *best = NULL;
	int r, best_rank = -1;

	json_array_foreach(list, i, m) {
		r = platform_rank(want, json_object_get(m, "platform"));
		if (r >= 0 && (best == NULL || r < best_rank)) {
			best = m;
			best_rank = r;
		}
	}
	if (best)
		return best;
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
