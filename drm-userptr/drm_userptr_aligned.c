// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * drm_userptr aligned topology: a BENCHMARK COMPARATOR, not for production.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/dma-resv.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "drm_userptr.h"
#include "drm_userptr_internal.h"

/**
 * DOC: Aligned comparator
 *
 * %DRM_USERPTR_BACKING_ALIGNED answers the question the interval-notifier
 * threads left open: instead of one interval notifier per object, use
 * notifiers aligned to a device page-table level (2 MiB blocks here),
 * created on demand and shared by every object of the mm that touches the
 * block, as RDMA's implicit ODP does. Pages are faulted with
 * hmm_range_fault() and never pinned, so it compares with
 * %DRM_USERPTR_BACKING_UNPINNED.
 *
 * What it trades: fewer notifiers in the mm's interval tree when objects are
 * small and dense, against invalidations of block memory no object uses
 * (counted as inv_missed), a sequence per block to check on every use, and
 * a callback that has to visit every object of the block. To keep object
 * lifetime simple the callback waits for the objects' fences while holding
 * the notifier lock; a production version would reference-count instead.
 *
 * Locking: blocks are looked up, created and freed under
 * &drm_userptr_device.objects_lock; the list of objects of a block and each
 * object's published block sequences are guarded by the notifier lock.
 */

#define DRM_USERPTR_BLOCK_SHIFT	21
#define DRM_USERPTR_BLOCK_SIZE	BIT(DRM_USERPTR_BLOCK_SHIFT)

/**
 * struct drm_userptr_aligned_mm - the blocks of one mm on one device
 */
struct drm_userptr_aligned_mm {
	/** @link: in &drm_userptr_device.aligned_mms; objects_lock. */
	struct list_head link;
	/** @mm: the mm, mmgrab()ed while blocks exist. */
	struct mm_struct *mm;
	/** @blocks: block index (address >> 21) to block; objects_lock. */
	struct xarray blocks;
};

/**
 * struct drm_userptr_block - one shared 2 MiB interval notifier
 */
struct drm_userptr_block {
	/** @notifier: covers [index << 21, (index + 1) << 21). */
	struct mmu_interval_notifier notifier;
	/** @udev: the device. */
	struct drm_userptr_device *udev;
	/** @index: the block's address >> 21, its key in the xarray. */
	unsigned long index;
	/** @users: number of objects referencing it; objects_lock. */
	unsigned int users;
	/** @refs: the objects' references; notifier lock. */
	struct list_head refs;
};

/**
 * struct drm_userptr_block_ref - an object's use of one block
 */
struct drm_userptr_block_ref {
	/** @block: the block. */
	struct drm_userptr_block *block;
	/** @up: the object. */
	struct drm_userptr *up;
	/** @link: in &drm_userptr_block.refs; notifier lock. */
	struct list_head link;
	/** @seq: the block sequence the pages were published under. */
	unsigned long seq;
};

static bool drm_userptr_overlaps(const struct drm_userptr *up,
				 unsigned long start, unsigned long end)
{
	return start < up->start + (up->npages << PAGE_SHIFT) && end > up->start;
}

static bool drm_userptr_block_invalidate(struct mmu_interval_notifier *mni,
					 const struct mmu_notifier_range *range,
					 unsigned long cur_seq)
{
	struct drm_userptr_block *block =
		container_of(mni, struct drm_userptr_block, notifier);
	struct drm_userptr_device *udev = block->udev;
	bool blockable = mmu_notifier_range_blockable(range);
	struct drm_userptr_block_ref *ref;
	bool hit = false;

	if (blockable) {
		mutex_lock(&udev->notifier_lock);
	} else {
		if (!mutex_trylock(&udev->notifier_lock))
			goto refuse;
		list_for_each_entry(ref, &block->refs, link) {
			if (drm_userptr_overlaps(ref->up, range->start, range->end) &&
			    !dma_resv_test_signaled(ref->up->resv,
						    DMA_RESV_USAGE_BOOKKEEP)) {
				mutex_unlock(&udev->notifier_lock);
				goto refuse;
			}
		}
	}

	mmu_interval_set_seq(mni, cur_seq);
	list_for_each_entry(ref, &block->refs, link) {
		struct drm_userptr *up = ref->up;

		if (!drm_userptr_overlaps(up, range->start, range->end))
			continue;
		hit = true;
		drm_userptr_count_event(udev, range->event);
		__drm_userptr_mark_stale(up, range->start, range->end);
		if (blockable &&
		    !dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP)) {
			/* Under the notifier lock: see DOC: Aligned comparator. */
			drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_INV_WAITS);
			dma_resv_wait_timeout(up->resv, DMA_RESV_USAGE_BOOKKEEP,
					      false, MAX_SCHEDULE_TIMEOUT);
		}
		__drm_userptr_drop_pending(up);
	}
	mutex_unlock(&udev->notifier_lock);
	if (!hit)
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_INV_MISSED);
	if (!blockable)
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_OK);
	return true;

refuse:
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_REFUSED);
	return false;
}

static const struct mmu_interval_notifier_ops drm_userptr_block_ops = {
	.invalidate = drm_userptr_block_invalidate,
};

/* objects_lock held. */
static struct drm_userptr_aligned_mm *
drm_userptr_aligned_mm_get(struct drm_userptr_device *udev,
			   struct mm_struct *mm)
{
	struct drm_userptr_aligned_mm *amm;

	lockdep_assert_held(&udev->objects_lock);
	list_for_each_entry(amm, &udev->aligned_mms, link)
		if (amm->mm == mm)
			return amm;
	amm = kzalloc(sizeof(*amm), GFP_KERNEL);
	if (!amm)
		return NULL;
	amm->mm = mm;
	mmgrab(mm);
	xa_init(&amm->blocks);
	list_add(&amm->link, &udev->aligned_mms);
	return amm;
}

/* objects_lock held; frees the per-mm state once it has no block left. */
static void drm_userptr_aligned_mm_put(struct drm_userptr_device *udev,
				       struct drm_userptr_aligned_mm *amm)
{
	lockdep_assert_held(&udev->objects_lock);
	if (!xa_empty(&amm->blocks))
		return;
	list_del(&amm->link);
	xa_destroy(&amm->blocks);
	mmdrop(amm->mm);
	kfree(amm);
}

static struct drm_userptr_aligned_mm *
drm_userptr_aligned_mm_find(struct drm_userptr_device *udev,
			    struct mm_struct *mm)
{
	struct drm_userptr_aligned_mm *amm;

	list_for_each_entry(amm, &udev->aligned_mms, link)
		if (amm->mm == mm)
			return amm;
	return NULL;
}

/* Drop the object's first @n references, freeing blocks left unused. */
static void drm_userptr_aligned_unref(struct drm_userptr *up, unsigned long n)
{
	struct drm_userptr_device *udev = up->udev;
	struct drm_userptr_aligned_mm *amm;
	struct drm_userptr_block *block;
	unsigned long i;

	mutex_lock(&udev->objects_lock);
	amm = drm_userptr_aligned_mm_find(udev, up->mm);
	for (i = 0; i < n; i++) {
		block = up->refs[i].block;
		mutex_lock(&udev->notifier_lock);
		list_del(&up->refs[i].link);
		mutex_unlock(&udev->notifier_lock);
		if (--block->users)
			continue;
		xa_erase(&amm->blocks, block->index);
		/* Waits for a running invalidation of the block. */
		mmu_interval_notifier_remove(&block->notifier);
		kfree(block);
	}
	if (amm)
		drm_userptr_aligned_mm_put(udev, amm);
	mutex_unlock(&udev->objects_lock);
}

static int drm_userptr_aligned_init(struct drm_userptr *up)
{
	struct drm_userptr_device *udev = up->udev;
	unsigned long first = up->start >> DRM_USERPTR_BLOCK_SHIFT;
	unsigned long last = (up->start + (up->npages << PAGE_SHIFT) - 1) >>
			     DRM_USERPTR_BLOCK_SHIFT;
	struct drm_userptr_aligned_mm *amm;
	struct drm_userptr_block *block;
	unsigned long i;
	int err = 0;

	up->nrefs = last - first + 1;
	up->refs = kcalloc(up->nrefs, sizeof(*up->refs), GFP_KERNEL);
	if (!up->refs)
		return -ENOMEM;

	mutex_lock(&udev->objects_lock);
	amm = drm_userptr_aligned_mm_get(udev, up->mm);
	if (!amm) {
		mutex_unlock(&udev->objects_lock);
		kfree(up->refs);
		return -ENOMEM;
	}
	for (i = 0; i < up->nrefs; i++) {
		block = xa_load(&amm->blocks, first + i);
		if (!block) {
			block = kzalloc(sizeof(*block), GFP_KERNEL);
			if (!block) {
				err = -ENOMEM;
				break;
			}
			block->udev = udev;
			block->index = first + i;
			INIT_LIST_HEAD(&block->refs);
			err = mmu_interval_notifier_insert(&block->notifier,
							   up->mm,
							   (first + i) << DRM_USERPTR_BLOCK_SHIFT,
							   DRM_USERPTR_BLOCK_SIZE,
							   &drm_userptr_block_ops);
			if (!err) {
				err = xa_err(xa_store(&amm->blocks, first + i,
						      block, GFP_KERNEL));
				if (err)
					mmu_interval_notifier_remove(&block->notifier);
			}
			if (err) {
				kfree(block);
				break;
			}
		}
		block->users++;
		up->refs[i].block = block;
		up->refs[i].up = up;
		up->refs[i].seq = ULONG_MAX;
		mutex_lock(&udev->notifier_lock);
		list_add_tail(&up->refs[i].link, &block->refs);
		mutex_unlock(&udev->notifier_lock);
	}
	if (!err) {
		mutex_unlock(&udev->objects_lock);
		return 0;
	}
	mutex_unlock(&udev->objects_lock);
	/* Also frees the per-mm state if this object created it. */
	drm_userptr_aligned_unref(up, i);
	kfree(up->refs);
	up->refs = NULL;
	return err;
}

static void drm_userptr_aligned_fini(struct drm_userptr *up)
{
	drm_userptr_aligned_unref(up, up->nrefs);
	kfree(up->refs);
	up->refs = NULL;
}

static int drm_userptr_aligned_read_begin(struct drm_userptr *up, void **cookie)
{
	unsigned long *seqs, i;

	seqs = kmalloc_array(up->nrefs, sizeof(*seqs), GFP_KERNEL);
	if (!seqs)
		return -ENOMEM;
	for (i = 0; i < up->nrefs; i++)
		seqs[i] = mmu_interval_read_begin(&up->refs[i].block->notifier);
	*cookie = seqs;
	return 0;
}

static int drm_userptr_aligned_acquire(struct drm_userptr *up, void *cookie,
				       unsigned long first, unsigned long count,
				       struct page **pages)
{
	unsigned long *seqs = cookie;
	unsigned long base = up->start >> DRM_USERPTR_BLOCK_SHIFT;
	unsigned long addr, next, n, i;
	int err;

	/* One hmm_range_fault() per block, under that block's sequence. */
	while (count) {
		addr = up->start + (first << PAGE_SHIFT);
		i = (addr >> DRM_USERPTR_BLOCK_SHIFT) - base;
		next = (addr | (DRM_USERPTR_BLOCK_SIZE - 1)) + 1;
		n = min(count, (next - addr) >> PAGE_SHIFT);
		err = drm_userptr_fault_range(up, &up->refs[i].block->notifier,
					      seqs[i], first, n, pages);
		if (err)
			return err;
		first += n;
		pages += n;
		count -= n;
	}
	return 0;
}

static bool drm_userptr_aligned_read_retry(struct drm_userptr *up, void *cookie)
{
	unsigned long *seqs = cookie;
	unsigned long i;

	for (i = 0; i < up->nrefs; i++)
		if (mmu_interval_read_retry(&up->refs[i].block->notifier, seqs[i]))
			return true;
	return false;
}

static void drm_userptr_aligned_commit(struct drm_userptr *up, void *cookie)
{
	unsigned long *seqs = cookie;
	unsigned long i;

	for (i = 0; i < up->nrefs; i++)
		up->refs[i].seq = seqs[i];
}

static void drm_userptr_aligned_read_end(struct drm_userptr *up, void *cookie)
{
	kfree(cookie);
}

static bool drm_userptr_aligned_is_current(struct drm_userptr *up)
{
	unsigned long i;

	for (i = 0; i < up->nrefs; i++)
		if (mmu_interval_read_retry(&up->refs[i].block->notifier,
					    up->refs[i].seq))
			return false;
	return true;
}

const struct drm_userptr_topology drm_userptr_aligned_topology = {
	.init = drm_userptr_aligned_init,
	.fini = drm_userptr_aligned_fini,
	.read_begin = drm_userptr_aligned_read_begin,
	.acquire = drm_userptr_aligned_acquire,
	.read_retry = drm_userptr_aligned_read_retry,
	.commit = drm_userptr_aligned_commit,
	.read_end = drm_userptr_aligned_read_end,
	.is_current = drm_userptr_aligned_is_current,
};
