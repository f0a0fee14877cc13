/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * vblit: a virtual render device with a software copy/fill engine, the
 * in-tree user of the drm_userptr helper.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __VBLIT_DRV_H__
#define __VBLIT_DRV_H__

#include <linux/atomic.h>
#include <linux/dma-fence.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#include <drm/drm_device.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>

#include "drm_userptr.h"

struct drm_file;
struct platform_device;

/* Version of the uapi in vblit_drm.h, reported by VBLIT_PARAM_API_VERSION. */
#define VBLIT_API_VERSION	1

/*
 * VBLIT_MAX_GEM_SIZE - largest shmem object GEM_CREATE accepts
 *
 * 1 GiB: enough for any test image, and small enough that an object's page
 * array and the engine's page-by-page walk over it stay cheap.
 */
#define VBLIT_MAX_GEM_SIZE	SZ_1G

/**
 * DOC: vblit locking
 *
 * Locks of vblit, outermost first:
 *
 * - &vblit_shmem_object.pin_lock: serialises the first pin of a shmem
 *   object's pages. On 6.12 drm_gem_shmem_pin() takes the object's
 *   reservation lock inside it.
 * - The reservation locks of a job's objects, taken together with
 *   drm_gem_lock_reservations() (ww_mutex) by EXEC.
 * - &drm_userptr_device.notifier_lock, inside the reservation locks, held
 *   by EXEC only around drm_userptr_is_current() and dma_resv_add_fence():
 *   nothing under it allocates or waits.
 * - &vblit_device.hold_lock, a spinlock, innermost: it guards the held-job
 *   lists and nothing but list operations and queue_delayed_work() run
 *   under it.
 * - &vblit_device.fence_lock, the spinlock of every job fence, taken by the
 *   dma_fence core only.
 *
 * The engine never takes any of these: it reads pages published before its
 * fence was, and signals. That is what lets the invalidation callback and
 * drm_userptr_fini() wait for job fences without deadlocking.
 */

/**
 * struct vblit_device - the vblit device
 */
struct vblit_device {
	/** @drm: the DRM device, embedded. */
	struct drm_device drm;
	/** @pdev: the platform device @drm hangs off. */
	struct platform_device *pdev;
	/** @udev: userptr state shared by the device's userptr objects. */
	struct drm_userptr_device udev;
	/**
	 * @engine_wq: ordered, WQ_MEM_RECLAIM; runs the jobs, one at a time,
	 * in the order they became runnable. Its items never sleep on
	 * anything but the CPU: they signal the fences the invalidation
	 * callback waits for, possibly in reclaim.
	 */
	struct workqueue_struct *engine_wq;
	/**
	 * @hold_wq: unbound, WQ_MEM_RECLAIM; runs the hold timeouts. Kept off
	 * @engine_wq, where a timeout would wait behind every job queued
	 * there and a hold would last as long as the engine is busy. Reclaim
	 * may wait for a held job's fence (an invalidation of its pages), so
	 * a timeout must not depend on a new worker being allocated.
	 */
	struct workqueue_struct *hold_wq;
	/**
	 * @cleanup_wq: drops the object references of finished jobs. Kept
	 * off @engine_wq because freeing a userptr object removes its
	 * notifier, which waits for a running invalidation, which may wait
	 * for a job queued behind.
	 */
	struct workqueue_struct *cleanup_wq;
	/** @fence_lock: the lock of every job fence. */
	spinlock_t fence_lock;
	/** @hold_lock: guards &vblit_file.held and &vblit_job.hold_link. */
	spinlock_t hold_lock;
	/** @max_hold_ms: bound on &drm_vblit_exec.hold_ms, fixed at load. */
	unsigned int max_hold_ms;
	/** @objects: live GEM objects, shmem and userptr. */
	atomic_long_t objects;
	/** @shmem_objects: live shmem objects. */
	atomic_long_t shmem_objects;
	/** @userptr_objects: live userptr objects. */
	atomic_long_t userptr_objects;
	/** @jobs_submitted: jobs whose fence was published. */
	atomic64_t jobs_submitted;
	/** @jobs_completed: jobs the engine has run. */
	atomic64_t jobs_completed;
	/** @jobs_held: jobs published with HOLD and not yet released. */
	atomic64_t jobs_held;
};

/**
 * struct vblit_file - per-open-file state
 */
struct vblit_file {
	/**
	 * @held: jobs submitted with %VBLIT_EXEC_HOLD by this file and not yet
	 * released, linked by &vblit_job.hold_link. Guarded by
	 * &vblit_device.hold_lock.
	 */
	struct list_head held;
	/** @last_job_id: id of the file's latest job; ids start at 1. */
	atomic64_t last_job_id;
};

/**
 * struct vblit_shmem_object - a shmem-backed GEM object
 */
struct vblit_shmem_object {
	/** @base: the shmem helper object; first, see vblit_gem.c. */
	struct drm_gem_shmem_object base;
	/** @pin_lock: serialises the transition of @pinned. */
	struct mutex pin_lock;
	/**
	 * @pinned: the engine's pin on the pages is taken; it lasts until
	 * the object is freed, so the engine reads &drm_gem_shmem_object.pages
	 * without a lock. Written under @pin_lock.
	 */
	bool pinned;
};

/**
 * struct vblit_userptr_object - a GEM object backed by user memory
 */
struct vblit_userptr_object {
	/** @base: the GEM object; its reservation is the helper's. */
	struct drm_gem_object base;
	/** @up: the helper's state for the user range. */
	struct drm_userptr up;
};

struct vblit_job;

/**
 * struct vblit_dep - a fence a job waits for before the engine runs it
 */
struct vblit_dep {
	/** @cb: callback on @fence. */
	struct dma_fence_cb cb;
	/** @fence: what the job waits for (maybe an array), or NULL; held. */
	struct dma_fence *fence;
	/** @job: the waiting job. */
	struct vblit_job *job;
};

/**
 * struct vblit_job - one operation of the engine
 *
 * The job lives as long as its fence: @fence comes first, and the fence's
 * release frees the job. Its object references are dropped once it has
 * run, so that fences left in the objects' reservations do not keep the
 * objects alive.
 */
struct vblit_job {
	/**
	 * @fence: signaled when the engine is done with the objects. A
	 * timeline of its own: held jobs complete out of submission order.
	 */
	struct dma_fence fence;
	/** @vdev: the device. */
	struct vblit_device *vdev;
	/** @dst: the object written; referenced until the job has run. */
	struct drm_gem_object *dst;
	/** @src: the object read, NULL for FILL; referenced likewise. */
	struct drm_gem_object *src;
	/** @op: &enum drm_vblit_op. */
	u32 op;
	/** @value: FILL's pattern. */
	u32 value;
	/** @dst_offset: first byte written. */
	u64 dst_offset;
	/** @src_offset: first byte read. */
	u64 src_offset;
	/** @length: bytes filled, copied or hashed. */
	u64 length;
	/** @id: &drm_vblit_exec.job_id. */
	u64 id;
	/**
	 * @pending: what the job still waits for: one for its release (the
	 * submitter's, or for a held job JOB_RELEASE, close or timeout's) and
	 * one per unsignaled entry of @deps. The engine queues the job when
	 * it drops to zero.
	 */
	atomic_t pending;
	/** @deps: implicit-sync dependencies, one per object. */
	struct vblit_dep deps[2];
	/** @run_work: the engine's work, on &vblit_device.engine_wq. */
	struct work_struct run_work;
	/** @done_work: drops references, on &vblit_device.cleanup_wq. */
	struct work_struct done_work;
	/**
	 * @hold_link: on &vblit_file.held while the job is held. Guarded by
	 * &vblit_device.hold_lock; whoever unlinks it releases the job.
	 */
	struct list_head hold_link;
	/** @hold_timeout: releases a held job after its hold_ms. */
	struct delayed_work hold_timeout;
};

static inline struct vblit_device *to_vblit_device(struct drm_device *drm)
{
	return container_of(drm, struct vblit_device, drm);
}

static inline struct vblit_userptr_object *
to_vblit_userptr(struct drm_gem_object *obj)
{
	return container_of(obj, struct vblit_userptr_object, base);
}

/* vblit_gem.c */
int vblit_gem_init(void);
void vblit_gem_fini(void);
struct drm_gem_object *vblit_gem_create_object(struct drm_device *drm,
					       size_t size);
bool vblit_gem_is_userptr(const struct drm_gem_object *obj);
int vblit_gem_pin_pages(struct drm_gem_object *obj);
struct page *vblit_gem_page(struct drm_gem_object *obj, pgoff_t idx);
int vblit_gem_create_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file);
int vblit_gem_mmap_offset_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file);
int vblit_gem_userptr_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);
int vblit_gem_wait_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file);

/* vblit_exec.c */
int vblit_engine_init(struct vblit_device *vdev);
void vblit_engine_fini(struct vblit_device *vdev);
void vblit_engine_flush(struct vblit_device *vdev);
void vblit_file_release_jobs(struct vblit_device *vdev,
			     struct vblit_file *vfile);
int vblit_exec_ioctl(struct drm_device *drm, void *data,
		     struct drm_file *file);
int vblit_job_release_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file);

#endif /* __VBLIT_DRV_H__ */
