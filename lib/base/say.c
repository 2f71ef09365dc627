/*
 * lib/base/say.c — what the library has to tell people, and digests, sizes and
 * untrusted text in a form people can read.
 *
 * The library never prints.  The -v teaching voice (oci_say), warnings
 * (oci_warn) and the progress of a long step (oci_meter) are made into one
 * line each here and handed to the reporter the program set; with none set
 * they go nowhere.  How a line reaches a person ("oci-X: " in front, on
 * stderr; -q; a meter redrawn in place) is the program's business:
 * lib/cli/cli.c for the oci-* programs.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base.h"

int oci_verbose;
int oci_progress;

static oci_reporter *reporter;

void
oci_set_reporter(oci_reporter *fn)
{
	reporter = fn;
}

static void
vreport(enum oci_report kind, const char *fmt, va_list ap)
{
	char line[4096];
	char safe[4096];

	/* One call per line, so that lines from parallel workers don't mix. */
	vsnprintf(line, sizeof line, fmt, ap);
	reporter(kind, oci_escape(safe, sizeof safe, line), NULL);
}

void
oci_say(const char *fmt, ...)
{
	va_list ap;

	if (!oci_verbose || reporter == NULL)
		return;
	va_start(ap, fmt);
	vreport(OCI_REPORT_SAY, fmt, ap);
	va_end(ap);
}

void
oci_warn(const char *fmt, ...)
{
	va_list ap;

	if (reporter == NULL)
		return;
	va_start(ap, fmt);
	vreport(OCI_REPORT_WARN, fmt, ap);
	va_end(ap);
}

static int meter_shown;		/* the reporter has a meter out */
static double meter_next;	/* when the next one may be sent */

/* The one throttle: a meter at most ten times a second (the first one at once). */
static int
meter_due(void)
{
	double t;

	if (!oci_progress || reporter == NULL)
		return 0;
	t = oci_now();
	if (meter_shown && t < meter_next)
		return 0;
	meter_next = t + 0.1;
	meter_shown = 1;
	return 1;
}

void
oci_meter(const char *what, uint64_t done, int64_t total)
{
	char safe[80];
	struct oci_meter_line line = { safe, done, total };
	struct oci_meter m = { &line, 1, 0, 0, 0, 0 };

	if (!meter_due())
		return;
	oci_escape(safe, sizeof safe, what);
	reporter(OCI_REPORT_METER, "", &m);
}

void
oci_meter_blobs(void *arg, const struct oci_progress *p)
{
	static char what[64][80];
	struct oci_meter_line lines[64];
	struct oci_meter m = { lines, 0, p->done, p->total, p->bytes, p->total_bytes };

	(void)arg;
	if (p->final) {
		oci_meter_done();
		return;
	}
	if (!meter_due())
		return;
	for (; m.n < p->nactive && m.n < 64; m.n++) {
		const struct oci_progress_blob *b = &p->active[m.n];
		oci_escape(what[m.n], sizeof what[m.n], oci_short(b->digest));
		lines[m.n] = (struct oci_meter_line){ what[m.n], b->got, b->size };
	}
	reporter(OCI_REPORT_METER, "", &m);
}

void
oci_meter_done(void)
{
	if (meter_shown && reporter)
		reporter(OCI_REPORT_METER_DONE, "", NULL);
	meter_shown = 0;
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
