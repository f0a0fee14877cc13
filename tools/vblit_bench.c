// SPDX-License-Identifier: MIT
/*
 * vblit_bench: the measurements behind `make bench` (docs/performance.md).
 *
 * Runs in the guest once per userptr backing (pinned, unpinned and the
 * legacy and aligned comparators) and writes raw samples, never verdicts:
 * every figure the report gives is a ratio, computed on the host from the
 * samples of one boot (scripts/bench.sh). The method follows IGT's
 * gem_userptr_benchmark where it applies: 64 KiB objects, N = 0, 1, 10,
 * 100, 1000 and 10000 live objects, a mmap+munmap loop of 1000 mappings of
 * 1000 bytes.
 *
 *   p1   unrelated mmap+munmap with N live objects, against the same loop
 *        in a process with no object run just before and after
 *   p2   create + first use + close of a 64 KiB object: warm, and cold
 *        (the first object of a fresh mm)
 *   p3   two submitting threads while a third runs an mprotect storm on
 *        unrelated memory, or on memory overlapping other objects
 *   p4   device copy of a valid 64 MiB userptr vs a userspace memcpy, and
 *        the first use including acquisition
 *   p5   revalidation after a one-page invalidation of a 64 MiB object vs
 *        its full acquisition
 *   p6   objects packed in 2 MiB blocks: create / first use / close cost;
 *        invalidations of memory beside objects but in their 2 MiB blocks
 *   mem  kernel bytes per object and per page (slab and meminfo deltas)
 *
 * Each test runs in a child process with its own file descriptor, so that
 * every test starts from a fresh mm and a failure in one does not stop the
 * others. Output: CSV rows "pass,test,variant,n,metric,rep,value,unit" on
 * --csv (appended), progress and a short per-pass summary on stdout.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "vblit_drm.h"
#include "vblit_node.h"

#define PAGE		4096ul
#define KiB		1024ul
#define MiB		(1024ul * KiB)
#define BLOCK		(2 * MiB)	/* a device page-table level; THP size */
#define BO_SIZE		(64 * KiB)	/* gem_userptr_benchmark's BO_SIZE */
#define BIG_SIZE	(64 * MiB)
#define WAIT_NS		(30ll * 1000 * 1000 * 1000)
#define STATS_PATH	"/sys/kernel/debug/vblit/stats"
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static const unsigned int p1_levels[] = { 0, 1, 10, 100, 1000, 10000 };

static struct {
	const char *pass;	/* label of the backing, e.g. "pinned" */
	const char *only;	/* comma-separated tests, NULL: all */
	int reps;		/* repetitions of each measurement */
	int round;		/* a pass run again in the same boot */
	double scale;		/* multiplies iteration counts and windows */
	bool verbose;
} opt = { .pass = "unknown", .reps = 7, .scale = 1.0 };

static FILE *csv;
static int fd = -1;

/* ---- small helpers ---------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vblit_bench[%s]: ", opt.pass);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(NULL);
	_exit(2);
}

static unsigned long scaled(unsigned long n)
{
	unsigned long v = (unsigned long)(n * opt.scale + 0.5);

	return v ? v : 1;
}

static void emit(const char *test, const char *variant, long n,
		 const char *metric, int rep, double value, const char *unit)
{
	/* Repetitions of a later round of the same pass get their own numbers. */
	fprintf(csv, "%s,%s,%s,%ld,%s,%d,%.6g,%s\n", opt.pass, test,
		variant, n, metric, opt.round * 100 + rep, value, unit);
	fflush(csv);
	if (opt.verbose)
		printf("  %s/%s n=%ld %s[%d] = %.6g %s\n", test, variant, n,
		       metric, rep, value, unit);
}

static int64_t getparam(uint32_t param)
{
	uint64_t value;
	int err = vblit_node_getparam(fd, param, &value);

	return err ? err : (int64_t)value;
}

static int __userptr(void *ptr, uint64_t size, uint32_t *handle)
{
	struct drm_vblit_gem_userptr up = {
		.user_ptr = (uintptr_t)ptr,
		.user_size = size,
	};

	if (drmIoctl(fd, DRM_IOCTL_VBLIT_GEM_USERPTR, &up))
		return -errno;
	*handle = up.handle;
	return 0;
}

static uint32_t userptr(void *ptr, uint64_t size)
{
	uint32_t handle = 0;
	int err = __userptr(ptr, size, &handle);

	if (err)
		die("GEM_USERPTR(%p, %" PRIu64 "): %s", ptr, size, strerror(-err));
	return handle;
}

static void gem_close(uint32_t handle)
{
	struct drm_gem_close cl = { .handle = handle };

	if (drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl))
		die("GEM_CLOSE(%u): %s", handle, strerror(errno));
}

static int __fill(uint32_t handle, uint64_t offset, uint64_t len, uint32_t value)
{
	struct drm_vblit_exec ex = {
		.op = VBLIT_OP_FILL,
		.dst_handle = handle,
		.dst_offset = offset,
		.length = len,
		.value = value,
	};

	return drmIoctl(fd, DRM_IOCTL_VBLIT_EXEC, &ex) ? -errno : 0;
}

/*
 * -EBUSY means the kernel's acquisition kept colliding with invalidations
 * for its whole retry timeout. Not a benchmark failure by itself: retried a
 * few times and counted (status rows "ebusy_retries"), then fatal.
 */
static unsigned long ebusy_retries;

static void fill(uint32_t handle, uint64_t offset, uint64_t len, uint32_t value)
{
	int err, tries = 0;

	while ((err = __fill(handle, offset, len, value)) == -EBUSY && tries++ < 3)
		ebusy_retries++;
	if (err)
		die("EXEC FILL(%u): %s", handle, strerror(-err));
}

static void copy(uint32_t dst, uint32_t src, uint64_t len)
{
	struct drm_vblit_exec ex = {
		.op = VBLIT_OP_COPY,
		.dst_handle = dst,
		.src_handle = src,
		.length = len,
	};

	int tries = 0;

	while (drmIoctl(fd, DRM_IOCTL_VBLIT_EXEC, &ex)) {
		if (errno != EBUSY || tries++ >= 3)
			die("EXEC COPY(%u <- %u): %s", dst, src, strerror(errno));
		ebusy_retries++;
	}
}

static void wait_idle(uint32_t handle)
{
	struct drm_vblit_gem_wait w = { .handle = handle, .timeout_ns = WAIT_NS };

	if (drmIoctl(fd, DRM_IOCTL_VBLIT_GEM_WAIT, &w))
		die("GEM_WAIT(%u): %s", handle, strerror(errno));
}

/*
 * Anonymous memory aligned to @align (a power of two), @size rounded up to
 * it, so that no other test memory shares a 2 MiB block with it. @thp: 1
 * MADV_HUGEPAGE, -1 MADV_NOHUGEPAGE, 0 the system default.
 */
static void *map_anon(size_t size, size_t align, int thp, bool prefault)
{
	size_t len = (size + align - 1) & ~(align - 1);
	uint8_t *raw, *p;

	raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED)
		die("mmap(%zu): %s", len + align, strerror(errno));
	p = (uint8_t *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (p > raw)
		munmap(raw, p - raw);
	if (raw + len + align > p + len)
		munmap(p + len, raw + len + align - (p + len));
	if (thp)
		madvise(p, len, thp > 0 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	if (prefault)
		memset(p, 0x5a, len);
	return p;
}

static void unmap_anon(void *p, size_t size, size_t align)
{
	munmap(p, (size + align - 1) & ~(align - 1));
}

/* ---- counters of /sys/kernel/debug/vblit/stats ------------------------ */

#define MAX_STATS 64

struct stats {
	int n;
	char key[MAX_STATS][32];
	long long val[MAX_STATS];
};

static void stats_read(struct stats *s)
{
	char line[128];
	FILE *f = fopen(STATS_PATH, "r");

	s->n = 0;
	if (!f)
		return;
	while (s->n < MAX_STATS && fgets(line, sizeof(line), f)) {
		long long v;
		char k[32];

		if (sscanf(line, "%31[^:]: %lld", k, &v) != 2)
			continue;
		strcpy(s->key[s->n], k);
		s->val[s->n++] = v;
	}
	fclose(f);
}

static long long stats_get(const struct stats *s, const char *key)
{
	int i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->key[i], key))
			return s->val[i];
	return 0;
}

/* Counter deltas as rows "ctr:<key>", unit "count"; gauges are skipped. */
static void stats_emit_delta(const char *test, const char *variant, long n,
			     int rep, const struct stats *a,
			     const struct stats *b)
{
	static const char *const gauges[] = {
		"objects", "shmem_objects", "userptr_objects", "pinned_pages",
		"jobs_in_flight", "jobs_held", "userptr_live",
		"userptr_pinned_pages",
	};
	char metric[48];
	unsigned int g;
	int i;

	for (i = 0; i < b->n; i++) {
		long long d = b->val[i] - stats_get(a, b->key[i]);

		for (g = 0; g < ARRAY_SIZE(gauges); g++)
			if (!strcmp(b->key[i], gauges[g]))
				break;
		if (g < ARRAY_SIZE(gauges) || !d)
			continue;
		snprintf(metric, sizeof(metric), "ctr:%s", b->key[i]);
		emit(test, variant, n, metric, rep, (double)d, "count");
	}
}

/*
 * Wait until the engine is idle and, with @objects_gone, until deferred
 * frees (a job's last reference) have landed and no object is left.
 */
static void stats_wait(bool objects_gone)
{
	struct stats s;
	int i;

	for (i = 0; i < 200; i++) {
		stats_read(&s);
		if (!s.n)
			return;
		if (!stats_get(&s, "jobs_in_flight") &&
		    (!objects_gone || (!stats_get(&s, "objects") &&
				       !stats_get(&s, "pinned_pages"))))
			return;
		usleep(10000);
	}
}

static void stats_wait_idle(void)
{
	stats_wait(true);
}

/* ---- P1: unrelated mmap+munmap with N live objects -------------------- */

/* IGT's test_mmap_unmap(): 1000 mappings of 1000 bytes, then unmap them. */
static double mmap_unmap_ns(unsigned long batches)
{
	enum { TOT = 1000 };
	void *ptr[TOT];
	unsigned long b;
	uint64_t t0;
	int i;

	t0 = now_ns();
	for (b = 0; b < batches; b++) {
		for (i = 0; i < TOT; i++) {
			ptr[i] = mmap(NULL, 1000, PROT_READ | PROT_WRITE,
				      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (ptr[i] == MAP_FAILED)
				die("mmap: %s", strerror(errno));
		}
		for (i = 0; i < TOT; i++)
			munmap(ptr[i], 1000);
	}
	return (double)(now_ns() - t0) / (batches * TOT);
}

/*
 * The N = 0 side of P1: a process that has no userptr object and never had
 * one (no mmu notifier state at all), measuring on request through a pipe,
 * so that each measurement with N objects sits between two baselines taken
 * moments before and after it: the host's drift cancels in the ratio.
 */
struct baseline {
	pid_t pid;
	int req, resp;
};

static void baseline_start(struct baseline *b)
{
	int rq[2], rs[2];

	if (pipe(rq) || pipe(rs))
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	b->pid = fork();
	if (b->pid < 0)
		die("fork: %s", strerror(errno));
	if (!b->pid) {
		unsigned long batches;

		close(rq[1]);
		close(rs[0]);
		close(fd);
		while (read(rq[0], &batches, sizeof(batches)) == sizeof(batches)) {
			double v = mmap_unmap_ns(batches);

			if (write(rs[1], &v, sizeof(v)) != sizeof(v))
				break;
		}
		_exit(0);
	}
	close(rq[0]);
	close(rs[1]);
	b->req = rq[1];
	b->resp = rs[0];
}

static double baseline_measure(struct baseline *b, unsigned long batches)
{
	double v;

	if (write(b->req, &batches, sizeof(batches)) != sizeof(batches) ||
	    read(b->resp, &v, sizeof(v)) != sizeof(v))
		die("p1 baseline process died");
	return v;
}

static void baseline_stop(struct baseline *b)
{
	close(b->req);
	close(b->resp);
	waitpid(b->pid, NULL, 0);
}

static int test_p1(void)
{
	unsigned long max = p1_levels[ARRAY_SIZE(p1_levels) - 1];
	unsigned long batches = scaled(2);
	struct baseline base;
	uint32_t *handles;
	uint8_t *region;
	unsigned long created = 0, i;
	int rep;

	baseline_start(&base);
	handles = calloc(max, sizeof(*handles));
	region = map_anon(max * BO_SIZE, BLOCK, 0, false);
	mmap_unmap_ns(1); /* warm up the VMA caches and libc */
	baseline_measure(&base, 1);

	for (rep = 0; rep < opt.reps; rep++) {
		unsigned int l;

		for (l = 0; l < ARRAY_SIZE(p1_levels); l++) {
			uint64_t t0 = now_ns();
			double b0, own, b1;

			while (created < p1_levels[l]) {
				handles[created] = userptr(region + created * BO_SIZE,
							   BO_SIZE);
				created++;
			}
			if (p1_levels[l])
				emit("p1", "create", p1_levels[l], "ns_per_object", rep,
				     (double)(now_ns() - t0) / p1_levels[l], "ns");
			b0 = baseline_measure(&base, batches);
			own = mmap_unmap_ns(batches);
			b1 = baseline_measure(&base, batches);
			emit("p1", "mmap-unmap", p1_levels[l], "ns_per_op", rep, own, "ns");
			emit("p1", "baseline", p1_levels[l], "ns_per_op", rep,
			     (b0 + b1) / 2, "ns");
		}
		for (i = 0; i < created; i++)
			gem_close(handles[i]);
		created = 0;
	}
	baseline_stop(&base);
	free(handles);
	return 0;
}

/* ---- P2: create + first use + close ----------------------------------- */

/*
 * One cycle: create, first use (the EXEC ioctl acquires the pages and
 * publishes the job; the wait is the engine's run and its wake-up), close.
 */
struct cycle_ns {
	uint64_t create, exec, wait, close;
};

static void cycle(void *buf, struct cycle_ns *c)
{
	uint64_t t0, t1, t2, t3, t4;
	uint32_t h;

	t0 = now_ns();
	h = userptr(buf, BO_SIZE);
	t1 = now_ns();
	fill(h, 0, BO_SIZE, 0xc0ffee);
	t2 = now_ns();
	wait_idle(h);
	t3 = now_ns();
	gem_close(h);
	t4 = now_ns();
	c->create += t1 - t0;
	c->exec += t2 - t1;
	c->wait += t3 - t2;
	c->close += t4 - t3;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

static void cycle_emit(const char *variant, int rep, const struct cycle_ns *c,
		       unsigned long iters, uint64_t total)
{
	emit("p2", variant, 1, "ns_per_cycle", rep, (double)total / iters, "ns");
	emit("p2", variant, 1, "create_ns", rep, (double)c->create / iters, "ns");
	emit("p2", variant, 1, "exec_ns", rep, (double)c->exec / iters, "ns");
	emit("p2", variant, 1, "wait_ns", rep, (double)c->wait / iters, "ns");
	emit("p2", variant, 1, "close_ns", rep, (double)c->close / iters, "ns");
}

static int test_p2_cold_child(void)
{
	struct cycle_ns c1 = { 0 }, c2 = { 0 };
	void *buf = map_anon(BO_SIZE, BLOCK, 0, true);
	uint64_t t0, t1;

	/*
	 * A fresh mm: fork() gives the child none of the parent's notifiers.
	 * One ioctl first, timed apart, takes the child's copy-on-write
	 * faults on libc and the stack out of the cold cycle.
	 */
	t0 = now_ns();
	getparam(VBLIT_PARAM_API_VERSION);
	t1 = now_ns();
	cycle(buf, &c1);
	cycle(buf, &c2);
	printf("%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
	       " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", t1 - t0,
	       c1.create, c1.exec, c1.wait, c1.close,
	       c2.create, c2.exec, c2.wait, c2.close);
	return 0;
}

static int test_p2(void)
{
	unsigned long iters = scaled(150), i;
	void *anchor_buf = map_anon(BO_SIZE, BLOCK, 0, true);
	void *buf = map_anon(BO_SIZE, BLOCK, 0, true);
	uint64_t *cyc;
	uint32_t anchor;
	int rep, cold_samples = opt.reps + 4;

	/*
	 * Warm: another object of the mm stays alive and in use, so the mm's
	 * notifier machinery exists; each cycle adds and removes one object.
	 */
	anchor = userptr(anchor_buf, BO_SIZE);
	fill(anchor, 0, BO_SIZE, 1);
	wait_idle(anchor);
	for (i = 0; i < 20; i++) {
		struct cycle_ns c = { 0 };

		cycle(buf, &c);
	}
	cyc = calloc(iters, sizeof(*cyc));
	for (rep = 0; rep < opt.reps; rep++) {
		struct cycle_ns c = { 0 };
		uint64_t t0 = now_ns();

		for (i = 0; i < iters; i++) {
			uint64_t t = now_ns();

			cycle(buf, &c);
			cyc[i] = now_ns() - t;
		}
		cycle_emit("warm", rep, &c, iters, now_ns() - t0);
		/*
		 * Under TCG on a shared host a few cycles take a scheduler tick
		 * or more: the median cycle is the robust figure, the mean
		 * (ns_per_cycle) is kept beside it.
		 */
		emit("p2", "warm", 1, "median_ns_per_cycle", rep, median_u64(cyc, iters), "ns");
	}
	free(cyc);
	gem_close(anchor);

	/* Cold: the first object of a fresh mm (a forked child), then a second. */
	for (rep = 0; rep < cold_samples; rep++) {
		unsigned long long v[9];
		struct cycle_ns c;
		int pfd[2], status;
		FILE *in;
		pid_t pid;

		if (pipe(pfd))
			die("pipe: %s", strerror(errno));
		fflush(NULL);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			close(pfd[0]);
			dup2(pfd[1], STDOUT_FILENO);
			fflush(NULL);
			_exit(test_p2_cold_child());
		}
		close(pfd[1]);
		in = fdopen(pfd[0], "r");
		if (!in || fscanf(in, "%llu %llu %llu %llu %llu %llu %llu %llu %llu",
				  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
				  &v[7], &v[8]) != 9)
			die("p2 cold child gave no result");
		fclose(in);
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			die("p2 cold child failed");
		emit("p2", "cold", 1, "first_ioctl_ns", rep, v[0], "ns");
		c = (struct cycle_ns){ v[1], v[2], v[3], v[4] };
		cycle_emit("cold", rep, &c, 1, v[1] + v[2] + v[3] + v[4]);
		c = (struct cycle_ns){ v[5], v[6], v[7], v[8] };
		cycle_emit("cold-second", rep, &c, 1, v[5] + v[6] + v[7] + v[8]);
	}
	return 0;
}

/* ---- P3: submitters under an mprotect storm --------------------------- */

#define P3_OTHER_OBJECTS 16

struct p3_shared {
	volatile int stop;
	bool acquire;		/* each job on a freshly created object */
	uint8_t *storm;		/* NULL: no storm */
	size_t storm_len;
	unsigned long storm_ops;
};

struct p3_submitter {
	pthread_t thread;
	struct p3_shared *sh;
	uint8_t *buf;
	uint32_t handle;	/* steady mode's object */
	unsigned long jobs;
};

static void *p3_submit(void *arg)
{
	struct p3_submitter *s = arg;

	while (!s->sh->stop) {
		if (s->sh->acquire) {
			uint32_t h = userptr(s->buf, BO_SIZE);

			fill(h, 0, BO_SIZE, (uint32_t)s->jobs);
			wait_idle(h);
			gem_close(h);
		} else {
			fill(s->handle, 0, BO_SIZE, (uint32_t)s->jobs);
			wait_idle(s->handle);
		}
		s->jobs++;
	}
	return NULL;
}

static void *p3_storm(void *arg)
{
	struct p3_shared *sh = arg;

	while (!sh->stop) {
		if (mprotect(sh->storm, sh->storm_len, PROT_READ) ||
		    mprotect(sh->storm, sh->storm_len, PROT_READ | PROT_WRITE))
			die("mprotect: %s", strerror(errno));
		sh->storm_ops++;
	}
	return NULL;
}

static int test_p3(void)
{
	static const char *const storms[] = { "none", "unrelated", "overlap" };
	unsigned long window_us = scaled(400) * 1000;
	uint8_t *unrelated, *others;
	uint32_t other[P3_OTHER_OBJECTS];
	struct p3_submitter sub[2];
	int rep, mode, st, i;

	for (i = 0; i < 2; i++) {
		sub[i].buf = map_anon(BO_SIZE, BLOCK, 0, true);
		sub[i].handle = userptr(sub[i].buf, BO_SIZE);
		fill(sub[i].handle, 0, BO_SIZE, 0);
		wait_idle(sub[i].handle);
	}
	/* The storms' memory: 1 MiB, in 2 MiB blocks of its own. */
	unrelated = map_anon(MiB, BLOCK, 0, true);
	others = map_anon(MiB, BLOCK, 0, true);
	for (i = 0; i < P3_OTHER_OBJECTS; i++) {
		other[i] = userptr(others + i * BO_SIZE, BO_SIZE);
		fill(other[i], 0, BO_SIZE, 0);
		wait_idle(other[i]);
	}

	/* Interleave the configurations within each repetition against drift. */
	for (rep = 0; rep < opt.reps; rep++) {
		for (mode = 0; mode < 2; mode++) {
			for (st = 0; st < 3; st++) {
				struct p3_shared sh = { .acquire = mode == 1 };
				char variant[32];
				pthread_t storm;
				struct stats a, b;
				uint64_t t0, t1;

				if (st == 1)
					sh.storm = unrelated;
				else if (st == 2)
					sh.storm = others;
				sh.storm_len = MiB;
				stats_read(&a);
				t0 = now_ns();
				for (i = 0; i < 2; i++) {
					sub[i].sh = &sh;
					sub[i].jobs = 0;
					if (pthread_create(&sub[i].thread, NULL,
							   p3_submit, &sub[i]))
						die("pthread_create");
				}
				if (sh.storm && pthread_create(&storm, NULL, p3_storm, &sh))
					die("pthread_create");
				usleep(window_us);
				sh.stop = 1;
				for (i = 0; i < 2; i++)
					pthread_join(sub[i].thread, NULL);
				if (sh.storm)
					pthread_join(storm, NULL);
				t1 = now_ns();
				stats_read(&b);
				snprintf(variant, sizeof(variant), "%s-%s",
					 mode ? "acquire" : "steady", storms[st]);
				emit("p3", variant, 2, "jobs_per_s", rep,
				     (sub[0].jobs + sub[1].jobs) * 1e9 / (t1 - t0), "1/s");
				if (sh.storm)
					emit("p3", variant, 2, "storm_per_s", rep,
					     sh.storm_ops * 1e9 / (t1 - t0), "1/s");
				stats_emit_delta("p3", variant, 2, rep, &a, &b);
			}
		}
	}
	for (i = 0; i < P3_OTHER_OBJECTS; i++)
		gem_close(other[i]);
	for (i = 0; i < 2; i++)
		gem_close(sub[i].handle);
	return 0;
}

/* ---- P4: device copy vs memcpy ---------------------------------------- */

/*
 * The kernel's memmove() without ERMS/FSRM (QEMU's default CPU model has
 * neither) copies a page with "rep movsq", a string instruction that TCG
 * emulates one iteration at a time: the same copy from userspace shows how
 * much of the device copy's cost is that emulation.
 */
static void copy_rep_movsq(void *dst, const void *src, size_t len)
{
	size_t n = len / 8;

	asm volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

/*
 * A copy 8 bytes an instruction, as the kernel's memmove() does without
 * SIMD: tells how much of the device copy's gap to memcpy() is the
 * instruction set rather than the engine (TCG's cost follows instructions).
 */
static void __attribute__((noinline, optimize("no-tree-vectorize")))
copy_u64(uint64_t *dst, const uint64_t *src, size_t len)
{
	size_t i;

	for (i = 0; i < len / 8; i++)
		dst[i] = src[i];
}

static int test_p4(void)
{
	uint8_t *a = map_anon(BIG_SIZE, BLOCK, 0, true);
	uint8_t *b = map_anon(BIG_SIZE, BLOCK, 0, true);
	size_t i;
	int rep;

	for (i = 0; i < BIG_SIZE; i += PAGE)
		a[i] = (uint8_t)(i >> 12);
	memcpy(b, a, BIG_SIZE); /* warm-up */

	for (rep = 0; rep < opt.reps; rep++) {
		uint32_t ua, ub;
		uint64_t t0, t1;

		t0 = now_ns();
		memcpy(b, a, BIG_SIZE);
		t1 = now_ns();
		emit("p4", "memcpy", 64, "ns", rep, t1 - t0, "ns");
		if (rep < 2) {	/* diagnostics, see copy_rep_movsq() */
			t0 = now_ns();
			copy_u64((uint64_t *)b, (const uint64_t *)a, BIG_SIZE);
			t1 = now_ns();
			emit("p4", "copy-u64", 64, "ns", rep, t1 - t0, "ns");
			t0 = now_ns();
			for (i = 0; i < BIG_SIZE; i += PAGE)
				copy_rep_movsq(b + i, a + i, PAGE);
			t1 = now_ns();
			emit("p4", "copy-rep-movsq", 64, "ns", rep, t1 - t0, "ns");
		}
		memset(b, 0, BIG_SIZE);

		ua = userptr(a, BIG_SIZE);
		ub = userptr(b, BIG_SIZE);
		t0 = now_ns();
		copy(ub, ua, BIG_SIZE);
		wait_idle(ub);
		t1 = now_ns();
		emit("p4", "first-use", 64, "ns", rep, t1 - t0, "ns");
		if (memcmp(a, b, BIG_SIZE))
			die("p4: the device copy differs from its source");

		t0 = now_ns();
		copy(ub, ua, BIG_SIZE);
		wait_idle(ub);
		t1 = now_ns();
		emit("p4", "device-copy", 64, "ns", rep, t1 - t0, "ns");
		gem_close(ua);
		gem_close(ub);
	}
	unmap_anon(a, BIG_SIZE, BLOCK);
	unmap_anon(b, BIG_SIZE, BLOCK);
	return 0;
}

/* ---- P5: one-page invalidation of a 64 MiB object --------------------- */

/*
 * A 4-byte job: the EXEC ioctl acquires or revalidates the pages before it
 * returns, so its duration is the acquisition's; the engine's run and the
 * wake-up from the wait, which TCG makes noisy, stay outside.
 */
static double timed_touch(uint32_t h)
{
	uint64_t t0 = now_ns(), t1;

	fill(h, 0, 4, 0x1234);
	t1 = now_ns();
	wait_idle(h);
	return t1 - t0;
}

/*
 * Per repetition: a fresh object, its full acquisition, then P5_SAMPLES
 * revalidations each after MADV_DONTNEED of a different single page. The
 * samples are kept apart (rep * 10 + k): delays on a shared host only ever
 * add, so the host-side median over many samples is the robust figure.
 */
#define P5_SAMPLES 4

static void p5_run(const char *variant, int thp)
{
	uint8_t *buf = map_anon(BIG_SIZE, BLOCK, thp, true);
	unsigned long npages = BIG_SIZE / PAGE;
	char reval[32];
	int rep, k;

	snprintf(reval, sizeof(reval), "%s-reval", variant);
	for (rep = 0; rep < opt.reps; rep++) {
		struct stats a, b;
		uint32_t h = userptr(buf, BIG_SIZE);

		stats_read(&a);
		emit("p5", variant, 64, "full_ns", rep * 10, timed_touch(h), "ns");
		stats_read(&b);
		stats_emit_delta("p5", variant, 64, rep * 10, &a, &b);
		for (k = 0; k < P5_SAMPLES; k++) {
			/* Pages away from the first, 2 MiB apart: other THPs. */
			unsigned long page = npages / 4 + (rep * P5_SAMPLES + k) * 515;

			emit("p5", variant, 64, "valid_ns", rep * 10 + k,
			     timed_touch(h), "ns");
			if (madvise(buf + (page % npages) * PAGE, PAGE, MADV_DONTNEED))
				die("madvise: %s", strerror(errno));
			stats_read(&a);
			emit("p5", variant, 64, "reval_ns", rep * 10 + k,
			     timed_touch(h), "ns");
			stats_read(&b);
			stats_emit_delta("p5", reval, 64, rep * 10 + k, &a, &b);
		}
		gem_close(h);
	}
	unmap_anon(buf, BIG_SIZE, BLOCK);
}

static int test_p5(void)
{
	p5_run("4k", -1);
	/*
	 * Zapping one page of a THP splits it: a second invalidation nested
	 * in the zap's, on the same task (the legacy comparator had to learn
	 * to let it through its own write lock).
	 */
	p5_run("thp", 1);
	return 0;
}

/* ---- P6: aligned vs per-object intervals ------------------------------ */

#define P6_BLOCKS	16
#define P6_STORM_BLOCKS	8

static int test_p6(void)
{
	unsigned long per_block = BLOCK / BO_SIZE;	/* 32 */
	unsigned long n = P6_BLOCKS * per_block, i;
	unsigned long toggles = scaled(200);
	uint8_t *region = map_anon(P6_BLOCKS * BLOCK, BLOCK, -1, true);
	uint8_t *sparse = map_anon(P6_STORM_BLOCKS * BLOCK, BLOCK, -1, true);
	uint8_t *sparse2 = map_anon(P6_STORM_BLOCKS * BLOCK, BLOCK, -1, true);
	uint32_t *h = calloc(n, sizeof(*h));
	int rep;

	/* (a) Objects packed 32 to a 2 MiB block: the fault-path costs. */
	for (rep = 0; rep < opt.reps; rep++) {
		uint64_t t0, t1, t2, t3, t4;

		/* First use: the EXEC ioctls, which acquire; the waits apart. */
		t0 = now_ns();
		for (i = 0; i < n; i++)
			h[i] = userptr(region + i * BO_SIZE, BO_SIZE);
		t1 = now_ns();
		for (i = 0; i < n; i++)
			fill(h[i], 0, 4, i);
		t2 = now_ns();
		for (i = 0; i < n; i++)
			wait_idle(h[i]);
		t3 = now_ns();
		for (i = 0; i < n; i++)
			gem_close(h[i]);
		t4 = now_ns();
		emit("p6", "packed", n, "create_ns", rep, (double)(t1 - t0) / n, "ns");
		emit("p6", "packed", n, "first_use_ns", rep, (double)(t2 - t1) / n, "ns");
		emit("p6", "packed", n, "close_ns", rep, (double)(t4 - t3) / n, "ns");
	}

	/*
	 * (b) One object at the start of each of 8 blocks; mprotect storms on
	 * the last 64 KiB of each block: memory that no object covers, but
	 * that an aligned interval does. Two kinds of storm memory: "beside",
	 * a shared mapping of its own (its VMA is changed whole), and
	 * "beside-split", part of the objects' private mapping (each mprotect
	 * splits and re-merges the VMA, and when the 2 MiB around the split
	 * lies in that VMA the mm invalidates all of it, THP or not, whatever
	 * the backing: __split_huge_pmd() notifies before it looks).
	 */
	for (i = 0; i < P6_STORM_BLOCKS; i++) {
		void *p = mmap(sparse + (i + 1) * BLOCK - BO_SIZE, BO_SIZE,
			       PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		if (p == MAP_FAILED)
			die("mmap(MAP_FIXED): %s", strerror(errno));
		memset(p, 0x5a, BO_SIZE);
	}
	for (rep = 0; rep < opt.reps; rep++) {
		static const char *const kinds[] = { "beside", "beside-split" };
		struct stats a, b;
		uint64_t t0, t1, ops = toggles * P6_STORM_BLOCKS * 2;
		unsigned long t;
		char variant[32];
		int kind, k;

		for (kind = 0; kind < 2; kind++) {
			for (k = 0; k < 2; k++) {	/* with objects, then none */
				uint8_t *base = kind ? sparse2 : sparse;

				if (k == 0) {
					for (i = 0; i < P6_STORM_BLOCKS; i++) {
						h[i] = userptr(base + i * BLOCK, BO_SIZE);
						fill(h[i], 0, 4, i);
						wait_idle(h[i]);
					}
				}
				stats_read(&a);
				t0 = now_ns();
				for (t = 0; t < toggles; t++) {
					for (i = 0; i < P6_STORM_BLOCKS; i++) {
						uint8_t *p = base + (i + 1) * BLOCK - BO_SIZE;

						mprotect(p, BO_SIZE, PROT_READ);
						mprotect(p, BO_SIZE, PROT_READ | PROT_WRITE);
					}
				}
				t1 = now_ns();
				stats_read(&b);
				snprintf(variant, sizeof(variant), "%s%s", kinds[kind],
					 k ? "-none" : "");
				emit("p6", variant, P6_STORM_BLOCKS, "ns_per_mprotect",
				     rep, (double)(t1 - t0) / ops, "ns");
				if (k)
					continue;
				emit("p6", variant, P6_STORM_BLOCKS, "missed_per_mprotect",
				     rep, (stats_get(&b, "inv_missed") -
					   stats_get(&a, "inv_missed")) / (double)ops, "1");
				emit("p6", variant, P6_STORM_BLOCKS, "hits_per_mprotect",
				     rep, (stats_get(&b, "invalidations") -
					   stats_get(&a, "invalidations")) / (double)ops, "1");
				stats_emit_delta("p6", variant, P6_STORM_BLOCKS, rep, &a, &b);
				for (i = 0; i < P6_STORM_BLOCKS; i++)
					gem_close(h[i]);
			}
		}
	}
	free(h);
	return 0;
}

/* ---- memory: kernel bytes per object and per page --------------------- */

#define MAX_CACHES 512

struct slab_snap {
	int n;
	char name[MAX_CACHES][40];
	long long bytes[MAX_CACHES];	/* active objects x object size */
	long long total;
	long long meminfo_slab, meminfo_vmalloc, meminfo_avail;	/* bytes */
};

static long long meminfo_kb(const char *key)
{
	char line[128];
	long long v = -1;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			sscanf(line + kl + 1, "%lld", &v);
			break;
		}
	fclose(f);
	return v;
}

static void slab_snap(struct slab_snap *s, bool objects_gone)
{
	static uint64_t last;
	char line[512];
	FILE *f;

	if (opt.verbose) {
		printf("  mem: %.2f s since the last snapshot\n",
		       last ? (now_ns() - last) / 1e9 : 0.0);
		last = now_ns();
	}

	/* Let RCU-deferred frees (fences, jobs) and the cleanup work land. */
	stats_wait(objects_gone);
	usleep(300000);
	s->n = 0;
	s->total = 0;
	f = fopen("/proc/slabinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		long long active, num, size;
		char name[40];

		if (line[0] == '#' || !strncmp(line, "slabinfo", 8))
			continue;
		if (sscanf(line, "%39s %lld %lld %lld", name, &active, &num, &size) != 4)
			continue;
		if (s->n < MAX_CACHES) {
			strcpy(s->name[s->n], name);
			s->bytes[s->n++] = active * size;
		}
		s->total += active * size;
	}
	if (f)
		fclose(f);
	s->meminfo_slab = meminfo_kb("Slab") * 1024;
	s->meminfo_vmalloc = meminfo_kb("VmallocUsed") * 1024;
	s->meminfo_avail = meminfo_kb("MemAvailable") * 1024;
}

static long long slab_cache_delta(const struct slab_snap *a,
				  const struct slab_snap *b, int i)
{
	int j;

	for (j = 0; j < a->n; j++)
		if (!strcmp(a->name[j], b->name[i]))
			return b->bytes[i] - a->bytes[j];
	return b->bytes[i];
}

static void mem_emit(const char *variant, long n, int rep, double per,
		     const struct slab_snap *a, const struct slab_snap *b,
		     const char *unit_name)
{
	char metric[64];
	int i;

	snprintf(metric, sizeof(metric), "slabinfo_bytes_per_%s", unit_name);
	emit("mem", variant, n, metric, rep, (b->total - a->total) / per, "B");
	snprintf(metric, sizeof(metric), "meminfo_slab_vmalloc_bytes_per_%s", unit_name);
	emit("mem", variant, n, metric, rep,
	     ((b->meminfo_slab - a->meminfo_slab) +
	      (b->meminfo_vmalloc - a->meminfo_vmalloc)) / per, "B");
	snprintf(metric, sizeof(metric), "memavailable_bytes_per_%s", unit_name);
	emit("mem", variant, n, metric, rep,
	     (a->meminfo_avail - b->meminfo_avail) / per, "B");
	if (rep)
		return;
	/* Where it went, for the report: caches that moved by >= 1/8 of N. */
	for (i = 0; i < b->n; i++) {
		long long d = slab_cache_delta(a, b, i);

		if (llabs(d) >= 4096) {
			snprintf(metric, sizeof(metric), "cache:%s", b->name[i]);
			emit("mem", variant, n, metric, rep, d / per, "B");
		}
	}
}

static int test_mem(void)
{
	unsigned long n = 2048, i;
	uint8_t *region = map_anon(n * BO_SIZE, BLOCK, 0, true);
	uint8_t *big = map_anon(BIG_SIZE, BLOCK, 0, true);
	uint32_t *h = calloc(n, sizeof(*h));
	struct slab_snap *s = calloc(4, sizeof(*s));
	int rep, reps = opt.reps < 2 ? opt.reps : 2;

	if (access("/proc/slabinfo", R_OK))
		die("/proc/slabinfo is not readable (run as root)");
	for (rep = 0; rep < reps; rep++) {
		/* N small objects: per object, then per page once acquired. */
		slab_snap(&s[0], true);
		for (i = 0; i < n; i++)
			h[i] = userptr(region + i * BO_SIZE, BO_SIZE);
		slab_snap(&s[1], false);
		for (i = 0; i < n; i++)
			fill(h[i], 0, 4, i);
		for (i = 0; i < n; i++)
			wait_idle(h[i]);
		slab_snap(&s[2], false);
		for (i = 0; i < n; i++)
			gem_close(h[i]);
		slab_snap(&s[3], true);
		mem_emit("objects-64k", n, rep, n, &s[0], &s[1], "object");
		mem_emit("acquire-64k", n, rep, n * (BO_SIZE / PAGE), &s[1], &s[2], "page");
		mem_emit("leak-64k", n, rep, n, &s[0], &s[3], "object");

		/* One 64 MiB object: per page, with a page array beyond kmalloc's caches. */
		slab_snap(&s[0], true);
		h[0] = userptr(big, BIG_SIZE);
		slab_snap(&s[1], false);
		fill(h[0], 0, 4, 0);
		wait_idle(h[0]);
		slab_snap(&s[2], false);
		gem_close(h[0]);
		slab_snap(&s[3], true);
		mem_emit("acquire-64m", 1, rep, BIG_SIZE / PAGE, &s[1], &s[2], "page");
		mem_emit("leak-64m", 1, rep, 1, &s[0], &s[3], "object");
	}
	free(s);
	free(h);
	return 0;
}

/* ---- driver ------------------------------------------------------------ */

static const struct {
	const char *name;
	int (*fn)(void);
	const char *what;
} tests[] = {
	{ "p1", test_p1, "unrelated mmap+munmap with N live objects" },
	{ "p2", test_p2, "create + first use + close, warm and cold" },
	{ "p3", test_p3, "two submitters under an mprotect storm" },
	{ "p4", test_p4, "device copy of 64 MiB vs memcpy" },
	{ "p5", test_p5, "revalidation after a one-page invalidation" },
	{ "p6", test_p6, "packed objects, invalidations beside objects" },
	{ "mem", test_mem, "kernel bytes per object and per page" },
};

static bool selected(const char *name)
{
	const char *p;
	size_t len = strlen(name);

	if (!opt.only)
		return true;
	for (p = opt.only; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, name, len) && (p[len] == ',' || !p[len]))
			return true;
	return false;
}

static void meta(const char *key, const char *fmt, ...)
{
	char value[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	fprintf(csv, "# %s=%s\n", key, value);
	printf("%s: %s\n", key, value);
}

static void file_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f) {
		if (!fgets(buf, len, f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

static void usage(FILE *out)
{
	unsigned int i;

	fprintf(out,
		"usage: vblit_bench [--pass NAME] [--csv FILE] [--only p1,p2,...]\n"
		"                   [--reps N] [--round N] [--scale X] [--verbose]\n"
		"tests:\n");
	for (i = 0; i < ARRAY_SIZE(tests); i++)
		fprintf(out, "  %-4s %s\n", tests[i].name, tests[i].what);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pass", required_argument, NULL, 'p' },
		{ "csv", required_argument, NULL, 'c' },
		{ "only", required_argument, NULL, 'o' },
		{ "reps", required_argument, NULL, 'r' },
		{ "round", required_argument, NULL, 'R' },
		{ "scale", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *csv_path = NULL;
	char buf[256];
	struct utsname u;
	unsigned int i;
	int c, failed = 0;
	int64_t backing;

	while ((c = getopt_long(argc, argv, "p:c:o:r:R:s:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 'p': opt.pass = optarg; break;
		case 'c': csv_path = optarg; break;
		case 'o': opt.only = optarg; break;
		case 'r': opt.reps = atoi(optarg); break;
		case 'R': opt.round = atoi(optarg); break;
		case 's': opt.scale = atof(optarg); break;
		case 'v': opt.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (opt.reps < 1 || opt.scale <= 0) {
		usage(stderr);
		return 2;
	}
	csv = csv_path ? fopen(csv_path, "a") : stdout;
	if (!csv) {
		fprintf(stderr, "vblit_bench: %s: %s\n", csv_path, strerror(errno));
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = vblit_node_open(NULL, NULL, 0);
	if (fd < 0) {
		fprintf(stderr, "vblit_bench: no vblit render node\n");
		return 1;
	}
	backing = getparam(VBLIT_PARAM_USERPTR_BACKING);
	uname(&u);
	meta("pass", "%s", opt.pass);
	meta("kernel", "%s", u.release);
	meta("backing_param", "%" PRId64, backing);
	meta("cpus", "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	meta("mem_total_kb", "%lld", meminfo_kb("MemTotal"));
	file_line("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf));
	meta("thp", "%s", buf);
	file_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		  buf, sizeof(buf));
	meta("clocksource", "%s", buf);
	meta("reps", "%d", opt.reps);
	meta("round", "%d", opt.round);
	meta("scale", "%g", opt.scale);
	close(fd);

	for (i = 0; i < ARRAY_SIZE(tests); i++) {
		uint64_t t0 = now_ns();
		int status;
		pid_t pid;

		if (!selected(tests[i].name))
			continue;
		printf("[%s] %s: %s ...\n", opt.pass, tests[i].name, tests[i].what);
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (!pid) {
			fd = vblit_node_open(NULL, NULL, 0);
			if (fd < 0)
				die("no vblit render node");
			status = tests[i].fn();
			if (ebusy_retries) {
				printf("[%s] %s: %lu EXEC retried after -EBUSY\n",
				       opt.pass, tests[i].name, ebusy_retries);
				emit(tests[i].name, "status", 0, "ebusy_retries", 0,
				     ebusy_retries, "count");
			}
			close(fd);
			fflush(NULL);
			_exit(status);
		}
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			failed++;
			printf("[%s] %s: FAILED (%s %d)\n", opt.pass, tests[i].name,
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
			emit(tests[i].name, "status", 0, "failed", 0, 1, "bool");
		}
		emit(tests[i].name, "status", 0, "seconds", 0,
		     (now_ns() - t0) / 1e9, "s");
		printf("[%s] %s: %.1f s\n", opt.pass, tests[i].name, (now_ns() - t0) / 1e9);
		stats_wait_idle();
	}
	return failed ? 1 : 0;
}
