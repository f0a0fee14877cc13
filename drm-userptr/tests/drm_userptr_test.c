// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * KUnit tests for the pure parts of drm_userptr: argument validation and its
 * errno order, device init errors, the counters' names, the retry budget,
 * and the range bookkeeping of one object against a real (KUnit-provided)
 * mm: which invalidations hit it, what validation publishes and counts.
 *
 * Built only against a kernel with CONFIG_KUNIT (the debug kernel of
 * scripts/debug-kernel.sh); run by insmod, results in KTAP (dmesg and
 * /sys/kernel/debug/kunit/drm_userptr/results).
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/dma-resv.h>
#include <linux/errno.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/limits.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "drm_userptr.h"

#define TEST_PAGES	4
#define TEST_TIMEOUT_MS	1000
/* A page-aligned user address: valid for access_ok(), never dereferenced. */
#define USER_ADDR	0x10000000ULL
#define UNKNOWN_FLAG	0x4u

/* -- argument validation ---------------------------------------------------- */

/* check_args_accepts_valid: well-formed requests, up to the size limit */
static void check_args_accepts_valid(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE, 0), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE,
						     DRM_USERPTR_READ_ONLY), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE,
						     DRM_USERPTR_PROBE), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE,
						     DRM_USERPTR_READ_ONLY |
						     DRM_USERPTR_PROBE), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR,
						     DRM_USERPTR_MAX_SIZE, 0), 0);
}

/* check_args_rejects_unknown_flags: every bit outside the uapi is -EINVAL */
static void check_args_rejects_unknown_flags(struct kunit *test)
{
	u32 known = DRM_USERPTR_READ_ONLY | DRM_USERPTR_PROBE |
		    DRM_USERPTR_UNSYNCHRONIZED;
	unsigned int bit;

	for (bit = 0; bit < 32; bit++) {
		if (BIT(bit) & known)
			continue;
		KUNIT_EXPECT_EQ_MSG(test, drm_userptr_check_args(USER_ADDR,
								 PAGE_SIZE,
								 BIT(bit)),
				    -EINVAL, "flag bit %u", bit);
	}
}

/* check_args_rejects_too_big: one page over the limit is -E2BIG */
static void check_args_rejects_too_big(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR,
						     DRM_USERPTR_MAX_SIZE +
						     PAGE_SIZE, 0), -E2BIG);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, U64_MAX, 0),
			-E2BIG);
}

/* check_args_rejects_zero_size: an empty range is -EINVAL */
static void check_args_rejects_zero_size(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, 0, 0), -EINVAL);
}

/* check_args_rejects_unaligned: pointer or size off a page boundary */
static void check_args_rejects_unaligned(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR + 1, PAGE_SIZE, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR + PAGE_SIZE / 2,
						     PAGE_SIZE, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE + 1, 0),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE - 1, 0),
			-EINVAL);
}

/* check_args_rejects_wrap: a range past the top of the address space */
static void check_args_rejects_wrap(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(U64_MAX & PAGE_MASK,
						     PAGE_SIZE, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(U64_MAX & PAGE_MASK,
						     2 * PAGE_SIZE, 0), -EINVAL);
}

/* check_args_rejects_non_user_range: kernel addresses and the user top */
static void check_args_rejects_non_user_range(struct kunit *test)
{
	u64 top = TASK_SIZE_MAX & PAGE_MASK;

	/* The direct map: wholly outside user space. */
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args((u64)(uintptr_t)PAGE_OFFSET,
						     PAGE_SIZE, 0), -EFAULT);
	/* Straddling the end of user space. */
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(top - PAGE_SIZE,
						     4 * PAGE_SIZE, 0), -EFAULT);
	/* The non-canonical hole. */
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(1ULL << 47, PAGE_SIZE, 0),
			-EFAULT);
}

/* check_args_rejects_unsynchronized: i915's removed mode is -ENODEV */
static void check_args_rejects_unsynchronized(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE,
						     DRM_USERPTR_UNSYNCHRONIZED),
			-ENODEV);
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(USER_ADDR, PAGE_SIZE,
						     DRM_USERPTR_UNSYNCHRONIZED |
						     DRM_USERPTR_READ_ONLY),
			-ENODEV);
}

/*
 * check_args_errno_order: a request wrong in every way is repaired one fault
 * at a time, in i915's order; each step must report the next fault's errno.
 */
static void check_args_errno_order(struct kunit *test)
{
	static const struct {
		const char *fault;
		int err;
	} order[] = {
		{ "unknown flag", -EINVAL },
		{ "size above the limit", -E2BIG },
		{ "zero size", -EINVAL },
		{ "unaligned pointer", -EINVAL },
		{ "unaligned size", -EINVAL },
		{ "not a user range", -EFAULT },
		{ "unsynchronized", -ENODEV },
	};
	u64 ptr = (u64)(uintptr_t)PAGE_OFFSET + 1;
	u64 size = DRM_USERPTR_MAX_SIZE + PAGE_SIZE;
	u32 flags = UNKNOWN_FLAG | DRM_USERPTR_UNSYNCHRONIZED;
	unsigned int step;

	for (step = 0; step < ARRAY_SIZE(order); step++) {
		KUNIT_EXPECT_EQ_MSG(test, drm_userptr_check_args(ptr, size, flags),
				    order[step].err, "step %u: %s", step,
				    order[step].fault);
		switch (step) {
		case 0: /* repair the flags, keep UNSYNCHRONIZED for last */
			flags &= ~UNKNOWN_FLAG;
			break;
		case 1: /* a zero size is the next fault */
			size = 0;
			break;
		case 2: /* an unaligned size, still with an unaligned pointer */
			size = PAGE_SIZE + 1;
			break;
		case 3:
			ptr &= PAGE_MASK;
			break;
		case 4:
			size = PAGE_SIZE;
			break;
		case 5:
			ptr = USER_ADDR;
			break;
		case 6:
			flags &= ~DRM_USERPTR_UNSYNCHRONIZED;
			break;
		}
	}
	KUNIT_EXPECT_EQ(test, drm_userptr_check_args(ptr, size, flags), 0);
}

/* -- device init ------------------------------------------------------------ */

/* device_init_rejects_bad_backing: values outside the enum are -EINVAL */
static void device_init_rejects_bad_backing(struct kunit *test)
{
	struct drm_userptr_device *udev;

	udev = kunit_kzalloc(test, sizeof(*udev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, udev);
	KUNIT_EXPECT_EQ(test, drm_userptr_device_init(udev,
						      (enum drm_userptr_backing)1000, 0,
						      TEST_TIMEOUT_MS), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_device_init(udev,
						      (enum drm_userptr_backing)-1, 0,
						      TEST_TIMEOUT_MS), -EINVAL);
}

/*
 * device_init_deferred_needs_pins: deferred release is refused without pins,
 * unknown flags are refused, and the pinned backing accepts it
 */
static void device_init_deferred_needs_pins(struct kunit *test)
{
	struct drm_userptr_device *udev;

	udev = kunit_kzalloc(test, sizeof(*udev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, udev);
	KUNIT_EXPECT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_UNPINNED,
						      DRM_USERPTR_DEVICE_RELEASE_DEFERRED,
						      TEST_TIMEOUT_MS), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_PINNED,
						      0x80000000u,
						      TEST_TIMEOUT_MS), -EINVAL);
	KUNIT_ASSERT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_PINNED,
						      DRM_USERPTR_DEVICE_RELEASE_DEFERRED,
						      TEST_TIMEOUT_MS), 0);
	KUNIT_EXPECT_TRUE(test, drm_userptr_device_release_deferred(udev));
	drm_userptr_device_fini(udev);
}

/* device_init_rejects_zero_timeout: a zero retry bound is -EINVAL */
static void device_init_rejects_zero_timeout(struct kunit *test)
{
	struct drm_userptr_device *udev;

	udev = kunit_kzalloc(test, sizeof(*udev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, udev);
	KUNIT_EXPECT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_PINNED, 0,
						      0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_UNPINNED, 0,
						      0), -EINVAL);
}

/* device_init_resets_state: over garbage, every field starts clean */
static void device_init_resets_state(struct kunit *test)
{
	struct drm_userptr_device *udev;
	int i;

	udev = kunit_kmalloc(test, sizeof(*udev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, udev);
	memset(udev, 0xa5, sizeof(*udev));
	KUNIT_ASSERT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_UNPINNED, 0,
						      TEST_TIMEOUT_MS), 0);
	KUNIT_EXPECT_EQ(test, udev->backing, DRM_USERPTR_BACKING_UNPINNED);
	KUNIT_EXPECT_EQ(test, udev->retry_timeout_ms, TEST_TIMEOUT_MS);
	KUNIT_EXPECT_TRUE(test, list_empty(&udev->objects));
	for (i = 0; i < DRM_USERPTR_STAT_COUNT; i++)
		KUNIT_EXPECT_EQ_MSG(test, atomic64_read(&udev->stats[i]), 0,
				    "counter %d", i);
	KUNIT_EXPECT_FALSE(test, mutex_is_locked(&udev->notifier_lock));
	drm_userptr_device_fini(udev);
}

/* -- counters --------------------------------------------------------------- */

/* Set counter i to @base + i, or every counter to 0 (@base 0). */
static void stats_set(struct drm_userptr_device *udev, int base)
{
	int i;

	for (i = 0; i < DRM_USERPTR_STAT_COUNT; i++)
		atomic64_set(&udev->stats[i], base ? base + i : 0);
}

/* A device of the pinned backing with a retry timeout of @timeout_ms. */
static struct drm_userptr_device *test_udev(struct kunit *test,
					    unsigned int timeout_ms)
{
	struct drm_userptr_device *udev;

	udev = kunit_kzalloc(test, sizeof(*udev), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, udev);
	KUNIT_ASSERT_EQ(test, drm_userptr_device_init(udev,
						      DRM_USERPTR_BACKING_PINNED, 0,
						      timeout_ms), 0);
	return udev;
}

/* The lines drm_userptr_device_stats_show() prints, NUL-terminated. */
static char *stats_text(struct kunit *test, struct drm_userptr_device *udev)
{
	struct seq_file m = { .size = PAGE_SIZE };

	m.buf = kunit_kzalloc(test, m.size + 1, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, m.buf);
	drm_userptr_device_stats_show(udev, &m);
	KUNIT_ASSERT_LT(test, m.count, m.size);
	m.buf[m.count] = '\0';
	return m.buf;
}

/*
 * stats_show_names_each_counter: one "name: value" line per counter, names
 * unique, values those of the counters, and the names tools rely on present;
 * then the one derived line, leaked_pinned_pages.
 */
static void stats_show_names_each_counter(struct kunit *test)
{
	static const char *const required[] = {
		"userptr_live", "userptr_pinned_pages", "acquires", "retries",
		"submit_retries", "ebusy", "invalidations", "nonblock_ok",
		"nonblock_refused",
	};
	struct drm_userptr_device *udev = test_udev(test, TEST_TIMEOUT_MS);
	const char **names;
	char *line, *cur;
	int i, j, n = 0;

	names = kunit_kcalloc(test, DRM_USERPTR_STAT_COUNT, sizeof(*names),
			      GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, names);
	stats_set(udev, 1000);
	cur = stats_text(test, udev);
	/* Back to zeros: fini WARNs about objects or pins left. */
	stats_set(udev, 0);
	drm_userptr_device_fini(udev);

	while (n < DRM_USERPTR_STAT_COUNT && (line = strsep(&cur, "\n")) && *line) {
		char *sep = strstr(line, ": ");
		long long value;

		KUNIT_ASSERT_NOT_NULL_MSG(test, sep, "line \"%s\"", line);
		*sep = '\0';
		KUNIT_EXPECT_EQ_MSG(test, kstrtoll(sep + 2, 10, &value), 0,
				    "value of %s", line);
		KUNIT_EXPECT_EQ_MSG(test, value, 1000 + n, "value of %s", line);
		KUNIT_EXPECT_GT_MSG(test, strlen(line), 0, "line %d", n);
		for (j = 0; j < n; j++)
			KUNIT_EXPECT_STRNEQ_MSG(test, names[j], line,
						"duplicate name");
		names[n++] = line;
	}
	KUNIT_EXPECT_EQ(test, n, DRM_USERPTR_STAT_COUNT);
	/* Objects exist (1000 + i of them): no pin counts as leaked. */
	KUNIT_EXPECT_STREQ(test, cur ?: "", "leaked_pinned_pages: 0\n");
	for (i = 0; i < ARRAY_SIZE(required); i++) {
		bool found = false;

		for (j = 0; j < n; j++)
			found |= !strcmp(names[j], required[i]);
		KUNIT_EXPECT_TRUE_MSG(test, found, "no counter \"%s\"",
				      required[i]);
	}
}

/*
 * stats_show_leaked_pinned_pages: with no object left, every pinned page
 * is reported as leaked in the last line; with an object, none is.
 */
static void stats_show_leaked_pinned_pages(struct kunit *test)
{
	struct drm_userptr_device *udev = test_udev(test, TEST_TIMEOUT_MS);
	char *text;

	atomic64_set(&udev->stats[DRM_USERPTR_STAT_PINNED_PAGES], 7);
	text = stats_text(test, udev);
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, "\nleaked_pinned_pages: 7\n"));
	atomic64_set(&udev->stats[DRM_USERPTR_STAT_OBJECTS], 1);
	text = stats_text(test, udev);
	KUNIT_EXPECT_NOT_NULL(test, strstr(text, "\nleaked_pinned_pages: 0\n"));
	stats_set(udev, 0);
	drm_userptr_device_fini(udev);
}

/* -- the retry budget ------------------------------------------------------- */

/* budget_within_timeout_allows: collisions inside the timeout may retry */
static void budget_within_timeout_allows(struct kunit *test)
{
	struct drm_userptr_device *udev = test_udev(test, 60000);
	struct drm_userptr_budget budget;
	int i;

	drm_userptr_budget_init(&budget, udev);
	for (i = 0; i < 64; i++)
		KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&udev->stats[DRM_USERPTR_STAT_EBUSY]), 0);
	drm_userptr_device_fini(udev);
}

/*
 * budget_storm_gives_ebusy: collisions that go on past the timeout end in
 * -EBUSY, after more than DRM_USERPTR_BUDGET_SHARE charged intervals
 * however long each was; counted once
 */
static void budget_storm_gives_ebusy(struct kunit *test)
{
	struct drm_userptr_device *udev = test_udev(test, 1);
	struct drm_userptr_budget budget;
	int i;

	drm_userptr_budget_init(&budget, udev);
	for (i = 0; i <= DRM_USERPTR_BUDGET_SHARE; i++) {
		KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), 0);
		msleep(20);
	}
	KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), -EBUSY);
	KUNIT_EXPECT_EQ(test, atomic64_read(&udev->stats[DRM_USERPTR_STAT_EBUSY]), 1);
	drm_userptr_device_fini(udev);
}

/*
 * budget_clock_starts_at_first_collision: time before the first collision
 * (a submission blocked in a fault, say) is not charged
 */
static void budget_clock_starts_at_first_collision(struct kunit *test)
{
	struct drm_userptr_device *udev = test_udev(test, 100);
	struct drm_userptr_budget budget;
	int i;

	drm_userptr_budget_init(&budget, udev);
	msleep(200);
	for (i = 0; i < 2 * DRM_USERPTR_BUDGET_SHARE; i++)
		KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&udev->stats[DRM_USERPTR_STAT_EBUSY]), 0);
	drm_userptr_device_fini(udev);
}

/*
 * budget_long_round_capped: one long interval between collisions is
 * charged 1/DRM_USERPTR_BUDGET_SHARE of the timeout at most
 */
static void budget_long_round_capped(struct kunit *test)
{
	struct drm_userptr_device *udev = test_udev(test, 100);
	struct drm_userptr_budget budget;

	drm_userptr_budget_init(&budget, udev);
	KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), 0);
	msleep(300);
	KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), 0);
	KUNIT_EXPECT_LE(test, ktime_to_ms(budget.spent),
			100 / DRM_USERPTR_BUDGET_SHARE + 1);
	drm_userptr_device_fini(udev);
}

/* budget_longest_timeout_no_wrap: UINT_MAX ms must not wrap into the past */
static void budget_longest_timeout_no_wrap(struct kunit *test)
{
	struct drm_userptr_device *udev = test_udev(test, UINT_MAX);
	struct drm_userptr_budget budget;
	int i;

	drm_userptr_budget_init(&budget, udev);
	for (i = 0; i < 64; i++)
		KUNIT_EXPECT_EQ(test, drm_userptr_budget_charge(&budget), 0);
	drm_userptr_device_fini(udev);
}

/* -- objects on a real mm: range bookkeeping -------------------------------- */

struct test_ctx {
	struct drm_userptr_device udev;
	struct drm_userptr_budget budget;
	struct dma_resv resv;
	struct drm_userptr up;
	bool up_live;
	unsigned long map;	/* user mapping: guard page, object, guard page */
	unsigned long start;	/* first byte of the object */
};

static void test_ctx_fini(void *data)
{
	struct test_ctx *ctx = data;

	if (ctx->up_live)
		drm_userptr_fini(&ctx->up);
	drm_userptr_device_fini(&ctx->udev);
	dma_resv_fini(&ctx->resv);
}

/* A fresh retry budget, for one validation. */
static struct drm_userptr_budget *ctx_budget(struct test_ctx *ctx)
{
	drm_userptr_budget_init(&ctx->budget, &ctx->udev);
	return &ctx->budget;
}

static s64 ctx_stat(struct test_ctx *ctx, enum drm_userptr_stat s)
{
	return atomic64_read(&ctx->udev.stats[s]);
}

/*
 * A device, a reservation object and TEST_PAGES + 2 pages of anonymous user
 * memory in a fresh mm attached to the test's kthread; the object (created
 * by the caller) covers the middle TEST_PAGES.
 */
static struct test_ctx *test_ctx_init(struct kunit *test,
				      enum drm_userptr_backing backing,
				      unsigned long prot)
{
	struct test_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	dma_resv_init(&ctx->resv);
	KUNIT_ASSERT_EQ(test, drm_userptr_device_init(&ctx->udev, backing, 0,
						      TEST_TIMEOUT_MS), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, test_ctx_fini,
							ctx), 0);

	ctx->map = kunit_vm_mmap(test, NULL, 0, (TEST_PAGES + 2) * PAGE_SIZE,
				 prot, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(ctx->map) || !ctx->map)
		kunit_skip(test, "no user mapping in the test's kthread (%ld)",
			   (long)ctx->map);
	KUNIT_ASSERT_NOT_NULL(test, current->mm);
	ctx->start = ctx->map + PAGE_SIZE;
	return ctx;
}

static int test_ctx_create(struct test_ctx *ctx, u32 flags)
{
	int err;

	err = drm_userptr_init(&ctx->up, &ctx->udev, &ctx->resv, ctx->start,
			       TEST_PAGES * PAGE_SIZE, flags);
	ctx->up_live = !err;
	return err;
}

static bool test_ctx_is_current(struct test_ctx *ctx)
{
	bool current_pages;

	drm_userptr_notifier_lock(&ctx->udev);
	current_pages = drm_userptr_is_current(&ctx->up);
	drm_userptr_notifier_unlock(&ctx->udev);
	return current_pages;
}

/* init_without_mm_fails: from a kthread, bad args first, then -EFAULT */
static void init_without_mm_fails(struct kunit *test)
{
	struct test_ctx *ctx;

	KUNIT_ASSERT_NULL(test, current->mm);
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	dma_resv_init(&ctx->resv);
	KUNIT_ASSERT_EQ(test, drm_userptr_device_init(&ctx->udev,
						      DRM_USERPTR_BACKING_PINNED, 0,
						      TEST_TIMEOUT_MS), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, test_ctx_fini,
							ctx), 0);

	KUNIT_EXPECT_EQ(test, drm_userptr_init(&ctx->up, &ctx->udev, &ctx->resv,
					       USER_ADDR, 0, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_userptr_init(&ctx->up, &ctx->udev, &ctx->resv,
					       USER_ADDR, PAGE_SIZE, 0), -EFAULT);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_OBJECTS), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->udev.objects));
}

/* init_tracks_exact_range: notifier interval, page count, object list */
static void init_tracks_exact_range(struct kunit *test)
{
	struct test_ctx *ctx;

	ctx = test_ctx_init(test, DRM_USERPTR_BACKING_PINNED,
			    PROT_READ | PROT_WRITE);
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, 0), 0);

	KUNIT_EXPECT_EQ(test, ctx->up.start, ctx->start);
	KUNIT_EXPECT_EQ(test, ctx->up.npages, TEST_PAGES);
	KUNIT_EXPECT_EQ(test, ctx->up.notifier.interval_tree.start, ctx->start);
	KUNIT_EXPECT_EQ(test, ctx->up.notifier.interval_tree.last,
			ctx->start + TEST_PAGES * PAGE_SIZE - 1);
	KUNIT_EXPECT_PTR_EQ(test, ctx->up.mm, current->mm);
	KUNIT_EXPECT_NULL(test, ctx->up.pages);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_OBJECTS), 1);
	KUNIT_EXPECT_TRUE(test, list_is_singular(&ctx->udev.objects));
	/* Nothing acquired yet: the first use must acquire. */
	KUNIT_EXPECT_FALSE(test, test_ctx_is_current(ctx));

	drm_userptr_fini(&ctx->up);
	ctx->up_live = false;
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_OBJECTS), 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&ctx->udev.objects));
}

/*
 * Validate, then check that the published pages are the user memory: write
 * a pattern through the user address, read it back through the pages.
 */
static void validate_publishes_pages(struct kunit *test,
				     enum drm_userptr_backing backing)
{
	bool pinned = backing == DRM_USERPTR_BACKING_PINNED;
	struct test_ctx *ctx;
	unsigned long i;
	u32 *vaddr, got;

	ctx = test_ctx_init(test, backing, PROT_READ | PROT_WRITE);
	for (i = 0; i < TEST_PAGES; i++) {
		u32 val = 0xc0de0000 + i;

		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)(ctx->start +
								   i * PAGE_SIZE),
						   &val, sizeof(val)), 0);
	}
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, 0), 0);
	KUNIT_ASSERT_EQ(test, drm_userptr_validate(&ctx->up, true,
						   ctx_budget(ctx)),
			0);
	KUNIT_EXPECT_TRUE(test, test_ctx_is_current(ctx));
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_ACQUIRES), 1);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_ACQUIRED_PAGES),
			TEST_PAGES);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_PINNED_PAGES),
			pinned ? TEST_PAGES : 0);

	drm_userptr_notifier_lock(&ctx->udev);
	for (i = 0; i < TEST_PAGES; i++) {
		vaddr = kmap_local_page(drm_userptr_page(&ctx->up, i));
		got = *vaddr;
		kunmap_local(vaddr);
		KUNIT_EXPECT_EQ_MSG(test, got, 0xc0de0000 + i, "page %lu", i);
	}
	drm_userptr_notifier_unlock(&ctx->udev);

	/* Current pages: the second use only revalidates. */
	KUNIT_EXPECT_EQ(test, drm_userptr_validate(&ctx->up, false,
						   ctx_budget(ctx)),
			0);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_ACQUIRES), 1);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_REVALIDATIONS), 1);

	drm_userptr_fini(&ctx->up);
	ctx->up_live = false;
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_PINNED_PAGES), 0);
}

/* validate_publishes_pages_pinned: pins counted, pages are the user's */
static void validate_publishes_pages_pinned(struct kunit *test)
{
	validate_publishes_pages(test, DRM_USERPTR_BACKING_PINNED);
}

/* validate_publishes_pages_unpinned: nothing pinned, pages are the user's */
static void validate_publishes_pages_unpinned(struct kunit *test)
{
	validate_publishes_pages(test, DRM_USERPTR_BACKING_UNPINNED);
}

/*
 * validate_spent_budget_acquires_once: the budget limits retries, not the
 * first attempt: a spent budget still acquires uncontended pages.
 */
static void validate_spent_budget_acquires_once(struct kunit *test)
{
	struct test_ctx *ctx;
	int i, err = 0;

	ctx = test_ctx_init(test, DRM_USERPTR_BACKING_PINNED,
			    PROT_READ | PROT_WRITE);
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, 0), 0);
	drm_userptr_budget_init(&ctx->budget, &ctx->udev);
	for (i = 0; i < 64 && !err; i++) {
		err = drm_userptr_budget_charge(&ctx->budget);
		msleep(TEST_TIMEOUT_MS / 8 + 1);
	}
	KUNIT_ASSERT_EQ(test, err, -EBUSY);
	KUNIT_EXPECT_EQ(test, drm_userptr_validate(&ctx->up, true,
						   &ctx->budget), 0);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_ACQUIRES), 1);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_RETRIES), 0);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_EBUSY), 1);
}

/*
 * invalidate_outside_range_ignored: unmapping the pages just below and just
 * above the object leaves it untouched (the interval is exact).
 */
static void invalidate_outside_range_ignored(struct kunit *test)
{
	struct test_ctx *ctx;

	ctx = test_ctx_init(test, DRM_USERPTR_BACKING_PINNED,
			    PROT_READ | PROT_WRITE);
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, 0), 0);
	KUNIT_ASSERT_EQ(test, drm_userptr_validate(&ctx->up, true,
						   ctx_budget(ctx)),
			0);

	KUNIT_ASSERT_EQ(test, vm_munmap(ctx->map, PAGE_SIZE), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(ctx->start + TEST_PAGES * PAGE_SIZE,
					PAGE_SIZE), 0);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_INVALIDATIONS), 0);
	KUNIT_EXPECT_TRUE(test, test_ctx_is_current(ctx));
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_PINNED_PAGES),
			TEST_PAGES);
}

/*
 * invalidate_last_page_hits: unmapping only the object's last page
 * invalidates it (counted as an unmap), drops its pins, and the next
 * validation finds the hole (-EFAULT).
 */
static void invalidate_last_page_hits(struct kunit *test)
{
	struct test_ctx *ctx;

	ctx = test_ctx_init(test, DRM_USERPTR_BACKING_PINNED,
			    PROT_READ | PROT_WRITE);
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, 0), 0);
	KUNIT_ASSERT_EQ(test, drm_userptr_validate(&ctx->up, true,
						   ctx_budget(ctx)),
			0);

	KUNIT_ASSERT_EQ(test, vm_munmap(ctx->start + (TEST_PAGES - 1) * PAGE_SIZE,
					PAGE_SIZE), 0);
	KUNIT_EXPECT_GE(test, ctx_stat(ctx, DRM_USERPTR_STAT_INVALIDATIONS), 1);
	KUNIT_EXPECT_GE(test, ctx_stat(ctx, DRM_USERPTR_STAT_INV_UNMAP), 1);
	KUNIT_EXPECT_FALSE(test, test_ctx_is_current(ctx));
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_PINNED_PAGES), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_validate(&ctx->up, false,
						   ctx_budget(ctx)),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_PINNED_PAGES), 0);
}

/*
 * validate_read_only: a READ_ONLY object refuses write jobs (-EACCES) and
 * acquires a read-only mapping for reading.
 */
static void validate_read_only(struct kunit *test)
{
	struct test_ctx *ctx;

	ctx = test_ctx_init(test, DRM_USERPTR_BACKING_PINNED, PROT_READ);
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, DRM_USERPTR_READ_ONLY), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_validate(&ctx->up, true,
						   ctx_budget(ctx)),
			-EACCES);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_ACQUIRES), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_validate(&ctx->up, false,
						   ctx_budget(ctx)),
			0);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_ACQUIRES), 1);
}

/*
 * validate_writable_object_on_read_only_mapping: a writable object over a
 * PROT_READ mapping cannot be acquired (-EFAULT, nothing left pinned).
 */
static void validate_writable_object_on_read_only_mapping(struct kunit *test)
{
	struct test_ctx *ctx;

	ctx = test_ctx_init(test, DRM_USERPTR_BACKING_PINNED, PROT_READ);
	KUNIT_ASSERT_EQ(test, test_ctx_create(ctx, 0), 0);
	KUNIT_EXPECT_EQ(test, drm_userptr_validate(&ctx->up, false,
						   ctx_budget(ctx)),
			-EFAULT);
	KUNIT_EXPECT_EQ(test, ctx_stat(ctx, DRM_USERPTR_STAT_PINNED_PAGES), 0);
	KUNIT_EXPECT_FALSE(test, test_ctx_is_current(ctx));
}

static struct kunit_case drm_userptr_test_cases[] = {
	KUNIT_CASE(check_args_accepts_valid),
	KUNIT_CASE(check_args_rejects_unknown_flags),
	KUNIT_CASE(check_args_rejects_too_big),
	KUNIT_CASE(check_args_rejects_zero_size),
	KUNIT_CASE(check_args_rejects_unaligned),
	KUNIT_CASE(check_args_rejects_wrap),
	KUNIT_CASE(check_args_rejects_non_user_range),
	KUNIT_CASE(check_args_rejects_unsynchronized),
	KUNIT_CASE(check_args_errno_order),
	KUNIT_CASE(device_init_rejects_bad_backing),
	KUNIT_CASE(device_init_deferred_needs_pins),
	KUNIT_CASE(device_init_rejects_zero_timeout),
	KUNIT_CASE(device_init_resets_state),
	KUNIT_CASE(stats_show_names_each_counter),
	KUNIT_CASE(stats_show_leaked_pinned_pages),
	KUNIT_CASE(budget_within_timeout_allows),
	KUNIT_CASE(budget_storm_gives_ebusy),
	KUNIT_CASE(budget_clock_starts_at_first_collision),
	KUNIT_CASE(budget_long_round_capped),
	KUNIT_CASE(budget_longest_timeout_no_wrap),
	KUNIT_CASE(init_without_mm_fails),
	KUNIT_CASE(init_tracks_exact_range),
	KUNIT_CASE(validate_publishes_pages_pinned),
	KUNIT_CASE(validate_publishes_pages_unpinned),
	KUNIT_CASE(validate_spent_budget_acquires_once),
	KUNIT_CASE(invalidate_outside_range_ignored),
	KUNIT_CASE(invalidate_last_page_hits),
	KUNIT_CASE(validate_read_only),
	KUNIT_CASE(validate_writable_object_on_read_only_mapping),
	{}
};

static struct kunit_suite drm_userptr_test_suite = {
	.name = "drm_userptr",
	.test_cases = drm_userptr_test_cases,
};

kunit_test_suite(drm_userptr_test_suite);

MODULE_DESCRIPTION("KUnit tests for the drm_userptr helper");
MODULE_AUTHOR("The drm-userptr authors");
MODULE_LICENSE("Dual MIT/GPL");
