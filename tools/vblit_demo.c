// SPDX-License-Identifier: MIT
/*
 * vblit_demo: the `make run` demo. Prints the driver's version, parameters
 * and counters, then walks a userptr object through its life: malloc'd
 * memory -> device fill -> CPU check -> munmap/remap -> revalidation.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "vblit_drm.h"

#define DEMO_SIZE (4u << 20)

static int vblit_open(void)
{
	char path[64];
	int i, fd;

	for (i = 128; i < 192; i++) {
		drmVersionPtr v;

		snprintf(path, sizeof(path), "/dev/dri/renderD%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, "vblit")) {
			printf("device: %s, driver %s %d.%d.%d (%s)\n", path,
			       v->name, v->version_major, v->version_minor,
			       v->version_patchlevel, v->desc);
			drmFreeVersion(v);
			return fd;
		}
		drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

static uint64_t getparam(int fd, uint32_t param)
{
	struct drm_vblit_getparam gp = { .param = param };

	if (drmIoctl(fd, DRM_IOCTL_VBLIT_GETPARAM, &gp))
		return UINT64_MAX;
	return gp.value;
}

static void print_stats(const char *when)
{
	char line[128];
	FILE *f = fopen("/sys/kernel/debug/vblit/stats", "r");

	int n = 0;

	printf("counters %s (zeros omitted but for the leak counters):\n ", when);
	if (!f) {
		printf(" (debugfs not available)\n");
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *end = line + strcspn(line, "\n");

		*end = '\0';
		if (strstr(line, ": 0") == end - 3 &&
		    strncmp(line, "objects:", 8) && strncmp(line, "pinned_pages:", 13))
			continue;
		printf("%s%s", n++ % 4 ? ", " : "\n  ", line);
	}
	printf("\n");
	fclose(f);
}

static int exec_fill(int fd, uint32_t handle, uint32_t value, uint64_t len)
{
	struct drm_vblit_exec ex = {
		.op = VBLIT_OP_FILL,
		.dst_handle = handle,
		.length = len,
		.value = value,
	};
	struct drm_vblit_gem_wait w = { .handle = handle, .timeout_ns = 10ll * 1000000000 };

	if (drmIoctl(fd, DRM_IOCTL_VBLIT_EXEC, &ex))
		return -errno;
	if (drmIoctl(fd, DRM_IOCTL_VBLIT_GEM_WAIT, &w))
		return -errno;
	return 0;
}

static int check_fill(const uint32_t *p, uint32_t value, size_t len)
{
	size_t i;

	for (i = 0; i < len / 4; i++)
		if (p[i] != value) {
			printf("  MISMATCH at byte %zu: %08x != %08x\n", i * 4, p[i], value);
			return -1;
		}
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(void)
{
	static const char *const names[] = {
		"api_version", "max_gem_size", "has_userptr", "has_userptr_probe",
		"userptr_backing", "userptr_max_size", "has_exec", "has_exec_hold",
		"max_hold_ms", "retry_timeout_ms",
	};
	struct drm_vblit_gem_userptr up = { 0 };
	struct drm_gem_close cl = { 0 };
	unsigned int i;
	uint32_t *buf;
	double t0;
	int fd, err, failed = 0;

	fd = vblit_open();
	if (fd < 0) {
		fprintf(stderr, "demo: no vblit render node\n");
		return 1;
	}
	printf("params:\n");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		printf("  %-18s %" PRIu64 "\n", names[i], getparam(fd, i));
	print_stats("at start");

	buf = mmap(NULL, DEMO_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(buf, 0x11, DEMO_SIZE);

	up.user_ptr = (uintptr_t)buf;
	up.user_size = DEMO_SIZE;
	up.flags = VBLIT_USERPTR_PROBE;
	if (drmIoctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &up)) {
		printf("userptr create: %s\n", strerror(errno));
		return 1;
	}
	printf("userptr: %u KiB at %p -> handle %u\n", DEMO_SIZE >> 10, (void *)buf, up.handle);

	t0 = now_ms();
	err = exec_fill(fd, up.handle, 0xc0ffee00, DEMO_SIZE);
	printf("1. device fill (first use, acquires pages): %s, %.2f ms\n",
	       err ? strerror(-err) : "ok", now_ms() - t0);
	failed |= err || check_fill(buf, 0xc0ffee00, DEMO_SIZE);
	printf("2. CPU sees the device's data: %s\n", failed ? "NO" : "yes");

	t0 = now_ms();
	err = exec_fill(fd, up.handle, 0xc0ffee01, DEMO_SIZE);
	printf("3. device fill again (pages current): %s, %.2f ms\n",
	       err ? strerror(-err) : "ok", now_ms() - t0);
	failed |= err || check_fill(buf, 0xc0ffee01, DEMO_SIZE);

	munmap(buf, DEMO_SIZE);
	err = exec_fill(fd, up.handle, 0xdead, DEMO_SIZE);
	printf("4. munmap, then device fill: %s (expected: %s)\n",
	       err ? strerror(-err) : "ok", strerror(EFAULT));
	failed |= err != -EFAULT;

	if (mmap(buf, DEMO_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
		return 1;
	t0 = now_ms();
	err = exec_fill(fd, up.handle, 0xc0ffee02, DEMO_SIZE);
	printf("5. remap at the same address, device fill (revalidates): %s, %.2f ms\n",
	       err ? strerror(-err) : "ok", now_ms() - t0);
	failed |= err || check_fill(buf, 0xc0ffee02, DEMO_SIZE);
	printf("6. CPU sees the device's data in the new pages: %s\n", failed ? "NO" : "yes");
	print_stats("with the object alive");

	cl.handle = up.handle;
	drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
	munmap(buf, DEMO_SIZE);
	close(fd);
	print_stats("after close");
	printf("demo: %s\n", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
