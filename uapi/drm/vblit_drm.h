/* SPDX-License-Identifier: MIT */
/*
 * vblit: a virtual render device with a software copy/fill engine, used to
 * exercise GEM userptr objects without real GPU hardware.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef _UAPI_VBLIT_DRM_H_
#define _UAPI_VBLIT_DRM_H_

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

/**
 * DOC: vblit uapi
 *
 * vblit exposes a render node with a tiny command set: create shmem
 * objects, wrap user memory as userptr objects (with i915's layout and flag
 * semantics), and run copy/fill/checksum jobs between objects on a software
 * engine that behaves like a DMA device: it touches object pages only while
 * the job's fence sits in the objects' reservation objects.
 *
 * Every feature is discoverable with &DRM_IOCTL_VBLIT_GETPARAM. Every
 * must-be-zero (MBZ) member is checked; a non-zero value gives -EINVAL.
 */

#define DRM_VBLIT_GETPARAM		0x00
#define DRM_VBLIT_GEM_CREATE		0x01
#define DRM_VBLIT_GEM_MMAP_OFFSET	0x02
#define DRM_VBLIT_GEM_USERPTR		0x03
#define DRM_VBLIT_EXEC			0x04
#define DRM_VBLIT_GEM_WAIT		0x05
#define DRM_VBLIT_JOB_RELEASE		0x06

#define DRM_IOCTL_VBLIT_GETPARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_GETPARAM, struct drm_vblit_getparam)
#define DRM_IOCTL_VBLIT_GEM_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_GEM_CREATE, struct drm_vblit_gem_create)
#define DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_GEM_MMAP_OFFSET, struct drm_vblit_gem_mmap_offset)
#define DRM_IOCTL_VBLIT_GEM_USERPTR \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_GEM_USERPTR, struct drm_vblit_gem_userptr)
#define DRM_IOCTL_VBLIT_EXEC \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_EXEC, struct drm_vblit_exec)
#define DRM_IOCTL_VBLIT_GEM_WAIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_GEM_WAIT, struct drm_vblit_gem_wait)
#define DRM_IOCTL_VBLIT_JOB_RELEASE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_VBLIT_JOB_RELEASE, struct drm_vblit_job_release)

/**
 * enum drm_vblit_param - parameters readable with &DRM_IOCTL_VBLIT_GETPARAM
 *
 * @VBLIT_PARAM_API_VERSION: version of this uapi, currently 1.
 * @VBLIT_PARAM_MAX_GEM_SIZE: largest size accepted by GEM_CREATE, bytes.
 * @VBLIT_PARAM_HAS_USERPTR: 1 if &DRM_IOCTL_VBLIT_GEM_USERPTR is supported.
 * @VBLIT_PARAM_HAS_USERPTR_PROBE: 1 if %VBLIT_USERPTR_PROBE is supported
 *	(the counterpart of i915's I915_PARAM_HAS_USERPTR_PROBE).
 * @VBLIT_PARAM_USERPTR_BACKING: how userptr pages are held:
 *	%VBLIT_USERPTR_BACKING_PINNED or %VBLIT_USERPTR_BACKING_UNPINNED.
 *	Test-only: a device loaded for benchmarks with a comparator of the
 *	drm_userptr_bench module reports %VBLIT_USERPTR_BACKING_LEGACY or
 *	%VBLIT_USERPTR_BACKING_ALIGNED; production never does.
 * @VBLIT_PARAM_USERPTR_MAX_SIZE: largest user_size accepted by
 *	GEM_USERPTR, bytes; larger sizes give -E2BIG.
 * @VBLIT_PARAM_HAS_EXEC: 1 if &DRM_IOCTL_VBLIT_EXEC is supported.
 * @VBLIT_PARAM_HAS_EXEC_HOLD: 1 if %VBLIT_EXEC_HOLD and
 *	&DRM_IOCTL_VBLIT_JOB_RELEASE are supported.
 * @VBLIT_PARAM_MAX_HOLD_MS: largest &drm_vblit_exec.hold_ms accepted.
 * @VBLIT_PARAM_RETRY_TIMEOUT_MS: how long a submission's userptr
 *	acquisition may keep colliding with invalidations, counted from the
 *	first collision, before EXEC gives up with -EBUSY (see
 *	&drm_vblit_exec for what is counted).
 */
enum drm_vblit_param {
	VBLIT_PARAM_API_VERSION = 0,
	VBLIT_PARAM_MAX_GEM_SIZE = 1,
	VBLIT_PARAM_HAS_USERPTR = 2,
	VBLIT_PARAM_HAS_USERPTR_PROBE = 3,
	VBLIT_PARAM_USERPTR_BACKING = 4,
	VBLIT_PARAM_USERPTR_MAX_SIZE = 5,
	VBLIT_PARAM_HAS_EXEC = 6,
	VBLIT_PARAM_HAS_EXEC_HOLD = 7,
	VBLIT_PARAM_MAX_HOLD_MS = 8,
	VBLIT_PARAM_RETRY_TIMEOUT_MS = 9,
};

#define VBLIT_USERPTR_BACKING_PINNED	0
#define VBLIT_USERPTR_BACKING_UNPINNED	1
/* Test-only: benchmark comparators, see %VBLIT_PARAM_USERPTR_BACKING. */
#define VBLIT_USERPTR_BACKING_LEGACY	2
#define VBLIT_USERPTR_BACKING_ALIGNED	3

/**
 * struct drm_vblit_getparam - query a device parameter
 *
 * Errors: -EINVAL for an unknown @param or a non-zero @pad.
 */
struct drm_vblit_getparam {
	/** @param: one of &enum drm_vblit_param. */
	__u32 param;
	/** @pad: MBZ. */
	__u32 pad;
	/** @value: out, the parameter's value. */
	__u64 value;
};

/**
 * struct drm_vblit_gem_create - create a shmem-backed GEM object
 *
 * Errors: -EINVAL for a zero @size, non-zero @flags or @pad;
 * -E2BIG for a @size above %VBLIT_PARAM_MAX_GEM_SIZE; -ENOMEM.
 */
struct drm_vblit_gem_create {
	/** @size: in, bytes; rounded up to a whole number of pages. */
	__u64 size;
	/** @flags: MBZ, no flags are defined. */
	__u32 flags;
	/** @handle: out, the new object's handle. */
	__u32 handle;
	/** @pad: MBZ. */
	__u64 pad;
};

/**
 * struct drm_vblit_gem_mmap_offset - fake offset for mmap() of an object
 *
 * Errors: -ENOENT for an unknown @handle; -EINVAL for non-zero @flags or
 * @pad; -ENODEV for a userptr object (as i915 does: map the user memory
 * itself instead).
 */
struct drm_vblit_gem_mmap_offset {
	/** @handle: in, the object. */
	__u32 handle;
	/** @flags: MBZ. */
	__u32 flags;
	/** @offset: out, pass to mmap() on the same fd. */
	__u64 offset;
	/** @pad: MBZ. */
	__u64 pad;
};

/* Flags of &drm_vblit_gem_userptr.flags; values are i915's. */
#define VBLIT_USERPTR_READ_ONLY		0x1
#define VBLIT_USERPTR_PROBE		0x2
#define VBLIT_USERPTR_UNSYNCHRONIZED	0x80000000

/**
 * struct drm_vblit_gem_userptr - wrap user memory as a GEM object
 *
 * Layout and flag semantics are those of &drm_i915_gem_userptr, so that
 * Mesa's i915 userptr paths map onto this ioctl one to one.
 *
 * Checks, in this order: unknown bits in @flags -EINVAL; @user_size
 * above %VBLIT_PARAM_USERPTR_MAX_SIZE -E2BIG; zero @user_size -EINVAL;
 * @user_ptr or @user_size not page aligned, or @user_ptr + @user_size
 * overflowing -EINVAL; range not a user range (!access_ok) -EFAULT;
 * %VBLIT_USERPTR_UNSYNCHRONIZED -ENODEV; with %VBLIT_USERPTR_PROBE, a hole
 * or a VM_PFNMAP, VM_MIXEDMAP or VM_IO mapping in the range -EFAULT (no page
 * is populated). Out of memory gives -ENOMEM.
 *
 * Pages are acquired lazily at first use and re-validated before every use.
 * A job over a range that is no longer mapped fails with -EFAULT, a job
 * writing a %VBLIT_USERPTR_READ_ONLY object with -EACCES, a job from a
 * process other than the creator with -EFAULT. Acquisition faults pages in
 * as a CPU access would: in a range registered with userfaultfd it waits
 * for the monitor, however long it takes (except with
 * %VBLIT_USERPTR_BACKING_PINNED on kernels whose long-term pinning cannot
 * retry a fault, 6.1: -EFAULT at once, the monitor is never asked), and
 * any signal ends that wait as it would a CPU access's: EXEC fails with
 * -ERESTARTSYS (-EINTR without SA_RESTART) at once, with nothing
 * published, and SIGKILL ends it too. Other waits, for mmap_lock held by
 * another thread or for an invalidation waiting for this device's jobs,
 * end first and the signal is seen right after. Pages KSM merged while no
 * job used them are unshared for a writable object; with
 * %VBLIT_USERPTR_BACKING_PINNED they stay pinned, so that ksmd cannot
 * merge them again, until the EXEC that acquires them returns. With
 * %VBLIT_USERPTR_BACKING_UNPINNED a page allocation that fails while
 * faulting is reported as -EFAULT, not -ENOMEM: hmm_range_fault() does
 * not tell the two apart.
 */
struct drm_vblit_gem_userptr {
	/** @user_ptr: in, page-aligned start of the user memory. */
	__u64 user_ptr;
	/** @user_size: in, page-aligned size in bytes. */
	__u64 user_size;
	/**
	 * @flags: in, %VBLIT_USERPTR_READ_ONLY: the device never writes the
	 * pages and they are acquired without write access;
	 * %VBLIT_USERPTR_PROBE: check at creation that the whole range is
	 * backed by ordinary mappings, not their protection: a PROT_NONE
	 * range passes the probe, and jobs on the object then fail with
	 * -EFAULT as they would without it; %VBLIT_USERPTR_UNSYNCHRONIZED:
	 * refused with -ENODEV.
	 */
	__u32 flags;
	/** @handle: out, the new object's handle. */
	__u32 handle;
};

/**
 * enum drm_vblit_op - operations of the software engine
 *
 * @VBLIT_OP_FILL: write the 32-bit pattern in &drm_vblit_exec.value
 *	repeatedly over [dst_offset, dst_offset + length).
 * @VBLIT_OP_COPY: copy length bytes from src at src_offset to dst at
 *	dst_offset. Source and destination may be the same object if the
 *	ranges do not overlap.
 * @VBLIT_OP_CHECKSUM: compute the 64-bit FNV-1a hash of src's
 *	[src_offset, src_offset + length) and store it, little endian, in
 *	dst at dst_offset (8 bytes). The result may overlap the source, in
 *	one object or through shared pages: the hash is that of the source
 *	before the job, the result is stored once it is computed.
 */
enum drm_vblit_op {
	VBLIT_OP_FILL = 0,
	VBLIT_OP_COPY = 1,
	VBLIT_OP_CHECKSUM = 2,
};

/* Flags of &drm_vblit_exec.flags. */
#define VBLIT_EXEC_FENCE_OUT	0x1
#define VBLIT_EXEC_HOLD		0x2

/**
 * struct drm_vblit_exec - queue one job on the engine
 *
 * The objects' pages are acquired (or re-validated) and the job's fence is
 * published in each object's reservation object before the ioctl returns;
 * the engine runs the job later. Byte offsets and lengths need no alignment
 * (FILL's pattern is applied from dst_offset on).
 *
 * A job acquires each userptr object it names whole, not only the bytes it
 * touches, as i915 acquires all of an object's pages at once: one page of
 * the object's range that is unmapped, or mapped without the access the
 * object needs (write access unless %VBLIT_USERPTR_READ_ONLY), fails every
 * job on the object with -EFAULT, jobs over its other pages included.
 *
 * Errors: -EINVAL for an unknown @op or flag, non-zero @pad, a zero
 * @length, a range outside an object, %VBLIT_EXEC_HOLD with a zero
 * @hold_ms, @hold_ms without %VBLIT_EXEC_HOLD or above
 * %VBLIT_PARAM_MAX_HOLD_MS, or overlapping copy ranges in one object;
 * -ENOENT for an unknown handle; -EMFILE with %VBLIT_EXEC_FENCE_OUT and no
 * free descriptor; -EFAULT when a page of a userptr object's range is not
 * (validly) mapped or the object belongs to another process; -EACCES when
 * the job would write a read-only userptr object; -EBUSY when invalidations
 * kept colliding with acquisition: from the first collision on, the time
 * between one collided attempt and the next, each counted for at most an
 * eighth of %VBLIT_PARAM_RETRY_TIMEOUT_MS and without the time spent
 * waiting for a userfaultfd monitor or for a running invalidation (and the
 * jobs it waits for), added up to more than %VBLIT_PARAM_RETRY_TIMEOUT_MS;
 * time blocked before the first collision (in a page fault, for mmap_lock
 * held by a fork) never counts, nor can one long attempt use up the
 * budget; -ERESTARTSYS/-EINTR on a signal, including one during a wait for
 * a userfaultfd monitor (see &drm_vblit_gem_userptr); -ENOMEM.
 * A failed EXEC queues nothing.
 */
struct drm_vblit_exec {
	/** @op: one of &enum drm_vblit_op. */
	__u32 op;
	/**
	 * @flags: %VBLIT_EXEC_FENCE_OUT: return a sync_file in @fence_fd, a
	 * new close-on-exec descriptor (none free: -EMFILE, nothing queued);
	 * %VBLIT_EXEC_HOLD: keep the job in flight (fence unsignaled, engine
	 * not started) until &DRM_IOCTL_VBLIT_JOB_RELEASE names @job_id, the
	 * file is closed, or @hold_ms passes, whichever comes first. The hold
	 * ends then whatever the engine is doing (JOB_RELEASE gives -ENOENT
	 * from then on); the job then runs like one submitted without HOLD at
	 * that moment: after the fences it depends on and after the jobs
	 * already queued on the engine, which runs jobs one at a time in the
	 * order they became ready. Its fence signals once it has run. A held
	 * job on a userptr object over private memory blocks fork() of its
	 * creator, which write-protects that memory, until the job has run:
	 * up to @hold_ms (at most %VBLIT_PARAM_MAX_HOLD_MS) plus its wait on
	 * the engine.
	 */
	__u32 flags;
	/** @dst_handle: object written (FILL, COPY, CHECKSUM's result). */
	__u32 dst_handle;
	/** @src_handle: object read (COPY, CHECKSUM); MBZ for FILL. */
	__u32 src_handle;
	/** @dst_offset: byte offset into the destination. */
	__u64 dst_offset;
	/** @src_offset: byte offset into the source; MBZ for FILL. */
	__u64 src_offset;
	/** @length: bytes to fill, copy or hash. */
	__u64 length;
	/** @value: FILL's 32-bit pattern (upper half MBZ); MBZ otherwise. */
	__u64 value;
	/**
	 * @hold_ms: with %VBLIT_EXEC_HOLD, the automatic release timeout in
	 * milliseconds, 1 to %VBLIT_PARAM_MAX_HOLD_MS: 0 is refused rather
	 * than read as "no timeout" or "the longest"; MBZ without HOLD.
	 */
	__u32 hold_ms;
	/** @fence_fd: out, sync_file fd with %VBLIT_EXEC_FENCE_OUT, else -1. */
	__s32 fence_fd;
	/** @job_id: out, non-zero id of the job (for JOB_RELEASE). */
	__u64 job_id;
	/** @pad: MBZ. */
	__u64 pad;
};

/**
 * struct drm_vblit_gem_wait - wait for an object to become idle
 *
 * An idle object gives 0 at once, whatever @timeout_ns.
 *
 * Errors: -ENOENT for an unknown @handle; -EINVAL for non-zero @flags or
 * @pad; -ETIME if the object is still busy after @timeout_ns (a zero
 * timeout polls); -ERESTARTSYS/-EINTR on a signal.
 */
struct drm_vblit_gem_wait {
	/** @handle: in, the object. */
	__u32 handle;
	/** @flags: MBZ. */
	__u32 flags;
	/**
	 * @timeout_ns: in, relative timeout in nanoseconds: 0 polls, a
	 * negative value waits without limit (as i915's GEM_WAIT). Not
	 * updated with the time left (unlike i915's).
	 */
	__s64 timeout_ns;
	/** @pad: MBZ. */
	__u64 pad;
};

/**
 * struct drm_vblit_job_release - let a held job run
 *
 * Errors: -EINVAL for non-zero @pad; -ENOENT if @job_id names no job held
 * by this file (never submitted, already released or already timed out).
 */
struct drm_vblit_job_release {
	/** @job_id: in, from &drm_vblit_exec.job_id. */
	__u64 job_id;
	/** @pad: MBZ. */
	__u64 pad;
};

#if defined(__cplusplus)
}
#endif

#endif /* _UAPI_VBLIT_DRM_H_ */
