/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * drm_userptr: GEM objects backed by user memory, kept coherent with the CPU
 * page tables through one mmu_interval_notifier per object.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __DRM_USERPTR_H__
#define __DRM_USERPTR_H__

#include <linux/atomic.h>
#include <linux/ktime.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/types.h>

struct dma_resv;
struct mm_struct;
struct page;
struct seq_file;

/* Flags of drm_userptr_init(); values are i915's uapi values. */
#define DRM_USERPTR_READ_ONLY		0x1
#define DRM_USERPTR_PROBE		0x2
#define DRM_USERPTR_UNSYNCHRONIZED	0x80000000u

/**
 * DRM_USERPTR_MAX_SIZE - largest object drm_userptr_init() accepts
 *
 * 4 GiB: bigger than any Mesa import in practice, and small enough that the
 * per-object page array (8 bytes a page) stays a single kvmalloc.
 */
#define DRM_USERPTR_MAX_SIZE		(4ULL << 30)

/**
 * enum drm_userptr_backing - how a device holds the pages of its objects
 * @DRM_USERPTR_BACKING_PINNED: pin_user_pages_fast(FOLL_LONGTERM); the pins
 *	are dropped by the invalidation callback once the device is idle.
 * @DRM_USERPTR_BACKING_UNPINNED: hmm_range_fault(); no page reference is
 *	held, the pfns are valid only while the notifier sequence matches.
 */
enum drm_userptr_backing {
	DRM_USERPTR_BACKING_PINNED = 0,
	DRM_USERPTR_BACKING_UNPINNED = 1,
};

/*
 * Flags of drm_userptr_device_init(). DRM_USERPTR_DEVICE_RELEASE_DEFERRED:
 * the invalidation callback only moves the sequence and marks chunks stale;
 * their pins stay until drm_userptr_release_stale() or drm_userptr_fini()
 * (DOC: Release modes in drm_userptr_core.c). Pinned backing only.
 */
#define DRM_USERPTR_DEVICE_RELEASE_DEFERRED	0x1

/*
 * Pages are tracked in chunks of this many pages: an invalidation marks
 * whole chunks stale and the next use re-acquires only those.
 */
#define DRM_USERPTR_CHUNK_PAGES		16

/**
 * enum drm_userptr_stat - counters kept per &struct drm_userptr_device
 * @DRM_USERPTR_STAT_OBJECTS: live objects.
 * @DRM_USERPTR_STAT_PINNED_PAGES: pages currently pinned.
 * @DRM_USERPTR_STAT_ACQUIRES: successful page acquisitions.
 * @DRM_USERPTR_STAT_ACQUIRED_PAGES: pages acquired in total.
 * @DRM_USERPTR_STAT_REVALIDATIONS: validations that found the pages current.
 * @DRM_USERPTR_STAT_RETRIES: acquisitions redone after a collision.
 * @DRM_USERPTR_STAT_SUBMIT_RETRIES: submissions whose final check collided.
 * @DRM_USERPTR_STAT_EBUSY: validations that gave up with -EBUSY.
 * @DRM_USERPTR_STAT_INVALIDATIONS: invalidation callbacks that hit an object.
 * @DRM_USERPTR_STAT_INV_UNMAP: ... of which for MMU_NOTIFY_UNMAP.
 * @DRM_USERPTR_STAT_INV_CLEAR: ... MMU_NOTIFY_CLEAR (zap, madvise, COW).
 * @DRM_USERPTR_STAT_INV_PROTECTION: ... MMU_NOTIFY_PROTECTION_VMA/PAGE.
 * @DRM_USERPTR_STAT_INV_SOFT_DIRTY: ... MMU_NOTIFY_SOFT_DIRTY.
 * @DRM_USERPTR_STAT_INV_RELEASE: ... MMU_NOTIFY_RELEASE (mm exit).
 * @DRM_USERPTR_STAT_INV_MIGRATE: ... MMU_NOTIFY_MIGRATE.
 * @DRM_USERPTR_STAT_INV_EXCLUSIVE: ... MMU_NOTIFY_EXCLUSIVE.
 * @DRM_USERPTR_STAT_INV_WAITS: invalidations that waited for device fences.
 * @DRM_USERPTR_STAT_NONBLOCK_OK: non-blockable invalidations completed.
 * @DRM_USERPTR_STAT_NONBLOCK_REFUSED: non-blockable invalidations refused.
 * @DRM_USERPTR_STAT_INV_MISSED: invalidations a notifier received that
 *	touched no object (a per-object notifier never does; a notifier
 *	shared by several objects, see drm_userptr_topology.h, may).
 * @DRM_USERPTR_STAT_KEPT_CHUNKS: chunks an acquisition round that collided
 *	still published, because no invalidation touched them.
 * @DRM_USERPTR_STAT_STALE_PINNED_PAGES: deferred release: pages of stale
 *	chunks still pinned, waiting for drm_userptr_release_stale() or
 *	drm_userptr_fini() (also counted in the pinned pages).
 * @DRM_USERPTR_STAT_STALE_RELEASES: deferred release: calls of
 *	drm_userptr_release_stale() that dropped pins.
 * @DRM_USERPTR_STAT_COUNT: number of counters.
 */
enum drm_userptr_stat {
	DRM_USERPTR_STAT_OBJECTS,
	DRM_USERPTR_STAT_PINNED_PAGES,
	DRM_USERPTR_STAT_ACQUIRES,
	DRM_USERPTR_STAT_ACQUIRED_PAGES,
	DRM_USERPTR_STAT_REVALIDATIONS,
	DRM_USERPTR_STAT_RETRIES,
	DRM_USERPTR_STAT_SUBMIT_RETRIES,
	DRM_USERPTR_STAT_EBUSY,
	DRM_USERPTR_STAT_INVALIDATIONS,
	DRM_USERPTR_STAT_INV_UNMAP,
	DRM_USERPTR_STAT_INV_CLEAR,
	DRM_USERPTR_STAT_INV_PROTECTION,
	DRM_USERPTR_STAT_INV_SOFT_DIRTY,
	DRM_USERPTR_STAT_INV_RELEASE,
	DRM_USERPTR_STAT_INV_MIGRATE,
	DRM_USERPTR_STAT_INV_EXCLUSIVE,
	DRM_USERPTR_STAT_INV_WAITS,
	DRM_USERPTR_STAT_NONBLOCK_OK,
	DRM_USERPTR_STAT_NONBLOCK_REFUSED,
	DRM_USERPTR_STAT_INV_MISSED,
	DRM_USERPTR_STAT_KEPT_CHUNKS,
	DRM_USERPTR_STAT_STALE_PINNED_PAGES,
	DRM_USERPTR_STAT_STALE_RELEASES,
	DRM_USERPTR_STAT_COUNT,
};

/**
 * struct drm_userptr_device - per-device state shared by its userptr objects
 *
 * Embed it in the driver's device. Members are private to the helper (and
 * to a comparator topology, drm_userptr_topology.h): drivers take the
 * notifier lock with drm_userptr_notifier_lock(), read the settings and
 * counters through the drm_userptr_device_*() accessors, and never write
 * the counters.
 */
struct drm_userptr_device {
	/**
	 * @notifier_lock: the notifier lock. Held by the invalidation
	 * callback around mmu_interval_set_seq(), and by readers around
	 * mmu_interval_read_retry() and whatever they publish to the device
	 * on success (pages of an object, a job's fence). See DOC: Locking.
	 */
	struct mutex notifier_lock;
	/** @backing: how pages are held; fixed at init. */
	enum drm_userptr_backing backing;
	/**
	 * @deferred_release: the invalidation callback leaves the pins of
	 * the chunks it marks stale for drm_userptr_release_stale() (see
	 * DOC: Release modes); fixed at init.
	 */
	bool deferred_release;
	/**
	 * @topology: NULL (one interval notifier per object, the design
	 * of this helper) or a benchmark comparator's notifier arrangement,
	 * see drm_userptr_topology.h; fixed at init.
	 */
	const struct drm_userptr_topology *topology;
	/** @topology_private: the comparator's per-device state; its own. */
	void *topology_private;
	/** @retry_timeout_ms: bound on colliding acquisitions; fixed at init. */
	unsigned int retry_timeout_ms;
	/** @stats: counters, see &enum drm_userptr_stat. */
	atomic64_t stats[DRM_USERPTR_STAT_COUNT];
	/**
	 * @objects_lock: guards @objects. Outside the notifier lock; see
	 * DOC: Locking.
	 */
	struct mutex objects_lock;
	/** @objects: the device's objects, for the debug hooks. */
	struct list_head objects;
};

struct drm_userptr_topology;

/*
 * The retry budget charges the time between consecutive collisions, each
 * interval for at most 1/DRM_USERPTR_BUDGET_SHARE of retry_timeout_ms
 * (see DOC: Collision-retry in drm_userptr_core.c): spending it takes more
 * than this many intervals, a storm of collisions, which one long round
 * (a fault waiting for I/O, mmap_lock held by a fork) is not.
 */
#define DRM_USERPTR_BUDGET_SHARE	8

/**
 * struct drm_userptr_budget - how long one submission may keep colliding
 *
 * A collision with an invalidation makes a submission acquire pages again;
 * the budget bounds how long that goes on before the submission fails with
 * -EBUSY. It is consumed by collisions only: its clock starts at the first
 * one and stops while the submission is blocked (see DOC: Collision-retry).
 * drm_userptr_budget_init() starts one for each submission;
 * drm_userptr_validate() charges it for the collisions of its acquisition
 * rounds, the driver with drm_userptr_budget_charge_submit() for each
 * failed check under the notifier lock. Members are private to the helper.
 */
struct drm_userptr_budget {
	/** @udev: the device, whose retry_timeout_ms the budget is. */
	struct drm_userptr_device *udev;
	/** @collisions: collisions charged so far. */
	unsigned int collisions;
	/** @last: when the last collision was charged. */
	ktime_t last;
	/** @blocked: time since @last spent blocked, not to be charged. */
	ktime_t blocked;
	/** @spent: time charged so far. */
	ktime_t spent;
};

/**
 * struct drm_userptr - user memory backing one GEM object
 *
 * Embed it in the driver's GEM object. Members are private to the helper.
 * Those marked "fixed at init" are written by drm_userptr_init() only and
 * read without a lock; the page state below them is guarded by the
 * device's notifier lock (DOC: Locking).
 */
struct drm_userptr {
	/**
	 * @notifier: the object's interval notifier (unless a comparator
	 * topology is used); inserted at init, removed at fini.
	 */
	struct mmu_interval_notifier notifier;
	/**
	 * @udev: the device; its notifier lock guards the page state.
	 * Fixed at init.
	 */
	struct drm_userptr_device *udev;
	/** @resv: reservation object, waited on invalidation. Fixed at init. */
	struct dma_resv *resv;
	/**
	 * @mm: the creator's mm (kept alive by the notifier); jobs submitted
	 * from any other mm fail with -EFAULT. Fixed at init.
	 */
	struct mm_struct *mm;
	/** @start: user address of the first byte. Fixed at init. */
	unsigned long start;
	/** @npages: number of pages. Fixed at init. */
	unsigned long npages;
	/** @nchunks: chunks of %DRM_USERPTR_CHUNK_PAGES pages. Fixed at init. */
	unsigned long nchunks;
	/** @flags: DRM_USERPTR_READ_ONLY or 0. Fixed at init. */
	u32 flags;
	/**
	 * @hit_owner: an acquisition round owns @hit. Notifier lock held.
	 */
	bool hit_owner;
	/**
	 * @validating: drm_userptr_validate() calls running on the object;
	 * while there are any, no pin they took is dropped (see @held).
	 * Notifier lock held.
	 */
	unsigned int validating;
	/**
	 * @seq: notifier sequence the published pages were acquired under
	 * (per-object backings). Write and read: notifier lock held.
	 */
	unsigned long seq;
	/**
	 * @pages: the page array, allocated at first use. An entry is valid
	 * for the device while its chunk is not in @stale; pinned backings
	 * hold a pin on it, unpinned ones no reference. Entries are written
	 * only under the notifier lock while their chunk is stale; the device
	 * reads them only while a fence published under the notifier lock
	 * (after a successful check) is unsignaled.
	 */
	struct page **pages;
	/**
	 * @stale: bitmap of chunks whose pages are not held and must be
	 * acquired before the next use. Write and read: notifier lock held.
	 */
	unsigned long *stale;
	/**
	 * @unpin: bitmap of chunks an invalidation made stale whose pins
	 * are still to be dropped: once the device is idle by the callback
	 * (release at invalidation), or by drm_userptr_release_stale() and
	 * drm_userptr_fini() (deferred release; the device may still use
	 * them until then, and nothing rewrites their entries). Notifier
	 * lock held.
	 */
	unsigned long *unpin;
	/**
	 * @held: bitmap of stale chunks whose entries in @pages still hold
	 * pins for a running validation: pins an invalidation would have
	 * dropped, and those of a collided round. The device never uses
	 * them; they are dropped when the chunk is published again or the
	 * last validation ends. Pinned backings; notifier lock held.
	 */
	unsigned long *held;
	/**
	 * @hit: bitmap of chunks an invalidation touched since the round
	 * that owns it (see @hit_owner) began. Notifier lock held. The four
	 * bitmaps share one allocation.
	 */
	unsigned long *hit;
	/** @link: in &drm_userptr_device.objects, under its objects_lock. */
	struct list_head link;
	/**
	 * @topology_private: a comparator topology's per-object state, NULL
	 * with the per-object notifier (see &drm_userptr_device.topology).
	 */
	void *topology_private;
};

int drm_userptr_device_init(struct drm_userptr_device *udev,
			    enum drm_userptr_backing backing, u32 flags,
			    unsigned int retry_timeout_ms);
void drm_userptr_device_fini(struct drm_userptr_device *udev);
void drm_userptr_device_stats_show(struct drm_userptr_device *udev,
				   struct seq_file *m);
s64 drm_userptr_device_stat(struct drm_userptr_device *udev,
			    enum drm_userptr_stat stat);
const char *drm_userptr_device_backing_name(struct drm_userptr_device *udev);
u32 drm_userptr_device_backing_id(struct drm_userptr_device *udev);
unsigned int drm_userptr_device_retry_timeout_ms(struct drm_userptr_device *udev);
bool drm_userptr_device_release_deferred(struct drm_userptr_device *udev);

int drm_userptr_check_args(u64 user_ptr, u64 user_size, u32 flags);
int drm_userptr_init(struct drm_userptr *up, struct drm_userptr_device *udev,
		     struct dma_resv *resv, u64 user_ptr, u64 user_size,
		     u32 flags);
void drm_userptr_fini(struct drm_userptr *up);

void drm_userptr_budget_init(struct drm_userptr_budget *budget,
			     struct drm_userptr_device *udev);
int drm_userptr_budget_charge(struct drm_userptr_budget *budget);
int drm_userptr_budget_charge_submit(struct drm_userptr_budget *budget);
int drm_userptr_validate(struct drm_userptr *up, bool write,
			 struct drm_userptr_budget *budget);

void drm_userptr_notifier_lock(struct drm_userptr_device *udev);
void drm_userptr_notifier_unlock(struct drm_userptr_device *udev);
bool drm_userptr_is_current(struct drm_userptr *up);

struct page *drm_userptr_page(struct drm_userptr *up, unsigned long idx);
int drm_userptr_release_stale(struct drm_userptr *up, bool wait_idle);

int drm_userptr_debug_invalidate_nonblock(struct drm_userptr_device *udev,
					  struct mm_struct *mm,
					  unsigned long addr);

#endif /* __DRM_USERPTR_H__ */
