/* SPDX-License-Identifier: MIT */
/*
 * Compile shims for i915's selftests (CONFIG_DRM_I915_SELFTEST) built out
 * of tree against a kernel without the options that option selects:
 *
 * - FAULT_INJECTION: i915 embeds a struct fault_attr in its engines and
 *   address spaces and the live tests set its members; without the option
 *   the kernel's struct is empty. This header, force-included into every
 *   i915 object of the selftest build, gives i915 the full struct and
 *   should_fail() from i915_st_shims.c. The struct only lives inside i915
 *   objects, so i915 stays consistent with itself; struct task_struct
 *   (the other user of the option) is laid out first, as the kernel has it.
 * - PRIME_NUMBERS: next_prime_number() and is_prime_number() are not in
 *   the kernel; i915_st_shims.c has them.
 * - DRM_EXPORT_FOR_TESTS: mock_drm_getfile() is not exported; only the
 *   live tests use it, and i915_st_shims.c makes it fail.
 */
#ifndef __I915_ST_SHIMS_H__
#define __I915_ST_SHIMS_H__

#ifndef CONFIG_FAULT_INJECTION
#include <linux/sched.h>
#define CONFIG_FAULT_INJECTION 1
#include <linux/fault-inject.h>
#undef CONFIG_FAULT_INJECTION
#endif

#endif /* __I915_ST_SHIMS_H__ */
