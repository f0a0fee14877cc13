// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vblit GEM objects: shmem objects through the shmem helpers, userptr
 * objects through drm_userptr, and the ioctls that create, map and wait for
 * them.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/dma-resv.h>
#include <linux/err.h>
#include <linux/jiffies.h>
#include <linux/minmax.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/stddef.h>

#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_vma_manager.h>

#include "vblit_drm.h"
#include "vblit_drv.h"

/* The uapi's userptr flags are passed to the helper unchanged. */
static_assert(VBLIT_USERPTR_READ_ONLY == DRM_USERPTR_READ_ONLY);
static_assert(VBLIT_USERPTR_PROBE == DRM_USERPTR_PROBE);
static_assert(VBLIT_USERPTR_UNSYNCHRONIZED == DRM_USERPTR_UNSYNCHRONIZED);

/*
 * The shmem helpers kfree() the &drm_gem_shmem_object they were given, on
 * their error paths as in drm_gem_shmem_free(): it must be the allocation.
 */
static_assert(offsetof(struct vblit_shmem_object, base) == 0);

static void vblit_gem_count(struct vblit_device *vdev, atomic_long_t *kind,
			    long n)
{
	atomic_long_add(n, kind);
	atomic_long_add(n, &vdev->objects);
}

static struct vblit_shmem_object *to_vblit_shmem(struct drm_gem_object *obj)
{
	return container_of(to_drm_gem_shmem_obj(obj), struct vblit_shmem_object,
			    base);
}

static void vblit_shmem_free(struct drm_gem_object *obj)
{
	struct vblit_device *vdev = to_vblit_device(obj->dev);
	struct vblit_shmem_object *sobj = to_vblit_shmem(obj);

	/* drm_gem_shmem_free() expects every pin to be gone. */
	if (sobj->pinned)
		drm_gem_shmem_unpin(&sobj->base);
	mutex_destroy(&sobj->pin_lock);
	drm_gem_shmem_free(&sobj->base);
	vblit_gem_count(vdev, &vdev->shmem_objects, -1);
}

static const struct drm_gem_object_funcs vblit_shmem_funcs = {
	.free = vblit_shmem_free,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

/*
 * Userptr objects come from their own cache: the object is a little over
 * 512 bytes, which kmalloc() would round up to 1 KiB.
 */
static struct kmem_cache *vblit_userptr_slab;

/**
 * vblit_gem_init() - create the userptr object cache
 *
 * Return: 0 or -ENOMEM.
 */
int vblit_gem_init(void)
{
	vblit_userptr_slab = KMEM_CACHE(vblit_userptr_object, 0);
	return vblit_userptr_slab ? 0 : -ENOMEM;
}

/**
 * vblit_gem_fini() - destroy the userptr object cache; every object is gone
 */
void vblit_gem_fini(void)
{
	kmem_cache_destroy(vblit_userptr_slab);
}

static void vblit_userptr_free(struct drm_gem_object *obj)
{
	struct vblit_device *vdev = to_vblit_device(obj->dev);
	struct vblit_userptr_object *uobj = to_vblit_userptr(obj);

	drm_userptr_fini(&uobj->up);
	drm_gem_object_release(obj);
	kmem_cache_free(vblit_userptr_slab, uobj);
	vblit_gem_count(vdev, &vdev->userptr_objects, -1);
}

/* As i915: user memory is not the exporter's to share (-EINVAL). */
static struct dma_buf *vblit_userptr_export(struct drm_gem_object *obj,
					    int flags)
{
	return ERR_PTR(-EINVAL);
}

static const struct drm_gem_object_funcs vblit_userptr_funcs = {
	.free = vblit_userptr_free,
	.export = vblit_userptr_export,
};

/**
 * vblit_gem_create_object() - &drm_driver.gem_create_object for shmem objects
 * @drm: the device
 * @size: object size, page aligned
 *
 * Return: the new object, or ERR_PTR(-ENOMEM).
 */
struct drm_gem_object *vblit_gem_create_object(struct drm_device *drm,
					       size_t size)
{
	struct vblit_shmem_object *sobj;

	sobj = kzalloc(sizeof(*sobj), GFP_KERNEL);
	if (!sobj)
		return ERR_PTR(-ENOMEM);

	mutex_init(&sobj->pin_lock);
	/* The engine writes through kernel mappings, which set no PTE dirty bit. */
	sobj->base.pages_mark_dirty_on_put = true;
	sobj->base.base.funcs = &vblit_shmem_funcs;
	return &sobj->base.base;
}

/**
 * vblit_gem_is_userptr() - tell the object kinds apart
 * @obj: a vblit object
 *
 * Return: true for a userptr object, false for a shmem object.
 */
bool vblit_gem_is_userptr(const struct drm_gem_object *obj)
{
	return obj->funcs == &vblit_userptr_funcs;
}

/**
 * vblit_gem_pin_pages() - make a shmem object's pages usable by the engine
 * @obj: a vblit object
 *
 * Pins the pages of a shmem object for the rest of its life, so the engine
 * can use them without a lock; does nothing for a userptr object, whose
 * pages are the helper's business. Pinning once instead of per job keeps
 * repeated jobs on a large object from rebuilding its page array.
 *
 * Return: 0, -EINTR on a signal, or -ENOMEM.
 */
int vblit_gem_pin_pages(struct drm_gem_object *obj)
{
	struct vblit_shmem_object *sobj;
	int err;

	if (vblit_gem_is_userptr(obj))
		return 0;

	sobj = to_vblit_shmem(obj);
	err = mutex_lock_interruptible(&sobj->pin_lock);
	if (err)
		return err;
	if (!sobj->pinned) {
		err = drm_gem_shmem_pin(&sobj->base);
		sobj->pinned = !err;
	}
	mutex_unlock(&sobj->pin_lock);
	return err;
}

/**
 * vblit_gem_page() - a page of an object, for the engine
 * @obj: a vblit object; for shmem, pinned by vblit_gem_pin_pages()
 * @idx: page index
 *
 * Only for the engine, while the fence of a job on @obj is unsignaled.
 *
 * Return: the page.
 */
struct page *vblit_gem_page(struct drm_gem_object *obj, pgoff_t idx)
{
	if (vblit_gem_is_userptr(obj))
		return drm_userptr_page(&to_vblit_userptr(obj)->up, idx);
	return to_drm_gem_shmem_obj(obj)->pages[idx];
}

/*
 * DRM_IOCTL_VBLIT_GEM_CREATE: create a shmem object of @size bytes, rounded
 * up to whole pages, and return a handle to it.
 *
 * Errors: -EINVAL for non-zero flags or pad, or a zero size; -E2BIG for a
 * size above VBLIT_MAX_GEM_SIZE; -ENOMEM; -ENOSPC when the device's mmap
 * offset space is exhausted.
 */
int vblit_gem_create_ioctl(struct drm_device *drm, void *data,
			   struct drm_file *file)
{
	struct vblit_device *vdev = to_vblit_device(drm);
	struct drm_vblit_gem_create *args = data;
	struct drm_gem_shmem_object *shmem;
	int err;

	if (args->flags || args->pad || !args->size)
		return -EINVAL;
	if (args->size > VBLIT_MAX_GEM_SIZE)
		return -E2BIG;

	shmem = drm_gem_shmem_create(drm, args->size);
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);
	vblit_gem_count(vdev, &vdev->shmem_objects, 1);

	err = drm_gem_handle_create(file, &shmem->base, &args->handle);
	/* The handle owns the object now, or nothing does. */
	drm_gem_object_put(&shmem->base);
	return err;
}

/*
 * DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET: return the fake offset at which mmap() on
 * the DRM fd maps a shmem object.
 *
 * Errors: -EINVAL for non-zero flags or pad; -ENOENT for an unknown handle;
 * -ENODEV for a userptr object (map the user memory itself); -ENOMEM or
 * -ENOSPC if the offset cannot be allocated.
 */
int vblit_gem_mmap_offset_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct drm_vblit_gem_mmap_offset *args = data;
	struct drm_gem_object *obj;
	int err;

	if (args->flags || args->pad)
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	if (vblit_gem_is_userptr(obj)) {
		err = -ENODEV;
		goto out_put;
	}

	err = drm_gem_create_mmap_offset(obj);
	if (!err)
		args->offset = drm_vma_node_offset_addr(&obj->vma_node);

out_put:
	drm_gem_object_put(obj);
	return err;
}

/*
 * DRM_IOCTL_VBLIT_GEM_USERPTR: wrap [user_ptr, user_ptr + user_size) of the
 * caller's memory as a GEM object. drm_userptr_init() checks the request in
 * i915's order before anything is visible to userspace.
 *
 * Errors: -EINVAL for unknown flags; -E2BIG for a size above
 * DRM_USERPTR_MAX_SIZE; -EINVAL for a zero size, an unaligned pointer or
 * size, or a range that wraps; -EFAULT for a range that is not a user
 * range; -ENODEV for VBLIT_USERPTR_UNSYNCHRONIZED; -EFAULT with
 * VBLIT_USERPTR_PROBE for a hole or a VM_PFNMAP, VM_MIXEDMAP or VM_IO
 * mapping in the range; -EINTR if killed while probing; -ENOMEM.
 */
int vblit_gem_userptr_ioctl(struct drm_device *drm, void *data,
			    struct drm_file *file)
{
	struct vblit_device *vdev = to_vblit_device(drm);
	struct drm_vblit_gem_userptr *args = data;
	struct vblit_userptr_object *uobj;
	int err;

	uobj = kmem_cache_zalloc(vblit_userptr_slab, GFP_KERNEL);
	if (!uobj)
		return -ENOMEM;

	/*
	 * The GEM object comes first so that the helper is handed an
	 * initialised reservation object: its notifier can fire as soon as
	 * it is inserted. The size waits until the helper has checked it:
	 * drm_gem_private_object_init() BUG()s on one not page aligned.
	 */
	drm_gem_private_object_init(drm, &uobj->base, 0);
	uobj->base.funcs = &vblit_userptr_funcs;

	err = drm_userptr_init(&uobj->up, &vdev->udev, uobj->base.resv,
			       args->user_ptr, args->user_size, args->flags);
	if (err)
		goto err_release;
	uobj->base.size = args->user_size;
	vblit_gem_count(vdev, &vdev->userptr_objects, 1);

	err = drm_gem_handle_create(file, &uobj->base, &args->handle);
	/* The handle owns the object now, or nothing does. */
	drm_gem_object_put(&uobj->base);
	return err;

err_release:
	drm_gem_object_release(&uobj->base);
	kmem_cache_free(vblit_userptr_slab, uobj);
	return err;
}

/*
 * DRM_IOCTL_VBLIT_GEM_WAIT: wait until every fence on the object signaled,
 * for at most timeout_ns; zero polls, a negative timeout waits without limit
 * (as i915's GEM_WAIT).
 *
 * Errors: -EINVAL for non-zero flags or pad; -ENOENT for an unknown handle;
 * -ETIME if the object is still busy at the timeout; -ERESTARTSYS on a
 * signal.
 */
int vblit_gem_wait_ioctl(struct drm_device *drm, void *data,
			 struct drm_file *file)
{
	struct drm_vblit_gem_wait *args = data;
	struct drm_gem_object *obj;
	unsigned long timeout;
	long ret;
	int err;

	if (args->flags || args->pad)
		return -EINVAL;

	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;

	if (!args->timeout_ns) {
		err = dma_resv_test_signaled(obj->resv, DMA_RESV_USAGE_BOOKKEEP) ?
		      0 : -ETIME;
		goto out_put;
	}

	if (args->timeout_ns < 0)
		timeout = MAX_SCHEDULE_TIMEOUT;
	else
		timeout = max(nsecs_to_jiffies(args->timeout_ns), 1UL);
	ret = dma_resv_wait_timeout(obj->resv, DMA_RESV_USAGE_BOOKKEEP, true,
				    timeout);
	if (ret < 0)
		err = ret;
	else
		err = ret ? 0 : -ETIME;

out_put:
	drm_gem_object_put(obj);
	return err;
}
