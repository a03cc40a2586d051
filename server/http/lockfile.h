/* Lock and pid files: flock()ed, so a lock dies with its process (kill -9
 * included). Opened O_NOFOLLOW|O_CLOEXEC with mode 0600 and never truncated
 * before the lock is held: a symlink planted by another user makes the open
 * fail instead of writing through it, and a file swapped in between the open
 * and the lock is noticed (the lock is taken again on the file at the path).
 *
 * The default port lock lives in /run/w3voipd/ (0700, created) when running
 * as root, else in $XDG_RUNTIME_DIR, else next to the database: never /tmp.
 *
 * Ownership: the descriptors are the caller's; lockfile_release() closes one
 * and removes its file only when the path still names the file locked. */
#ifndef W3_LOCKFILE_H
#define W3_LOCKFILE_H

#include <stdbool.h>

/* The locked descriptor, or -errno with *err (-EBUSY: another process
 * holds it). With write_pid the file holds the pid once locked. */
int lockfile_take(const char *path, bool write_pid, char **err);
/* The default port lock's path (malloc'd) for host:port, or NULL with *err
 * when its directory cannot be made safe. */
char *lockfile_port_path(const char *host, int port, const char *db_path, char **err);
/* Closes fd (NULL path: nothing removed; -1: nothing to do). */
void lockfile_release(int fd, const char *path);

#endif
