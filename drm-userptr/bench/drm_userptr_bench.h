/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * drm_userptr_bench: the comparator topologies this module registers.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __DRM_USERPTR_BENCH_H__
#define __DRM_USERPTR_BENCH_H__

#include "drm_userptr_topology.h"

/* Their ids, as vblit's uapi reports them (VBLIT_USERPTR_BACKING_*). */
#define DRM_USERPTR_BENCH_LEGACY	2
#define DRM_USERPTR_BENCH_ALIGNED	3

extern struct drm_userptr_topology drm_userptr_legacy_topology;
extern struct drm_userptr_topology drm_userptr_aligned_topology;

#endif /* __DRM_USERPTR_BENCH_H__ */
