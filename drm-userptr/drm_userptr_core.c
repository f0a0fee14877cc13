// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * drm_userptr: GEM objects backed by user memory.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/dma-resv.h>
#include <linux/hmm.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/lockdep.h>
#include <linux/mm.h>
#include <linux/mmu_context.h>
#include <linux/mmu_notifier.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>

#include "drm_userptr.h"
#include "drm_userptr_compat.h"
#include "drm_userptr_topology.h"

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
 *    object, unlock everything, charge the submission's retry budget with
 *    drm_userptr_budget_charge_submit() and go back to 1; else add the
 *    job's fence to every reservation.
 * 4. drm_userptr_notifier_unlock(), unlock the reservations, run the job.
 *    The device may use drm_userptr_page() until the job's fence signals.
 *
 * With deferred release (DOC: Release modes) step 1 is preceded by
 * drm_userptr_release_stale() once the device no longer uses the stale
 * pages, and drm_userptr_validate() may ask for it (-ESTALE).
 *
 * Example, for a job over one object::
 *
 *	struct drm_userptr_budget budget;
 *	int err;
 *
 *	drm_userptr_budget_init(&budget, udev);
 *	retry:
 *	err = drm_userptr_validate(&obj->up, true, &budget);
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
 *		err = drm_userptr_budget_charge_submit(&budget);
 *		if (err)
 *			return err;
 *		goto retry;
 *	}
 *	dma_resv_add_fence(obj->base.resv, fence, DMA_RESV_USAGE_WRITE);
 *	drm_userptr_notifier_unlock(udev);
 *	out_unlock:
 *	dma_resv_unlock(obj->base.resv);
 *
 * Two backings are offered, chosen per device:
 *
 * - pinned: pin_user_pages_fast(FOLL_LONGTERM). Pins are dropped by the
 *   invalidation callback as soon as the device is idle (or, with deferred
 *   release, by the driver later: DOC: Release modes), so migration and
 *   KSM, whose invalidations come first, can move and merge the pages
 *   between jobs (i915 keeps them until the next use or the free), but not
 *   while a validation of the object runs (DOC: Collision-retry). Reclaim
 *   and THP collapse skip maybe-pinned pages before they invalidate
 *   anything: pinned pages are swapped out only after some other
 *   invalidation dropped the pins. The unpinned backing has no such limit.
 * - unpinned: hmm_range_fault(). No reference is held; the pages are valid
 *   only while the notifier sequence is unchanged, and the callback must not
 *   return before the device stopped using them, which it guarantees by
 *   waiting for the reservation's fences.
 *
 * Revalidation is range-granular: pages are tracked in chunks of
 * %DRM_USERPTR_CHUNK_PAGES; the callback marks stale only the chunks the
 * invalidated range covers (and drops only their pins), and the next use
 * re-acquires only those. The sequence check still covers the whole
 * object, so correctness does not depend on the bookkeeping being tight:
 * every invalidation of the object's range moves its sequence and marks
 * the chunks it covers under the same lock, so the chunks not marked are
 * exactly those whose CPU mappings did not change since they were acquired.
 *
 * Other arrangements of notifiers exist only as benchmark comparators, in
 * a module of their own (bench/); they register a &struct
 * drm_userptr_topology (drm_userptr_topology.h) and share the page state
 * and the acquisition loop below. Nothing here refers to them.
 *
 * The file follows an object's life: device state and counters; create
 * (drm_userptr_init() checks the request and inserts the notifier);
 * validate (drm_userptr_validate() runs collision-retry rounds: begin,
 * acquire with no lock held, publish under the notifier lock); submit
 * (drm_userptr_is_current() under the notifier lock); invalidate (the
 * notifier's callback marks chunks stale, waits for the device, releases);
 * teardown (drm_userptr_fini()); with deferred release, the driver's
 * release of stale pins (drm_userptr_release_stale()) comes before it.
 */

/**
 * DOC: Locking
 *
 * One lock, &drm_userptr_device.notifier_lock, a mutex per device:
 *
 * - Taken by the invalidation callback around mmu_interval_set_seq(), and
 *   again around dropping the pages once the device is idle (release at
 *   invalidation; with deferred release, by drm_userptr_release_stale()
 *   around checking that the device is idle and dropping them).
 * - Taken by readers (drm_userptr_validate() and the driver's submission)
 *   around mmu_interval_read_retry() and whatever they publish on success:
 *   &drm_userptr.pages and &drm_userptr.seq, or a job's fence in the
 *   object's reservation.
 * - Guards the per-chunk state the two sides share: the &drm_userptr.stale,
 *   &drm_userptr.unpin and &drm_userptr.hit bitmaps and
 *   &drm_userptr.hit_owner. Every helper that touches them asserts it.
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
 * false if either would have had to wait. With deferred release it never
 * waits for fences at all: blockable, it sleeps only on the notifier lock;
 * not blockable, it refuses only when that lock is taken.
 *
 * drm_userptr_release_stale() waits for fences (with @wait_idle) without
 * the notifier lock, then takes it; its caller holds no lock the device's
 * jobs need to signal.
 *
 * mmu_interval_notifier_remove() waits for a running callback, so it is
 * called only from drm_userptr_fini(), never under the notifier lock.
 *
 * A second mutex, &drm_userptr_device.objects_lock, guards the device's
 * list of objects. It is taken by drm_userptr_init() and
 * drm_userptr_fini() and by the debug hook, which nests the notifier lock
 * (try-locked) inside it; callbacks never take it.
 *
 * A third, drm_userptr_topologies_lock, guards the list of registered
 * comparator topologies; it is taken alone, by their registration and by
 * drm_userptr_topology_get(). The comparators' own locks are documented in
 * bench/.
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
 * A collision does not throw the whole round away. Each round owns the
 * object's &drm_userptr.hit bitmap, cleared before read_begin, in which
 * every callback records the chunks it covers; at the check, the chunks of
 * the round that no callback touched are published (their pages are as
 * valid as after a clean round: any invalidation of them since the round
 * began would have left its mark) and only the touched ones are acquired
 * again. One round owns the bitmap at a time; the rounds of other threads
 * validating the same object meanwhile publish only when clean. A chunk
 * such a round published is no longer stale, and the owner releases its
 * own pages of that chunk instead of overwriting the published ones::
 *
 *	round (owns hit)                  callback (invalidates chunk 1)
 *	lock; hit = {}; unlock
 *	seq = mmu_interval_read_begin()
 *	lock; snap = stale = {0,1,2}; unlock
 *	acquire chunks 0, 1, 2
 *	                                  lock
 *	                                  mmu_interval_set_seq()
 *	                                  stale |= {1}; hit |= {1}
 *	                                  unlock; wait for fences; drop pins
 *	lock
 *	mmu_interval_read_retry(seq) -> true
 *	for c in snap: c in hit or not in stale?
 *	  1: release ours    0, 2: publish, stale &= ~{0,2}
 *	unlock
 *	next round: snap = stale = {1}
 * The sequence is committed by a clean round only, so the object is
 * current only once one round saw no collision at all. A large object
 * under a steady stream of invalidations (NUMA balancing scans it in
 * 2 MiB steps; a THP split or a migration its own acquisition caused)
 * therefore makes progress, where retrying the whole range could collide
 * every time until the bound. Acquisitions run in batches of at most
 * 2 MiB, so an hmm_range_fault() that sees the sequence move loses one
 * batch at most.
 *
 * With pins, a validation also keeps every pin it took until it ends: a
 * touched chunk keeps the collided round's pins (&drm_userptr.held) until
 * the next round pinned it again, and the callback leaves the pins of
 * chunks it invalidates meanwhile there too instead of dropping them. KSM
 * is why: it invalidates a page before it checks that nothing but the
 * page tables references it, and merges it if so. Releasing the pins of a
 * round that collided (with KSM, or with its own copy-on-write breaks),
 * or dropping them in the callback, let ksmd merge at once the pages the
 * acquisition had just unshared for write, which the next round then
 * unshared again; traced on 6.12, most pages of a 2 MiB object went
 * through three or four such merges in one validation, until -EBUSY. A
 * page pinned for write cannot be merged: the next round finds the same
 * page and pins it again without a fault. The pins are dropped when the
 * chunk is published or the last validation ends; the device never uses
 * them.
 *
 * Retries are bounded: userspace (libdrm's drmIoctl(), Mesa's intel_ioctl())
 * repeats EAGAIN forever, so the kernel never returns it. The bound is a
 * budget of collisions, one per submission (&struct drm_userptr_budget),
 * and only collisions consume it:
 *
 * - A collision is a round that an invalidation hit, in
 *   drm_userptr_validate(), or a failed check of drm_userptr_is_current()
 *   in the driver's submission, which charges it with
 *   drm_userptr_budget_charge_submit().
 * - The clock starts at the first collision, not at submission. Time the
 *   submission spent blocked before it (a page fault, a userfaultfd
 *   monitor, mmap_lock held by a fork, a fence wait) is not counted, and
 *   a round that blocked for seconds and then collided once does not fail.
 * - Each later collision is charged the time since the previous one,
 *   less the time a round waited in mmu_interval_read_begin() for a
 *   running invalidation of the object (including that callback's wait
 *   for the device's fences), and at most 1/%DRM_USERPTR_BUDGET_SHARE of
 *   &drm_userptr_device.retry_timeout_ms: one long round (a fault waiting
 *   for I/O, mmap_lock held by a fork, a descheduled thread) is not a
 *   storm, however long it blocked.
 * - A round that had to wait for pages to be faulted in through
 *   userfaultfd (the unpinned backing: "faulted, acquire again") made
 *   progress: it is not a collision and its time is not counted.
 * - A collision gives -EBUSY once the charges add up to more than
 *   retry_timeout_ms: invalidations kept colliding, for longer than
 *   retry_timeout_ms and with more than %DRM_USERPTR_BUDGET_SHARE
 *   collisions after the first.
 *
 * An invalidation storm that hits every round therefore still ends in
 * -EBUSY: after retry_timeout_ms of collisions plus the time its
 * invalidations themselves ran, or, if its rounds are slower than
 * 1/%DRM_USERPTR_BUDGET_SHARE of that, at the
 * (%DRM_USERPTR_BUDGET_SHARE + 2)th collided round. A pending signal ends
 * the retries at once (-ERESTARTSYS).
 */

/**
 * DOC: Release modes
 *
 * When the invalidation callback drops the pins of the chunks it marks
 * stale is a per-device choice, made at drm_userptr_device_init():
 *
 * Release at invalidation (flags 0; both backings). The callback moves the
 * sequence, marks the chunks stale, waits for the object's reservation
 * fences, then drops the pins (pinned) or marks the pages dirty
 * (unpinned). Guarantee: when the callback returns, the device no longer
 * uses the old pages, and they are free to go. The driver's duty: every
 * device use of the pages, CPU uses included, is covered by a fence in the
 * object's reservation, published under the notifier lock; jobs signal
 * without allocating or taking page locks. Cost: invalidations (reclaim,
 * munmap, migration) wait for the device, and the OOM reaper's are
 * refused while the object is busy.
 *
 * Deferred release (%DRM_USERPTR_DEVICE_RELEASE_DEFERRED; pinned backing
 * only). The callback moves the sequence and marks the chunks stale,
 * nothing more: it never waits for fences and never unpins, so it also
 * completes the non-blockable invalidations of the OOM reaper (refusing
 * only while the notifier lock is taken). The pins of the stale chunks
 * stay (&drm_userptr.unpin, counted in "stale_pinned_pages") until the
 * driver calls drm_userptr_release_stale() from process context, or
 * drm_userptr_fini() drops them. This is i915's model: its bindings and
 * CPU users (relocations, the command parser, error capture) outlive its
 * fences, so waiting for fences would not be enough anyway. Guarantee:
 * the device never touches freed memory, only, until the release, the
 * stale data of pages the process no longer maps there; what the device
 * writes to them meanwhile is lost to the process. The driver's duties:
 *
 * - Before validating an object, make sure the device no longer uses its
 *   stale pages, then call drm_userptr_release_stale(): i915 unbinds the
 *   object's vmas first and passes @wait_idle false; a driver whose only
 *   device users are fenced jobs passes @wait_idle true and the helper
 *   waits for the reservation to be idle. Then drm_userptr_validate()
 *   acquires the chunks again.
 * - Treat -ESTALE from drm_userptr_validate() (an invalidation landed
 *   between the release and the validation; charged to the budget) as
 *   "release, then validate again"; never return it to userspace.
 * - Release from a shrinker's or put_pages' path likewise, once unbound:
 *   stale pins keep pages unswappable and unmovable until then.
 *
 * What does not change: the seqcount protocol deciding whether a job may
 * be published. drm_userptr_is_current() under the notifier lock is false
 * from the moment the callback marked a chunk stale, so no job is
 * published on stale pages in either mode; jobs published earlier may
 * still run on them in deferred mode, and on nothing freed. A chunk
 * whose pins are pending release is never acquired again before the
 * release (its page entries are the only record of those pins), which is
 * why drm_userptr_validate() gives up with -ESTALE instead.
 */

/* ---------------------------------------------------------------------- */
/* Device state and counters                                              */

/**
 * drm_userptr_stat_inc() - count one event
 * @udev: the device
 * @stat: the counter
 *
 * For comparator topologies; the helper counts its own events.
 */
void drm_userptr_stat_inc(struct drm_userptr_device *udev,
			  enum drm_userptr_stat stat)
{
	atomic64_inc(&udev->stats[stat]);
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_stat_inc, DRM_USERPTR_TOPOLOGY);

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
	[DRM_USERPTR_STAT_INV_MISSED] = "inv_missed",
	[DRM_USERPTR_STAT_KEPT_CHUNKS] = "kept_chunks",
	[DRM_USERPTR_STAT_STALE_PINNED_PAGES] = "stale_pinned_pages",
	[DRM_USERPTR_STAT_STALE_RELEASES] = "stale_releases",
};

/**
 * drm_userptr_device_init() - initialise the per-device userptr state
 * @udev: the state, embedded in the driver's device
 * @backing: how the device's objects hold their pages
 * @flags: 0 (pins dropped at invalidation), or
 *	%DRM_USERPTR_DEVICE_RELEASE_DEFERRED (pins dropped by
 *	drm_userptr_release_stale(); see DOC: Release modes)
 * @retry_timeout_ms: how long drm_userptr_validate() retries collisions
 *
 * Deferred release is accepted with %DRM_USERPTR_BACKING_PINNED only: the
 * unpinned backing holds no reference on its pages, so nothing would keep
 * an invalidated page from being freed while the device still uses it.
 *
 * Return: 0 on success; -EINVAL for an unknown @backing, unknown @flags,
 * %DRM_USERPTR_DEVICE_RELEASE_DEFERRED with a backing other than
 * %DRM_USERPTR_BACKING_PINNED, or a zero @retry_timeout_ms.
 */
int drm_userptr_device_init(struct drm_userptr_device *udev,
			    enum drm_userptr_backing backing, u32 flags,
			    unsigned int retry_timeout_ms)
{
	int i;

	if (backing != DRM_USERPTR_BACKING_PINNED &&
	    backing != DRM_USERPTR_BACKING_UNPINNED)
		return -EINVAL;
	if (flags & ~DRM_USERPTR_DEVICE_RELEASE_DEFERRED)
		return -EINVAL;
	/* Only pins keep invalidated pages from being freed under the device. */
	if ((flags & DRM_USERPTR_DEVICE_RELEASE_DEFERRED) &&
	    backing != DRM_USERPTR_BACKING_PINNED)
		return -EINVAL;
	if (!retry_timeout_ms)
		return -EINVAL;

	mutex_init(&udev->notifier_lock);
	mutex_init(&udev->objects_lock);
	INIT_LIST_HEAD(&udev->objects);
	udev->backing = backing;
	udev->deferred_release = flags & DRM_USERPTR_DEVICE_RELEASE_DEFERRED;
	udev->topology = NULL;
	udev->topology_private = NULL;
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
 *
 * Warns if an object is still tracked or a page still pinned: either is a
 * leak that would outlive the module (a pinned page stays unmovable until
 * reboot).
 */
void drm_userptr_device_fini(struct drm_userptr_device *udev)
{
	s64 objects = atomic64_read(&udev->stats[DRM_USERPTR_STAT_OBJECTS]);
	s64 pinned = atomic64_read(&udev->stats[DRM_USERPTR_STAT_PINNED_PAGES]);

	WARN(objects || pinned || !list_empty(&udev->objects),
	     "drm_userptr: device torn down with %lld objects and %lld pinned pages\n",
	     (long long)objects, (long long)pinned);
	if (udev->topology && udev->topology->device_fini)
		udev->topology->device_fini(udev);
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
	s64 objects = atomic64_read(&udev->stats[DRM_USERPTR_STAT_OBJECTS]);
	s64 pinned = atomic64_read(&udev->stats[DRM_USERPTR_STAT_PINNED_PAGES]);
	int i;

	for (i = 0; i < DRM_USERPTR_STAT_COUNT; i++)
		seq_printf(m, "%s: %lld\n", drm_userptr_stat_names[i],
			   (long long)atomic64_read(&udev->stats[i]));
	/* Pins without any object to hold them are a leak, in one line. */
	seq_printf(m, "leaked_pinned_pages: %lld\n",
		   objects ? 0LL : (long long)pinned);
}
EXPORT_SYMBOL_GPL(drm_userptr_device_stats_show);

/**
 * drm_userptr_device_stat() - read one counter
 * @udev: the device
 * @stat: the counter
 *
 * Return: its value.
 */
s64 drm_userptr_device_stat(struct drm_userptr_device *udev,
			    enum drm_userptr_stat stat)
{
	return atomic64_read(&udev->stats[stat]);
}
EXPORT_SYMBOL_GPL(drm_userptr_device_stat);

/**
 * drm_userptr_device_backing_name() - how the device holds pages, as text
 * @udev: the device
 *
 * Return: "pinned", "unpinned", or a comparator topology's name.
 */
const char *drm_userptr_device_backing_name(struct drm_userptr_device *udev)
{
	if (udev->topology)
		return udev->topology->name;
	return udev->backing == DRM_USERPTR_BACKING_PINNED ? "pinned" : "unpinned";
}
EXPORT_SYMBOL_GPL(drm_userptr_device_backing_name);

/**
 * drm_userptr_device_backing_id() - how the device holds pages, as a number
 * @udev: the device
 *
 * Return: the &enum drm_userptr_backing value, or a comparator topology's
 * &drm_userptr_topology.id.
 */
u32 drm_userptr_device_backing_id(struct drm_userptr_device *udev)
{
	return udev->topology ? udev->topology->id : udev->backing;
}
EXPORT_SYMBOL_GPL(drm_userptr_device_backing_id);

/**
 * drm_userptr_device_retry_timeout_ms() - the bound on colliding acquisitions
 * @udev: the device
 *
 * Return: the value given at init, in milliseconds.
 */
unsigned int drm_userptr_device_retry_timeout_ms(struct drm_userptr_device *udev)
{
	return udev->retry_timeout_ms;
}
EXPORT_SYMBOL_GPL(drm_userptr_device_retry_timeout_ms);

/**
 * drm_userptr_device_release_deferred() - is the device in deferred release?
 * @udev: the device
 *
 * Return: true if it was initialised with
 * %DRM_USERPTR_DEVICE_RELEASE_DEFERRED (see DOC: Release modes).
 */
bool drm_userptr_device_release_deferred(struct drm_userptr_device *udev)
{
	return udev->deferred_release;
}
EXPORT_SYMBOL_GPL(drm_userptr_device_release_deferred);

/* Comparator topologies registered by the bench module. */
static LIST_HEAD(drm_userptr_topologies);
static DEFINE_MUTEX(drm_userptr_topologies_lock);

/**
 * drm_userptr_topology_register() - offer a comparator topology to drivers
 * @topo: the topology, with its name, id and owner set
 *
 * Return: 0, or -EEXIST if a topology of that name is registered.
 */
int drm_userptr_topology_register(struct drm_userptr_topology *topo)
{
	const struct drm_userptr_topology *t;
	int err = 0;

	mutex_lock(&drm_userptr_topologies_lock);
	list_for_each_entry(t, &drm_userptr_topologies, link)
		if (!strcmp(t->name, topo->name))
			err = -EEXIST;
	if (!err)
		list_add_tail(&topo->link, &drm_userptr_topologies);
	mutex_unlock(&drm_userptr_topologies_lock);
	return err;
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_topology_register, DRM_USERPTR_TOPOLOGY);

/**
 * drm_userptr_topology_unregister() - withdraw a comparator topology
 * @topo: the topology; no device may use it (each holds a module
 *	reference on its owner, so the owner's module exit runs after all)
 */
void drm_userptr_topology_unregister(struct drm_userptr_topology *topo)
{
	mutex_lock(&drm_userptr_topologies_lock);
	list_del(&topo->link);
	mutex_unlock(&drm_userptr_topologies_lock);
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_topology_unregister, DRM_USERPTR_TOPOLOGY);

/**
 * drm_userptr_topology_get() - find a comparator topology by name
 * @name: its &drm_userptr_topology.name
 *
 * Takes a reference on the module providing it.
 *
 * Return: the topology, or NULL if none of that name is registered.
 */
const struct drm_userptr_topology *drm_userptr_topology_get(const char *name)
{
	const struct drm_userptr_topology *t, *found = NULL;

	mutex_lock(&drm_userptr_topologies_lock);
	list_for_each_entry(t, &drm_userptr_topologies, link) {
		if (!strcmp(t->name, name) && try_module_get(t->owner)) {
			found = t;
			break;
		}
	}
	mutex_unlock(&drm_userptr_topologies_lock);
	return found;
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_topology_get, DRM_USERPTR_TOPOLOGY);

/**
 * drm_userptr_topology_put() - drop the reference of drm_userptr_topology_get()
 * @topo: the topology, or NULL
 */
void drm_userptr_topology_put(const struct drm_userptr_topology *topo)
{
	if (topo)
		module_put(topo->owner);
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_topology_put, DRM_USERPTR_TOPOLOGY);

/**
 * drm_userptr_device_init_topology() - per-device state for a comparator
 * @udev: the state, embedded in the driver's device
 * @topo: the topology, from drm_userptr_topology_get()
 * @retry_timeout_ms: as for drm_userptr_device_init()
 *
 * Return: 0; -EINVAL for a zero @retry_timeout_ms; what the topology's
 * &drm_userptr_topology.device_init returns.
 */
int drm_userptr_device_init_topology(struct drm_userptr_device *udev,
				     const struct drm_userptr_topology *topo,
				     unsigned int retry_timeout_ms)
{
	int err;

	err = drm_userptr_device_init(udev, topo->pins ?
				      DRM_USERPTR_BACKING_PINNED :
				      DRM_USERPTR_BACKING_UNPINNED, 0,
				      retry_timeout_ms);
	if (err)
		return err;
	udev->topology = topo;
	if (topo->device_init) {
		err = topo->device_init(udev);
		if (err) {
			udev->topology = NULL;
			drm_userptr_device_fini(udev);
		}
	}
	return err;
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_device_init_topology, DRM_USERPTR_TOPOLOGY);

/* ---------------------------------------------------------------------- */
/* Pages and chunks                                                       */

/* Pinned backings hold a pin on every page of a chunk that is not stale. */
static bool drm_userptr_pins(const struct drm_userptr_device *udev)
{
	if (udev->topology)
		return udev->topology->pins;
	return udev->backing == DRM_USERPTR_BACKING_PINNED;
}

static bool drm_userptr_writable(const struct drm_userptr *up)
{
	return !(up->flags & DRM_USERPTR_READ_ONLY);
}

/* First page and page count of chunk @c. */
static unsigned long drm_userptr_chunk_first(unsigned long c)
{
	return c * DRM_USERPTR_CHUNK_PAGES;
}

/* Chunks acquired in one call at most: 2 MiB with 4 KiB pages. */
#define DRM_USERPTR_BATCH_CHUNKS	(512 / DRM_USERPTR_CHUNK_PAGES)

static unsigned long drm_userptr_chunk_pages(const struct drm_userptr *up,
					     unsigned long c)
{
	return min_t(unsigned long, DRM_USERPTR_CHUNK_PAGES,
		     up->npages - drm_userptr_chunk_first(c));
}

/*
 * Drop the pins of @count pages. From the callback (@may_lock false) the
 * folio lock must not be taken: the pins were taken with FOLL_LONGTERM,
 * which the mm only grants on anonymous, shmem and hugetlb memory, and for
 * those marking a page dirty needs no folio lock.
 */
static void drm_userptr_unpin(struct drm_userptr *up, struct page **pages,
			      unsigned long count, bool may_lock)
{
	unsigned long i;

	if (may_lock) {
		unpin_user_pages_dirty_lock(pages, count,
					    drm_userptr_writable(up));
	} else {
		if (drm_userptr_writable(up)) {
			for (i = 0; i < count; i++)
				if (!PageDirty(pages[i]))
					set_page_dirty(pages[i]);
		}
		unpin_user_pages(pages, count);
	}
	drm_userptr_stat_add(up->udev, DRM_USERPTR_STAT_PINNED_PAGES,
			     -(long)count);
}

/* ---------------------------------------------------------------------- */
/* Create: check the request, insert the notifier                         */

static const struct mmu_interval_notifier_ops drm_userptr_notifier_ops;

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

static void drm_userptr_free_state(struct drm_userptr *up)
{
	/* One allocation holds the four bitmaps. */
	bitmap_free(up->stale);
	kvfree(up->pages);
	up->pages = NULL;
}

/**
 * drm_userptr_init() - validate a userptr request and start tracking it
 * @up: the object, embedded in the driver's GEM object
 * @udev: the device
 * @resv: the GEM object's reservation object
 * @user_ptr: start of the user memory, in the calling process
 * @user_size: size in bytes
 * @flags: %DRM_USERPTR_READ_ONLY, %DRM_USERPTR_PROBE
 *
 * Checks the request in i915's order and inserts the object's interval
 * notifier on the caller's mm. No page is acquired: that happens at first
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
	unsigned long longs;
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

	memset(up, 0, sizeof(*up));
	up->udev = udev;
	up->resv = resv;
	up->mm = mm;
	up->start = user_ptr;
	up->npages = user_size >> PAGE_SHIFT;
	up->nchunks = DIV_ROUND_UP(up->npages, DRM_USERPTR_CHUNK_PAGES);
	up->flags = flags & DRM_USERPTR_READ_ONLY;
	/* Matches no notifier sequence: forces the first acquisition. */
	up->seq = ULONG_MAX;

	longs = BITS_TO_LONGS(up->nchunks);
	up->stale = bitmap_zalloc(4 * longs * BITS_PER_LONG, GFP_KERNEL);
	if (!up->stale) {
		err = -ENOMEM;
		goto err_free;
	}
	up->unpin = up->stale + longs;
	up->hit = up->unpin + longs;
	up->held = up->hit + longs;
	bitmap_fill(up->stale, up->nchunks);

	if (udev->topology)
		err = udev->topology->init(up);
	else
		err = mmu_interval_notifier_insert(&up->notifier, mm, up->start,
						   user_size,
						   &drm_userptr_notifier_ops);
	if (err)
		goto err_free;

	mutex_lock(&udev->objects_lock);
	list_add_tail(&up->link, &udev->objects);
	mutex_unlock(&udev->objects_lock);
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_OBJECTS);
	return 0;

err_free:
	drm_userptr_free_state(up);
	return err;
}
EXPORT_SYMBOL_GPL(drm_userptr_init);

/* ---------------------------------------------------------------------- */
/* Validate: acquire the pages in collision-retry rounds                  */

/**
 * drm_userptr_pin_range() - pin pages [first, first + count) of the object
 * @up: the object
 * @first: first page index
 * @count: number of pages
 * @pages: where to store them
 *
 * Faults wait as a CPU access's would, for a userfaultfd monitor too, and
 * any signal ends the wait where the kernel allows it (6.2 and later; see
 * drm_userptr_compat_pin()).
 *
 * Return: 0; else nothing is left pinned and the errno is GUP's: -EFAULT
 * for a hole or a mapping without the needed access (or, before 6.2, a
 * fault in a userfaultfd range), -ENOMEM; -ERESTARTSYS on a signal,
 * -EINTR if killed.
 */
int drm_userptr_pin_range(struct drm_userptr *up, unsigned long first,
			  unsigned long count, struct page **pages)
{
	unsigned int gup_flags = FOLL_LONGTERM;
	unsigned long start = up->start + (first << PAGE_SHIFT);
	unsigned long done = 0;
	long ret;

	if (drm_userptr_writable(up))
		gup_flags |= FOLL_WRITE;

	while (done < count) {
		unsigned long n = min_t(unsigned long, count - done,
					INT_MAX >> PAGE_SHIFT);

		ret = drm_userptr_compat_pin(start + (done << PAGE_SHIFT), n,
					     gup_flags, pages + done);
		if (ret <= 0) {
			if (done)
				unpin_user_pages(pages, done);
			/* GUP's -EAGAIN: mmap_lock not taken, killed. */
			if (ret == -EAGAIN)
				ret = -EINTR;
			if (ret == -EINTR && !fatal_signal_pending(current) &&
			    signal_pending(current))
				ret = -ERESTARTSYS;
			return ret ? ret : -EFAULT;
		}
		done += ret;
	}
	drm_userptr_stat_add(up->udev, DRM_USERPTR_STAT_PINNED_PAGES, done);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_pin_range, DRM_USERPTR_TOPOLOGY);

/*
 * The device writes through kernel mappings, which set no dirty bit in any
 * PTE, and hmm_range_fault() faults nothing in for a present, writable but
 * clean PTE. Mark the pages dirty when they are handed to the device, as
 * FOLL_TOUCH does for GUP; otherwise reclaim would discard a lazily-freed
 * anonymous page or drop a clean page cache page the device wrote.
 *
 * Called with mmap_read_lock() held, before the sequence is checked. Every
 * path that cleans a page (writeback's folio_mkclean(), MADV_FREE, swap-out)
 * invalidates first, so a page cleaned after this point makes the next use
 * acquire, and dirty, it again. The PFNs carry no reference: one is taken
 * speculatively, a page already gone is skipped (its invalidation will fail
 * the sequence check).
 */
static void drm_userptr_dirty_range(const unsigned long *pfns,
				    unsigned long count)
{
	struct folio *folio;
	struct page *page;
	unsigned long i;

	for (i = 0; i < count; i++) {
		page = hmm_pfn_to_page(pfns[i]);
		folio = page_folio(page);
		if (folio_test_dirty(folio) || !folio_try_get(folio))
			continue;
		if (unlikely(page_folio(page) != folio)) {
			folio_put(folio);
			continue;
		}
		folio_lock(folio);
		folio_mark_dirty(folio);
		folio_unlock(folio);
		folio_put(folio);
	}
}

/*
 * A fault in a VMA registered with userfaultfd must be able to drop the
 * mmap lock and wait for the monitor (FAULT_FLAG_ALLOW_RETRY), which
 * hmm_range_fault() never allows: handle_userfault() fails such a fault
 * with VM_FAULT_SIGBUS, and with a stack dump under CONFIG_DEBUG_VM. In
 * such a range, HMM only takes a snapshot; the pages it lacks are faulted
 * in as a CPU access would fault them (drm_userptr_fault_page()), which
 * lets the monitor resolve the fault, and the caller acquires again.
 *
 * Called with mmap_read_lock() held.
 */
static bool drm_userptr_range_uffd(struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	for (; start < end; start = vma->vm_end) {
		vma = vma_lookup(mm, start);
		if (!vma)
			return false;	/* the walk stops at the hole: -EFAULT */
		if (userfaultfd_armed(vma))
			return true;
	}
	return false;
}

/*
 * Fault one page in as a CPU access would: the fault may drop mmap_lock to
 * wait (for a userfaultfd monitor, for I/O), and any signal ends the wait.
 * fixup_user_fault() waits only for fatal signals, and given
 * FAULT_FLAG_INTERRUPTIBLE it would spin until the monitor answers: it
 * retries a fault that gave up whatever the reason. The checks are
 * fixup_user_fault()'s, plus GUP's refusal of VM_IO and VM_PFNMAP.
 *
 * Called with mmap_read_lock() held; clears *@locked if the lock was
 * dropped and not taken again, which happens only on the signal errors.
 *
 * Return: 1 if the fault waited, 0 if not; -EFAULT, -ENOMEM; -ERESTARTSYS
 * on a signal, -EINTR if killed.
 */
static int drm_userptr_fault_page(struct mm_struct *mm, unsigned long addr,
				  bool write, bool *locked)
{
	unsigned int flags = FAULT_FLAG_ALLOW_RETRY | FAULT_FLAG_KILLABLE |
			     FAULT_FLAG_INTERRUPTIBLE;
	struct vm_area_struct *vma;
	vm_fault_t fault;
	int waited = 0;

	if (write)
		flags |= FAULT_FLAG_WRITE;
	for (;;) {
		vma = vma_lookup(mm, addr);
		if (!vma || vma->vm_flags & (VM_IO | VM_PFNMAP) ||
		    !(vma->vm_flags & (write ? VM_WRITE : VM_READ)) ||
		    !arch_vma_access_permitted(vma, write, false, false))
			return -EFAULT;
		fault = handle_mm_fault(vma, addr, flags, NULL);
		if (fault & VM_FAULT_ERROR)
			return vm_fault_to_errno(fault, 0) ?: -EFAULT;
		if (!(fault & (VM_FAULT_RETRY | VM_FAULT_COMPLETED)))
			return waited;

		/* mmap_lock was dropped: the fault waited, or a signal came. */
		*locked = false;
		if (fatal_signal_pending(current))
			return -EINTR;
		if (signal_pending(current))
			return -ERESTARTSYS;
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		*locked = true;
		if (fault & VM_FAULT_COMPLETED)
			return 1;
		waited = 1;
		flags |= FAULT_FLAG_TRIED;
	}
}

/*
 * Fault in the pages a snapshot found missing or without the access the
 * device needs. Called with mmap_read_lock() held, which the faults may
 * drop meanwhile (the snapshot is only a hint); returns with it held
 * unless *@locked was cleared.
 *
 * Return: 0 if no page needed a fault; -EAGAIN if pages were faulted in
 * and a fault had to wait (for the monitor, or for I/O); -EBUSY if pages
 * were faulted in without waiting; -EFAULT, -ENOMEM; -ERESTARTSYS on a
 * signal, -EINTR if killed.
 */
static int drm_userptr_uffd_fault(struct mm_struct *mm, unsigned long start,
				  const unsigned long *pfns,
				  unsigned long count, bool write, bool *locked)
{
	unsigned long need = HMM_PFN_VALID | (write ? HMM_PFN_WRITE : 0);
	bool waited = false, faulted = false;
	unsigned long i;
	int ret;

	for (i = 0; i < count; i++) {
		if ((pfns[i] & need) == need)
			continue;
		ret = drm_userptr_fault_page(mm, start + (i << PAGE_SHIFT),
					     write, locked);
		if (ret < 0)
			return ret;
		faulted = true;
		waited |= ret;
	}
	if (!faulted)
		return 0;
	return waited ? -EAGAIN : -EBUSY;
}

/**
 * drm_userptr_fault_range() - fault pages [first, first + count) with HMM
 * @up: the object
 * @notifier: the interval notifier covering the range
 * @seq: its sequence from mmu_interval_read_begin()
 * @first: first page index
 * @count: number of pages
 * @pages: where to store them (no reference is taken)
 *
 * In a range registered with userfaultfd the faults may wait for the
 * monitor; the pages are then acquired again (-EAGAIN, or -EBUSY if no
 * fault had to wait).
 *
 * Return: 0; -EBUSY if the sequence moved meanwhile or pages of a
 * userfaultfd-registered range were faulted in without waiting; -EAGAIN
 * if such pages were faulted in and a fault waited (for the monitor, or
 * for I/O): acquiring again is progress, not a collision; -EFAULT, -EPERM
 * from hmm_range_fault(); -ERESTARTSYS on a signal during such a wait;
 * -EINTR if killed; -ENOMEM.
 */
int drm_userptr_fault_range(struct drm_userptr *up,
			    struct mmu_interval_notifier *notifier,
			    unsigned long seq, unsigned long first,
			    unsigned long count, struct page **pages)
{
	struct hmm_range range = {
		.notifier = notifier,
		.notifier_seq = seq,
		.start = up->start + (first << PAGE_SHIFT),
		.end = up->start + ((first + count) << PAGE_SHIFT),
		.default_flags = HMM_PFN_REQ_FAULT,
	};
	struct mm_struct *mm = up->mm;
	bool snapshot, locked = false;
	unsigned long *pfns;
	unsigned long i;
	int ret;

	if (drm_userptr_writable(up))
		range.default_flags |= HMM_PFN_REQ_WRITE;

	pfns = kvmalloc_array(count, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	range.hmm_pfns = pfns;

	if (!mmget_not_zero(mm)) {
		ret = -EFAULT;
		goto out_free;
	}
	ret = mmap_read_lock_killable(mm);
	if (!ret) {
		locked = true;
		snapshot = drm_userptr_range_uffd(mm, range.start, range.end);
		if (snapshot) {
			range.default_flags = 0;
			memset(pfns, 0, count * sizeof(*pfns));
		}
		ret = hmm_range_fault(&range);
		if (!ret && snapshot)
			ret = drm_userptr_uffd_fault(mm, range.start, pfns,
						     count,
						     drm_userptr_writable(up),
						     &locked);
		if (!ret && drm_userptr_writable(up))
			drm_userptr_dirty_range(pfns, count);
		if (locked)
			mmap_read_unlock(mm);
	}
	mmput(mm);
	if (ret)
		goto out_free;

	for (i = 0; i < count; i++)
		pages[i] = hmm_pfn_to_page(pfns[i]);
out_free:
	kvfree(pfns);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(drm_userptr_fault_range, DRM_USERPTR_TOPOLOGY);

/**
 * struct drm_userptr_round - the state of one validation's rounds
 *
 * One validation runs rounds until one ends with the object current; the
 * buffers are kept from one round to the next.
 */
struct drm_userptr_round {
	/** @snap: the chunks this round acquires, stale at its start. */
	unsigned long *snap;
	/** @pages: the pages it acquired, packed in chunk order. */
	struct page **pages;
	/** @cap: capacity of @pages. */
	unsigned long cap;
	/** @acquired: pages in @pages not yet published or released. */
	unsigned long acquired;
	/** @seq: from mmu_interval_read_begin() on the object's notifier. */
	unsigned long seq;
	/** @cookie: a comparator topology's instead of @seq. */
	void *cookie;
	/** @reading: between read_begin and read_end. */
	bool reading;
	/** @owner: this round owns &drm_userptr.hit. */
	bool owner;
	/** @retries: rounds of this validation that collided so far. */
	unsigned int retries;
	/** @budget: the submission's retry budget. */
	struct drm_userptr_budget *budget;
	/** @acquiring: when the round's acquisition began. */
	ktime_t acquiring;
};

/**
 * enum drm_userptr_outcome - how a round ended
 * @DRM_USERPTR_ROUND_DONE: the object's pages are current.
 * @DRM_USERPTR_ROUND_AGAIN: it collided with an invalidation: go again.
 * @DRM_USERPTR_ROUND_FAULTED: it waited for pages to be faulted in (by a
 *	userfaultfd monitor): go again; progress, not a collision.
 * @DRM_USERPTR_ROUND_FAILED: an error; nothing of the round is kept.
 * @DRM_USERPTR_ROUND_TIMED_OUT: it collided with the budget spent.
 */
enum drm_userptr_outcome {
	DRM_USERPTR_ROUND_DONE,
	DRM_USERPTR_ROUND_AGAIN,
	DRM_USERPTR_ROUND_FAULTED,
	DRM_USERPTR_ROUND_FAILED,
	DRM_USERPTR_ROUND_TIMED_OUT,
};

/* The submission was blocked since @since: that time is not charged. */
static void drm_userptr_budget_blocked(struct drm_userptr_budget *budget,
				       ktime_t since)
{
	if (!budget->collisions)
		return;		/* the clock has not started */
	if (ktime_before(since, budget->last))
		since = budget->last;
	budget->blocked = ktime_add(budget->blocked,
				    ktime_sub(ktime_get(), since));
}

/*
 * The steps of a round that depend on how the object's range is watched:
 * by its own interval notifier (the helper's design, called directly) or,
 * for benchmark comparators, by a topology's callbacks.
 */
static int drm_userptr_read_begin(struct drm_userptr *up,
				  struct drm_userptr_round *r)
{
	const struct drm_userptr_topology *topo = up->udev->topology;
	int err = 0;

	if (topo)
		err = topo->read_begin(up, &r->cookie);
	else
		r->seq = mmu_interval_read_begin(&up->notifier);
	r->reading = !err;
	return err;
}

static int drm_userptr_acquire(struct drm_userptr *up,
			       struct drm_userptr_round *r, unsigned long first,
			       unsigned long count, struct page **pages)
{
	const struct drm_userptr_topology *topo = up->udev->topology;

	if (topo)
		return topo->acquire(up, r->cookie, first, count, pages);
	if (up->udev->backing == DRM_USERPTR_BACKING_PINNED)
		return drm_userptr_pin_range(up, first, count, pages);
	return drm_userptr_fault_range(up, &up->notifier, r->seq, first, count,
				       pages);
}

/* Notifier lock held: has an invalidation begun since read_begin? */
static bool drm_userptr_read_retry(struct drm_userptr *up,
				   struct drm_userptr_round *r)
{
	const struct drm_userptr_topology *topo = up->udev->topology;

	if (topo)
		return topo->read_retry(up, r->cookie);
	return mmu_interval_read_retry(&up->notifier, r->seq);
}

/* Notifier lock held: the round's sequence becomes the published one. */
static void drm_userptr_commit(struct drm_userptr *up,
			       struct drm_userptr_round *r)
{
	const struct drm_userptr_topology *topo = up->udev->topology;

	if (topo)
		topo->commit(up, r->cookie);
	else
		up->seq = r->seq;
}

static void drm_userptr_read_end(struct drm_userptr *up,
				 struct drm_userptr_round *r)
{
	const struct drm_userptr_topology *topo = up->udev->topology;

	if (r->reading && topo)
		topo->read_end(up, r->cookie);
	r->reading = false;
}

/* Notifier lock held: are the published pages those of the page tables? */
static bool __drm_userptr_is_current(struct drm_userptr *up)
{
	const struct drm_userptr_topology *topo = up->udev->topology;

	lockdep_assert_held(&up->udev->notifier_lock);
	if (!up->pages || !bitmap_empty(up->stale, up->nchunks))
		return false;
	if (topo)
		return topo->is_current(up);
	return !mmu_interval_read_retry(&up->notifier, up->seq);
}

/* Release what one acquisition round took, before publication. */
static void drm_userptr_release(struct drm_userptr *up, struct page **pages,
				unsigned long count)
{
	if (count && drm_userptr_pins(up->udev))
		drm_userptr_unpin(up, pages, count, true);
}

static unsigned long drm_userptr_snap_pages(const struct drm_userptr *up,
					    const unsigned long *snap)
{
	unsigned long n = bitmap_weight(snap, up->nchunks) *
			  DRM_USERPTR_CHUNK_PAGES;

	/* The last chunk may be short. */
	if (test_bit(up->nchunks - 1, snap))
		n -= DRM_USERPTR_CHUNK_PAGES -
		     drm_userptr_chunk_pages(up, up->nchunks - 1);
	return n;
}

/*
 * Start a round: own &drm_userptr.hit if no other round does, then take the
 * sequence and snapshot the stale chunks. Ownership comes first: an
 * invalidation that marked chunks earlier has finished by the time
 * read_begin returns, any later one is recorded.
 *
 * With deferred release, a stale chunk whose pins are pending release
 * (&drm_userptr.unpin) may still be in use by the device and its entries
 * hold the only record of those pins: the round must not overwrite them.
 * It gives up instead (-ESTALE) and the driver releases first. Checked
 * with the snapshot, after read_begin: a chunk marked later moves the
 * sequence, and the round then keeps none of its pages for it.
 */
static int drm_userptr_round_begin(struct drm_userptr *up,
				   struct drm_userptr_round *r)
{
	struct drm_userptr_device *udev = up->udev;
	unsigned long count;
	bool pending;
	ktime_t since;
	int err;

	mutex_lock(&udev->notifier_lock);
	r->owner = !up->hit_owner;
	if (r->owner) {
		up->hit_owner = true;
		bitmap_zero(up->hit, up->nchunks);
	}
	mutex_unlock(&udev->notifier_lock);

	/* Waiting for a running invalidation to end is not colliding. */
	since = ktime_get();
	err = drm_userptr_read_begin(up, r);
	drm_userptr_budget_blocked(r->budget, since);
	if (err)
		return err;
	r->acquiring = ktime_get();
	mutex_lock(&udev->notifier_lock);
	bitmap_copy(r->snap, up->stale, up->nchunks);
	pending = udev->deferred_release &&
		  !bitmap_empty(up->unpin, up->nchunks);
	mutex_unlock(&udev->notifier_lock);
	if (pending)
		return -ESTALE;

	count = drm_userptr_snap_pages(up, r->snap);
	if (count > r->cap) {
		kvfree(r->pages);
		r->pages = kvmalloc_array(count, sizeof(*r->pages), GFP_KERNEL);
		r->cap = r->pages ? count : 0;
		if (!r->pages)
			return -ENOMEM;
	}
	return 0;
}

/* End of a round, notifier lock held: give &drm_userptr.hit back. */
static void drm_userptr_round_end(struct drm_userptr *up,
				  struct drm_userptr_round *r)
{
	lockdep_assert_held(&up->udev->notifier_lock);
	if (r->owner)
		up->hit_owner = false;
	r->owner = false;
}

/*
 * Acquire every chunk of the snapshot, packed into the round's pages in
 * chunk order, runs of consecutive chunks in one call of at most a batch.
 * On -EBUSY (hmm_range_fault() saw the sequence move) and -EAGAIN (pages
 * faulted in through userfaultfd) what was acquired is kept and the chunks
 * not reached leave the snapshot; on any other error nothing is kept.
 */
static int drm_userptr_acquire_stale(struct drm_userptr *up,
				     struct drm_userptr_round *r)
{
	unsigned long rs, re, first, count;
	int err;

	r->acquired = 0;
	for (rs = find_first_bit(r->snap, up->nchunks); rs < up->nchunks;
	     rs = find_next_bit(r->snap, up->nchunks, re)) {
		/* Bounded batches: a collision costs at most one of them. */
		re = min(find_next_zero_bit(r->snap, up->nchunks, rs + 1),
			 rs + DRM_USERPTR_BATCH_CHUNKS);
		first = drm_userptr_chunk_first(rs);
		count = min(drm_userptr_chunk_first(re), up->npages) - first;
		err = drm_userptr_acquire(up, r, first, count,
					  r->pages + r->acquired);
		if (err == -EBUSY || err == -EAGAIN) {
			bitmap_clear(r->snap, rs, up->nchunks - rs);
			return err;
		}
		if (err) {
			drm_userptr_release(up, r->pages, r->acquired);
			r->acquired = 0;
			return err;
		}
		r->acquired += count;
	}
	return 0;
}

/*
 * Store pages of chunk @c in the array, dropping the pins the entries held
 * for a running validation (see &drm_userptr.held) first. Notifier lock
 * held: the device never used those, so no folio lock is needed.
 */
static void __drm_userptr_store(struct drm_userptr *up, unsigned long c,
				struct page **pages)
{
	struct page **entries = up->pages + drm_userptr_chunk_first(c);
	unsigned long n = drm_userptr_chunk_pages(up, c);

	lockdep_assert_held(&up->udev->notifier_lock);
	if (__test_and_clear_bit(c, up->held))
		drm_userptr_unpin(up, entries, n, false);
	memcpy(entries, pages, n * sizeof(*pages));
}

/* Notifier lock held: drop the pins the object holds for validations. */
static void __drm_userptr_drop_held(struct drm_userptr *up)
{
	unsigned long c;

	lockdep_assert_held(&up->udev->notifier_lock);
	for_each_set_bit(c, up->held, up->nchunks)
		drm_userptr_unpin(up, up->pages + drm_userptr_chunk_first(c),
				  drm_userptr_chunk_pages(up, c), false);
	bitmap_zero(up->held, up->nchunks);
}

/* Copy the freshly acquired pages into the array, chunk by chunk. */
static void __drm_userptr_publish(struct drm_userptr *up,
				  const unsigned long *snap,
				  struct page **pages)
{
	unsigned long c, off = 0;

	lockdep_assert_held(&up->udev->notifier_lock);
	for_each_set_bit(c, snap, up->nchunks) {
		__drm_userptr_store(up, c, pages + off);
		off += drm_userptr_chunk_pages(up, c);
	}
	bitmap_andnot(up->stale, up->stale, snap, up->nchunks);
}

/*
 * A round collided: publish the chunks of @snap no invalidation touched
 * since the round began (they are as valid as after a clean round), and
 * move the pages of the others to the front of @pages for release;
 * @count becomes their number. Only the round owning &drm_userptr.hit may
 * call this. The object stays not current: its sequence is left as it was,
 * the touched chunks stay stale, and the next round takes them.
 *
 * A chunk of @snap that is no longer stale was published meanwhile by a
 * concurrent round of another thread (a clean one, which needs no
 * ownership of @hit): the entries hold that round's pages, and pins, so
 * ours are released instead of overwriting them.
 *
 * With pins, a touched chunk keeps ours in &drm_userptr.held until the
 * next round pinned it again: released now, a page this round unshared
 * could be merged again by KSM (whose invalidation is what touched it)
 * before the next round pins it, which must unshare it again, and so on.
 * Not if an invalidation is still to drop the pins of its entries.
 *
 * Return: the number of chunks published.
 */
static unsigned long __drm_userptr_publish_unhit(struct drm_userptr *up,
						 const unsigned long *snap,
						 struct page **pages,
						 unsigned long *count)
{
	bool pins = drm_userptr_pins(up->udev);
	unsigned long c, n, off = 0, left = 0, kept = 0;

	lockdep_assert_held(&up->udev->notifier_lock);
	lockdep_assert(up->hit_owner);
	for_each_set_bit(c, snap, up->nchunks) {
		n = drm_userptr_chunk_pages(up, c);
		if (!test_bit(c, up->stale) ||
		    (test_bit(c, up->hit) && (!pins || test_bit(c, up->unpin)))) {
			memmove(pages + left, pages + off, n * sizeof(*pages));
			left += n;
		} else if (test_bit(c, up->hit)) {
			__drm_userptr_store(up, c, pages + off);
			__set_bit(c, up->held);
		} else {
			__drm_userptr_store(up, c, pages + off);
			__clear_bit(c, up->stale);
			kept++;
		}
		off += n;
	}
	*count = left;
	return kept;
}

/*
 * The end of a round, under the notifier lock. Three cases: another
 * validation made the object current meanwhile (done; ours is released);
 * no invalidation ran since read_begin and the stale chunks are still
 * those of the snapshot (done: publish all, commit the sequence); else the
 * round collided (publish the untouched chunks if the round owns the hit
 * bitmap, release the rest, go again). The stale chunks' old entries are
 * unused: the invalidation that marked them waited for every fence
 * published against them and dropped their pins before read_begin
 * returned; with deferred release, drm_userptr_release_stale() dropped
 * them before the round began, else the round gave up (-ESTALE).
 */
static enum drm_userptr_outcome
drm_userptr_round_publish(struct drm_userptr *up, struct drm_userptr_round *r,
			  bool collided)
{
	struct drm_userptr_device *udev = up->udev;
	enum drm_userptr_outcome outcome = DRM_USERPTR_ROUND_DONE;
	unsigned long kept = 0, published = 0;

	mutex_lock(&udev->notifier_lock);
	if (__drm_userptr_is_current(up)) {
		/* A concurrent validation published first: release ours. */
	} else if (collided || drm_userptr_read_retry(up, r) ||
		   !bitmap_equal(r->snap, up->stale, up->nchunks)) {
		if (r->owner)
			kept = __drm_userptr_publish_unhit(up, r->snap, r->pages,
							   &r->acquired);
		outcome = DRM_USERPTR_ROUND_AGAIN;
	} else {
		__drm_userptr_publish(up, r->snap, r->pages);
		drm_userptr_commit(up, r);
		published = r->acquired;
		r->acquired = 0;
	}
	drm_userptr_round_end(up, r);
	mutex_unlock(&udev->notifier_lock);
	drm_userptr_read_end(up, r);

	/* What is left at the front of the round's pages was not kept. */
	drm_userptr_release(up, r->pages, r->acquired);
	r->acquired = 0;
	if (kept)
		drm_userptr_stat_add(udev, DRM_USERPTR_STAT_KEPT_CHUNKS, kept);
	if (outcome == DRM_USERPTR_ROUND_DONE && published) {
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_ACQUIRES);
		drm_userptr_stat_add(udev, DRM_USERPTR_STAT_ACQUIRED_PAGES,
				     published);
		trace_drm_userptr_acquire(up, published, r->retries);
	}
	return outcome;
}

/* One round: begin, acquire with no lock held, publish under the lock. */
static enum drm_userptr_outcome
drm_userptr_round(struct drm_userptr *up, struct drm_userptr_round *r,
		  int *err)
{
	enum drm_userptr_outcome outcome;
	bool faulted;

	*err = drm_userptr_round_begin(up, r);
	if (!*err)
		*err = drm_userptr_acquire_stale(up, r);
	if (!*err || *err == -EBUSY || *err == -EAGAIN) {
		/*
		 * -EBUSY: hmm_range_fault() saw the sequence move; -EAGAIN:
		 * pages were faulted in through userfaultfd after a wait.
		 * Either way the round is incomplete: publish what it can.
		 */
		faulted = *err == -EAGAIN;
		outcome = drm_userptr_round_publish(up, r, *err != 0);
		*err = 0;
		if (faulted && outcome == DRM_USERPTR_ROUND_AGAIN)
			outcome = DRM_USERPTR_ROUND_FAULTED;
		return outcome;
	}

	mutex_lock(&up->udev->notifier_lock);
	drm_userptr_round_end(up, r);
	mutex_unlock(&up->udev->notifier_lock);
	drm_userptr_read_end(up, r);
	/* Write access to a read-only mapping. */
	if (*err == -EPERM)
		*err = -EFAULT;
	return DRM_USERPTR_ROUND_FAILED;
}

/* Before a round: a pending signal ends the validation (-ERESTARTSYS). */
static enum drm_userptr_outcome drm_userptr_round_allowed(int *err)
{
	if (signal_pending(current)) {
		*err = -ERESTARTSYS;
		return DRM_USERPTR_ROUND_FAILED;
	}
	return DRM_USERPTR_ROUND_AGAIN;
}

/* After a collision: charge the budget; -EBUSY once it is spent. */
static enum drm_userptr_outcome
drm_userptr_round_collided(struct drm_userptr *up, struct drm_userptr_round *r,
			   struct drm_userptr_budget *budget, int *err)
{
	r->retries++;
	drm_userptr_stat_inc(up->udev, DRM_USERPTR_STAT_RETRIES);
	trace_drm_userptr_retry(up, r->retries);
	*err = drm_userptr_budget_charge(budget);
	return *err ? DRM_USERPTR_ROUND_TIMED_OUT : DRM_USERPTR_ROUND_AGAIN;
}

/* The page array, allocated at first use, and the round's snapshot. */
static int drm_userptr_round_init(struct drm_userptr *up,
				  struct drm_userptr_round *r)
{
	struct page **array;

	if (!READ_ONCE(up->pages)) {
		array = kvcalloc(up->npages, sizeof(*array), GFP_KERNEL);
		if (!array)
			return -ENOMEM;
		mutex_lock(&up->udev->notifier_lock);
		if (!up->pages)
			swap(up->pages, array);
		mutex_unlock(&up->udev->notifier_lock);
		kvfree(array);
	}
	r->snap = bitmap_alloc(up->nchunks, GFP_KERNEL);
	return r->snap ? 0 : -ENOMEM;
}

/**
 * drm_userptr_budget_init() - start the retry budget of one submission
 * @budget: the budget, usually on the submitting function's stack
 * @udev: the device
 */
void drm_userptr_budget_init(struct drm_userptr_budget *budget,
			     struct drm_userptr_device *udev)
{
	budget->udev = udev;
	budget->collisions = 0;
	budget->last = 0;
	budget->blocked = 0;
	budget->spent = 0;
}
EXPORT_SYMBOL_GPL(drm_userptr_budget_init);

/**
 * drm_userptr_budget_charge() - charge a collision to the budget
 * @budget: the submission's budget
 *
 * Called by drm_userptr_validate() for each round that collided with an
 * invalidation, and through drm_userptr_budget_charge_submit() by the
 * driver each time its check of drm_userptr_is_current() under the
 * notifier lock fails, before it starts over. The first collision starts
 * the budget's clock; each later one is charged the time since the
 * previous one, less the time the submission was blocked meanwhile, and
 * at most 1/%DRM_USERPTR_BUDGET_SHARE of the device's retry_timeout_ms
 * (see DOC: Collision-retry). Counts the -EBUSY it returns in the
 * device's "ebusy" counter.
 *
 * Return: 0 if the submission may try again; -EBUSY once the charges add
 * up to more than the device's retry_timeout_ms.
 */
int drm_userptr_budget_charge(struct drm_userptr_budget *budget)
{
	ktime_t timeout = ms_to_ktime(budget->udev->retry_timeout_ms);
	ktime_t now = ktime_get(), t;

	if (budget->collisions++) {
		t = ktime_sub(ktime_sub(now, budget->last), budget->blocked);
		t = clamp_t(s64, t, 0,
			    div_s64(timeout, DRM_USERPTR_BUDGET_SHARE));
		budget->spent = ktime_add(budget->spent, t);
	}
	budget->last = now;
	budget->blocked = 0;
	if (budget->spent <= timeout)
		return 0;
	drm_userptr_stat_inc(budget->udev, DRM_USERPTR_STAT_EBUSY);
	return -EBUSY;
}
EXPORT_SYMBOL_GPL(drm_userptr_budget_charge);

/**
 * drm_userptr_budget_charge_submit() - charge a failed submission check
 * @budget: the submission's budget
 *
 * For the driver, each time its check of drm_userptr_is_current() under
 * the notifier lock fails, once it dropped its locks and before it starts
 * over from drm_userptr_validate(): counts the collision in the device's
 * "submit_retries" counter, then charges it to @budget with
 * drm_userptr_budget_charge(). The counters are the helper's: drivers
 * never write them.
 *
 * Return: 0 if the submission may try again; -EBUSY once the charges add
 * up to more than the device's retry_timeout_ms.
 */
int drm_userptr_budget_charge_submit(struct drm_userptr_budget *budget)
{
	drm_userptr_stat_inc(budget->udev, DRM_USERPTR_STAT_SUBMIT_RETRIES);
	return drm_userptr_budget_charge(budget);
}
EXPORT_SYMBOL_GPL(drm_userptr_budget_charge_submit);

/**
 * drm_userptr_validate() - make the object's pages current, acquiring them
 * @up: the object
 * @write: the job writes the object
 * @budget: the submission's retry budget, from drm_userptr_budget_init()
 *
 * Returns at once if the published pages are current. Otherwise runs
 * rounds (see DOC: Collision-retry) until one ends with the pages current,
 * fails, or collides with @budget spent. Must be called from the process
 * that created the object, with no driver lock held. Success does not make
 * the pages current at submission: the driver must still check
 * drm_userptr_is_current() under the notifier lock.
 *
 * With deferred release (DOC: Release modes), chunks whose pins are
 * pending release are not acquired again: the validation gives up with
 * -ESTALE, charged to @budget as a collision, and the driver calls
 * drm_userptr_release_stale() once the device no longer uses them, then
 * validates again. Calling drm_userptr_release_stale() right before every
 * validation makes that rare: only an invalidation in between causes it.
 *
 * Return: 0 on success; -EACCES if @write and the object is read-only;
 * -EFAULT if the caller is not the creator's mm, or the range is not (or
 * no longer) mapped with the needed access; -ESTALE (deferred release
 * only) if pins of invalidated chunks are pending release: release them,
 * then validate again; never to be returned to userspace; -EBUSY if
 * invalidations kept colliding until @budget was spent (see
 * drm_userptr_budget_charge()); -ERESTARTSYS on a pending signal; -EINTR
 * if killed; -ENOMEM.
 */
int drm_userptr_validate(struct drm_userptr *up, bool write,
			 struct drm_userptr_budget *budget)
{
	struct drm_userptr_device *udev = up->udev;
	struct drm_userptr_round r = {};
	enum drm_userptr_outcome outcome;
	bool current_pages;
	int err;

	might_sleep();
	might_lock(&udev->notifier_lock);
	if (write && !drm_userptr_writable(up))
		return -EACCES;
	if (current->mm != up->mm)
		return -EFAULT;

	mutex_lock(&udev->notifier_lock);
	current_pages = __drm_userptr_is_current(up);
	if (!current_pages)
		up->validating++;
	mutex_unlock(&udev->notifier_lock);
	if (current_pages) {
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_REVALIDATIONS);
		return 0;
	}

	r.budget = budget;
	err = drm_userptr_round_init(up, &r);
	outcome = err ? DRM_USERPTR_ROUND_FAILED : DRM_USERPTR_ROUND_AGAIN;
	while (outcome == DRM_USERPTR_ROUND_AGAIN) {
		outcome = drm_userptr_round_allowed(&err);
		if (outcome == DRM_USERPTR_ROUND_AGAIN)
			outcome = drm_userptr_round(up, &r, &err);
		if (outcome == DRM_USERPTR_ROUND_FAULTED) {
			/* It waited for a monitor: blocked, not colliding. */
			drm_userptr_budget_blocked(budget, r.acquiring);
			outcome = DRM_USERPTR_ROUND_AGAIN;
		} else if (outcome == DRM_USERPTR_ROUND_AGAIN) {
			outcome = drm_userptr_round_collided(up, &r, budget,
							     &err);
			cond_resched();
		}
	}
	mutex_lock(&udev->notifier_lock);
	if (!--up->validating)
		__drm_userptr_drop_held(up);
	mutex_unlock(&udev->notifier_lock);
	bitmap_free(r.snap);
	kvfree(r.pages);
	/* Pins pending release collided with this validation: charge it. */
	if (err == -ESTALE && drm_userptr_budget_charge(budget))
		err = -EBUSY;
	return err;
}
EXPORT_SYMBOL_GPL(drm_userptr_validate);

/* ---------------------------------------------------------------------- */
/* Submit: check under the notifier lock, then use the pages              */

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

/**
 * drm_userptr_is_current() - check that the published pages are still valid
 * @up: the object
 *
 * Must be called with the notifier lock held; if it returns true, fences
 * added to the object's reservation before the lock is dropped are waited
 * for by any later invalidation before the pages are released (with
 * deferred release, by drm_userptr_release_stale() with @wait_idle; the
 * pins keep the pages until then).
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
 * successful drm_userptr_is_current() is unsignaled: no page can be
 * released, nor an entry rewritten, before every such fence signaled.
 * With deferred release a page stays valid, and pinned, after that too,
 * until the driver's drm_userptr_release_stale() or drm_userptr_fini().
 *
 * Return: the page.
 */
struct page *drm_userptr_page(struct drm_userptr *up, unsigned long idx)
{
	return up->pages[idx];
}
EXPORT_SYMBOL_GPL(drm_userptr_page);

/* ---------------------------------------------------------------------- */
/* Invalidate: mark stale, wait for the device, release                   */

/**
 * __drm_userptr_mark_stale() - mark the chunks an invalidation covers
 * @up: the object
 * @start: first byte of the invalidated range
 * @end: end of the range (exclusive)
 *
 * Notifier lock held. Chunks that held pins are queued in &drm_userptr.unpin
 * for __drm_userptr_drop_pending(), called once the device is idle, or with
 * deferred release for drm_userptr_release_stale(). Every
 * covered chunk, stale already or not, is recorded in &drm_userptr.hit for
 * the acquisition that may be running.
 *
 * Return: the number of chunks that were current and are now stale.
 */
unsigned long __drm_userptr_mark_stale(struct drm_userptr *up,
				       unsigned long start, unsigned long end)
{
	unsigned long first, last, c, n = 0;

	lockdep_assert_held(&up->udev->notifier_lock);
	start = max(start, up->start);
	end = min(end, up->start + (up->npages << PAGE_SHIFT));
	if (start >= end)
		return 0;
	first = ((start - up->start) >> PAGE_SHIFT) / DRM_USERPTR_CHUNK_PAGES;
	last = ((end - 1 - up->start) >> PAGE_SHIFT) / DRM_USERPTR_CHUNK_PAGES;
	bitmap_set(up->hit, first, last - first + 1);
	for (c = first; c <= last; c++) {
		if (test_and_set_bit(c, up->stale))
			continue;
		n++;
		if (up->pages &&
		    (drm_userptr_pins(up->udev) || drm_userptr_writable(up))) {
			__set_bit(c, up->unpin);
			if (up->udev->deferred_release)
				drm_userptr_stat_add(up->udev,
						     DRM_USERPTR_STAT_STALE_PINNED_PAGES,
						     drm_userptr_chunk_pages(up, c));
		}
	}
	return n;
}
EXPORT_SYMBOL_NS_GPL(__drm_userptr_mark_stale, DRM_USERPTR_TOPOLOGY);

/**
 * __drm_userptr_drop_pending() - release chunks marked stale
 * @up: the object; the device must be idle on it
 *
 * Pinned backings: mark the pages dirty and drop the pins, or, while a
 * validation of the object runs, leave them for it in &drm_userptr.held
 * (an invalidation that KSM started would otherwise let it merge pages
 * the validation has just unshared, see DOC: Collision-retry). Unpinned
 * backings hold no reference, but what the device wrote must still be
 * dirty before the mm looks at the pages: the callback runs before they
 * are unmapped, so a lazily-freed (MADV_FREE) anonymous page or a clean
 * shmem page the device wrote is not discarded as clean by reclaim. Only
 * anonymous (lazily-freed ones are no longer swap-backed) and swap-backed
 * pages are marked here, whose dirtying needs no folio lock.
 *
 * Notifier lock held; never sleeps and never takes a folio lock.
 */
void __drm_userptr_drop_pending(struct drm_userptr *up)
{
	bool pins = drm_userptr_pins(up->udev);
	struct folio *folio;
	unsigned long c, i;

	lockdep_assert_held(&up->udev->notifier_lock);
	for_each_set_bit(c, up->unpin, up->nchunks) {
		if (pins && up->validating) {
			/* See &drm_userptr.held: KSM must not merge them yet. */
			__set_bit(c, up->held);
		} else if (pins) {
			drm_userptr_unpin(up, up->pages + drm_userptr_chunk_first(c),
					  drm_userptr_chunk_pages(up, c), false);
		} else {
			for (i = 0; i < drm_userptr_chunk_pages(up, c); i++) {
				folio = page_folio(up->pages[drm_userptr_chunk_first(c) + i]);
				if ((folio_test_anon(folio) ||
				     folio_test_swapbacked(folio)) &&
				    !folio_test_dirty(folio))
					folio_mark_dirty(folio);
			}
		}
		__clear_bit(c, up->unpin);
	}
}
EXPORT_SYMBOL_NS_GPL(__drm_userptr_drop_pending, DRM_USERPTR_TOPOLOGY);

/**
 * drm_userptr_count_event() - count an invalidation that hit an object
 * @udev: the device
 * @event: the mm's reason for it
 *
 * For comparator topologies; the helper's callback counts its own.
 */
void drm_userptr_count_event(struct drm_userptr_device *udev,
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
EXPORT_SYMBOL_NS_GPL(drm_userptr_count_event, DRM_USERPTR_TOPOLOGY);

/*
 * Non-blockable invalidation (the OOM reaper): never sleep. Complete only if
 * the lock is free and the device is idle on the object (with deferred
 * release, only if the lock is free: the pins keep the pages); otherwise
 * refuse,
 * which the mm allows exactly because the range is not blockable: the
 * reaper then leaves this range alone and retries later, and the pages stay
 * valid for the device until then. @mni is the notifier whose sequence to
 * move, NULL from the debug hook (marking the chunks stale is enough there:
 * the object is current only with no stale chunk).
 */
static bool drm_userptr_invalidate_nonblock(struct drm_userptr *up,
					    struct mmu_interval_notifier *mni,
					    unsigned long cur_seq,
					    unsigned long start,
					    unsigned long end)
{
	struct drm_userptr_device *udev = up->udev;

	if (!mutex_trylock(&udev->notifier_lock))
		goto refuse;
	if (udev->deferred_release) {
		/* The pins keep the pages; the device's work does not matter. */
		if (mni)
			mmu_interval_set_seq(mni, cur_seq);
		__drm_userptr_mark_stale(up, start, end);
		mutex_unlock(&udev->notifier_lock);
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_OK);
		return true;
	}
	if (!dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP)) {
		mutex_unlock(&udev->notifier_lock);
		goto refuse;
	}
	if (mni)
		mmu_interval_set_seq(mni, cur_seq);
	__drm_userptr_mark_stale(up, start, end);
	__drm_userptr_drop_pending(up);
	mutex_unlock(&udev->notifier_lock);
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_OK);
	return true;

refuse:
	drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_NONBLOCK_REFUSED);
	return false;
}

static bool drm_userptr_invalidate(struct mmu_interval_notifier *mni,
				   const struct mmu_notifier_range *range,
				   unsigned long cur_seq)
{
	struct drm_userptr *up = container_of(mni, struct drm_userptr, notifier);
	struct drm_userptr_device *udev = up->udev;
	bool blockable = mmu_notifier_range_blockable(range);
	long ret;

	trace_drm_userptr_invalidate(up, range->start, range->end,
				     range->event, blockable);
	drm_userptr_count_event(udev, range->event);

	if (!blockable)
		return drm_userptr_invalidate_nonblock(up, mni, cur_seq,
						       range->start, range->end);

	might_sleep();
	mutex_lock(&udev->notifier_lock);
	mmu_interval_set_seq(mni, cur_seq);
	__drm_userptr_mark_stale(up, range->start, range->end);
	mutex_unlock(&udev->notifier_lock);

	/*
	 * Deferred release: the pins keep every page the device may still
	 * use until the driver releases them from process context; no job
	 * can be published on the stale chunks meanwhile.
	 */
	if (udev->deferred_release)
		return true;

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

	/*
	 * Entries of stale chunks are rewritten only by a validation that
	 * passed mmu_interval_read_begin(), which waits for this callback to
	 * return: the pending pins are still ours to drop.
	 */
	mutex_lock(&udev->notifier_lock);
	__drm_userptr_drop_pending(up);
	mutex_unlock(&udev->notifier_lock);
	return true;
}

static const struct mmu_interval_notifier_ops drm_userptr_notifier_ops = {
	.invalidate = drm_userptr_invalidate,
};

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
		unsigned long end = up->start + (up->npages << PAGE_SHIFT);

		if (up->mm != mm || addr < up->start || addr >= end)
			continue;
		if (drm_userptr_invalidate_nonblock(up, NULL, 0, up->start, end))
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

/* ---------------------------------------------------------------------- */
/* Release: drop the pins of stale chunks (deferred release)              */

/*
 * Notifier lock held: drop the pins pending release. Under the lock, so
 * without the folio lock, as the callback does (see drm_userptr_unpin()).
 *
 * Return: the number of pages unpinned.
 */
static unsigned long __drm_userptr_release_pending(struct drm_userptr *up)
{
	unsigned long c, n, pages = 0;

	lockdep_assert_held(&up->udev->notifier_lock);
	for_each_set_bit(c, up->unpin, up->nchunks) {
		n = drm_userptr_chunk_pages(up, c);
		drm_userptr_unpin(up, up->pages + drm_userptr_chunk_first(c), n,
				  false);
		pages += n;
	}
	bitmap_zero(up->unpin, up->nchunks);
	drm_userptr_stat_add(up->udev, DRM_USERPTR_STAT_STALE_PINNED_PAGES,
			     -(long)pages);
	return pages;
}

/**
 * drm_userptr_release_stale() - drop the pins an invalidation left behind
 * @up: the object
 * @wait_idle: first wait, interruptibly, until every fence of the object's
 *	reservation signaled; false if the driver knows by other means that
 *	the device no longer uses the stale pages (it unbound them)
 *
 * For deferred release (DOC: Release modes): unpins the pages of the
 * chunks invalidations marked stale since the last release, so that the
 * mm can free, migrate or swap them and drm_userptr_validate() can
 * acquire the chunks again. Without @wait_idle the caller guarantees that
 * the device will not touch those pages again: no job, binding or CPU
 * user of the driver published before the invalidation still uses them.
 * With @wait_idle the helper checks under the notifier lock that the
 * reservation is idle before it releases anything; no job can be
 * published on the object meanwhile, since a stale chunk keeps it from
 * being current, so the wait ends once the jobs already there signal.
 *
 * Must be called from process context, with no driver lock the device's
 * jobs need to signal and without the notifier lock. Does nothing in
 * release-at-invalidation mode, where the callback drops the pins itself.
 *
 * Return: 0 when no pin is pending release any more (also when none was);
 * -ERESTARTSYS if @wait_idle and a signal interrupted the wait (nothing
 * is released then).
 */
int drm_userptr_release_stale(struct drm_userptr *up, bool wait_idle)
{
	struct drm_userptr_device *udev = up->udev;
	unsigned long released;
	long ret;

	might_sleep();
	lockdep_assert_not_held(&udev->notifier_lock);
	if (!udev->deferred_release)
		return 0;

	mutex_lock(&udev->notifier_lock);
	while (wait_idle && !bitmap_empty(up->unpin, up->nchunks) &&
	       !dma_resv_test_signaled(up->resv, DMA_RESV_USAGE_BOOKKEEP)) {
		mutex_unlock(&udev->notifier_lock);
		ret = dma_resv_wait_timeout(up->resv, DMA_RESV_USAGE_BOOKKEEP,
					    true, MAX_SCHEDULE_TIMEOUT);
		if (ret < 0)
			return ret;
		mutex_lock(&udev->notifier_lock);
	}
	released = __drm_userptr_release_pending(up);
	mutex_unlock(&udev->notifier_lock);
	if (released)
		drm_userptr_stat_inc(udev, DRM_USERPTR_STAT_STALE_RELEASES);
	return 0;
}
EXPORT_SYMBOL_GPL(drm_userptr_release_stale);

/* ---------------------------------------------------------------------- */
/* Teardown                                                               */

/**
 * drm_userptr_fini() - stop tracking and release the pages
 * @up: the object; the device must be done with it (no unsignaled fence)
 *
 * Removes the object's notifier, which waits for a running invalidation of
 * the range, then drops the pins, those pending release included (deferred
 * release). Must not be called under the notifier lock or from an
 * invalidation callback.
 */
void drm_userptr_fini(struct drm_userptr *up)
{
	struct drm_userptr_device *udev = up->udev;
	unsigned long c, stale_pinned = 0;
	bool pending;

	might_sleep();
	lockdep_assert_not_held(&udev->notifier_lock);

	mutex_lock(&udev->objects_lock);
	list_del(&up->link);
	mutex_unlock(&udev->objects_lock);

	if (udev->topology)
		udev->topology->fini(up);
	else
		mmu_interval_notifier_remove(&up->notifier);
	if (up->pages && drm_userptr_pins(udev)) {
		for (c = 0; c < up->nchunks; c++) {
			pending = udev->deferred_release &&
				  test_bit(c, up->unpin);
			if (pending)
				stale_pinned += drm_userptr_chunk_pages(up, c);
			if (!test_bit(c, up->stale) || test_bit(c, up->held) ||
			    pending)
				drm_userptr_unpin(up, up->pages + drm_userptr_chunk_first(c),
						  drm_userptr_chunk_pages(up, c), true);
		}
	}
	drm_userptr_stat_add(udev, DRM_USERPTR_STAT_STALE_PINNED_PAGES,
			     -(long)stale_pinned);
	drm_userptr_free_state(up);
	atomic64_dec(&udev->stats[DRM_USERPTR_STAT_OBJECTS]);
}
EXPORT_SYMBOL_GPL(drm_userptr_fini);

MODULE_DESCRIPTION("DRM GEM userptr helper: interval notifiers with collision-retry");
MODULE_AUTHOR("The drm-userptr authors");
MODULE_LICENSE("Dual MIT/GPL");
