/*
 * lib/registry/regconf.c — the mirror settings of registries.conf, as skopeo and
 * podman read them (containers-registries.conf(5), version 2 format).
 *
 * The file is TOML.  Debian 12 has no C TOML library, so this is a small
 * reader of the part registries.conf uses: comments, [table] and
 * [[array.of.tables]] headers, and `key = value` lines whose value is a
 * string ("basic" or 'literal'), true/false, a number, or an array of those
 * (which may span lines).  Of the keys, it keeps
 *     [[registry]]         prefix  location  insecure  blocked  mirror-by-digest-only
 *     [[registry.mirror]]  location  insecure  pull-from-mirror
 * and reads past every other key and table.  Anything else TOML allows
 * (inline tables, multi-line strings, dotted keys) is an error naming the
 * file and line, never a guess.
 */
#define _GNU_SOURCE	/* strndup */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry.h"

#define CONF_MAX (1 << 20)	/* bytes: a registries.conf is a few KB */
#define STR_MAX 4096
#define REGISTRIES_MAX 1024
#define MIRRORS_MAX 64

struct reader {
	const char *p, *end;
	const char *name;	/* the file, for messages */
	int line;
	struct oci_err *e;
};

static int
bad(struct reader *r, const char *what)
{
	return oci_fail(r->e, "%s:%d: %s", r->name, r->line, what);
}

/* Skip blanks and a comment; stop at a newline (not consumed) or the end. */
static void
skip_blank(struct reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t'))
		r->p++;
	if (r->p < r->end && *r->p == '#')
		while (r->p < r->end && *r->p != '\n')
			r->p++;
}

/* Skip blanks, comments and newlines (inside an array). */
static void
skip_space(struct reader *r)
{
	for (;;) {
		skip_blank(r);
		if (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) {
			if (*r->p == '\n')
				r->line++;
			r->p++;
			continue;
		}
		return;
	}
}

/* The line must end here (blanks and a comment may come first). */
static int
end_of_line(struct reader *r)
{
	skip_blank(r);
	if (r->p < r->end && *r->p == '\r')
		r->p++;
	if (r->p < r->end && *r->p != '\n')
		return bad(r, "unexpected text after the value");
	return 0;
}

/* Append the UTF-8 encoding of code point c to buf (at *n, room for STR_MAX). */
static int
put_utf8(struct reader *r, char *buf, size_t *n, unsigned long c)
{
	if (c == 0 || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return bad(r, "a \\u escape that is not a character (or is NUL)");
	if (*n + 4 >= STR_MAX)
		return bad(r, "a string longer than 4096 bytes");
	if (c < 0x80) {
		buf[(*n)++] = (char)c;
	} else if (c < 0x800) {
		buf[(*n)++] = (char)(0xc0 | c >> 6);
		buf[(*n)++] = (char)(0x80 | (c & 0x3f));
	} else if (c < 0x10000) {
		buf[(*n)++] = (char)(0xe0 | c >> 12);
		buf[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		buf[(*n)++] = (char)(0x80 | (c & 0x3f));
	} else {
		buf[(*n)++] = (char)(0xf0 | c >> 18);
		buf[(*n)++] = (char)(0x80 | ((c >> 12) & 0x3f));
		buf[(*n)++] = (char)(0x80 | ((c >> 6) & 0x3f));
		buf[(*n)++] = (char)(0x80 | (c & 0x3f));
	}
	return 0;
}

/*
 * A "basic" string (escapes as TOML's) or a 'literal' one, at r->p.
 * *out is malloc'd, NUL-terminated and has no NUL inside.
 */
static int
read_string(struct reader *r, char **out)
{
	char quote = *r->p++, buf[STR_MAX];
	size_t n = 0;
	unsigned long c;
	int digits, i;

	if (r->p + 1 < r->end && r->p[0] == quote && r->p[1] == quote)
		return bad(r, "multi-line strings are not supported here");
	for (;;) {
		if (r->p >= r->end || *r->p == '\n' || *r->p == '\r')
			return bad(r, "a string that does not end on its line");
		if (*r->p == quote) {
			r->p++;
			break;
		}
		if ((unsigned char)*r->p < 0x20 && *r->p != '\t')
			return bad(r, "a control character in a string");
		if (*r->p == 0x7f)
			return bad(r, "a control character in a string");
		if (n + 1 >= STR_MAX)
			return bad(r, "a string longer than 4096 bytes");
		if (quote == '\'' || *r->p != '\\') {
			buf[n++] = *r->p++;
			continue;
		}
		if (++r->p >= r->end)
			return bad(r, "a string that does not end on its line");
		switch (*r->p++) {
		case '"': buf[n++] = '"'; break;
		case '\\': buf[n++] = '\\'; break;
		case 'b': buf[n++] = '\b'; break;
		case 't': buf[n++] = '\t'; break;
		case 'n': buf[n++] = '\n'; break;
		case 'f': buf[n++] = '\f'; break;
		case 'r': buf[n++] = '\r'; break;
		case 'u':
		case 'U':
			digits = r->p[-1] == 'u' ? 4 : 8;
			if (r->end - r->p < digits)
				return bad(r, "a short \\u escape");
			for (c = 0, i = 0; i < digits; i++, r->p++) {
				if (!isxdigit((unsigned char)*r->p))
					return bad(r, "a \\u escape needs hex digits");
				c = c * 16 + (unsigned long)(isdigit((unsigned char)*r->p) ? *r->p - '0' :
				    tolower((unsigned char)*r->p) - 'a' + 10);
			}
			if (put_utf8(r, buf, &n, c) < 0)
				return -1;
			break;
		default:
			return bad(r, "an unknown escape in a string");
		}
	}
	buf[n] = '\0';
	if ((*out = strdup(buf)) == NULL)
		return oci_fail(r->e, "out of memory");
	return 0;
}

/* A bare word: a key, true, false or a number. */
static size_t
bare_len(const struct reader *r)
{
	const char *q = r->p;

	while (q < r->end && (isalnum((unsigned char)*q) || *q == '_' || *q == '-' || *q == '+' ||
	    *q == '.'))
		q++;
	return (size_t)(q - r->p);
}

/* What a value was: a string (*s set), a boolean (*b set), or something kept no further. */
enum vtype { V_STRING, V_BOOL, V_OTHER };

static int read_value(struct reader *r, enum vtype *t, char **s, int *b, int depth);

/* An array: its elements are read and dropped (no key this reader keeps is an array). */
static int
read_array(struct reader *r, int depth)
{
	enum vtype t;
	char *s;
	int b;

	if (depth > 16)
		return bad(r, "arrays nested too deep");
	r->p++;
	for (;;) {
		skip_space(r);
		if (r->p >= r->end)
			return bad(r, "an array that does not end");
		if (*r->p == ']') {
			r->p++;
			return 0;
		}
		s = NULL;
		if (read_value(r, &t, &s, &b, depth + 1) < 0)
			return -1;
		free(s);
		skip_space(r);
		if (r->p < r->end && *r->p == ',')
			r->p++;
		else if (r->p < r->end && *r->p != ']')
			return bad(r, "expected , or ] in an array");
	}
}

static int
read_value(struct reader *r, enum vtype *t, char **s, int *b, int depth)
{
	size_t n;

	*s = NULL;
	if (r->p >= r->end)
		return bad(r, "a key with no value");
	if (*r->p == '"' || *r->p == '\'') {
		*t = V_STRING;
		return read_string(r, s);
	}
	if (*r->p == '[') {
		*t = V_OTHER;
		return read_array(r, depth);
	}
	if (*r->p == '{')
		return bad(r, "inline tables are not supported here");
	n = bare_len(r);
	if (n == 0)
		return bad(r, "a value must be a string, true, false, a number or an array");
	if ((n == 4 && strncmp(r->p, "true", 4) == 0) || (n == 5 && strncmp(r->p, "false", 5) == 0)) {
		*t = V_BOOL;
		*b = n == 4;
	} else if (isdigit((unsigned char)*r->p) || *r->p == '+' || *r->p == '-') {
		*t = V_OTHER;	/* a number (or a date): not a key kept here */
	} else {
		return bad(r, "a value must be a string, true, false, a number or an array");
	}
	r->p += n;
	return 0;
}

/* The tables this reader keeps keys of. */
enum table { T_TOP, T_REGISTRY, T_MIRROR, T_OTHER };

/* [name] or [[name]] at r->p. */
static int
read_header(struct reader *r, struct oci_regconf *c, enum table *t)
{
	int array = r->p + 1 < r->end && r->p[1] == '[';
	const char *name;
	size_t n;
	struct oci_regconf_registry *reg;

	r->p += array ? 2 : 1;
	skip_blank(r);
	name = r->p;
	while (r->p < r->end && (isalnum((unsigned char)*r->p) || strchr("_-.", *r->p)))
		r->p++;
	n = (size_t)(r->p - name);
	skip_blank(r);
	if (n == 0 || r->p >= r->end || *r->p != ']' || (array && (r->p + 1 >= r->end || r->p[1] != ']')))
		return bad(r, "a table header must be [name] or [[name]] (bare names only)");
	r->p += array ? 2 : 1;
	*t = T_OTHER;
	if (array && n == 8 && strncmp(name, "registry", 8) == 0) {
		if (c->nreg == REGISTRIES_MAX)
			return bad(r, "more than 1024 [[registry]] tables");
		reg = realloc(c->reg, (c->nreg + 1) * sizeof *reg);
		if (reg == NULL)
			return oci_fail(r->e, "out of memory");
		c->reg = reg;
		memset(&c->reg[c->nreg++], 0, sizeof *reg);
		*t = T_REGISTRY;
	} else if (array && n == 15 && strncmp(name, "registry.mirror", 15) == 0) {
		struct oci_regconf_registry *last;
		struct oci_regconf_mirror *m;

		if (c->nreg == 0)
			return bad(r, "[[registry.mirror]] before any [[registry]]");
		last = &c->reg[c->nreg - 1];
		if (last->nmirrors == MIRRORS_MAX)
			return bad(r, "more than 64 mirrors for one registry");
		m = realloc(last->mirrors, (last->nmirrors + 1) * sizeof *m);
		if (m == NULL)
			return oci_fail(r->e, "out of memory");
		last->mirrors = m;
		memset(&m[last->nmirrors++], 0, sizeof *m);
		*t = T_MIRROR;
	} else if (!array && n == 8 && strncmp(name, "registry", 8) == 0) {
		return bad(r, "[registry] must be [[registry]] (an array of tables)");
	}
	return end_of_line(r);
}

/* Keep a string in *slot; a key given twice in one table is an error, as in TOML. */
static int
keep_string(struct reader *r, char **slot, char *s, enum vtype t, const char *key)
{
	char msg[192];

	if (t != V_STRING) {
		free(s);
		snprintf(msg, sizeof msg, "%s must be a string", key);
		return bad(r, msg);
	}
	if (*slot) {
		free(s);
		snprintf(msg, sizeof msg, "%s is given twice", key);
		return bad(r, msg);
	}
	*slot = s;
	return 0;
}

/* (s, the value when it was a string, is freed: it is not a boolean) */
static int
keep_bool(struct reader *r, int *slot, char *s, int b, enum vtype t, const char *key)
{
	char msg[192];

	free(s);
	if (t != V_BOOL) {
		snprintf(msg, sizeof msg, "%s must be true or false", key);
		return bad(r, msg);
	}
	*slot = b;
	return 0;
}

static int
keep(struct reader *r, struct oci_regconf *c, enum table tb, const char *key, enum vtype t,
    char *s, int b)
{
	struct oci_regconf_registry *reg = c->nreg ? &c->reg[c->nreg - 1] : NULL;
	struct oci_regconf_mirror *m = reg && reg->nmirrors ? &reg->mirrors[reg->nmirrors - 1] : NULL;
	char *mode = NULL;

	if (tb == T_REGISTRY) {
		if (strcmp(key, "prefix") == 0)
			return keep_string(r, &reg->prefix, s, t, key);
		if (strcmp(key, "location") == 0)
			return keep_string(r, &reg->location, s, t, key);
		if (strcmp(key, "insecure") == 0)
			return keep_bool(r, &reg->insecure, s, b, t, key);
		if (strcmp(key, "blocked") == 0)
			return keep_bool(r, &reg->blocked, s, b, t, key);
		if (strcmp(key, "mirror-by-digest-only") == 0)
			return keep_bool(r, &reg->digest_only, s, b, t, key);
	} else if (tb == T_MIRROR) {
		if (strcmp(key, "location") == 0)
			return keep_string(r, &m->location, s, t, key);
		if (strcmp(key, "insecure") == 0)
			return keep_bool(r, &m->insecure, s, b, t, key);
		if (strcmp(key, "pull-from-mirror") == 0) {
			if (keep_string(r, &mode, s, t, key) < 0)
				return -1;
			m->pull_from = strcmp(mode, "all") == 0 ? OCI_PULL_FROM_ALL :
			    strcmp(mode, "digest-only") == 0 ? OCI_PULL_FROM_DIGEST :
			    strcmp(mode, "tag-only") == 0 ? OCI_PULL_FROM_TAG : -1;
			free(mode);
			if (m->pull_from < 0)
				return bad(r, "pull-from-mirror must be \"all\", \"digest-only\" or \"tag-only\"");
			return 0;
		}
	}
	free(s);
	return 0;
}

/* Every [[registry]] names where it is; every mirror has a location. */
static int
check(struct oci_regconf *c, const char *name, struct oci_err *e)
{
	size_t i, j;

	for (i = 0; i < c->nreg; i++) {
		struct oci_regconf_registry *reg = &c->reg[i];

		if (reg->prefix == NULL && reg->location == NULL)
			return oci_fail(e, "%s: [[registry]] number %zu has neither prefix nor location",
			    name, i + 1);
		for (j = 0; j < reg->nmirrors; j++)
			if (reg->mirrors[j].location == NULL || reg->mirrors[j].location[0] == '\0')
				return oci_fail(e, "%s: a [[registry.mirror]] of %s has no location", name,
				    reg->prefix ? reg->prefix : reg->location);
	}
	return 0;
}

int
oci_regconf_parse(const char *buf, size_t len, const char *name, struct oci_regconf *c,
    struct oci_err *e)
{
	struct reader r = { buf, buf + len, name, 1, e };
	enum table tb = T_TOP;
	char key[128], *s;
	enum vtype t;
	size_t n;
	int b = 0;

	memset(c, 0, sizeof *c);
	if (len > CONF_MAX)
		return oci_fail(e, "%s: larger than 1 MiB", name);
	if (memchr(buf, '\0', len))
		return oci_fail(e, "%s: a NUL byte: not a text file", name);
	for (;;) {
		skip_space(&r);
		if (r.p >= r.end)
			break;
		if (*r.p == '[') {
			if (read_header(&r, c, &tb) < 0)
				goto bad;
			continue;
		}
		/* key = value */
		if (*r.p == '"' || *r.p == '\'') {
			if (read_string(&r, &s) < 0)
				goto bad;
			snprintf(key, sizeof key, "%s", s);
			free(s);
		} else {
			n = bare_len(&r);
			if (n == 0 || n >= sizeof key || memchr(r.p, '.', n) || memchr(r.p, '+', n)) {
				bad(&r, n && memchr(r.p, '.', n) ? "dotted keys are not supported here" :
				    "expected a key, a [table] or a comment");
				goto bad;
			}
			memcpy(key, r.p, n);
			key[n] = '\0';
			r.p += n;
		}
		skip_blank(&r);
		if (r.p >= r.end || *r.p != '=') {
			bad(&r, "expected = after the key");
			goto bad;
		}
		r.p++;
		skip_blank(&r);
		if (read_value(&r, &t, &s, &b, 0) < 0 || keep(&r, c, tb, key, t, s, b) < 0 ||
		    end_of_line(&r) < 0)
			goto bad;
	}
	if (check(c, name, e) < 0)
		goto bad;
	return 0;
bad:
	oci_regconf_free(c);
	return -1;
}

int
oci_regconf_load(struct oci_regconf *c, struct oci_err *e)
{
	const char *env = getenv("CONTAINERS_REGISTRIES_CONF"), *home = getenv("HOME");
	char user[4096], *path = NULL, *buf;
	size_t len = 0, got;
	FILE *f = NULL;

	memset(c, 0, sizeof *c);
	/* containers-registries.conf(5): the user's file if it exists, else the system's */
	if (env && *env) {
		path = strdup(env);
	} else {
		snprintf(user, sizeof user, "%s/.config/containers/registries.conf", home ? home : "");
		path = strdup(home && *home && access(user, F_OK) == 0 ? user :
		    "/etc/containers/registries.conf");
	}
	if (path == NULL)
		return oci_fail(e, "out of memory");
	if ((f = fopen(path, "re")) == NULL) {
		if (errno == ENOENT && !(env && *env)) {
			free(path);
			return 0;	/* no file: no mirrors */
		}
		oci_fail_errno(e, "%s", path);
		free(path);
		return -1;
	}
	if ((buf = malloc(CONF_MAX + 1)) == NULL) {
		fclose(f);
		free(path);
		return oci_fail(e, "out of memory");
	}
	while ((got = fread(buf + len, 1, CONF_MAX + 1 - len, f)) > 0 && len + got <= CONF_MAX)
		len += got;
	if (ferror(f) || got > 0) {
		if (got > 0)
			oci_fail(e, "%s: larger than 1 MiB", path);
		else
			oci_fail_errno(e, "%s", path);
		fclose(f);
		free(buf);
		free(path);
		return -1;
	}
	fclose(f);
	if (oci_regconf_parse(buf, len, path, c, e) < 0) {
		free(buf);
		free(path);
		return -1;
	}
	free(buf);
	c->path = path;
	return 0;
}

void
oci_regconf_free(struct oci_regconf *c)
{
	size_t i, j;

	for (i = 0; i < c->nreg; i++) {
		for (j = 0; j < c->reg[i].nmirrors; j++)
			free(c->reg[i].mirrors[j].location);
		free(c->reg[i].mirrors);
		free(c->reg[i].prefix);
		free(c->reg[i].location);
	}
	free(c->reg);
	free(c->path);
	memset(c, 0, sizeof *c);
}
