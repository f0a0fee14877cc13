// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vblit engine: jobs, their fences, and the EXEC and JOB_RELEASE ioctls.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/highmem.h>
#include <linux/jiffies.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/sync_file.h>
#include <linux/ww_mutex.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>

#include "vblit_drm.h"
#include "vblit_drv.h"

/**
 * DOC: vblit engine
 *
 * EXEC turns a request into a &struct vblit_job in three steps:
 *
 * 1. Checks and lookups, then everything that can fail without leaving a
 *    trace: pinning shmem pages, the job and its fence, the sync_file and
 *    its fd.
 * 2. Publication, the drm_userptr protocol: validate the userptr objects,
 *    lock the reservations, collect the fences the job must wait for, check
 *    under the notifier lock that no invalidation ran since the validation,
 *    and add the job's fence to the reservations. A collision starts over
 *    from the validation until the helper's retry budget is spent (-EBUSY).
 *    With release=deferred (the helper's DOC: Release modes), each userptr
 *    object's stale pages are released right before its validation, once
 *    the jobs on the object have signaled: the engine reads pages only for
 *    a job whose fence is unsignaled, so the release never drops a page
 *    under a running job, and the wait is for bounded work plus at most a
 *    hold, as an invalidation's is in the other mode.
 * 3. From then on the job runs and signals whatever happens: the fd is
 *    installed, and the job is either released at once or held.
 *
 * A job runs once it is released and every fence it depends on signaled
 * (implicit sync: a writer waits for all readers and writers, a reader for
 * the writers). The engine touches pages only between the start of the job
 * and dma_fence_signal(); it never allocates, takes no lock but its fence's
 * and waits for nothing, so whoever waits for a job fence (GEM_WAIT, an invalidation, and
 * through it drm_userptr_fini()) waits for bounded work plus at most a hold.
 * Object references are dropped on another queue for the same reason: a
 * last reference frees a userptr object, and drm_userptr_fini() waits for
 * any invalidation running in its mm, which may wait for a job queued
 * behind on the engine.
 *
 * A held job is released by exactly one of JOB_RELEASE, the close of its
 * file and its timeout: whoever unlinks &vblit_job.hold_link under
 * &vblit_device.hold_lock. The first two then cancel the timeout
 * synchronously before letting the job run, so that the timeout never
 * touches a job that may be gone.
 *
 * The timeout runs on a queue of its own, &vblit_device.hold_wq, so that
 * a hold ends on time whatever the engine is doing: on the engine's ordered
 * queue it would wait behind every job queued there. A job whose hold ended
 * joins the engine's queue like any released job; its fence signals once
 * the jobs queued before it have run.
 */

#define VBLIT_FNV64_OFFSET_BASIS	0xcbf29ce484222325ULL
#define VBLIT_FNV64_PRIME		0x100000001b3ULL

static const char *vblit_fence_get_driver_name(struct dma_fence *fence)
{
	return "vblit";
}

static const char *vblit_fence_get_timeline_name(struct dma_fence *fence)
{
	return "engine";
}

/*
 * The last reference to a job's fence frees the job. Each fence holds a
 * module reference, taken in vblit_job_create(): its ops live here, and a
 * sync_file or another driver's reservation can keep it past the last close
 * of the device, so the module stays until every fence is gone. What is
 * left after module_put() is the return from this function: the window of
 * any module that drops its own reference, which we accept.
 */
static void vblit_fence_release(struct dma_fence *fence)
{
	dma_fence_free(fence);
	module_put(THIS_MODULE);
}

static const struct dma_fence_ops vblit_fence_ops = {
	.get_driver_name = vblit_fence_get_driver_name,
	.get_timeline_name = vblit_fence_get_timeline_name,
	.release = vblit_fence_release,
};

/* dma_fence_free() frees the fence's allocation: the job. */
static_assert(offsetof(struct vblit_job, fence) == 0);

/* Bytes from @pos to the end of its page, at most @len. */
static size_t vblit_chunk(u64 pos, u64 len)
{
	return min_t(u64, len, PAGE_SIZE - offset_in_page(pos));
}

/* Map the page holding byte @pos of @obj; undo with kunmap_local(). */
static void *vblit_engine_map(struct drm_gem_object *obj, u64 pos)
{
	return kmap_local_page(vblit_gem_page(obj, pos >> PAGE_SHIFT)) +
	       offset_in_page(pos);
}

/* memmove(), not memcpy(): two userptr objects may share their pages. */
static void vblit_engine_write(struct drm_gem_object *obj, u64 pos,
			       const u8 *buf, u64 len)
{
	while (len) {
		size_t n = vblit_chunk(pos, len);
		void *vaddr = vblit_engine_map(obj, pos);

		memmove(vaddr, buf, n);
		kunmap_local(vaddr);
		pos += n;
		buf += n;
		len -= n;
	}
}

/* Fill @len bytes at @dst with @pattern, starting at byte @phase of it. */
static void vblit_fill_bytes(u8 *dst, size_t len, const u8 *pattern,
			     u64 phase)
{
	size_t i, words;
	u8 rotated[4];
	u32 word;

	while (len && !IS_ALIGNED((unsigned long)dst, sizeof(u32))) {
		*dst++ = pattern[phase++ % 4];
		len--;
	}

	for (i = 0; i < 4; i++)
		rotated[i] = pattern[(phase + i) % 4];
	memcpy(&word, rotated, sizeof(word));
	words = len / sizeof(u32);
	memset32((u32 *)dst, word, words);
	dst += words * sizeof(u32);
	len -= words * sizeof(u32);

	for (i = 0; i < len; i++)
		dst[i] = rotated[i];
}

static void vblit_engine_fill(struct vblit_job *job)
{
	__le32 le = cpu_to_le32(job->value);
	u8 pattern[4];
	u64 done = 0;

	memcpy(pattern, &le, sizeof(pattern));
	while (done < job->length) {
		u64 pos = job->dst_offset + done;
		size_t n = vblit_chunk(pos, job->length - done);
		u8 *vaddr = vblit_engine_map(job->dst, pos);

		vblit_fill_bytes(vaddr, n, pattern, done);
		kunmap_local(vaddr);
		done += n;
		cond_resched();
	}
}

static void vblit_engine_copy(struct vblit_job *job)
{
	u64 done = 0;

	while (done < job->length) {
		u64 pos = job->src_offset + done;
		size_t n = vblit_chunk(pos, job->length - done);
		const u8 *vaddr = vblit_engine_map(job->src, pos);

		vblit_engine_write(job->dst, job->dst_offset + done, vaddr, n);
		kunmap_local(vaddr);
		done += n;
		cond_resched();
	}
}

/* 64-bit FNV-1a over the source range, stored little endian. */
static void vblit_engine_checksum(struct vblit_job *job)
{
	u64 hash = VBLIT_FNV64_OFFSET_BASIS;
	__le64 result;
	u64 done = 0;
	size_t i;

	while (done < job->length) {
		u64 pos = job->src_offset + done;
		size_t n = vblit_chunk(pos, job->length - done);
		const u8 *vaddr = vblit_engine_map(job->src, pos);

		for (i = 0; i < n; i++) {
			hash ^= vaddr[i];
			hash *= VBLIT_FNV64_PRIME;
		}
		kunmap_local(vaddr);
		done += n;
		cond_resched();
	}

	result = cpu_to_le64(hash);
	vblit_engine_write(job->dst, job->dst_offset, (const u8 *)&result,
			   sizeof(result));
}

static void vblit_job_run(struct work_struct *work)
{
	struct vblit_job *job = container_of(work, struct vblit_job, run_work);
	struct vblit_device *vdev = job->vdev;
	bool cookie;

	cookie = dma_fence_begin_signalling();
	switch (job->op) {
	case VBLIT_OP_FILL:
		vblit_engine_fill(job);
		break;
	case VBLIT_OP_COPY:
		vblit_engine_copy(job);
		break;
	case VBLIT_OP_CHECKSUM:
		vblit_engine_checksum(job);
		break;
	}
	/* Counted before the signal, so that a waiter sees it. */
	atomic64_inc(&vdev->jobs_completed);
	dma_fence_signal(&job->fence);
	dma_fence_end_signalling(cookie);

	queue_work(vdev->cleanup_wq, &job->done_work);
}

static void vblit_job_put_deps(struct vblit_job *job)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(job->deps); i++) {
		dma_fence_put(job->deps[i].fence);
		job->deps[i].fence = NULL;
	}
}

static void vblit_job_done(struct work_struct *work)
{
	struct vblit_job *job = container_of(work, struct vblit_job, done_work);

	vblit_job_put_deps(job);
	drm_gem_object_put(job->src);
	drm_gem_object_put(job->dst);
	/* The submission's reference; may free the job. */
	dma_fence_put(&job->fence);
}

/* Drop one of the job's pending counts; queue it on the engine at zero. */
static void vblit_job_kick(struct vblit_job *job)
{
	if (atomic_dec_and_test(&job->pending))
		queue_work(job->vdev->engine_wq, &job->run_work);
}

static void vblit_dep_signaled(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	struct vblit_dep *dep = container_of(cb, struct vblit_dep, cb);

	vblit_job_kick(dep->job);
}

/*
 * Collect the fences the job must wait for; objs[0] is the one written.
 * Caller holds the reservation locks, so the set is exactly the one the
 * job's fence is then added after.
 */
static int vblit_job_get_deps(struct vblit_job *job,
			      struct drm_gem_object **objs, unsigned int count)
{
	unsigned int i;
	int err;

	for (i = 0; i < count; i++) {
		err = dma_resv_get_singleton(objs[i]->resv,
					     dma_resv_usage_rw(i == 0),
					     &job->deps[i].fence);
		if (err) {
			vblit_job_put_deps(job);
			return err;
		}
	}
	return 0;
}

/* Make the job wait for its dependencies; its release count holds it meanwhile. */
static void vblit_job_arm_deps(struct vblit_job *job)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(job->deps); i++) {
		struct vblit_dep *dep = &job->deps[i];

		if (!dep->fence)
			continue;
		dep->job = job;
		atomic_inc(&job->pending);
		if (dma_fence_add_callback(dep->fence, &dep->cb,
					   vblit_dep_signaled))
			atomic_dec(&job->pending); /* already signaled */
	}
}

/* Caller holds hold_lock. Returns true if the job was held, now unlinked. */
static bool __vblit_job_unhold(struct vblit_job *job)
{
	lockdep_assert_held(&job->vdev->hold_lock);

	if (list_empty(&job->hold_link))
		return false;
	list_del_init(&job->hold_link);
	atomic64_dec(&job->vdev->jobs_held);
	return true;
}

static void vblit_job_hold_expire(struct work_struct *work)
{
	struct vblit_job *job = container_of(to_delayed_work(work),
					     struct vblit_job, hold_timeout);
	struct vblit_device *vdev = job->vdev;
	bool held;

	spin_lock(&vdev->hold_lock);
	held = __vblit_job_unhold(job);
	spin_unlock(&vdev->hold_lock);
	if (held)
		vblit_job_kick(job);
}

static void vblit_job_hold(struct vblit_job *job, struct vblit_file *vfile,
			   unsigned int hold_ms)
{
	struct vblit_device *vdev = job->vdev;

	/*
	 * Armed under the lock: once the job is on the list, JOB_RELEASE may
	 * unlink it, cancel the timeout and let it run and be freed.
	 */
	spin_lock(&vdev->hold_lock);
	list_add_tail(&job->hold_link, &vfile->held);
	atomic64_inc(&vdev->jobs_held);
	queue_delayed_work(vdev->hold_wq, &job->hold_timeout,
			   msecs_to_jiffies(hold_ms));
	spin_unlock(&vdev->hold_lock);
}

/* The caller unlinked the held job: stop its timeout, then let it run. */
static void vblit_job_release_held(struct vblit_job *job)
{
	cancel_delayed_work_sync(&job->hold_timeout);
	vblit_job_kick(job);
}

static struct vblit_job *vblit_job_create(struct vblit_device *vdev,
					  struct vblit_file *vfile,
					  const struct drm_vblit_exec *args,
					  struct drm_gem_object *dst,
					  struct drm_gem_object *src)
{
	struct vblit_job *job;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return ERR_PTR(-ENOMEM);

	job->vdev = vdev;
	drm_gem_object_get(dst);
	job->dst = dst;
	if (src) {
		drm_gem_object_get(src);
		job->src = src;
	}
	job->op = args->op;
	job->value = lower_32_bits(args->value);
	job->dst_offset = args->dst_offset;
	job->src_offset = args->src_offset;
	job->length = args->length;
	job->id = atomic64_inc_return(&vfile->last_job_id);
	atomic_set(&job->pending, 1);
	INIT_WORK(&job->run_work, vblit_job_run);
	INIT_WORK(&job->done_work, vblit_job_done);
	INIT_LIST_HEAD(&job->hold_link);
	INIT_DELAYED_WORK(&job->hold_timeout, vblit_job_hold_expire);

	/* Dropped by vblit_fence_release(); this ioctl's file pins the module. */
	__module_get(THIS_MODULE);
	/*
	 * A context per job: with held jobs, fences complete out of
	 * submission order, and dma_resv_add_fence() would let a later fence
	 * of a shared context replace an earlier unsignaled one.
	 */
	dma_fence_init(&job->fence, &vblit_fence_ops, &vdev->fence_lock,
		       dma_fence_context_alloc(1), 1);
	return job;
}

/* Undo vblit_job_create() for a job that was never published. */
static void vblit_job_abort(struct vblit_job *job, int err)
{
	drm_gem_object_put(job->src);
	drm_gem_object_put(job->dst);
	dma_fence_set_error(&job->fence, err);
	dma_fence_signal(&job->fence);
	dma_fence_put(&job->fence);
}

/*
 * Validate the job's userptr objects. With deferred release, their stale
 * pages are released first: vblit has no bindings, only jobs, so waiting
 * for the object's fences (which the helper checks under the notifier
 * lock) is all it takes for the engine to be done with them; no job can be
 * published on a stale object meanwhile. Does nothing in the other mode.
 */
static int vblit_job_validate(struct drm_gem_object **objs, unsigned int count,
			      struct drm_userptr_budget *budget)
{
	struct drm_userptr *up;
	unsigned int i;
	int err;

	for (i = 0; i < count; i++) {
		if (!vblit_gem_is_userptr(objs[i]))
			continue;
		up = &to_vblit_userptr(objs[i])->up;
		err = drm_userptr_release_stale(up, true);
		if (err)
			return err;
		err = drm_userptr_validate(up, i == 0, budget);
		if (err)
			return err;
	}
	return 0;
}

/* Caller holds the notifier lock. */
static bool vblit_job_pages_current(struct drm_gem_object **objs,
				    unsigned int count)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		if (vblit_gem_is_userptr(objs[i]) &&
		    !drm_userptr_is_current(&to_vblit_userptr(objs[i])->up))
			return false;
	}
	return true;
}

/*
 * Publish the job's fence in the reservations of @objs (objs[0] written,
 * objs[1] if any read), following the drm_userptr protocol: see DOC:
 * Overview in drm_userptr_core.c. One budget bounds all the retries.
 */
static int vblit_job_publish(struct vblit_job *job,
			     struct drm_gem_object **objs, unsigned int count)
{
	struct drm_userptr_device *udev = &job->vdev->udev;
	struct drm_userptr_budget budget;
	struct ww_acquire_ctx ctx;
	unsigned int i;
	int err;

	drm_userptr_budget_init(&budget, udev);
retry:
	err = vblit_job_validate(objs, count, &budget);
	/* Deferred release: an invalidation came between release and validate. */
	if (err == -ESTALE)
		goto retry;
	if (err)
		return err;

	err = drm_gem_lock_reservations(objs, count, &ctx);
	if (err)
		return err;
	for (i = 0; i < count; i++) {
		err = dma_resv_reserve_fences(objs[i]->resv, 1);
		if (err)
			goto out_unlock;
	}
	err = vblit_job_get_deps(job, objs, count);
	if (err)
		goto out_unlock;

	drm_userptr_notifier_lock(udev);
	if (!vblit_job_pages_current(objs, count)) {
		drm_userptr_notifier_unlock(udev);
		vblit_job_put_deps(job);
		drm_gem_unlock_reservations(objs, count, &ctx);
		err = drm_userptr_budget_charge_submit(&budget);
		if (err)
			return err;
		goto retry;
	}
	for (i = 0; i < count; i++)
		dma_resv_add_fence(objs[i]->resv, &job->fence,
				   i ? DMA_RESV_USAGE_READ : DMA_RESV_USAGE_WRITE);
	drm_userptr_notifier_unlock(udev);

out_unlock:
	drm_gem_unlock_reservations(objs, count, &ctx);
	return err;
}

/* The checks that need no object. */
static int vblit_exec_check_args(const struct vblit_device *vdev,
				 const struct drm_vblit_exec *args)
{
	if (args->pad || (args->flags & ~(VBLIT_EXEC_FENCE_OUT | VBLIT_EXEC_HOLD)))
		return -EINVAL;
	if (!args->length)
		return -EINVAL;
	/* hold_ms comes with HOLD and only with it: 0 is no default. */
	if (!args->hold_ms != !(args->flags & VBLIT_EXEC_HOLD))
		return -EINVAL;
	if (args->hold_ms > vdev->max_hold_ms)
		return -EINVAL;

	switch (args->op) {
	case VBLIT_OP_FILL:
		if (args->src_handle || args->src_offset ||
		    upper_32_bits(args->value))
			return -EINVAL;
		return 0;
	case VBLIT_OP_COPY:
	case VBLIT_OP_CHECKSUM:
		return args->value ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
}

/* True if [@offset, @offset + @len) lies inside @obj; cannot overflow. */
static bool vblit_range_valid(const struct drm_gem_object *obj, u64 offset,
			      u64 len)
{
	return offset <= obj->size && len <= obj->size - offset;
}

static int vblit_exec_check_ranges(const struct drm_vblit_exec *args,
				   const struct drm_gem_object *dst,
				   const struct drm_gem_object *src)
{
	u64 dst_len = args->op == VBLIT_OP_CHECKSUM ? sizeof(u64) : args->length;

	if (!vblit_range_valid(dst, args->dst_offset, dst_len))
		return -EINVAL;
	if (src && !vblit_range_valid(src, args->src_offset, args->length))
		return -EINVAL;
	/* Both ranges lie inside one object here: the sums cannot wrap. */
	if (args->op == VBLIT_OP_COPY && src == dst &&
	    args->src_offset < args->dst_offset + args->length &&
	    args->dst_offset < args->src_offset + args->length)
		return -EINVAL;
	return 0;
}

/*
 * Look up the job's objects: @dst, and @src for COPY and CHECKSUM (NULL for
 * FILL). On success the caller holds a reference on each.
 */
static int vblit_exec_lookup(struct drm_file *file,
			     const struct drm_vblit_exec *args,
			     struct drm_gem_object **dst,
			     struct drm_gem_object **src)
{
	*src = NULL;
	*dst = drm_gem_object_lookup(file, args->dst_handle);
	if (!*dst)
		return -ENOENT;
	if (args->op == VBLIT_OP_FILL)
		return 0;

	*src = drm_gem_object_lookup(file, args->src_handle);
	if (!*src) {
		drm_gem_object_put(*dst);
		return -ENOENT;
	}
	return 0;
}

/* The job's objects, each once: objs[0] is written, objs[1] if any read. */
static unsigned int vblit_exec_objs(struct drm_gem_object *dst,
				    struct drm_gem_object *src,
				    struct drm_gem_object **objs)
{
	unsigned int count = 0;

	objs[count++] = dst;
	if (src && src != dst)
		objs[count++] = src;
	return count;
}

/* Pin the shmem objects' pages; userptr ones are validated at publication. */
static int vblit_exec_pin_pages(struct drm_gem_object **objs,
				unsigned int count)
{
	unsigned int i;
	int err;

	for (i = 0; i < count; i++) {
		err = vblit_gem_pin_pages(objs[i]);
		if (err)
			return err;
	}
	return 0;
}

/*
 * FENCE_OUT: an fd and a sync_file on the job's fence, set up before
 * publication (where they can still fail without a trace) and installed
 * after it; fd -1 and no sync_file without the flag.
 */
struct vblit_fence_out {
	int fd;
	struct sync_file *sync_file;
};

static int vblit_fence_out_prepare(struct vblit_fence_out *out,
				   struct vblit_job *job, u32 flags)
{
	out->fd = -1;
	out->sync_file = NULL;
	if (!(flags & VBLIT_EXEC_FENCE_OUT))
		return 0;

	out->fd = get_unused_fd_flags(O_CLOEXEC);
	if (out->fd < 0)
		return out->fd;
	out->sync_file = sync_file_create(&job->fence);
	if (!out->sync_file) {
		put_unused_fd(out->fd);
		return -ENOMEM;
	}
	return 0;
}

/* Undo vblit_fence_out_prepare() for a job that was never published. */
static void vblit_fence_out_abort(struct vblit_fence_out *out)
{
	if (out->sync_file)
		fput(out->sync_file->file);
	if (out->fd >= 0)
		put_unused_fd(out->fd);
}

/* Published: from here on the job runs and signals, whatever happens. */
static void vblit_exec_start(struct vblit_job *job, struct vblit_file *vfile,
			     struct drm_vblit_exec *args,
			     const struct vblit_fence_out *out)
{
	atomic64_inc(&job->vdev->jobs_submitted);
	vblit_job_arm_deps(job);
	if (out->sync_file)
		fd_install(out->fd, out->sync_file->file);
	args->fence_fd = out->fd;
	args->job_id = job->id;
	if (args->flags & VBLIT_EXEC_HOLD)
		vblit_job_hold(job, vfile, args->hold_ms);
	else
		vblit_job_kick(job);
}

/*
 * DRM_IOCTL_VBLIT_EXEC: queue one FILL, COPY or CHECKSUM job. Its fence is
 * in the objects' reservations when the ioctl returns; the engine runs it
 * once it is released (at once, or for HOLD at JOB_RELEASE, close or
 * hold_ms) and the fences it depends on signaled.
 *
 * Errors, in the order checked: -EINVAL for non-zero pad, unknown flags,
 * a zero length, HOLD without hold_ms, hold_ms without HOLD or above
 * max_hold_ms, an unknown op, a non-zero src_handle, src_offset or upper
 * half of value for FILL, or a non-zero value for COPY and CHECKSUM;
 * -ENOENT for an unknown handle;
 * -EINVAL for a range outside its object (CHECKSUM's destination is 8
 * bytes) or overlapping copy ranges in one object; -EINTR or -ENOMEM from
 * pinning shmem pages; -ENOMEM; -EMFILE with FENCE_OUT and no free fd;
 * then from publication: -EACCES for a write to a read-only userptr object,
 * -EFAULT for a userptr object of another process or a range no longer
 * (validly) mapped, -EBUSY when invalidations kept colliding until the
 * retry budget ran out (drm_userptr_budget_charge_submit()), -ERESTARTSYS or
 * -EINTR on a signal (also while waiting for a userfaultfd monitor, or with
 * release=deferred for the jobs still using an invalidated object's pages),
 * -ENOMEM.
 */
int vblit_exec_ioctl(struct drm_device *drm, void *data, struct drm_file *file)
{
	struct vblit_device *vdev = to_vblit_device(drm);
	struct vblit_file *vfile = file->driver_priv;
	struct drm_vblit_exec *args = data;
	struct drm_gem_object *dst, *src, *objs[2];
	struct vblit_fence_out out;
	struct vblit_job *job;
	unsigned int count;
	int err;

	err = vblit_exec_check_args(vdev, args);
	if (err)
		return err;

	err = vblit_exec_lookup(file, args, &dst, &src);
	if (err)
		return err;

	err = vblit_exec_check_ranges(args, dst, src);
	if (err)
		goto err_put;

	count = vblit_exec_objs(dst, src, objs);
	err = vblit_exec_pin_pages(objs, count);
	if (err)
		goto err_put;

	job = vblit_job_create(vdev, vfile, args, dst, src);
	if (IS_ERR(job)) {
		err = PTR_ERR(job);
		goto err_put;
	}

	err = vblit_fence_out_prepare(&out, job, args->flags);
	if (err)
		goto err_abort;

	err = vblit_job_publish(job, objs, count);
	if (err)
		goto err_fence_out;

	vblit_exec_start(job, vfile, args, &out);
	drm_gem_object_put(src);
	drm_gem_object_put(dst);
	return 0;

err_fence_out:
	vblit_fence_out_abort(&out);
err_abort:
	vblit_job_abort(job, err);
err_put:
	drm_gem_object_put(src);
	drm_gem_object_put(dst);
	return err;
}

/*
 * DRM_IOCTL_VBLIT_JOB_RELEASE: let a job this file submitted with HOLD run.
 *
 * Errors: -EINVAL for a non-zero pad; -ENOENT if job_id names no job held by
 * this file (never submitted, submitted by another file, not held, already
 * released, or already timed out).
 */
int vblit_job_release_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct vblit_device *vdev = to_vblit_device(drm);
	struct vblit_file *vfile = file->driver_priv;
	struct drm_vblit_job_release *args = data;
	struct vblit_job *job, *found = NULL;

	if (args->pad)
		return -EINVAL;

	spin_lock(&vdev->hold_lock);
	list_for_each_entry(job, &vfile->held, hold_link) {
		if (job->id == args->job_id) {
			__vblit_job_unhold(job);
			found = job;
			break;
		}
	}
	spin_unlock(&vdev->hold_lock);
	if (!found)
		return -ENOENT;

	vblit_job_release_held(found);
	return 0;
}

/**
 * vblit_file_release_jobs() - release every job a closing file holds
 * @vdev: the device
 * @vfile: the file, from &drm_driver.postclose
 *
 * Returns without waiting for the jobs to run: they hold references on
 * their objects and on the module.
 */
void vblit_file_release_jobs(struct vblit_device *vdev,
			     struct vblit_file *vfile)
{
	struct vblit_job *job;

	for (;;) {
		spin_lock(&vdev->hold_lock);
		job = list_first_entry_or_null(&vfile->held, struct vblit_job,
					       hold_link);
		if (job)
			__vblit_job_unhold(job);
		spin_unlock(&vdev->hold_lock);
		if (!job)
			break;
		vblit_job_release_held(job);
	}
}

/**
 * vblit_engine_init() - create the engine's workqueues
 * @vdev: the device
 *
 * Return: 0 or -ENOMEM.
 */
int vblit_engine_init(struct vblit_device *vdev)
{
	vdev->cleanup_wq = alloc_workqueue("vblit-cleanup", WQ_UNBOUND, 0);
	if (!vdev->cleanup_wq)
		return -ENOMEM;

	vdev->engine_wq = alloc_ordered_workqueue("vblit-engine", WQ_MEM_RECLAIM);
	if (!vdev->engine_wq)
		goto err_cleanup_wq;

	vdev->hold_wq = alloc_workqueue("vblit-hold",
					WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	if (!vdev->hold_wq)
		goto err_engine_wq;
	return 0;

err_engine_wq:
	destroy_workqueue(vdev->engine_wq);
err_cleanup_wq:
	destroy_workqueue(vdev->cleanup_wq);
	return -ENOMEM;
}

/**
 * vblit_engine_fini() - destroy the engine's workqueues
 * @vdev: the device; no job may exist (they hold module references)
 *
 * In the order work flows: a hold timeout queues its job on the engine,
 * the engine's last items queue on the cleanup queue. Destroying a queue
 * waits for its items, so no timeout is still returning into the module.
 */
void vblit_engine_fini(struct vblit_device *vdev)
{
	destroy_workqueue(vdev->hold_wq);
	destroy_workqueue(vdev->engine_wq);
	destroy_workqueue(vdev->cleanup_wq);
}

/**
 * vblit_engine_flush() - wait for the clean-up of every job that has run
 * @vdev: the device
 *
 * A job's fence signals before its object references are dropped; after
 * this, the objects of every job whose fence signaled before the call are
 * freed if nothing else holds them. Waits for no held job.
 */
void vblit_engine_flush(struct vblit_device *vdev)
{
	flush_workqueue(vdev->engine_wq);
	flush_workqueue(vdev->cleanup_wq);
}
