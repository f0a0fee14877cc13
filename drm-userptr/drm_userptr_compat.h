/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * drm_userptr_compat: the differences between the baseline kernel (6.12)
 * and 6.1 that drm_userptr and vblit meet, kept out of the .c files.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __DRM_USERPTR_COMPAT_H__
#define __DRM_USERPTR_COMPAT_H__

#include <drm/drm_prime.h>

/*
 * DRM_USERPTR_COMPAT_PRIME_OPS - &drm_driver members PRIME needs
 *
 * Before 6.6, a driver without .prime_handle_to_fd and .prime_fd_to_handle
 * has no PRIME at all, and mmap() of a dma-buf goes through
 * .gem_prime_mmap. Since 6.6 the core uses the GEM helpers by default and
 * .gem_prime_mmap is gone. Put it last in a &drm_driver initialiser.
 * DRM_USERPTR_HAVE_GEM_PRIME_MMAP comes from a feature test in Kbuild
 * against the target kernel's headers, not from a version number, so that
 * distribution backports are handled too.
 */
#ifdef DRM_USERPTR_HAVE_GEM_PRIME_MMAP
#define DRM_USERPTR_COMPAT_PRIME_OPS \
	.prime_handle_to_fd = drm_gem_prime_handle_to_fd, \
	.prime_fd_to_handle = drm_gem_prime_fd_to_handle, \
	.gem_prime_mmap = drm_gem_prime_mmap
#else
#define DRM_USERPTR_COMPAT_PRIME_OPS
#endif

#endif /* __DRM_USERPTR_COMPAT_H__ */
