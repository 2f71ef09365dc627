/*
 * lib/run/passwd.c — who "User" in an image config is.
 *
 * image-spec config.md: User is "user", "uid", "user:group", "uid:gid",
 * "uid:group" or "user:gid"; names are looked up in the container's own
 * /etc/passwd and /etc/group, never through the host's NSS (which would
 * answer for the host, and could load host modules into the container).
 * Called after pivot_root, so "/etc/passwd" is the rootfs's file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

/* A regular file of the rootfs, never through a magic link: 1 opened, 0 absent, -1 error. */
static int
open_db(const char *path, FILE **f, struct oci_err *e)
{
	struct stat st;
	int fd;

	fd = oci_openat2(AT_FDCWD, path, O_RDONLY | O_NOCTTY | O_NONBLOCK,
	    RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0)
		return errno == ENOENT ? 0 : oci_openat2_error(e, path);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return oci_fail(e, "%s: not a regular file", path);
	}
	if ((*f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return oci_fail_errno(e, "%s", path);
	}
	return 1;
}

/* "123" -> 123; -1 when s is not all digits or too big. */
static long long
number(const char *s)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v > 0xfffffffeULL)
		return -1;
	return (long long)v;
}

/* Split a colon-separated line into at most max fields; returns how many. */
static int
fields(char *line, char **f, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		f[n++] = line;
		if ((line = strchr(line, ':')) == NULL)
			break;
		*line++ = '\0';
	}
	return n;
}

/* The passwd entry whose name (or uid, when byuid) matches. 1 found, 0 not, -1 error. */
static int
find_passwd(const char *name, long long byuid, struct oci_user *u, struct oci_err *e)
{
	char line[4096], *f[7];
	int found = 0, r;
	FILE *db;

	if ((r = open_db("/etc/passwd", &db, e)) <= 0)
		return r;
	while (!found && fgets(line, sizeof line, db))
		if (fields(line, f, 7) == 7 && number(f[2]) >= 0 && number(f[3]) >= 0 &&
		    (byuid >= 0 ? number(f[2]) == byuid : strcmp(f[0], name) == 0)) {
			u->uid = number(f[2]);
			u->gid = number(f[3]);
			snprintf(u->name, sizeof u->name, "%s", f[0]);
			snprintf(u->home, sizeof u->home, "%s", f[5][0] ? f[5] : "/");
			found = 1;
		}
	fclose(db);
	return found;
}

static void
add_group(struct oci_user *u, gid_t gid)
{
	int i;

	for (i = 0; i < u->ngroups; i++)
		if (u->groups[i] == gid)
			return;
	if (u->ngroups < OCI_USER_GROUPS_MAX)
		u->groups[u->ngroups++] = gid;
}

/*
 * Look group up by name (or gid, when bygid >= 0) and, when user is not
 * NULL, collect the gids of the groups that list user as a member.
 */
static int
scan_groups(const char *group, long long bygid, struct oci_user *u, struct oci_err *e)
{
	char line[65536], *f[4], *m, *save;
	int found = 0, r;
	FILE *db;

	if ((r = open_db("/etc/group", &db, e)) <= 0)
		return r;
	while (fgets(line, sizeof line, db)) {
		if (fields(line, f, 4) != 4 || number(f[2]) < 0)
			continue;
		if (group && !found && (bygid >= 0 ? number(f[2]) == bygid : strcmp(f[0], group) == 0)) {
			u->gid = number(f[2]);
			found = 1;
		}
		if (u->name[0] == '\0')
			continue;
		for (m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save))
			if (strcmp(m, u->name) == 0)
				add_group(u, number(f[2]));
	}
	fclose(db);
	return found;
}

int
oci_user_lookup(const char *spec, struct oci_user *u, struct oci_err *e)
{
	char user[256], *group;
	long long id;
	int r;

	memset(u, 0, sizeof *u);
	snprintf(u->home, sizeof u->home, "/");
	if (spec == NULL || spec[0] == '\0')
		spec = "0";
	if (strlen(spec) >= sizeof user)
		return oci_fail(e, "user \"%.40s…\": too long", spec);
	snprintf(user, sizeof user, "%s", spec);
	if ((group = strchr(user, ':')))
		*group++ = '\0';

	id = number(user);
	r = find_passwd(user, id, u, e);
	if (r < 0)
		return -1;
	if (r == 0 && id < 0)
		return oci_fail(e, "user %s: not in the rootfs's /etc/passwd", user);
	if (r == 0)
		u->uid = id;	/* a bare uid need not have an entry */

	if (group && group[0]) {
		id = number(group);
		r = scan_groups(group, id, u, e);
		if (r < 0)
			return -1;
		if (r == 0 && id < 0)
			return oci_fail(e, "group %s: not in the rootfs's /etc/group", group);
		if (r == 0)
			u->gid = id;
		/* A group given explicitly is the only one (as runc does). */
		u->ngroups = 0;
		add_group(u, u->gid);
		return 0;
	}
	/* As initgroups(3): the primary group, then every group that lists the user. */
	add_group(u, u->gid);
	return scan_groups(NULL, -1, u, e) < 0 ? -1 : 0;
}
