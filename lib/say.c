/*
 * lib/say.c — what programs say to people: the -v teaching voice,
 * warnings, --version, and digests and sizes in human form.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "oci.h"

int oci_verbose;
int oci_quiet;
int oci_progress;

/* glibc sets this from argv[0]: "oci-fetch" */
extern char *program_invocation_short_name;

static void
vsay(const char *fmt, va_list ap)
{
	char line[4096];

	char safe[4096];

	/* One write per line, so that lines from parallel workers don't mix. */
	vsnprintf(line, sizeof line, fmt, ap);
	fprintf(stderr, "%s: %s\n", program_invocation_short_name,
	    oci_escape(safe, sizeof safe, line));
}

void
oci_say(const char *fmt, ...)
{
	va_list ap;

	if (!oci_verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void
oci_warn(const char *fmt, ...)
{
	va_list ap;

	if (oci_quiet)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

static int meter_drawn;		/* a progress line is on the screen */
static double meter_next;	/* when the next one may be drawn */

void
oci_meter(const char *what, uint64_t done, int64_t total)
{
	static const char bar[] = "==============================";
	char safe[80];
	struct timespec ts;
	double t;
	int fill;

	if (!oci_progress)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = ts.tv_sec + ts.tv_nsec / 1e9;
	if (meter_drawn && t < meter_next)
		return;
	meter_next = t + 0.1;
	meter_drawn = 1;
	oci_escape(safe, sizeof safe, what);
	if (total > 0) {
		fill = done >= (uint64_t)total ? 30 : (int)(30 * done / (uint64_t)total);
		fprintf(stderr, "\r\033[K%s: %s [%-30.*s] %s / %s", program_invocation_short_name, safe,
		    fill, bar, oci_human_size(done), oci_human_size((uint64_t)total));
	} else {
		fprintf(stderr, "\r\033[K%s: %s %s", program_invocation_short_name, safe,
		    oci_human_size(done));
	}
	fflush(stderr);
}

void
oci_meter_done(void)
{
	if (meter_drawn)
		fprintf(stderr, "\r\033[K");
	meter_drawn = 0;
}

void
oci_print_version(void)
{
	printf("%s (oci-*) %s\n", program_invocation_short_name, OCI_VERSION);
}

int
oci_stdout_ok(void)
{
	if (fflush(stdout) != 0 || ferror(stdout))
		return -1;
	return 0;
}

/*
 * A handful of buffers used in turn, so that several fit in one printf;
 * one set per thread, for a progress display drawn from a thread of its own.
 */
#define NBUF 8
static char *
next_buf(void)
{
	static __thread char bufs[NBUF][64];
	static __thread unsigned n;

	return bufs[n++ % NBUF];
}

const char *
oci_short(const char *digest)
{
	char *b = next_buf();
	const char *colon = strchr(digest, ':');
	size_t keep = colon ? (size_t)(colon - digest) + 1 + 12 : 12;

	if (keep > 63)
		keep = 63;
	snprintf(b, 64, "%.*s", (int)keep, digest);
	return b;
}

const char *
oci_human_size(uint64_t n)
{
	static const char *unit[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	char *b = next_buf();
	double v = (double)n;
	int u = 0;

	/* Decimal units, as docker and skopeo print sizes. */
	while (v >= 1000 && u < 5) {
		v /= 1000;
		u++;
	}
	if (u == 0)
		snprintf(b, 64, "%llu B", (unsigned long long)n);
	else
		snprintf(b, 64, v < 10 ? "%.1f %s" : "%.0f %s", v, unit[u]);
	return b;
}

/* A control character at s: its length in bytes (1, or 2 for C1 in UTF-8), else 0. */
static size_t
control_len(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;

	if (u[0] < 0x20 || u[0] == 0x7f)
		return 1;
	if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f)
		return 2;
	return 0;
}

char *
oci_escape(char *dst, size_t cap, const char *s)
{
	size_t n = 0, k, i;

	for (; *s && n + 1 < cap; s += k ? k : 1) {
		if ((k = control_len(s)) == 0) {
			dst[n++] = *s;
			continue;
		}
		if (n + 4 * k >= cap)
			break;
		for (i = 0; i < k; i++)
			n += snprintf(dst + n, cap - n, "\\x%02x", (unsigned char)s[i]);
	}
	if (cap > 0)
		dst[n] = '\0';
	return dst;
}

const char *
oci_printable(const char *s)
{
	static char bufs[4][1024];
	static unsigned n;
	const char *p;

	for (p = s; *p && control_len(p) == 0; p++)
		;
	if (*p == '\0')
		return s;
	return oci_escape(bufs[n++ % 4], sizeof bufs[0], s);
}
