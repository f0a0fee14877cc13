// SPDX-License-Identifier: MIT
/*
 * Copyright (c) 2026 The drm-userptr authors
 */

/**
 * TEST: vblit userptr fault
 * Category: Core
 * Description: Allocation failures injected into every allocation of the
 *	userptr paths (creation, first use, submission) with the kernel's
 *	fault injection: fail-nth sweeps that fail the 1st, 2nd, ... allocation
 *	of one ioctl in turn, and failslab / fail_page_alloc armed at random
 *	for this process only (task-filter + make-it-fail). Every failure must
 *	come back as a clean errno, leave no object, pin, job or fd behind,
 *	and leave the objects usable. Needs CONFIG_FAULT_INJECTION,
 *	CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and debugfs: only the debug
 *	kernel (make test-debug) has them; Debian's stock kernels skip.
 */

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "igt.h"
#include "vblit.h"

IGT_TEST_DESCRIPTION("Allocation failures injected into the userptr paths of vblit.");

#define PAGE		VBLIT_PAGE_SIZE
#define OBJ_PAGES	16
#define OBJ_SIZE	(OBJ_PAGES * PAGE)
/* More allocations than any one ioctl of these paths makes. */
#define MAX_NTH		400
#define RANDOM_LOOPS	150
#define DEBUGFS		"/sys/kernel/debug"

static int fd = -1;
static uint32_t backing;

/* ---------------------------------------------------------------------- */
/* Fault injection knobs                                                  */

/* Knobs set for the whole binary; their old values come back at exit. */
static const struct knob {
	const char *path;
	const char *value;
} knobs[] = {
	/* Both default to failing only atomic allocations: fail GFP_KERNEL too. */
	{ DEBUGFS "/failslab/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-wait", "N" },
	{ DEBUGFS "/fail_page_alloc/ignore-gfp-highmem", "N" },
	/* fail_page_alloc spares order-0 pages by default. */
	{ DEBUGFS "/fail_page_alloc/min-order", "0" },
	/* Armed only for tasks with make-it-fail (this process, briefly). */
	{ DEBUGFS "/failslab/task-filter", "Y" },
	{ DEBUGFS "/fail_page_alloc/task-filter", "Y" },
	{ DEBUGFS "/failslab/probability", "0" },
	{ DEBUGFS "/fail_page_alloc/probability", "0" },
	/* No stack dumps: the runner fails a subtest on "Call Trace". */
	{ DEBUGFS "/failslab/verbose", "0" },
	{ DEBUGFS "/fail_page_alloc/verbose", "0" },
};
static char saved[sizeof(knobs) / sizeof(knobs[0])][32];

static void knob_set(const char *path, const char *value)
{
	int err = vblit_file_write(path, value);

	igt_assert_f(!err, "cannot write %s to %s: %s\n", value, path,
		     strerror(-err));
}

static void knobs_restore(int sig __maybe_unused)
{
	for (unsigned int i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		if (saved[i][0])
			vblit_file_write(knobs[i].path, saved[i]);
	vblit_file_write("/proc/self/make-it-fail", "0");
}

static bool fault_injection_available(void)
{
	return access(DEBUGFS "/failslab/probability", W_OK) == 0 &&
	       access(DEBUGFS "/fail_page_alloc/probability", W_OK) == 0 &&
	       access("/proc/self/make-it-fail", W_OK) == 0 &&
	       access("/proc/thread-self/fail-nth", W_OK) == 0;
}

static void knobs_setup(void)
{
	for (unsigned int i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		igt_assert_f(vblit_file_read(knobs[i].path, saved[i],
					     sizeof(saved[i])) >= 0,
			     "cannot read %s: %m\n", knobs[i].path);
	igt_install_exit_handler(knobs_restore);
	for (unsigned int i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++)
		knob_set(knobs[i].path, knobs[i].value);
}

/*
 * fail-nth: writing N makes the N-th fault-injection site this thread
 * reaches fail (any kind: slab, page allocator); reading gives 0 once it
 * did, else the remaining count. Opened once: the open allocates.
 */
static int nth_fd = -1;

static void nth_open(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	nth_fd = open(path, O_RDWR | O_CLOEXEC);
	igt_assert_f(nth_fd >= 0, "open %s: %m\n", path);
}

static void nth_arm(int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%d", n);

	igt_assert_eq(pwrite(nth_fd, buf, len, 0), len);
}

/* Disarm; true if the armed fault was injected. */
static bool nth_disarm(void)
{
	char buf[16] = "";
	ssize_t ret;

	ret = pread(nth_fd, buf, sizeof(buf) - 1, 0);
	igt_assert_lt(0, ret);
	buf[ret] = '\0';
	igt_assert_eq(pwrite(nth_fd, "0", 1, 0), 1);
	return atoi(buf) == 0;
}

/* make-it-fail: the task filter of failslab and fail_page_alloc. */
static void make_it_fail(bool on)
{
	/* The write itself may be failed while armed: insist. */
	for (int i = 0; i < 100; i++)
		if (!vblit_file_write("/proc/self/make-it-fail", on ? "1" : "0"))
			return;
	igt_assert_f(false, "cannot write /proc/self/make-it-fail: %m\n");
}

/* ---------------------------------------------------------------------- */
/* Raw ioctls: libdrm's drmIoctl() repeats EINTR and EAGAIN, hiding them   */

static int raw_ioctl(unsigned long request, void *arg)
{
	return ioctl(fd, request, arg) ? -errno : 0;
}

static int raw_userptr(void *ptr, uint64_t size, uint32_t flags,
		       uint32_t *handle)
{
	struct drm_vblit_gem_userptr arg = {
		.user_ptr = (uintptr_t)ptr,
		.user_size = size,
		.flags = flags,
	};
	int err = raw_ioctl(DRM_IOCTL_VBLIT_GEM_USERPTR, &arg);

	if (!err)
		*handle = arg.handle;
	return err;
}

static int raw_exec(struct drm_vblit_exec *exec)
{
	exec->fence_fd = -1;
	return raw_ioctl(DRM_IOCTL_VBLIT_EXEC, exec);
}

/* ---------------------------------------------------------------------- */
/* Accounting                                                             */

struct counters {
	int64_t objects, pinned, in_flight, held;
	int fds;
};

static int count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	igt_assert(dir);
	while ((de = readdir(dir)))
		n += de->d_name[0] != '.';
	closedir(dir);
	return n - 1; /* the directory's own fd */
}

static struct counters counters_read(void)
{
	return (struct counters) {
		.objects = vblit_stat("objects"),
		.pinned = vblit_stat_pinned_pages(),
		.in_flight = vblit_stat("jobs_in_flight"),
		.held = vblit_stat("jobs_held"),
		.fds = count_fds(),
	};
}

/* Field by field: memcmp() would compare the struct's padding too. */
static bool counters_equal(const struct counters *a, const struct counters *b)
{
	return a->objects == b->objects && a->pinned == b->pinned &&
	       a->in_flight == b->in_flight && a->held == b->held &&
	       a->fds == b->fds;
}

/* Deferred frees land within a moment: poll, then compare. */
static void counters_check(const struct counters *base, const char *what)
{
	struct counters now;

	for (int i = 0; i < 200; i++) {
		now = counters_read();
		if (counters_equal(&now, base))
			return;
		usleep(10 * 1000);
	}
	igt_assert_f(false,
		     "%s: leak: objects %ld->%ld pinned_pages %ld->%ld jobs_in_flight %ld->%ld jobs_held %ld->%ld fds %d->%d\n",
		     what, (long)base->objects, (long)now.objects,
		     (long)base->pinned, (long)now.pinned,
		     (long)base->in_flight, (long)now.in_flight,
		     (long)base->held, (long)now.held, base->fds, now.fds);
}

/* Errnos seen in one subtest, printed at its end. */
struct errstat {
	int injected, failed, survived;
	int attempts;		/* ioctls made under random failures */
	int count[256];
};

static void errstat_add(struct errstat *st, int err)
{
	st->injected++;
	if (err) {
		st->failed++;
		st->count[-err & 255]++;
	} else {
		st->survived++;
	}
}

static void errstat_print_errnos(const struct errstat *st)
{
	for (int e = 1; e < 256; e++)
		if (st->count[e])
			igt_info("  %s: %d\n", strerror(e), st->count[e]);
}

static void errstat_print(const struct errstat *st, const char *what)
{
	igt_info("%s: %d faults injected, %d failed the ioctl, %d were absorbed\n",
		 what, st->injected, st->failed, st->survived);
	errstat_print_errnos(st);
}

/*
 * The errnos an allocation failure may give. -EFAULT only where the mm
 * reports a failed fault as a bad address: hmm_range_fault() (unpinned
 * backing) turns VM_FAULT_OOM into -EFAULT.
 */
static void check_errno(int err, bool acquires, const char *what, int n)
{
	if (err == -ENOMEM)
		return;
	if (err == -EFAULT && acquires && backing == VBLIT_USERPTR_BACKING_UNPINNED)
		return;
	igt_assert_f(false, "%s: fault %d gave %d (%s), not a clean -ENOMEM\n",
		     what, n, err, strerror(-err));
}

/*
 * The outcome of a sweep step's ioctl, which made @err: with the @n-th
 * fault injected it is counted and must be 0 (absorbed) or a clean errno;
 * without a fault it must be 0.
 */
static void nth_outcome(struct errstat *st, int n, bool injected, int err,
			bool acquires, const char *what)
{
	if (!injected) {
		igt_assert_f(!err, "%s without a fault failed: %d\n", what, err);
		return;
	}
	errstat_add(st, err);
	if (err)
		check_errno(err, acquires, what, n);
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

/* A shmem object of OBJ_SIZE holding pattern @seed. */
static struct vblit_bo pattern_bo(uint32_t seed)
{
	struct vblit_bo bo = vblit_bo_create(fd, OBJ_SIZE);

	vblit_pattern_write(bo.map, OBJ_SIZE, seed);
	return bo;
}

/* User memory with pattern @seed in it (populated), or untouched. */
static void *user_mem(bool populate, uint32_t seed)
{
	void *ptr = vblit_mmap_anon(OBJ_SIZE);

	if (populate)
		vblit_pattern_write(ptr, OBJ_SIZE, seed);
	return ptr;
}

/*
 * The object is usable: the device writes it (a FILL), reads it (a COPY
 * out) and the CPU sees the FILL in the user memory.
 */
static void check_usable(uint32_t handle, void *ptr, uint32_t value,
			 const char *what)
{
	struct vblit_bo out = pattern_bo(0);

	vblit_fill(fd, handle, 0, OBJ_SIZE, value);
	vblit_value_check(ptr, OBJ_SIZE, value, what);
	vblit_copy(fd, out.handle, 0, handle, 0, OBJ_SIZE);
	vblit_value_check(out.map, OBJ_SIZE, value, what);
	vblit_bo_destroy(fd, &out);
}

/* ---------------------------------------------------------------------- */
/* fail-nth sweeps                                                        */

/*
 * One sweep step: set up (no fault), fail the n-th allocation of one
 * ioctl, check the outcome, clean up. Returns false once the ioctl made
 * fewer than n allocations: the sweep is complete.
 */
typedef bool (*sweep_step_t)(int n, struct errstat *st);

static void sweep(sweep_step_t step, const char *what)
{
	struct counters base = counters_read();
	struct errstat st = {};
	int n;

	for (n = 1; n <= MAX_NTH; n++) {
		if (!step(n, &st))
			break;
		counters_check(&base, what);
	}
	counters_check(&base, what);
	errstat_print(&st, what);
	igt_assert_f(n <= MAX_NTH, "%s: still injecting after %d faults\n",
		     what, MAX_NTH);
	igt_assert_f(st.failed > 0, "%s: no injected fault failed the ioctl: "
		     "is fault injection armed?\n", what);
}

static bool step_create(int n, struct errstat *st, uint32_t flags)
{
	void *ptr = user_mem(true, n);
	uint32_t handle = 0;
	bool injected;
	int err;

	nth_arm(n);
	err = raw_userptr(ptr, OBJ_SIZE, flags, &handle);
	injected = nth_disarm();
	nth_outcome(st, n, injected, err, false, "create");
	if (err)
		handle = vblit_gem_userptr(fd, ptr, OBJ_SIZE, flags);
	check_usable(handle, ptr, 0xc0ffee00 + n, "create-fail-nth");
	vblit_gem_close(fd, handle);
	munmap(ptr, OBJ_SIZE);
	return injected;
}

static bool step_create_plain(int n, struct errstat *st)
{
	return step_create(n, st, 0);
}

static bool step_create_probe(int n, struct errstat *st)
{
	return step_create(n, st, VBLIT_USERPTR_PROBE);
}

static void test_create_fail_nth(void)
{
	/* The process's first userptr registers its mm: done once, here. */
	void *ptr = user_mem(true, 1);

	vblit_gem_close(fd, vblit_gem_userptr(fd, ptr, OBJ_SIZE, 0));
	munmap(ptr, OBJ_SIZE);

	sweep(step_create_plain, "create");
	if (vblit_getparam(fd, VBLIT_PARAM_HAS_USERPTR_PROBE))
		sweep(step_create_probe, "create with PROBE");
}

static bool step_create_first(int n, struct errstat *st)
{
	/* The child's outcome: injected, err. */
	int *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	bool injected;

	igt_assert(shared != MAP_FAILED);
	igt_fork(child, 1) {
		void *ptr = user_mem(true, n);
		uint32_t handle = 0;
		int err;

		nth_open();
		nth_arm(n);
		err = raw_userptr(ptr, OBJ_SIZE, 0, &handle);
		shared[0] = nth_disarm();
		shared[1] = err;
		if (err)
			handle = vblit_gem_userptr(fd, ptr, OBJ_SIZE, 0);
		check_usable(handle, ptr, 0xf1257000 + n, "first-in-mm");
		vblit_gem_close(fd, handle);
	}
	igt_waitchildren();

	injected = shared[0];
	nth_outcome(st, n, injected, shared[1], false, "first create in mm");
	munmap(shared, PAGE);
	return injected;
}

static void test_create_first_in_mm_fail_nth(void)
{
	sweep(step_create_first, "first create in mm");
}

static bool step_validate(int n, struct errstat *st, bool populate)
{
	void *ptr = user_mem(populate, 0x5eed0000 + n);
	uint32_t handle = vblit_gem_userptr(fd, ptr, OBJ_SIZE, 0);
	struct drm_vblit_exec exec;
	bool injected;
	int err;

	vblit_exec_init(&exec, VBLIT_OP_FILL, handle, 0, 0, 0, OBJ_SIZE);
	exec.value = 0xf111ed00 + n;
	nth_arm(n);
	err = raw_exec(&exec);
	injected = nth_disarm();
	nth_outcome(st, n, injected, err, true, "first use");
	if (err) {
		/* No job was queued: the memory is as the CPU left it. */
		if (populate)
			vblit_pattern_check(ptr, OBJ_SIZE, 0x5eed0000 + n,
					    "user memory after a failed first use");
		else
			vblit_value_check(ptr, OBJ_SIZE, 0,
					  "user memory after a failed first use");
	} else {
		vblit_gem_wait(fd, handle);
		vblit_value_check(ptr, OBJ_SIZE, 0xf111ed00 + n,
				  "user memory after the first use");
	}
	check_usable(handle, ptr, 0xa6a10000 + n, "validate-fail-nth");
	vblit_gem_close(fd, handle);
	munmap(ptr, OBJ_SIZE);
	return injected;
}

static bool step_validate_populated(int n, struct errstat *st)
{
	return step_validate(n, st, true);
}

static bool step_validate_unpopulated(int n, struct errstat *st)
{
	return step_validate(n, st, false);
}

static bool step_submit(int n, struct errstat *st)
{
	uint32_t hold_ms = vblit_hold_ms(fd, 10000);
	void *ptr = user_mem(true, 0x50b00000 + n);
	uint32_t handle = vblit_gem_userptr(fd, ptr, OBJ_SIZE, 0);
	struct vblit_bo src = pattern_bo(0x5c000000 + n);
	struct vblit_bo sums = pattern_bo(0);
	struct drm_vblit_exec exec;
	uint64_t held[2];
	void *expected;
	bool injected;
	int err;

	/* Acquire the pages, then keep two readers of them in flight. */
	vblit_fill(fd, handle, 0, PAGE, 0x11111111);
	vblit_pattern_write(ptr, OBJ_SIZE, 0x50b00000 + n);
	for (int i = 0; i < 2; i++) {
		vblit_exec_init(&exec, VBLIT_OP_CHECKSUM, sums.handle, i * 8,
				handle, 0, OBJ_SIZE);
		exec.flags = VBLIT_EXEC_HOLD;
		exec.hold_ms = hold_ms;
		held[i] = vblit_exec(fd, &exec);
	}

	vblit_exec_init(&exec, VBLIT_OP_COPY, handle, 0, src.handle, 0, OBJ_SIZE);
	exec.flags = VBLIT_EXEC_FENCE_OUT;
	nth_arm(n);
	err = raw_exec(&exec);
	injected = nth_disarm();
	nth_outcome(st, n, injected, err, true, "submission");
	if (err) {
		igt_assert_eq(exec.fence_fd, -1);
	} else {
		igt_assert_lte(0, exec.fence_fd);
		close(exec.fence_fd);
	}

	for (int i = 0; i < 2; i++)
		vblit_job_release(fd, held[i]);
	vblit_gem_wait(fd, handle);
	vblit_gem_wait(fd, sums.handle);
	/* The readers saw the pattern: the copy, if queued, waited for them. */
	expected = malloc(OBJ_SIZE);
	igt_assert(expected);
	vblit_pattern_write(expected, OBJ_SIZE, 0x50b00000 + n);
	for (int i = 0; i < 2; i++)
		igt_assert_eq_u64(((uint64_t *)sums.map)[i],
				  vblit_fnv1a64(expected, OBJ_SIZE));
	free(expected);
	if (err)
		vblit_pattern_check(ptr, OBJ_SIZE, 0x50b00000 + n,
				    "user memory after a failed submission");
	else
		vblit_pattern_check(ptr, OBJ_SIZE, 0x5c000000 + n,
				    "user memory after the copy");

	check_usable(handle, ptr, 0x5e5e0000 + n, "submit-fail-nth");
	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &src);
	vblit_bo_destroy(fd, &sums);
	munmap(ptr, OBJ_SIZE);
	return injected;
}

/* ---------------------------------------------------------------------- */
/* Random failures, task-filtered                                         */

/* An ioctl under random failures made @err: counted; a failure must be clean. */
static void random_outcome(struct errstat *st, int err, bool acquires,
			   const char *what, int i)
{
	st->attempts++;
	if (err) {
		errstat_add(st, err);
		check_errno(err, acquires, what, i);
	}
}

/* @exec submitted under random failures; 0 or its -errno. */
static int random_exec(struct drm_vblit_exec *exec, struct errstat *st,
		       const char *what, int i)
{
	int err;

	make_it_fail(true);
	err = raw_exec(exec);
	make_it_fail(false);
	random_outcome(st, err, true, what, i);
	return err;
}

static void random_failures(const char *attr)
{
	char path[128];
	struct counters base = counters_read();
	struct errstat st = {};

	snprintf(path, sizeof(path), DEBUGFS "/%s/probability", attr);
	knob_set(path, "20");
	snprintf(path, sizeof(path), DEBUGFS "/%s/interval", attr);
	knob_set(path, "1");
	snprintf(path, sizeof(path), DEBUGFS "/%s/times", attr);
	knob_set(path, "-1");

	for (int i = 0; i < RANDOM_LOOPS; i++) {
		void *ptr = user_mem(i & 1, 0x7a000000 + i);
		struct drm_vblit_exec exec;
		uint32_t handle = 0;
		int err;

		/* Create. */
		make_it_fail(true);
		err = raw_userptr(ptr, OBJ_SIZE, 0, &handle);
		make_it_fail(false);
		random_outcome(&st, err, false, "random create", i);
		if (err) {
			munmap(ptr, OBJ_SIZE);
			continue;
		}

		/* First use: a FILL. */
		vblit_exec_init(&exec, VBLIT_OP_FILL, handle, 0, 0, 0, OBJ_SIZE);
		exec.value = 0xabc00000 + i;
		if (!random_exec(&exec, &st, "random first use", i)) {
			vblit_gem_wait(fd, handle);
			vblit_value_check(ptr, OBJ_SIZE, 0xabc00000 + i,
					  "random first use");
		}

		/* A submission with a fence out: a COPY from shmem. */
		{
			struct vblit_bo src = pattern_bo(0x7b000000 + i);

			vblit_exec_init(&exec, VBLIT_OP_COPY, handle, 0,
					src.handle, 0, OBJ_SIZE);
			exec.flags = VBLIT_EXEC_FENCE_OUT;
			if (!random_exec(&exec, &st, "random submission", i)) {
				close(exec.fence_fd);
				vblit_gem_wait(fd, handle);
				vblit_pattern_check(ptr, OBJ_SIZE, 0x7b000000 + i,
						    "random submission");
			}
			vblit_bo_destroy(fd, &src);
		}

		check_usable(handle, ptr, 0x0b1e0000 + i, attr);
		vblit_gem_close(fd, handle);
		munmap(ptr, OBJ_SIZE);
	}

	snprintf(path, sizeof(path), DEBUGFS "/%s/probability", attr);
	knob_set(path, "0");
	counters_check(&base, attr);
	/* Only failures are seen here: a fault the kernel absorbed is silent. */
	igt_info("%s: %d ioctls under injection, %d failed\n", attr, st.attempts,
		 st.failed);
	errstat_print_errnos(&st);
	igt_assert_f(st.failed > 0, "%s: no ioctl failed: is it armed?\n", attr);
}

igt_main
{
	igt_fixture {
		fd = vblit_suite_open(VBLIT_SUITE_USERPTR | VBLIT_SUITE_STATS,
				      &backing);
		igt_require_f(fault_injection_available(),
			      "no fault injection in this kernel (needs CONFIG_FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC, FAULT_INJECTION_DEBUG_FS and debugfs): run by make test-debug\n");
		knobs_setup();
		nth_open();
	}

	igt_describe("Fail each allocation of GEM_USERPTR (with and without "
		     "PROBE) in turn: -ENOMEM, no object left, and creating "
		     "again works.");
	igt_subtest("create-fail-nth")
		test_create_fail_nth();

	igt_describe("The first userptr object of a process registers the "
		     "process's mm with the mmu-notifier core; fail each "
		     "allocation of that GEM_USERPTR in turn (a fresh child "
		     "process per step): -ENOMEM, the mm left consistent "
		     "(creating again works), nothing left.");
	igt_subtest("create-first-in-mm-fail-nth")
		test_create_first_in_mm_fail_nth();

	igt_describe("Fail each allocation of the first use of a userptr "
		     "object (an EXEC writing it, which acquires its pages) in "
		     "turn, over populated memory: a clean errno, the user "
		     "memory untouched, nothing pinned or left, and the next "
		     "EXEC works.");
	igt_subtest("validate-fail-nth")
		sweep(step_validate_populated, "first use");

	igt_describe("As validate-fail-nth, over never-touched memory, so that "
		     "the acquisition faults the pages in (page allocations in "
		     "the fault path fail too).");
	igt_subtest("validate-unpopulated-fail-nth")
		sweep(step_validate_unpopulated, "first use, unpopulated");

	igt_describe("Fail each allocation of an EXEC with a fence out on an "
		     "already acquired userptr object that two held jobs read "
		     "(so that its dependencies need a fence array): -ENOMEM, "
		     "no job, fence or fd left, the held jobs unaffected, and "
		     "the object usable.");
	igt_subtest("submit-fail-nth") {
		vblit_require_hold(fd);
		sweep(step_submit, "submission");
	}

	igt_describe("failslab armed for this process only (task-filter and "
		     "make-it-fail, probability 20%) around every create, "
		     "first use and submission of many objects: each ioctl "
		     "succeeds or fails cleanly, the objects that exist stay "
		     "usable, and nothing is left at the end.");
	igt_subtest("random-failslab")
		random_failures("failslab");

	igt_describe("As random-failslab, with fail_page_alloc (order 0 "
		     "included), which also fails the page allocations of "
		     "faulting user memory in.");
	igt_subtest("random-fail-page-alloc")
		random_failures("fail_page_alloc");

	igt_fixture {
		knobs_restore(0);
		close(nth_fd);
		close(fd);
	}
}
