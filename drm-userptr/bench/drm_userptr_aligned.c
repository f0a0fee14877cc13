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

#include "drm_userptr_bench.h"

/**
 * DOC: Aligned comparator
 *
 * The "aligned" topology answers the question the interval-notifier
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
 * &drm_userptr_aligned_dev.lock, which nests outside mmap_lock and outside
 * a running invalidation (block notifiers are inserted and removed under
 * it); the list of objects of a block and each object's published block
 * sequences are guarded by the notifier lock.
 */

#define DRM_USERPTR_BLOCK_SHIFT	21
#define DRM_USERPTR_BLOCK_SIZE	BIT(DRM_USERPTR_BLOCK_SHIFT)

/**
 * struct drm_userptr_aligned_dev - the comparator's state of one device
 */
struct drm_userptr_aligned_dev {
	/** @lock: guards @mms and every block's lookup and lifetime. */
	struct mutex lock;
	/** @mms: the &struct drm_userptr_aligned_mm of the device. */
	struct list_head mms;
};

/**
 * struct drm_userptr_aligned_mm - the blocks of one mm on one device
 */
struct drm_userptr_aligned_mm {
	/** @link: in &drm_userptr_aligned_dev.mms; its lock. */
	struct list_head link;
	/** @mm: the mm, mmgrab()ed while blocks exist. */
	struct mm_struct *mm;
	/** @blocks: block index (address >> 21) to block; the dev's lock. */
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
	/** @users: number of objects referencing it; the dev's lock. */
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

/**
 * struct drm_userptr_aligned_obj - an object's blocks
 */
struct drm_userptr_aligned_obj {
	/** @nrefs: number of @refs. */
	unsigned long nrefs;
	/** @refs: one per 2 MiB block the object touches. */
	struct drm_userptr_block_ref refs[];
};

static struct drm_userptr_aligned_dev *aligned_dev(struct drm_userptr_device *udev)
{
	return udev->topology_private;
}

static struct drm_userptr_aligned_obj *aligned_obj(const struct drm_userptr *up)
{
	return up->topology_private;
}

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

/* The dev's lock held. */
static struct drm_userptr_aligned_mm *
drm_userptr_aligned_mm_find(struct drm_userptr_aligned_dev *adev,
			    struct mm_struct *mm)
{
	struct drm_userptr_aligned_mm *amm;

	lockdep_assert_held(&adev->lock);
	list_for_each_entry(amm, &adev->mms, link)
		if (amm->mm == mm)
			return amm;
	return NULL;
}

/* The dev's lock held. */
static struct drm_userptr_aligned_mm *
drm_userptr_aligned_mm_get(struct drm_userptr_aligned_dev *adev,
			   struct mm_struct *mm)
{
	struct drm_userptr_aligned_mm *amm = drm_userptr_aligned_mm_find(adev, mm);

	if (amm)
		return amm;
	amm = kzalloc(sizeof(*amm), GFP_KERNEL);
	if (!amm)
		return NULL;
	amm->mm = mm;
	mmgrab(mm);
	xa_init(&amm->blocks);
	list_add(&amm->link, &adev->mms);
	return amm;
}

/* The dev's lock held; frees the per-mm state once it has no block left. */
static void drm_userptr_aligned_mm_put(struct drm_userptr_aligned_mm *amm)
{
	if (!xa_empty(&amm->blocks))
		return;
	list_del(&amm->link);
	xa_destroy(&amm->blocks);
	mmdrop(amm->mm);
	kfree(amm);
}

/* Drop the object's first @n references, freeing blocks left unused. */
static void drm_userptr_aligned_unref(struct drm_userptr *up, unsigned long n)
{
	struct drm_userptr_aligned_dev *adev = aligned_dev(up->udev);
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);
	struct drm_userptr_aligned_mm *amm;
	struct drm_userptr_block *block;
	unsigned long i;

	mutex_lock(&adev->lock);
	amm = drm_userptr_aligned_mm_find(adev, up->mm);
	for (i = 0; i < n; i++) {
		block = ao->refs[i].block;
		mutex_lock(&up->udev->notifier_lock);
		list_del(&ao->refs[i].link);
		mutex_unlock(&up->udev->notifier_lock);
		if (--block->users)
			continue;
		xa_erase(&amm->blocks, block->index);
		/* Waits for a running invalidation of the block. */
		mmu_interval_notifier_remove(&block->notifier);
		kfree(block);
	}
	if (amm)
		drm_userptr_aligned_mm_put(amm);
	mutex_unlock(&adev->lock);
}

/* The dev's lock held: the block at @index, created if need be. */
static struct drm_userptr_block *
drm_userptr_aligned_block_get(struct drm_userptr *up,
			      struct drm_userptr_aligned_mm *amm,
			      unsigned long index)
{
	struct drm_userptr_block *block = xa_load(&amm->blocks, index);
	int err;

	if (block)
		return block;
	block = kzalloc(sizeof(*block), GFP_KERNEL);
	if (!block)
		return ERR_PTR(-ENOMEM);
	block->udev = up->udev;
	block->index = index;
	INIT_LIST_HEAD(&block->refs);
	err = mmu_interval_notifier_insert(&block->notifier, up->mm,
					   index << DRM_USERPTR_BLOCK_SHIFT,
					   DRM_USERPTR_BLOCK_SIZE,
					   &drm_userptr_block_ops);
	if (!err) {
		err = xa_err(xa_store(&amm->blocks, index, block, GFP_KERNEL));
		if (err)
			mmu_interval_notifier_remove(&block->notifier);
	}
	if (err) {
		kfree(block);
		return ERR_PTR(err);
	}
	return block;
}

static int drm_userptr_aligned_init(struct drm_userptr *up)
{
	struct drm_userptr_aligned_dev *adev = aligned_dev(up->udev);
	unsigned long first = up->start >> DRM_USERPTR_BLOCK_SHIFT;
	unsigned long last = (up->start + (up->npages << PAGE_SHIFT) - 1) >>
			     DRM_USERPTR_BLOCK_SHIFT;
	struct drm_userptr_aligned_obj *ao;
	struct drm_userptr_aligned_mm *amm;
	struct drm_userptr_block *block;
	unsigned long i;
	int err = 0;

	ao = kzalloc(struct_size(ao, refs, last - first + 1), GFP_KERNEL);
	if (!ao)
		return -ENOMEM;
	ao->nrefs = last - first + 1;
	up->topology_private = ao;

	mutex_lock(&adev->lock);
	amm = drm_userptr_aligned_mm_get(adev, up->mm);
	for (i = 0; amm && i < ao->nrefs; i++) {
		block = drm_userptr_aligned_block_get(up, amm, first + i);
		if (IS_ERR(block)) {
			err = PTR_ERR(block);
			break;
		}
		block->users++;
		ao->refs[i].block = block;
		ao->refs[i].up = up;
		ao->refs[i].seq = ULONG_MAX;
		mutex_lock(&up->udev->notifier_lock);
		list_add_tail(&ao->refs[i].link, &block->refs);
		mutex_unlock(&up->udev->notifier_lock);
	}
	mutex_unlock(&adev->lock);
	if (!amm)
		err = -ENOMEM;
	if (!err)
		return 0;
	/* Also frees the per-mm state if this object created it. */
	drm_userptr_aligned_unref(up, amm ? i : 0);
	up->topology_private = NULL;
	kfree(ao);
	return err;
}

static void drm_userptr_aligned_fini(struct drm_userptr *up)
{
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);

	drm_userptr_aligned_unref(up, ao->nrefs);
	up->topology_private = NULL;
	kfree(ao);
}

static int drm_userptr_aligned_read_begin(struct drm_userptr *up, void **cookie)
{
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);
	unsigned long *seqs, i;

	seqs = kmalloc_array(ao->nrefs, sizeof(*seqs), GFP_KERNEL);
	if (!seqs)
		return -ENOMEM;
	for (i = 0; i < ao->nrefs; i++)
		seqs[i] = mmu_interval_read_begin(&ao->refs[i].block->notifier);
	*cookie = seqs;
	return 0;
}

static int drm_userptr_aligned_acquire(struct drm_userptr *up, void *cookie,
				       unsigned long first, unsigned long count,
				       struct page **pages)
{
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);
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
		err = drm_userptr_fault_range(up, &ao->refs[i].block->notifier,
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
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);
	unsigned long *seqs = cookie;
	unsigned long i;

	for (i = 0; i < ao->nrefs; i++)
		if (mmu_interval_read_retry(&ao->refs[i].block->notifier, seqs[i]))
			return true;
	return false;
}

static void drm_userptr_aligned_commit(struct drm_userptr *up, void *cookie)
{
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);
	unsigned long *seqs = cookie;
	unsigned long i;

	for (i = 0; i < ao->nrefs; i++)
		ao->refs[i].seq = seqs[i];
}

static void drm_userptr_aligned_read_end(struct drm_userptr *up, void *cookie)
{
	kfree(cookie);
}

static bool drm_userptr_aligned_is_current(struct drm_userptr *up)
{
	struct drm_userptr_aligned_obj *ao = aligned_obj(up);
	unsigned long i;

	for (i = 0; i < ao->nrefs; i++)
		if (mmu_interval_read_retry(&ao->refs[i].block->notifier,
					    ao->refs[i].seq))
			return false;
	return true;
}

static int drm_userptr_aligned_device_init(struct drm_userptr_device *udev)
{
	struct drm_userptr_aligned_dev *adev = kzalloc(sizeof(*adev), GFP_KERNEL);

	if (!adev)
		return -ENOMEM;
	mutex_init(&adev->lock);
	INIT_LIST_HEAD(&adev->mms);
	udev->topology_private = adev;
	return 0;
}

static void drm_userptr_aligned_device_fini(struct drm_userptr_device *udev)
{
	struct drm_userptr_aligned_dev *adev = aligned_dev(udev);

	WARN_ON(!list_empty(&adev->mms));
	mutex_destroy(&adev->lock);
	kfree(adev);
	udev->topology_private = NULL;
}

struct drm_userptr_topology drm_userptr_aligned_topology = {
	.name = "aligned",
	.id = DRM_USERPTR_BENCH_ALIGNED,
	.pins = false,
	.device_init = drm_userptr_aligned_device_init,
	.device_fini = drm_userptr_aligned_device_fini,
	.init = drm_userptr_aligned_init,
	.fini = drm_userptr_aligned_fini,
	.read_begin = drm_userptr_aligned_read_begin,
	.acquire = drm_userptr_aligned_acquire,
	.read_retry = drm_userptr_aligned_read_retry,
	.commit = drm_userptr_aligned_commit,
	.read_end = drm_userptr_aligned_read_end,
	.is_current = drm_userptr_aligned_is_current,
};
