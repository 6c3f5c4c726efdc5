/* fsutil.h - small file-system helpers shared by the components that write files. */
#ifndef BS_CORE_FSUTIL_H
#define BS_CORE_FSUTIL_H

/* Creates path and its missing parents (mode 0755), like `mkdir -p`. Returns 0 or -errno
 * (-ENAMETOOLONG for a path of 4096 bytes or more). */
int fsutil_mkdir_p(const char *path);

#endif
