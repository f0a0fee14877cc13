// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * drm_userptr: GEM objects backed by user memory.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/dma-resv.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "drm_userptr.h"

#define CREATE_TRACE_POINTS
#include "drm_userptr_trace.h"

/**
 * DOC: Overview
 *
 * A userptr object wraps a range of a process's ordinary memory as a GEM
 * object. The driver embeds a &struct drm_userptr in its GEM object and a
 * &struct drm_userptr_device in its device, and follows one protocol for
 * every job that uses the object:
 *
 * 1. drm_userptr_validate() for every userptr object of the job, with no
 *    driver lock held. It may sleep, fault and allocate: it (re)acquires
 *    the pages if an invalidation happened since they were last acquired.
 * 2. Lock the objects' reservations and reserve fence slots.
 * 3. drm_userptr_notifier_lock(); if drm_userptr_is_current() fails for any
 *    object, unlock everything and go back to 1 (the same deadline bounds
 *    the whole loop); else add the job's fence to every reservation.
 * 4. drm_userptr_notifier_unlock(), unlock the reservations, run the job.
 *    The device may use drm_userptr_page() until the job's fence signals.
 *
 * Example, for a job over one object::
 *
 *	unsigned long deadline = drm_userptr_deadline(udev);
 *	int err;
 *
 *	retry:
 *	err = drm_userptr_validate(&obj->up, true, deadline);
 *	if (err)
 *		return err;
 *	err = dma_resv_lock_interruptible(obj->base.resv, NULL);
 *	if (err)
 *		return err;
 *	err = dma_resv_reserve_fences(obj->base.resv, 1);
 *	if (err)
 *		goto out_unlock;
 *	drm_userptr_notifier_lock(udev);
 *	if (!drm_userptr_is_current(&obj->up)) {
 *		drm_userptr_notifier_unlock(udev);
 *		dma_resv_unlock(obj->base.resv);
 *		goto retry;
 *	}
 *	dma_resv_add_fence(obj->base.resv, fence, DMA_RESV_USAGE_WRITE);
 *	drm_userptr_notifier_unlock(udev);
 *	out_unlock:
 *	dma_resv_unlock(obj->base.resv);
 *
 * (A real driver also gives up with -EBUSY once the deadline has passed,
 * see vblit_exec.c.)
 *
 * Two backings are offered, chosen per device:
 *
 * - pinned: pin_user_pages_fast(FOLL_LONGTERM). Pins are dropped by the
 *   invalidation callback as soon as the device is idle, so the pages stay
 *   migratable, swappable and mergeable between jobs (i915 keeps them until
 *   the next use or the free, which defeats all three).
 * - unpinned: hmm_range_fault(). No reference is held; the pages are valid
 *   only while the notifier sequence is unchanged, and the callback must not
 *   return before the device stopped using them, which it guarantees by
 *   waiting for the reservation's fences.
 */

/**
 * DOC: Locking
 *
 * One lock, &drm_userptr_device.notifier_lock, a mutex per device:
 *
 * - Taken by the invalidation callback around mmu_interval_set_seq(), and
 *   again around dropping the pages once the device is idle.
 * - Taken by readers (drm_userptr_validate() and the driver's submission)
 *   around mmu_interval_read_retry() and whatever they publish on success:
 *   &drm_userptr.pages and &drm_userptr.seq, or a job's fence in the
 *   object's reservation.
 * - Nests inside the reservation locks (dma_resv) and inside mmap_lock; the
 *   callback runs with mmap_lock held (munmap) and from direct reclaim.
 *   Therefore nothing under the notifier lock may allocate with
 *   GFP_KERNEL, take a page or folio lock, take mmap_lock or a reservation
 *   lock, or wait for a fence. drm_userptr_device_init() teaches lockdep
 *   that the lock is taken inside fs_reclaim, so a GFP_KERNEL allocation
 *   under it is reported.
 *
 * The callback itself may run from reclaim and, during migration, with page
 * locks held. When blockable it sleeps only on the notifier lock and on the
 * object's fences, and the driver's jobs must signal without allocating
 * memory or taking page locks. When not blockable (the OOM reaper) it never
 * sleeps: it uses mutex_trylock() and dma_resv_test_signaled(), and returns
 * false if either would have had to wait.
 *
 * mmu_interval_notifier_remove() waits for a running callback, so it is
 * called only from drm_userptr_fini(), never under the notifier lock.
 *
 * A second mutex, &drm_userptr_device.objects_lock, guards the device's
 * list of objects. It is taken by drm_userptr_init() and drm_userptr_fini()
 * and by the debug hook, which nests the notifier lock (try-locked) inside
 * it; the callback never takes it.
 */

/**
 * DOC: Collision-retry
 *
 * The read side and the callback race only through the notifier's
 * sequence, in the style of mm/mmu_notifier.c::
 *
 *	reader (validate + submit)               callback (invalidate)
 *	seq = mmu_interval_read_begin()
 *	acquire pages (may fault, sleep)
 *	                                          lock(notifier_lock)
 *	                                          mmu_interval_set_seq()
 *	                                          unlock(notifier_lock)
 *	lock(notifier_lock)
 *	mmu_interval_read_retry(seq) -> true:
 *	  unlock, drop pages, retry
 *	                                          wait for resv fences
 *	                                          lock; drop pins; unlock
 *
 * or, when the reader wins the lock first::
 *
 *	lock(notifier_lock)
 *	mmu_interval_read_retry(seq) -> false
 *	publish pages / add job fence to resv
 *	unlock(notifier_lock)
 *	                                          lock(notifier_lock)
 *	                                          mmu_interval_set_seq()
 *	                                          unlock(notifier_lock)
 *	                                          wait for resv fences <- job
 *	                                          lock; drop pins; unlock
 *
 * Since the check and the publication happen under the lock the callback
 * needs for mmu_interval_set_seq(), a collision between them is impossible:
 * either the sequence moved before the check (the reader retries and
 * publishes nothing) or the fence was published before the sequence moved
 * (the callback sees it and waits for it). The callback reads the fences
 * after its unlock, and the mutex orders that read after the publication.
 *
 * Retries are bounded: userspace (libdrm's drmIoctl(), Mesa's intel_ioctl())
 * repeats EAGAIN forever, so the kernel never returns it. A reader that
 * keeps colliding for longer than &drm_userptr_device.retry_timeout_ms
 * gets -EBUSY; a pending signal gives -ERESTARTSYS.
 */

static void drm_userptr_stat_inc(struct drm_userptr_device *udev,
				 enum drm_userptr_stat stat)
{
	atomic64_inc(&udev->stats[stat]);
}

static void drm_userptr_stat_add(struct drm_userptr_device *udev,
				 enum drm_userptr_stat stat, long n)
{
	atomic64_add(n, &udev->stats[stat]);
}

static const char *const drm_userptr_stat_names[DRM_USERPTR_STAT_COUNT] = {
	[DRM_USERPTR_STAT_OBJECTS] = "userptr_live",
	[DRM_USERPTR_STAT_PINNED_PAGES] = "userptr_pinned_pages",
	[DRM_USERPTR_STAT_ACQUIRES] = "acquires",
	[DRM_USERPTR_STAT_ACQUIRED_PAGES] = "acquired_pages",
	[DRM_USERPTR_STAT_REVALIDATIONS] = "revalidations",
	[DRM_USERPTR_STAT_RETRIES] = "retries",
	[DRM_USERPTR_STAT_SUBMIT_RETRIES] = "submit_retries",
	[DRM_USERPTR_STAT_EBUSY] = "ebusy",
	[DRM_USERPTR_STAT_INVALIDATIONS] = "invalidations",
	[DRM_USERPTR_STAT_INV_UNMAP] = "inv_unmap",
	[DRM_USERPTR_STAT_INV_CLEAR] = "inv_clear",
	[DRM_USERPTR_STAT_INV_PROTECTION] = "inv_protection",
	[DRM_USERPTR_STAT_INV_SOFT_DIRTY] = "inv_soft_dirty",
	[DRM_USERPTR_STAT_INV_RELEASE] = "inv_release",
	[DRM_USERPTR_STAT_INV_MIGRATE] = "inv_migrate",
	[DRM_USERPTR_STAT_INV_EXCLUSIVE] = "inv_exclusive",
	[DRM_USERPTR_STAT_INV_WAITS] = "inv_waits",
	[DRM_USERPTR_STAT_NONBLOCK_OK] = "nonblock_ok",
	[DRM_USERPTR_STAT_NONBLOCK_REFUSED] = "nonblock_refused",
};

/**
 * drm_userptr_device_init() - initialise the per-device userptr state
 * @udev: the state, embedded in the driver's device
 * @backing: how the device's objects hold their pages
 * @retry_timeout_ms: how long drm_userptr_validate() retries collisions
 *
 * Return: 0 on success, -EINVAL for an unknown @backing or a zero
 * @retry_timeout_ms.
 */
int drm_userptr_device_init(struct drm_userptr_device *udev,
			    enum drm_userptr_backing backing,
			    unsigned int retry_timeout_ms)
{
	int i;

	if (backing != DRM_USERPTR_BACKING_PINNED &&
	    backing != DRM_USERPTR_BACKING_UNPINNED)
		return -EINVAL;
	if (!retry_timeout_ms)
		return -EINVAL;

	mutex_init(&udev->notifier_lock);
	mutex_init(&udev->objects_lock);
	INIT_LIST_HEAD(&udev->objects);
	udev->backing = backing;
	udev->retry_timeout_ms = retry_timeout_ms;
	for (i = 0; i < DRM_USERPTR_STAT_COUNT; i++)
		atomic64_set(&udev->stats[i], 0);

	/*
	 * The callback can run from direct reclaim: record once that the
	 * notifier lock nests inside fs_reclaim, so that lockdep reports any
	 * allocation that could recurse into reclaim under it.
	 */
	if (IS_ENABLED(CONFIG_LOCKDEP)) {
		fs_reclaim_acquire(GFP_KERNEL);
		mutex_lock(&udev->notifier_lock);
		mutex_unlock(&udev->notifier_lock);
		fs_reclaim_release(GFP_KERNEL);
	}
	return 0;
}
EXPORT_SYMBOL_GPL(drm_userptr_device_init);

/**
 * drm_userptr_device_fini() - tear down the per-device userptr state
 * @udev: the state; every object of the device must have been finalised
 */
void drm_userptr_device_fini(struct drm_userptr_device *udev)
{
	mutex_destroy(&udev->objects_lock);
	mutex_destroy(&udev->notifier_lock);
}
EXPORT_SYMBOL_GPL(drm_userptr_device_fini);

/**
 * drm_userptr_device_stats_show() - print the counters as "key: value" lines
 * @udev: the device
 * @m: the seq_file of a debugfs file
 */
void drm_userptr_device_stats_show(struct drm_userptr_device *udev,
				   struct seq_file *m)
{
	int i;

	for (i = 0; i < DRM_USERPTR_STAT_COUNT; i++)
		seq_printf(m, "%s: %lld\n", drm_userptr_stat_names[i],
			   (long long)atomic64_read(&udev->stats[i]));
}
EXPORT_SYMBOL_GPL(drm_userptr_device_stats_show);

/**
 * drm_userptr_notifier_lock() - take the device's notifier lock
 * @udev: the device
 *
 * Between this and drm_userptr_notifier_unlock() a driver checks
 * drm_userptr_is_current() and publishes its job's fences. Nothing in
 * between may allocate with GFP_KERNEL, take a page lock or wait.
 */
void drm_userptr_notifier_lock(struct drm_userptr_device *udev)
{
	mutex_lock(&udev->notifier_lock);
}
EXPORT_SYMBOL_GPL(drm_userptr_notifier_lock);

/**
 * drm_userptr_notifier_unlock() - release the device's notifier lock
 * @udev: the device
 */
void drm_userptr_notifier_unlock(struct drm_userptr_device *udev)
{
	mutex_unlock(&udev->notifier_lock);
}
EXPORT_SYMBOL_GPL(drm_userptr_notifier_unlock);

/* Caller holds the notifier lock. */
static bool __drm_userptr_is_current(struct drm_userptr *up)
{
	lockdep_assert_held(&up->udev->notifier_lock);
	return up->pages && !up->forced_stale &&
	       !mmu_interval_read_retry(&up->notifier, up->seq);
}

/**
 * drm_userptr_is_current() - check that the published pages are still valid
 * @up: the object
 *
 * Must be called with the notifier lock held; if it returns true, fences
 * added to the object's reservation before the lock is dropped are waited
 * for by any later invalidation before the pages are released.
 *
 * Return: true if the pages published by drm_userptr_validate() are still
 * those of the CPU page tables, false if the caller must validate again.
 */
bool drm_userptr_is_current(struct drm_userptr *up)
{
	return __drm_userptr_is_current(up);
}
EXPORT_SYMBOL_GPL(drm_userptr_is_current);

/**
 * drm_userptr_page() - a page of the object, for device access
 * @up: the object
 * @idx: page index, below the object's page count
 *
 * Only valid while a fence published under the notifier lock after a
 * successful drm_userptr_is_current() is unsignaled: the pages cannot be
 * released, nor the array replaced, before every such fence signaled.
 *
 * Return: the page.
 */
struct page *drm_userptr_page(struct drm_userptr *up, unsigned long idx)
{
	return up->pages[idx];
}
EXPORT_SYMBOL_GPL(drm_userptr_page);

/**
 * drm_userptr_deadline() - the deadline for one submission's retries
 * @udev: the device
 *
 * Return: a jiffies value to pass to drm_userptr_validate().
 */
unsigned long drm_userptr_deadline(struct drm_userptr_device *udev)
{
	return jiffies + msecs_to_jiffies(udev->retry_timeout_ms);
}
EXPORT_SYMBOL_GPL(drm_userptr_deadline);

static bool drm_userptr_writable(const struct drm_userptr *up)
{
	return !(up->flags & DRM_USERPTR_READ_ONLY);
}

/*
 * Drop the pins of @pages. From the callback (@may_lock false) the folio
 * lock must not be taken: the pins were taken with FOLL_LONGTERM, which the
 * mm only grants on anonymous, shmem and hugetlb memory, and for those
 * marking a page dirty needs no folio lock.
 */
static void drm_userptr_unpin(struct drm_userptr *up, struct page **pages,
			      bool may_lock)
{
	unsigned long i;

	if (may_lock) {
		unpin_user_pages_dirty_lock(pages, up->npages,
					    drm_userptr_writable(up));
	} else {
		if (drm_userptr_writable(up)) {
			for (i = 0; i < up->npages; i++)
				if (!PageDirty(pages[i]))
					set_page_dirty(pages[i]);
		}
		unpin_user_pages(pages, up->npages);
	}
	drm_userptr_stat_add(up->udev, DRM_USERPTR_STAT_PINNED_PAGES,
			     -(long)up->npages);
}

/* Caller holds the notifier lock; returns the pages whose pins to drop. */
static struct page **__drm_userptr_take_pins(struct drm_userptr *up)
{
	lockdep_assert_held(&up->udev->notifier_lock);
	if (!up->pinned)
		return NULL;
	up->pinned = false;
	return up->pages;
}

static void drm_userptr_count_event(struct drm_userptr_device *udev,
				    enum mmu_notifier_event event)
{
	static const enum drm_userptr_stat map[] = {
		[MMU_NOTIFY_UNMAP] = DRM_USERPTR_STAT_INV_UNMAP,
		[MMU_NOTIFY_CLEAR] = DRM_USERPTR_STAT_INV_CLEAR,
		[MMU_NOTIFY_PROTECTION_VMA] = DRM_USERPTR_STAT_INV_PROTECTION,
		[MMU_NOTIFY_PROTECTION_PAGE] = DRM_USERPTR_STAT_INV_PROTECTION,
		[MMU_NOTIFY_SOFT_DIRTY] = DRM_USERPTR_STAT_INV_SOFT_DIRTY,
		[MMU_NOTIFY_RELEASE] = DRM_USERPTR_STAT_INV_RELEASE,
		[MMU_NOTIFY_MIGRATE] = DRM_USERPTR_STAT_INV_MIGRATE,
		[MMU_NOTIFY_EXCLUSIVE] = DRM_USERPTR_STAT_INV_EXCLUSIVE,
	};

	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_INVALIDATIONS);
	if ((unsigned int)event < ARRAY_SIZE(map))
		drm_userptr_stat_inc(udev, map[event]);
}

/*
 * Non-blockable invalidation (the OOM reaper): never sleep. Complete only if
 * the lock is free and the device is idle on the object; otherwise refuse,
 * which the mm allows exactly because the range is not blockable: the
 * reaper then leaves this range alone and retries later, and the pages stay
 * valid for the device until then. @cur_seq is the notifier's new sequence,
 * or 0 from the debug hook, which marks the pages stale by a flag instead of
 * a sequence the mm does not know about.
 */
static bool drm_userptr_invalidate_nonblock(struct drm_userptr *up,
					    unsigned long cur_seq)
{
	struct drm_userptr_device *udev = up->udev;
	struct page **pins;

	if (!mutex_trylock(&udev->notifier_lock))
		goto refuse;
	if (!dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP)) {
		mutex_unlock(&udev->notifier_lock);
		goto refuse;
	}
	if (cur_seq)
		mmu_interval_set_seq(&up->notifier, cur_seq);
	else
		up->forced_stale = true;
	pins = __drm_userptr_take_pins(up);
	if (pins)
		drm_userptr_unpin(up, pins, false);
	mutex_unlock(&udev->notifier_lock);
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_OK);
	return true;

refuse:
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_REFUSED);
	return false;
}

static bool drm_userptr_debug_hooks;
module_param_named(debug_hooks, drm_userptr_debug_hooks, bool, 0600);
MODULE_PARM_DESC(debug_hooks,
		 "Enable test-only hooks, e.g. forced non-blockable invalidations (default: false)");

/**
 * drm_userptr_debug_invalidate_nonblock() - test hook: non-blockable invalidation
 * @udev: the device
 * @mm: the mm whose objects to consider
 * @addr: a user address; every object of @mm covering it is invalidated
 *
 * Delivers to each object the same decision the OOM reaper's non-blockable
 * invalidation gets (complete if the notifier lock is free and the device
 * idle, else refuse), so that both outcomes can be tested exactly. Only
 * with the drm_userptr module parameter debug_hooks set; not a stable
 * interface.
 *
 * Return: the number of objects invalidated (0 or more); -EPERM without
 * debug_hooks; -ENOENT if no object covers @addr; -EBUSY if any object
 * refused; -EINTR if interrupted waiting for the objects lock.
 */
int drm_userptr_debug_invalidate_nonblock(struct drm_userptr_device *udev,
					  struct mm_struct *mm,
					  unsigned long addr)
{
	struct drm_userptr *up;
	int done = 0, refused = 0;

	if (!drm_userptr_debug_hooks)
		return -EPERM;
	if (mutex_lock_interruptible(&udev->objects_lock))
		return -EINTR;
	list_for_each_entry(up, &udev->objects, link) {
		if (up->mm != mm || addr < up->start ||
		    addr >= up->start + (up->npages << PAGE_SHIFT))
			continue;
		if (drm_userptr_invalidate_nonblock(up, 0))
			done++;
		else
			refused++;
	}
	mutex_unlock(&udev->objects_lock);
	if (refused)
		return -EBUSY;
	return done ? done : -ENOENT;
}
EXPORT_SYMBOL_GPL(drm_userptr_debug_invalidate_nonblock);

static bool drm_userptr_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct drm_userptr *up = container_of(mni, struct drm_userptr, notifier);
	struct drm_userptr_device *udev = up->udev;
	bool blockable = mmu_notifier_range_blockable(range);
	struct page **pins;
	long ret;

	trace_drm_userptr_invalidate(up, range->start, range->end,
				     range->event, blockable);
	drm_userptr_count_event(udev, range->event);

	if (!blockable)
		return drm_userptr_invalidate_nonblock(up, cur_seq);

	might_sleep();
	mutex_lock(&udev->notifier_lock);
	mmu_interval_set_seq(mni, cur_seq);
	mutex_unlock(&udev->notifier_lock);

	/*
	 * From here no new job can be published on the object (its check
	 * under the lock fails), so waiting for the fences already there is
	 * waiting for the device to be done with the pages. Jobs signal
	 * without allocating or taking page locks, so this cannot wait on
	 * reclaim.
	 */
	if (!dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP)) {
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_INV_WAITS);
		ret = dma_resv_wait_timeout(up->resv, DMA_RESV_USAGE_BOOKKEEP,
					    false, MAX_SCHEDULE_TIMEOUT);
		if (ret <= 0)
			pr_err_ratelimited("drm_userptr: fence wait failed: %ld\n",
					   ret);
	}

	mutex_lock(&udev->notifier_lock);
	pins = __drm_userptr_take_pins(up);
	mutex_unlock(&udev->notifier_lock);
	if (pins)
		drm_userptr_unpin(up, pins, false);
	return true;
}

static const struct mmu_interval_notifier_ops drm_userptr_notifier_ops = {
	.invalidate = drm_userptr_invalidate,
};

/* Walk the VMAs of the range: every byte must be ordinary memory. */
static int drm_userptr_probe(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	struct vm_area_struct *vma;
	unsigned long addr;
	int err = 0;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	for (addr = start; addr < end; addr = vma->vm_end) {
		vma = vma_lookup(mm, addr);
		if (!vma || vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_IO)) {
			err = -EFAULT;
			break;
		}
	}
	mmap_read_unlock(mm);
	return err;
}

/**
 * drm_userptr_check_args() - check a userptr request, in i915's order
 * @user_ptr: start of the user memory
 * @user_size: size in bytes
 * @flags: the request's flags
 *
 * The pure part of drm_userptr_init(), exported for drivers that check
 * before allocating and for the KUnit tests.
 *
 * Return: 0 if the request is well formed; -EINVAL for unknown @flags;
 * -E2BIG if @user_size exceeds %DRM_USERPTR_MAX_SIZE; -EINVAL for a zero
 * @user_size, an unaligned @user_ptr or @user_size, or a range that wraps;
 * -EFAULT if the range is not a user range; -ENODEV for
 * %DRM_USERPTR_UNSYNCHRONIZED.
 */
int drm_userptr_check_args(u64 user_ptr, u64 user_size, u32 flags)
{
	if (flags & ~(DRM_USERPTR_READ_ONLY | DRM_USERPTR_PROBE |
		      DRM_USERPTR_UNSYNCHRONIZED))
		return -EINVAL;
	if (user_size > DRM_USERPTR_MAX_SIZE)
		return -E2BIG;
	if (!user_size)
		return -EINVAL;
	if (!PAGE_ALIGNED(user_ptr) || !PAGE_ALIGNED(user_size))
		return -EINVAL;
	if (user_ptr + user_size < user_ptr)
		return -EINVAL;
	if (!access_ok(u64_to_user_ptr(user_ptr), user_size))
		return -EFAULT;
	if (flags & DRM_USERPTR_UNSYNCHRONIZED)
		return -ENODEV;
	return 0;
}
EXPORT_SYMBOL_GPL(drm_userptr_check_args);

/**
 * drm_userptr_init() - validate a userptr request and start tracking it
 * @up: the object, embedded in the driver's GEM object
 * @udev: the device
 * @resv: the GEM object's reservation object
 * @user_ptr: start of the user memory, in the calling process
 * @user_size: size in bytes
 * @flags: %DRM_USERPTR_READ_ONLY, %DRM_USERPTR_PROBE
 *
 * Checks the request in i915's order and inserts one interval notifier on
 * the caller's mm for the range. No page is acquired: that happens at first
 * use, in drm_userptr_validate().
 *
 * Return: 0 on success; -EINVAL for unknown @flags; -E2BIG if @user_size
 * exceeds %DRM_USERPTR_MAX_SIZE; -EINVAL for a zero @user_size, an
 * unaligned @user_ptr or @user_size, or a range that wraps; -EFAULT if the
 * range is not a user range or the caller has no mm; -ENODEV for
 * %DRM_USERPTR_UNSYNCHRONIZED; -EFAULT from %DRM_USERPTR_PROBE for a hole
 * or a VM_PFNMAP, VM_MIXEDMAP or VM_IO mapping; -EINTR if killed while
 * probing; -ENOMEM.
 */
int drm_userptr_init(struct drm_userptr *up, struct drm_userptr_device *udev,
		     struct dma_resv *resv, u64 user_ptr, u64 user_size,
		     u32 flags)
{
	struct mm_struct *mm = current->mm;
	int err;

	err = drm_userptr_check_args(user_ptr, user_size, flags);
	if (err)
		return err;
	if (!mm)
		return -EFAULT;

	if (flags & DRM_USERPTR_PROBE) {
		err = drm_userptr_probe(mm, user_ptr, user_ptr + user_size);
		if (err)
			return err;
	}

	up->udev = udev;
	up->resv = resv;
	up->mm = mm;
	up->start = user_ptr;
	up->npages = user_size >> PAGE_SHIFT;
	up->flags = flags & DRM_USERPTR_READ_ONLY;
	/* Matches no notifier sequence and !pages: forces acquisition. */
	up->seq = ULONG_MAX;
	up->pages = NULL;
	up->pinned = false;
	up->forced_stale = false;

	err = mmu_interval_notifier_insert(&up->notifier, mm, user_ptr,
					   user_size, &drm_userptr_notifier_ops);
	if (err)
		return err;

	mutex_lock(&udev->objects_lock);
	list_add_tail(&up->link, &udev->objects);
	mutex_unlock(&udev->objects_lock);
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_OBJECTS);
	return 0;
}
EXPORT_SYMBOL_GPL(drm_userptr_init);

/**
 * drm_userptr_fini() - stop tracking and release the pages
 * @up: the object; the device must be done with it (no unsignaled fence)
 *
 * Removes the interval notifier, which waits for a running invalidation of
 * the range, then drops the pins. Must not be called under the notifier
 * lock or from an invalidation callback.
 */
void drm_userptr_fini(struct drm_userptr *up)
{
	struct drm_userptr_device *udev = up->udev;

	might_sleep();
	lockdep_assert_not_held(&udev->notifier_lock);

	mutex_lock(&udev->objects_lock);
	list_del(&up->link);
	mutex_unlock(&udev->objects_lock);

	mmu_interval_notifier_remove(&up->notifier);
	if (up->pinned)
		drm_userptr_unpin(up, up->pages, true);
	kvfree(up->pages);
	up->pages = NULL;
	atomic64_dec(&udev->stats[DRM_USERPTR_STAT_OBJECTS]);
}
EXPORT_SYMBOL_GPL(drm_userptr_fini);

static int drm_userptr_pin(struct drm_userptr *up, struct page **pages)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long done = 0;
	int ret;

	if (drm_userptr_writable(up))
		gup_flags |= FOLL_WRITE;

	while (done < up->npages) {
		ret = pin_user_pages_fast(up->start + (done << PAGE_SHIFT),
					  min_t(unsigned long, up->npages - done,
						INT_MAX >> PAGE_SHIFT),
					  gup_flags, pages + done);
		if (ret <= 0) {
			if (done)
				unpin_user_pages(pages, done);
			return ret ? ret : -EFAULT;
		}
		done += ret;
	}
	drm_userptr_stat_add(up->udev, DRM_USERPTR_STAT_PINNED_PAGES, done);
	return 0;
}

static int drm_userptr_fault(struct drm_userptr *up, struct page **pages,
			     unsigned long seq)
{
	struct hmm_range range = {
		.notifier = &up->notifier,
		.notifier_seq = seq,
		.start = up->start,
		.end = up->start + (up->npages << PAGE_SHIFT),
		.default_flags = HMM_PFN_REQ_FAULT,
	};
	struct mm_struct *mm = up->mm;
	unsigned long *pfns;
	unsigned long i;
	int ret;

	if (drm_userptr_writable(up))
		range.default_flags |= HMM_PFN_REQ_WRITE;

	pfns = kvmalloc_array(up->npages, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	range.hmm_pfns = pfns;

	if (!mmget_not_zero(mm)) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = mmap_read_lock_killable(mm);
	if (!ret) {
		ret = hmm_range_fault(&range);
		mmap_read_unlock(mm);
	}
	mmput(mm);
	if (ret)
		goto out_free;

	for (i = 0; i < up->npages; i++)
		pages[i] = hmm_pfn_to_page(pfns[i]);
out_free:
	kvfree(pfns);
	return ret;
}

/**
 * drm_userptr_validate() - make the object's pages current, acquiring them
 * @up: the object
 * @write: the job writes the object
 * @deadline: from drm_userptr_deadline(), shared by the whole submission
 *
 * Returns at once if the published pages are current. Otherwise runs the
 * collision-retry loop: mmu_interval_read_begin(), acquire the pages with no
 * lock held, then publish them under the notifier lock if
 * mmu_interval_read_retry() says no invalidation ran meanwhile. Must be
 * called from the process that created the object, with no driver lock
 * held. Success does not make the pages current at submission: the driver
 * must still check drm_userptr_is_current() under the notifier lock.
 *
 * Return: 0 on success; -EACCES if @write and the object is read-only;
 * -EFAULT if the caller is not the creator's mm, or the range is not (or
 * no longer) mapped with the needed access; -EBUSY if invalidations kept
 * colliding until @deadline; -ERESTARTSYS on a pending signal; -EINTR if
 * killed; -ENOMEM.
 */
int drm_userptr_validate(struct drm_userptr *up, bool write,
			 unsigned long deadline)
{
	struct drm_userptr_device *udev = up->udev;
	struct page **pages, **stale;
	unsigned int retries = 0;
	unsigned long seq;
	int err;

	might_sleep();
	might_lock(&udev->notifier_lock);

	if (write && !drm_userptr_writable(up))
		return -EACCES;
	if (current->mm != up->mm)
		return -EFAULT;

	mutex_lock(&udev->notifier_lock);
	if (__drm_userptr_is_current(up)) {
		mutex_unlock(&udev->notifier_lock);
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_REVALIDATIONS);
		return 0;
	}
	mutex_unlock(&udev->notifier_lock);

	pages = kvmalloc_array(up->npages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	for (;;) {
		if (signal_pending(current)) {
			err = -ERESTARTSYS;
			break;
		}
		if (retries && time_after(jiffies, deadline)) {
			drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_EBUSY);
			err = -EBUSY;
			break;
		}

		seq = mmu_interval_read_begin(&up->notifier);
		if (udev->backing == DRM_USERPTR_BACKING_PINNED)
			err = drm_userptr_pin(up, pages);
		else
			err = drm_userptr_fault(up, pages, seq);
		if (err == -EBUSY) {
			/* hmm_range_fault() saw the sequence move. */
			goto retry;
		}
		if (err) {
			/* Write access to a read-only mapping. */
			if (err == -EPERM)
				err = -EFAULT;
			break;
		}

		mutex_lock(&udev->notifier_lock);
		if (__drm_userptr_is_current(up)) {
			/* A concurrent validation published first. */
			mutex_unlock(&udev->notifier_lock);
			if (udev->backing == DRM_USERPTR_BACKING_PINNED)
				drm_userptr_unpin(up, pages, true);
			err = 0;
			break;
		}
		if (mmu_interval_read_retry(&up->notifier, seq)) {
			mutex_unlock(&udev->notifier_lock);
			if (udev->backing == DRM_USERPTR_BACKING_PINNED)
				drm_userptr_unpin(up, pages, true);
			goto retry;
		}
		/*
		 * The old array is stale: the invalidation that made it so
		 * waited for every fence published against it and dropped
		 * its pins before read_begin() above could return.
		 */
		stale = up->pages;
		up->pages = pages;
		up->pinned = udev->backing == DRM_USERPTR_BACKING_PINNED;
		up->forced_stale = false;
		up->seq = seq;
		mutex_unlock(&udev->notifier_lock);

		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_ACQUIRES);
		drm_userptr_stat_add(udev, DRM_USERPTR_STAT_ACQUIRED_PAGES,
				     up->npages);
		trace_drm_userptr_acquire(up, up->npages, retries);
		kvfree(stale);
		return 0;
retry:
		retries++;
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_RETRIES);
		trace_drm_userptr_retry(up, retries);
		cond_resched();
	}
	kvfree(pages);
	return err;
}
EXPORT_SYMBOL_GPL(drm_userptr_validate);

MODULE_DESCRIPTION("DRM GEM userptr helper: interval notifiers with collision-retry");
MODULE_AUTHOR("The drm-userptr authors");
MODULE_LICENSE("Dual MIT/GPL");
