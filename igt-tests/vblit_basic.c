// SPDX-License-Identifier: MIT
/*
 * Copyright (c) 2026 The drm-userptr authors
 */

/**
 * TEST: vblit basic
 * Category: Core
 * Description: The vblit virtual render driver without userptr: device
 *	files, parameters, shmem objects, the copy/fill/checksum engine, waits,
 *	held jobs, fences and module lifetime.
 */

#include <fcntl.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>

#include "igt.h"
#include "vblit.h"

IGT_TEST_DESCRIPTION("Basic ioctls of the vblit virtual render driver.");

#define PAGE VBLIT_PAGE_SIZE

static int fd = -1;

/* The "objects" counter, or -1 when the kernel exposes none. */
static int64_t objects(void)
{
	return vblit_stat("objects");
}

/* Frees trail a job's completion (a worker drops its references): poll. */
static void check_objects(int64_t before, int64_t delta)
{
	if (before < 0)
		return;
	vblit_stat_wait("objects", before + delta, 2000);
	igt_assert_eq_s64(objects(), before + delta);
}

static void test_open_close(void)
{
	int fd2;

	for (int i = 0; i < 3; i++) {
		fd2 = vblit_open();
		igt_assert(vblit_is_device(fd2));
		igt_assert_eq(vblit_getparam(fd2, VBLIT_PARAM_API_VERSION), 1);
		igt_assert_eq(close(fd2), 0);
	}
}

static void test_drm_open_driver(void)
{
	drmVersionPtr version;
	int fd2;

	fd2 = drm_open_driver_render(DRIVER_ANY);
	version = drmGetVersion(fd2);
	igt_assert(version);
	igt_assert_f(vblit_is_device(fd2),
		     "IGT opened driver \"%s\", not vblit (IGT_FORCE_DRIVER=%s)\n",
		     version->name, getenv("IGT_FORCE_DRIVER") ?: "");
	drmFreeVersion(version);
	close(fd2);
}

static void test_second_client(void)
{
	int64_t before = objects();
	uint32_t h1, h2;
	uint64_t offset;
	uint32_t *map;
	int fd1, fd2;

	fd1 = vblit_open();
	fd2 = vblit_open();

	h1 = vblit_gem_create(fd1, PAGE);
	igt_assert_eq(__vblit_gem_mmap_offset(fd2, h1, &offset), -ENOENT);
	igt_assert_eq(__vblit_fill(fd2, h1, 0, PAGE, 1), -ENOENT);

	h2 = vblit_gem_create(fd2, PAGE);
	check_objects(before, 2);

	vblit_fill(fd1, h1, 0, PAGE, 0x11111111);
	vblit_fill(fd2, h2, 0, PAGE, 0x22222222);

	map = vblit_gem_mmap(fd1, h1, PAGE, PROT_READ);
	vblit_value_check(map, PAGE, 0x11111111, "first client's object");
	munmap(map, PAGE);

	close(fd1);
	check_objects(before, 1);

	vblit_fill(fd2, h2, 8, 8, 0x33333333);
	map = vblit_gem_mmap(fd2, h2, PAGE, PROT_READ);
	igt_assert_eq_u32(map[0], 0x22222222);
	igt_assert_eq_u32(map[2], 0x33333333);
	igt_assert_eq_u32(map[3], 0x33333333);
	igt_assert_eq_u32(map[4], 0x22222222);
	munmap(map, PAGE);

	close(fd2);
	vblit_assert_no_leaks();
}

static void test_getparam(void)
{
	uint64_t v;

	igt_assert_eq(vblit_getparam(fd, VBLIT_PARAM_API_VERSION), 1);

	v = vblit_getparam(fd, VBLIT_PARAM_MAX_GEM_SIZE);
	igt_assert_lte_u64(PAGE, v);
	igt_assert_eq_u64(v % PAGE, 0);

	igt_assert_lte_u64(vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR), 1);
	igt_assert_lte_u64(vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR_PROBE), 1);
	igt_assert_lte_u64(vblit_getparam(fd, VBLIT_PARAM_USERPTR_BACKING), 1);
	igt_assert_lte_u64(vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC), 1);
	igt_assert_lte_u64(vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC_HOLD), 1);

	if (vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR)) {
		v = vblit_getparam(fd, VBLIT_PARAM_USERPTR_MAX_SIZE);
		igt_assert_lte_u64(PAGE, v);
		igt_assert_eq_u64(v % PAGE, 0);
		igt_assert_lt_u64(0, vblit_getparam(fd, VBLIT_PARAM_RETRY_TIMEOUT_MS));
	}
	if (vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC_HOLD))
		igt_assert_lt_u64(0, vblit_getparam(fd, VBLIT_PARAM_MAX_HOLD_MS));

	igt_info("max gem size %" PRIu64 ", userptr %" PRIu64 " (probe %" PRIu64
		 ", backing %" PRIu64 "), hold %" PRIu64 " (max %" PRIu64 " ms)\n",
		 vblit_getparam(fd, VBLIT_PARAM_MAX_GEM_SIZE),
		 vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR),
		 vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR_PROBE),
		 vblit_getparam(fd, VBLIT_PARAM_USERPTR_BACKING),
		 vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC_HOLD),
		 vblit_getparam(fd, VBLIT_PARAM_MAX_HOLD_MS));
}

static void test_getparam_unknown(void)
{
	static const uint32_t params[] = {
		VBLIT_PARAM_RETRY_TIMEOUT_MS + 1, 0x100, 0x7fffffff, 0xffffffff,
	};
	uint64_t value = 0xdead;

	for (unsigned int i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		igt_assert_eq(__vblit_getparam(fd, params[i], &value), -EINVAL);
		igt_assert_eq_u64(value, 0xdead);
	}
}

static void test_getparam_pad(void)
{
	struct drm_vblit_getparam gp = {
		.param = VBLIT_PARAM_API_VERSION,
		.pad = 1,
	};

	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GETPARAM, &gp), -EINVAL);
	gp.pad = 0x80000000;
	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GETPARAM, &gp), -EINVAL);
}

static void test_create(void)
{
	static const uint64_t sizes[] = { PAGE, 2 * PAGE, 16 * PAGE, 1 << 20 };
	uint32_t handles[sizeof(sizes) / sizeof(sizes[0])];
	int64_t before = objects();
	unsigned int n = sizeof(sizes) / sizeof(sizes[0]);

	for (unsigned int i = 0; i < n; i++) {
		handles[i] = vblit_gem_create(fd, sizes[i]);
		for (unsigned int j = 0; j < i; j++)
			igt_assert_neq_u32(handles[i], handles[j]);
	}
	check_objects(before, n);

	for (unsigned int i = 0; i < n; i++)
		vblit_gem_close(fd, handles[i]);
	vblit_assert_no_leaks();
}

static void test_create_zero(void)
{
	uint32_t handle = 0;

	igt_assert_eq(__vblit_gem_create(fd, 0, &handle), -EINVAL);
	igt_assert_eq_u32(handle, 0);
}

static void test_create_unaligned(void)
{
	static const uint64_t sizes[] = { 1, PAGE - 1, PAGE + 1, 3 * PAGE + 7 };

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t rounded = (sizes[i] + PAGE - 1) & VBLIT_PAGE_MASK;
		uint32_t handle = vblit_gem_create(fd, sizes[i]);
		uint32_t *map;

		vblit_fill(fd, handle, rounded - 4, 4, 0xc0ffee00 | i);
		igt_assert_eq(__vblit_fill(fd, handle, rounded, 4, 0), -EINVAL);
		igt_assert_eq(__vblit_fill(fd, handle, rounded - 4, 5, 0),
			      -EINVAL);

		map = vblit_gem_mmap(fd, handle, rounded, PROT_READ);
		igt_assert_eq_u32(map[rounded / 4 - 1], 0xc0ffee00 | i);
		munmap(map, rounded);
		vblit_gem_close(fd, handle);
	}
	vblit_assert_no_leaks();
}

static void test_create_huge(void)
{
	uint64_t max = vblit_getparam(fd, VBLIT_PARAM_MAX_GEM_SIZE);
	const uint64_t sizes[] = {
		max + 1, max + PAGE, 1ull << 63, ~0ull & VBLIT_PAGE_MASK, ~0ull,
	};

	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint32_t handle = 0;

		igt_assert_f(__vblit_gem_create(fd, sizes[i], &handle) == -E2BIG,
			     "size %#" PRIx64 " (max %#" PRIx64 ") not refused with -E2BIG\n",
			     sizes[i], max);
	}
	vblit_assert_no_leaks();
}

static void test_create_invalid_flags(void)
{
	for (int bit = 0; bit < 32; bit++) {
		struct drm_vblit_gem_create arg = {
			.size = PAGE,
			.flags = 1u << bit,
		};

		igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_CREATE, &arg),
			      -EINVAL);
	}
	vblit_assert_no_leaks();
}

static void test_create_invalid_pad(void)
{
	struct drm_vblit_gem_create arg = { .size = PAGE, .pad = 1 };

	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_CREATE, &arg),
		      -EINVAL);
	arg.pad = 1ull << 63;
	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_CREATE, &arg),
		      -EINVAL);
	vblit_assert_no_leaks();
}

static void test_mmap(void)
{
	const size_t size = 8 * PAGE;
	uint32_t handle = vblit_gem_create(fd, size);
	uint64_t offset = vblit_gem_mmap_offset(fd, handle);
	uint32_t *a, *b;
	void *big;

	igt_assert_neq_u64(offset, 0);
	igt_assert_eq_u64(offset % PAGE, 0);
	igt_assert_eq_u64(vblit_gem_mmap_offset(fd, handle), offset);

	a = vblit_gem_mmap(fd, handle, size, PROT_READ | PROT_WRITE);
	b = vblit_gem_mmap(fd, handle, size, PROT_READ);
	vblit_value_check(a, size, 0, "new object");
	vblit_pattern_write(a, size, 1);
	vblit_pattern_check(b, size, 1, "second mapping");
	munmap(a, size);
	munmap(b, size);

	a = vblit_gem_mmap(fd, handle, size, PROT_READ);
	vblit_pattern_check(a, size, 1, "mapping after munmap");
	munmap(a, size);

	big = mmap(NULL, size + PAGE, PROT_READ, MAP_SHARED, fd, offset);
	igt_assert_f(big == MAP_FAILED && errno == EINVAL,
		     "mapping past the end of the object: %p, %m\n", big);

	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_mmap_offset_bad_handle(void)
{
	uint32_t handle = vblit_gem_create(fd, PAGE);
	uint64_t offset;

	vblit_gem_close(fd, handle);
	igt_assert_eq(__vblit_gem_mmap_offset(fd, handle, &offset), -ENOENT);
	igt_assert_eq(__vblit_gem_mmap_offset(fd, 0, &offset), -ENOENT);
	igt_assert_eq(__vblit_gem_mmap_offset(fd, 0xdeadbeef, &offset), -ENOENT);
	vblit_assert_no_leaks();
}

static void test_mmap_offset_invalid(void)
{
	uint32_t handle = vblit_gem_create(fd, PAGE);
	struct drm_vblit_gem_mmap_offset arg = { .handle = handle, .flags = 1 };

	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET, &arg),
		      -EINVAL);
	arg.flags = 0;
	arg.pad = 1;
	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET, &arg),
		      -EINVAL);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_close_bad_handle(void)
{
	uint32_t handle = vblit_gem_create(fd, PAGE);

	vblit_gem_close(fd, handle);
	igt_assert_eq(__vblit_gem_close(fd, handle), -EINVAL);
	igt_assert_eq(__vblit_gem_close(fd, 0xdeadbeef), -EINVAL);
	vblit_assert_no_leaks();
}

static void test_exec_fill_shmem(void)
{
	const size_t size = 16 * PAGE;
	uint32_t handle = vblit_gem_create(fd, size);
	uint8_t *ref = malloc(size);
	uint32_t *map;

	igt_assert(ref);
	map = vblit_gem_mmap(fd, handle, size, PROT_READ);

	vblit_fill(fd, handle, 0, size, 0x5a5a5a5a);
	vblit_value_check(map, size, 0x5a5a5a5a, "whole-object fill");

	for (unsigned int p = 0; p < size / PAGE; p++)
		igt_assert_eq(__vblit_fill(fd, handle, p * PAGE, PAGE,
					   vblit_pattern(2, p, 0)), 0);
	vblit_gem_wait(fd, handle);
	for (unsigned int p = 0; p < size / PAGE; p++)
		vblit_value_check(map + p * PAGE / 4, PAGE,
				  vblit_pattern(2, p, 0), "per-page fill");

	memcpy(ref, map, size);
	vblit_fill(fd, handle, 3 * PAGE - 5, 2 * PAGE + 11, 0x01020304);
	vblit_fill_ref(ref, 3 * PAGE - 5, 2 * PAGE + 11, 0x01020304);
	vblit_mem_check(map, ref, size, "unaligned fill");

	munmap(map, size);
	free(ref);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_exec_copy_shmem(void)
{
	const size_t size = 8 * PAGE;
	uint32_t a = vblit_gem_create(fd, size);
	uint32_t b = vblit_gem_create(fd, size);
	uint8_t *ref = malloc(size);
	uint32_t *ma, *mb;

	igt_assert(ref);
	ma = vblit_gem_mmap(fd, a, size, PROT_READ | PROT_WRITE);
	mb = vblit_gem_mmap(fd, b, size, PROT_READ);

	vblit_pattern_write(ma, size, 3);
	vblit_copy(fd, b, 0, a, 0, size);
	vblit_pattern_check(mb, size, 3, "copy a to b");

	/* Within one object: the lower half onto the upper half. */
	memcpy(ref, ma, size);
	memcpy(ref + size / 2, ref, size / 2);
	vblit_copy(fd, a, size / 2, a, 0, size / 2);
	vblit_mem_check(ma, ref, size, "copy within a");

	/* Unaligned, crossing pages. */
	memcpy(ref, mb, size);
	memcpy(ref + PAGE + 1, (uint8_t *)ma + 13, 3 * PAGE + 5);
	vblit_copy(fd, b, PAGE + 1, a, 13, 3 * PAGE + 5);
	vblit_mem_check(mb, ref, size, "unaligned copy");

	munmap(ma, size);
	munmap(mb, size);
	free(ref);
	vblit_gem_close(fd, a);
	vblit_gem_close(fd, b);
	vblit_assert_no_leaks();
}

static void test_exec_checksum(void)
{
	const size_t size = 4 * PAGE;
	uint32_t src = vblit_gem_create(fd, size);
	uint32_t dst = vblit_gem_create(fd, PAGE);
	static const struct { uint64_t src, len, dst; } cases[] = {
		{ 0, 4 * PAGE, 0 },
		{ 5, 10000, 16 },
		{ PAGE - 1, 2, 24 },
		{ 3 * PAGE, 1, 100 },
		{ 0, PAGE, PAGE - 8 },
	};
	uint8_t *ms, *md;

	ms = vblit_gem_mmap(fd, src, size, PROT_READ | PROT_WRITE);
	md = vblit_gem_mmap(fd, dst, PAGE, PROT_READ);
	vblit_pattern_write(ms, size, 4);

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t want = vblit_fnv1a64(ms + cases[i].src, cases[i].len);
		uint64_t got = 0;

		vblit_checksum(fd, dst, cases[i].dst, src, cases[i].src,
			       cases[i].len);
		for (int b = 7; b >= 0; b--)
			got = got << 8 | md[cases[i].dst + b];
		igt_assert_f(got == want,
			     "checksum of [%#" PRIx64 ", +%#" PRIx64 ") at %#" PRIx64
			     ": %#" PRIx64 ", expected %#" PRIx64 "\n",
			     cases[i].src, cases[i].len, cases[i].dst, got, want);
	}

	munmap(ms, size);
	munmap(md, PAGE);
	vblit_gem_close(fd, src);
	vblit_gem_close(fd, dst);
	vblit_assert_no_leaks();
}

static void test_exec_checksum_overlap(void)
{
	static const struct { uint64_t src, len, dst; } cases[] = {
		{ 0, 2 * PAGE, 0 },
		{ 100, PAGE, 100 + PAGE / 2 },
		{ 8, PAGE, PAGE + 4 },
		{ PAGE - 3, 16, PAGE - 7 },
	};
	const size_t size = 2 * PAGE;
	uint32_t handle = vblit_gem_create(fd, size);
	uint8_t *map, *ref = malloc(size);

	igt_assert(ref);
	map = vblit_gem_mmap(fd, handle, size, PROT_READ | PROT_WRITE);

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t want;

		vblit_pattern_write(map, size, 0x60 + i);
		want = vblit_fnv1a64(map + cases[i].src, cases[i].len);
		memcpy(ref, map, size);
		for (int b = 0; b < 8; b++)
			ref[cases[i].dst + b] = want >> (8 * b);

		vblit_checksum(fd, handle, cases[i].dst, handle, cases[i].src,
			       cases[i].len);
		vblit_mem_check(map, ref, size, "object after an overlapping checksum");
	}

	munmap(map, size);
	free(ref);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

/*
 * exec-invalid: each case starts from a valid COPY (or FILL, CHECKSUM) and
 * breaks exactly one member.
 */
enum exec_case {
	EXEC_BAD_OP,
	EXEC_BAD_OP_HIGH,
	EXEC_BAD_FLAG,
	EXEC_BAD_FLAG_HIGH,
	EXEC_PAD,
	EXEC_ZERO_LENGTH,
	EXEC_DST_PAST_END,
	EXEC_DST_AT_END,
	EXEC_SRC_PAST_END,
	EXEC_OFFSET_OVERFLOW,
	EXEC_LENGTH_OVERFLOW,
	EXEC_HOLD_MS_WITHOUT_HOLD,
	EXEC_HOLD_MS_TOO_BIG,
	EXEC_HOLD_MS_ZERO,
	EXEC_COPY_OVERLAP,
	EXEC_UNKNOWN_DST,
	EXEC_UNKNOWN_SRC,
	EXEC_ZERO_DST,
	EXEC_FILL_SRC_HANDLE,
	EXEC_FILL_SRC_OFFSET,
	EXEC_FILL_VALUE_HIGH,
	EXEC_COPY_VALUE,
	EXEC_CHECKSUM_VALUE,
	EXEC_CHECKSUM_SHORT_DST,
	EXEC_CASES,
};

static const struct {
	const char *name;
	int err;
} exec_cases[EXEC_CASES] = {
	[EXEC_BAD_OP] = { "unknown-op", -EINVAL },
	[EXEC_BAD_OP_HIGH] = { "unknown-op-high", -EINVAL },
	[EXEC_BAD_FLAG] = { "unknown-flag", -EINVAL },
	[EXEC_BAD_FLAG_HIGH] = { "unknown-flag-high", -EINVAL },
	[EXEC_PAD] = { "nonzero-pad", -EINVAL },
	[EXEC_ZERO_LENGTH] = { "zero-length", -EINVAL },
	[EXEC_DST_PAST_END] = { "dst-past-end", -EINVAL },
	[EXEC_DST_AT_END] = { "dst-at-end", -EINVAL },
	[EXEC_SRC_PAST_END] = { "src-past-end", -EINVAL },
	[EXEC_OFFSET_OVERFLOW] = { "offset-overflow", -EINVAL },
	[EXEC_LENGTH_OVERFLOW] = { "length-overflow", -EINVAL },
	[EXEC_HOLD_MS_WITHOUT_HOLD] = { "hold-ms-without-hold", -EINVAL },
	[EXEC_HOLD_MS_TOO_BIG] = { "hold-ms-too-big", -EINVAL },
	[EXEC_HOLD_MS_ZERO] = { "hold-ms-zero", -EINVAL },
	[EXEC_COPY_OVERLAP] = { "copy-overlap", -EINVAL },
	[EXEC_UNKNOWN_DST] = { "unknown-dst", -ENOENT },
	[EXEC_UNKNOWN_SRC] = { "unknown-src", -ENOENT },
	[EXEC_ZERO_DST] = { "zero-dst", -ENOENT },
	[EXEC_FILL_SRC_HANDLE] = { "fill-src-handle", -EINVAL },
	[EXEC_FILL_SRC_OFFSET] = { "fill-src-offset", -EINVAL },
	[EXEC_FILL_VALUE_HIGH] = { "fill-value-high", -EINVAL },
	[EXEC_COPY_VALUE] = { "copy-value", -EINVAL },
	[EXEC_CHECKSUM_VALUE] = { "checksum-value", -EINVAL },
	[EXEC_CHECKSUM_SHORT_DST] = { "checksum-short-dst", -EINVAL },
};

#define EXEC_OBJ_SIZE (2 * PAGE)

static void exec_case_prepare(enum exec_case c, struct drm_vblit_exec *e,
			      uint32_t dst, uint32_t src, uint32_t closed)
{
	vblit_exec_init(e, VBLIT_OP_COPY, dst, 0, src, 0, PAGE);

	switch (c) {
	case EXEC_BAD_OP:
		e->op = VBLIT_OP_CHECKSUM + 1;
		break;
	case EXEC_BAD_OP_HIGH:
		e->op = 0x80000000;
		break;
	case EXEC_BAD_FLAG:
		e->flags = VBLIT_EXEC_HOLD << 1;
		break;
	case EXEC_BAD_FLAG_HIGH:
		e->flags = 0x80000000;
		break;
	case EXEC_PAD:
		e->pad = 1;
		break;
	case EXEC_ZERO_LENGTH:
		e->length = 0;
		break;
	case EXEC_DST_PAST_END:
		e->dst_offset = EXEC_OBJ_SIZE - PAGE + 1;
		break;
	case EXEC_DST_AT_END:
		e->dst_offset = EXEC_OBJ_SIZE;
		e->length = 1;
		break;
	case EXEC_SRC_PAST_END:
		e->src_offset = EXEC_OBJ_SIZE - 1;
		e->length = 2;
		break;
	case EXEC_OFFSET_OVERFLOW:
		e->dst_offset = ~0ull - 2;
		break;
	case EXEC_LENGTH_OVERFLOW:
		e->length = ~0ull;
		break;
	case EXEC_HOLD_MS_WITHOUT_HOLD:
		e->hold_ms = 100;
		break;
	case EXEC_HOLD_MS_TOO_BIG:
		e->flags = VBLIT_EXEC_HOLD;
		e->hold_ms = vblit_getparam(fd, VBLIT_PARAM_MAX_HOLD_MS) + 1;
		igt_require(e->hold_ms != 0);
		break;
	case EXEC_HOLD_MS_ZERO:
		/* Neither "no timeout" nor "the longest": refused. */
		e->flags = VBLIT_EXEC_HOLD;
		e->hold_ms = 0;
		break;
	case EXEC_COPY_OVERLAP:
		e->src_handle = dst;
		e->src_offset = 100;
		break;
	case EXEC_UNKNOWN_DST:
		e->dst_handle = closed;
		break;
	case EXEC_UNKNOWN_SRC:
		e->src_handle = closed;
		break;
	case EXEC_ZERO_DST:
		e->dst_handle = 0;
		break;
	case EXEC_FILL_SRC_HANDLE:
		e->op = VBLIT_OP_FILL;
		break;
	case EXEC_FILL_SRC_OFFSET:
		e->op = VBLIT_OP_FILL;
		e->src_handle = 0;
		e->src_offset = PAGE;
		break;
	case EXEC_FILL_VALUE_HIGH:
		e->op = VBLIT_OP_FILL;
		e->src_handle = 0;
		e->value = 1ull << 32;
		break;
	case EXEC_COPY_VALUE:
		e->value = 1;
		break;
	case EXEC_CHECKSUM_VALUE:
		e->op = VBLIT_OP_CHECKSUM;
		e->value = 1;
		break;
	case EXEC_CHECKSUM_SHORT_DST:
		e->op = VBLIT_OP_CHECKSUM;
		e->dst_offset = EXEC_OBJ_SIZE - 4;
		break;
	case EXEC_CASES:
		break;
	}
}

static void test_exec_invalid(void)
{
	uint32_t dst = vblit_gem_create(fd, EXEC_OBJ_SIZE);
	uint32_t src = vblit_gem_create(fd, EXEC_OBJ_SIZE);
	uint32_t closed = vblit_gem_create(fd, PAGE);
	struct drm_vblit_exec e;
	uint32_t *map;

	vblit_gem_close(fd, closed);
	vblit_fill(fd, src, 0, EXEC_OBJ_SIZE, 0xabababab);
	map = vblit_gem_mmap(fd, dst, EXEC_OBJ_SIZE, PROT_READ);

	/* The base case is valid: prove it on a scratch object. */
	exec_case_prepare(EXEC_CASES, &e, src, dst, closed);
	vblit_exec(fd, &e);
	vblit_gem_wait(fd, src);

	for (int c = 0; c < EXEC_CASES; c++) {
		igt_dynamic(exec_cases[c].name) {
			if (c == EXEC_HOLD_MS_TOO_BIG || c == EXEC_HOLD_MS_ZERO)
				vblit_require_hold(fd);
			exec_case_prepare(c, &e, dst, src, closed);
			igt_assert_eq(__vblit_exec(fd, &e), exec_cases[c].err);
			igt_assert_eq(__vblit_gem_wait(fd, dst, 0), 0);
			vblit_value_check(map, EXEC_OBJ_SIZE, 0,
					  "destination after a refused job");
		}
	}

	munmap(map, EXEC_OBJ_SIZE);
	vblit_gem_close(fd, dst);
	vblit_gem_close(fd, src);
	vblit_assert_no_leaks();
}

static void test_wait(void)
{
	struct timespec start;
	uint32_t handle, *map;
	uint64_t job;
	double ms;

	vblit_require_hold(fd);
	handle = vblit_gem_create(fd, PAGE);
	map = vblit_gem_mmap(fd, handle, PAGE, PROT_READ);

	igt_assert_eq(__vblit_gem_wait(fd, handle, 0), 0);
	igt_assert_eq(__vblit_gem_wait(fd, handle, 1000000000), 0);

	job = vblit_fill_held(fd, handle, 0, PAGE, 0x600df00d,
			      vblit_hold_ms(fd, 10000));
	igt_assert_eq(__vblit_gem_wait(fd, handle, 0), -ETIME);

	clock_gettime(CLOCK_MONOTONIC, &start);
	igt_assert_eq(__vblit_gem_wait(fd, handle, 200 * 1000 * 1000), -ETIME);
	ms = vblit_elapsed_ms(&start);
	igt_assert_f(ms >= 200 * VBLIT_TIMER_SLACK,
		     "200 ms wait gave up after %.1f ms\n", ms);
	vblit_value_check(map, PAGE, 0, "object under a held job");

	vblit_job_release(fd, job);
	vblit_gem_wait(fd, handle);
	vblit_value_check(map, PAGE, 0x600df00d, "object after release");
	igt_assert_eq(__vblit_gem_wait(fd, handle, 0), 0);

	munmap(map, PAGE);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_wait_invalid(void)
{
	uint32_t handle = vblit_gem_create(fd, PAGE);
	struct drm_vblit_gem_wait arg = { .handle = handle, .flags = 1 };

	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_WAIT, &arg), -EINVAL);
	arg.flags = 0;
	arg.pad = 1;
	igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_GEM_WAIT, &arg), -EINVAL);

	vblit_gem_close(fd, handle);
	igt_assert_eq(__vblit_gem_wait(fd, handle, 0), -ENOENT);
	igt_assert_eq(__vblit_gem_wait(fd, 0xdeadbeef, 0), -ENOENT);
	vblit_assert_no_leaks();
}

static void test_hold_timeout(void)
{
	struct timespec start;
	uint32_t handle, *map;
	uint64_t job;
	double ms;

	vblit_require_hold(fd);
	handle = vblit_gem_create(fd, PAGE);
	map = vblit_gem_mmap(fd, handle, PAGE, PROT_READ);

	clock_gettime(CLOCK_MONOTONIC, &start);
	job = vblit_fill_held(fd, handle, 0, PAGE, 0x7173, vblit_hold_ms(fd, 200));
	vblit_gem_wait(fd, handle);
	ms = vblit_elapsed_ms(&start);
	igt_info("held job of %u ms ran after %.1f ms\n",
		 vblit_hold_ms(fd, 200), ms);
	igt_assert_f(ms >= vblit_hold_ms(fd, 200) * VBLIT_TIMER_SLACK,
		     "job held for %u ms ran after %.1f ms\n",
		     vblit_hold_ms(fd, 200), ms);
	vblit_value_check(map, PAGE, 0x7173, "object after the hold timed out");
	igt_assert_eq(__vblit_job_release(fd, job), -ENOENT);

	munmap(map, PAGE);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_wait_negative_timeout(void)
{
	static const int64_t timeouts[] = { -1, -1000000000ll, INT64_MIN };
	struct timespec start;
	uint32_t handle, hold_ms, *map;
	double ms;

	handle = vblit_gem_create(fd, PAGE);
	map = vblit_gem_mmap(fd, handle, PAGE, PROT_READ);

	for (unsigned int i = 0; i < sizeof(timeouts) / sizeof(timeouts[0]); i++) {
		clock_gettime(CLOCK_MONOTONIC, &start);
		igt_assert_eq(__vblit_gem_wait(fd, handle, timeouts[i]), 0);
		ms = vblit_elapsed_ms(&start);
		igt_assert_f(ms < 2000, "GEM_WAIT(%" PRId64 ") on an idle object took %.0f ms\n",
			     timeouts[i], ms);
	}

	if (vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC_HOLD)) {
		hold_ms = vblit_hold_ms(fd, 300);
		clock_gettime(CLOCK_MONOTONIC, &start);
		vblit_fill_held(fd, handle, 0, PAGE, 0x4e6a7001, hold_ms);
		igt_assert_eq(__vblit_gem_wait(fd, handle, -1), 0);
		ms = vblit_elapsed_ms(&start);
		igt_info("GEM_WAIT(-1) on a job held for %u ms returned after %.1f ms\n",
			 hold_ms, ms);
		igt_assert_f(ms >= hold_ms * VBLIT_TIMER_SLACK,
			     "GEM_WAIT(-1) returned %.1f ms into a %u ms hold\n",
			     ms, hold_ms);
		vblit_value_check(map, PAGE, 0x4e6a7001, "object after GEM_WAIT(-1)");
	}

	munmap(map, PAGE);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

/* hold-timeout-busy: seconds of 64 MiB CHECKSUM jobs queued ahead. */
#define BUSY_SIZE	(64ul << 20)
#define BUSY_MS		2500	/* the busy work aimed at, from a calibration */
#define BUSY_JOBS_MIN	12	/* a calibration on a loaded machine may be far off */
#define BUSY_JOBS_MAX	48
#define BUSY_HOLD_MS	20	/* the hold under test */
#define BUSY_PROBES	12	/* held jobs, one JOB_RELEASE probe each */
#define BUSY_STEP_MS	50	/* probe j comes (j + 1) steps after its hold */
#define BUSY_LATE_MS	400	/* a loaded TCG guest may end a hold this late */

/* Sleep until @ms after @start. */
static void sleep_until(const struct timespec *start, double ms)
{
	double left = ms - vblit_elapsed_ms(start);

	if (left > 0)
		usleep(left * 1000);
}

static void test_hold_timeout_busy(void)
{
	uint32_t busy[BUSY_JOBS_MAX], held[BUSY_PROBES], calib, src, late;
	struct timespec start, submitted[BUSY_PROBES];
	double one_ms, probed[BUSY_PROBES], answered[BUSY_PROBES], first_end = -1;
	uint64_t ids[BUSY_PROBES], want;
	int err[BUSY_PROBES];
	bool engine_busy;
	uint32_t hold_ms;
	unsigned int n;
	uint8_t *map;

	vblit_require_hold(fd);
	igt_require_f(vblit_getparam(fd, VBLIT_PARAM_MAX_GEM_SIZE) >= BUSY_SIZE,
		      "MAX_GEM_SIZE below the 64 MiB of the busy jobs\n");
	hold_ms = vblit_hold_ms(fd, BUSY_HOLD_MS);

	/* One job alone, once the first one pinned the source's pages. */
	src = vblit_gem_create(fd, BUSY_SIZE);
	calib = vblit_gem_create(fd, PAGE);
	vblit_checksum(fd, calib, 0, src, 0, BUSY_SIZE);
	clock_gettime(CLOCK_MONOTONIC, &start);
	vblit_checksum(fd, calib, 0, src, 0, BUSY_SIZE);
	one_ms = vblit_elapsed_ms(&start);
	n = BUSY_MS / (one_ms + 1) + 1;
	n = n < BUSY_JOBS_MIN ? BUSY_JOBS_MIN : n > BUSY_JOBS_MAX ? BUSY_JOBS_MAX : n;

	/* Readers of one source, each its own destination: all queued at once. */
	for (unsigned int i = 0; i < n; i++) {
		busy[i] = vblit_gem_create(fd, PAGE);
		igt_assert_eq(__vblit_checksum(fd, busy[i], 0, src, 0, BUSY_SIZE), 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned int j = 0; j < BUSY_PROBES; j++) {
		held[j] = vblit_gem_create(fd, PAGE);
		clock_gettime(CLOCK_MONOTONIC, &submitted[j]);
		ids[j] = vblit_fill_held(fd, held[j], 0, PAGE, 0x4e1d0000 | j, hold_ms);
	}

	/*
	 * A probe that finds its job held releases it: one job per probe.
	 * Found held, the job was held when the probe started; not found, it
	 * was no longer held when the probe returned.
	 */
	for (unsigned int j = 0; j < BUSY_PROBES; j++) {
		sleep_until(&submitted[j], hold_ms + (j + 1) * BUSY_STEP_MS);
		probed[j] = vblit_elapsed_ms(&submitted[j]) - hold_ms;
		err[j] = __vblit_job_release(fd, ids[j]);
		answered[j] = vblit_elapsed_ms(&submitted[j]) - hold_ms;
		if (err[j] == -ENOENT && first_end < 0)
			first_end = answered[j];
	}
	engine_busy = vblit_gem_busy(fd, busy[n - 1]);
	late = vblit_gem_create(fd, PAGE);
	igt_assert_eq(__vblit_fill(fd, late, 0, PAGE, 0x1a7e1a7e), 0);

	igt_info("%u busy jobs of 64 MiB (%.0f ms alone); engine %s at the last probe, %.0f ms in\n",
		 n, one_ms, engine_busy ? "busy" : "idle", vblit_elapsed_ms(&start));
	for (unsigned int j = 0; j < BUSY_PROBES; j++)
		igt_info("held job %u, %u ms hold, %.0f to %.0f ms after it: JOB_RELEASE %d\n",
			 j, hold_ms, probed[j], answered[j], err[j]);
	for (unsigned int j = 0; j < BUSY_PROBES; j++) {
		igt_assert_f(err[j] == 0 || err[j] == -ENOENT,
			     "JOB_RELEASE of held job %u gave %d\n", j, err[j]);
		igt_assert_f(err[j] == -ENOENT || probed[j] < BUSY_LATE_MS,
			     "job held for %u ms is still held %.0f ms later, behind a busy engine\n",
			     hold_ms, probed[j]);
	}

	/* The engine keeps its order: after the busy jobs, before the late one. */
	vblit_gem_wait(fd, held[0]);
	igt_assert_f(!vblit_gem_busy(fd, busy[n - 1]),
		     "a held job ran before the jobs queued ahead of it\n");
	vblit_gem_wait(fd, late);
	for (unsigned int j = 0; j < BUSY_PROBES; j++)
		igt_assert_f(!vblit_gem_busy(fd, held[j]),
			     "held job %u still busy after a job queued after it\n", j);
	igt_info("hold ended at most %.0f ms late; everything done %.0f ms in\n",
		 first_end, vblit_elapsed_ms(&start));

	map = vblit_gem_mmap(fd, calib, PAGE, PROT_READ);
	memcpy(&want, map, sizeof(want));
	munmap(map, PAGE);
	for (unsigned int i = 0; i < n; i++) {
		map = vblit_gem_mmap(fd, busy[i], PAGE, PROT_READ);
		igt_assert_eq_u64(*(uint64_t *)map, want);
		munmap(map, PAGE);
		vblit_gem_close(fd, busy[i]);
	}
	for (unsigned int j = 0; j < BUSY_PROBES; j++) {
		map = vblit_gem_mmap(fd, held[j], PAGE, PROT_READ);
		vblit_value_check(map, PAGE, 0x4e1d0000 | j, "object of a held job");
		munmap(map, PAGE);
		vblit_gem_close(fd, held[j]);
	}
	vblit_gem_close(fd, late);
	vblit_gem_close(fd, calib);
	vblit_gem_close(fd, src);
	vblit_assert_no_leaks();
	igt_require_f(engine_busy,
		      "the engine went idle before the last probe: the holds never met a busy engine\n");
}

static void test_job_release_invalid(void)
{
	struct drm_vblit_job_release arg = {};
	uint32_t handle, hold_ms;
	uint64_t job;
	int fd2;

	vblit_require_hold(fd);
	hold_ms = vblit_hold_ms(fd, 10000);
	handle = vblit_gem_create(fd, PAGE);

	igt_dynamic("never-submitted") {
		igt_assert_eq(__vblit_job_release(fd, 0), -ENOENT);
		igt_assert_eq(__vblit_job_release(fd, ~0ull), -ENOENT);
	}

	igt_dynamic("twice") {
		job = vblit_fill_held(fd, handle, 0, PAGE, 1, hold_ms);
		vblit_job_release(fd, job);
		igt_assert_eq(__vblit_job_release(fd, job), -ENOENT);
		vblit_gem_wait(fd, handle);
	}

	igt_dynamic("finished") {
		struct drm_vblit_exec e;

		vblit_exec_init(&e, VBLIT_OP_FILL, handle, 0, 0, 0, PAGE);
		job = vblit_exec(fd, &e);
		vblit_gem_wait(fd, handle);
		igt_assert_eq(__vblit_job_release(fd, job), -ENOENT);
	}

	igt_dynamic("other-file") {
		job = vblit_fill_held(fd, handle, 0, PAGE, 2, hold_ms);
		fd2 = vblit_open();
		igt_assert_eq(__vblit_job_release(fd2, job), -ENOENT);
		close(fd2);
		igt_assert(vblit_gem_busy(fd, handle));
		vblit_job_release(fd, job);
		vblit_gem_wait(fd, handle);
	}

	igt_dynamic("nonzero-pad") {
		job = vblit_fill_held(fd, handle, 0, PAGE, 3, hold_ms);
		arg.job_id = job;
		arg.pad = 1;
		igt_assert_eq(__vblit_ioctl(fd, DRM_IOCTL_VBLIT_JOB_RELEASE, &arg),
			      -EINVAL);
		igt_assert(vblit_gem_busy(fd, handle));
		vblit_job_release(fd, job);
		vblit_gem_wait(fd, handle);
	}

	/* A failed dynamic subtest may have left a job held: let it go. */
	igt_assert_eq(__vblit_gem_wait(fd, handle, VBLIT_WAIT_TIMEOUT_NS), 0);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static bool fence_signaled(int fence, int timeout_ms)
{
	struct pollfd pfd = { .fd = fence, .events = POLLIN };
	int ret = poll(&pfd, 1, timeout_ms);

	igt_assert_f(ret >= 0, "poll on a sync_file: %m\n");
	return ret == 1 && (pfd.revents & POLLIN);
}

static void test_fence_out(void)
{
	uint32_t handle = vblit_gem_create(fd, PAGE);
	struct drm_vblit_exec e;
	uint32_t *map;

	map = vblit_gem_mmap(fd, handle, PAGE, PROT_READ);

	vblit_exec_init(&e, VBLIT_OP_FILL, handle, 0, 0, 0, PAGE);
	e.value = 0xfe0ce001;
	vblit_exec(fd, &e);
	igt_assert_eq(e.fence_fd, -1);
	vblit_gem_wait(fd, handle);

	vblit_exec_init(&e, VBLIT_OP_FILL, handle, 0, 0, 0, PAGE);
	e.flags = VBLIT_EXEC_FENCE_OUT;
	e.value = 0xfe0ce002;
	vblit_exec(fd, &e);
	igt_assert(fence_signaled(e.fence_fd, 20000));
	vblit_value_check(map, PAGE, 0xfe0ce002, "object after its fence signaled");
	close(e.fence_fd);

	if (vblit_getparam(fd, VBLIT_PARAM_HAS_EXEC_HOLD)) {
		vblit_exec_init(&e, VBLIT_OP_FILL, handle, 0, 0, 0, PAGE);
		e.flags = VBLIT_EXEC_FENCE_OUT | VBLIT_EXEC_HOLD;
		e.hold_ms = vblit_hold_ms(fd, 10000);
		e.value = 0xfe0ce003;
		vblit_exec(fd, &e);
		igt_assert(!fence_signaled(e.fence_fd, 0));
		igt_assert(!fence_signaled(e.fence_fd, 50));
		vblit_job_release(fd, e.job_id);
		igt_assert(fence_signaled(e.fence_fd, 20000));
		vblit_value_check(map, PAGE, 0xfe0ce003,
				  "object after its fence signaled");
		close(e.fence_fd);
	}

	munmap(map, PAGE);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_fence_out_no_fd(void)
{
	uint32_t handle = vblit_gem_create(fd, PAGE);
	int64_t submitted = vblit_stat("jobs_submitted");
	struct rlimit old, tight;
	struct drm_vblit_exec e;
	int lowest, err;
	uint32_t *map;

	map = vblit_gem_mmap(fd, handle, PAGE, PROT_READ);
	lowest = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	igt_assert_lte(0, lowest);
	close(lowest);
	igt_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	tight = old;
	tight.rlim_cur = lowest;

	vblit_exec_init(&e, VBLIT_OP_FILL, handle, 0, 0, 0, PAGE);
	e.flags = VBLIT_EXEC_FENCE_OUT;
	e.value = 0xef11e000;
	igt_assert_eq(setrlimit(RLIMIT_NOFILE, &tight), 0);
	err = __vblit_exec(fd, &e);
	igt_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	igt_assert_eq(err, -EMFILE);

	/* A queued job would be in flight or done by now: neither. */
	igt_assert(!vblit_gem_busy(fd, handle));
	vblit_value_check(map, PAGE, 0, "object after -EMFILE");
	if (submitted >= 0)
		igt_assert_eq_s64(vblit_stat("jobs_submitted"), submitted);

	vblit_exec(fd, &e);
	igt_assert(fence_signaled(e.fence_fd, 20000));
	vblit_value_check(map, PAGE, 0xef11e000, "object once a descriptor is free");
	close(e.fence_fd);

	munmap(map, PAGE);
	vblit_gem_close(fd, handle);
	vblit_assert_no_leaks();
}

static void test_close_busy(void)
{
	uint32_t a, b;
	uint32_t hold_ms;
	int fd2;

	vblit_require_hold(fd);
	hold_ms = vblit_hold_ms(fd, 30000);

	fd2 = vblit_open();
	a = vblit_gem_create(fd2, 4 * PAGE);
	b = vblit_gem_create(fd2, 4 * PAGE);
	vblit_copy_held(fd2, b, 0, a, 0, 4 * PAGE, hold_ms);
	vblit_fill_held(fd2, a, 0, PAGE, 1, hold_ms);
	vblit_close_held(fd2, hold_ms);
}

static void test_unload(void)
{
	const size_t size = 4 * PAGE;
	uint32_t handle, *map;
	int fd2;

	vblit_module_require();

	fd2 = vblit_open();
	handle = vblit_gem_create(fd2, size);
	vblit_module_assert_held("an open file");

	map = vblit_gem_mmap(fd2, handle, size, PROT_READ | PROT_WRITE);
	vblit_gem_close(fd2, handle);
	close(fd2);
	vblit_module_assert_held("a mapping");

	/* The object lives on in the mapping. */
	vblit_pattern_write(map, size, 5);
	vblit_pattern_check(map, size, 5, "mapping of a closed file");
	munmap(map, size);
	vblit_assert_no_leaks();

	vblit_module_unload_unused();
	vblit_module_reload();
}

igt_main
{
	igt_fixture
		fd = vblit_suite_open(0, NULL);

	igt_describe("Open the render node, check the driver name, close it, "
		     "and open it again.");
	igt_subtest("open-close")
		test_open_close();

	igt_describe("drm_open_driver_render(DRIVER_ANY) with "
		     "IGT_FORCE_DRIVER=vblit opens vblit: the way upstream IGT "
		     "would.");
	igt_subtest("drm-open-driver")
		test_drm_open_driver();

	igt_describe("Two files on the device: handles are per file, each "
		     "file's objects and jobs are its own, and closing one "
		     "leaves the other working.");
	igt_subtest("second-client")
		test_second_client();

	igt_describe("Every parameter reads and has a sane value.");
	igt_subtest("getparam")
		test_getparam();

	igt_describe("An unknown parameter gives -EINVAL.");
	igt_subtest("getparam-unknown")
		test_getparam_unknown();

	igt_describe("A non-zero pad gives -EINVAL, even for a valid "
		     "parameter.");
	igt_subtest("getparam-pad")
		test_getparam_pad();

	igt_describe("Objects of several sizes are created with distinct "
		     "handles, counted, and freed on close.");
	igt_subtest("create")
		test_create();

	igt_describe("A zero size gives -EINVAL.");
	igt_subtest("create-zero")
		test_create_zero();

	igt_describe("An unaligned size is rounded up to whole pages: the last "
		     "page is mappable and usable, the byte after it is not.");
	igt_subtest("create-unaligned")
		test_create_unaligned();

	igt_describe("A size above VBLIT_PARAM_MAX_GEM_SIZE gives -E2BIG, with "
		     "no overflow when rounding sizes near 2^64 up.");
	igt_subtest("create-huge")
		test_create_huge();

	igt_describe("Each non-zero flag bit gives -EINVAL.");
	igt_subtest("create-invalid-flags")
		test_create_invalid_flags();

	igt_describe("A non-zero pad gives -EINVAL.");
	igt_subtest("create-invalid-pad")
		test_create_invalid_pad();

	igt_describe("CPU writes through one mapping of an object read back "
		     "through a second one and through a new mapping after "
		     "unmapping; a mapping larger than the object is refused.");
	igt_subtest("mmap")
		test_mmap();

	igt_describe("MMAP_OFFSET of an unknown or closed handle gives "
		     "-ENOENT.");
	igt_subtest("mmap-offset-bad-handle")
		test_mmap_offset_bad_handle();

	igt_describe("Non-zero flags or pad of MMAP_OFFSET give -EINVAL.");
	igt_subtest("mmap-offset-invalid")
		test_mmap_offset_invalid();

	igt_describe("GEM_CLOSE of an unknown handle, or of one already "
		     "closed, gives -EINVAL (the DRM core's answer).");
	igt_subtest("close-bad-handle")
		test_close_bad_handle();

	igt_describe("FILL writes its 32-bit pattern exactly over the "
		     "requested range: whole object, one page each, and an "
		     "unaligned range.");
	igt_subtest("exec-fill-shmem")
		test_exec_fill_shmem();

	igt_describe("COPY between two objects, within one object (disjoint "
		     "ranges), and at unaligned offsets crossing pages.");
	igt_subtest("exec-copy-shmem")
		test_exec_copy_shmem();

	igt_describe("CHECKSUM stores the FNV-1a 64 hash of the source range, "
		     "little endian, at the destination offset; unaligned "
		     "ranges too.");
	igt_subtest("exec-checksum")
		test_exec_checksum();

	igt_describe("CHECKSUM may store its result over its source.");
	igt_subtest("exec-checksum-overlap")
		test_exec_checksum_overlap();

	igt_describe("One dynamic subtest per invalid EXEC member, each with "
		     "otherwise valid data: the exact errno, and no job runs "
		     "(the destination stays zero).");
	igt_subtest_with_dynamic("exec-invalid")
		test_exec_invalid();

	igt_describe("GEM_WAIT on an idle object returns 0 at once; on an "
		     "object with a held job it gives -ETIME (polling and with "
		     "a timeout) until the job is released; then it returns 0 "
		     "and the job's data is there.");
	igt_subtest("wait")
		test_wait();

	igt_describe("GEM_WAIT with an unknown handle gives -ENOENT, with "
		     "non-zero flags or pad -EINVAL.");
	igt_subtest("wait-invalid")
		test_wait_invalid();

	igt_describe("A held job runs by itself once hold_ms has passed; it "
		     "can then no longer be released (-ENOENT).");
	igt_subtest("hold-timeout")
		test_hold_timeout();

	igt_describe("GEM_WAIT with a negative timeout: 0 at once when idle, else no limit.");
	igt_subtest("wait-negative-timeout")
		test_wait_negative_timeout();

	igt_describe("A held job stops being held on time behind a busy engine.");
	igt_subtest("hold-timeout-busy")
		test_hold_timeout_busy();

	igt_describe("JOB_RELEASE of a job that is not held by this file gives "
		     "-ENOENT (never submitted, released twice, finished, "
		     "another file's); a non-zero pad gives -EINVAL and leaves "
		     "the job held.");
	igt_subtest_with_dynamic("job-release-invalid")
		test_job_release_invalid();

	igt_describe("FENCE_OUT returns a sync_file that polls readable once "
		     "the job is done, and not while it is held; the job's "
		     "data is visible once it signals. Without the flag "
		     "fence_fd is -1.");
	igt_subtest("fence-out")
		test_fence_out();

	igt_describe("FENCE_OUT with no free descriptor gives -EMFILE and queues nothing.");
	igt_subtest("fence-out-no-fd")
		test_fence_out_no_fd();

	igt_describe("Closing a file with a held job does not wait for "
		     "hold_ms: the job is released and every object freed.");
	igt_subtest("close-busy")
		test_close_busy();

	igt_fixture
		close(fd);

	igt_describe("An open file and a mapping (even after the file is "
		     "closed) keep vblit.ko loaded; once both are gone it "
		     "unloads, and reloads with the runner's options.");
	igt_subtest("unload")
		test_unload();
}
