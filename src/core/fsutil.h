/* fsutil.h - small file-system helpers shared by the components that write files. */
#ifndef BS_CORE_FSUTIL_H
#define BS_CORE_FSUTIL_H

/* Creates path and its missing parents (mode 0755), like `mkdir -p`. Returns 0 or -errno
 * (-ENAMETOOLONG for a path of 4096 bytes or more). */
int fsutil_mkdir_p(const char *path);

#include <stddef.h>

/* The entries of directory dir whose names end with suffix (NULL or "": all), hidden ones
 * (leading '.') left out, in byte order, so loading a directory gives the same result on every
 * file system. *names is an array of *n strings the caller frees with fsutil_names_free.
 * Returns 0 or -errno (opendir/readdir) or BS_ENOMEM; *names is NULL on error. */
int fsutil_list_dir(const char *dir, const char *suffix, char ***names, size_t *n);
void fsutil_names_free(char **names, size_t n);

#endif
