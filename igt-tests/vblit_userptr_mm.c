// SPDX-License-Identifier: MIT
/*
 * Copyright (c) 2026 The drm-userptr authors
 */

/**
 * TEST: vblit userptr mm
 * Category: Core
 * Description: Every mm event that can move, drop, share, protect or reap
 *	the pages behind a userptr object, on the real kernel: madvise
 *	(DONTNEED, FREE, PAGEOUT through zram), page migration between NUMA
 *	nodes, THP collapse and split, KSM merging, userfaultfd
 *	write-protection, memfd truncation and hole punching, mremap, shared
 *	tmpfs files, mlock, automatic NUMA balancing, and the OOM reaper's
 *	non-blockable invalidation (through a memory cgroup and through the
 *	debugfs hook); and the retry budget: time a submission spends blocked
 *	is not time colliding with invalidations. Each subtest checks data
 *	both ways around the event: the device reads exactly what the CPU
 *	sees (or gets the documented errno), the CPU reads exactly what the
 *	device wrote, and no other process's memory changes. Runs unchanged
 *	with both backings.
 */

#include <dirent.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "igt.h"
#include "vblit.h"

IGT_TEST_DESCRIPTION("Userptr objects of the vblit virtual render driver under every mm event.");

#define PAGE		VBLIT_PAGE_SIZE
#define THP_SIZE	(2ul << 20)

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#define KSM_SYSFS	"/sys/kernel/mm/ksm/"

static int fd = -1;
static uint32_t backing;

static bool backing_pinned(void)
{
	return backing == VBLIT_USERPTR_BACKING_PINNED;
}

/* ---------------------------------------------------------------------- */
/* Memory                                                                 */

/* Private anonymous memory in 4 KiB pages (no THP surprise). */
static void *anon_pages(size_t size)
{
	void *ptr = vblit_mmap_anon(size);

	igt_assert_eq(madvise(ptr, size, MADV_NOHUGEPAGE), 0);
	return ptr;
}

/*
 * Anonymous memory between two PROT_NONE guard pages: a VMA of its own,
 * which no neighbouring mapping can merge with.
 */
static void *guarded_pages(size_t size)
{
	uint8_t *res = vblit_reserve(size + 2 * PAGE);

	igt_assert_eq(mprotect(res + PAGE, size, PROT_READ | PROT_WRITE), 0);
	igt_assert_eq(madvise(res + PAGE, size, MADV_NOHUGEPAGE), 0);
	return res + PAGE;
}

/* 2 MiB of anonymous memory aligned to 2 MiB; @huge: MADV_HUGEPAGE. */
static void *thp_region(bool huge)
{
	uint8_t *res = vblit_reserve(2 * THP_SIZE);
	uint8_t *ptr = (uint8_t *)(((uintptr_t)res + THP_SIZE - 1) & ~(THP_SIZE - 1));

	if (ptr > res)
		munmap(res, ptr - res);
	munmap(ptr + THP_SIZE, res + 2 * THP_SIZE - (ptr + THP_SIZE));
	igt_assert_eq(mprotect(ptr, THP_SIZE, PROT_READ | PROT_WRITE), 0);
	igt_assert_eq(madvise(ptr, THP_SIZE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE), 0);
	return ptr;
}

/* "AnonHugePages:" of the VMA holding @addr, in KiB. */
static long anon_huge_kb(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	bool inside = false;
	char line[512];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/smaps", "re");
	igt_assert(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long start, end;

		if (sscanf(line, "%lx-%lx ", &start, &end) == 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			inside = a >= start && a < end;
			continue;
		}
		if (inside && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

static size_t count_resident(const void *ptr, size_t size)
{
	unsigned char vec[size / PAGE];
	size_t n = 0;

	igt_assert_eq(mincore((void *)ptr, size, vec), 0);
	for (size_t i = 0; i < size / PAGE; i++)
		n += vec[i] & 1;
	return n;
}

/* Whether /proc/swaps lists an active swap device. */
static bool swap_available(void)
{
	char line[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "re");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		lines++;
	fclose(f);
	return lines > 1;
}

/* MADV_PAGEOUT until every page of an anonymous range is in swap. */
static unsigned int pageout_all(void *ptr, size_t size)
{
	unsigned int calls = 0;

	/*
	 * Pages the device wrote are dirty: reclaim starts their writeback
	 * and frees them on a later pass, so give writeback time between
	 * calls (the bound is generous for a loaded TCG guest). A page
	 * faulted in on another CPU may still sit in that CPU's LRU-add
	 * batch, where MADV_PAGEOUT cannot isolate it: drain every CPU's
	 * batches before the next call.
	 */
	while (calls < 40 && vblit_count_swapped(ptr, size) < size / PAGE) {
		igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);
		calls++;
		if (vblit_count_swapped(ptr, size) < size / PAGE) {
			vblit_lru_drain_all();
			usleep(50 * 1000);
		}
	}
	igt_assert_f(vblit_count_swapped(ptr, size) == size / PAGE,
		     "%zu of %zu pages in swap after %u MADV_PAGEOUT\n",
		     vblit_count_swapped(ptr, size), size / PAGE, calls);
	return calls;
}

/* Drop the pins of a used object through a real mm event, data unchanged. */
static void mprotect_round_trip(void *ptr, size_t size)
{
	igt_assert_eq(mprotect(ptr, size, PROT_READ), 0);
	igt_assert_eq(mprotect(ptr, size, PROT_READ | PROT_WRITE), 0);
}

/*
 * Swap out the memory of an object the device used last. Reclaim never
 * unmaps a maybe-DMA-pinned anonymous folio, so it never calls the
 * notifier that would drop the pins: with backing=pinned, MADV_PAGEOUT
 * alone swaps nothing, and the pages become swappable once another
 * invalidation (here an mprotect round trip) dropped the pins.
 */
static void swap_out(void *ptr, size_t size)
{
	if (backing_pinned()) {
		igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);
		igt_assert_f(vblit_count_swapped(ptr, size) == 0,
			     "%zu pinned pages swapped out\n",
			     vblit_count_swapped(ptr, size));
		mprotect_round_trip(ptr, size);
	}
	pageout_all(ptr, size);
}

/* ---------------------------------------------------------------------- */
/* Counters                                                               */

static int64_t stat_of(const char *key)
{
	return vblit_stat_require(key);
}

static void check_moved(const char *key, int64_t before, const char *what)
{
	int64_t now = stat_of(key);

	igt_assert_f(now > before, "%s: counter %s did not move (%" PRId64 ")\n",
		     what, key, now);
}

/* What a used object of @npages holds pinned in this backing. */
static int64_t pins_of(size_t npages)
{
	return backing_pinned() ? (int64_t)npages : 0;
}

/*
 * What it still holds right after an invalidation of all of it: nothing,
 * unless release=deferred keeps the pins until its next use.
 */
static int64_t pins_after_invalidation(size_t npages)
{
	return vblit_release_deferred() ? pins_of(npages) : 0;
}

/*
 * Why a subtest skips with release=deferred (the helper's DOC: Release
 * modes): it relies on an invalidation dropping the pins or waiting for
 * the device, which deferred release never does.
 */
#define RELEASE_PINNED_UNTIL_USE \
	"a used object's invalidated pages stay pinned until its next use, so reclaim, migration, THP collapse and KSM cannot take them (i915's model has the same limit)"
#define RELEASE_NEVER_WAITS_FORK \
	"the stall comes from fork's invalidation waiting for a held job, which never waits"
#define RELEASE_NEVER_WAITS_OOM \
	"the victim is held in an invalidation waiting for a held job, which never waits; nonblock-busy covers the reaper's kind of invalidation"

/* ---------------------------------------------------------------------- */
/* Data both ways                                                         */

/*
 * Before an event: the device reads the CPU's pattern @seed, then writes
 * @seed + 1, which the CPU reads. The memory holds @seed + 1 afterwards,
 * and the object's pages are acquired (pinned with backing=pinned).
 */
static void use_before(uint32_t handle, void *ptr, size_t size, uint32_t seed)
{
	vblit_pattern_write(ptr, size, seed);
	vblit_device_check_pattern(fd, handle, size, seed,
				   "device read before the event");
	vblit_device_write_pattern(fd, handle, size, seed + 1);
	vblit_pattern_check(ptr, size, seed + 1, "CPU read of the device's write before the event");
}

/*
 * After an event: the device reads exactly what the CPU sees now, the CPU
 * reads what the device writes (@seed), and the device reads what the CPU
 * writes (@seed + 1).
 */
static void check_both_ways(uint32_t handle, void *ptr, size_t size,
			    uint32_t seed, const char *event)
{
	uint8_t *snap = malloc(size);
	char what[160];

	igt_assert(snap);
	memcpy(snap, ptr, size);
	snprintf(what, sizeof(what), "%s: device read of what the CPU sees", event);
	vblit_device_check_mem(fd, handle, snap, size, what);
	free(snap);

	vblit_device_write_pattern(fd, handle, size, seed);
	snprintf(what, sizeof(what), "%s: CPU read of the device's write", event);
	vblit_pattern_check(ptr, size, seed, what);

	vblit_pattern_write(ptr, size, seed + 1);
	snprintf(what, sizeof(what), "%s: device read of the CPU's write", event);
	vblit_device_check_pattern(fd, handle, size, seed + 1, what);
}

/* Pattern @seed with the pages in [@first, @first + @count) zero. */
static void *pattern_with_hole(size_t size, uint32_t seed, size_t first,
			       size_t count)
{
	uint8_t *buf = malloc(size);

	igt_assert(buf);
	vblit_pattern_write(buf, size, seed);
	memset(buf + first * PAGE, 0, count * PAGE);
	return buf;
}

/* ---------------------------------------------------------------------- */
/* madvise                                                                */

static void test_madv_dontneed(void)
{
	const size_t size = 16 * PAGE;
	void *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t pins = vblit_stat_pinned_pages(), inv;

	use_before(handle, ptr, size, 0x1000);
	vblit_check_pinned(pins + pins_of(16), "after use");

	inv = stat_of("invalidations");
	igt_assert_eq(madvise(ptr, size, MADV_DONTNEED), 0);
	check_moved("invalidations", inv, "MADV_DONTNEED");
	vblit_check_pinned(pins + pins_after_invalidation(16), "after MADV_DONTNEED");

	/* The device first: it must not read the pages it had. */
	vblit_device_check_value(fd, handle, size, 0, "device read after MADV_DONTNEED");
	vblit_value_check(ptr, size, 0, "CPU read after MADV_DONTNEED");
	check_both_ways(handle, ptr, size, 0x1010, "MADV_DONTNEED");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_madv_free(void)
{
	const size_t size = 16 * PAGE, half = size / 2;
	uint8_t *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint8_t *buf = malloc(size), *old = malloc(size);
	size_t zeroed = 0;
	int64_t inv;

	igt_assert(buf && old);
	use_before(handle, ptr, size, 0x1100);
	memcpy(old, ptr, size);

	inv = stat_of("invalidations");
	igt_assert_eq(madvise(ptr, size, MADV_FREE), 0);
	check_moved("invalidations", inv, "MADV_FREE");

	vblit_pattern_write(buf, half, 0x1102);
	vblit_device_write(fd, handle, 0, buf, half);
	igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);

	vblit_mem_check(ptr, buf, half, "device write after MADV_FREE, then MADV_PAGEOUT");
	for (size_t p = half / PAGE; p < size / PAGE; p++) {
		const uint8_t *page = ptr + p * PAGE;
		bool zero = true;

		for (size_t i = 0; i < PAGE; i++)
			zero &= page[i] == 0;
		zeroed += zero;
		igt_assert_f(zero || !memcmp(page, old + p * PAGE, PAGE),
			     "page %zu after MADV_FREE is neither its old data nor zero\n", p);
	}
	igt_info("MADV_FREE + MADV_PAGEOUT: %zu of %zu pages the device did not write were discarded\n",
		 zeroed, (size - half) / PAGE);

	check_both_ways(handle, ptr, size, 0x1110, "MADV_FREE");

	free(buf);
	free(old);
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_madv_pageout(void)
{
	const size_t size = 16 * PAGE;
	void *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t pins = vblit_stat_pinned_pages(), inv;
	unsigned int calls;
	volatile uint32_t sink = 0;

	igt_require_f(swap_available(), "no swap device active (/proc/swaps)\n");

	use_before(handle, ptr, size, 0x1200);
	vblit_check_pinned(pins + pins_of(16), "after use");

	if (backing_pinned()) {
		/* Reclaim skips pinned pages, and so never drops the pins. */
		inv = stat_of("invalidations");
		igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);
		igt_assert_eq(vblit_count_swapped(ptr, size), 0);
		igt_assert_eq_s64(stat_of("invalidations"), inv);
		vblit_check_pinned(pins + pins_of(16), "pinned pages after MADV_PAGEOUT");
		mprotect_round_trip(ptr, size);
		vblit_check_pinned(pins, "after an invalidation");
	}
	inv = stat_of("invalidations");
	calls = pageout_all(ptr, size);
	igt_info("all pages swapped after %u MADV_PAGEOUT\n", calls);
	check_moved("invalidations", inv, "MADV_PAGEOUT");
	vblit_check_pinned(pins, "pages in swap");

	/* The device swaps the pages in, before the CPU touches them. */
	vblit_device_check_pattern(fd, handle, size, 0x1201, "device read after swap-out");
	igt_assert_eq(vblit_count_swapped(ptr, size), 0);
	vblit_pattern_check(ptr, size, 0x1201, "CPU read after the device swap-in");

	/* A device write, then out and back in through the CPU. */
	vblit_device_write_pattern(fd, handle, size, 0x1202);
	swap_out(ptr, size);
	vblit_pattern_check(ptr, size, 0x1202, "CPU read of a device write after swap-out");

	/* Pages the CPU swapped in by reading, written by the device, out again. */
	pageout_all(ptr, size);
	for (size_t i = 0; i < size; i += PAGE)
		sink += ((volatile uint32_t *)ptr)[i / 4];
	vblit_device_write_pattern(fd, handle, size, 0x1203);
	swap_out(ptr, size);
	vblit_device_check_pattern(fd, handle, size, 0x1203,
				   "device read of its write after read swap-in and swap-out");
	vblit_pattern_check(ptr, size, 0x1203, "CPU read of the same");

	check_both_ways(handle, ptr, size, 0x1210, "MADV_PAGEOUT");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
	(void)sink;
}

/* ---------------------------------------------------------------------- */
/* Migration, THP                                                         */

static void test_move_pages(void)
{
	const size_t n = 16, size = n * PAGE;
	uint8_t *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t pins = vblit_stat_pinned_pages(), inv;
	void *pages[16];
	int nodes[16], status[16], tries = 0;
	long ret;

	igt_require_f(vblit_numa_nodes() >= 2,
		      "one NUMA node: the guest needs -numa with two nodes\n");

	use_before(handle, ptr, size, 0x1300);
	vblit_check_pinned(pins + pins_of(n), "after use");

	for (size_t i = 0; i < n; i++) {
		int node = vblit_page_node(ptr + i * PAGE);

		igt_assert_f(node >= 0, "page %zu: node query gave %d\n", i, node);
		pages[i] = ptr + i * PAGE;
		nodes[i] = node == 0 ? 1 : 0;
	}

	inv = stat_of("invalidations");
	do {
		ret = syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
		igt_assert_f(ret >= 0, "move_pages: %m\n");
	} while (ret > 0 && ++tries < 5);
	igt_assert_f(ret == 0, "move_pages left %ld pages behind after %d tries\n",
		     ret, tries + 1);
	for (size_t i = 0; i < n; i++)
		igt_assert_f(vblit_page_node(ptr + i * PAGE) == nodes[i],
			     "page %zu is on node %d, not on node %d\n",
			     i, vblit_page_node(ptr + i * PAGE), nodes[i]);
	check_moved("invalidations", inv, "move_pages");
	vblit_check_pinned(pins, "after migration");

	vblit_device_check_pattern(fd, handle, size, 0x1301, "device read after migration");
	vblit_pattern_check(ptr, size, 0x1301, "CPU read after migration");
	check_both_ways(handle, ptr, size, 0x1310, "move_pages");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_thp_collapse(void)
{
	uint8_t *ptr = thp_region(false);
	uint32_t handle;
	int64_t inv;
	int ret = -1, tries;

	vblit_pattern_write(ptr, THP_SIZE, 0x1400);
	igt_assert_eq(anon_huge_kb(ptr), 0);
	handle = vblit_gem_userptr(fd, ptr, THP_SIZE, 0);
	use_before(handle, ptr, THP_SIZE, 0x1400);

	/*
	 * Before MADV_HUGEPAGE: khugepaged may collapse the range as soon as
	 * it is eligible, and MADV_COLLAPSE of a huge range then does nothing.
	 */
	inv = stat_of("invalidations");
	igt_assert_eq(madvise(ptr, THP_SIZE, MADV_HUGEPAGE), 0);
	for (tries = 0; tries < 4; tries++) {
		ret = madvise(ptr, THP_SIZE, MADV_COLLAPSE);
		if (!ret)
			break;
		igt_require_f(errno != EINVAL,
			      "MADV_COLLAPSE not supported by this kernel\n");
		igt_info("MADV_COLLAPSE try %d: %m (%s backing)\n", tries,
			 backing_pinned() ? "pinned" : "unpinned");
		/* Pinned pages are never collapsed: drop the pins. */
		mprotect_round_trip(ptr, THP_SIZE);
		usleep(50 * 1000);
	}
	igt_assert_f(ret == 0, "MADV_COLLAPSE failed %d times: %m\n", tries);
	igt_assert_eq(anon_huge_kb(ptr), THP_SIZE >> 10);
	check_moved("invalidations", inv, "MADV_COLLAPSE");

	vblit_device_check_pattern(fd, handle, THP_SIZE, 0x1401, "device read after collapse");
	vblit_pattern_check(ptr, THP_SIZE, 0x1401, "CPU read after collapse");
	check_both_ways(handle, ptr, THP_SIZE, 0x1410, "MADV_COLLAPSE");
	igt_info("after device use: AnonHugePages %ld kB, first page flags %#" PRIx64 "\n",
		 anon_huge_kb(ptr), vblit_kpageflags(ptr));

	vblit_gem_close(fd, handle);
	munmap(ptr, THP_SIZE);
	vblit_assert_no_leaks();
}

/* Fault in a huge page at @ptr (or collapse one); assert it is there. */
static void thp_populate(uint8_t *ptr, uint32_t seed)
{
	vblit_pattern_write(ptr, THP_SIZE, seed);
	if (anon_huge_kb(ptr) != (long)(THP_SIZE >> 10))
		madvise(ptr, THP_SIZE, MADV_COLLAPSE);
	igt_require_f(anon_huge_kb(ptr) == (long)(THP_SIZE >> 10),
		      "no huge page for an aligned MADV_HUGEPAGE range (THP disabled?)\n");
}

static void test_thp_split(void)
{
	uint8_t *ptr = thp_region(true);
	struct vblit_bo bo = vblit_bo_create(fd, PAGE);
	uint32_t handle, ro;
	uint8_t *expected;
	int64_t inv;

	thp_populate(ptr, 0x1500);
	handle = vblit_gem_userptr(fd, ptr, THP_SIZE, 0);
	ro = vblit_gem_userptr(fd, ptr, THP_SIZE, VBLIT_USERPTR_READ_ONLY);
	use_before(handle, ptr, THP_SIZE, 0x1500);
	igt_assert_eq(anon_huge_kb(ptr), THP_SIZE >> 10);

	inv = stat_of("invalidations");
	igt_assert_eq(mprotect(ptr + 100 * PAGE, PAGE, PROT_READ), 0);
	check_moved("invalidations", inv, "mprotect of one page of a huge page");
	igt_assert_eq(anon_huge_kb(ptr), 0);

	vblit_check_jobs_fail(fd, handle, &bo, -EFAULT, "writable object over a read-only page");
	vblit_device_check_pattern(fd, ro, THP_SIZE, 0x1501, "READ_ONLY object after the split");
	vblit_pattern_check(ptr, THP_SIZE, 0x1501, "CPU read after the split");

	igt_assert_eq(mprotect(ptr + 100 * PAGE, PAGE, PROT_READ | PROT_WRITE), 0);
	vblit_device_check_pattern(fd, handle, THP_SIZE, 0x1501, "device read, read-write again");

	inv = stat_of("invalidations");
	igt_assert_eq(madvise(ptr + 200 * PAGE, PAGE, MADV_DONTNEED), 0);
	check_moved("invalidations", inv, "MADV_DONTNEED of one small page");
	expected = pattern_with_hole(THP_SIZE, 0x1501, 200, 1);
	vblit_device_check_mem(fd, handle, expected, THP_SIZE,
			       "device read after a partial unmap");
	vblit_device_check_mem(fd, ro, expected, THP_SIZE,
			       "READ_ONLY object after a partial unmap");
	vblit_mem_check(ptr, expected, THP_SIZE, "CPU read after a partial unmap");
	free(expected);

	check_both_ways(handle, ptr, THP_SIZE, 0x1510, "THP split");
	vblit_device_check_pattern(fd, ro, THP_SIZE, 0x1511, "READ_ONLY object at the end");

	vblit_gem_close(fd, ro);
	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &bo);
	munmap(ptr, THP_SIZE);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* KSM                                                                    */

/* Pipe protocol between the KSM test and its witness child. */
enum ksm_cmd { KSM_CMD_PFNS = 'p', KSM_CMD_CHECK = 'c', KSM_CMD_EXIT = 'x' };

static void ksm_witness(int cmd, int reply, size_t n, uint32_t seed)
{
	uint8_t *mine = anon_pages(n * PAGE);
	char c;

	vblit_pattern_write(mine, n * PAGE, seed);
	igt_assert_eq(madvise(mine, n * PAGE, MADV_MERGEABLE), 0);
	while (read(cmd, &c, 1) == 1 && c != KSM_CMD_EXIT) {
		uint64_t pfns[n];

		if (c == KSM_CMD_CHECK)
			vblit_pattern_check(mine, n * PAGE, seed,
					    "witness process's memory");
		for (size_t i = 0; i < n; i++)
			pfns[i] = vblit_page_pfn(mine + i * PAGE);
		igt_assert_eq(write(reply, pfns, sizeof(pfns)), (ssize_t)sizeof(pfns));
	}
}

static void ksm_ask(int cmd, int reply, char c, uint64_t *pfns, size_t n)
{
	igt_assert_eq(write(cmd, &c, 1), 1);
	igt_assert_eq(read(reply, pfns, n * sizeof(*pfns)), (ssize_t)(n * sizeof(*pfns)));
}

static void test_ksm_merge(void)
{
	const size_t n = 16, size = n * PAGE;
	uint8_t *ptr = anon_pages(size);
	uint64_t theirs[16], merged_pfn[16];
	int cmd[2], reply[2];
	struct timespec start;
	uint32_t handle, ro;
	bool merged = false;
	int64_t inv, scans;

	vblit_ksm_start();
	vblit_pattern_write(ptr, PAGE, 1);
	igt_require_f(vblit_page_pfn(ptr),
		      "PFNs not readable in /proc/self/pagemap (needs CAP_SYS_ADMIN)\n");

	handle = vblit_gem_userptr(fd, ptr, size, 0);
	use_before(handle, ptr, size, 0x15ff);	/* leaves 0x1600 */
	igt_assert_eq(pipe(cmd), 0);
	igt_assert_eq(pipe(reply), 0);
	igt_fork(child, 1) {
		close(cmd[1]);
		close(reply[0]);
		ksm_witness(cmd[0], reply[1], n, 0x1600);
	}
	close(cmd[0]);
	close(reply[1]);

	inv = stat_of("invalidations");
	igt_assert_eq(madvise(ptr, size, MADV_MERGEABLE), 0);
	/* The witness answers once its copy is mergeable. */
	ksm_ask(cmd[1], reply[0], KSM_CMD_PFNS, theirs, n);
	clock_gettime(CLOCK_MONOTONIC, &start);
	scans = vblit_file_read_int(KSM_SYSFS "full_scans");
	/*
	 * ksmd merges a page within two full scans once both copies are
	 * mergeable; a loaded host can starve it, so the deadline is 15 s and
	 * at least four full scans (at most 60 s).
	 */
	while (!merged && vblit_elapsed_ms(&start) < 60000 &&
	       (vblit_elapsed_ms(&start) < 15000 ||
		vblit_file_read_int(KSM_SYSFS "full_scans") < scans + 4)) {
		usleep(50 * 1000);
		ksm_ask(cmd[1], reply[0], KSM_CMD_PFNS, theirs, n);
		merged = true;
		for (size_t i = 0; i < n; i++)
			merged &= vblit_page_pfn(ptr + i * PAGE) == theirs[i] &&
				  (vblit_kpageflags(ptr + i * PAGE) >> VBLIT_KPF_KSM & 1);
	}
	igt_assert_f(merged, "ksmd did not merge the %zu pages in %.0f ms (%" PRId64 " full scans; pages_sharing %" PRId64 ", pages_unshared %" PRId64 ", pages_volatile %" PRId64 ", pages_skipped %" PRId64 ")\n",
		     n, vblit_elapsed_ms(&start),
		     vblit_file_read_int(KSM_SYSFS "full_scans") - scans,
		     vblit_file_read_int(KSM_SYSFS "pages_sharing"),
		     vblit_file_read_int(KSM_SYSFS "pages_unshared"),
		     vblit_file_read_int(KSM_SYSFS "pages_volatile"),
		     vblit_file_read_int(KSM_SYSFS "pages_skipped"));
	igt_info("merged after %.0f ms\n", vblit_elapsed_ms(&start));
	check_moved("invalidations", inv, "KSM merge");
	memcpy(merged_pfn, theirs, sizeof(merged_pfn));

	ro = vblit_gem_userptr(fd, ptr, size, VBLIT_USERPTR_READ_ONLY);
	vblit_device_check_pattern(fd, ro, size, 0x1600, "READ_ONLY object over merged pages");
	vblit_gem_close(fd, ro);

	vblit_device_write_pattern(fd, handle, size, 0x1601);
	vblit_pattern_check(ptr, size, 0x1601, "parent after a device write over merged pages");
	ksm_ask(cmd[1], reply[0], KSM_CMD_CHECK, theirs, n);
	for (size_t i = 0; i < n; i++)
		igt_assert_f(vblit_page_pfn(ptr + i * PAGE) != theirs[i],
			     "page %zu: still shared with the witness after a device write\n", i);

	check_both_ways(handle, ptr, size, 0x1610, "KSM merge");
	ksm_ask(cmd[1], reply[0], KSM_CMD_CHECK, theirs, n);
	igt_info("witness pages %s still the merged ones\n",
		 !memcmp(theirs, merged_pfn, sizeof(theirs)) ? "are" : "are no longer");

	igt_assert_eq(write(cmd[1], (char[]){ KSM_CMD_EXIT }, 1), 1);
	igt_waitchildren();
	close(cmd[1]);
	close(reply[0]);
	vblit_ksm_stop();

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* userfaultfd                                                            */

struct uffd_monitor {
	int uffd;
	uint8_t *base;
	size_t size;
	atomic_bool stop;
	/* Per page: write-protect faults seen, and the page as it was then. */
	unsigned int faults[16];
	uint8_t *snap;
	int err;
};

static int uffd_wp(int uffd, void *addr, size_t len, bool protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp) ? -errno : 0;
}

/*
 * The snapshotting monitor: on a write-protect fault, save the page as it
 * is (the write has not happened yet), then let the write through.
 */
static void *uffd_monitor_thread(void *data)
{
	struct uffd_monitor *m = data;

	while (!atomic_load(&m->stop)) {
		struct pollfd pfd = { .fd = m->uffd, .events = POLLIN };
		struct uffd_msg msg;
		size_t page;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		if (read(m->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    !(msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP)) {
			m->err = -EPROTO;
			break;
		}
		page = (msg.arg.pagefault.address - (uintptr_t)m->base) / PAGE;
		if (page >= m->size / PAGE) {
			m->err = -ERANGE;
			break;
		}
		if (!m->faults[page]++)
			memcpy(m->snap + page * PAGE, m->base + page * PAGE, PAGE);
		m->err = uffd_wp(m->uffd, m->base + page * PAGE, PAGE, false);
		if (m->err)
			break;
	}
	return NULL;
}

/* A userfaultfd that can write-protect anonymous memory, or a skip. */
static int uffd_open_wp(void)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
	};
	int uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	igt_require_f(uffd >= 0, "userfaultfd(): %m\n");
	igt_require_f(ioctl(uffd, UFFDIO_API, &api) == 0 &&
		      (api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP),
		      "userfaultfd without write-protection of anonymous memory\n");
	return uffd;
}

/* Register [base, base + size) for write-protection; @reg unregisters it. */
static void uffd_register_wp(int uffd, void *base, size_t size,
			     struct uffdio_register *reg)
{
	*reg = (struct uffdio_register){
		.range = { .start = (uintptr_t)base, .len = size },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	igt_assert_f(ioctl(uffd, UFFDIO_REGISTER, reg) == 0,
		     "UFFDIO_REGISTER(WP): %m\n");
}

static void test_uffd_wp_unpopulated(void)
{
	const size_t n = 16, size = n * PAGE;
	uint8_t *base = anon_pages(size);
	struct uffdio_register reg;
	uint32_t handle, ro;
	int uffd = uffd_open_wp();

	uffd_register_wp(uffd, base, size, &reg);

	/* The second half is present and writable, the first never touched. */
	vblit_pattern_write(base + size / 2, size / 2, 0x1720);
	for (size_t i = 0; i < n / 2; i++)
		igt_assert_f(!(vblit_pagemap(base + i * PAGE) & VBLIT_PM_PRESENT),
			     "page %zu present before any use\n", i);

	ro = vblit_gem_userptr(fd, base, size / 2, VBLIT_USERPTR_READ_ONLY);
	vblit_device_check_value(fd, ro, size / 2, 0, "READ_ONLY object over untouched pages");

	handle = vblit_gem_userptr(fd, base, size, 0);
	vblit_device_write_pattern(fd, handle, size, 0x1721);
	vblit_pattern_check(base, size, 0x1721, "CPU read of the device's write");
	vblit_device_check_pattern(fd, handle, size, 0x1721, "device read of its write");

	igt_assert_eq(ioctl(uffd, UFFDIO_UNREGISTER, &reg.range), 0);
	close(uffd);
	vblit_gem_close(fd, ro);
	vblit_gem_close(fd, handle);
	munmap(base, size);
	vblit_assert_no_leaks();
}

static void test_uffd_wp(void)
{
	const size_t n = 16, size = n * PAGE;
	struct uffd_monitor m = { .size = size };
	struct uffdio_register reg;
	uint8_t *buf = malloc(size);
	uint32_t handle, ro;
	pthread_t thread;
	int64_t inv;
	int err;

	igt_assert(buf);
	m.snap = calloc(1, size);
	m.base = anon_pages(size);
	m.uffd = uffd_open_wp();

	handle = vblit_gem_userptr(fd, m.base, size, 0);
	ro = vblit_gem_userptr(fd, m.base, size, VBLIT_USERPTR_READ_ONLY);
	use_before(handle, m.base, size, 0x1700);	/* leaves 0x1701 */

	uffd_register_wp(m.uffd, m.base, size, &reg);
	inv = stat_of("invalidations");
	igt_assert_eq(uffd_wp(m.uffd, m.base, size, true), 0);
	check_moved("invalidations", inv, "UFFDIO_WRITEPROTECT");
	igt_assert_eq(pthread_create(&thread, NULL, uffd_monitor_thread, &m), 0);

	vblit_device_check_pattern(fd, ro, size, 0x1701, "READ_ONLY object under write-protection");

	vblit_pattern_write(buf, size, 0x1702);
	err = __vblit_device_write(fd, handle, 0, buf, size);
	igt_info("device write under write-protection: %d (%s backing)\n", err,
		 backing_pinned() ? "pinned" : "unpinned");
	igt_assert_f(err == 0 || (err == -EFAULT && backing_pinned()),
		     "device write under write-protection gave %d\n", err);
	if (!err) {
		/* The acquisition waited for the monitor. */
		for (size_t i = 0; i < n; i++)
			igt_assert_f(m.faults[i] > 0,
				     "page %zu written by the device without a write-protect fault\n", i);
		vblit_pattern_check(m.snap, size, 0x1701,
				    "monitor's snapshots taken at the faults");
		vblit_pattern_check(m.base, size, 0x1702, "CPU read of the device's write");
	} else {
		/*
		 * 6.1's pin_user_pages_fast() longterm fallback: no fault
		 * retry, so no wait for the monitor.
		 */
		for (size_t i = 0; i < n; i++)
			igt_assert_f(!m.faults[i], "page %zu: a fault reached the monitor, yet -EFAULT\n", i);
		vblit_pattern_check(m.base, size, 0x1701, "memory after the refused write");
		igt_assert_eq(uffd_wp(m.uffd, m.base, size, false), 0);
	}
	atomic_store(&m.stop, true);
	pthread_join(thread, NULL);
	igt_assert_eq(m.err, 0);

	check_both_ways(handle, m.base, size, 0x1710, "userfaultfd write-protection");

	igt_assert_eq(ioctl(m.uffd, UFFDIO_UNREGISTER, &reg.range), 0);
	close(m.uffd);
	vblit_gem_close(fd, ro);
	vblit_gem_close(fd, handle);
	munmap(m.base, size);
	free(m.snap);
	free(buf);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* The retry budget: time blocked is not time colliding                   */

static void sleep_ms(unsigned int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000l };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/*
 * Longer than the retry budget, however the module was loaded: 3 s, or
 * three budgets.
 */
static unsigned int slow_monitor_delay_ms(void)
{
	uint64_t bound = vblit_getparam(fd, VBLIT_PARAM_RETRY_TIMEOUT_MS);

	return bound * 3 > 3000 ? bound * 3 : 3000;
}

/*
 * A userfaultfd monitor that answers late: it reads a missing-page fault
 * of @page, waits @delay_ms, then resolves it with UFFDIO_COPY of @data.
 * Raw calls only: it also runs in a child that IGT does not manage.
 */
struct slow_monitor {
	int uffd;
	uint8_t *page;
	uint8_t *data;
	unsigned int delay_ms;
	int ready;		/* a byte is written here at each fault, or -1 */
	atomic_bool stop;
	atomic_uint faults;
	atomic_uint resolved;
	int err;
	pthread_t thread;
};

static void *slow_monitor_thread(void *arg)
{
	struct slow_monitor *m = arg;

	while (!atomic_load(&m->stop)) {
		struct pollfd pfd = { .fd = m->uffd, .events = POLLIN };
		struct uffdio_copy copy = {
			.dst = (uintptr_t)m->page,
			.src = (uintptr_t)m->data,
			.len = PAGE,
		};
		struct uffd_msg msg;

		if (poll(&pfd, 1, 20) <= 0 ||
		    read(m->uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT ||
		    (msg.arg.pagefault.address & VBLIT_PAGE_MASK) != (uintptr_t)m->page) {
			m->err = -EPROTO;
			break;
		}
		atomic_fetch_add(&m->faults, 1);
		if (m->ready >= 0 && write(m->ready, "f", 1) != 1) {
			m->err = -EPIPE;
			break;
		}
		sleep_ms(m->delay_ms);
		/* A second fault of the page meanwhile finds it present. */
		if (ioctl(m->uffd, UFFDIO_COPY, &copy) && errno != EEXIST) {
			m->err = -errno;
			break;
		}
		atomic_fetch_add(&m->resolved, 1);
	}
	return NULL;
}

/*
 * One never-touched anonymous page registered for missing-page faults,
 * and its monitor running. 0, or a negative step number for the child of
 * the kill subtest.
 */
static int __slow_monitor_start(struct slow_monitor *m, unsigned int delay_ms,
				int ready)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };

	memset(m, 0, sizeof(*m));
	m->delay_ms = delay_ms;
	m->ready = ready;
	m->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m->data = malloc(PAGE);
	if (m->page == MAP_FAILED || !m->data)
		return -1;
	for (size_t i = 0; i < PAGE / 4; i++)
		((uint32_t *)m->data)[i] = 0x5eed0000u + i * 0x9e3779b9u;
	m->uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (m->uffd < 0)
		return -2;
	if (ioctl(m->uffd, UFFDIO_API, &api))
		return -3;
	reg.range.start = (uintptr_t)m->page;
	reg.range.len = PAGE;
	if (ioctl(m->uffd, UFFDIO_REGISTER, &reg))
		return -4;
	if (pthread_create(&m->thread, NULL, slow_monitor_thread, m))
		return -5;
	return 0;
}

static void slow_monitor_start(struct slow_monitor *m, unsigned int delay_ms)
{
	int err = __slow_monitor_start(m, delay_ms, -1);

	igt_require_f(err != -2, "userfaultfd(): %m\n");
	igt_assert_f(!err, "userfaultfd monitor set-up, step %d: %m\n", -err);
}

/* Wait until the monitor answered every fault it read, then stop it. */
static void slow_monitor_stop(struct slow_monitor *m)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (atomic_load(&m->resolved) < atomic_load(&m->faults) && !m->err &&
	       vblit_elapsed_ms(&start) < m->delay_ms + 5000)
		usleep(10 * 1000);
	atomic_store(&m->stop, true);
	pthread_join(m->thread, NULL);
	igt_assert_eq(m->err, 0);
	close(m->uffd);
}

/* After slow_monitor_stop(), with every object over the page closed. */
static void slow_monitor_fini(struct slow_monitor *m)
{
	munmap(m->page, PAGE);
	free(m->data);
}

/* One CHECKSUM job, one raw ioctl: EINTR is returned, not retried. */
static int checksum_raw(int dev, uint32_t dst, uint32_t src)
{
	struct drm_vblit_exec exec;

	vblit_exec_init(&exec, VBLIT_OP_CHECKSUM, dst, 0, src, 0, PAGE);
	return ioctl(dev, DRM_IOCTL_VBLIT_EXEC, &exec) ? -errno : 0;
}

/*
 * 6.1's pin_user_pages_fast() falls back to long-term pinning that cannot
 * retry a fault: the fault fails at once, the monitor is never asked.
 */
static bool uffd_refused(int err, struct slow_monitor *m)
{
	if (err != -EFAULT || !backing_pinned())
		return false;
	igt_assert_f(!atomic_load(&m->faults),
		     "-EFAULT, yet the fault reached the monitor\n");
	igt_info("backing=pinned: -EFAULT without asking the monitor (6.1's long-term pinning)\n");
	return true;
}

static void test_uffd_slow_monitor(void)
{
	struct vblit_bo bo = vblit_bo_create(fd, PAGE);
	unsigned int delay = slow_monitor_delay_ms();
	int64_t ebusy = stat_of("ebusy");
	struct slow_monitor m;
	struct timespec start;
	uint32_t handle;
	double ms;
	int err;

	slow_monitor_start(&m, delay);
	handle = vblit_gem_userptr(fd, m.page, PAGE, 0);

	clock_gettime(CLOCK_MONOTONIC, &start);
	err = __vblit_checksum(fd, bo.handle, 0, handle, 0, PAGE);
	ms = vblit_elapsed_ms(&start);
	igt_info("CHECKSUM with a %u ms monitor: %d after %.0f ms (%s backing)\n",
		 delay, err, ms, backing_pinned() ? "pinned" : "unpinned");
	if (!uffd_refused(err, &m)) {
		igt_assert_f(err == 0, "CHECKSUM under a slow monitor gave %d after %.0f ms\n",
			     err, ms);
		igt_assert_eq(atomic_load(&m.faults), 1);
		igt_assert_f(ms >= delay - 100, "returned after %.0f ms, before the monitor answered\n",
			     ms);
		vblit_gem_wait(fd, bo.handle);
		igt_assert_eq_u64(*(uint64_t *)bo.map, vblit_fnv1a64(m.data, PAGE));
		vblit_mem_check(m.page, m.data, PAGE, "CPU read of the monitor's page");
	}
	igt_assert_eq_s64(stat_of("ebusy"), ebusy);

	slow_monitor_stop(&m);
	vblit_gem_close(fd, handle);
	slow_monitor_fini(&m);
	vblit_bo_destroy(fd, &bo);
	vblit_assert_no_leaks();
}

static void sigusr1_noop(int sig)
{
	(void)sig;
}

struct signaller {
	pthread_t target;
	unsigned int after_ms;
};

static void *signaller_thread(void *arg)
{
	struct signaller *s = arg;

	sleep_ms(s->after_ms);
	pthread_kill(s->target, SIGUSR1);
	return NULL;
}

static void test_uffd_slow_monitor_signal(void)
{
	struct sigaction sa = { .sa_handler = sigusr1_noop }, old;
	struct vblit_bo bo = vblit_bo_create(fd, PAGE);
	struct signaller s = { .target = pthread_self(), .after_ms = 300 };
	int64_t submitted;
	struct slow_monitor m;
	struct timespec start;
	pthread_t thread;
	uint32_t handle;
	double ms;
	int err;

	sigemptyset(&sa.sa_mask);
	igt_assert_eq(sigaction(SIGUSR1, &sa, &old), 0);
	slow_monitor_start(&m, slow_monitor_delay_ms());
	handle = vblit_gem_userptr(fd, m.page, PAGE, 0);
	memset(bo.map, 0xa5, PAGE);
	submitted = stat_of("jobs_submitted");

	igt_assert_eq(pthread_create(&thread, NULL, signaller_thread, &s), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	err = checksum_raw(fd, bo.handle, handle);
	ms = vblit_elapsed_ms(&start);
	pthread_join(thread, NULL);
	igt_info("CHECKSUM, SIGUSR1 at %u ms, monitor at %u ms: %d after %.0f ms (%s backing)\n",
		 s.after_ms, m.delay_ms, err, ms, backing_pinned() ? "pinned" : "unpinned");
	if (!uffd_refused(err, &m)) {
		igt_assert_f(err == -EINTR, "signal during the monitor's wait gave %d after %.0f ms\n",
			     err, ms);
		igt_assert_f(ms < s.after_ms + 1000, "-EINTR only after %.0f ms\n", ms);
		igt_assert_eq_s64(stat_of("jobs_submitted"), submitted);
		vblit_gem_wait(fd, bo.handle);
		vblit_value_check(bo.map, PAGE, 0xa5a5a5a5, "destination of the interrupted job");

		/* The monitor answers; the object works as if nothing happened. */
		slow_monitor_stop(&m);
		vblit_checksum(fd, bo.handle, 0, handle, 0, PAGE);
		igt_assert_eq_u64(*(uint64_t *)bo.map, vblit_fnv1a64(m.data, PAGE));
	} else {
		slow_monitor_stop(&m);
	}

	igt_assert_eq(sigaction(SIGUSR1, &old, NULL), 0);
	vblit_gem_close(fd, handle);
	slow_monitor_fini(&m);
	vblit_bo_destroy(fd, &bo);
	vblit_assert_no_leaks();
}

/* Exit codes of the kill subtest's child. */
enum { KILL_CHILD_DONE = 20, KILL_CHILD_EFAULT = 21, KILL_CHILD_ERR = 22 };

/* A CHECKSUM waiting for a monitor that answers after a minute. */
static __noreturn void kill_child(int ready)
{
	struct slow_monitor m;
	uint32_t handle, bo;
	int cfd, err;

	cfd = __vblit_open();
	if (cfd < 0 || __slow_monitor_start(&m, 60000, ready) ||
	    __vblit_gem_userptr(cfd, m.page, PAGE, 0, &handle) ||
	    __vblit_gem_create(cfd, PAGE, &bo))
		_exit(KILL_CHILD_ERR);
	err = checksum_raw(cfd, bo, handle);
	_exit(err == -EFAULT ? KILL_CHILD_EFAULT : err ? KILL_CHILD_ERR : KILL_CHILD_DONE);
}

static void test_uffd_slow_monitor_kill(void)
{
	struct pollfd pfd = { .events = POLLIN };
	struct timespec start;
	int ready[2], status;
	double ms;
	pid_t pid;
	char c;

	igt_assert_eq(pipe(ready), 0);
	pid = fork();
	igt_assert(pid >= 0);
	if (!pid) {
		close(ready[0]);
		kill_child(ready[1]);
	}
	close(ready[1]);
	pfd.fd = ready[0];
	igt_assert_f(poll(&pfd, 1, 10000) == 1, "child: no fault within 10 s\n");
	if (read(ready[0], &c, 1) != 1) {
		/* No fault: the child finished on its own. */
		igt_assert_eq(waitpid(pid, &status, 0), pid);
		igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == KILL_CHILD_EFAULT &&
			     backing_pinned(),
			     "child ended without a fault, status %#x\n", status);
		igt_info("backing=pinned: -EFAULT without asking the monitor (6.1's long-term pinning)\n");
	} else {
		sleep_ms(300);
		clock_gettime(CLOCK_MONOTONIC, &start);
		igt_assert_eq(kill(pid, SIGKILL), 0);
		igt_assert_eq(waitpid(pid, &status, 0), pid);
		ms = vblit_elapsed_ms(&start);
		igt_info("child waiting for the monitor reaped %.0f ms after SIGKILL\n", ms);
		igt_assert_f(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			     "child status %#x\n", status);
		igt_assert_f(ms < 1000, "reaped %.0f ms after SIGKILL\n", ms);
	}
	close(ready[0]);
	vblit_assert_no_leaks();
}

/*
 * The forking thread of fork-stall: a held job on its own object, then a
 * fork, which waits for the job under mmap_lock; again and again.
 */
struct stall_forker {
	uint32_t held;
	size_t size;
	unsigned int hold_ms;
	atomic_bool stop;
	unsigned long forks;
	int err;
};

static void *stall_forker_thread(void *arg)
{
	struct stall_forker *f = arg;

	while (!atomic_load(&f->stop)) {
		struct drm_vblit_exec exec;
		int status;
		pid_t pid;

		vblit_exec_init(&exec, VBLIT_OP_FILL, f->held, 0, 0, 0, f->size);
		exec.value = f->forks;
		exec.flags = VBLIT_EXEC_HOLD;
		exec.hold_ms = f->hold_ms;
		f->err = __vblit_exec(fd, &exec);
		if (f->err)
			break;
		pid = fork();
		if (!pid)
			_exit(0);
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			f->err = -errno;
			break;
		}
		f->forks++;
	}
	return NULL;
}

static void test_fork_stall(void)
{
	const size_t size = 16 * PAGE;
	struct stall_forker f = { .size = size, .hold_ms = vblit_hold_ms(fd, 1500) };
	uint8_t *res = vblit_reserve(2 * size + 3 * PAGE);
	uint8_t *mine = res + PAGE, *other = mine + size + PAGE;
	unsigned long ok = 0, busy = 0, stalled = 0;
	int64_t ebusy = stat_of("ebusy");
	struct timespec start;
	double worst = 0;
	pthread_t thread;
	uint32_t handle;

	vblit_require_hold(fd);
	igt_assert_eq(mprotect(mine, size, PROT_READ | PROT_WRITE), 0);
	igt_assert_eq(mprotect(other, size, PROT_READ | PROT_WRITE), 0);
	igt_assert_eq(madvise(res, 2 * size + 3 * PAGE, MADV_NOHUGEPAGE), 0);
	handle = vblit_gem_userptr(fd, mine, size, 0);
	f.held = vblit_gem_userptr(fd, other, size, 0);
	vblit_fill(fd, handle, 0, size, 0);
	vblit_fill(fd, f.held, 0, size, 0);

	igt_assert_eq(pthread_create(&thread, NULL, stall_forker_thread, &f), 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (uint32_t i = 1; vblit_elapsed_ms(&start) < 10000; i++) {
		struct timespec sub;
		double ms;
		int err;

		clock_gettime(CLOCK_MONOTONIC, &sub);
		err = __vblit_fill(fd, handle, 0, size, i);
		ms = vblit_elapsed_ms(&sub);
		worst = ms > worst ? ms : worst;
		stalled += ms > f.hold_ms / 2;
		if (err == -EBUSY) {
			igt_info("fill %u: -EBUSY after %.0f ms\n", i, ms);
			busy++;
			continue;
		}
		igt_assert_f(err == 0, "fill during forks gave %d\n", err);
		vblit_gem_wait(fd, handle);
		vblit_value_check(mine, size, i, "CPU read of a fill during forks");
		ok++;
	}
	atomic_store(&f.stop, true);
	pthread_join(thread, NULL);
	igt_assert_eq(f.err, 0);

	igt_info("%lu fills, %lu -EBUSY, %lu stalled by a fork (worst %.0f ms); %lu forks held %u ms\n",
		 ok, busy, stalled, worst, f.forks, f.hold_ms);
	igt_assert_f(f.forks >= 3 && stalled > 0,
		     "no fill met a stalled fork (%lu forks)\n", f.forks);
	igt_assert_f(!busy, "%lu fills failed with -EBUSY\n", busy);
	igt_assert_eq_s64(stat_of("ebusy"), ebusy);

	vblit_gem_close(fd, handle);
	vblit_gem_close(fd, f.held);
	munmap(res, 2 * size + 3 * PAGE);
	vblit_assert_no_leaks();
}

/* The three page contents of ksm-cow-thp: page @i holds pattern i % 3. */
static void ksm_thp_write(uint8_t *ptr, size_t first, size_t count)
{
	for (size_t i = first; i < first + count; i++) {
		uint32_t v = 0x4b534d00u + (uint32_t)(i % 3) * 0x01010101u;

		for (size_t j = 0; j < PAGE / 4; j++)
			((uint32_t *)(ptr + i * PAGE))[j] = v;
	}
}

static void test_ksm_cow_thp(void)
{
	struct vblit_bo bo = vblit_bo_create(fd, THP_SIZE);
	unsigned long copies = 0, busy = 0, failed_tries = 0;
	int64_t ebusy = stat_of("ebusy"), retries = stat_of("retries");

	vblit_ksm_start();
	igt_assert_eq(vblit_file_write("/sys/kernel/mm/ksm/pages_to_scan", "2000"), 0);
	igt_assert_eq(vblit_file_write("/sys/kernel/mm/ksm/sleep_millisecs", "20"), 0);

	for (int try = 0; try < 10; try++) {
		uint8_t *ptr = thp_region(true);
		unsigned long try_busy = 0;
		struct timespec start;
		int go[2], ready[2];
		uint32_t handle;
		pid_t pid;
		char c;

		ksm_thp_write(ptr, 0, THP_SIZE / PAGE);
		handle = vblit_gem_userptr(fd, ptr, THP_SIZE, 0);
		vblit_copy(fd, bo.handle, 0, handle, 0, THP_SIZE);
		igt_assert_eq(madvise(ptr, THP_SIZE, MADV_MERGEABLE), 0);

		igt_assert_eq(pipe(go), 0);
		igt_assert_eq(pipe(ready), 0);
		pid = fork();
		igt_assert(pid >= 0);
		if (!pid) {
			close(go[1]);
			ksm_thp_write(ptr, 0, THP_SIZE / PAGE);
			if (write(ready[1], "r", 1) != 1)
				_exit(1);
			/* Until the parent is done: its pages stay to merge with. */
			_exit(read(go[0], &c, 1) < 0);
		}
		igt_assert_eq(read(ready[0], &c, 1), 1);
		ksm_thp_write(ptr, 0, THP_SIZE / PAGE / 2);

		clock_gettime(CLOCK_MONOTONIC, &start);
		while (vblit_elapsed_ms(&start) < 1500) {
			int err = __vblit_copy(fd, bo.handle, 0, handle, 0, THP_SIZE);

			if (err == -EBUSY) {
				try_busy++;
				continue;
			}
			igt_assert_f(err == 0, "try %d: copy gave %d\n", try, err);
			vblit_gem_wait(fd, bo.handle);
			vblit_mem_check(bo.map, ptr, THP_SIZE, "device read under ksmd");
			copies++;
		}
		igt_info("try %d: %lu -EBUSY, %s merged, AnonHugePages %ld kB\n", try, try_busy,
			 vblit_ksm_merged(ptr, THP_SIZE) ? "all" : "not all", anon_huge_kb(ptr));
		busy += try_busy;
		failed_tries += try_busy > 0;

		close(go[1]);
		igt_assert_eq(waitpid(pid, NULL, 0), pid);
		close(go[0]);
		close(ready[0]);
		close(ready[1]);
		vblit_gem_close(fd, handle);
		munmap(ptr, THP_SIZE);
	}
	vblit_ksm_stop();

	igt_info("%lu copies, %lu -EBUSY in %lu of 10 tries; retries +%" PRId64 "\n",
		 copies, busy, failed_tries, stat_of("retries") - retries);
	igt_assert_f(!busy, "%lu copies failed with -EBUSY, in %lu of 10 tries\n",
		     busy, failed_tries);
	igt_assert_eq_s64(stat_of("ebusy"), ebusy);
	vblit_bo_destroy(fd, &bo);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* memfd, mremap, shared files                                            */

static void test_memfd_shrink(void)
{
	const size_t size = 16 * PAGE, half = size / 2;
	int mfd = vblit_memfd("vblit-shrink", size);
	uint8_t *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	struct vblit_bo bo = vblit_bo_create(fd, PAGE);
	uint8_t *buf = malloc(size), *expected;
	uint32_t handle, front;
	int64_t inv;

	igt_assert(ptr != MAP_FAILED && buf);
	handle = vblit_gem_userptr(fd, ptr, size, 0);
	use_before(handle, ptr, size, 0x1800);	/* leaves 0x1801 */

	inv = stat_of("invalidations");
	igt_assert_eq(ftruncate(mfd, half), 0);
	check_moved("invalidations", inv, "memfd shrink");

	vblit_check_jobs_fail(fd, handle, &bo, -EFAULT, "object reaching past EOF");
	vblit_pattern_check(ptr, half, 0x1801, "CPU read before EOF");
	igt_assert_eq(pread(mfd, buf, half, 0), (ssize_t)half);
	vblit_pattern_check(buf, half, 0x1801, "file before EOF");

	front = vblit_gem_userptr(fd, ptr, half, 0);
	vblit_device_check_pattern(fd, front, half, 0x1801, "object before EOF");
	vblit_device_write_pattern(fd, front, half, 0x1802);
	igt_assert_eq(pread(mfd, buf, half, 0), (ssize_t)half);
	vblit_pattern_check(buf, half, 0x1802, "file after a device write before EOF");
	vblit_gem_close(fd, front);

	igt_assert_eq(ftruncate(mfd, size), 0);
	expected = pattern_with_hole(size, 0x1802, half / PAGE, half / PAGE);
	vblit_device_check_mem(fd, handle, expected, size, "device read after growing back");
	vblit_mem_check(ptr, expected, size, "CPU read after growing back");
	free(expected);
	check_both_ways(handle, ptr, size, 0x1810, "memfd shrink");
	igt_assert_eq(pread(mfd, buf, size, 0), (ssize_t)size);
	vblit_pattern_check(buf, size, 0x1811, "file at the end");

	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &bo);
	munmap(ptr, size);
	close(mfd);
	free(buf);
	vblit_assert_no_leaks();
}

static void test_memfd_punch_hole(void)
{
	const size_t size = 16 * PAGE;
	int mfd = vblit_memfd("vblit-punch", size);
	uint8_t *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	uint8_t *buf = malloc(size), *expected;
	uint32_t handle;
	int64_t inv;

	igt_assert(ptr != MAP_FAILED && buf);
	handle = vblit_gem_userptr(fd, ptr, size, 0);
	use_before(handle, ptr, size, 0x1900);	/* leaves 0x1901 */

	inv = stat_of("invalidations");
	igt_assert_eq(fallocate(mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				4 * PAGE, 4 * PAGE), 0);
	check_moved("invalidations", inv, "PUNCH_HOLE");

	expected = pattern_with_hole(size, 0x1901, 4, 4);
	vblit_device_check_mem(fd, handle, expected, size, "device read after PUNCH_HOLE");
	vblit_mem_check(ptr, expected, size, "CPU read after PUNCH_HOLE");
	igt_assert_eq(pread(mfd, buf, size, 0), (ssize_t)size);
	vblit_mem_check(buf, expected, size, "file after PUNCH_HOLE");
	free(expected);

	check_both_ways(handle, ptr, size, 0x1910, "PUNCH_HOLE");
	vblit_device_write_pattern(fd, handle, size, 0x1912);
	igt_assert_eq(pread(mfd, buf, size, 0), (ssize_t)size);
	vblit_pattern_check(buf, size, 0x1912, "file after a device write");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	close(mfd);
	free(buf);
	vblit_assert_no_leaks();
}

static void test_mremap_move(void)
{
	const size_t size = 16 * PAGE;
	uint8_t *ptr = anon_pages(size);
	uint8_t *dst = vblit_reserve(size), *moved, *again;
	struct vblit_bo bo = vblit_bo_create(fd, PAGE);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t inv, unmap;

	use_before(handle, ptr, size, 0x1a00);	/* leaves 0x1a01 */

	inv = stat_of("invalidations");
	unmap = stat_of("inv_unmap");
	moved = mremap(ptr, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	igt_assert(moved == dst);
	check_moved("invalidations", inv, "mremap");
	check_moved("inv_unmap", unmap, "mremap");

	vblit_check_jobs_fail(fd, handle, &bo, -EFAULT, "object over the old address");
	vblit_pattern_check(moved, size, 0x1a01, "moved data after refused jobs");

	again = mmap(ptr, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	igt_assert(again == ptr);
	vblit_device_check_value(fd, handle, size, 0, "fresh memory at the old address");
	check_both_ways(handle, ptr, size, 0x1a10, "mremap");
	vblit_pattern_check(moved, size, 0x1a01, "moved data at the end");

	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &bo);
	munmap(ptr, size);
	munmap(moved, size);
	vblit_assert_no_leaks();
}

/* A process that maps @path shared, checks @seed, then writes @next. */
static void shared_file_peer(const char *path, size_t size, uint32_t seed,
			     uint32_t next)
{
	int pfd = open(path, O_RDWR);
	void *map;

	igt_assert(pfd >= 0);
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
	igt_assert(map != MAP_FAILED);
	vblit_pattern_check(map, size, seed, "other process's mapping of the file");
	vblit_pattern_write(map, size, next);
	munmap(map, size);
	close(pfd);
}

static void test_shared_file(void)
{
	const size_t size = 16 * PAGE;
	char path[] = "/tmp/vblit-mm-XXXXXX";
	uint8_t *buf = malloc(size), *ptr;
	size_t evicted;
	uint32_t handle;
	int ffd;

	igt_assert(buf);
	ffd = mkstemp(path);
	igt_assert_f(ffd >= 0, "mkstemp in /tmp: %m\n");
	igt_assert_eq(ftruncate(ffd, size), 0);
	ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, ffd, 0);
	igt_assert(ptr != MAP_FAILED);

	/* Read faults only: the page cache pages are clean. */
	vblit_value_check(ptr, size, 0, "fresh file");
	handle = vblit_gem_userptr(fd, ptr, size, 0);
	vblit_device_write_pattern(fd, handle, size, 0x1b00);
	igt_assert_eq(pread(ffd, buf, size, 0), (ssize_t)size);
	vblit_pattern_check(buf, size, 0x1b00, "file after a device write");
	vblit_pattern_check(ptr, size, 0x1b00, "CPU read after a device write");

	igt_fork(child, 1)
		shared_file_peer(path, size, 0x1b00, 0x1b01);
	igt_waitchildren();
	vblit_device_check_pattern(fd, handle, size, 0x1b01,
				   "device read of another process's write");

	/* Clean pages again, written by the device only, then reclaimed. */
	igt_assert_eq(fallocate(ffd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, size), 0);
	vblit_value_check(ptr, size, 0, "file after punching all of it");
	vblit_device_write_pattern(fd, handle, size, 0x1b02);
	igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);
	evicted = size / PAGE - count_resident(ptr, size);
	igt_info("MADV_PAGEOUT evicted %zu of %zu file pages\n", evicted, size / PAGE);
	igt_assert_eq(pread(ffd, buf, size, 0), (ssize_t)size);
	vblit_pattern_check(buf, size, 0x1b02,
			    "file after a device write to clean pages and MADV_PAGEOUT");
	vblit_device_check_pattern(fd, handle, size, 0x1b02, "device read after MADV_PAGEOUT");

	check_both_ways(handle, ptr, size, 0x1b10, "shared file");
	igt_assert_eq(pread(ffd, buf, size, 0), (ssize_t)size);
	vblit_pattern_check(buf, size, 0x1b11, "file at the end");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	close(ffd);
	unlink(path);
	free(buf);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* mlock                                                                  */

static void test_mlock(void)
{
	const size_t size = 16 * PAGE;
	void *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);

	use_before(handle, ptr, size, 0x1c00);
	igt_assert_f(mlock(ptr, size) == 0, "mlock: %m\n");
	vblit_device_check_pattern(fd, handle, size, 0x1c01, "device read of locked memory");
	vblit_device_write_pattern(fd, handle, size, 0x1c02);
	vblit_pattern_check(ptr, size, 0x1c02, "CPU read of a device write to locked memory");

	igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), -1);
	igt_assert_eq(errno, EINVAL);
	igt_assert_eq(madvise(ptr, size, MADV_DONTNEED), -1);
	igt_assert_eq(errno, EINVAL);
	igt_assert_eq(vblit_count_swapped(ptr, size), 0);
	igt_assert_eq(count_resident(ptr, size), size / PAGE);
	vblit_device_check_pattern(fd, handle, size, 0x1c02, "device read after refused madvise");

	igt_assert_eq(munlock(ptr, size), 0);
	swap_out(ptr, size);
	vblit_device_check_pattern(fd, handle, size, 0x1c02, "device read after munlock and swap-out");
	check_both_ways(handle, ptr, size, 0x1c10, "mlock");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_mlock_onfault(void)
{
	const size_t n = 16, size = n * PAGE;
	uint8_t *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint8_t *buf = malloc(size), *expected;
	uint64_t flags;

	igt_assert(buf);
	igt_assert_f(syscall(SYS_mlock2, ptr, size, MLOCK_ONFAULT) == 0,
		     "mlock2(MLOCK_ONFAULT): %m\n");
	igt_assert_eq(count_resident(ptr, size), 0);

	/* The device writes the first half: it faults in every page. */
	vblit_pattern_write(buf, size / 2, 0x1d00);
	vblit_device_write(fd, handle, 0, buf, size / 2);
	igt_assert_eq(count_resident(ptr, size), n);
	flags = vblit_kpageflags(ptr + (n - 1) * PAGE);
	igt_info("a page faulted in by the device: kpageflags %#" PRIx64 "\n", flags);
	if (flags)
		igt_assert_f(flags >> VBLIT_KPF_MLOCKED & 1 || flags >> VBLIT_KPF_UNEVICTABLE & 1,
			     "page faulted in by the device is not locked\n");
	igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), -1);
	igt_assert_eq(errno, EINVAL);
	igt_assert_eq(vblit_count_swapped(ptr, size), 0);

	expected = pattern_with_hole(size, 0x1d00, n / 2, n / 2);
	vblit_mem_check(ptr, expected, size, "CPU read of locked memory");
	vblit_device_check_mem(fd, handle, expected, size, "device read of locked memory");

	igt_assert_eq(munlock(ptr, size), 0);
	swap_out(ptr, size);
	vblit_device_check_mem(fd, handle, expected, size, "device read after munlock and swap-out");
	free(expected);
	check_both_ways(handle, ptr, size, 0x1d10, "mlock onfault");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	free(buf);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Automatic NUMA balancing                                               */

#define NUMAB_DIR "/sys/kernel/debug/sched/numa_balancing/"

static const struct {
	const char *path;
	const char *value;
} numab_knobs[] = {
	{ "/proc/sys/kernel/numa_balancing", "1" },
	{ NUMAB_DIR "scan_delay_ms", "10" },
	{ NUMAB_DIR "scan_period_min_ms", "10" },
	{ NUMAB_DIR "scan_period_max_ms", "100" },
};
static int64_t numab_saved[4] = { -1, -1, -1, -1 };

static void numab_restore(int sig);

/*
 * The automatic NUMA balancing scanner invalidates every VMA now and then:
 * off for the subtests that count invalidations or pins exactly (all but
 * numa-balancing), restored at exit.
 */
static void numab_quiet(void)
{
	numab_saved[0] = vblit_file_read_int(numab_knobs[0].path);
	if (numab_saved[0] <= 0)
		return;
	igt_install_exit_handler(numab_restore);
	if (vblit_file_write(numab_knobs[0].path, "0"))
		numab_saved[0] = -1;
}

static void numab_restore(int sig)
{
	char value[32];

	(void)sig;
	for (int i = 3; i >= 0; i--) {
		if (numab_saved[i] < 0)
			continue;
		snprintf(value, sizeof(value), "%" PRId64, numab_saved[i]);
		vblit_file_write(numab_knobs[i].path, value);
		numab_saved[i] = -1;
	}
}

/* The first CPU of NUMA node @node. */
static int node_cpu(int node)
{
	char path[96];
	int64_t cpu;

	snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/cpulist", node);
	cpu = vblit_file_read_int(path);
	igt_assert_f(cpu >= 0, "%s: %" PRId64 "\n", path, cpu);
	return cpu;
}

static void run_on_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	igt_assert_eq(sched_setaffinity(0, sizeof(set), &set), 0);
}

/* The child of numa-balancing: a fresh mm, so the scan delay applies. */
static void numab_child(void)
{
	const size_t n = 64, size = n * PAGE;
	uint8_t *ptr;
	void *pages[64];
	int nodes[64], status[64];
	uint32_t handle, seed = 0x1e00;
	struct timespec start;
	int64_t inv, prot;
	size_t moved = 0;

	run_on_cpu(node_cpu(0));
	ptr = anon_pages(size);
	vblit_pattern_write(ptr, size, seed);
	for (size_t i = 0; i < n; i++) {
		pages[i] = ptr + i * PAGE;
		nodes[i] = 0;
	}
	syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
	handle = vblit_gem_userptr(fd, ptr, size, 0);
	use_before(handle, ptr, size, seed);
	seed += 2;

	/* Now run on the other node, touching the memory and using it. */
	run_on_cpu(node_cpu(1));
	inv = stat_of("invalidations");
	prot = stat_of("inv_protection");
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vblit_elapsed_ms(&start) < 8000) {
		for (int spin = 0; spin < 20; spin++)
			vblit_pattern_write(ptr, size, seed);
		vblit_device_check_pattern(fd, handle, size, seed, "device read under NUMA balancing");
		vblit_device_write_pattern(fd, handle, size, seed + 1);
		vblit_pattern_check(ptr, size, seed + 1, "CPU read under NUMA balancing");
		seed += 2;
		if (stat_of("invalidations") > inv && vblit_elapsed_ms(&start) > 1000)
			break;
	}
	for (size_t i = 0; i < n; i++)
		moved += vblit_page_node(ptr + i * PAGE) == 1;
	igt_info("after %.0f ms: %" PRId64 " invalidations (%" PRId64 " protection), %zu of %zu pages on node 1\n",
		 vblit_elapsed_ms(&start), stat_of("invalidations") - inv,
		 stat_of("inv_protection") - prot, moved, n);
	check_moved("invalidations", inv, "NUMA balancing (hinting faults, migration)");
	check_both_ways(handle, ptr, size, seed, "NUMA balancing");
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
}

static void test_numa_balancing(void)
{
	igt_require_f(vblit_numa_nodes() >= 2,
		      "one NUMA node: the guest needs -numa with two nodes\n");
	igt_require_f(access(numab_knobs[0].path, W_OK) == 0,
		      "no writable %s (kernel without NUMA balancing)\n", numab_knobs[0].path);
	igt_require_f(access(numab_knobs[1].path, W_OK) == 0,
		      "no writable %s (debugfs not mounted?)\n", numab_knobs[1].path);

	numab_restore(0);	/* the fixture's numab_quiet() */
	for (int i = 0; i < 4; i++) {
		numab_saved[i] = vblit_file_read_int(numab_knobs[i].path);
		igt_assert_f(numab_saved[i] >= 0, "%s: %" PRId64 "\n",
			     numab_knobs[i].path, numab_saved[i]);
	}
	igt_install_exit_handler(numab_restore);
	for (int i = 0; i < 4; i++)
		igt_assert_eq(vblit_file_write(numab_knobs[i].path, numab_knobs[i].value), 0);

	igt_fork(child, 1)
		numab_child();
	igt_waitchildren();
	numab_restore(0);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* The OOM reaper                                                         */

#define CGROUP_ROOT "/sys/fs/cgroup"
#define OOM_LIMIT_MB 64
#define OOM_BALLAST (24ul << 20)

/*
 * What the OOM victim tells the parent: the objects it created on the
 * shared fd and the jobs it holds on them.
 */
struct oom_report {
	uint32_t handles[4];
	unsigned int nhandles;
	uint64_t anchor_job;
	uint64_t busy_job;
	size_t idle_pages;
	size_t anchor_pages;
	size_t busy_pages;
};

static char oom_cgroup[128];

static void oom_cgroup_remove(int sig)
{
	(void)sig;
	if (oom_cgroup[0])
		rmdir(oom_cgroup);
}

static void oom_cgroup_file(const char *name, const char *value)
{
	char path[192];
	int err;

	snprintf(path, sizeof(path), "%s/%s", oom_cgroup, name);
	err = vblit_file_write(path, value);
	igt_assert_f(err == 0, "writing \"%s\" to %s: %d\n", value, path, err);
}

static void oom_cgroup_add(pid_t pid)
{
	char value[32];

	snprintf(value, sizeof(value), "%d", pid);
	oom_cgroup_file("cgroup.procs", value);
}

/* Counter @key ("oom", "oom_kill") of the group's memory.events, or -1. */
static int64_t oom_cgroup_events(const char *key)
{
	char path[192], line[128];
	int64_t value = -1;
	size_t len = strlen(key);
	FILE *f;

	snprintf(path, sizeof(path), "%s/memory.events", oom_cgroup);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ' ')
			value = strtoll(line + len + 1, NULL, 10);
	fclose(f);
	return value;
}

/* A memory cgroup with OOM_LIMIT_MB of memory and no swap. */
static void oom_cgroup_create(void)
{
	char buf[256] = "", limit[16];
	int cfd;

	cfd = open(CGROUP_ROOT "/cgroup.controllers", O_RDONLY | O_CLOEXEC);
	igt_require_f(cfd >= 0, "no cgroup2 at " CGROUP_ROOT ": %m\n");
	igt_assert(read(cfd, buf, sizeof(buf) - 1) >= 0);
	close(cfd);
	igt_require_f(strstr(buf, "memory"), "cgroup2 without the memory controller\n");
	vblit_file_write(CGROUP_ROOT "/cgroup.subtree_control", "+memory");

	snprintf(oom_cgroup, sizeof(oom_cgroup), CGROUP_ROOT "/vblit-oom-%d", getpid());
	rmdir(oom_cgroup);
	igt_assert_f(mkdir(oom_cgroup, 0755) == 0, "mkdir %s: %m\n", oom_cgroup);
	igt_install_exit_handler(oom_cgroup_remove);
	snprintf(limit, sizeof(limit), "%dM", OOM_LIMIT_MB);
	oom_cgroup_file("memory.max", limit);
	oom_cgroup_file("memory.swap.max", "0");
}

/* A process state letter from /proc/<pid>/stat, or 0 if it is gone. */
static char proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t len;
	int sfd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	sfd = open(path, O_RDONLY | O_CLOEXEC);
	if (sfd < 0)
		return 0;
	len = read(sfd, buf, sizeof(buf) - 1);
	close(sfd);
	if (len <= 0)
		return 0;
	buf[len] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/* waitpid() with a bound; returns the status. */
static int wait_bounded(pid_t pid, unsigned int timeout_ms, const char *who)
{
	struct timespec start;
	int status;
	pid_t ret;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while ((ret = waitpid(pid, &status, WNOHANG)) == 0) {
		igt_assert_f(vblit_elapsed_ms(&start) < timeout_ms,
			     "%s (pid %d) not gone after %u ms, state %c\n",
			     who, pid, timeout_ms, proc_state(pid) ?: '?');
		usleep(10 * 1000);
	}
	igt_assert_eq(ret, pid);
	return status;
}

/*
 * What the OOM subtests wait for at most: the reaper, the allocator, the
 * victim's exit. Stock guests need a few seconds; a KASAN + lockdep guest
 * under TCG on a loaded host took 16. Only a failure waits this long.
 */
#define OOM_BOUND_MS	60000

/*
 * The OOM victim. Creates objects on the shared fd over its own memory,
 * uses them, optionally keeps one busy with a held job, reports, and then
 * blocks in MADV_DONTNEED of an "anchor" object held busy over shared
 * memory: killed, it stays in the kernel with its mm until the parent
 * releases the anchor, which is what lets the OOM killer pick it without
 * a report and the OOM reaper get at its memory meanwhile. The reaper
 * skips shared mappings, so the anchor itself is never reaped.
 */
static __noreturn void oom_victim(int go, int report, bool busy)
{
	const size_t idle2 = 16 * PAGE, busy_size = 16 * PAGE;
	uint32_t hold_ms = vblit_hold_ms(fd, OOM_BOUND_MS);
	struct oom_report r = {};
	uint8_t *ballast, *other, *hot = NULL, *anchor;
	int mfd;
	char c;

	if (read(go, &c, 1) != 1)
		_exit(2);

	ballast = guarded_pages(OOM_BALLAST);
	memset(ballast, 0x5a, OOM_BALLAST);
	other = guarded_pages(idle2);

	/* Idle, used objects: their pages are acquired (pinned if pinned). */
	r.handles[r.nhandles] = vblit_gem_userptr(fd, ballast, 64 * PAGE, 0);
	vblit_device_write_pattern(fd, r.handles[r.nhandles++], 64 * PAGE, 0x1f00);
	r.handles[r.nhandles] = vblit_gem_userptr(fd, other, idle2, 0);
	vblit_device_write_pattern(fd, r.handles[r.nhandles++], idle2, 0x1f01);
	r.idle_pages = 64 + idle2 / PAGE;

	if (busy) {
		hot = guarded_pages(busy_size);
		r.handles[r.nhandles] = vblit_gem_userptr(fd, hot, busy_size, 0);
		vblit_device_write_pattern(fd, r.handles[r.nhandles], busy_size, 0x1f02);
		r.busy_job = vblit_fill_held(fd, r.handles[r.nhandles++], 0,
					     busy_size, 0x1f1f1f1f, hold_ms);
		r.busy_pages = busy_size / PAGE;
	}

	mfd = vblit_memfd("vblit-oom-anchor", PAGE);
	anchor = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	igt_assert(anchor != MAP_FAILED);
	r.handles[r.nhandles] = vblit_gem_userptr(fd, anchor, PAGE, 0);
	vblit_device_write_pattern(fd, r.handles[r.nhandles], PAGE, 0x1f03);
	r.anchor_job = vblit_fill_held(fd, r.handles[r.nhandles++], 0, PAGE,
				       0x2f2f2f2f, hold_ms);
	r.anchor_pages = 1;

	if (write(report, &r, sizeof(r)) != sizeof(r))
		_exit(3);
	/* Blocks until the anchor's job is released (or its hold expires). */
	madvise(anchor, PAGE, MADV_DONTNEED);
	_exit(0);
}

/* The allocator: in the group, unkillable, populates until the group's OOM. */
static __noreturn void oom_pressure(int go)
{
	const size_t chunk = 1ul << 20;
	char c;

	if (read(go, &c, 1) != 1)
		_exit(2);
	if (vblit_file_write("/proc/self/oom_score_adj", "-1000"))
		_exit(3);
	for (size_t done = 0; done < 4 * OOM_LIMIT_MB * chunk; done += chunk) {
		void *p = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED)
			_exit(4);
		madvise(p, chunk, MADV_NOHUGEPAGE);
		if (madvise(p, chunk, MADV_POPULATE_WRITE))
			_exit(5);
		if (oom_cgroup_events("oom") > 0)
			_exit(0);
	}
	_exit(6);
}

static pid_t fork_helper(int go[2])
{
	pid_t pid;

	igt_assert_eq(pipe(go), 0);
	pid = fork();
	igt_assert(pid >= 0);
	return pid;
}

static bool stat_wait_above(const char *key, int64_t value, unsigned int timeout_ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (vblit_stat(key) <= value) {
		if (vblit_elapsed_ms(&start) > timeout_ms)
			return false;
		usleep(5 * 1000);
	}
	return true;
}

/*
 * Whether the reaper is done with the victim's @nobj reapable objects:
 * every attempt calls each of them once, an attempt fails on the first
 * refusal (one busy object: one refusal per failed attempt) and goes on
 * with the other ranges, and the last attempt completes every object.
 */
static bool oom_reaper_wait(int64_t ok0, int64_t refused0, unsigned int nobj,
			    unsigned int timeout_ms)
{
	struct timespec start;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int64_t refused = stat_of("nonblock_refused") - refused0;
		int64_t ok = stat_of("nonblock_ok") - ok0;

		if (ok == refused * (nobj - 1) + nobj)
			return true;
		if (vblit_elapsed_ms(&start) >= timeout_ms)
			return false;
		usleep(5 * 1000);
	}
}

/*
 * oom-idle and oom-busy: a victim in a memory cgroup holding idle (and
 * with @busy one busy) objects is picked by the group's OOM killer, and
 * the OOM reaper invalidates its objects without blocking.
 */
static void test_oom(bool busy)
{
	int go_victim[2], go_pressure[2], report[2];
	int64_t ok0, refused0, pins0, status;
	struct oom_report r;
	pid_t victim, pressure;
	struct timespec start;

	vblit_require_hold(fd);
	igt_require_f(vblit_hold_ms(fd, 10000) >= 5000,
		      "VBLIT_PARAM_MAX_HOLD_MS below 5 s: the victim cannot be held long enough\n");
	ok0 = stat_of("nonblock_ok");
	refused0 = stat_of("nonblock_refused");
	pins0 = vblit_stat_pinned_pages();
	oom_cgroup_create();

	igt_assert_eq(pipe(report), 0);
	victim = fork_helper(go_victim);
	if (!victim) {
		close(report[0]);
		oom_victim(go_victim[0], report[1], busy);
	}
	close(report[1]);
	oom_cgroup_add(victim);
	igt_assert_eq(write(go_victim[1], "g", 1), 1);
	igt_assert_eq(read(report[0], &r, sizeof(r)), (ssize_t)sizeof(r));
	vblit_check_pinned(pins0 + pins_of(r.idle_pages + r.busy_pages + r.anchor_pages),
		     "victim's objects in use");

	/* Killed while blocked in the anchor's invalidation: it stays. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (proc_state(victim) != 'D') {
		igt_assert_f(vblit_elapsed_ms(&start) < 5000,
			     "victim not blocked in MADV_DONTNEED (state %c)\n",
			     proc_state(victim) ?: '?');
		usleep(5 * 1000);
	}
	igt_assert_eq(kill(victim, SIGKILL), 0);
	usleep(50 * 1000);
	igt_assert_eq(proc_state(victim), 'D');
	igt_assert_eq(stat_of("nonblock_ok"), ok0);

	pressure = fork_helper(go_pressure);
	if (!pressure)
		oom_pressure(go_pressure[0]);
	oom_cgroup_add(pressure);
	igt_assert_eq(write(go_pressure[1], "g", 1), 1);
	clock_gettime(CLOCK_MONOTONIC, &start);

	if (busy) {
		/* The reaper refuses the busy object and retries every 100 ms. */
		igt_assert_f(stat_wait_above("nonblock_refused", refused0, OOM_BOUND_MS),
			     "the OOM reaper did not come within %u s (memory.events oom %" PRId64 ")\n",
			     OOM_BOUND_MS / 1000, oom_cgroup_events("oom"));
		vblit_job_release(fd, r.busy_job);
		igt_info("reaper refused the busy object %.0f ms after the pressure started\n",
			 vblit_elapsed_ms(&start));
	}
	igt_assert_f(oom_reaper_wait(ok0, refused0, r.nhandles - 1, OOM_BOUND_MS),
		     "the OOM reaper did not finish within %u s: nonblock_ok +%" PRId64 ", nonblock_refused +%" PRId64 ", memory.events oom %" PRId64 "\n",
		     OOM_BOUND_MS / 1000, stat_of("nonblock_ok") - ok0, stat_of("nonblock_refused") - refused0,
		     oom_cgroup_events("oom"));
	igt_info("reaper done %.0f ms after the pressure started\n", vblit_elapsed_ms(&start));

	status = wait_bounded(pressure, OOM_BOUND_MS, "allocator");
	igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		     "allocator status %#" PRIx64 " (exit code 5: no OOM kill freed memory)\n",
		     status);
	igt_assert_lte(1, oom_cgroup_events("oom"));

	/* Settled: the reaper is done with this mm. */
	usleep(300 * 1000);
	igt_assert(oom_reaper_wait(ok0, refused0, r.nhandles - 1, 0));
	if (busy)
		igt_assert_lte(1, stat_of("nonblock_refused") - refused0);
	else
		igt_assert_eq_s64(stat_of("nonblock_refused") - refused0, 0);
	vblit_check_pinned(pins0 + pins_of(r.anchor_pages), "after the reaper");
	igt_assert_eq(proc_state(victim), 'D');

	/* Release the anchor: the victim dies. */
	vblit_job_release(fd, r.anchor_job);
	status = wait_bounded(victim, OOM_BOUND_MS, "OOM victim");
	igt_assert_f(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		     "victim status %#" PRIx64 "\n", status);
	igt_info("nonblock_ok +%" PRId64 ", nonblock_refused +%" PRId64 ", memory.events oom %" PRId64 " oom_kill %" PRId64 "\n",
		 stat_of("nonblock_ok") - ok0, stat_of("nonblock_refused") - refused0,
		 oom_cgroup_events("oom"), oom_cgroup_events("oom_kill"));

	for (unsigned int i = 0; i < r.nhandles; i++)
		vblit_gem_close(fd, r.handles[i]);
	close(report[0]);
	close(go_victim[1]);
	close(go_pressure[1]);
	igt_assert_f(rmdir(oom_cgroup) == 0, "rmdir %s: %m\n", oom_cgroup);
	oom_cgroup[0] = 0;
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* The non-blockable invalidation hook                                    */

static void require_nonblock_hook(void)
{
	int err = vblit_invalidate_nonblock((void *)0x10000);

	igt_require_f(err != -EPERM,
		      "drm_userptr loaded without debug_hooks=1\n");
	igt_require_f(err == -ENOENT,
		      "no usable debugfs vblit/" VBLIT_NONBLOCK_HOOK " (%d)\n", err);
}

static void test_nonblock_idle(void)
{
	const size_t size = 16 * PAGE;
	uint8_t *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	uint32_t second;
	int64_t pins = vblit_stat_pinned_pages(), ok, refused, acquires;

	require_nonblock_hook();
	use_before(handle, ptr, size, 0x2000);	/* leaves 0x2001 */
	vblit_check_pinned(pins + pins_of(16), "after use");

	ok = stat_of("nonblock_ok");
	refused = stat_of("nonblock_refused");
	acquires = stat_of("acquires");
	igt_assert_eq(vblit_invalidate_nonblock(ptr + 5 * PAGE), 0);
	igt_assert_eq_s64(stat_of("nonblock_ok"), ok + 1);
	igt_assert_eq_s64(stat_of("nonblock_refused"), refused);
	vblit_check_pinned(pins + pins_after_invalidation(16),
			   "after a completed non-blockable invalidation");

	vblit_pattern_check(ptr, size, 0x2001, "CPU read after the invalidation");
	vblit_device_check_pattern(fd, handle, size, 0x2001, "device read after the invalidation");
	igt_assert_eq_s64(stat_of("acquires"), acquires + 1);
	check_both_ways(handle, ptr, size, 0x2010, "non-blockable invalidation");

	igt_assert_eq(vblit_invalidate_nonblock(ptr + size), -ENOENT);
	igt_fork(child, 1)
		igt_assert_eq(vblit_invalidate_nonblock(ptr), -ENOENT);
	igt_waitchildren();

	second = vblit_gem_userptr(fd, ptr + 4 * PAGE, 4 * PAGE, 0);
	vblit_device_check_pattern(fd, handle, size, 0x2011, "first object");
	ok = stat_of("nonblock_ok");
	igt_assert_eq(vblit_invalidate_nonblock(ptr + 5 * PAGE), 0);
	igt_assert_eq_s64(stat_of("nonblock_ok"), ok + 2);
	vblit_gem_close(fd, second);
	check_both_ways(handle, ptr, size, 0x2020, "non-blockable invalidation of two objects");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

static void test_nonblock_busy(void)
{
	const size_t size = 16 * PAGE;
	uint8_t *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t pins = vblit_stat_pinned_pages(), ok, refused;
	uint64_t job;

	require_nonblock_hook();
	vblit_require_hold(fd);
	use_before(handle, ptr, size, 0x2100);
	job = vblit_fill_held(fd, handle, 0, size, 0x21212121, vblit_hold_ms(fd, 10000));

	ok = stat_of("nonblock_ok");
	refused = stat_of("nonblock_refused");
	if (vblit_release_deferred()) {
		/* Nothing to wait for: the pins keep the pages for the job. */
		igt_assert_eq(vblit_invalidate_nonblock(ptr), 0);
		igt_assert_eq_s64(stat_of("nonblock_ok"), ok + 1);
		ok++;
	} else {
		igt_assert_eq(vblit_invalidate_nonblock(ptr), -EBUSY);
		igt_assert_eq_s64(stat_of("nonblock_ok"), ok);
	}
	igt_assert_eq_s64(stat_of("nonblock_refused"),
			  refused + !vblit_release_deferred());
	igt_assert(vblit_gem_busy(fd, handle));
	vblit_check_pinned(pins + pins_of(16), "after the invalidation of a busy object");

	vblit_job_release(fd, job);
	vblit_gem_wait(fd, handle);
	vblit_value_check(ptr, size, 0x21212121, "CPU read of the held job's fill");

	igt_assert_eq(vblit_invalidate_nonblock(ptr), 0);
	igt_assert_eq_s64(stat_of("nonblock_ok"), ok + 1);
	vblit_check_pinned(pins + pins_after_invalidation(16),
			   "after the invalidation completed");
	vblit_device_check_value(fd, handle, size, 0x21212121, "device read after it completed");
	check_both_ways(handle, ptr, size, 0x2110, "refused, then completed non-blockable invalidation");

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* Regressions                                                            */

/* A device write to lazily-freed anonymous pages, then reclaim. */
static void write_not_dirtied_lazyfree(void)
{
	const size_t size = 16 * PAGE;
	void *ptr = anon_pages(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);

	vblit_pattern_write(ptr, size, 0x2200);
	vblit_device_check_pattern(fd, handle, size, 0x2200, "device read before MADV_FREE");
	igt_assert_eq(madvise(ptr, size, MADV_FREE), 0);
	vblit_device_write_pattern(fd, handle, size, 0x2201);
	igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);
	vblit_pattern_check(ptr, size, 0x2201,
			    "device write to MADV_FREE'd pages after reclaim");
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	vblit_assert_no_leaks();
}

/* A device write to clean shmem page cache pages, then reclaim. */
static void write_not_dirtied_clean_shmem(void)
{
	const size_t size = 16 * PAGE;
	int mfd = vblit_memfd("vblit-clean", size);
	uint8_t *ptr = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	uint8_t *buf = malloc(size);
	uint32_t handle;

	igt_assert(ptr != MAP_FAILED && buf);
	vblit_value_check(ptr, size, 0, "fresh memfd (read faults: clean pages)");
	handle = vblit_gem_userptr(fd, ptr, size, 0);
	vblit_device_write_pattern(fd, handle, size, 0x2210);
	igt_assert_eq(madvise(ptr, size, MADV_PAGEOUT), 0);
	igt_assert_eq(pread(mfd, buf, size, 0), (ssize_t)size);
	vblit_pattern_check(buf, size, 0x2210,
			    "memfd after a device write to clean pages and reclaim");
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
	close(mfd);
	free(buf);
	vblit_assert_no_leaks();
}

igt_main
{
	igt_fixture {
		fd = vblit_suite_open(VBLIT_SUITE_USERPTR | VBLIT_SUITE_STATS,
				      &backing);
		numab_quiet();
	}

	igt_describe("MADV_DONTNEED over a used object: the pins go (with "
		     "release=deferred at the next use), the device then reads "
		     "zero (not the stale pages), and data flows both ways "
		     "over the new pages.");
	igt_subtest("madv-dontneed")
		test_madv_dontneed();

	igt_describe("MADV_FREE, then a device write to half of the range, "
		     "then MADV_PAGEOUT (which discards clean lazily-freed "
		     "pages): the device's write is never lost (a device write "
		     "cancels the free as a CPU write does); the other half "
		     "holds the old data or zero, and the device reads exactly "
		     "what the CPU reads.");
	igt_subtest("madv-free")
		test_madv_free();

	igt_describe("MADV_PAGEOUT sends the pages of a used object to zram "
		     "swap: /proc/self/pagemap shows them swapped. With "
		     "backing=pinned reclaim skips the pinned pages (and calls "
		     "no notifier) until an invalidation dropped the pins, "
		     "then they swap like any other; the device swaps them "
		     "back in with their data; a device write before the next "
		     "pageout survives the round trip, also over pages the CPU "
		     "swapped in by reading.");
	igt_subtest("madv-pageout") {
		vblit_require_release_at_invalidation(RELEASE_PINNED_UNTIL_USE);
		test_madv_pageout();
	}

	igt_describe("move_pages() moves every page of a used object to the "
		     "other NUMA node (queried before and after): the pins go, "
		     "the device then uses the new pages with the data kept.");
	igt_subtest("move-pages") {
		vblit_require_release_at_invalidation(RELEASE_PINNED_UNTIL_USE);
		test_move_pages();
	}

	igt_describe("MADV_COLLAPSE turns the 512 small pages under a used 2 "
		     "MiB object into one huge page (pinned pages cannot be "
		     "collapsed: with backing=pinned an invalidation must drop "
		     "the pins first); the device then reads and writes "
		     "through the huge page.");
	igt_subtest("thp-collapse") {
		vblit_require_release_at_invalidation(RELEASE_PINNED_UNTIL_USE);
		test_thp_collapse();
	}

	igt_describe("mprotect(PROT_READ) of one page of a used object over a "
		     "huge page splits its PMD: the writable object's jobs "
		     "give -EFAULT while a READ_ONLY object reads the "
		     "PTE-mapped pages; back to read-write, and after "
		     "MADV_DONTNEED of one small page of it (a partial unmap "
		     "of the huge page), the device reads exactly what the CPU "
		     "does.");
	igt_subtest("thp-split")
		test_thp_split();

	igt_describe("A used object's pages and a witness process's identical "
		     "pages are merged by ksmd (same PFN, KSM flag): the "
		     "device reads them through a READ_ONLY object, then a "
		     "device write through the writable object breaks COW: the "
		     "data lands in the parent's new pages and the witness "
		     "process's pages are unchanged (a security test).");
	igt_subtest("ksm-merge") {
		vblit_require_release_at_invalidation(RELEASE_PINNED_UNTIL_USE);
		test_ksm_merge();
	}

	igt_describe("userfaultfd write-protection of a used object's range: "
		     "the device reads through a READ_ONLY object; a device "
		     "write never bypasses the protection: either the "
		     "acquisition waits for the monitor to resolve a "
		     "write-protect fault for every page (whose snapshot, "
		     "taken then, holds the old data: backing=unpinned, which "
		     "faults what HMM found protected through "
		     "fixup_user_fault(), and backing=pinned on 6.12), or it "
		     "gives -EFAULT with the memory unchanged (backing=pinned "
		     "on 6.1, whose FOLL_LONGTERM fallback faults without "
		     "retry).");
	igt_subtest("uffd-wp")
		test_uffd_wp();

	igt_describe("A range registered for userfaultfd write-protection and "
		     "never write-protected, half of it never touched: "
		     "acquiring it is ordinary faulting, with nothing for the "
		     "monitor to resolve, in every backing. A READ_ONLY object "
		     "reads zeros from the untouched half, a writable one's "
		     "device write lands everywhere. Regression: a first "
		     "version of the unpinned backing's userfaultfd handling "
		     "refused (-EFAULT) every page of a registered range that "
		     "needed a fault.");
	igt_subtest("uffd-wp-unpopulated")
		test_uffd_wp_unpopulated();

	igt_describe("Regression test for -EBUSY from time spent blocked: a "
		     "CHECKSUM of a never-touched page registered with "
		     "userfaultfd for missing pages, whose monitor resolves the "
		     "fault (UFFDIO_COPY) only after 3 s, three times "
		     "VBLIT_PARAM_RETRY_TIMEOUT_MS or more: the acquisition "
		     "waits for it as a CPU access would, and the job hashes the "
		     "monitor's data; no -EBUSY is counted. Before the fix the "
		     "unpinned backing counted the wait against the collision "
		     "budget and failed with -EBUSY after the monitor answered. "
		     "backing=pinned on 6.1 gives its documented -EFAULT at "
		     "once.");
	igt_subtest("uffd-slow-monitor")
		test_uffd_slow_monitor();

	igt_describe("A non-fatal signal (SIGUSR1, handler without SA_RESTART) "
		     "300 ms into an acquisition waiting for a userfaultfd "
		     "monitor that answers after 3 s interrupts the wait as it "
		     "would a CPU access: EXEC fails with -EINTR within 1 s, "
		     "nothing is published (the destination is unchanged, no job "
		     "counted), and once the monitor answered the same job "
		     "succeeds with the monitor's data. Both backings; on 6.1 "
		     "backing=pinned gives its documented -EFAULT at once. "
		     "Before the fix the pinned backing ignored the signal (0 "
		     "after 3 s) and the unpinned one returned -EINTR only after "
		     "the monitor answered.");
	igt_subtest("uffd-slow-monitor-signal")
		test_uffd_slow_monitor_signal();

	igt_describe("SIGKILL ends an acquisition waiting for a userfaultfd "
		     "monitor (which would answer after a minute) at once: the "
		     "process is reaped within 1 s of the signal, its objects "
		     "and pins released. Both backings; on 6.1 backing=pinned "
		     "fails with -EFAULT before any wait.");
	igt_subtest("uffd-slow-monitor-kill")
		test_uffd_slow_monitor_kill();

	igt_describe("Regression test for -EBUSY from time spent blocked on "
		     "mmap_lock: one thread fills an object only it uses and "
		     "checks the memory, for 10 s, while another thread forks in "
		     "a loop, each fork stalled for 1.5 s (with mmap_lock held "
		     "for write) by a held job on a second object placed after "
		     "the first, so that fork write-protects the first before it "
		     "waits. A fill that meets a fork blocks for up to the hold, "
		     "then collides once with its own copy-on-write break: none "
		     "may fail with -EBUSY, and every fill is in memory. Before "
		     "the fix the time blocked counted against the retry budget "
		     "and such fills failed with -EBUSY.");
	igt_subtest("fork-stall") {
		vblit_require_release_at_invalidation(RELEASE_NEVER_WAITS_FORK);
		test_fork_stall();
	}

	igt_describe("Regression test for -EBUSY against ksmd: a 2 MiB object on "
		     "a transparent huge page, three page contents repeated, "
		     "MADV_MERGEABLE, after a fork in which the child writes its "
		     "copy and the parent rewrites half, is copied from by the "
		     "device for 1.5 s while ksmd scans fast (2000 pages every "
		     "20 ms); 10 tries. No copy fails with -EBUSY, each reads "
		     "exactly the CPU's data. Before the fix the pinned backing "
		     "failed about one try in ten: ksmd merged the pages an "
		     "acquisition had just unshared, as fast as it unshared "
		     "them.");
	igt_subtest("ksm-cow-thp")
		test_ksm_cow_thp();

	igt_describe("ftruncate() of a MAP_SHARED memfd under a used object to "
		     "half its size: every job on the object gives -EFAULT "
		     "(its second half is past EOF), the data before EOF is "
		     "intact for the CPU, the file and an object over that "
		     "half; grown back, the object works again and the second "
		     "half reads zero.");
	igt_subtest("memfd-shrink")
		test_memfd_shrink();

	igt_describe("fallocate(PUNCH_HOLE) of four pages of a MAP_SHARED "
		     "memfd under a used object: the device, the CPU and the "
		     "file read zero there and the old data elsewhere; device "
		     "writes reach the file.");
	igt_subtest("memfd-punch-hole")
		test_memfd_punch_hole();

	igt_describe("mremap(MAYMOVE|FIXED) moves a used object's memory away: "
		     "the object stays bound to the old address, so every job "
		     "gives -EFAULT and the moved data is untouched; fresh "
		     "memory mapped at the old address is then what the object "
		     "reads and writes, still without touching the moved data.");
	igt_subtest("mremap-move")
		test_mremap_move();

	igt_describe("A MAP_SHARED tmpfs file under an object: device writes "
		     "reach the file (pread) and another process's mapping; "
		     "that process's writes reach the device. Device writes "
		     "into pages the CPU only read (clean pages) survive "
		     "MADV_PAGEOUT of the mapping: they must not be dropped as "
		     "clean.");
	igt_subtest("shared-file")
		test_shared_file();

	igt_describe("mlock() of a used object's memory: the device keeps "
		     "working; MADV_PAGEOUT and MADV_DONTNEED are refused "
		     "(-EINVAL) and nothing is swapped; after munlock() the "
		     "pages go to swap and the device swaps them back in with "
		     "their data.");
	igt_subtest("mlock") {
		vblit_require_release_at_invalidation(RELEASE_PINNED_UNTIL_USE);
		test_mlock();
	}

	igt_describe("mlock2(MLOCK_ONFAULT) of memory nobody touched: the "
		     "device's acquisition faults the pages in, and they are "
		     "then locked (resident, not reclaimable); after munlock() "
		     "they swap out and back with the device's data.");
	igt_subtest("mlock-onfault") {
		vblit_require_release_at_invalidation(RELEASE_PINNED_UNTIL_USE);
		test_mlock_onfault();
	}

	igt_describe("Automatic NUMA balancing left on (with short scan "
		     "periods), a process whose object's memory is on node 0 "
		     "running on node 1: the scanner's hinting faults (and the "
		     "migrations they start) invalidate the object within a "
		     "few seconds, and every device read and write meanwhile "
		     "sees exactly the CPU's data.");
	igt_subtest("numa-balancing")
		test_numa_balancing();

	igt_describe("A process in a memory cgroup holding idle, used objects "
		     "is picked by the group's OOM killer (dying already, so "
		     "silently) and the OOM reaper invalidates its objects "
		     "without blocking: exactly one completed non-blockable "
		     "invalidation per object, none refused, the pins go at "
		     "once; the process is reaped and every object and pin is "
		     "released.");
	igt_subtest("oom-idle") {
		vblit_require_release_at_invalidation(RELEASE_NEVER_WAITS_OOM);
		test_oom(false);
	}

	igt_describe("As oom-idle with one object busy (a held job): the "
		     "reaper refuses it (counted) and reaps the rest; once the "
		     "job is released its next attempt completes; nothing "
		     "hangs and every object and pin is released.");
	igt_subtest("oom-busy") {
		vblit_require_release_at_invalidation(RELEASE_NEVER_WAITS_OOM);
		test_oom(true);
	}

	igt_describe("A non-blockable invalidation (the OOM reaper's kind, "
		     "delivered by the debugfs hook) of an idle object "
		     "completes: the pins go, the next job re-acquires the "
		     "pages and the data is right both ways. Addresses no "
		     "object of the writer's mm covers give -ENOENT, also for "
		     "another process's objects; overlapping objects are all "
		     "invalidated.");
	igt_subtest("nonblock-idle")
		test_nonblock_idle();

	igt_describe("A non-blockable invalidation of an object with a held "
		     "job in flight is refused (-EBUSY, counted; with "
		     "release=deferred it completes at once, the pins staying "
		     "for the job): the pages stay valid for the job, whose "
		     "data lands where the CPU reads it once released; then "
		     "the same invalidation completes and the next job "
		     "re-acquires.");
	igt_subtest("nonblock-busy")
		test_nonblock_busy();

	igt_describe("Regression test for device writes lost on reclaim: pages "
		     "the device wrote must be dirty before reclaim looks at "
		     "them, or it discards them as clean: lazily-freed "
		     "(MADV_FREE) anonymous pages, and shmem pages the CPU "
		     "only read. Found with backing=unpinned, which acquired "
		     "the pages through hmm_range_fault() and never marked "
		     "them dirty.");
	igt_subtest_with_dynamic("write-not-dirtied") {
		igt_dynamic("lazyfree-anon")
			write_not_dirtied_lazyfree();
		igt_dynamic("clean-shmem")
			write_not_dirtied_clean_shmem();
	}

	igt_fixture
		close(fd);
}
