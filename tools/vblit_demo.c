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
#include "vblit_node.h"

#define DEMO_SIZE (4u << 20)

static void print_device(int fd, const char *node)
{
	drmVersionPtr v = drmGetVersion(fd);

	if (!v)
		return;
	printf("device: %s, driver %s %d.%d.%d (%s)\n", node, v->name,
	       v->version_major, v->version_minor, v->version_patchlevel,
	       v->desc);
	drmFreeVersion(v);
}

static void print_stats(const char *when)
{
	char line[128];
	FILE *f = fopen(VBLIT_NODE_STATS, "r");

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

	return vblit_node_ioctl(fd, DRM_IOCTL_VBLIT_EXEC, &ex) ?:
	       vblit_node_ioctl(fd, DRM_IOCTL_VBLIT_GEM_WAIT, &w);
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

/* A step of the demo: a device fill of the whole object, timed. */
static int timed_fill(int fd, uint32_t handle, uint32_t value, const char *step)
{
	double t0 = now_ms();
	int err = exec_fill(fd, handle, value, DEMO_SIZE);

	printf("%s: %s, %.2f ms\n", step, err ? strerror(-err) : "ok",
	       now_ms() - t0);
	return err;
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
	char node[64];
	unsigned int i;
	uint32_t *buf;
	int fd, err, failed = 0;

	fd = vblit_node_open(NULL, node, sizeof(node));
	if (fd < 0) {
		fprintf(stderr, "demo: no vblit render node\n");
		return 1;
	}
	print_device(fd, node);
	printf("params:\n");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		uint64_t v = UINT64_MAX;

		vblit_node_getparam(fd, i, &v);
		printf("  %-18s %" PRIu64 "\n", names[i], v);
	}
	print_stats("at start");

	buf = mmap(NULL, DEMO_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	memset(buf, 0x11, DEMO_SIZE);

	up.user_ptr = (uintptr_t)buf;
	up.user_size = DEMO_SIZE;
	up.flags = VBLIT_USERPTR_PROBE;
	err = vblit_node_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &up);
	if (err) {
		printf("userptr create: %s\n", strerror(-err));
		return 1;
	}
	printf("userptr: %u KiB at %p -> handle %u\n", DEMO_SIZE >> 10, (void *)buf, up.handle);

	err = timed_fill(fd, up.handle, 0xc0ffee00,
			 "1. device fill (first use, acquires pages)");
	failed |= err || check_fill(buf, 0xc0ffee00, DEMO_SIZE);
	printf("2. CPU sees the device's data: %s\n", failed ? "NO" : "yes");

	err = timed_fill(fd, up.handle, 0xc0ffee01,
			 "3. device fill again (pages current)");
	failed |= err || check_fill(buf, 0xc0ffee01, DEMO_SIZE);

	munmap(buf, DEMO_SIZE);
	err = exec_fill(fd, up.handle, 0xdead, DEMO_SIZE);
	printf("4. munmap, then device fill: %s (expected: %s)\n",
	       err ? strerror(-err) : "ok", strerror(EFAULT));
	failed |= err != -EFAULT;

	if (mmap(buf, DEMO_SIZE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != buf)
		return 1;
	err = timed_fill(fd, up.handle, 0xc0ffee02,
			 "5. remap at the same address, device fill (revalidates)");
	failed |= err || check_fill(buf, 0xc0ffee02, DEMO_SIZE);
	printf("6. CPU sees the device's data in the new pages: %s\n", failed ? "NO" : "yes");
	print_stats("with the object alive");

	cl.handle = up.handle;
	vblit_node_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &cl);
	munmap(buf, DEMO_SIZE);
	close(fd);
	print_stats("after close");
	printf("demo: %s\n", failed ? "FAILED" : "ok");
	return failed ? 1 : 0;
}
