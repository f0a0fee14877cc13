// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * drm_userptr_bench: benchmark comparators for drm_userptr, NOT FOR
 * PRODUCTION. Registers the legacy and aligned topologies, which a driver
 * loaded for benchmarks looks up by name (vblit's backing=legacy|aligned).
 *
 * Copyright (c) 2026 The drm-userptr authors
 */

#include <linux/mmu_notifier.h>
#include <linux/module.h>

#include "drm_userptr_bench.h"

static int __init drm_userptr_bench_init(void)
{
	int err;

	drm_userptr_legacy_topology.owner = THIS_MODULE;
	drm_userptr_aligned_topology.owner = THIS_MODULE;
	err = drm_userptr_topology_register(&drm_userptr_legacy_topology);
	if (err)
		return err;
	err = drm_userptr_topology_register(&drm_userptr_aligned_topology);
	if (err)
		drm_userptr_topology_unregister(&drm_userptr_legacy_topology);
	return err;
}
module_init(drm_userptr_bench_init);

static void __exit drm_userptr_bench_exit(void)
{
	drm_userptr_topology_unregister(&drm_userptr_aligned_topology);
	drm_userptr_topology_unregister(&drm_userptr_legacy_topology);
	/* The legacy notifiers are freed after an SRCU grace period. */
	mmu_notifier_synchronize();
}
module_exit(drm_userptr_bench_exit);

MODULE_IMPORT_NS(DRM_USERPTR_TOPOLOGY);
MODULE_DESCRIPTION("drm_userptr benchmark comparators: legacy and aligned notifier topologies");
MODULE_AUTHOR("The drm-userptr authors");
MODULE_LICENSE("Dual MIT/GPL");
