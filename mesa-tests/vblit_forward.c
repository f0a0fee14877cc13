// SPDX-License-Identifier: MIT
/*
 * vblit_forward: an ioctl interposer that gives Mesa's i915 userptr paths
 * the real kernel's answers while intel_noop_drm_shim fakes the rest of an
 * Intel GPU.
 *
 *   LD_PRELOAD=libvblit_forward.so:libintel_noop_drm_shim.so program
 *
 * This library must come first: its ioctl() sees every call before the
 * shim's, and dlsym(RTLD_NEXT, "ioctl") is then the shim's. It handles:
 *
 *  - DRM_IOCTL_I915_GEM_USERPTR: sent to the vblit render node as
 *    DRM_IOCTL_VBLIT_GEM_USERPTR (same struct layout and flags). The
 *    kernel's errno goes back to Mesa unchanged. On success the shim also
 *    creates its own object, and Mesa gets the shim's handle: every other
 *    ioctl on that handle (busy, wait, execbuf bookkeeping) stays
 *    consistent inside the shim, and vblit's handles, which start at 1 like
 *    the shim's, can never be confused with them. A map keeps
 *    (fd, shim handle) -> vblit handle.
 *  - DRM_IOCTL_GEM_CLOSE of a mapped handle: closes the vblit object too.
 *  - DRM_IOCTL_I915_GEM_SET_DOMAIN of a mapped handle: i915 acquires a
 *    userptr object's pages there (Mesa relies on it to validate a range
 *    when the kernel has no PROBE). Here a CHECKSUM job reading the whole
 *    object does the same: vblit acquires its pages before the job is
 *    queued, and fails with the kernel's errno if it cannot.
 *  - DRM_IOCTL_I915_GEM_EXECBUFFER2(_WR): every mapped handle in the
 *    buffer list is validated the same way first, as i915 does for userptr
 *    objects at execbuf; a failure fails the execbuf with that errno.
 *  - DRM_IOCTL_I915_GETPARAM I915_PARAM_HAS_USERPTR_PROBE: with
 *    VBLIT_FORWARD_PROBE=1 (the default) the answer is vblit's
 *    VBLIT_PARAM_HAS_USERPTR_PROBE, with 0 it is 0, so that both of Mesa's
 *    paths (PROBE at creation, or validation after it) can be run.
 *
 * Environment:
 *   VBLIT_FORWARD_PROBE=0|1   see above
 *   VBLIT_FORWARD_INJECT=ENOMEM  fail GEM_USERPTR with this errno without
 *                             asking the kernel (an injected answer, for
 *                             errno mappings the stock kernel cannot be
 *                             made to produce on demand)
 *   VBLIT_FORWARD_LOG=1       one line per forwarded call on stderr
 *   VBLIT_FORWARD_NODE=path   the vblit node (default: the first
 *                             /dev/dri/renderD* whose driver is "vblit")
 *
 * Programs read what happened through vblit_forward_get_stats(), looked
 * up with dlsym(RTLD_DEFAULT, ...).
 *
 * The interposer talks to vblit through tools/lib/vblit_node.c, which uses
 * raw syscalls, so that neither its own open() nor its ioctl() calls go
 * through the shim.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <drm.h>
#include <i915_drm.h>

#include "vblit_drm.h"
#include "vblit_forward.h"
#include "vblit_node.h"

#define VF_EXPORT __attribute__((visibility("default")))

struct vf_handle {
	int fd;			/* Mesa's (shim) fd */
	uint32_t shim_handle;	/* what Mesa sees */
	uint32_t vblit_handle;	/* the kernel object */
	uint64_t size;		/* its size */
};

static struct {
	pthread_mutex_t lock;	/* protects everything below */
	int (*next_ioctl)(int fd, unsigned long request, ...);
	int vblit_fd;		/* -1 until opened, -2 if not found */
	uint32_t scratch;	/* shmem object CHECKSUM jobs write into */
	bool probe;		/* answer to HAS_USERPTR_PROBE */
	int inject;		/* errno injected into GEM_USERPTR, or 0 */
	bool log;
	struct vf_handle *handles;
	unsigned int nr_handles, max_handles;
	struct vblit_forward_stats stats;
} vf = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.vblit_fd = -1,
};

static void vf_log(const char *fmt, ...)
{
	va_list ap;

	if (!vf.log)
		return;
	va_start(ap, fmt);
	fputs("vblit_forward: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* Opens vblit on first use; false if there is none. Caller holds vf.lock. */
static bool __vf_vblit_ready(void)
{
	struct drm_vblit_gem_create create = { .size = 4096 };
	uint64_t probe = 0;

	if (vf.vblit_fd >= 0)
		return true;
	if (vf.vblit_fd == -2)
		return false;

	vf.vblit_fd = vblit_node_open(getenv("VBLIT_FORWARD_NODE"), NULL, 0);
	if (vf.vblit_fd < 0 ||
	    vblit_node_ioctl(vf.vblit_fd, DRM_IOCTL_VBLIT_GEM_CREATE, &create)) {
		fprintf(stderr, "vblit_forward: no vblit render node\n");
		vf.vblit_fd = -2;
		return false;
	}
	vf.scratch = create.handle;
	vblit_node_getparam(vf.vblit_fd, VBLIT_PARAM_HAS_USERPTR_PROBE, &probe);
	vf.stats.kernel_has_probe = probe;
	return true;
}

static struct vf_handle *__vf_lookup(int fd, uint32_t shim_handle)
{
	unsigned int i;

	for (i = 0; i < vf.nr_handles; i++)
		if (vf.handles[i].fd == fd && vf.handles[i].shim_handle == shim_handle)
			return &vf.handles[i];
	return NULL;
}

static int __vf_remember(int fd, uint32_t shim_handle, uint32_t vblit_handle,
			 uint64_t size)
{
	if (vf.nr_handles == vf.max_handles) {
		unsigned int max = vf.max_handles ? 2 * vf.max_handles : 64;
		struct vf_handle *h = realloc(vf.handles, max * sizeof(*h));

		if (!h)
			return -ENOMEM;
		vf.handles = h;
		vf.max_handles = max;
	}
	vf.handles[vf.nr_handles++] = (struct vf_handle){
		.fd = fd, .shim_handle = shim_handle, .vblit_handle = vblit_handle,
		.size = size,
	};
	return 0;
}

static void __vf_forget(struct vf_handle *h)
{
	*h = vf.handles[--vf.nr_handles];
}

static void vf_gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close close = { .handle = handle };

	vblit_node_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &close);
}

/*
 * Makes vblit acquire (or revalidate) every page of the object, as i915
 * does for a userptr object in SET_DOMAIN and execbuf: a job reading all
 * of it. Returns 0 or the kernel's -errno. Caller holds vf.lock.
 */
static int __vf_validate(const struct vf_handle *h)
{
	struct drm_vblit_exec exec = {
		.op = VBLIT_OP_CHECKSUM,
		.dst_handle = vf.scratch,
		.src_handle = h->vblit_handle,
		.length = h->size,
	};
	struct drm_vblit_gem_wait wait = {
		.handle = vf.scratch,
		.timeout_ns = 2000000000ll,
	};
	int err;

	err = vblit_node_ioctl(vf.vblit_fd, DRM_IOCTL_VBLIT_EXEC, &exec);
	if (!err)
		err = vblit_node_ioctl(vf.vblit_fd, DRM_IOCTL_VBLIT_GEM_WAIT, &wait);
	return err;
}

static int vf_userptr(int fd, unsigned long request,
		      struct drm_i915_gem_userptr *arg)
{
	struct drm_vblit_gem_userptr up = {
		.user_ptr = arg->user_ptr,
		.user_size = arg->user_size,
		.flags = arg->flags,
	};
	int err, ret;

	pthread_mutex_lock(&vf.lock);
	vf.stats.userptr_calls++;
	if (arg->flags & I915_USERPTR_PROBE)
		vf.stats.userptr_probe_flags++;
	if (arg->flags & I915_USERPTR_READ_ONLY)
		vf.stats.userptr_read_only_flags++;

	if (vf.inject) {
		vf.stats.userptr_injected++;
		err = -vf.inject;
		vf_log("USERPTR %#llx+%#llx flags %#x: injected %s\n",
		       (unsigned long long)up.user_ptr,
		       (unsigned long long)up.user_size, up.flags,
		       strerror(-err));
		goto out_err;
	}
	if (!__vf_vblit_ready()) {
		err = -ENODEV;
		goto out_err;
	}

	err = vblit_node_ioctl(vf.vblit_fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &up);
	vf_log("USERPTR %#llx+%#llx flags %#x: %s\n",
	       (unsigned long long)up.user_ptr, (unsigned long long)up.user_size,
	       up.flags, err ? strerror(-err) : "ok");
	if (err) {
		vf.stats.userptr_kernel_errors++;
		goto out_err;
	}

	/* The shim's own object, whose handle Mesa will use. */
	ret = vf.next_ioctl(fd, request, arg);
	if (ret) {
		err = -errno;
		goto out_close;
	}
	err = __vf_remember(fd, arg->handle, up.handle, up.user_size);
	if (err)
		goto out_close;
	pthread_mutex_unlock(&vf.lock);
	return 0;

out_close:
	vf_gem_close(vf.vblit_fd, up.handle);
out_err:
	vf.stats.last_errno = -err;
	pthread_mutex_unlock(&vf.lock);
	errno = -err;
	return -1;
}

static int vf_gem_close_mapped(int fd, unsigned long request,
			       struct drm_gem_close *arg)
{
	struct vf_handle *h;

	pthread_mutex_lock(&vf.lock);
	h = __vf_lookup(fd, arg->handle);
	if (h) {
		vf_gem_close(vf.vblit_fd, h->vblit_handle);
		__vf_forget(h);
		vf.stats.closes++;
	}
	pthread_mutex_unlock(&vf.lock);
	return vf.next_ioctl(fd, request, arg);
}

/* Mesa's ioctl goes on to the shim, unless validating its objects gave @err. */
static int vf_pass_on(int fd, unsigned long request, void *arg, int err)
{
	if (err) {
		errno = -err;
		return -1;
	}
	return vf.next_ioctl(fd, request, arg);
}

static int vf_set_domain(int fd, unsigned long request,
			 struct drm_i915_gem_set_domain *arg)
{
	struct vf_handle *h;
	int err = 0;

	pthread_mutex_lock(&vf.lock);
	h = __vf_lookup(fd, arg->handle);
	if (h) {
		vf.stats.set_domain_validations++;
		err = __vf_validate(h);
		vf_log("SET_DOMAIN handle %u: %s\n", arg->handle,
		       err ? strerror(-err) : "ok");
		if (err)
			vf.stats.last_errno = -err;
	}
	pthread_mutex_unlock(&vf.lock);
	return vf_pass_on(fd, request, arg, err);
}

static int vf_execbuf(int fd, unsigned long request,
		      struct drm_i915_gem_execbuffer2 *arg)
{
	struct drm_i915_gem_exec_object2 *objs =
		(void *)(uintptr_t)arg->buffers_ptr;
	struct vf_handle *h;
	unsigned int i;
	int err = 0;

	pthread_mutex_lock(&vf.lock);
	for (i = 0; i < arg->buffer_count && !err; i++) {
		h = __vf_lookup(fd, objs[i].handle);
		if (!h)
			continue;
		vf.stats.execbuf_validations++;
		err = __vf_validate(h);
		vf_log("EXECBUFFER2 handle %u: %s\n", objs[i].handle,
		       err ? strerror(-err) : "ok");
	}
	if (err) {
		vf.stats.execbuf_errors++;
		vf.stats.last_errno = -err;
	}
	pthread_mutex_unlock(&vf.lock);
	return vf_pass_on(fd, request, arg, err);
}

/* What HAS_USERPTR_PROBE answers. Caller holds vf.lock. */
static int __vf_probe_offered(void)
{
	return vf.probe && __vf_vblit_ready() && vf.stats.kernel_has_probe;
}

static int vf_getparam(int fd, unsigned long request,
		       struct drm_i915_getparam *arg)
{
	if (arg->param != I915_PARAM_HAS_USERPTR_PROBE)
		return vf.next_ioctl(fd, request, arg);

	pthread_mutex_lock(&vf.lock);
	*arg->value = __vf_probe_offered();
	vf.stats.probe_asked++;
	pthread_mutex_unlock(&vf.lock);
	return 0;
}

static bool vf_is(unsigned long request, unsigned int nr)
{
	return _IOC_TYPE(request) == DRM_IOCTL_BASE && _IOC_NR(request) == nr;
}

VF_EXPORT int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, request);
	arg = va_arg(ap, void *);
	va_end(ap);

	if (vf_is(request, DRM_COMMAND_BASE + DRM_I915_GEM_USERPTR))
		return vf_userptr(fd, request, arg);
	if (vf_is(request, _IOC_NR(DRM_IOCTL_GEM_CLOSE)))
		return vf_gem_close_mapped(fd, request, arg);
	if (vf_is(request, DRM_COMMAND_BASE + DRM_I915_GEM_SET_DOMAIN))
		return vf_set_domain(fd, request, arg);
	if (vf_is(request, DRM_COMMAND_BASE + DRM_I915_GEM_EXECBUFFER2))
		return vf_execbuf(fd, request, arg);
	if (vf_is(request, DRM_COMMAND_BASE + DRM_I915_GETPARAM))
		return vf_getparam(fd, request, arg);
	return vf.next_ioctl(fd, request, arg);
}

VF_EXPORT void vblit_forward_get_stats(struct vblit_forward_stats *stats)
{
	pthread_mutex_lock(&vf.lock);
	vf.stats.probe_offered = __vf_probe_offered();
	*stats = vf.stats;
	pthread_mutex_unlock(&vf.lock);
}

VF_EXPORT void vblit_forward_reset_stats(void)
{
	pthread_mutex_lock(&vf.lock);
	memset(&vf.stats, 0,
	       offsetof(struct vblit_forward_stats, kernel_has_probe));
	pthread_mutex_unlock(&vf.lock);
}

VF_EXPORT void vblit_forward_set_inject(int err)
{
	pthread_mutex_lock(&vf.lock);
	vf.inject = err;
	pthread_mutex_unlock(&vf.lock);
}

__attribute__((constructor)) static void vf_init(void)
{
	const char *probe = getenv("VBLIT_FORWARD_PROBE");
	const char *inject = getenv("VBLIT_FORWARD_INJECT");
	const char *log = getenv("VBLIT_FORWARD_LOG");

	vf.next_ioctl = dlsym(RTLD_NEXT, "ioctl");
	if (!vf.next_ioctl) {
		fprintf(stderr, "vblit_forward: no next ioctl: %s\n", dlerror());
		abort();
	}
	vf.probe = !probe || strcmp(probe, "0");
	vf.log = log && strcmp(log, "0");
	if (inject && !strcmp(inject, "ENOMEM"))
		vf.inject = ENOMEM;
	else if (inject && *inject)
		vf.inject = atoi(inject);
}
