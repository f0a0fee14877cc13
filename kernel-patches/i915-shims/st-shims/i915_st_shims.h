/* SPDX-License-Identifier: MIT */
/*
 * Compile shims for i915's selftests (CONFIG_DRM_I915_SELFTEST) built out
 * of tree against a kernel without the options that option selects:
 *
 * - FAULT_INJECTION: i915 embeds a struct fault_attr in its engines and
 *   address spaces and the live tests set its members; without the option
 *   the kernel's struct is empty. This header, force-included into every
 *   i915 object of the selftest build, renames i915's struct fault_attr
 *   and should_fail() to a struct with those members and the should_fail()
 *   of i915_st_shims.c, in all of i915 alike (the struct only lives inside
 *   i915's own structures). It includes nothing that defines pr_fmt: i915
 *   files define their own before they include printk.h.
 * - PRIME_NUMBERS: next_prime_number() and is_prime_number() are not in
 *   the kernel; i915_st_shims.c has them.
 * - DRM_EXPORT_FOR_TESTS: mock_drm_getfile() is not exported; only the
 *   live tests use it, and i915_st_shims.c makes it fail.
 */
#ifndef __I915_ST_SHIMS_H__
#define __I915_ST_SHIMS_H__

#include <linux/fault-inject.h>
#include <linux/types.h>

#ifndef CONFIG_FAULT_INJECTION
struct i915_st_fault_attr {
	unsigned long probability;
	unsigned long interval;
	atomic_t times;
	atomic_t space;
	unsigned long verbose;
	unsigned long count;
};

bool i915_st_should_fail(struct i915_st_fault_attr *attr, ssize_t size);

#define fault_attr i915_st_fault_attr
#define should_fail i915_st_should_fail
#endif

#endif /* __I915_ST_SHIMS_H__ */
