// SPDX-License-Identifier: MIT
/*
 * vblit.c: ioctl wrappers, device and module handling, counters and data
 * patterns for the vblit tests. See vblit.h for the conventions.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/mempolicy.h>
#include <xf86drm.h>

#include "igt.h"
#include "igt_kmod.h"
#include "vblit.h"

/* ---------------------------------------------------------------------- */
/* Device                                                                 */

/* Render minors are 128..191 on every kernel we test. */
#define VBLIT_RENDER_FIRST	128
#define VBLIT_RENDER_COUNT	64

/**
 * vblit_is_device - whether @fd is a DRM file of the vblit driver
 */
bool vblit_is_device(int fd)
{
	drmVersionPtr version = drmGetVersion(fd);
	bool ret;

	if (!version)
		return false;
	ret = version->name && strcmp(version->name, "vblit") == 0;
	drmFreeVersion(version);
	return ret;
}

/**
 * __vblit_open - open the first vblit render node
 *
 * Scans /dev/dri/renderD* itself rather than asking drm_open_driver(), so
 * that the result does not depend on which other DRM drivers are loaded or
 * on $IGT_FORCE_DRIVER, and so that no fd is cached behind the test's back
 * (the unload subtests need every fd closed).
 *
 * Returns: an fd, or -ENODEV if there is no vblit render node.
 */
int __vblit_open(void)
{
	char path[64];

	for (int i = 0; i < VBLIT_RENDER_COUNT; i++) {
		int fd;

		snprintf(path, sizeof(path), "/dev/dri/renderD%d",
			 VBLIT_RENDER_FIRST + i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (vblit_is_device(fd))
			return fd;
		close(fd);
	}
	return -ENODEV;
}

/**
 * vblit_open - open the vblit render node, or skip the subtest
 */
int vblit_open(void)
{
	int fd = __vblit_open();

	igt_require_f(fd >= 0,
		      "no vblit render node in /dev/dri (%s): vblit.ko is not loaded\n",
		      access("/dev/dri", F_OK) ? "no /dev/dri at all" :
		      "no node named vblit");
	return fd;
}

const char *vblit_backing_name(uint32_t backing)
{
	static const char *const names[] = {
		[VBLIT_USERPTR_BACKING_PINNED] = "pinned",
		[VBLIT_USERPTR_BACKING_UNPINNED] = "unpinned",
		[VBLIT_USERPTR_BACKING_LEGACY] = "legacy",
		[VBLIT_USERPTR_BACKING_ALIGNED] = "aligned",
	};

	return backing < ARRAY_SIZE(names) ? names[backing] : "unknown";
}

/**
 * vblit_suite_open - the fixture of every suite
 * @flags: VBLIT_SUITE_USERPTR, VBLIT_SUITE_STATS
 * @backing: where to store the userptr backing (with VBLIT_SUITE_USERPTR),
 *	or NULL
 *
 * Opens the device (or skips), asserts the page size the tests assume,
 * then with VBLIT_SUITE_USERPTR skips unless the device has userptr and
 * the engine and logs the backing, and with VBLIT_SUITE_STATS skips
 * without the counters file.
 *
 * Returns: the fd.
 */
int vblit_suite_open(unsigned int flags, uint32_t *backing)
{
	int fd = vblit_open();

	igt_assert_eq(sysconf(_SC_PAGESIZE), VBLIT_PAGE_SIZE);
	if (flags & VBLIT_SUITE_USERPTR) {
		uint32_t b;

		vblit_require_userptr(fd);
		b = vblit_getparam(fd, VBLIT_PARAM_USERPTR_BACKING);
		igt_info("userptr backing: %s\n", vblit_backing_name(b));
		if (backing)
			*backing = b;
	}
	if (flags & VBLIT_SUITE_STATS)
		igt_require_f(vblit_stats_available(),
			      "no counters at %s (debugfs not mounted?)\n",
			      vblit_stats_path());
	return fd;
}

/**
 * __vblit_ioctl - issue @request on @fd
 *
 * Returns: 0, or -errno. EINTR and EAGAIN are retried (igt_ioctl is
 * drmIoctl), as every userspace driver does.
 */
int __vblit_ioctl(int fd, unsigned long request, void *arg)
{
	int err = 0;

	if (igt_ioctl(fd, request, arg))
		err = -errno;
	errno = 0;
	return err;
}

int __vblit_getparam(int fd, uint32_t param, uint64_t *value)
{
	struct drm_vblit_getparam gp = { .param = param };
	int err;

	err = __vblit_ioctl(fd, DRM_IOCTL_VBLIT_GETPARAM, &gp);
	if (!err)
		*value = gp.value;
	return err;
}

uint64_t vblit_getparam(int fd, uint32_t param)
{
	uint64_t value = 0;

	igt_assert_eq(__vblit_getparam(fd, param, &value), 0);
	return value;
}

/**
 * vblit_require_userptr - skip unless the device has userptr and EXEC
 */
void vblit_require_userptr(int fd)
{
	igt_require_f(vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR),
		      "vblit built without userptr support\n");
	igt_require_f(vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC),
		      "vblit built without the exec engine\n");
}

/**
 * vblit_require_hold - skip unless jobs can be held in flight
 */
void vblit_require_hold(int fd)
{
	igt_require_f(vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC_HOLD),
		      "vblit has no VBLIT_EXEC_HOLD\n");
}

/**
 * vblit_hold_ms - @want_ms, clamped to what the device accepts
 */
uint32_t vblit_hold_ms(int fd, uint32_t want_ms)
{
	uint64_t max = vblit_getparam(fd, VBLIT_PARAM_MAX_HOLD_MS);

	igt_assert_f(max > 0, "VBLIT_PARAM_MAX_HOLD_MS is 0 with HOLD support\n");
	return want_ms < max ? want_ms : (uint32_t)max;
}

/* ---------------------------------------------------------------------- */
/* Objects                                                                */

int __vblit_gem_create(int fd, uint64_t size, uint32_t *handle)
{
	struct drm_vblit_gem_create arg = { .size = size };
	int err;

	err = __vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_CREATE, &arg);
	if (!err) {
		igt_assert_neq_u32(arg.handle, 0);
		*handle = arg.handle;
	}
	return err;
}

uint32_t vblit_gem_create(int fd, uint64_t size)
{
	uint32_t handle = 0;

	igt_assert_eq(__vblit_gem_create(fd, size, &handle), 0);
	return handle;
}

int __vblit_gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close arg = { .handle = handle };

	return __vblit_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &arg);
}

void vblit_gem_close(int fd, uint32_t handle)
{
	igt_assert_eq(__vblit_gem_close(fd, handle), 0);
}

int __vblit_gem_mmap_offset(int fd, uint32_t handle, uint64_t *offset)
{
	struct drm_vblit_gem_mmap_offset arg = { .handle = handle };
	int err;

	err = __vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET, &arg);
	if (!err)
		*offset = arg.offset;
	return err;
}

uint64_t vblit_gem_mmap_offset(int fd, uint32_t handle)
{
	uint64_t offset = 0;

	igt_assert_eq(__vblit_gem_mmap_offset(fd, handle, &offset), 0);
	return offset;
}

/**
 * vblit_gem_mmap - map a shmem object through its fake offset on @fd
 */
void *vblit_gem_mmap(int fd, uint32_t handle, size_t size, int prot)
{
	uint64_t offset = vblit_gem_mmap_offset(fd, handle);
	void *ptr;

	ptr = mmap(NULL, size, prot, MAP_SHARED, fd, offset);
	igt_assert_f(ptr != MAP_FAILED, "mmap of handle %u: %m\n", handle);
	return ptr;
}

int __vblit_gem_userptr(int fd, const void *ptr, uint64_t size,
			uint32_t flags, uint32_t *handle)
{
	struct drm_vblit_gem_userptr arg = {
		.user_ptr = (uintptr_t)ptr,
		.user_size = size,
		.flags = flags,
	};
	int err;

	err = __vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &arg);
	if (!err) {
		igt_assert_neq_u32(arg.handle, 0);
		*handle = arg.handle;
	}
	return err;
}

uint32_t vblit_gem_userptr(int fd, const void *ptr, uint64_t size,
			   uint32_t flags)
{
	uint32_t handle = 0;

	igt_assert_eq(__vblit_gem_userptr(fd, ptr, size, flags, &handle), 0);
	return handle;
}

/* ---------------------------------------------------------------------- */
/* Jobs                                                                   */

/**
 * vblit_exec_init - a valid job description with every MBZ member zero
 *
 * For FILL pass @src = 0 and @src_offset = 0 and set @exec->value after.
 */
void vblit_exec_init(struct drm_vblit_exec *exec, uint32_t op,
		     uint32_t dst, uint64_t dst_offset,
		     uint32_t src, uint64_t src_offset, uint64_t length)
{
	memset(exec, 0, sizeof(*exec));
	exec->op = op;
	exec->dst_handle = dst;
	exec->dst_offset = dst_offset;
	exec->src_handle = src;
	exec->src_offset = src_offset;
	exec->length = length;
}

int __vblit_exec(int fd, struct drm_vblit_exec *exec)
{
	return __vblit_ioctl(fd, DRM_IOCTL_VBLIT_EXEC, exec);
}

/**
 * vblit_exec - queue @exec, asserting success
 *
 * Returns: the job id.
 */
uint64_t vblit_exec(int fd, struct drm_vblit_exec *exec)
{
	igt_assert_eq(__vblit_exec(fd, exec), 0);
	igt_assert_neq_u64(exec->job_id, 0);
	if (exec->flags & VBLIT_EXEC_FENCE_OUT)
		igt_assert_lte(0, exec->fence_fd);
	else
		igt_assert_eq(exec->fence_fd, -1);
	return exec->job_id;
}

/* One plain job (no flags) of @op; FILL writes @value. 0 or -errno. */
static int __vblit_job(int fd, uint32_t op, uint32_t dst, uint64_t dst_offset,
		       uint32_t src, uint64_t src_offset, uint64_t length,
		       uint32_t value)
{
	struct drm_vblit_exec exec;

	vblit_exec_init(&exec, op, dst, dst_offset, src, src_offset, length);
	exec.value = value;
	return __vblit_exec(fd, &exec);
}

/* The same, asserting success, then waiting for it. */
static void vblit_job(int fd, uint32_t op, uint32_t dst, uint64_t dst_offset,
		      uint32_t src, uint64_t src_offset, uint64_t length,
		      uint32_t value)
{
	igt_assert_eq(__vblit_job(fd, op, dst, dst_offset, src, src_offset,
				  length, value), 0);
	vblit_gem_wait(fd, dst);
}

int __vblit_fill(int fd, uint32_t dst, uint64_t dst_offset, uint64_t length,
		 uint32_t value)
{
	return __vblit_job(fd, VBLIT_OP_FILL, dst, dst_offset, 0, 0, length,
			   value);
}

/** vblit_fill - fill and wait for the result */
void vblit_fill(int fd, uint32_t dst, uint64_t dst_offset, uint64_t length,
		uint32_t value)
{
	vblit_job(fd, VBLIT_OP_FILL, dst, dst_offset, 0, 0, length, value);
}

int __vblit_copy(int fd, uint32_t dst, uint64_t dst_offset,
		 uint32_t src, uint64_t src_offset, uint64_t length)
{
	return __vblit_job(fd, VBLIT_OP_COPY, dst, dst_offset, src, src_offset,
			   length, 0);
}

/** vblit_copy - copy and wait for the result */
void vblit_copy(int fd, uint32_t dst, uint64_t dst_offset,
		uint32_t src, uint64_t src_offset, uint64_t length)
{
	vblit_job(fd, VBLIT_OP_COPY, dst, dst_offset, src, src_offset, length, 0);
}

int __vblit_checksum(int fd, uint32_t dst, uint64_t dst_offset,
		     uint32_t src, uint64_t src_offset, uint64_t length)
{
	return __vblit_job(fd, VBLIT_OP_CHECKSUM, dst, dst_offset, src,
			   src_offset, length, 0);
}

/** vblit_checksum - hash and wait for the result */
void vblit_checksum(int fd, uint32_t dst, uint64_t dst_offset,
		    uint32_t src, uint64_t src_offset, uint64_t length)
{
	vblit_job(fd, VBLIT_OP_CHECKSUM, dst, dst_offset, src, src_offset,
		  length, 0);
}

/* A job of @op held in flight for up to @hold_ms; returns its id. */
static uint64_t vblit_job_held(int fd, uint32_t op, uint32_t dst,
			       uint64_t dst_offset, uint32_t src,
			       uint64_t src_offset, uint64_t length,
			       uint32_t value, uint32_t hold_ms)
{
	struct drm_vblit_exec exec;

	vblit_exec_init(&exec, op, dst, dst_offset, src, src_offset, length);
	exec.value = value;
	exec.flags = VBLIT_EXEC_HOLD;
	exec.hold_ms = hold_ms;
	return vblit_exec(fd, &exec);
}

/**
 * vblit_fill_held - queue a FILL held in flight for up to @hold_ms
 *
 * Returns: the job id, for vblit_job_release().
 */
uint64_t vblit_fill_held(int fd, uint32_t dst, uint64_t dst_offset,
			 uint64_t length, uint32_t value, uint32_t hold_ms)
{
	return vblit_job_held(fd, VBLIT_OP_FILL, dst, dst_offset, 0, 0,
			      length, value, hold_ms);
}

/** vblit_copy_held - queue a COPY held in flight for up to @hold_ms */
uint64_t vblit_copy_held(int fd, uint32_t dst, uint64_t dst_offset,
			 uint32_t src, uint64_t src_offset, uint64_t length,
			 uint32_t hold_ms)
{
	return vblit_job_held(fd, VBLIT_OP_COPY, dst, dst_offset, src,
			      src_offset, length, 0, hold_ms);
}

int __vblit_gem_wait(int fd, uint32_t handle, int64_t timeout_ns)
{
	struct drm_vblit_gem_wait arg = {
		.handle = handle,
		.timeout_ns = timeout_ns,
	};

	return __vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_WAIT, &arg);
}

/** vblit_gem_wait - wait until @handle is idle; fails after 20 s */
void vblit_gem_wait(int fd, uint32_t handle)
{
	igt_assert_eq(__vblit_gem_wait(fd, handle, VBLIT_WAIT_TIMEOUT_NS), 0);
}

/** vblit_gem_busy - whether a job on @handle is still in flight */
bool vblit_gem_busy(int fd, uint32_t handle)
{
	int err = __vblit_gem_wait(fd, handle, 0);

	igt_assert_f(err == 0 || err == -ETIME,
		     "GEM_WAIT(timeout 0) on %u gave %d\n", handle, err);
	return err == -ETIME;
}

int __vblit_job_release(int fd, uint64_t job_id)
{
	struct drm_vblit_job_release arg = { .job_id = job_id };

	return __vblit_ioctl(fd, DRM_IOCTL_VBLIT_JOB_RELEASE, &arg);
}

void vblit_job_release(int fd, uint64_t job_id)
{
	igt_assert_eq(__vblit_job_release(fd, job_id), 0);
}

/**
 * vblit_close_held - close @fd, on which jobs are held for @hold_ms
 *
 * Closing must not wait for the holds: every object and pin of the file is
 * released promptly (asserted, and well before @hold_ms where that is long
 * enough to tell).
 */
void vblit_close_held(int fd, uint32_t hold_ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	close(fd);
	vblit_assert_no_leaks();
	igt_info("objects freed %.1f ms after close (hold_ms %u)\n",
		 vblit_elapsed_ms(&start), hold_ms);
	if (hold_ms > 6000)
		igt_assert_f(vblit_elapsed_ms(&start) < hold_ms,
			     "close waited for the hold to time out\n");
}

/* ---------------------------------------------------------------------- */
/* Counters                                                               */

const char *vblit_stats_path(void)
{
	const char *path = getenv("VBLIT_STATS");

	return path && *path ? path : VBLIT_STATS_PATH;
}

bool vblit_stats_available(void)
{
	return access(vblit_stats_path(), R_OK) == 0;
}

/**
 * vblit_stat - read one counter
 *
 * The file has one "key: value" line per counter.
 *
 * Returns: the value, or -1 if the file or the key is missing.
 */
int64_t vblit_stat(const char *key)
{
	size_t keylen = strlen(key);
	int64_t value = -1;
	char line[256];
	FILE *file;

	file = fopen(vblit_stats_path(), "re");
	if (!file)
		return -1;

	while (fgets(line, sizeof(line), file)) {
		char *p = line;

		while (isspace((unsigned char)*p))
			p++;
		if (strncmp(p, key, keylen) || p[keylen] != ':')
			continue;
		value = strtoll(p + keylen + 1, NULL, 0);
		break;
	}
	fclose(file);
	return value;
}

/**
 * vblit_stat_pinned_pages - pages the device holds pinned
 *
 * Returns: "pinned_pages", else the helper's "userptr_pinned_pages", else -1.
 */
int64_t vblit_stat_pinned_pages(void)
{
	int64_t v = vblit_stat("pinned_pages");

	return v >= 0 ? v : vblit_stat("userptr_pinned_pages");
}

/** vblit_stat_require - read a counter, skipping if the kernel has none */
int64_t vblit_stat_require(const char *key)
{
	int64_t value;

	igt_require_f(vblit_stats_available(),
		      "no counters at %s (debugfs not mounted?)\n",
		      vblit_stats_path());
	value = vblit_stat(key);
	igt_require_f(value >= 0, "%s has no counter \"%s\"\n",
		      vblit_stats_path(), key);
	return value;
}

/**
 * vblit_stat_wait - poll until counter @key reads @value
 *
 * Returns: whether it did within @timeout_ms.
 */
bool vblit_stat_wait(const char *key, int64_t value, unsigned int timeout_ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (vblit_stat(key) == value)
			return true;
		if (vblit_elapsed_ms(&start) > timeout_ms)
			return false;
		usleep(10 * 1000);
	}
}

/**
 * vblit_check_pinned - assert that the device holds @expected pages pinned
 *
 * Pins can be dropped by a worker: polls up to 2 s. Nothing is checked if
 * @expected is negative (a base read without counters) or the kernel has
 * no pinned-pages counter.
 */
void vblit_check_pinned(int64_t expected, const char *what)
{
	struct timespec start;

	if (expected < 0 || vblit_stat_pinned_pages() < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vblit_stat_pinned_pages() != expected &&
	       vblit_elapsed_ms(&start) < 2000)
		usleep(10 * 1000);
	igt_assert_f(vblit_stat_pinned_pages() == expected,
		     "%s: pinned_pages is %" PRId64 ", expected %" PRId64 "\n",
		     what, vblit_stat_pinned_pages(), expected);
}

/**
 * vblit_release_deferred - is vblit loaded with release=deferred?
 *
 * With deferred release an invalidation leaves the pins of the pages it
 * makes stale until the next job on the object (or its close) releases
 * them, and never waits for the device (the helper's DOC: Release modes).
 *
 * Returns: true if the stats say "release_deferred: 1".
 */
bool vblit_release_deferred(void)
{
	return vblit_stat("release_deferred") == 1;
}

/**
 * vblit_require_release_at_invalidation - skip under release=deferred
 * @why: what the subtest relies on that deferred release does not do
 */
void vblit_require_release_at_invalidation(const char *why)
{
	igt_require_f(!vblit_release_deferred(), "release=deferred: %s\n", why);
}

static bool vblit_stats_idle(void)
{
	static const char * const keys[] = {
		"objects", "pinned_pages", "jobs_in_flight",
		"userptr_objects", "userptr_live", "userptr_pinned_pages",
	};

	/* A missing key reads -1 and counts as idle: not every key exists. */
	for (unsigned int i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (vblit_stat(keys[i]) > 0)
			return false;
	return true;
}

/**
 * vblit_stats_wait_idle - poll until no object, pinned page or job is left
 *
 * Frees can be deferred (to a worker, or to a job's completion), hence the
 * polling.
 */
bool vblit_stats_wait_idle(unsigned int timeout_ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		if (vblit_stats_idle())
			return true;
		if (vblit_elapsed_ms(&start) > timeout_ms)
			return false;
		usleep(10 * 1000);
	}
}

/**
 * vblit_assert_no_leaks - assert that every object and pin is gone
 *
 * Call with every handle closed. Without the counters file there is
 * nothing to check here; the runner checks again after the subtest.
 */
void vblit_assert_no_leaks(void)
{
	if (!vblit_stats_available()) {
		igt_debug("no %s: leak check left to the runner\n",
			  vblit_stats_path());
		return;
	}
	igt_assert_f(vblit_stats_wait_idle(5000),
		     "leak: objects=%" PRId64 " pinned_pages=%" PRId64
		     " userptr_objects=%" PRId64 " jobs_in_flight=%" PRId64 "\n",
		     vblit_stat("objects"), vblit_stat("pinned_pages"),
		     vblit_stat("userptr_objects"), vblit_stat("jobs_in_flight"));
}

/* ---------------------------------------------------------------------- */
/* Module                                                                 */

bool vblit_module_loaded(void)
{
	return igt_kmod_is_loaded(VBLIT_MODULE);
}

/**
 * vblit_module_unload - remove vblit.ko
 *
 * Returns: 0, or -errno (-EAGAIN or -EBUSY while it is in use).
 */
int vblit_module_unload(void)
{
	return igt_kmod_unload(VBLIT_MODULE, 0);
}

static const char *vblit_module_opts(void)
{
	const char *opts = getenv(VBLIT_ENV_MODULE_OPTS);

	return opts && *opts ? opts : NULL;
}

/*
 * The guests insmod our modules from a path, so libkmod (which looks in
 * /lib/modules/$(uname -r)) may not find vblit.ko: fall back to the path
 * the runner exports in $VBLIT_KO, through finit_module(2) and then through
 * insmod(8), which also understands compressed modules.
 */
static int vblit_module_insmod(const char *opts)
{
	const char *ko = getenv(VBLIT_ENV_KO);
	char cmd[1024];
	int fd, ret;

	if (!ko || !*ko)
		return -ENOENT;

	fd = open(ko, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, opts ?: "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	if (ret == 0 || ret == -EEXIST)
		return ret;

	igt_debug("finit_module(%s) = %d, trying insmod\n", ko, ret);
	snprintf(cmd, sizeof(cmd), "insmod '%s' %s", ko, opts ?: "");
	ret = system(cmd);
	if (ret == -1 || !WIFEXITED(ret) || WEXITSTATUS(ret))
		return -EIO;
	return 0;
}

/**
 * __vblit_module_load - load vblit.ko with the runner's options
 *
 * Waits (up to 5 s) for the render node to appear.
 *
 * Returns: 0, or -errno.
 */
int __vblit_module_load(void)
{
	const char *opts = vblit_module_opts();
	struct timespec start;
	int err;

	if (!vblit_module_loaded()) {
		err = igt_kmod_load(VBLIT_MODULE, opts);
		if (err && err != -EEXIST) {
			igt_debug("igt_kmod_load(%s) = %d, trying $%s\n",
				  VBLIT_MODULE, err, VBLIT_ENV_KO);
			err = vblit_module_insmod(opts);
		}
		if (err && err != -EEXIST)
			return err;
	}

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int fd = __vblit_open();

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (vblit_elapsed_ms(&start) > 5000)
			return -ENODEV;
		usleep(10 * 1000);
	}
}

void vblit_module_load(void)
{
	int err = __vblit_module_load();

	igt_assert_f(err == 0,
		     "reloading vblit (options \"%s\", $%s=%s) failed: %d\n",
		     vblit_module_opts() ?: "", VBLIT_ENV_KO,
		     getenv(VBLIT_ENV_KO) ?: "(unset)", err);
}

static void vblit_module_exit_handler(int sig)
{
	(void)sig;
	if (!vblit_module_loaded())
		__vblit_module_load();
}

/**
 * vblit_module_restore_on_exit - reload vblit.ko at exit if it is gone
 *
 * For the unload subtests: whatever happens in them, the next test binary
 * must find the device.
 */
void vblit_module_restore_on_exit(void)
{
	igt_install_exit_handler(vblit_module_exit_handler);
}

/**
 * vblit_module_require - skip unless vblit is a loaded module
 *
 * For the unload subtests: from then on, vblit.ko is reloaded at exit if
 * the subtest left it unloaded.
 */
void vblit_module_require(void)
{
	igt_require_f(vblit_module_loaded(),
		      "vblit is not a loaded module (built in?)\n");
	vblit_module_restore_on_exit();
}

/** vblit_module_assert_held - vblit.ko refuses to unload, held by @what */
void vblit_module_assert_held(const char *what)
{
	igt_assert_f(vblit_module_unload() < 0 && vblit_module_loaded(),
		     "vblit unloaded under %s\n", what);
}

/**
 * vblit_module_unload_unused - unload vblit.ko once nothing uses it
 *
 * For the unload subtests, with every file and mapping gone: the last fput
 * can be deferred, so retries for up to 5 s; asserts the module is gone.
 */
void vblit_module_unload_unused(void)
{
	struct timespec start;
	int err;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((err = vblit_module_unload()) && vblit_elapsed_ms(&start) < 5000)
		usleep(20 * 1000);
	igt_assert_f(err == 0, "vblit does not unload when unused: %d\n", err);
	igt_assert(!vblit_module_loaded());
}

/** vblit_module_reload - load vblit.ko again and check the device answers */
void vblit_module_reload(void)
{
	int fd;

	vblit_module_load();
	fd = vblit_open();
	igt_assert_eq(vblit_getparam(fd, VBLIT_PARAM_API_VERSION), 1);
	close(fd);
}

/* ---------------------------------------------------------------------- */
/* Data                                                                   */

static uint32_t vblit_mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x85ebca6bu;
	x ^= x >> 13;
	x *= 0xc2b2ae35u;
	x ^= x >> 16;
	return x;
}

/**
 * vblit_pattern - the dword at (@page, @dword) of pattern @seed
 *
 * Every page of every seed starts from its own hashed base, so a page that
 * landed in the wrong place, or stale data from an older seed, does not
 * compare equal by accident. Within a page the dwords step by an odd
 * constant: cheap enough for 64 MiB under TCG.
 */
uint32_t vblit_pattern(uint32_t seed, uint64_t page, uint32_t dword)
{
	uint32_t base = vblit_mix32(seed * 0x9e3779b1u ^
				    vblit_mix32((uint32_t)page ^
						vblit_mix32((uint32_t)(page >> 32))));

	return base + dword * 0x01000193u;
}

void vblit_pattern_write(void *ptr, size_t size, uint32_t seed)
{
	const size_t dwords = VBLIT_PAGE_SIZE / 4;
	uint32_t *p = ptr;

	for (size_t pg = 0; pg < size / VBLIT_PAGE_SIZE; pg++) {
		uint32_t v = vblit_pattern(seed, pg, 0);

		for (size_t i = 0; i < dwords; i++, v += 0x01000193u)
			*p++ = v;
	}
}

/* Name what a wrong page holds, for the failure message. */
static void vblit_pattern_explain(const uint32_t *page, size_t npages,
				  uint32_t seed, char *buf, size_t len)
{
	size_t dwords = VBLIT_PAGE_SIZE / 4;
	bool zero = true;

	for (size_t i = 0; i < dwords; i++)
		zero &= page[i] == 0;
	if (zero) {
		snprintf(buf, len, "the page is all zero");
		return;
	}
	for (size_t p = 0; p < npages; p++) {
		if (page[0] == vblit_pattern(seed, p, 0) &&
		    page[dwords - 1] == vblit_pattern(seed, p, dwords - 1)) {
			snprintf(buf, len, "it holds page %zu of the pattern", p);
			return;
		}
	}
	snprintf(buf, len, "it holds unknown data");
}

/**
 * vblit_pattern_check - assert that @ptr holds pattern @seed
 *
 * @size is a whole number of pages counted from page 0 of the pattern.
 */
void vblit_pattern_check(const void *ptr, size_t size, uint32_t seed,
			 const char *what)
{
	const size_t dwords = VBLIT_PAGE_SIZE / 4;
	size_t npages = size / VBLIT_PAGE_SIZE;
	size_t bad = 0, first = 0, first_dw = 0;
	const uint32_t *p = ptr;
	char explain[96] = "";

	for (size_t pg = 0; pg < npages; pg++) {
		uint32_t v = vblit_pattern(seed, pg, 0);
		const uint32_t *q = p + pg * dwords;

		for (size_t i = 0; i < dwords; i++, v += 0x01000193u) {
			if (q[i] == v)
				continue;
			if (!bad++) {
				first = pg;
				first_dw = i;
			}
			break;
		}
	}
	if (bad)
		vblit_pattern_explain(p + first * dwords, npages, seed,
				      explain, sizeof(explain));
	igt_assert_f(!bad,
		     "%s: %zu of %zu pages differ from pattern %#x; first: page %zu dword %zu: expected %#010x, found %#010x (%s)\n",
		     what, bad, npages, seed, first, first_dw,
		     vblit_pattern(seed, first, first_dw),
		     p[first * dwords + first_dw], explain);
}

/** vblit_value_check - assert that every dword of @ptr is @value */
void vblit_value_check(const void *ptr, size_t size, uint32_t value,
		       const char *what)
{
	const uint32_t *p = ptr;

	for (size_t i = 0; i < size / 4; i++)
		igt_assert_f(p[i] == value,
			     "%s: page %zu dword %zu: expected %#010x, found %#010x\n",
			     what, i * 4 / VBLIT_PAGE_SIZE,
			     i % (VBLIT_PAGE_SIZE / 4), value, p[i]);
}

/** vblit_mem_check - assert that @got equals @expected, naming the byte */
void vblit_mem_check(const void *got, const void *expected, size_t size,
		     const char *what)
{
	const uint8_t *g = got, *e = expected;

	if (!memcmp(got, expected, size))
		return;
	for (size_t i = 0; i < size; i++)
		igt_assert_f(g[i] == e[i],
			     "%s: byte %#zx (page %zu + %#zx): expected %#04x, found %#04x\n",
			     what, i, i / VBLIT_PAGE_SIZE, i % VBLIT_PAGE_SIZE,
			     e[i], g[i]);
}

/**
 * vblit_fill_ref - what FILL does, on the CPU
 *
 * The pattern starts at @offset with its least significant byte: byte
 * @offset + i gets byte (i % 4) of @value in little-endian order.
 */
void vblit_fill_ref(void *ptr, uint64_t offset, uint64_t length,
		    uint32_t value)
{
	uint8_t *p = (uint8_t *)ptr + offset;

	for (uint64_t i = 0; i < length; i++)
		p[i] = value >> (8 * (i % 4));
}

/** vblit_fnv1a64 - the engine's CHECKSUM, on the CPU */
uint64_t vblit_fnv1a64(const void *ptr, size_t size)
{
	const uint8_t *p = ptr;
	uint64_t hash = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < size; i++) {
		hash ^= p[i];
		hash *= 0x100000001b3ull;
	}
	return hash;
}

/* ---------------------------------------------------------------------- */
/* Memory and time                                                        */

/** vblit_mmap_anon - private anonymous read-write memory */
void *vblit_mmap_anon(size_t size)
{
	void *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	igt_assert_f(ptr != MAP_FAILED, "mmap(%zu): %m\n", size);
	return ptr;
}

/** vblit_reserve - address space without memory (PROT_NONE) */
void *vblit_reserve(size_t size)
{
	void *ptr = mmap(NULL, size, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	igt_assert_f(ptr != MAP_FAILED, "mmap(PROT_NONE, %zu): %m\n", size);
	return ptr;
}

/** vblit_memfd - a memfd of @size bytes (holes: nothing allocated yet) */
int vblit_memfd(const char *name, size_t size)
{
	int mfd = memfd_create(name, MFD_CLOEXEC);

	igt_assert_f(mfd >= 0, "memfd_create: %m\n");
	igt_assert_eq(ftruncate(mfd, size), 0);
	return mfd;
}

double vblit_elapsed_ms(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1e3 +
	       (now.tv_nsec - start->tv_nsec) / 1e6;
}

/* ---------------------------------------------------------------------- */
/* Helpers of the mm and race suites                                      */

static size_t vblit_round_page(size_t size)
{
	return (size + VBLIT_PAGE_SIZE - 1) & VBLIT_PAGE_MASK;
}

/** vblit_bo_create - a shmem object of @size bytes, mapped read-write */
struct vblit_bo vblit_bo_create(int fd, size_t size)
{
	struct vblit_bo bo = { .size = vblit_round_page(size) };

	bo.handle = vblit_gem_create(fd, bo.size);
	bo.map = vblit_gem_mmap(fd, bo.handle, bo.size, PROT_READ | PROT_WRITE);
	return bo;
}

void vblit_bo_destroy(int fd, struct vblit_bo *bo)
{
	munmap(bo->map, bo->size);
	vblit_gem_close(fd, bo->handle);
	bo->map = NULL;
	bo->handle = 0;
}

/**
 * __vblit_device_read - what the device reads at @offset of @handle
 *
 * COPYs the range to a fresh shmem object, waits, and copies it to @out.
 *
 * Returns: 0, or the -errno of the COPY (nothing is written to @out).
 */
int __vblit_device_read(int fd, uint32_t handle, uint64_t offset, void *out,
			size_t size)
{
	struct vblit_bo bo = vblit_bo_create(fd, size);
	int err;

	err = __vblit_copy(fd, bo.handle, 0, handle, offset, size);
	if (!err) {
		vblit_gem_wait(fd, bo.handle);
		memcpy(out, bo.map, size);
	}
	vblit_bo_destroy(fd, &bo);
	return err;
}

void vblit_device_read(int fd, uint32_t handle, uint64_t offset, void *out,
		       size_t size)
{
	igt_assert_eq(__vblit_device_read(fd, handle, offset, out, size), 0);
}

/**
 * __vblit_device_write - the device writes @data at @offset of @handle
 *
 * COPYs from a shmem object holding @data and waits for the job.
 *
 * Returns: 0, or the -errno of the COPY.
 */
int __vblit_device_write(int fd, uint32_t handle, uint64_t offset,
			 const void *data, size_t size)
{
	struct vblit_bo bo = vblit_bo_create(fd, size);
	int err;

	memcpy(bo.map, data, size);
	err = __vblit_copy(fd, handle, offset, bo.handle, 0, size);
	if (!err)
		vblit_gem_wait(fd, handle);
	vblit_bo_destroy(fd, &bo);
	return err;
}

void vblit_device_write(int fd, uint32_t handle, uint64_t offset,
			const void *data, size_t size)
{
	igt_assert_eq(__vblit_device_write(fd, handle, offset, data, size), 0);
}

/* What the device reads of @handle: COPYed out to a fresh object. */
static struct vblit_bo vblit_device_copy_out(int fd, uint32_t handle,
					     size_t size)
{
	struct vblit_bo bo = vblit_bo_create(fd, size);

	vblit_copy(fd, bo.handle, 0, handle, 0, size);
	return bo;
}

/** vblit_device_check_mem - assert the device reads exactly @expected */
void vblit_device_check_mem(int fd, uint32_t handle, const void *expected,
			    size_t size, const char *what)
{
	struct vblit_bo bo = vblit_device_copy_out(fd, handle, size);

	vblit_mem_check(bo.map, expected, size, what);
	vblit_bo_destroy(fd, &bo);
}

/** vblit_device_check_pattern - assert the device reads pattern @seed */
void vblit_device_check_pattern(int fd, uint32_t handle, size_t size,
				uint32_t seed, const char *what)
{
	struct vblit_bo bo = vblit_device_copy_out(fd, handle, size);

	vblit_pattern_check(bo.map, size, seed, what);
	vblit_bo_destroy(fd, &bo);
}

/** vblit_device_check_value - assert every dword the device reads is @value */
void vblit_device_check_value(int fd, uint32_t handle, size_t size,
			      uint32_t value, const char *what)
{
	struct vblit_bo bo = vblit_device_copy_out(fd, handle, size);

	vblit_value_check(bo.map, size, value, what);
	vblit_bo_destroy(fd, &bo);
}

/** vblit_device_write_pattern - the device writes pattern @seed, waited for */
void vblit_device_write_pattern(int fd, uint32_t handle, size_t size,
				uint32_t seed)
{
	struct vblit_bo bo = vblit_bo_create(fd, size);

	vblit_pattern_write(bo.map, size, seed);
	vblit_copy(fd, handle, 0, bo.handle, 0, size);
	vblit_bo_destroy(fd, &bo);
}

/**
 * vblit_check_jobs_fail - every kind of job touching @handle gives @err
 * @bo: the other object of the jobs, or NULL for a scratch one; pass one
 *	made beforehand where no mapping may be created meanwhile
 *
 * A device read, checksum, fill and write of @handle's first page: each is
 * refused with @err, and @bo is left as it was.
 */
void vblit_check_jobs_fail(int fd, uint32_t handle, const struct vblit_bo *bo,
			   int err, const char *what)
{
	struct vblit_bo scratch;

	if (!bo) {
		scratch = vblit_bo_create(fd, VBLIT_PAGE_SIZE);
		bo = &scratch;
	}
	vblit_pattern_write(bo->map, VBLIT_PAGE_SIZE, 0xb0b0);
	igt_assert_f(__vblit_copy(fd, bo->handle, 0, handle, 0, VBLIT_PAGE_SIZE) == err,
		     "%s: device read did not give %d\n", what, err);
	igt_assert_f(__vblit_checksum(fd, bo->handle, 0, handle, 0, VBLIT_PAGE_SIZE) == err,
		     "%s: device checksum did not give %d\n", what, err);
	igt_assert_f(__vblit_fill(fd, handle, 0, VBLIT_PAGE_SIZE, 0xdead) == err,
		     "%s: device fill did not give %d\n", what, err);
	igt_assert_f(__vblit_copy(fd, handle, 0, bo->handle, 0, VBLIT_PAGE_SIZE) == err,
		     "%s: device write did not give %d\n", what, err);
	vblit_gem_wait(fd, bo->handle);
	vblit_pattern_check(bo->map, VBLIT_PAGE_SIZE, 0xb0b0,
			    "other object after refused jobs");
	if (bo == &scratch)
		vblit_bo_destroy(fd, &scratch);
}

/**
 * vblit_invalidate_nonblock - deliver a non-blockable invalidation
 *
 * Writes @addr to debugfs "vblit/invalidate_nonblock" (next to the counters
 * file): every userptr object of the caller's mm covering @addr gets the
 * decision the OOM reaper's non-blockable invalidation gets.
 *
 * Returns: 0 if every such object completed it; -EBUSY if one refused (its
 * lock was taken or a job is in flight); -ENOENT if no object covers @addr;
 * -EPERM without drm_userptr's debug_hooks; another -errno if the file is
 * missing.
 */
int vblit_invalidate_nonblock(const void *addr)
{
	const char *stats = vblit_stats_path();
	const char *slash = strrchr(stats, '/');
	char path[512], buf[32];
	int hfd, len, err = 0;

	snprintf(path, sizeof(path), "%.*s/%s",
		 slash ? (int)(slash - stats) : 1, slash ? stats : ".",
		 VBLIT_NONBLOCK_HOOK);
	hfd = open(path, O_WRONLY | O_CLOEXEC);
	if (hfd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%#lx", (unsigned long)addr);
	if (write(hfd, buf, len) != len)
		err = -errno;
	close(hfd);
	return err;
}

/**
 * vblit_pagemap - the /proc/self/pagemap entry of the page holding @addr
 *
 * Bit 63: present, bit 62: swapped, bits 0-54: the PFN (zero unless the
 * caller has CAP_SYS_ADMIN).
 */
uint64_t vblit_pagemap(const void *addr)
{
	uint64_t entry = 0;
	int pfd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	igt_assert_f(pfd >= 0, "/proc/self/pagemap: %m\n");
	igt_assert_eq(pread(pfd, &entry, sizeof(entry),
			    (uintptr_t)addr / VBLIT_PAGE_SIZE * sizeof(entry)),
		      (ssize_t)sizeof(entry));
	close(pfd);
	return entry;
}

/** vblit_count_swapped - how many pages of [@ptr, @ptr + @size) are in swap */
size_t vblit_count_swapped(const void *ptr, size_t size)
{
	size_t n = 0;

	for (size_t off = 0; off < size; off += VBLIT_PAGE_SIZE)
		n += !!(vblit_pagemap((const uint8_t *)ptr + off) & VBLIT_PM_SWAPPED);
	return n;
}

/** vblit_numa_nodes - number of online NUMA nodes (1 without NUMA) */
int vblit_numa_nodes(void)
{
	char path[64];
	int n = 0;

	for (;;) {
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", n);
		if (access(path, F_OK))
			break;
		n++;
	}
	return n ? n : 1;
}

/**
 * vblit_page_node - the NUMA node of the page holding @addr
 *
 * Returns: the node, or -errno as move_pages(2) reports it in its status
 * (-ENOENT for a page that is not present).
 */
int vblit_page_node(const void *addr)
{
	void *page = (void *)((uintptr_t)addr & VBLIT_PAGE_MASK);
	int status = -1;

	igt_assert_eq(syscall(SYS_move_pages, 0, 1ul, &page, NULL, &status, 0), 0);
	return status;
}

/**
 * vblit_lru_drain_all - move the folios every CPU holds in its LRU batches
 * onto the LRU lists
 *
 * A folio faulted in on one CPU waits in that CPU's LRU-add batch until
 * the batch fills or is drained; until then reclaim cannot isolate it and
 * MADV_PAGEOUT skips it, draining only the calling CPU's batch. A real
 * move_pages(2) request drains every CPU's batches before it isolates
 * anything (lru_cache_disable()), so move one page of a scratch mapping
 * to node 0, where it may already be.
 *
 * Returns: 0, or -errno of move_pages(2) (-ENOSYS without NUMA).
 */
int vblit_lru_drain_all(void)
{
	void *page = mmap(NULL, VBLIT_PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int node = 0, status = -1, err = 0;

	igt_assert(page != MAP_FAILED);
	*(volatile char *)page = 1;
	if (syscall(SYS_move_pages, 0, 1ul, &page, &node, &status, MPOL_MF_MOVE))
		err = -errno;
	munmap(page, VBLIT_PAGE_SIZE);
	return err;
}

/** vblit_file_write - write @value to a /proc or /sys file; 0 or -errno */
int vblit_file_write(const char *path, const char *value)
{
	ssize_t len = strlen(value);
	int wfd, err = 0;

	wfd = open(path, O_WRONLY | O_CLOEXEC);
	if (wfd < 0)
		return -errno;
	if (write(wfd, value, len) != len)
		err = -errno;
	close(wfd);
	return err;
}

/**
 * vblit_file_read - the start of a small file, as a string without the
 * trailing newline
 *
 * Returns: its length, or -errno.
 */
int vblit_file_read(const char *path, char *buf, size_t size)
{
	ssize_t len;
	int rfd;

	rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd < 0)
		return -errno;
	len = read(rfd, buf, size - 1);
	if (len < 0)
		len = -errno;
	close(rfd);
	if (len < 0)
		return len;
	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strlen(buf);
}

/** vblit_file_read_int - the first integer in a /proc or /sys file, or -errno */
int64_t vblit_file_read_int(const char *path)
{
	char buf[64] = "";
	int len = vblit_file_read(path, buf, sizeof(buf));

	if (len < 0)
		return len;
	if (len == 0)
		return -EIO;
	/* "[always] madvise never"-style files are not integers. */
	if (!isdigit((unsigned char)buf[0]) && buf[0] != '-')
		return -EINVAL;
	return strtoll(buf, NULL, 0);
}

/**
 * vblit_foll_pin_balance - the kernel's count of pages pinned with FOLL_PIN
 *
 * Returns: nr_foll_pin_acquired - nr_foll_pin_released from /proc/vmstat.
 * Global: it moves with every pin of every driver and of O_DIRECT I/O, so
 * compare two readings only around code nothing else runs beside. Each
 * CPU's pending deltas are folded in first (/proc/sys/vm/stat_refresh, as
 * root): without that the two counters lag by up to a per-CPU threshold
 * each, and a reading was seen 16 pins high, another 4 low.
 */
int64_t vblit_foll_pin_balance(void)
{
	int64_t acquired = -1, released = -1;
	char key[64];
	long long v;
	FILE *f;

	vblit_file_write("/proc/sys/vm/stat_refresh", "1");
	f = fopen("/proc/vmstat", "r");

	igt_assert_f(f, "/proc/vmstat: %m\n");
	while (fscanf(f, "%63s %lld", key, &v) == 2) {
		if (!strcmp(key, "nr_foll_pin_acquired"))
			acquired = v;
		else if (!strcmp(key, "nr_foll_pin_released"))
			released = v;
	}
	fclose(f);
	igt_assert_f(acquired >= 0 && released >= 0,
		     "no nr_foll_pin_* counters in /proc/vmstat\n");
	return acquired - released;
}

/**
 * vblit_foll_pin_wait - poll until the FOLL_PIN balance is back at @balance
 *
 * Unpins can be deferred to a job's completion, hence the polling.
 * Returns: whether it got there within @timeout_ms.
 */
bool vblit_foll_pin_wait(int64_t balance, unsigned int timeout_ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vblit_foll_pin_balance() != balance) {
		if (vblit_elapsed_ms(&start) > timeout_ms)
			return false;
		usleep(10 * 1000);
	}
	return true;
}

/** vblit_page_pfn - the PFN of the page at @addr; 0 without CAP_SYS_ADMIN */
uint64_t vblit_page_pfn(const void *addr)
{
	return vblit_pagemap(addr) & VBLIT_PM_PFN_MASK;
}

/** vblit_kpageflags - /proc/kpageflags of the page at @addr, or 0 */
uint64_t vblit_kpageflags(const void *addr)
{
	uint64_t pfn = vblit_page_pfn(addr);
	uint64_t flags = 0;
	int kfd;

	if (!pfn)
		return 0;
	kfd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (kfd < 0)
		return 0;
	if (pread(kfd, &flags, sizeof(flags), pfn * sizeof(flags)) != sizeof(flags))
		flags = 0;
	close(kfd);
	return flags;
}

#define VBLIT_KSM_DIR "/sys/kernel/mm/ksm/"

/* smart_scan (6.7 on) is optional: older kernels do not have it. */
static const char *const vblit_ksm_knobs[] = {
	"run", "pages_to_scan", "sleep_millisecs", "smart_scan",
};
static int64_t vblit_ksm_saved[4] = { -1, -1, -1, -1 };

static void vblit_ksm_exit_handler(int sig)
{
	(void)sig;
	vblit_ksm_stop();
}

/**
 * vblit_ksm_start - run ksmd flat out, every page at every scan
 *
 * Saves run, pages_to_scan, sleep_millisecs and (where the kernel has it)
 * smart_scan of /sys/kernel/mm/ksm and sets them to 1, 4096, 0 and 0;
 * vblit_ksm_stop() (or the exit handler this installs) restores them.
 * Skips without a writable KSM sysfs. smart_scan off: with it, a page that
 * found no twin is skipped for a growing number of scans, and two twins
 * skipped in different phases were seen never to meet in the unstable
 * tree (no merge in 138,118 full scans, 15 s).
 */
void vblit_ksm_start(void)
{
	char path[128];

	igt_require_f(access(VBLIT_KSM_DIR "run", W_OK) == 0,
		      "no writable " VBLIT_KSM_DIR "run (kernel without CONFIG_KSM, or not root)\n");
	for (int i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), VBLIT_KSM_DIR "%s", vblit_ksm_knobs[i]);
		if (i == 3 && access(path, W_OK))
			continue;
		vblit_ksm_saved[i] = vblit_file_read_int(path);
		igt_assert_f(vblit_ksm_saved[i] >= 0, "%s: %" PRId64 "\n", path,
			     vblit_ksm_saved[i]);
	}
	igt_install_exit_handler(vblit_ksm_exit_handler);
	if (vblit_ksm_saved[3] >= 0)
		igt_assert_eq(vblit_file_write(VBLIT_KSM_DIR "smart_scan", "0"), 0);
	igt_assert_eq(vblit_file_write(VBLIT_KSM_DIR "pages_to_scan", "4096"), 0);
	igt_assert_eq(vblit_file_write(VBLIT_KSM_DIR "sleep_millisecs", "0"), 0);
	igt_assert_eq(vblit_file_write(VBLIT_KSM_DIR "run", "1"), 0);
}

/** vblit_ksm_stop - restore the KSM knobs vblit_ksm_start() changed */
void vblit_ksm_stop(void)
{
	char path[128], value[32];

	/* run last: the scanner stops with its old pace restored. */
	for (int i = 3; i >= 0; i--) {
		if (vblit_ksm_saved[i] < 0)
			continue;
		snprintf(path, sizeof(path), VBLIT_KSM_DIR "%s", vblit_ksm_knobs[i]);
		snprintf(value, sizeof(value), "%" PRId64, vblit_ksm_saved[i]);
		vblit_file_write(path, value);
		vblit_ksm_saved[i] = -1;
	}
}

/**
 * vblit_ksm_pause - stop (@paused) or resume ksmd's scans
 *
 * Pages already merged stay merged while ksmd is stopped (run=0).
 */
void vblit_ksm_pause(bool paused)
{
	igt_assert_eq(vblit_file_write(VBLIT_KSM_DIR "run", paused ? "0" : "1"), 0);
}

/** vblit_ksm_merged - whether every page of the range is a KSM page */
bool vblit_ksm_merged(const void *ptr, size_t size)
{
	for (size_t off = 0; off < size; off += VBLIT_PAGE_SIZE)
		if (!(vblit_kpageflags((const uint8_t *)ptr + off) >> VBLIT_KPF_KSM & 1))
			return false;
	return true;
}
