// SPDX-License-Identifier: MIT
/*
 * Compile shims for i915's selftests on a kernel without FAULT_INJECTION,
 * PRIME_NUMBERS and DRM_EXPORT_FOR_TESTS; see i915_st_shims.h.
 */

#include <linux/atomic.h>
#include <linux/err.h>
#include <linux/prime_numbers.h>
#include <linux/random.h>

#include <drm/drm_file.h>

#ifndef CONFIG_FAULT_INJECTION
/*
 * lib/fault-inject.c's decision without the task filter, the stack-trace
 * filter, fail-nth and the stack dump (which would read as a failure in
 * the test bed's kernel-log checks): what the selftests set is
 * probability, interval, times and space.
 */
bool i915_st_should_fail(struct i915_st_fault_attr *attr, ssize_t size)
{
	if (!attr->probability)
		return false;

	if (!atomic_read(&attr->times))
		return false;

	if (atomic_read(&attr->space) > size) {
		atomic_sub(size, &attr->space);
		return false;
	}

	if (attr->interval > 1) {
		attr->count++;
		if (attr->count % attr->interval)
			return false;
	}

	if (attr->probability <= get_random_u32_below(100))
		return false;

	if (attr->verbose)
		pr_notice_ratelimited("i915 selftest: injecting a failure\n");

	if (atomic_read(&attr->times) != -1)
		atomic_add_unless(&attr->times, -1, 0);

	return true;
}
#endif

bool is_prime_number(unsigned long x)
{
	unsigned long y;

	if (x < 4)
		return x >= 2;
	if (!(x & 1))
		return false;

	for (y = 3; y <= x / y; y += 2)
		if (!(x % y))
			return false;

	return true;
}

unsigned long next_prime_number(unsigned long x)
{
	while (x < ULONG_MAX && !is_prime_number(++x))
		;

	return x;
}

/* drm_file_alloc() is not exported either: the live tests' mock_file() fails. */
struct file *mock_drm_getfile(struct drm_minor *minor, unsigned int flags)
{
	return ERR_PTR(-EOPNOTSUPP);
}
