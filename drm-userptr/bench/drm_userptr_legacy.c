// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * drm_userptr legacy topology: a BENCHMARK COMPARATOR, not for production.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/dma-resv.h>
#include <linux/interval_tree.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "drm_userptr_bench.h"

/**
 * DOC: Legacy comparator
 *
 * The "legacy" topology reproduces the design drm_userptr replaces,
 * so that benchmarks can measure the difference in one run: i915's 2018
 * "Wrap mmu_notifier inside its own rw_semaphore". One classic
 * &struct mmu_notifier per mm, an interval tree of that mm's objects, and
 * an rw_semaphore taken for read around page pinning and publication and
 * for write from invalidate_range_start() to invalidate_range_end(), for
 * every invalidation of the mm whether it touches an object or not.
 *
 * It is made to work, not to be a strawman, and that forced one change:
 * held for read across pinning, as in the original, the semaphore
 * deadlocks on the first pin that has to fault (a COW break, the zero page
 * replaced by a write pin): the fault invalidates a range of the same mm,
 * and invalidate_range_start() waits for the write lock against the read
 * lock its own task holds. Our functional suite hit it at once (the
 * "overlap" subtest). So a reader takes the semaphore for read only to
 * sample the mm's invalidation generation (which waits out any running
 * invalidation, the serialisation this comparator exists to measure), pins
 * without it, and publishes under the notifier lock only if the generation
 * has not moved: every invalidation of the mm, whether it touches an
 * object or not, collides with every acquisition in that mm. Validity is
 * published under the same notifier lock and chunk bitmaps as the other
 * topologies, so the submission protocol is unchanged.
 *
 * The second change: invalidations nest. Zapping part of a transparent
 * huge page splits it, and the split opens its own invalidation inside the
 * zap's, on the same task; a write lock held from start to end deadlocks
 * there (our "partial-invalidate-dontneed" subtest hung on it). The writer
 * records itself and a nesting depth, and a nested start on the same task
 * proceeds under the write lock it already holds.
 *
 * Locking: the lock it exists to measure, &drm_userptr_legacy_mm.sem, a
 * per-mm rw_semaphore outside the notifier lock, held for write by the
 * notifier from invalidate_range_start() to invalidate_range_end() and
 * taken for read only to sample the mm's invalidation generation.
 */

/**
 * struct drm_userptr_legacy_mm - the per-mm state of the legacy comparator
 */
struct drm_userptr_legacy_mm {
	/** @mn: the mm's classic notifier, from mmu_notifier_get(). */
	struct mmu_notifier mn;
	/**
	 * @sem: read: taken by a validation to sample @gen; write: held from
	 * invalidate_range_start() to _end.
	 */
	struct rw_semaphore sem;
	/**
	 * @gen: invalidations of the mm so far. Write: @sem held for write
	 * and the notifier lock held; read: the notifier lock or @sem held.
	 */
	unsigned long gen;
	/** @objects: interval tree of the mm's objects; @sem held for write. */
	struct rb_root_cached objects;
	/** @udev: the device, for counting invalidations that hit nothing. */
	struct drm_userptr_device *udev;
	/**
	 * @writer: the task holding @sem for write, NULL if none. Written
	 * only by that task while it holds @sem for write; other tasks can
	 * only find it unequal to themselves.
	 */
	struct task_struct *writer;
	/** @depth: nested invalidations of @writer; @sem held for write. */
	unsigned int depth;
};

/**
 * struct drm_userptr_legacy_obj - an object's place in its mm's tree
 */
struct drm_userptr_legacy_obj {
	/** @it: node in &drm_userptr_legacy_mm.objects. */
	struct interval_tree_node it;
	/** @lmm: the mm's shared notifier state. */
	struct drm_userptr_legacy_mm *lmm;
	/** @up: the object. */
	struct drm_userptr *up;
};

static struct drm_userptr_legacy_obj *legacy_obj(const struct drm_userptr *up)
{
	return up->topology_private;
}

static struct drm_userptr_legacy_mm *to_legacy_mm(struct mmu_notifier *mn)
{
	return container_of(mn, struct drm_userptr_legacy_mm, mn);
}

/* End one level of invalidation; the outermost releases the semaphore. */
static void drm_userptr_legacy_unlock(struct drm_userptr_legacy_mm *lmm)
{
	if (--lmm->depth)
		return;
	WRITE_ONCE(lmm->writer, NULL);
	up_write(&lmm->sem);
}

/*
 * Begin one level of invalidation: take the semaphore for write, or nest
 * under the one this task already holds. -EAGAIN if it may not block.
 */
static int drm_userptr_legacy_lock(struct drm_userptr_legacy_mm *lmm,
				   bool blockable)
{
	if (READ_ONCE(lmm->writer) == current) {
		/* Nested: a THP split inside a zap, on this task. */
		lmm->depth++;
		return 0;
	}
	if (blockable)
		down_write(&lmm->sem);
	else if (!down_write_trylock(&lmm->sem))
		return -EAGAIN;
	WRITE_ONCE(lmm->writer, current);
	lmm->depth = 1;
	return 0;
}

/*
 * Move the mm's invalidation generation, under the notifier lock, so that
 * every acquisition in the mm collides. -EAGAIN if it may not block.
 */
static int drm_userptr_legacy_gen_inc(struct drm_userptr_legacy_mm *lmm,
				      bool blockable)
{
	if (!lmm->udev)
		return 0;
	if (blockable)
		mutex_lock(&lmm->udev->notifier_lock);
	else if (!mutex_trylock(&lmm->udev->notifier_lock))
		return -EAGAIN;
	lmm->gen++;
	mutex_unlock(&lmm->udev->notifier_lock);
	return 0;
}

/* Invalidate an object's range, waiting for the device to be idle on it. */
static void drm_userptr_legacy_invalidate(struct drm_userptr *up,
					  const struct mmu_notifier_range *range)
{
	mutex_lock(&up->udev->notifier_lock);
	__drm_userptr_mark_stale(up, range->start, range->end);
	mutex_unlock(&up->udev->notifier_lock);
	if (!dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP)) {
		drm_userptr_stat_inc(up->udev, DRM_USERPTR_STAT_INV_WAITS);
		dma_resv_wait_timeout(up->resv, DMA_RESV_USAGE_BOOKKEEP,
				      false, MAX_SCHEDULE_TIMEOUT);
	}
	mutex_lock(&up->udev->notifier_lock);
	__drm_userptr_drop_pending(up);
	mutex_unlock(&up->udev->notifier_lock);
}

/* The same without sleeping: -EAGAIN if the device is busy or locked. */
static int
drm_userptr_legacy_invalidate_nonblock(struct drm_userptr *up,
				       const struct mmu_notifier_range *range)
{
	if (!dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP) ||
	    !mutex_trylock(&up->udev->notifier_lock)) {
		drm_userptr_stat_inc(up->udev,
				     DRM_USERPTR_STAT_NONBLOCK_REFUSED);
		return -EAGAIN;
	}
	__drm_userptr_mark_stale(up, range->start, range->end);
	__drm_userptr_drop_pending(up);
	mutex_unlock(&up->udev->notifier_lock);
	drm_userptr_stat_inc(up->udev, DRM_USERPTR_STAT_NONBLOCK_OK);
	return 0;
}

static int drm_userptr_legacy_start(struct mmu_notifier *mn,
				    const struct mmu_notifier_range *range)
{
	struct drm_userptr_legacy_mm *lmm = to_legacy_mm(mn);
	bool blockable = mmu_notifier_range_blockable(range);
	struct interval_tree_node *it;
	struct drm_userptr *up;
	bool hit = false;
	int err;

	err = drm_userptr_legacy_lock(lmm, blockable);
	if (err)
		return err;

	err = drm_userptr_legacy_gen_inc(lmm, blockable);
	if (err)
		goto out_unlock;

	for (it = interval_tree_iter_first(&lmm->objects, range->start,
					   range->end - 1);
	     it; it = interval_tree_iter_next(it, range->start, range->end - 1)) {
		up = container_of(it, struct drm_userptr_legacy_obj, it)->up;
		hit = true;
		drm_userptr_count_event(up->udev, range->event);
		if (blockable) {
			drm_userptr_legacy_invalidate(up, range);
			continue;
		}
		err = drm_userptr_legacy_invalidate_nonblock(up, range);
		if (err)
			goto out_unlock;
	}
	if (!hit && lmm->udev)
		drm_userptr_stat_inc(lmm->udev, DRM_USERPTR_STAT_INV_MISSED);
	/* Held for write until invalidate_range_end(). */
	return 0;

out_unlock:
	drm_userptr_legacy_unlock(lmm);
	return err;
}

static void drm_userptr_legacy_end(struct mmu_notifier *mn,
				   const struct mmu_notifier_range *range)
{
	drm_userptr_legacy_unlock(to_legacy_mm(mn));
}

static struct mmu_notifier *drm_userptr_legacy_alloc(struct mm_struct *mm)
{
	struct drm_userptr_legacy_mm *lmm;

	lmm = kzalloc(sizeof(*lmm), GFP_KERNEL);
	if (!lmm)
		return ERR_PTR(-ENOMEM);
	init_rwsem(&lmm->sem);
	lmm->objects = RB_ROOT_CACHED;
	return &lmm->mn;
}

static void drm_userptr_legacy_free(struct mmu_notifier *mn)
{
	kfree(to_legacy_mm(mn));
}

static const struct mmu_notifier_ops drm_userptr_legacy_ops = {
	.invalidate_range_start = drm_userptr_legacy_start,
	.invalidate_range_end = drm_userptr_legacy_end,
	.alloc_notifier = drm_userptr_legacy_alloc,
	.free_notifier = drm_userptr_legacy_free,
};

static int drm_userptr_legacy_init(struct drm_userptr *up)
{
	struct drm_userptr_legacy_obj *lo;
	struct mmu_notifier *mn;

	lo = kzalloc(sizeof(*lo), GFP_KERNEL);
	if (!lo)
		return -ENOMEM;
	mn = mmu_notifier_get(&drm_userptr_legacy_ops, up->mm);
	if (IS_ERR(mn)) {
		kfree(lo);
		return PTR_ERR(mn);
	}
	lo->lmm = to_legacy_mm(mn);
	lo->up = up;
	lo->it.start = up->start;
	lo->it.last = up->start + (up->npages << PAGE_SHIFT) - 1;
	up->topology_private = lo;

	down_write(&lo->lmm->sem);
	lo->lmm->udev = up->udev;
	interval_tree_insert(&lo->it, &lo->lmm->objects);
	up_write(&lo->lmm->sem);
	return 0;
}

static void drm_userptr_legacy_fini(struct drm_userptr *up)
{
	struct drm_userptr_legacy_obj *lo = legacy_obj(up);

	down_write(&lo->lmm->sem);
	interval_tree_remove(&lo->it, &lo->lmm->objects);
	up_write(&lo->lmm->sem);
	mmu_notifier_put(&lo->lmm->mn);
	up->topology_private = NULL;
	kfree(lo);
}

static int drm_userptr_legacy_read_begin(struct drm_userptr *up, void **cookie)
{
	struct drm_userptr_legacy_mm *lmm = legacy_obj(up)->lmm;

	if (down_read_killable(&lmm->sem))
		return -EINTR;
	*cookie = (void *)lmm->gen;
	up_read(&lmm->sem);
	return 0;
}

static int drm_userptr_legacy_acquire(struct drm_userptr *up, void *cookie,
				      unsigned long first, unsigned long count,
				      struct page **pages)
{
	return drm_userptr_pin_range(up, first, count, pages);
}

/* Any invalidation of the mm since read_begin is a collision. */
static bool drm_userptr_legacy_read_retry(struct drm_userptr *up, void *cookie)
{
	return legacy_obj(up)->lmm->gen != (unsigned long)cookie;
}

static void drm_userptr_legacy_commit(struct drm_userptr *up, void *cookie)
{
}

static void drm_userptr_legacy_read_end(struct drm_userptr *up, void *cookie)
{
}

/* Every invalidation marks the chunks it covers: the bitmap is the truth. */
static bool drm_userptr_legacy_is_current(struct drm_userptr *up)
{
	return true;
}

struct drm_userptr_topology drm_userptr_legacy_topology = {
	.name = "legacy",
	.id = DRM_USERPTR_BENCH_LEGACY,
	.pins = true,
	.init = drm_userptr_legacy_init,
	.fini = drm_userptr_legacy_fini,
	.read_begin = drm_userptr_legacy_read_begin,
	.acquire = drm_userptr_legacy_acquire,
	.read_retry = drm_userptr_legacy_read_retry,
	.commit = drm_userptr_legacy_commit,
	.read_end = drm_userptr_legacy_read_end,
	.is_current = drm_userptr_legacy_is_current,
};
