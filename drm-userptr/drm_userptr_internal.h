/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * drm_userptr: what the per-object core shares with the comparator
 * topologies (legacy, aligned). Not for drivers.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __DRM_USERPTR_INTERNAL_H__
#define __DRM_USERPTR_INTERNAL_H__

#include "drm_userptr.h"

struct mmu_notifier_range;

/*
 * struct drm_userptr_topology - how an object learns about invalidations
 *
 * The core keeps the page state (the chunk bitmaps, the page array) and the
 * acquisition loop; a topology decides which notifiers cover an object and
 * what "no invalidation since the snapshot" means.
 *
 * @init: insert the object's notifier(s); may sleep; no lock held.
 * @fini: remove them; waits for running invalidations.
 * @read_begin: start an acquisition round, return a cookie for @read_retry.
 * @acquire: acquire the pages of [first, first + count) into @pages with no
 *	driver lock held (sleeps, faults).
 * @read_retry: notifier lock held: has an invalidation begun since
 *	@read_begin? On false the caller publishes and calls @commit.
 * @commit: notifier lock held: record the cookie as the published state.
 * @read_end: end the round (after publication or before a retry).
 * @is_current: notifier lock held: do the published sequences still hold?
 */
struct drm_userptr_topology {
	int (*init)(struct drm_userptr *up);
	void (*fini)(struct drm_userptr *up);
	int (*read_begin)(struct drm_userptr *up, void **cookie);
	int (*acquire)(struct drm_userptr *up, void *cookie, unsigned long first,
		       unsigned long count, struct page **pages);
	bool (*read_retry)(struct drm_userptr *up, void *cookie);
	void (*commit)(struct drm_userptr *up, void *cookie);
	void (*read_end)(struct drm_userptr *up, void *cookie);
	bool (*is_current)(struct drm_userptr *up);
};

extern const struct drm_userptr_topology drm_userptr_legacy_topology;
extern const struct drm_userptr_topology drm_userptr_aligned_topology;

void drm_userptr_stat_inc(struct drm_userptr_device *udev,
			  enum drm_userptr_stat stat);
void drm_userptr_count_event(struct drm_userptr_device *udev,
			     enum mmu_notifier_event event);

/* Notifier lock held: mark the chunks [start, end) covers stale. */
unsigned long __drm_userptr_mark_stale(struct drm_userptr *up,
				       unsigned long start, unsigned long end);
/* Notifier lock held: drop the pins the last marking left pending. */
void __drm_userptr_drop_pending(struct drm_userptr *up);

int drm_userptr_pin_range(struct drm_userptr *up, unsigned long first,
			  unsigned long count, struct page **pages);
int drm_userptr_fault_range(struct drm_userptr *up,
			    struct mmu_interval_notifier *notifier,
			    unsigned long seq, unsigned long first,
			    unsigned long count, struct page **pages);

void drm_userptr_legacy_exit(void);

#endif /* __DRM_USERPTR_INTERNAL_H__ */
