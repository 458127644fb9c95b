/* privs.c: the workers' privilege drop and the checks of what a start needs, shared by the
 * master and `wasmslotd -t`. */
#include "config.h"

#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

int privs_check(const struct config *cfg, char *err, size_t errlen)
{
    uid_t euid = geteuid();

    if (euid == 0) {
        if (!cfg->user_set) {
            snprintf(err, errlen,
                     "guest code would run as root: set `user` (and `group`) in [daemon] to an "
                     "unprivileged account for the workers, or `user = root` to run it as root "
                     "knowingly");
            return -1;
        }
        return 0;
    }
    return 0;
}

bool privs_ignored(const struct config *cfg, char *msg, size_t len)
{
    uid_t euid = geteuid();

    if (euid == 0 || ((!cfg->user_set || cfg->user_uid == euid) &&
                      (!cfg->group_set || cfg->user_gid == getegid())))
        return false;
    snprintf(msg, len,
             "`user` and `group` are ignored: wasmslotd runs as uid %u, not as root, so it "
             "cannot switch users; the workers run guest code as uid %u",
             (unsigned)euid, (unsigned)euid);
    return true;
}

int privs_drop(const struct config *cfg, char *err, size_t errlen)
{
    if (geteuid() != 0 || !cfg->user_set)
        return 0;
    /* The user's own supplementary groups, and none of root's. */
    if (initgroups(cfg->user_name, cfg->user_gid) < 0 &&
        setgroups(1, &(gid_t){cfg->user_gid}) < 0) {
        snprintf(err, errlen, "cannot set the groups of user %s: %s", cfg->user_name,
                 strerror(errno));
        return -1;
    }
    if (setresgid(cfg->user_gid, cfg->user_gid, cfg->user_gid) < 0 ||
        setresuid(cfg->user_uid, cfg->user_uid, cfg->user_uid) < 0) {
        snprintf(err, errlen, "cannot become user %s (uid %u, gid %u): %s", cfg->user_name,
                 (unsigned)cfg->user_uid, (unsigned)cfg->user_gid, strerror(errno));
        return -1;
    }
    if (cfg->user_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
        snprintf(err, errlen, "dropped to user %s, yet root could be had back", cfg->user_name);
        return -1;
    }
    return 0;
}

uid_t privs_log_owner(const struct config *cfg)
{
    if (geteuid() != 0 || !cfg->user_set || cfg->user_uid == 0)
        return (uid_t)-1;
    return cfg->user_uid;
}

/* The directory part of path, in buf. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
    snprintf(buf, len, "%s", path);
    return dirname(buf);
}

/* Whether the daemon (its effective ids) may make files in directory dir. */
static int writable_dir(const char *what, const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (stat(dir, &st) < 0) {
        snprintf(err, errlen, "%s: directory %s: %s", what, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s is not a directory", what, dir);
        return -1;
    }
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) < 0) {
        snprintf(err, errlen, "%s: directory %s: cannot make files in it: %s", what, dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

int privs_make_socket_dir(const char *socket_path, char *err, size_t errlen)
{
    char buf[4096];
    const char *dir = dir_of(socket_path, buf, sizeof(buf));

    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "socket %s: cannot make its directory %s: %s", socket_path, dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* A log file the daemon appends to: an existing one must be a regular file (not a symbolic
 * link: those are never followed) it may write; a missing one needs a directory to be made in. */
static int check_log_file(const char *what, const char *path, char *err, size_t errlen)
{
    char buf[4096];
    struct stat st;

    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) {
            snprintf(err, errlen, "%s %s: is a symbolic link, which the daemon does not follow",
                     what, path);
            return -1;
        }
        if (!S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "%s %s: not a regular file", what, path);
            return -1;
        }
        if (faccessat(AT_FDCWD, path, W_OK, AT_EACCESS) < 0) {
            snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
            return -1;
        }
        return 0;
    }
    return writable_dir(what, dir_of(path, buf, sizeof(buf)), err, errlen);
}

int privs_check_paths(const struct config *cfg, char *err, size_t errlen)
{
    char buf[4096], parent[4096];
    const char *dir = dir_of(cfg->socket_path, buf, sizeof(buf));
    struct stat st;

    /* The socket: its directory must exist (or be makeable, one level) and take new files. */
    if (stat(dir, &st) < 0 && errno == ENOENT) {
        if (writable_dir("socket", dir_of(dir, parent, sizeof(parent)), err, errlen) < 0)
            return -1;
    } else if (writable_dir("socket", dir, err, errlen) < 0) {
        return -1;
    }
    if (lstat(cfg->socket_path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "socket %s: exists and is not a socket", cfg->socket_path);
        return -1;
    }
    if (cfg->log_target == CFG_LOG_FILE && check_log_file("log", cfg->log_file, err, errlen) < 0)
        return -1;
    if (cfg->access_log != NULL && check_log_file("access_log", cfg->access_log, err, errlen) < 0)
        return -1;
    if (cfg->pid_file != NULL &&
        writable_dir("pid_file", dir_of(cfg->pid_file, buf, sizeof(buf)), err, errlen) < 0)
        return -1;
    return 0;
}

/* Newer than the kernel headers of Debian 12. */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1UL
#endif

int privs_deny_exec_gain(void)
{
    if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0UL, 0UL, 0UL) < 0)
        return -errno;
    return 0;
}
