/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * drm_userptr topologies: how the notifiers that watch an object's range
 * are arranged. The helper's own design is one interval notifier per
 * object; this interface exists so that benchmark comparators (other
 * arrangements, built as a separate module) can run on the same page
 * state and acquisition loop and be measured against it. Not for drivers.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __DRM_USERPTR_TOPOLOGY_H__
#define __DRM_USERPTR_TOPOLOGY_H__

#include <linux/list.h>

#include "drm_userptr.h"

struct mmu_notifier_range;
struct module;

/**
 * struct drm_userptr_topology - an arrangement of notifiers, for comparators
 *
 * The helper keeps the page state (the chunk bitmaps, the page array) and
 * the acquisition loop; a topology decides which notifiers cover an object
 * and what "no invalidation since the snapshot" means. Its callbacks must
 * mark the chunks an invalidation covers with __drm_userptr_mark_stale()
 * and drop them with __drm_userptr_drop_pending() once the device is idle,
 * under the notifier lock, as the helper's own callback does.
 */
struct drm_userptr_topology {
	/** @name: the name drivers look it up by, e.g. "legacy". */
	const char *name;
	/** @id: the value drivers report for it (a uapi's backing value). */
	u32 id;
	/** @pins: pages are pinned (else faulted with HMM, unreferenced). */
	bool pins;
	/** @owner: the module providing it. */
	struct module *owner;
	/** @link: in the helper's list of registered topologies. */
	struct list_head link;
	/**
	 * @device_init: set up &drm_userptr_device.topology_private; may
	 * sleep. Optional.
	 */
	int (*device_init)(struct drm_userptr_device *udev);
	/** @device_fini: free it. Optional. */
	void (*device_fini)(struct drm_userptr_device *udev);
	/** @init: insert the object's notifier(s); may sleep; no lock held. */
	int (*init)(struct drm_userptr *up);
	/** @fini: remove them; waits for running invalidations. */
	void (*fini)(struct drm_userptr *up);
	/** @read_begin: start a round; return a cookie for @read_retry. */
	int (*read_begin)(struct drm_userptr *up, void **cookie);
	/**
	 * @acquire: acquire pages [first, first + count) into @pages with no
	 * driver lock held (sleeps, faults); -EBUSY if the range was
	 * invalidated meanwhile, -EAGAIN if pages were faulted in through
	 * userfaultfd after a wait (see drm_userptr_fault_range()), with what
	 * was acquired kept in both cases.
	 */
	int (*acquire)(struct drm_userptr *up, void *cookie, unsigned long first,
		       unsigned long count, struct page **pages);
	/**
	 * @read_retry: notifier lock held: has an invalidation begun since
	 * @read_begin? On false the caller publishes and calls @commit.
	 */
	bool (*read_retry)(struct drm_userptr *up, void *cookie);
	/** @commit: notifier lock held: record the cookie as published. */
	void (*commit)(struct drm_userptr *up, void *cookie);
	/** @read_end: end the round (after publication or before a retry). */
	void (*read_end)(struct drm_userptr *up, void *cookie);
	/** @is_current: notifier lock held: do the published sequences hold? */
	bool (*is_current)(struct drm_userptr *up);
};

int drm_userptr_topology_register(struct drm_userptr_topology *topo);
void drm_userptr_topology_unregister(struct drm_userptr_topology *topo);
const struct drm_userptr_topology *drm_userptr_topology_get(const char *name);
void drm_userptr_topology_put(const struct drm_userptr_topology *topo);
int drm_userptr_device_init_topology(struct drm_userptr_device *udev,
				     const struct drm_userptr_topology *topo,
				     unsigned int retry_timeout_ms);

void drm_userptr_stat_inc(struct drm_userptr_device *udev,
			  enum drm_userptr_stat stat);
void drm_userptr_count_event(struct drm_userptr_device *udev,
			     enum mmu_notifier_event event);
unsigned long __drm_userptr_mark_stale(struct drm_userptr *up,
				       unsigned long start, unsigned long end);
void __drm_userptr_drop_pending(struct drm_userptr *up);
int drm_userptr_pin_range(struct drm_userptr *up, unsigned long first,
			  unsigned long count, struct page **pages);
int drm_userptr_fault_range(struct drm_userptr *up,
			    struct mmu_interval_notifier *notifier,
			    unsigned long seq, unsigned long first,
			    unsigned long count, struct page **pages);

#endif /* __DRM_USERPTR_TOPOLOGY_H__ */
