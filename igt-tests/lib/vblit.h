/* SPDX-License-Identifier: MIT */
/*
 * vblit.h: helpers for tests of the vblit virtual render driver. They would
 * live in IGT's lib/ if upstreamed.
 *
 * Conventions: __vblit_x() issues the ioctl and returns 0 or -errno;
 * vblit_x() asserts success and returns the useful output. Tests that feed
 * one invalid member call __vblit_ioctl() on a struct they filled by hand.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef VBLIT_H
#define VBLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "vblit_drm.h"

/* The only page size the tests (and the x86-64 guests) know. */
#define VBLIT_PAGE_SIZE		4096ul
#define VBLIT_PAGE_MASK		(~(VBLIT_PAGE_SIZE - 1))

/* Long enough for any job under TCG, short enough to fail rather than hang. */
#define VBLIT_WAIT_TIMEOUT_NS	(20ll * 1000 * 1000 * 1000)

/* Default location of the driver's counters; $VBLIT_STATS overrides it. */
#define VBLIT_STATS_PATH	"/sys/kernel/debug/vblit/stats"

/* Module name, and the runner's environment for reloading it. */
#define VBLIT_MODULE		"vblit"
#define VBLIT_ENV_MODULE_OPTS	"VBLIT_MODULE_OPTS"
#define VBLIT_ENV_KO		"VBLIT_KO"

/* Device. */
int __vblit_open(void);
int vblit_open(void);

/*
 * The fixture every suite starts with: the device, the page size, and with
 * VBLIT_SUITE_USERPTR userptr and EXEC required and the backing read (into
 * *@backing) and logged; with VBLIT_SUITE_STATS the counters required.
 */
#define VBLIT_SUITE_USERPTR	(1u << 0)
#define VBLIT_SUITE_STATS	(1u << 1)
int vblit_suite_open(unsigned int flags, uint32_t *backing);
const char *vblit_backing_name(uint32_t backing);
bool vblit_is_device(int fd);
int __vblit_ioctl(int fd, unsigned long request, void *arg);

int __vblit_getparam(int fd, uint32_t param, uint64_t *value);
uint64_t vblit_getparam(int fd, uint32_t param);
void vblit_require_userptr(int fd);
void vblit_require_hold(int fd);
uint32_t vblit_hold_ms(int fd, uint32_t want_ms);

/* Objects. */
int __vblit_gem_create(int fd, uint64_t size, uint32_t *handle);
uint32_t vblit_gem_create(int fd, uint64_t size);
int __vblit_gem_close(int fd, uint32_t handle);
void vblit_gem_close(int fd, uint32_t handle);
int __vblit_gem_mmap_offset(int fd, uint32_t handle, uint64_t *offset);
uint64_t vblit_gem_mmap_offset(int fd, uint32_t handle);
void *vblit_gem_mmap(int fd, uint32_t handle, size_t size, int prot);
int __vblit_gem_userptr(int fd, const void *ptr, uint64_t size,
			uint32_t flags, uint32_t *handle);
uint32_t vblit_gem_userptr(int fd, const void *ptr, uint64_t size,
			   uint32_t flags);

/* Jobs. */
void vblit_exec_init(struct drm_vblit_exec *exec, uint32_t op,
		     uint32_t dst, uint64_t dst_offset,
		     uint32_t src, uint64_t src_offset, uint64_t length);
int __vblit_exec(int fd, struct drm_vblit_exec *exec);
uint64_t vblit_exec(int fd, struct drm_vblit_exec *exec);

int __vblit_fill(int fd, uint32_t dst, uint64_t dst_offset, uint64_t length,
		 uint32_t value);
void vblit_fill(int fd, uint32_t dst, uint64_t dst_offset, uint64_t length,
		uint32_t value);
int __vblit_copy(int fd, uint32_t dst, uint64_t dst_offset,
		 uint32_t src, uint64_t src_offset, uint64_t length);
void vblit_copy(int fd, uint32_t dst, uint64_t dst_offset,
		uint32_t src, uint64_t src_offset, uint64_t length);
int __vblit_checksum(int fd, uint32_t dst, uint64_t dst_offset,
		     uint32_t src, uint64_t src_offset, uint64_t length);
void vblit_checksum(int fd, uint32_t dst, uint64_t dst_offset,
		    uint32_t src, uint64_t src_offset, uint64_t length);
uint64_t vblit_fill_held(int fd, uint32_t dst, uint64_t dst_offset,
			 uint64_t length, uint32_t value, uint32_t hold_ms);
uint64_t vblit_copy_held(int fd, uint32_t dst, uint64_t dst_offset,
			 uint32_t src, uint64_t src_offset, uint64_t length,
			 uint32_t hold_ms);

int __vblit_gem_wait(int fd, uint32_t handle, int64_t timeout_ns);
void vblit_gem_wait(int fd, uint32_t handle);
bool vblit_gem_busy(int fd, uint32_t handle);
int __vblit_job_release(int fd, uint64_t job_id);
void vblit_job_release(int fd, uint64_t job_id);
void vblit_close_held(int fd, uint32_t hold_ms);

/* Counters of /sys/kernel/debug/vblit/stats. */
const char *vblit_stats_path(void);
bool vblit_stats_available(void);
int64_t vblit_stat(const char *key);
int64_t vblit_stat_require(const char *key);
int64_t vblit_stat_pinned_pages(void);
bool vblit_stats_wait_idle(unsigned int timeout_ms);
void vblit_assert_no_leaks(void);
bool vblit_stat_wait(const char *key, int64_t value, unsigned int timeout_ms);
void vblit_check_pinned(int64_t expected, const char *what);
bool vblit_release_deferred(void);
void vblit_require_release_at_invalidation(const char *why);

/* Module lifetime. */
bool vblit_module_loaded(void);
int vblit_module_unload(void);
int __vblit_module_load(void);
void vblit_module_load(void);
void vblit_module_restore_on_exit(void);
void vblit_module_require(void);
void vblit_module_assert_held(const char *what);
void vblit_module_unload_unused(void);
void vblit_module_reload(void);

/* Data. */
uint32_t vblit_pattern(uint32_t seed, uint64_t page, uint32_t dword);
void vblit_pattern_write(void *ptr, size_t size, uint32_t seed);
void vblit_pattern_check(const void *ptr, size_t size, uint32_t seed,
			 const char *what);
void vblit_value_check(const void *ptr, size_t size, uint32_t value,
		       const char *what);
void vblit_mem_check(const void *got, const void *expected, size_t size,
		     const char *what);
void vblit_fill_ref(void *ptr, uint64_t offset, uint64_t length,
		    uint32_t value);
uint64_t vblit_fnv1a64(const void *ptr, size_t size);

/* Memory. */
void *vblit_mmap_anon(size_t size);
void *vblit_reserve(size_t size);
int vblit_memfd(const char *name, size_t size);
double vblit_elapsed_ms(const struct timespec *start);

/*
 * The share of a kernel timeout (a hold, a GEM_WAIT timeout) that a test
 * requires CLOCK_MONOTONIC to see pass: a TCG guest's clock drifts against
 * its timer ticks under host load (a 200 ms hold ended at 174 ms, a 50 ms
 * wait at 34 ms, on a 6.1 guest of a busy host). Enough to tell a timeout
 * that waits from one that returns at once.
 */
#define VBLIT_TIMER_SLACK 0.5


/*
 * Objects with their CPU mapping, the device's view of an object, the
 * non-blockable invalidation hook, and page placement queries.
 */

/* A shmem object and its CPU mapping: what the device reads or writes. */
struct vblit_bo {
	uint32_t handle;
	size_t size;
	void *map;
};

struct vblit_bo vblit_bo_create(int fd, size_t size);
void vblit_bo_destroy(int fd, struct vblit_bo *bo);

/* The device's view of an object, through a COPY to or from shmem. */
int __vblit_device_read(int fd, uint32_t handle, uint64_t offset, void *out,
			size_t size);
void vblit_device_read(int fd, uint32_t handle, uint64_t offset, void *out,
		       size_t size);
int __vblit_device_write(int fd, uint32_t handle, uint64_t offset,
			 const void *data, size_t size);
void vblit_device_write(int fd, uint32_t handle, uint64_t offset,
			const void *data, size_t size);
void vblit_device_check_mem(int fd, uint32_t handle, const void *expected,
			    size_t size, const char *what);
void vblit_device_check_pattern(int fd, uint32_t handle, size_t size,
				uint32_t seed, const char *what);
void vblit_device_check_value(int fd, uint32_t handle, size_t size,
			      uint32_t value, const char *what);
void vblit_device_write_pattern(int fd, uint32_t handle, size_t size,
				uint32_t seed);
void vblit_check_jobs_fail(int fd, uint32_t handle, const struct vblit_bo *bo,
			   int err, const char *what);

/* debugfs "vblit/invalidate_nonblock": 0, or -errno of the write. */
#define VBLIT_NONBLOCK_HOOK	"invalidate_nonblock"
int vblit_invalidate_nonblock(const void *addr);

/* Where a page lives: /proc/self/pagemap and move_pages(2). */
#define VBLIT_PM_PRESENT	(1ull << 63)
#define VBLIT_PM_SWAPPED	(1ull << 62)
#define VBLIT_PM_PFN_MASK	((1ull << 55) - 1)
uint64_t vblit_pagemap(const void *addr);
size_t vblit_count_swapped(const void *ptr, size_t size);
int vblit_numa_nodes(void);
int vblit_page_node(const void *addr);
int vblit_lru_drain_all(void);

/* Small files of /proc, /sys and debugfs: -errno, or the value. */
int vblit_file_write(const char *path, const char *value);
int vblit_file_read(const char *path, char *buf, size_t size);
int64_t vblit_file_read_int(const char *path);

/*
 * The kernel's own FOLL_PIN balance, nr_foll_pin_acquired -
 * nr_foll_pin_released of /proc/vmstat: every pin any driver holds.
 */
int64_t vblit_foll_pin_balance(void);
bool vblit_foll_pin_wait(int64_t balance, unsigned int timeout_ms);

/* /proc/kpageflags of the page at an address; 0 if its PFN is unreadable. */
#define VBLIT_KPF_UNEVICTABLE	18
#define VBLIT_KPF_KSM		21
#define VBLIT_KPF_THP		22
#define VBLIT_KPF_MLOCKED	33
uint64_t vblit_page_pfn(const void *addr);
uint64_t vblit_kpageflags(const void *addr);

/* KSM: ksmd flat out (knobs restored by vblit_ksm_stop() or at exit). */
void vblit_ksm_start(void);
void vblit_ksm_stop(void);
void vblit_ksm_pause(bool paused);
bool vblit_ksm_merged(const void *ptr, size_t size);

#endif /* VBLIT_H */
