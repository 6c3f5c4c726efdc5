/* statefile.c - persisted collector state (see statefile.h). */
#include "collect/statefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

int statefile_write(const char *path, const struct buf *const *blobs, size_t n)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = write_all(fd, STATEFILE_MAGIC, STATEFILE_MAGIC_LEN);
    for (size_t i = 0; i < n && !rc; i++)
        if (blobs[i] && blobs[i]->len)
            rc = write_all(fd, blobs[i]->data, blobs[i]->len);
    if (!rc && fsync(fd))
        rc = -errno;
    if (close(fd) && !rc)
        rc = -errno;
    if (!rc && rename(tmp, path))
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

int statefile_read(const char *path, struct buf *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char magic[STATEFILE_MAGIC_LEN];
    int rc = 0;
    ssize_t r = read(fd, magic, sizeof magic);
    if (r != (ssize_t)sizeof magic || memcmp(magic, STATEFILE_MAGIC, sizeof magic)) {
        rc = r < 0 ? -errno : BS_ECORRUPT;
        goto done;
    }
    char chunk[65536];
    while ((r = read(fd, chunk, sizeof chunk)) != 0) {
        if (r < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            goto done;
        }
        rc = buf_append(out, chunk, (size_t)r);
        if (rc)
            goto done;
    }
done:
    close(fd);
    return rc;
}
