// SPDX-License-Identifier: MIT
/*
 * vblit_node.c: finding vblit's render node, and ioctls on it, through raw
 * syscalls (see vblit_node.h).
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <drm.h>

#include "vblit_drm.h"
#include "vblit_node.h"

/* Render minors are 128..191. */
#define RENDER_FIRST	128
#define RENDER_COUNT	64

int vblit_node_ioctl(int fd, unsigned long request, void *arg)
{
	long ret;

	do {
		ret = syscall(SYS_ioctl, fd, request, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

bool vblit_node_is_vblit(int fd)
{
	char name[32] = "";
	struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };

	return !vblit_node_ioctl(fd, DRM_IOCTL_VERSION, &v) &&
	       !strcmp(name, "vblit");
}

/* @path if it is a vblit node: its fd, else -ENODEV. */
static int open_if_vblit(const char *path)
{
	int fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -ENODEV;
	if (!vblit_node_is_vblit(fd)) {
		syscall(SYS_close, fd);
		return -ENODEV;
	}
	return fd;
}

int vblit_node_open(const char *path, char *found, size_t size)
{
	char node[64];
	int fd = path ? open_if_vblit(path) : -ENODEV;

	for (int i = 0; !path && fd < 0 && i < RENDER_COUNT; i++) {
		snprintf(node, sizeof(node), "/dev/dri/renderD%d", RENDER_FIRST + i);
		fd = open_if_vblit(node);
	}
	if (fd >= 0 && found)
		snprintf(found, size, "%s", path ?: node);
	return fd;
}

int vblit_node_getparam(int fd, uint32_t param, uint64_t *value)
{
	struct drm_vblit_getparam gp = { .param = param };
	int err = vblit_node_ioctl(fd, DRM_IOCTL_VBLIT_GETPARAM, &gp);

	if (!err)
		*value = gp.value;
	return err;
}
