// SPDX-License-Identifier: MIT
/*
 * Copyright (c) 2026 The drm-userptr authors
 */

/**
 * TEST: vblit userptr
 * Category: Core
 * Description: GEM userptr objects on the vblit virtual render driver:
 *	creation checks in i915's order, PROBE, banned paths, read-only
 *	objects, coherency between CPU and device, invalidation by munmap,
 *	mmap(MAP_FIXED), mprotect and madvise (also while a job is in flight),
 *	fork, process exit, file close and module unload. Runs unchanged with
 *	both backings (backing=pinned and backing=unpinned).
 */

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <time.h>

#include "igt.h"
#include "vblit.h"

IGT_TEST_DESCRIPTION("GEM userptr objects of the vblit virtual render driver.");

#define PAGE VBLIT_PAGE_SIZE

static int fd = -1;
static uint32_t backing;

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static void require_probe(void)
{
	igt_require_f(vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR_PROBE),
		      "no VBLIT_USERPTR_PROBE\n");
}

/* ---------------------------------------------------------------------- */
/* Creation checks                                                        */

static void test_invalid_flags(void)
{
	void *ptr = vblit_mmap_anon(PAGE);
	uint32_t handle;

	for (int bit = 2; bit < 31; bit++) {
		uint32_t flag = 1u << bit;

		igt_assert_eq(__vblit_gem_userptr(fd, ptr, PAGE, flag, &handle),
			      -EINVAL);
		igt_assert_eq(__vblit_gem_userptr(fd, ptr, PAGE,
						  flag | VBLIT_USERPTR_READ_ONLY,
						  &handle), -EINVAL);
		igt_assert_eq(__vblit_gem_userptr(fd, ptr, PAGE,
						  flag | VBLIT_USERPTR_UNSYNCHRONIZED,
						  &handle), -EINVAL);
	}
	munmap(ptr, PAGE);
	vblit_assert_no_leaks();
}

static void test_unsync_refused(void)
{
	static const uint32_t others[] = {
		0, VBLIT_USERPTR_READ_ONLY, VBLIT_USERPTR_PROBE,
		VBLIT_USERPTR_READ_ONLY | VBLIT_USERPTR_PROBE,
	};
	void *ptr = vblit_mmap_anon(PAGE);
	uint32_t handle;

	for (unsigned int i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		igt_assert_eq(__vblit_gem_userptr(fd, ptr, PAGE,
						  VBLIT_USERPTR_UNSYNCHRONIZED | others[i],
						  &handle), -ENODEV);
	munmap(ptr, PAGE);
	vblit_assert_no_leaks();
}

static void test_unaligned_ptr(void)
{
	static const size_t offsets[] = { 1, 4, 64, PAGE / 2, PAGE - 1 };
	uint8_t *ptr = vblit_mmap_anon(2 * PAGE);
	uint32_t handle;

	for (unsigned int i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++)
		igt_assert_eq(__vblit_gem_userptr(fd, ptr + offsets[i], PAGE, 0,
						  &handle), -EINVAL);
	munmap(ptr, 2 * PAGE);
	vblit_assert_no_leaks();
}

static void test_unaligned_size(void)
{
	static const size_t sizes[] = { 1, 4, PAGE - 1, PAGE + 1, 2 * PAGE - 4 };
	void *ptr = vblit_mmap_anon(2 * PAGE);
	uint32_t handle;

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		igt_assert_eq(__vblit_gem_userptr(fd, ptr, sizes[i], 0, &handle),
			      -EINVAL);
	munmap(ptr, 2 * PAGE);
	vblit_assert_no_leaks();
}

static void test_zero_size(void)
{
	void *ptr = vblit_mmap_anon(PAGE);
	uint32_t handle;

	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 0, 0, &handle), -EINVAL);
	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 0, VBLIT_USERPTR_READ_ONLY,
					  &handle), -EINVAL);
	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 0, VBLIT_USERPTR_PROBE,
					  &handle), -EINVAL);
	igt_assert_eq(__vblit_gem_userptr(fd, NULL, 0, 0, &handle), -EINVAL);
	munmap(ptr, PAGE);
	vblit_assert_no_leaks();
}

static void test_overflow(void)
{
	uint64_t max = vblit_getparam(fd, VBLIT_PARAM_USERPTR_MAX_SIZE);
	struct drm_vblit_gem_userptr arg = {
		.user_ptr = ~0ull & VBLIT_PAGE_MASK,
		.user_size = 2 * PAGE,
	};

	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &arg),
		      -EINVAL);

	arg.user_ptr = (~0ull & VBLIT_PAGE_MASK) - PAGE;
	arg.user_size = max;
	if (max > 2 * PAGE)
		igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &arg),
			      -EINVAL);
	vblit_assert_no_leaks();
}

static void test_too_big(void)
{
	uint64_t max = vblit_getparam(fd, VBLIT_PARAM_USERPTR_MAX_SIZE);
	const uint64_t sizes[] = {
		max + PAGE, 2 * max, 1ull << 63, ~0ull & VBLIT_PAGE_MASK,
	};
	void *ptr = vblit_mmap_anon(PAGE);
	uint32_t handle;
	void *res;

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		igt_assert_f(__vblit_gem_userptr(fd, ptr, sizes[i], 0, &handle) == -E2BIG,
			     "size %#" PRIx64 " (max %#" PRIx64 ") not refused with -E2BIG\n",
			     sizes[i], max);
	munmap(ptr, PAGE);

	res = mmap(NULL, max, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res != MAP_FAILED) {
		handle = vblit_gem_userptr(fd, res, max, 0);
		vblit_gem_close(fd, handle);
		munmap(res, max);
	} else {
		igt_info("cannot reserve %#" PRIx64 " bytes: %m\n", max);
	}
	vblit_assert_no_leaks();
}

static void test_kernel_address(void)
{
	static const uint64_t ptrs[] = {
		0x8000000000000000ull, 0xffff888000000000ull,
		0xffffffff80000000ull, 0xffffffffff000000ull,
	};

	for (unsigned int i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
		struct drm_vblit_gem_userptr arg = {
			.user_ptr = ptrs[i],
			.user_size = PAGE,
		};

		igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &arg),
			      -EFAULT);
		arg.flags = VBLIT_USERPTR_PROBE;
		igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &arg),
			      -EFAULT);
		arg.flags = VBLIT_USERPTR_READ_ONLY;
		igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &arg),
			      -EFAULT);
	}
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* PROBE                                                                  */

static void test_probe_unmapped(void)
{
	void *ptr = vblit_mmap_anon(4 * PAGE);
	uint32_t handle;

	require_probe();
	munmap(ptr, 4 * PAGE);

	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 4 * PAGE, VBLIT_USERPTR_PROBE,
					  &handle), -EFAULT);
	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 4 * PAGE,
					  VBLIT_USERPTR_PROBE | VBLIT_USERPTR_READ_ONLY,
					  &handle), -EFAULT);

	handle = vblit_gem_userptr(fd, ptr, 4 * PAGE, 0);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "unmapped userptr");
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_probe_hole(void)
{
	uint8_t *ptr = vblit_mmap_anon(4 * PAGE);
	uint32_t handle;

	require_probe();
	igt_assert_eq(munmap(ptr + PAGE, PAGE), 0);
	igt_assert_eq(mprotect(ptr + 3 * PAGE, PAGE, PROT_READ), 0);

	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 4 * PAGE, VBLIT_USERPTR_PROBE,
					  &handle), -EFAULT);
	igt_assert_eq(__vblit_gem_userptr(fd, ptr, 2 * PAGE, VBLIT_USERPTR_PROBE,
					  &handle), -EFAULT);
	igt_assert_eq(__vblit_gem_userptr(fd, ptr + PAGE, 2 * PAGE,
					  VBLIT_USERPTR_PROBE, &handle), -EFAULT);

	handle = vblit_gem_userptr(fd, ptr, PAGE, VBLIT_USERPTR_PROBE);
	vblit_gem_close(fd, handle);
	handle = vblit_gem_userptr(fd, ptr + 2 * PAGE, 2 * PAGE,
				   VBLIT_USERPTR_PROBE | VBLIT_USERPTR_READ_ONLY);
	vblit_gem_close(fd, handle);

	munmap(ptr, 4 * PAGE);
	vblit_assert_no_leaks();
}

static void test_probe_no_populate(void)
{
	const size_t n = 16;
	uint8_t *ptr = vblit_mmap_anon(n * PAGE);
	unsigned char vec[16];
	uint32_t handle;

	require_probe();
	/* THP would make a first touch populate neighbours: keep 4K pages. */
	madvise(ptr, n * PAGE, MADV_NOHUGEPAGE);

	handle = vblit_gem_userptr(fd, ptr, n * PAGE, VBLIT_USERPTR_PROBE);
	igt_assert_eq(mincore(ptr, n * PAGE, vec), 0);
	for (size_t i = 0; i < n; i++)
		igt_assert_f(!(vec[i] & 1), "page %zu populated by creation\n", i);

	vblit_device_check_value(fd, handle, n * PAGE, 0, "untouched memory");
	vblit_gem_close(fd, handle);
	munmap(ptr, n * PAGE);
	vblit_assert_no_leaks();
}

static void test_probe_gem_mapping(void)
{
	struct vblit_bo bo;
	uint32_t handle;

	require_probe();
	bo = vblit_bo_create(fd, 4 * PAGE);
	igt_assert_eq(__vblit_gem_userptr(fd, bo.map, 4 * PAGE,
					  VBLIT_USERPTR_PROBE, &handle), -EFAULT);
	igt_assert_eq(__vblit_gem_userptr(fd, (uint8_t *)bo.map + PAGE, PAGE,
					  VBLIT_USERPTR_PROBE | VBLIT_USERPTR_READ_ONLY,
					  &handle), -EFAULT);
	vblit_bo_destroy(fd, &bo);
	vblit_assert_no_leaks();
}

static void test_probe_prot_none(void)
{
	const size_t size = 4 * PAGE;
	uint8_t *ptr = vblit_reserve(size);
	uint32_t handle, ro;
	struct vblit_bo bo;

	require_probe();
	handle = vblit_gem_userptr(fd, ptr, size, VBLIT_USERPTR_PROBE);
	ro = vblit_gem_userptr(fd, ptr, size,
			       VBLIT_USERPTR_PROBE | VBLIT_USERPTR_READ_ONLY);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "probed userptr over PROT_NONE");
	bo = vblit_bo_create(fd, PAGE);
	igt_assert_eq(__vblit_copy(fd, bo.handle, 0, ro, 0, PAGE), -EFAULT);
	vblit_bo_destroy(fd, &bo);

	igt_assert_eq(mprotect(ptr, size, PROT_READ | PROT_WRITE), 0);
	vblit_pattern_write(ptr, size, 0x1100);
	vblit_device_check_pattern(fd, handle, size, 0x1100, "probed userptr made read-write");
	vblit_device_check_pattern(fd, ro, size, 0x1100, "probed read-only userptr made read-write");

	vblit_gem_close(fd, ro);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Banned paths                                                           */

static void test_mmap_offset_banned(void)
{
	void *ptr = vblit_mmap_anon(PAGE);
	uint32_t handle = vblit_gem_userptr(fd, ptr, PAGE, 0);
	uint64_t offset = 0;

	igt_assert_eq(__vblit_gem_mmap_offset(fd, handle, &offset), -ENODEV);
	igt_assert_eq_u64(offset, 0);
	vblit_device_check_value(fd, handle, PAGE, 0, "userptr after a refused mmap-offset");
	vblit_gem_close(fd, handle);
	munmap(ptr, PAGE);
	vblit_assert_no_leaks();
}

static void test_dmabuf_export_banned(void)
{
	void *ptr = vblit_mmap_anon(PAGE);
	uint32_t handle = vblit_gem_userptr(fd, ptr, PAGE, 0);
	uint32_t shmem = vblit_gem_create(fd, PAGE);
	int dmabuf = -1;

	igt_assert_f(drmPrimeHandleToFD(fd, shmem, DRM_CLOEXEC, &dmabuf) == 0,
		     "PRIME export of a shmem object: %m\n");
	igt_assert_lte(0, dmabuf);
	close(dmabuf);

	dmabuf = -1;
	igt_assert_eq(drmPrimeHandleToFD(fd, handle, DRM_CLOEXEC, &dmabuf), -1);
	igt_assert_eq(errno, EINVAL);
	igt_assert_eq(dmabuf, -1);

	vblit_gem_close(fd, shmem);
	vblit_gem_close(fd, handle);
	munmap(ptr, PAGE);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Read-only                                                              */

static void test_readonly(void)
{
	const size_t size = 4 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	struct vblit_bo sum = vblit_bo_create(fd, PAGE);
	uint32_t handle, probed;

	vblit_pattern_write(ptr, size, 0x60);
	handle = vblit_gem_userptr(fd, ptr, size, VBLIT_USERPTR_READ_ONLY);

	for (int pass = 0; pass < 2; pass++) {
		const char *what = pass ? "PROT_READ mapping" : "read-write mapping";

		vblit_device_check_pattern(fd, handle, size, 0x60, what);
		vblit_checksum(fd, sum.handle, 8, handle, 3, size - 5);
		igt_assert_eq_u64(*(uint64_t *)((uint8_t *)sum.map + 8),
				  vblit_fnv1a64(ptr + 3, size - 5));

		igt_assert_eq(__vblit_fill(fd, handle, 0, PAGE, 0xbad), -EACCES);
		igt_assert_eq(__vblit_copy(fd, handle, 0, sum.handle, 0, PAGE),
			      -EACCES);
		igt_assert_eq(__vblit_checksum(fd, handle, 0, sum.handle, 0, 64),
			      -EACCES);
		igt_assert_eq(__vblit_copy(fd, handle, PAGE, handle, 0, PAGE),
			      -EACCES);
		vblit_pattern_check(ptr, size, 0x60, what);

		igt_assert_eq(mprotect(ptr, size, PROT_READ), 0);
	}

	if (vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR_PROBE)) {
		probed = vblit_gem_userptr(fd, ptr, size,
					   VBLIT_USERPTR_READ_ONLY | VBLIT_USERPTR_PROBE);
		vblit_device_check_pattern(fd, probed, size, 0x60, "probed read-only userptr");
		vblit_gem_close(fd, probed);
	}

	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &sum);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_readonly_file_mapping(void)
{
	const size_t size = 4 * PAGE;
	char path[] = "/tmp/vblit-userptr-XXXXXX";
	void *data = malloc(size);
	uint32_t handle;
	int wfd, rfd;
	void *map;

	igt_assert(data);
	vblit_pattern_write(data, size, 0x70);
	wfd = mkstemp(path);
	igt_require_f(wfd >= 0, "cannot create a file in /tmp: %m\n");
	igt_assert_eq(write(wfd, data, size), (ssize_t)size);
	close(wfd);

	rfd = open(path, O_RDONLY);
	igt_assert_lte(0, rfd);
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, rfd, 0);
	igt_assert(map != MAP_FAILED);

	handle = vblit_gem_userptr(fd, map, size, 0);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT,
			      "writable userptr over a read-only file");
	vblit_gem_close(fd, handle);

	memset(data, 0, size);
	igt_assert_eq(pread(rfd, data, size, 0), (ssize_t)size);
	vblit_pattern_check(data, size, 0x70, "file after refused jobs");
	vblit_pattern_check(map, size, 0x70, "mapping after refused jobs");

	handle = vblit_gem_userptr(fd, map, size, VBLIT_USERPTR_READ_ONLY);
	vblit_device_check_pattern(fd, handle, size, 0x70, "read-only userptr over a file");
	vblit_gem_close(fd, handle);

	munmap(map, size);
	close(rfd);
	unlink(path);
	free(data);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Coherency                                                              */

static void test_coherency_cpu_to_gpu(void)
{
	const size_t size = 16 * PAGE;
	uint32_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	struct vblit_bo bo = vblit_bo_create(fd, size);

	for (uint32_t round = 0; round < 4; round++) {
		vblit_pattern_write(ptr, size, 0x100 + round);
		vblit_device_check_pattern(fd, handle, size, 0x100 + round, "device read");
	}

	for (size_t page = 0; page < size / PAGE; page += 5) {
		ptr[page * PAGE / 4 + 7] = 0xc0de0000 | page;
		vblit_copy(fd, bo.handle, 0, handle, 0, size);
		igt_assert_eq_u32(((uint32_t *)bo.map)[page * PAGE / 4 + 7],
				  0xc0de0000 | page);
	}

	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_coherency_gpu_to_cpu(void)
{
	const size_t size = 16 * PAGE;
	uint32_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);

	for (uint32_t round = 0; round < 4; round++) {
		vblit_device_write_pattern(fd, handle, size, 0x200 + round);
		vblit_pattern_check(ptr, size, 0x200 + round, "CPU read");
	}

	for (size_t page = 0; page < size / PAGE; page++)
		igt_assert_eq(__vblit_fill(fd, handle, page * PAGE, PAGE,
					   0xf1110000 | page), 0);
	vblit_gem_wait(fd, handle);
	for (size_t page = 0; page < size / PAGE; page++)
		vblit_value_check(ptr + page * PAGE / 4, PAGE, 0xf1110000 | page,
				  "CPU read after per-page fills");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_coherency_shmem(void)
{
	const size_t size = 8 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	struct vblit_bo bo = vblit_bo_create(fd, size);

	vblit_pattern_write(ptr, size, 0x300);
	vblit_copy(fd, bo.handle, 0, handle, 0, size);
	vblit_pattern_check(bo.map, size, 0x300, "shmem after userptr to shmem");

	vblit_pattern_write(bo.map, size, 0x301);
	vblit_copy(fd, handle, 0, bo.handle, 0, size);
	vblit_pattern_check(ptr, size, 0x301, "memory after shmem to userptr");

	/* Userptr to itself: the lower half onto the upper half. */
	vblit_copy(fd, handle, size / 2, handle, 0, size / 2);
	vblit_pattern_check(ptr, size / 2, 0x301, "lower half");
	vblit_pattern_check(ptr + size / 2, size / 2, 0x301, "upper half");

	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_overlap(void)
{
	uint8_t *ptr = vblit_mmap_anon(4 * PAGE);
	uint32_t a = vblit_gem_userptr(fd, ptr, 3 * PAGE, 0);
	uint32_t b = vblit_gem_userptr(fd, ptr + PAGE, 3 * PAGE, 0);
	struct vblit_bo bo = vblit_bo_create(fd, 3 * PAGE);

	/* Pages 1 and 2 are shared. */
	vblit_fill(fd, a, PAGE, 2 * PAGE, 0x0abc0abc);
	vblit_value_check(ptr, PAGE, 0, "page 0");
	vblit_value_check(ptr + PAGE, 2 * PAGE, 0x0abc0abc, "pages 1-2");
	vblit_value_check(ptr + 3 * PAGE, PAGE, 0, "page 3");
	vblit_copy(fd, bo.handle, 0, b, 0, 2 * PAGE);
	vblit_value_check(bo.map, 2 * PAGE, 0x0abc0abc, "read through b");

	vblit_pattern_write(bo.map, 3 * PAGE, 0x400);
	vblit_copy(fd, b, 0, bo.handle, 0, 3 * PAGE);
	vblit_pattern_check(ptr + PAGE, 3 * PAGE, 0x400, "memory written through b");
	memset(bo.map, 0, 3 * PAGE);
	vblit_copy(fd, bo.handle, 0, a, PAGE, 2 * PAGE);
	vblit_pattern_check(bo.map, 2 * PAGE, 0x400, "read through a");

	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, a);
	vblit_gem_close(fd, b);
	munmap(ptr, 4 * PAGE);
	vblit_assert_no_leaks();
}

static void test_large_64m(void)
{
	const size_t size = 64ul << 20;
	uint8_t *src, *dst;
	uint32_t a, b;
	struct vblit_bo bo, sum;

	igt_require(vblit_getparam(fd, VBLIT_PARAM_MAX_GEM_SIZE) >= size);
	igt_require(vblit_getparam(fd, VBLIT_PARAM_USERPTR_MAX_SIZE) >= size);

	src = vblit_mmap_anon(size);
	dst = vblit_mmap_anon(size);
	vblit_pattern_write(src, size, 0x500);
	a = vblit_gem_userptr(fd, src, size, 0);
	b = vblit_gem_userptr(fd, dst, size, 0);
	bo = vblit_bo_create(fd, size);
	sum = vblit_bo_create(fd, PAGE);

	vblit_copy(fd, bo.handle, 0, a, 0, size);
	vblit_pattern_check(bo.map, size, 0x500, "64M shmem copy");
	vblit_copy(fd, b, 0, bo.handle, 0, size);
	vblit_pattern_check(dst, size, 0x500, "64M userptr copy");
	vblit_checksum(fd, sum.handle, 0, b, 0, size);
	igt_assert_eq_u64(*(uint64_t *)sum.map, vblit_fnv1a64(src, size));

	vblit_bo_destroy(fd, &sum);
	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, a);
	vblit_gem_close(fd, b);
	munmap(src, size);
	munmap(dst, size);
	vblit_assert_no_leaks();
}

static void test_sub_page_offsets(void)
{
	static const struct { uint64_t dst, src, len; } copies[] = {
		{ 1, PAGE - 1, 2 },
		{ PAGE - 1, 1, PAGE + 2 },
		{ 2 * PAGE - 3, PAGE + 5, PAGE + 6 },
		{ 3 * PAGE + 17, 7, PAGE - 17 - 1 },
		{ 5, 3, 4 * PAGE - 8 },
	};
	static const struct { uint64_t off, len; uint32_t value; } fills[] = {
		{ 3 * PAGE - 1, 6, 0xa1b2c3d4 },
		{ 1, 1, 0x11223344 },
		{ PAGE - 2, PAGE + 5, 0x55667788 },
	};
	const size_t size = 4 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint8_t *ref = malloc(size), *bref = malloc(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	struct vblit_bo bo = vblit_bo_create(fd, size), sum = vblit_bo_create(fd, PAGE);

	igt_assert(ref && bref);
	vblit_pattern_write(ptr, size, 0x600);
	vblit_pattern_write(bo.map, size, 0x601);

	for (unsigned int i = 0; i < sizeof(copies) / sizeof(copies[0]); i++) {
		memcpy(ref, ptr, size);
		memcpy(ref + copies[i].dst, (uint8_t *)bo.map + copies[i].src,
		       copies[i].len);
		vblit_copy(fd, handle, copies[i].dst, bo.handle, copies[i].src,
			   copies[i].len);
		vblit_mem_check(ptr, ref, size, "shmem to userptr");

		memcpy(bref, bo.map, size);
		memcpy(bref + copies[i].src, ptr + copies[i].dst, copies[i].len);
		vblit_copy(fd, bo.handle, copies[i].src, handle, copies[i].dst,
			   copies[i].len);
		vblit_mem_check(bo.map, bref, size, "userptr to shmem");
	}

	for (unsigned int i = 0; i < sizeof(fills) / sizeof(fills[0]); i++) {
		memcpy(ref, ptr, size);
		vblit_fill_ref(ref, fills[i].off, fills[i].len, fills[i].value);
		vblit_fill(fd, handle, fills[i].off, fills[i].len, fills[i].value);
		vblit_mem_check(ptr, ref, size, "unaligned fill");
	}

	for (unsigned int i = 0; i < sizeof(copies) / sizeof(copies[0]); i++) {
		vblit_checksum(fd, sum.handle, 8 * i, handle, copies[i].dst,
			       copies[i].len);
		igt_assert_eq_u64(*(uint64_t *)((uint8_t *)sum.map + 8 * i),
				  vblit_fnv1a64(ptr + copies[i].dst, copies[i].len));
	}

	vblit_bo_destroy(fd, &sum);
	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	free(ref);
	free(bref);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Invalidation                                                           */

static void test_sync_unmap(void)
{
	const size_t size = 4 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t base = vblit_stat_pinned_pages();

	vblit_pattern_write(ptr, size, 0x700);
	vblit_device_check_pattern(fd, handle, size, 0x700, "before munmap");
	if (backing == VBLIT_USERPTR_BACKING_UNPINNED)
		vblit_check_pinned(base, "unpinned backing after use");

	igt_assert_eq(munmap(ptr, size), 0);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "userptr after munmap");
	vblit_check_pinned(base, "after munmap");

	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_map_fixed_invalidate(void)
{
	const size_t size = 8 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	void *again;

	vblit_pattern_write(ptr, size, 0x800);
	vblit_device_check_pattern(fd, handle, size, 0x800, "before the remap");

	again = mmap(ptr, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	igt_assert(again == ptr);
	vblit_device_check_value(fd, handle, size, 0, "fresh pages");

	vblit_pattern_write(ptr, size, 0x801);
	vblit_device_check_pattern(fd, handle, size, 0x801, "CPU data in the new pages");
	vblit_device_write_pattern(fd, handle, size, 0x802);
	vblit_pattern_check(ptr, size, 0x802, "device data in the new pages");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

struct remap {
	void *addr;
	size_t size;
	int err;
	atomic_bool done;
};

static void *remap_thread(void *data)
{
	struct remap *r = data;
	void *ptr;

	ptr = mmap(r->addr, r->size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	r->err = ptr == r->addr ? 0 : -errno;
	atomic_store(&r->done, true);
	return NULL;
}

static void test_map_fixed_invalidate_busy(void)
{
	const size_t size = 4 * PAGE;
	struct remap r = { .size = size };
	struct timespec start, deadline;
	uint32_t handle, hold_ms;
	void *alias;
	pthread_t thread;
	uint64_t job;
	int mfd;

	vblit_require_hold(fd);
	vblit_require_release_at_invalidation("the remap's invalidation never waits for the held job");
	hold_ms = vblit_hold_ms(fd, 20000);
	igt_require_f(hold_ms >= 2000, "MAX_HOLD_MS %u too short\n", hold_ms);

	mfd = vblit_memfd("vblit-busy", size);
	r.addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	alias = mmap(NULL, size, PROT_READ, MAP_SHARED, mfd, 0);
	igt_assert(r.addr != MAP_FAILED && alias != MAP_FAILED);
	handle = vblit_gem_userptr(fd, r.addr, size, 0);

	/*
	 * While the remap blocks it holds mmap_lock: the main thread must not
	 * fault until it released the job. Run its paths once beforehand.
	 */
	igt_assert_eq(__vblit_job_release(fd, ~0ull), -ENOENT);
	igt_assert(!vblit_gem_busy(fd, handle));
	clock_gettime(CLOCK_MONOTONIC, &start);
	usleep(1);

	job = vblit_fill_held(fd, handle, 0, size, 0xf111f111, hold_ms);
	igt_assert_eq(pthread_create(&thread, NULL, remap_thread, &r), 0);

	usleep(100 * 1000);
	igt_assert_f(!atomic_load(&r.done),
		     "mmap(MAP_FIXED) returned with the job still held\n");
	usleep(100 * 1000);
	igt_assert_f(!atomic_load(&r.done),
		     "mmap(MAP_FIXED) returned with the job still held\n");
	igt_assert(vblit_gem_busy(fd, handle));

	vblit_job_release(fd, job);
	clock_gettime(CLOCK_MONOTONIC, &start);
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 20;
	igt_assert_f(pthread_timedjoin_np(thread, NULL, &deadline) == 0,
		     "mmap(MAP_FIXED) still blocked 20 s after the release\n");
	igt_assert_eq(r.err, 0);
	igt_info("mmap(MAP_FIXED) returned %.1f ms after the release\n",
		 vblit_elapsed_ms(&start));

	vblit_value_check(alias, size, 0xf111f111, "old pages (memfd)");
	vblit_value_check(r.addr, size, 0, "new mapping");
	vblit_device_check_value(fd, handle, size, 0, "device read of the new mapping");
	vblit_fill(fd, handle, 0, size, 0x2e2e2e2e);
	vblit_value_check(r.addr, size, 0x2e2e2e2e, "new mapping after a new job");
	vblit_value_check(alias, size, 0xf111f111, "old pages after a new job");

	vblit_gem_close(fd, handle);
	munmap(r.addr, size);
	munmap(alias, size);
	close(mfd);
	vblit_assert_no_leaks();
}

static void test_mprotect_readonly(void)
{
	const size_t size = 4 * PAGE;
	uint32_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint32_t ro;

	vblit_pattern_write(ptr, size, 0x900);
	vblit_device_check_pattern(fd, handle, size, 0x900, "before mprotect");

	igt_assert_eq(mprotect(ptr, size, PROT_READ), 0);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "writable userptr over PROT_READ");
	vblit_pattern_check(ptr, size, 0x900, "memory after refused jobs");

	ro = vblit_gem_userptr(fd, ptr, size, VBLIT_USERPTR_READ_ONLY);
	vblit_device_check_pattern(fd, ro, size, 0x900, "read-only userptr over PROT_READ");
	vblit_gem_close(fd, ro);

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_revalidate_after_mprotect_restore(void)
{
	const size_t size = 4 * PAGE;
	uint32_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);

	vblit_pattern_write(ptr, size, 0x910);
	vblit_device_check_pattern(fd, handle, size, 0x910, "before mprotect");
	igt_assert_eq(mprotect(ptr, size, PROT_READ), 0);
	igt_assert_eq(__vblit_fill(fd, handle, 0, size, 1), -EFAULT);

	igt_assert_eq(mprotect(ptr, size, PROT_READ | PROT_WRITE), 0);
	vblit_pattern_write(ptr, size, 0x911);
	vblit_device_check_pattern(fd, handle, size, 0x911, "after mprotect back");
	vblit_device_write_pattern(fd, handle, size, 0x912);
	vblit_pattern_check(ptr, size, 0x912, "device write after mprotect back");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_madvise_dontneed(void)
{
	const size_t size = 8 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);

	vblit_pattern_write(ptr, size, 0xa00);
	vblit_device_check_pattern(fd, handle, size, 0xa00, "before madvise");

	igt_assert_eq(madvise(ptr, size, MADV_DONTNEED), 0);
	vblit_device_check_value(fd, handle, size, 0, "after MADV_DONTNEED");
	vblit_pattern_write(ptr, size, 0xa01);
	vblit_device_check_pattern(fd, handle, size, 0xa01, "new data after MADV_DONTNEED");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* Write @value to a sysctl file, saving the old value into @old (16 bytes). */
static void sysctl_swap(const char *path, const char *value, char *old)
{
	FILE *f = fopen(path, "r+");

	igt_require_f(f, "cannot open %s\n", path);
	if (old) {
		igt_assert(fgets(old, 16, f));
		old[strcspn(old, "\n")] = '\0';
		rewind(f);
	}
	igt_assert(fputs(value, f) >= 0);
	igt_assert_eq(fclose(f), 0);
}

/* Pages the helper re-acquires per stale chunk (DRM_USERPTR_CHUNK_PAGES). */
#define CHUNK_PAGES 16

static void test_partial_invalidate_dontneed(void)
{
	const size_t size = 4 << 20, hole = 517;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint8_t *expected = malloc(size);
	char numa_balancing[16];
	int64_t acquired, reacquired;

	igt_assert(expected);
	/*
	 * A THP split would make the mm itself invalidate 2 MiB, and an
	 * automatic NUMA balancing scan of the range would invalidate all of
	 * it: measure the helper's granularity, not the mm's.
	 */
	igt_assert_eq(madvise(ptr, size, MADV_NOHUGEPAGE), 0);
	sysctl_swap("/proc/sys/kernel/numa_balancing", "0", numa_balancing);
	vblit_pattern_write(ptr, size, 0xb00);
	vblit_device_check_pattern(fd, handle, size, 0xb00, "before");

	igt_assert_eq(madvise(ptr + hole * PAGE, PAGE, MADV_DONTNEED), 0);
	memcpy(expected, ptr, size);
	acquired = vblit_stat_require("acquired_pages");
	vblit_device_check_mem(fd, handle, expected, size, "after one-page MADV_DONTNEED");
	reacquired = vblit_stat("acquired_pages") - acquired;
	sysctl_swap("/proc/sys/kernel/numa_balancing", numa_balancing, NULL);
	igt_assert_f(reacquired <= CHUNK_PAGES,
		     "revalidation re-acquired %" PRId64 " pages for a one-page invalidation\n",
		     reacquired);

	free(expected);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_partial_invalidate_remap(void)
{
	static const struct { size_t first, count; } ranges[] = {
		{ 3, 1 }, { 30, 5 }, { 1023, 1 },
	};
	const size_t size = 4 << 20;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint8_t *expected = malloc(size);
	unsigned int i;

	igt_assert(expected);
	vblit_pattern_write(ptr, size, 0xb10);
	vblit_device_check_pattern(fd, handle, size, 0xb10, "before");

	for (i = 0; i < ARRAY_SIZE(ranges); i++) {
		uint8_t *at = ptr + ranges[i].first * PAGE;

		igt_assert(mmap(at, ranges[i].count * PAGE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == at);
		memset(at, 0x5a + i, ranges[i].count * PAGE);
	}
	memcpy(expected, ptr, size);
	vblit_device_check_mem(fd, handle, expected, size, "after partial remaps");

	vblit_device_write_pattern(fd, handle, size, 0xb11);
	vblit_pattern_check(ptr, size, 0xb11, "device write after partial remaps");

	free(expected);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_partial_unmap(bool used)
{
	const size_t n = 4 * CHUNK_PAGES, size = n * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint8_t *hole = ptr + size - PAGE;
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint8_t *expected = malloc(size);

	igt_assert(expected);
	vblit_pattern_write(ptr, size, 0x1200);
	if (used)
		vblit_device_check_pattern(fd, handle, size, 0x1200, "before the unmap");

	igt_assert_eq(munmap(hole, PAGE), 0);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "object with its last page unmapped");
	igt_assert_eq(__vblit_fill(fd, handle, 5, 1, 0xdead), -EFAULT);
	vblit_pattern_check(ptr, size - PAGE, 0x1200, "mapped pages after refused jobs");

	igt_assert(mmap(hole, PAGE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == hole);
	memcpy(expected, ptr, size);
	vblit_value_check(expected + size - PAGE, PAGE, 0, "page mapped again");
	vblit_device_check_mem(fd, handle, expected, size, "object with the page mapped again");
	vblit_fill(fd, handle, 0, size, 0x12121212);
	vblit_value_check(ptr, size, 0x12121212, "memory after a fill of the whole object");

	free(expected);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_prot_none(void)
{
	void *ptr = vblit_reserve(4 * PAGE);
	uint32_t handle;
	struct vblit_bo bo;

	handle = vblit_gem_userptr(fd, ptr, 4 * PAGE, 0);
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "userptr over PROT_NONE");
	vblit_gem_close(fd, handle);

	handle = vblit_gem_userptr(fd, ptr, 4 * PAGE, VBLIT_USERPTR_READ_ONLY);
	bo = vblit_bo_create(fd, PAGE);
	igt_assert_eq(__vblit_copy(fd, bo.handle, 0, handle, 0, PAGE), -EFAULT);
	igt_assert_eq(__vblit_copy(fd, handle, 0, bo.handle, 0, PAGE), -EACCES);
	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, handle);
	munmap(ptr, 4 * PAGE);
	vblit_assert_no_leaks();
}

static void test_invalidate_counters(void)
{
	const size_t size = 4 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t inv, unmap;

	inv = vblit_stat_require("invalidations");
	unmap = vblit_stat("inv_unmap");

	vblit_device_check_value(fd, handle, size, 0, "first use");
	igt_assert_eq(madvise(ptr, size, MADV_DONTNEED), 0);
	igt_assert_lt_u64(inv, vblit_stat("invalidations"));

	vblit_device_check_value(fd, handle, size, 0, "second use");
	inv = vblit_stat("invalidations");
	igt_assert_eq(munmap(ptr, size), 0);
	igt_assert_lt_u64(inv, vblit_stat("invalidations"));
	if (unmap >= 0)
		igt_assert_lt_u64(unmap, vblit_stat("inv_unmap"));

	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_backing_accounting(void)
{
	const size_t n = 8;
	void *ptr = vblit_mmap_anon(n * PAGE);
	uint32_t handle = vblit_gem_userptr(fd, ptr, n * PAGE, 0);
	int64_t base;

	igt_require_f(vblit_stat_pinned_pages() >= 0, "no pinned_pages counter\n");
	base = vblit_stat_pinned_pages();
	vblit_check_pinned(base, "after creation");

	vblit_device_check_value(fd, handle, n * PAGE, 0, "first use");
	/* The legacy comparator pins, as i915 did. */
	vblit_check_pinned(backing == VBLIT_USERPTR_BACKING_PINNED ||
		     backing == VBLIT_USERPTR_BACKING_LEGACY ? base + (int64_t)n : base,
		     "after use");

	igt_assert_eq(madvise(ptr, n * PAGE, MADV_DONTNEED), 0);
	/* Deferred release: the pins stay until the next use releases them. */
	vblit_check_pinned(vblit_release_deferred() ? base + (int64_t)n : base,
			   "after an invalidation");

	vblit_device_check_value(fd, handle, n * PAGE, 0, "second use");
	vblit_gem_close(fd, handle);
	vblit_check_pinned(base, "after close");

	munmap(ptr, n * PAGE);
	vblit_assert_no_leaks();
}

/* Two memfds of distinct patterns swapped under a userptr range. */
struct race {
	void *addr;
	size_t size;
	int mfd[2];
	atomic_bool stop;
	unsigned long remaps;
	int err;
};

static void *race_thread(void *data)
{
	struct race *r = data;

	while (!atomic_load(&r->stop)) {
		void *ptr = mmap(r->addr, r->size, PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_FIXED,
				 r->mfd[r->remaps & 1], 0);

		if (ptr != r->addr) {
			r->err = -errno;
			break;
		}
		r->remaps++;
	}
	return NULL;
}

static void test_race_remap(void)
{
	const size_t size = 16 * PAGE;
	struct race r = { .size = size };
	unsigned long ok = 0, busy = 0, fault = 0, gen[2] = {};
	struct timespec start;
	pthread_t thread;
	uint32_t handle;
	struct vblit_bo bo;

	for (int i = 0; i < 2; i++) {
		void *ptr;

		r.mfd[i] = vblit_memfd("vblit-race", size);
		ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			   r.mfd[i], 0);
		igt_assert(ptr != MAP_FAILED);
		vblit_pattern_write(ptr, size, 0xb00 + i);
		munmap(ptr, size);
	}
	r.addr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      r.mfd[0], 0);
	igt_assert(r.addr != MAP_FAILED);
	handle = vblit_gem_userptr(fd, r.addr, size, 0);
	bo = vblit_bo_create(fd, size);

	igt_assert_eq(pthread_create(&thread, NULL, race_thread, &r), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vblit_elapsed_ms(&start) < 3000) {
		const uint32_t *p = bo.map;
		int err, g;

		memset(bo.map, 0, size);
		err = __vblit_copy(fd, bo.handle, 0, handle, 0, size);
		if (err == -EBUSY) {
			busy++;
			continue;
		}
		if (err == -EFAULT) {
			fault++;
			continue;
		}
		igt_assert_eq(err, 0);
		vblit_gem_wait(fd, bo.handle);
		ok++;
		/* Page 0 names the generation; all pages must be from it. */
		for (g = 0; g < 2; g++)
			if (p[0] == vblit_pattern(0xb00 + g, 0, 0))
				break;
		igt_assert_f(g < 2,
			     "copy during remaps: page 0 is from neither memfd (%#010x)\n",
			     p[0]);
		gen[g]++;
		vblit_pattern_check(p, size, 0xb00 + g, "copy during remaps");
	}
	atomic_store(&r.stop, true);
	pthread_join(thread, NULL);
	igt_assert_eq(r.err, 0);

	igt_info("%lu remaps; copies: %lu ok (%lu + %lu), %lu -EBUSY, %lu -EFAULT\n",
		 r.remaps, ok, gen[0], gen[1], busy, fault);
	igt_assert_lt_u64(0, ok);

	vblit_bo_destroy(fd, &bo);
	vblit_gem_close(fd, handle);
	munmap(r.addr, size);
	close(r.mfd[0]);
	close(r.mfd[1]);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* fork                                                                   */

static void test_forked_access(void)
{
	const size_t size = 4 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);

	vblit_pattern_write(ptr, size, 0xc00);
	vblit_device_check_pattern(fd, handle, size, 0xc00, "parent, before fork");

	igt_fork(child, 1) {
		void *mine = vblit_mmap_anon(size);
		uint32_t own;

		vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "parent's userptr in the child");

		vblit_pattern_write(mine, size, 0xc01);
		own = vblit_gem_userptr(fd, mine, size, 0);
		vblit_device_check_pattern(fd, own, size, 0xc01, "child's own userptr");
		vblit_gem_close(fd, own);
	}
	igt_waitchildren();

	vblit_pattern_check(ptr, size, 0xc00, "parent's memory after the child");
	vblit_device_check_pattern(fd, handle, size, 0xc00, "parent, after the child");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* The child of the fork-cow tests: wait for the go, check its memory. */
static void cow_child(int go, const void *ptr, size_t size, uint32_t seed)
{
	char c;

	igt_assert_eq(read(go, &c, 1), 1);
	vblit_pattern_check(ptr, size, seed, "child's copy");
}

/*
 * The fork-cow subtests: after fork, with the object used before or not,
 * the parent's side writes new data, through the CPU (fork-cow-parent) or
 * through the device (fork-cow-device-write). The data lands in the
 * parent's pages only: the device and the parent see it, the child, told
 * to check once the write is done, keeps the old data.
 */
static const struct fork_cow {
	const char *name, *description;
	bool device_writes;
	uint32_t seed;
} fork_cow[] = {
	{ "fork-cow-parent",
	  "After fork (object used before, or not) the parent's CPU writes "
	  "new data: the device sees the parent's new data, the child keeps "
	  "the old.",
	  false, 0xd00 },
	{ "fork-cow-device-write",
	  "After fork (object used before, or not) the device writes the "
	  "object: the data lands in the parent's pages, the child's copy is "
	  "unchanged (checked by the child).",
	  true, 0xd10 },
};

static void test_fork_cow(const struct fork_cow *c, bool used)
{
	const uint32_t seed = c->seed;
	const size_t size = 8 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int go[2];

	vblit_pattern_write(ptr, size, seed);
	if (used)
		vblit_device_check_pattern(fd, handle, size, seed, "before fork");
	igt_assert_eq(pipe(go), 0);

	igt_fork(child, 1) {
		close(go[1]);
		cow_child(go[0], ptr, size, seed);
	}
	close(go[0]);

	if (c->device_writes) {
		vblit_device_write_pattern(fd, handle, size, seed + 1);
		vblit_pattern_check(ptr, size, seed + 1,
				    "parent's memory after a device write");
	} else {
		vblit_pattern_write(ptr, size, seed + 1);
		vblit_device_check_pattern(fd, handle, size, seed + 1,
					   "parent's data after fork");
	}

	igt_assert_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	igt_waitchildren();

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_hold_blocks_fork(void)
{
	const size_t size = 4 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t handle, hold_ms;
	struct timespec start;
	bool busy;
	double ms;

	vblit_require_hold(fd);
	vblit_require_release_at_invalidation("fork's invalidation never waits for the held job");
	hold_ms = vblit_hold_ms(fd, 300);
	/* Populated: fork write-protects (and so invalidates) only that. */
	vblit_pattern_write(ptr, size, 0x1300);
	handle = vblit_gem_userptr(fd, ptr, size, 0);

	clock_gettime(CLOCK_MONOTONIC, &start);
	vblit_fill_held(fd, handle, 0, size, 0x13131313, hold_ms);
	igt_fork(child, 1)
		vblit_value_check(ptr, size, 0x13131313, "child's copy");
	ms = vblit_elapsed_ms(&start);
	busy = vblit_gem_busy(fd, handle);
	igt_waitchildren();

	igt_info("fork() returned %.1f ms after a job held for %u ms\n",
		 ms, hold_ms);
	igt_assert_f(!busy, "fork() returned with the held job still in flight\n");
	igt_assert_f(ms >= hold_ms * VBLIT_TIMER_SLACK,
		     "fork() returned %.1f ms into a %u ms hold\n", ms, hold_ms);
	vblit_value_check(ptr, size, 0x13131313, "parent's memory");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Lifetime                                                               */

/* In a child: a file, shmem and userptr objects, used; optionally busy. */
static void child_objects(uint32_t hold_ms)
{
	const size_t size = 16 * PAGE;
	int cfd = vblit_open();
	void *ptr = vblit_mmap_anon(size);
	uint32_t u = vblit_gem_userptr(cfd, ptr, size, 0);
	uint32_t idle = vblit_gem_userptr(cfd, ptr, PAGE, VBLIT_USERPTR_READ_ONLY);
	uint32_t s = vblit_gem_create(cfd, size);

	vblit_pattern_write(ptr, size, 0xe00);
	vblit_copy(cfd, s, 0, u, 0, size);
	(void)idle;
	if (hold_ms) {
		vblit_copy_held(cfd, s, 0, u, 0, size, hold_ms);
		vblit_fill_held(cfd, u, 0, size, 0xe0e0e0e0, hold_ms);
	}
	/* Exit with everything open and mapped. */
}

static void test_process_exit(void)
{
	igt_fork(child, 1)
		child_objects(0);
	igt_waitchildren();
	vblit_assert_no_leaks();
}

static void test_process_exit_busy(void)
{
	struct timespec start;

	vblit_require_hold(fd);
	clock_gettime(CLOCK_MONOTONIC, &start);
	igt_fork(child, 1)
		child_objects(vblit_hold_ms(fd, 200));
	igt_waitchildren();
	vblit_assert_no_leaks();
	igt_info("child gone and objects freed after %.1f ms\n",
		 vblit_elapsed_ms(&start));
}

static void test_process_exit_foreign_object(void)
{
	int64_t before = vblit_stat("objects");
	uint32_t handle = 0;
	int pipefd[2];

	igt_assert_eq(pipe(pipefd), 0);
	igt_fork(child, 1) {
		void *ptr = vblit_mmap_anon(4 * PAGE);
		uint32_t h;

		vblit_pattern_write(ptr, 4 * PAGE, 0xe10);
		h = vblit_gem_userptr(fd, ptr, 4 * PAGE, 0);
		vblit_device_check_pattern(fd, h, 4 * PAGE, 0xe10, "child's object");
		igt_assert_eq(write(pipefd[1], &h, sizeof(h)), (ssize_t)sizeof(h));
	}
	igt_waitchildren();
	igt_assert_eq(read(pipefd[0], &handle, sizeof(handle)),
		      (ssize_t)sizeof(handle));
	close(pipefd[0]);
	close(pipefd[1]);

	if (before >= 0) {
		vblit_stat_wait("objects", before + 1, 2000);
		igt_assert_eq_s64(vblit_stat("objects"), before + 1);
	}
	vblit_check_jobs_fail(fd, handle, NULL, -EFAULT, "object of an exited process");
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_close_busy(void)
{
	const size_t size = 8 * PAGE;
	void *ptr = vblit_mmap_anon(size);
	uint32_t u, s, hold_ms;
	int fd2;

	vblit_require_hold(fd);
	hold_ms = vblit_hold_ms(fd, 30000);

	fd2 = vblit_open();
	u = vblit_gem_userptr(fd2, ptr, size, 0);
	s = vblit_gem_create(fd2, size);
	vblit_pattern_write(ptr, size, 0xe20);
	vblit_copy_held(fd2, s, 0, u, 0, size, hold_ms);
	vblit_fill_held(fd2, u, size - PAGE, PAGE, 0xe2e2e2e2, hold_ms);
	vblit_close_held(fd2, hold_ms);

	/* The last page may or may not have been filled; the rest is ours. */
	vblit_pattern_check(ptr, size - PAGE, 0xe20,
			    "memory the jobs did not write");
	igt_assert_eq(munmap(ptr, size), 0);
}

static void test_unload(void)
{
	const size_t size = 4 * PAGE;
	uint32_t handle;
	void *ptr;
	int fd2;

	vblit_module_require();

	fd2 = vblit_open();
	ptr = vblit_mmap_anon(size);
	vblit_pattern_write(ptr, size, 0xf00);
	handle = vblit_gem_userptr(fd2, ptr, size, 0);
	vblit_fill(fd2, handle, size - PAGE, PAGE, 0x0f0f0f0f);
	vblit_value_check((uint8_t *)ptr + size - PAGE, PAGE, 0x0f0f0f0f,
			  "memory after a device fill");

	vblit_module_assert_held("a file with a userptr object");
	close(fd2);
	vblit_assert_no_leaks();
	vblit_module_unload_unused();

	/* Would call into the unloaded module if a notifier were left. */
	vblit_pattern_check(ptr, size - PAGE, 0xf00, "memory after unload");
	igt_assert_eq(munmap(ptr, size), 0);

	vblit_module_reload();
}

igt_main
{
	igt_fixture
		fd = vblit_suite_open(VBLIT_SUITE_USERPTR, &backing);

	igt_describe("Every unknown flag bit gives -EINVAL, also next to valid "
		     "ones and next to UNSYNCHRONIZED (unknown bits are "
		     "checked first).");
	igt_subtest("invalid-flags")
		test_invalid_flags();

	igt_describe("UNSYNCHRONIZED is refused with -ENODEV, alone or with "
		     "the other flags.");
	igt_subtest("unsync-refused")
		test_unsync_refused();

	igt_describe("A pointer that is not page aligned gives -EINVAL.");
	igt_subtest("unaligned-ptr")
		test_unaligned_ptr();

	igt_describe("A size that is not a whole number of pages gives "
		     "-EINVAL.");
	igt_subtest("unaligned-size")
		test_unaligned_size();

	igt_describe("A zero size gives -EINVAL, with any valid flags.");
	igt_subtest("zero-size")
		test_zero_size();

	igt_describe("A range whose end wraps around 2^64 gives -EINVAL (and "
		     "not -EFAULT: the wrap is checked before access_ok).");
	igt_subtest("overflow")
		test_overflow();

	igt_describe("A size above VBLIT_PARAM_USERPTR_MAX_SIZE gives -E2BIG; "
		     "exactly the maximum is accepted (over a PROT_NONE "
		     "reservation: no page is acquired at creation).");
	igt_subtest("too-big")
		test_too_big();

	igt_describe("Ranges in the kernel half (or non-canonical) give "
		     "-EFAULT, with and without PROBE.");
	igt_subtest("kernel-address")
		test_kernel_address();

	igt_describe("PROBE over an unmapped range gives -EFAULT. Without "
		     "PROBE creation succeeds and the first use gives -EFAULT.");
	igt_subtest("probe-unmapped")
		test_probe_unmapped();

	igt_describe("PROBE over a range with a hole gives -EFAULT; over the "
		     "mapped parts, and over two adjacent mappings of "
		     "different protection, it succeeds.");
	igt_subtest("probe-hole")
		test_probe_hole();

	igt_describe("A successful PROBE (and creation in general) populates "
		     "no page: untouched anonymous memory stays non-resident.");
	igt_subtest("probe-no-populate")
		test_probe_no_populate();

	igt_describe("PROBE over a CPU mapping of a vblit shmem object (a "
		     "VM_PFNMAP mapping) gives -EFAULT, as i915 does for its "
		     "own mappings.");
	igt_subtest("probe-gem-mapping")
		test_probe_gem_mapping();

	igt_describe("PROBE over a PROT_NONE mapping succeeds; jobs give -EFAULT.");
	igt_subtest("probe-prot-none")
		test_probe_prot_none();

	igt_describe("MMAP_OFFSET of a userptr object gives -ENODEV.");
	igt_subtest("mmap-offset-banned")
		test_mmap_offset_banned();

	igt_describe("PRIME export of a userptr object gives -EINVAL, while a "
		     "shmem object exports.");
	igt_subtest("dmabuf-export-banned")
		test_dmabuf_export_banned();

	igt_describe("A READ_ONLY object is read by the device (COPY out, "
		     "CHECKSUM) over a read-write and then a PROT_READ "
		     "mapping; every job writing it gives -EACCES and the "
		     "memory is unchanged.");
	igt_subtest("readonly")
		test_readonly();

	igt_describe("A writable userptr over a read-only shared mapping of a "
		     "file opened O_RDONLY is created, but its first use (any "
		     "job) gives -EFAULT and the file is unchanged; a "
		     "READ_ONLY one over the same mapping reads the file.");
	igt_subtest("readonly-file-mapping")
		test_readonly_file_mapping();

	igt_describe("CPU writes to the user memory, with no call in between, "
		     "are seen by every following device read: whole patterns "
		     "and single dwords.");
	igt_subtest("coherency-cpu-to-gpu")
		test_coherency_cpu_to_gpu();

	igt_describe("Device writes (COPY and per-page FILL) into user memory "
		     "are seen by the CPU as soon as the object is idle.");
	igt_subtest("coherency-gpu-to-cpu")
		test_coherency_gpu_to_cpu();

	igt_describe("COPY from userptr to shmem and back, each side checked "
		     "through its own CPU view.");
	igt_subtest("coherency-shmem")
		test_coherency_shmem();

	igt_describe("Two userptr objects over overlapping ranges: device "
		     "writes through one are seen through the other, and by "
		     "the CPU.");
	igt_subtest("overlap")
		test_overlap();

	igt_describe("A 64 MiB userptr object copied to shmem and back to a "
		     "second 64 MiB userptr, and hashed: every page in its "
		     "place.");
	igt_subtest("large-64m")
		test_large_64m();

	igt_describe("COPY, FILL and CHECKSUM at byte offsets and lengths that "
		     "start, end and cross inside pages touch exactly the "
		     "requested bytes.");
	igt_subtest("sub-page-offsets")
		test_sub_page_offsets();

	igt_describe("After munmap every job on the object gives -EFAULT and "
		     "leaves its other object untouched; with the pinned "
		     "backing the pins are gone although the object lives.");
	igt_subtest("sync-unmap")
		test_sync_unmap();

	igt_describe("mmap(MAP_FIXED) of fresh memory over the range: the "
		     "device sees the new pages (zero, then the CPU's new "
		     "data) and writes go to them.");
	igt_subtest("map-fixed-invalidate")
		test_map_fixed_invalidate();

	igt_describe("mmap(MAP_FIXED) over a range that a held FILL job is "
		     "about to write blocks until the job is released and "
		     "done; the job's data lands in the old pages (seen "
		     "through a second mapping of the memfd behind them), the "
		     "new mapping stays zero, and the next job uses the new "
		     "pages.");
	igt_subtest("map-fixed-invalidate-busy")
		test_map_fixed_invalidate_busy();

	igt_describe("After mprotect(PROT_READ) of a writable object's range "
		     "every job on it gives -EFAULT (a writable object's pages "
		     "are acquired for write) and the memory is unchanged; a "
		     "READ_ONLY object over the same range is still read by "
		     "the device.");
	igt_subtest("mprotect-readonly")
		test_mprotect_readonly();

	igt_describe("Once the range is writable again (mprotect back to "
		     "read-write) the same object works again, both ways, with "
		     "the CPU's latest data.");
	igt_subtest("revalidate-after-mprotect-restore")
		test_revalidate_after_mprotect_restore();

	igt_describe("MADV_DONTNEED drops the pages: the device then reads "
		     "zero (not the stale pages) and the CPU's next data.");
	igt_subtest("madvise-dontneed")
		test_madvise_dontneed();

	igt_describe("One unmapped page fails every job on the object with -EFAULT.");
	igt_subtest_with_dynamic("partial-unmap") {
		igt_dynamic("used-before-unmap")
			test_partial_unmap(true);
		igt_dynamic("unused-before-unmap")
			test_partial_unmap(false);
	}

	igt_describe("A userptr over PROT_NONE memory is created (no PROBE "
		     "objection: it is an ordinary mapping) but every use "
		     "gives -EFAULT.");
	igt_subtest("prot-none")
		test_prot_none();

	igt_describe("munmap and MADV_DONTNEED of a used object's range each "
		     "count at least one invalidation (and an unmap one for "
		     "munmap).");
	igt_subtest("invalidate-counters")
		test_invalidate_counters();

	igt_describe("MADV_DONTNEED on one page in the middle of a 4 MiB "
		     "object: the device then sees zeros in exactly that page "
		     "and the old data everywhere else, and revalidation "
		     "re-acquires one chunk, not the whole object.");
	igt_subtest("partial-invalidate-dontneed")
		test_partial_invalidate_dontneed();

	igt_describe("Several scattered ranges of a 4 MiB object (one page, a "
		     "range straddling two chunks, the last page) are replaced "
		     "by MAP_FIXED mappings of new data; the device reads the "
		     "new data there and the old data everywhere else, then "
		     "writes the whole object and the CPU sees it in every "
		     "page, old and new.");
	igt_subtest("partial-invalidate-remap")
		test_partial_invalidate_remap();

	igt_describe("With backing=pinned (and the legacy comparator) a used "
		     "object holds one pin per page until an invalidation (with "
		     "release=deferred, the next use after it) or its close; "
		     "with backing=unpinned (and the aligned comparator) it "
		     "never holds any.");
	igt_subtest("backing-accounting")
		test_backing_accounting();

	igt_describe("One thread keeps swapping two pre-filled memfd mappings "
		     "under a userptr range while the device copies it out: a "
		     "copy may fail (-EBUSY, -EFAULT) but never returns a mix "
		     "of both generations.");
	igt_subtest("race-remap")
		test_race_remap();

	igt_describe("A child using the parent's userptr object through the "
		     "inherited fd gets -EFAULT for every job; its own userptr "
		     "on the same fd works; the parent's object still works "
		     "afterwards.");
	igt_subtest("forked-access")
		test_forked_access();

	for (unsigned int i = 0; i < ARRAY_SIZE(fork_cow); i++) {
		igt_describe(fork_cow[i].description);
		igt_subtest_with_dynamic(fork_cow[i].name) {
			igt_dynamic("used-before-fork")
				test_fork_cow(&fork_cow[i], true);
			igt_dynamic("unused-before-fork")
				test_fork_cow(&fork_cow[i], false);
		}
	}

	igt_describe("fork() waits for a held job on a userptr object to run.");
	igt_subtest("hold-blocks-fork")
		test_hold_blocks_fork();

	igt_describe("A child creates and uses shmem and userptr objects and "
		     "exits without closing anything: every object and pin is "
		     "released.");
	igt_subtest("process-exit")
		test_process_exit();

	igt_describe("As process-exit, with held jobs (hold_ms 200) reading "
		     "and writing the userptr object in flight at exit: no "
		     "hang, and everything is released.");
	igt_subtest("process-exit-busy")
		test_process_exit_busy();

	igt_describe("A child creates a userptr object over its own memory on "
		     "the parent's fd and exits; the object outlives the "
		     "child's mm: using it gives -EFAULT, closing it releases "
		     "everything.");
	igt_subtest("process-exit-foreign-object")
		test_process_exit_foreign_object();

	igt_describe("Closing the fd with held jobs on a userptr object "
		     "returns promptly and releases every object and pin, well "
		     "before hold_ms; the memory stays usable.");
	igt_subtest("close-busy")
		test_close_busy();

	igt_fixture
		close(fd);

	igt_describe("A file with a used userptr object keeps vblit.ko loaded; "
		     "after close it unloads, and the memory that was behind "
		     "the object can then be unmapped (the notifier is gone "
		     "with the object). Then vblit.ko is reloaded with the "
		     "runner's options.");
	igt_subtest("unload")
		test_unload();
}
