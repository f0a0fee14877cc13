/* SPDX-License-Identifier: MIT */
/*
 * vblit_forward: what the interposer saw, for the test programs. They look
 * the functions up with dlsym(RTLD_DEFAULT, ...) so that they also run,
 * and fail clearly, without the interposer.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef VBLIT_FORWARD_H
#define VBLIT_FORWARD_H

struct vblit_forward_stats {
	/** @userptr_calls: GEM_USERPTR ioctls from Mesa. */
	unsigned int userptr_calls;
	/** @userptr_probe_flags: ... of which carried I915_USERPTR_PROBE. */
	unsigned int userptr_probe_flags;
	/** @userptr_read_only_flags: ... carried I915_USERPTR_READ_ONLY. */
	unsigned int userptr_read_only_flags;
	/** @userptr_injected: ... failed by VBLIT_FORWARD_INJECT. */
	unsigned int userptr_injected;
	/** @userptr_kernel_errors: ... the kernel failed. */
	unsigned int userptr_kernel_errors;
	/** @set_domain_validations: SET_DOMAIN on forwarded handles. */
	unsigned int set_domain_validations;
	/** @execbuf_validations: forwarded handles validated at execbuf. */
	unsigned int execbuf_validations;
	/** @execbuf_errors: execbufs failed by such a validation. */
	unsigned int execbuf_errors;
	/** @closes: GEM_CLOSE of forwarded handles. */
	unsigned int closes;
	/** @last_errno: the last errno returned to Mesa, 0 if none. */
	int last_errno;

	/* Not cleared by vblit_forward_reset_stats(). */

	/** @kernel_has_probe: vblit's VBLIT_PARAM_HAS_USERPTR_PROBE. */
	int kernel_has_probe;
	/**
	 * @probe_offered: what I915_PARAM_HAS_USERPTR_PROBE answers (1 with
	 * VBLIT_FORWARD_PROBE=1 on a kernel that has PROBE), whether or not
	 * Mesa asked.
	 */
	int probe_offered;
	/** @probe_asked: times Mesa asked I915_PARAM_HAS_USERPTR_PROBE. */
	unsigned int probe_asked;
};

typedef void (*vblit_forward_get_stats_fn)(struct vblit_forward_stats *);
typedef void (*vblit_forward_reset_stats_fn)(void);
typedef void (*vblit_forward_set_inject_fn)(int err);

#endif /* VBLIT_FORWARD_H */
