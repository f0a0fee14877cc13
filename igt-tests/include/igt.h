/* SPDX-License-Identifier: MIT */
/*
 * igt.h: the subset of IGT's public API that the vblit tests use, declared
 * against the runtime library Debian ships (libigt.so.0 from
 * intel-gpu-tools 1.27.1-1), which comes without headers.
 *
 * Inside an upstream IGT tree this file is not used: the tests then get the
 * real igt.h, and build unchanged. So everything here keeps upstream's
 * names, signatures and macro semantics, and nothing is reachable through
 * it that upstream's igt.h does not reach; nothing project-specific belongs
 * here (that goes to lib/vblit.h). Upstream headers that igt.h does not
 * include have stand-ins of their own name beside this one (igt_kmod.h), so
 * that a test which forgets one fails here as it would upstream.
 *
 * Control flow, as upstream implements it: a subtest block is a for loop
 * whose condition asks the library whether to run it and then sigsetjmp()s
 * on igt_subtest_jmpbuf (igt_dynamic_jmpbuf for dynamic subtests). A
 * failure or skip inside siglongjmp()s back, the condition becomes false
 * and the loop ends; a block that completes calls igt_success(). Locals
 * changed inside a block and read after a longjmp must be volatile: this is
 * why gcc warns with -Wclobbered.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef IGT_H
#define IGT_H

/*
 * System headers: the ones upstream's lib/igt.h 1.27.1 reaches (measured by
 * preprocessing it in the real tree), and no other. Not among them, so
 * included by each test that uses them: fcntl.h (open, O_*, fallocate,
 * FALLOC_FL_*), sys/ioctl.h (ioctl), sys/stat.h, sys/wait.h, signal.h,
 * sys/resource.h, sys/prctl.h, linux/userfaultfd.h, numaif.h.
 * make check (igt-tests/Makefile, target check) keeps the list as it is
 * and compiles every test against it with -Werror.
 */
#include <alloca.h>
#include <assert.h>
#include <byteswap.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/types.h>
#include <linux/types.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <pciaccess.h>
/* Not a build dependency here (nothing in the tests draws): where present. */
#if __has_include(<cairo.h>)
#include <cairo.h>
#endif
/* The compiler's own headers that igt_core.h includes. */
#include <stdarg.h>
#include <stdbool.h>

struct option;

#ifndef IGT_LOG_DOMAIN
#define IGT_LOG_DOMAIN (NULL)
#endif

#define __noreturn __attribute__((noreturn))
#define __maybe_unused __attribute__((unused))

/* Exit codes of a test binary. */
#define IGT_EXIT_SUCCESS	0
#define IGT_EXIT_SKIP		77
#define IGT_EXIT_TIMEOUT	78
#define IGT_EXIT_INVALID	79
#define IGT_EXIT_FAILURE	98
#define IGT_EXIT_ABORT		112

/* Token pasting for block-local names (one per source line). */
#define __igt_tokencat2(x, y) x ## y
#define igt_tokencat(x, y) __igt_tokencat2(x, y)
#define igt_unique(prefix) \
	igt_tokencat(igt_tokencat(__igt_unique__, prefix), __LINE__)

/* ---------------------------------------------------------------------- */
/* Test structure: main, fixtures, subtests, dynamic subtests.            */

/* The library reads it (a weak reference) for --help-description. */
extern const char *__igt_test_description __attribute__((weak));
#define IGT_TEST_DESCRIPTION(str) const char *__igt_test_description = str

typedef int (*igt_opt_handler_t)(int opt, int opt_index, void *data);

int igt_subtest_init_parse_opts(int *argc, char **argv,
				const char *extra_short_opts,
				const struct option *extra_long_opts,
				const char *help_str,
				igt_opt_handler_t extra_opt_handler,
				void *handler_data);
__noreturn void igt_exit(void);

extern jmp_buf igt_subtest_jmpbuf;
extern jmp_buf igt_dynamic_jmpbuf;

bool __igt_fixture(void);
void __igt_fixture_complete(void);
__noreturn void __igt_fixture_end(void);
bool __igt_run_subtest(const char *subtest_name, const char *file,
		       const int line);
bool __igt_enter_dynamic_container(void);
bool __igt_run_dynamic_subtest(const char *dynamic_subtest_name);
void igt_success(void);
bool igt_only_list_subtests(void);
const char *igt_subtest_name(void);
const char *igt_test_name(void);

#define igt_main_args(short_opts, long_opts, help_str, opt_handler, handler_data) \
	static void igt_unique(__real_main)(void); \
	int main(int argc, char **argv) \
	{ \
		igt_subtest_init_parse_opts(&argc, argv, short_opts, long_opts, \
					    help_str, opt_handler, handler_data); \
		igt_unique(__real_main)(); \
		igt_exit(); \
	} \
	static void igt_unique(__real_main)(void)

#define igt_main igt_main_args(NULL, NULL, NULL, NULL, NULL)

#define igt_fixture \
	for (volatile int igt_unique(__tmpint) = 0; \
	     igt_unique(__tmpint) < 1 && __igt_fixture() && \
	     sigsetjmp(igt_subtest_jmpbuf, 1) == 0; \
	     igt_unique(__tmpint)++, __igt_fixture_complete())

/*
 * Every subtest and dynamic subtest block: run while @run says so and the
 * sigsetjmp() on @jmpbuf returns directly. The _f forms first format the
 * name into a local buffer @tmp, which @run then reads.
 */
#define __igt_block(run, jmpbuf) \
	for (; (run) && sigsetjmp(jmpbuf, 1) == 0; igt_success())
#define __igt_block_f(tmp, run, jmpbuf, format...) \
	for (char tmp[256]; \
	     snprintf(tmp, sizeof(tmp), format), \
	     (run) && sigsetjmp(jmpbuf, 1) == 0; \
	     igt_success())

#define __igt_run_subtest_here(name) __igt_run_subtest((name), __FILE__, __LINE__)
#define __igt_enter_subtest_with_dynamic(name) \
	(__igt_run_subtest_here(name) && __igt_enter_dynamic_container())

#define igt_subtest(name) \
	__igt_block(__igt_run_subtest_here(name), igt_subtest_jmpbuf)
#define igt_subtest_f(f...) \
	__igt_block_f(igt_unique(__tmpchar), \
		      __igt_run_subtest_here(igt_unique(__tmpchar)), \
		      igt_subtest_jmpbuf, f)

#define igt_subtest_with_dynamic(name) \
	__igt_block(__igt_enter_subtest_with_dynamic(name), igt_subtest_jmpbuf)
#define igt_subtest_with_dynamic_f(f...) \
	__igt_block_f(igt_unique(__tmpchar), \
		      __igt_enter_subtest_with_dynamic(igt_unique(__tmpchar)), \
		      igt_subtest_jmpbuf, f)

#define igt_dynamic(name) \
	__igt_block(__igt_run_dynamic_subtest(name), igt_dynamic_jmpbuf)
#define igt_dynamic_f(f...) \
	__igt_block_f(igt_unique(__tmpchar), \
		      __igt_run_dynamic_subtest(igt_unique(__tmpchar)), \
		      igt_dynamic_jmpbuf, f)

void igt_describe_f(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define igt_describe(dsc) igt_describe_f("%s", dsc)

/* ---------------------------------------------------------------------- */
/* Results: skip, fail, assertions.                                       */

__noreturn void igt_skip(const char *f, ...) __attribute__((format(printf, 1, 2)));
__noreturn void __igt_skip_check(const char *file, const int line,
				 const char *func, const char *check,
				 const char *format, ...)
	__attribute__((format(printf, 5, 6)));
__noreturn void igt_fail(int exitcode);
__noreturn void __igt_fail_assert(const char *domain, const char *file,
				  const int line, const char *func,
				  const char *assertion, const char *format, ...)
	__attribute__((format(printf, 6, 7)));

#define __igt_fail_here(assertion, f...) \
	__igt_fail_assert(IGT_LOG_DOMAIN, __FILE__, __LINE__, __func__, \
			  assertion, f)

#define igt_assert(expr) \
	do { \
		if (!(expr)) \
			__igt_fail_here(#expr, NULL); \
	} while (0)

#define igt_assert_f(expr, f...) \
	do { \
		if (!(expr)) \
			__igt_fail_here(#expr, f); \
	} while (0)

#define igt_fail_on(expr) igt_assert(!(expr))
#define igt_fail_on_f(expr, f...) igt_assert_f(!(expr), f)

/*
 * The comparisons: @n1 and @n2 evaluated once, as @type, printed with
 * @fmt. The public macros stringify their own arguments, so the failure
 * names what the test wrote.
 */
#define __igt_assert_cmp(type, fmt, n1, cmp, n2, what, ncmp) \
	do { \
		type __n1 = (n1), __n2 = (n2); \
		if (__n1 cmp __n2) ; else \
			__igt_fail_here(what, "error: " fmt " " ncmp " " fmt "\n", \
					__n1, __n2); \
	} while (0)

#define igt_assert_cmpint(n1, cmp, ncmp, n2) \
	__igt_assert_cmp(int, "%d", n1, cmp, n2, #n1 " " #cmp " " #n2, #ncmp)
#define igt_assert_cmpuint(n1, cmp, ncmp, n2) \
	__igt_assert_cmp(uint32_t, "%#x", n1, cmp, n2, #n1 " " #cmp " " #n2, #ncmp)
#define igt_assert_cmps64(n1, cmp, ncmp, n2) \
	__igt_assert_cmp(int64_t, "%" PRId64, n1, cmp, n2, #n1 " " #cmp " " #n2, #ncmp)
#define igt_assert_cmpu64(n1, cmp, ncmp, n2) \
	__igt_assert_cmp(uint64_t, "%#" PRIx64, n1, cmp, n2, #n1 " " #cmp " " #n2, #ncmp)

#define igt_assert_eq(n1, n2) igt_assert_cmpint(n1, ==, !=, n2)
#define igt_assert_eq_u32(n1, n2) igt_assert_cmpuint(n1, ==, !=, n2)
#define igt_assert_eq_s64(n1, n2) igt_assert_cmps64(n1, ==, !=, n2)
#define igt_assert_eq_u64(n1, n2) igt_assert_cmpu64(n1, ==, !=, n2)
#define igt_assert_neq(n1, n2) igt_assert_cmpint(n1, !=, ==, n2)
#define igt_assert_neq_u32(n1, n2) igt_assert_cmpuint(n1, !=, ==, n2)
#define igt_assert_neq_u64(n1, n2) igt_assert_cmpu64(n1, !=, ==, n2)
#define igt_assert_lte(n1, n2) igt_assert_cmpint(n1, <=, >, n2)
#define igt_assert_lte_u64(n1, n2) igt_assert_cmpu64(n1, <=, >, n2)
#define igt_assert_lt(n1, n2) igt_assert_cmpint(n1, <, >=, n2)
#define igt_assert_lt_u64(n1, n2) igt_assert_cmpu64(n1, <, >=, n2)

/*
 * Skips: igt_require*() skip unless @expr holds, igt_skip_on*() skip if it
 * holds; either way @check names the condition that would have let the
 * subtest run.
 */
#define __igt_skip_unless(ok, check, f...) \
	do { \
		if (!(ok)) \
			__igt_skip_check(__FILE__, __LINE__, __func__, check, f); \
		else \
			igt_debug("Test requirement passed: %s\n", check); \
	} while (0)

#define igt_require(expr) __igt_skip_unless(expr, #expr, NULL)
#define igt_require_f(expr, f...) __igt_skip_unless(expr, #expr, f)
#define igt_skip_on(expr) __igt_skip_unless(!(expr), "!(" #expr ")", NULL)
#define igt_skip_on_f(expr, f...) __igt_skip_unless(!(expr), "!(" #expr ")", f)

/* ---------------------------------------------------------------------- */
/* Logging.                                                               */

enum igt_log_level {
	IGT_LOG_DEBUG,
	IGT_LOG_INFO,
	IGT_LOG_WARN,
	IGT_LOG_CRITICAL,
	IGT_LOG_NONE,
};

void igt_log(const char *domain, enum igt_log_level level,
	     const char *format, ...) __attribute__((format(printf, 3, 4)));

#define igt_debug(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_DEBUG, f)
#define igt_info(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_INFO, f)
#define igt_warn(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_WARN, f)
#define igt_critical(f...) igt_log(IGT_LOG_DOMAIN, IGT_LOG_CRITICAL, f)

/* ---------------------------------------------------------------------- */
/* Processes, exit handlers, timeouts.                                    */

bool __igt_fork(void);
/*
 * igt_fork - run the block in @num_children child processes; @child is the
 * child's index. A failing assertion in a child fails the subtest at the
 * next igt_waitchildren().
 */
#define igt_fork(child, num_children) \
	for (int child = 0; child < (num_children); child++) \
		for (; __igt_fork(); exit(0))
void igt_waitchildren(void);
int __igt_waitchildren(void);
void igt_waitchildren_timeout(int seconds, const char *reason);

typedef void (*igt_exit_handler_t)(int sig);
void igt_install_exit_handler(igt_exit_handler_t fn);

void igt_set_timeout(unsigned int seconds, const char *op);
void igt_reset_timeout(void);

/* ---------------------------------------------------------------------- */
/* DRM devices (lib/drmtest.h, lib/igt_debugfs.h).                        */

#define DRIVER_INTEL	(1 << 0)
#define DRIVER_VC4	(1 << 1)
#define DRIVER_VGEM	(1 << 2)
#define DRIVER_AMDGPU	(1 << 3)
/* Every driver but vgem; a driver unknown to IGT matches it. */
#define DRIVER_ANY	~(DRIVER_VGEM)

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(arr) (sizeof(arr) / sizeof(arr[0]))
#endif

int drm_open_driver(int chipset);
int __drm_open_driver(int chipset);
int drm_open_driver_render(int chipset);
int __drm_open_driver_render(int chipset);

int igt_debugfs_dir(int device);
int igt_debugfs_open(int device, const char *filename, int mode);

/* ---------------------------------------------------------------------- */
/* ioctls (lib/ioctl_wrappers.h).                                         */

/* drmIoctl() unless a test interposes; retries EINTR and EAGAIN. */
extern int (*igt_ioctl)(int fd, unsigned long request, void *arg);

#define do_ioctl(fd, ioc, ioc_data) \
	do { \
		igt_assert_eq(igt_ioctl((fd), (ioc), (ioc_data)), 0); \
		errno = 0; \
	} while (0)

#define do_ioctl_err(fd, ioc, ioc_data, err) \
	do { \
		igt_assert_eq(igt_ioctl((fd), (ioc), (ioc_data)), -1); \
		igt_assert_eq(errno, err); \
		errno = 0; \
	} while (0)

#endif /* IGT_H */
