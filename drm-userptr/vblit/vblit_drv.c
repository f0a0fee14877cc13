// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * vblit: a virtual render device with a software copy/fill engine, used to
 * exercise GEM userptr objects without real GPU hardware. Like vgem, it is
 * a platform device with no hardware behind it; unlike vgem, it has an
 * engine that reads and writes object pages the way a DMA device would:
 * only while a job's fence sits unsignaled in the objects' reservations.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include <drm/drm_drv.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>

#include "drm_userptr_compat.h"
#include "drm_userptr_topology.h"
#include "vblit_drm.h"
#include "vblit_drv.h"

#define DRIVER_NAME	"vblit"
#define DRIVER_DESC	"Virtual blitter for GEM userptr"
#define DRIVER_DATE	"20260101"
#define DRIVER_MAJOR	1
#define DRIVER_MINOR	0

static char *backing = "pinned";
module_param(backing, charp, 0444);
MODULE_PARM_DESC(backing,
		 "How userptr pages are held: pinned (default), unpinned; for benchmarks only, a comparator of drm_userptr_bench: legacy, aligned");

static char *release = "invalidation";
module_param(release, charp, 0444);
MODULE_PARM_DESC(release,
		 "When the pins of invalidated userptr pages are dropped: invalidation (default; by the invalidation callback, once the device is idle), deferred (before the next use or at the free; backing=pinned only)");

static unsigned int retry_timeout_ms = 1000;
module_param(retry_timeout_ms, uint, 0444);
MODULE_PARM_DESC(retry_timeout_ms,
		 "Give up with -EBUSY on userptr acquisitions colliding with invalidations for longer (ms, default 1000)");

static unsigned int max_hold_ms = 10000;
module_param(max_hold_ms, uint, 0444);
MODULE_PARM_DESC(max_hold_ms,
		 "Longest time an EXEC with HOLD keeps its job from running (ms, default 10000)");

static struct vblit_device *vblit_device;
static struct dentry *vblit_debugfs;

static int vblit_open(struct drm_device *drm, struct drm_file *file)
{
	struct vblit_file *vfile;

	vfile = kzalloc(sizeof(*vfile), GFP_KERNEL);
	if (!vfile)
		return -ENOMEM;

	INIT_LIST_HEAD(&vfile->held);
	atomic64_set(&vfile->last_job_id, 0);
	file->driver_priv = vfile;
	return 0;
}

/* After the handles are gone: held jobs still own their objects. */
static void vblit_postclose(struct drm_device *drm, struct drm_file *file)
{
	struct vblit_file *vfile = file->driver_priv;

	vblit_file_release_jobs(to_vblit_device(drm), vfile);
	kfree(vfile);
}

/*
 * DRM_IOCTL_VBLIT_GETPARAM: read one &enum drm_vblit_param.
 *
 * Errors: -EINVAL for a non-zero pad or an unknown param.
 */
static int vblit_getparam_ioctl(struct drm_device *drm, void *data,
				struct drm_file *file)
{
	struct vblit_device *vdev = to_vblit_device(drm);
	struct drm_vblit_getparam *args = data;

	if (args->pad)
		return -EINVAL;

	switch (args->param) {
	case VBLIT_PARAM_API_VERSION:
		args->value = VBLIT_API_VERSION;
		break;
	case VBLIT_PARAM_MAX_GEM_SIZE:
		args->value = VBLIT_MAX_GEM_SIZE;
		break;
	case VBLIT_PARAM_HAS_USERPTR:
	case VBLIT_PARAM_HAS_USERPTR_PROBE:
	case VBLIT_PARAM_HAS_EXEC:
	case VBLIT_PARAM_HAS_EXEC_HOLD:
		args->value = 1;
		break;
	case VBLIT_PARAM_USERPTR_BACKING:
		/* The uapi values are the helper's and the comparators' ids. */
		args->value = drm_userptr_device_backing_id(&vdev->udev);
		break;
	case VBLIT_PARAM_USERPTR_MAX_SIZE:
		args->value = DRM_USERPTR_MAX_SIZE;
		break;
	case VBLIT_PARAM_MAX_HOLD_MS:
		args->value = vdev->max_hold_ms;
		break;
	case VBLIT_PARAM_RETRY_TIMEOUT_MS:
		args->value = drm_userptr_device_retry_timeout_ms(&vdev->udev);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

static const struct drm_ioctl_desc vblit_ioctls[] = {
	DRM_IOCTL_DEF_DRV(VBLIT_GETPARAM, vblit_getparam_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VBLIT_GEM_CREATE, vblit_gem_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VBLIT_GEM_MMAP_OFFSET, vblit_gem_mmap_offset_ioctl,
			  DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VBLIT_GEM_USERPTR, vblit_gem_userptr_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VBLIT_EXEC, vblit_exec_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VBLIT_GEM_WAIT, vblit_gem_wait_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(VBLIT_JOB_RELEASE, vblit_job_release_ioctl, DRM_RENDER_ALLOW),
};

DEFINE_DRM_GEM_FOPS(vblit_fops);

static const struct drm_driver vblit_driver = {
	.driver_features = DRIVER_GEM | DRIVER_RENDER,
	.open = vblit_open,
	.postclose = vblit_postclose,
	.ioctls = vblit_ioctls,
	.num_ioctls = ARRAY_SIZE(vblit_ioctls),
	.fops = &vblit_fops,
	.gem_create_object = vblit_gem_create_object,
	.name = DRIVER_NAME,
	.desc = DRIVER_DESC,
	.date = DRIVER_DATE,
	.major = DRIVER_MAJOR,
	.minor = DRIVER_MINOR,
	DRM_USERPTR_COMPAT_PRIME_OPS
};

/*
 * debugfs "vblit/stats": one "key: value" line per counter, vblit's then the
 * helper's. Jobs that have run are cleaned up first, so that a reader that
 * waited for its jobs sees their objects freed.
 */
static int vblit_stats_show(struct seq_file *m, void *unused)
{
	struct vblit_device *vdev = m->private;
	s64 submitted, completed;

	vblit_engine_flush(vdev);
	completed = atomic64_read(&vdev->jobs_completed);
	submitted = atomic64_read(&vdev->jobs_submitted);

	seq_printf(m, "objects: %ld\n", atomic_long_read(&vdev->objects));
	seq_printf(m, "shmem_objects: %ld\n",
		   atomic_long_read(&vdev->shmem_objects));
	seq_printf(m, "userptr_objects: %ld\n",
		   atomic_long_read(&vdev->userptr_objects));
	seq_printf(m, "pinned_pages: %lld\n",
		   (long long)drm_userptr_device_stat(&vdev->udev,
						      DRM_USERPTR_STAT_PINNED_PAGES));
	seq_printf(m, "jobs_submitted: %lld\n", (long long)submitted);
	seq_printf(m, "jobs_completed: %lld\n", (long long)completed);
	seq_printf(m, "jobs_in_flight: %lld\n", (long long)(submitted - completed));
	seq_printf(m, "jobs_held: %lld\n",
		   (long long)atomic64_read(&vdev->jobs_held));
	seq_printf(m, "backing: %s\n",
		   drm_userptr_device_backing_name(&vdev->udev));
	seq_printf(m, "release_deferred: %d\n",
		   drm_userptr_device_release_deferred(&vdev->udev));
	drm_userptr_device_stats_show(&vdev->udev, m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(vblit_stats);

/*
 * debugfs "vblit/invalidate_nonblock", a test hook: writing a user address
 * delivers a non-blockable invalidation (the OOM reaper's kind) to every
 * userptr object of the writer's mm covering it. The write returns the
 * number of bytes written if every object completed, -EBUSY if one refused
 * (its lock was taken or it was busy), -ENOENT if none covers the address,
 * -EPERM unless drm_userptr was loaded with debug_hooks=1.
 */
static ssize_t vblit_invalidate_nonblock_write(struct file *file,
					       const char __user *ubuf,
					       size_t len, loff_t *ppos)
{
	struct vblit_device *vdev = file_inode(file)->i_private;
	unsigned long addr;
	int ret;

	ret = kstrtoul_from_user(ubuf, len, 0, &addr);
	if (ret)
		return ret;
	ret = drm_userptr_debug_invalidate_nonblock(&vdev->udev, current->mm,
						    addr);
	return ret < 0 ? ret : len;
}

static const struct file_operations vblit_invalidate_nonblock_fops = {
	.owner = THIS_MODULE,
	.open = simple_open,
	.write = vblit_invalidate_nonblock_write,
	.llseek = noop_llseek,
};

/* A comparator topology of drm_userptr_bench, held while the device lives. */
static const struct drm_userptr_topology *vblit_topology;

/*
 * The backing parameter: a production backing, or the name of a comparator
 * topology registered by drm_userptr_bench (loaded for benchmarks only).
 * The release parameter: deferred release needs the pinned backing, which
 * the helper checks too.
 */
static int vblit_userptr_init(struct drm_userptr_device *udev)
{
	u32 flags = 0;
	int ret;

	if (sysfs_streq(release, "deferred")) {
		flags = DRM_USERPTR_DEVICE_RELEASE_DEFERRED;
	} else if (!sysfs_streq(release, "invalidation")) {
		pr_err("vblit: unknown release \"%s\" (invalidation, deferred)\n",
		       release);
		return -EINVAL;
	}
	if (flags && !sysfs_streq(backing, "pinned")) {
		pr_err("vblit: release=deferred needs backing=pinned: only pins keep invalidated pages alive\n");
		return -EINVAL;
	}

	if (sysfs_streq(backing, "pinned"))
		return drm_userptr_device_init(udev, DRM_USERPTR_BACKING_PINNED,
					       flags, retry_timeout_ms);
	if (sysfs_streq(backing, "unpinned"))
		return drm_userptr_device_init(udev, DRM_USERPTR_BACKING_UNPINNED, 0,
					       retry_timeout_ms);
	vblit_topology = drm_userptr_topology_get(backing);
	if (!vblit_topology) {
		pr_err("vblit: unknown backing \"%s\" (comparators need drm_userptr_bench)\n",
		       backing);
		return -EINVAL;
	}
	ret = drm_userptr_device_init_topology(udev, vblit_topology,
					       retry_timeout_ms);
	if (ret) {
		drm_userptr_topology_put(vblit_topology);
		vblit_topology = NULL;
	}
	return ret;
}

static void vblit_userptr_fini(struct drm_userptr_device *udev)
{
	drm_userptr_device_fini(udev);
	drm_userptr_topology_put(vblit_topology);
	vblit_topology = NULL;
}

/*
 * The DRM device, on a platform device of its own. Its memory belongs to a
 * devres group on the platform device: vblit_device_destroy() frees both.
 */
static struct vblit_device *vblit_device_create(void)
{
	struct platform_device *pdev;
	struct vblit_device *vdev;
	int ret;

	pdev = platform_device_register_simple(DRIVER_NAME, -1, NULL, 0);
	if (IS_ERR(pdev))
		return ERR_CAST(pdev);

	if (!devres_open_group(&pdev->dev, NULL, GFP_KERNEL)) {
		ret = -ENOMEM;
		goto out_unregister;
	}

	vdev = devm_drm_dev_alloc(&pdev->dev, &vblit_driver, struct vblit_device,
				  drm);
	if (IS_ERR(vdev)) {
		ret = PTR_ERR(vdev);
		goto out_devres;
	}
	vdev->pdev = pdev;
	vdev->max_hold_ms = max_hold_ms;
	spin_lock_init(&vdev->fence_lock);
	spin_lock_init(&vdev->hold_lock);
	return vdev;

out_devres:
	devres_release_group(&pdev->dev, NULL);
out_unregister:
	platform_device_unregister(pdev);
	return ERR_PTR(ret);
}

/* Undo vblit_device_create(); @vdev is freed with the devres group. */
static void vblit_device_destroy(struct vblit_device *vdev)
{
	struct platform_device *pdev = vdev->pdev;

	devres_release_group(&pdev->dev, NULL);
	platform_device_unregister(pdev);
}

/* Best effort: debugfs calls accept the error pointers of failed ones. */
static void vblit_debugfs_init(struct vblit_device *vdev)
{
	vblit_debugfs = debugfs_create_dir(DRIVER_NAME, NULL);
	debugfs_create_file("stats", 0444, vblit_debugfs, vdev, &vblit_stats_fops);
	debugfs_create_file("invalidate_nonblock", 0200, vblit_debugfs, vdev,
			    &vblit_invalidate_nonblock_fops);
}

static int __init vblit_init(void)
{
	struct vblit_device *vdev;
	int ret;

	ret = vblit_gem_init();
	if (ret)
		return ret;

	vdev = vblit_device_create();
	if (IS_ERR(vdev)) {
		ret = PTR_ERR(vdev);
		goto out_gem;
	}

	ret = vblit_userptr_init(&vdev->udev);
	if (ret)
		goto out_device;

	ret = vblit_engine_init(vdev);
	if (ret)
		goto out_userptr;

	ret = drm_dev_register(&vdev->drm, 0);
	if (ret)
		goto out_engine;

	vblit_debugfs_init(vdev);
	vblit_device = vdev;
	return 0;

out_engine:
	vblit_engine_fini(vdev);
out_userptr:
	vblit_userptr_fini(&vdev->udev);
out_device:
	vblit_device_destroy(vdev);
out_gem:
	vblit_gem_fini();
	return ret;
}

/*
 * Nothing can be in use here: open files, mappings and exported dma-bufs
 * pin the module through the DRM core, and every job fence pins it too.
 */
static void __exit vblit_exit(void)
{
	struct vblit_device *vdev = vblit_device;

	debugfs_remove_recursive(vblit_debugfs);
	drm_dev_unregister(&vdev->drm);
	vblit_engine_fini(vdev);
	vblit_userptr_fini(&vdev->udev);
	vblit_device_destroy(vdev);
	vblit_gem_fini();
}

module_init(vblit_init);
module_exit(vblit_exit);

MODULE_IMPORT_NS(DRM_USERPTR_TOPOLOGY);
MODULE_AUTHOR("The drm-userptr authors");
MODULE_DESCRIPTION("Virtual render device exercising GEM userptr objects");
MODULE_LICENSE("Dual MIT/GPL");
