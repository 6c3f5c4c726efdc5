/* fuzz_memfile.h - for fuzz targets whose parser takes a path: the input as an anonymous
 * in-memory file (memfd), named through /proc/self/fd. Header-only, fuzz code only. */
#ifndef BS_FUZZ_MEMFILE_H
#define BS_FUZZ_MEMFILE_H

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* Writes data into a new memfd and its path into path; returns the fd (close it) or -1. */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t len)
{
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t w = write(fd, data + off, size - off);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
