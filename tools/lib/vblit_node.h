/* SPDX-License-Identifier: MIT */
/*
 * vblit_node.h: the small userspace library of tools/ and mesa-tests/:
 * finding vblit's render node, and ioctls on it.
 *
 * It talks to the kernel through raw syscalls (openat, ioctl, close)
 * rather than libc's open() and ioctl() or libdrm, so that the Mesa tier's
 * interposer (mesa-tests/vblit_forward.c), which sits in front of a shim
 * that intercepts those calls, can use it as the tools do. It needs only
 * the kernel's <drm.h> (libdrm's include path) and uapi/drm/vblit_drm.h.
 * The IGT tests have their own library, igt-tests/lib/vblit.c.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef VBLIT_NODE_H
#define VBLIT_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The driver's counters (debugfs). */
#define VBLIT_NODE_STATS	"/sys/kernel/debug/vblit/stats"

/* ioctl @request on @fd: 0 or -errno; EINTR and EAGAIN are retried. */
int vblit_node_ioctl(int fd, unsigned long request, void *arg);

/* Whether @fd is a DRM file whose driver is vblit. */
bool vblit_node_is_vblit(int fd);

/*
 * Opens @path if it is a vblit node, or with @path NULL the first render
 * node (/dev/dri/renderD128..191) whose driver is vblit, and copies the
 * path it opened into @found (@size bytes; @found may be NULL).
 * Returns the fd (O_RDWR | O_CLOEXEC), or -ENODEV if there is none.
 */
int vblit_node_open(const char *path, char *found, size_t size);

/* VBLIT_PARAM_* @param into *@value: 0 or -errno. */
int vblit_node_getparam(int fd, uint32_t param, uint64_t *value);

#endif /* VBLIT_NODE_H */
