/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * drm_userptr_compat: the differences between the baseline kernel (6.12)
 * and 6.1 that drm_userptr and vblit meet, kept out of the .c files.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef __DRM_USERPTR_COMPAT_H__
#define __DRM_USERPTR_COMPAT_H__

#include <linux/mm.h>

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

/**
 * drm_userptr_compat_pin() - pin user pages long term, with the wait of a
 *	fault interruptible by any signal where the kernel allows it
 * @start: first address, page aligned
 * @nr_pages: number of pages
 * @gup_flags: FOLL_LONGTERM and FOLL_WRITE as needed
 * @pages: where to store them
 *
 * Since 6.2, FOLL_INTERRUPTIBLE makes GUP end the wait of a fault (for a
 * userfaultfd monitor) on any signal, as a CPU access would; but
 * pin_user_pages_fast() rejects it. The pages that need no fault are
 * pinned by pin_user_pages_fast() with FOLL_NOFAULT, from the first one
 * that does on by pin_user_pages_unlocked(). Before, long-term pinning
 * cannot retry a fault at all (in a userfaultfd range it fails with
 * -EFAULT, without waiting), and pin_user_pages_fast() is kept.
 * DRM_USERPTR_HAVE_FOLL_INTERRUPTIBLE comes from a feature test in Kbuild.
 *
 * Return: the number of pages pinned from @start on, or a negative errno:
 * -EINTR on a signal (a fatal one only, before 6.2), what GUP returns.
 */
static inline long drm_userptr_compat_pin(unsigned long start, int nr_pages,
					  unsigned int gup_flags,
					  struct page **pages)
{
#ifdef DRM_USERPTR_HAVE_FOLL_INTERRUPTIBLE
	int ret = pin_user_pages_fast(start, nr_pages, gup_flags | FOLL_NOFAULT,
				      pages);

	if (ret > 0)
		return ret;
	return pin_user_pages_unlocked(start, nr_pages, pages,
				       gup_flags | FOLL_INTERRUPTIBLE);
#else
	return pin_user_pages_fast(start, nr_pages, gup_flags, pages);
#endif
}

#endif /* __DRM_USERPTR_COMPAT_H__ */
