// SPDX-License-Identifier: MIT
/*
 * vblit_fuzz: a seeded fuzzer for vblit's userptr objects against the mm.
 *
 * Several processes of several threads issue random valid and invalid
 * ioctls and random mm events (munmap/remap, mprotect, madvise DONTNEED,
 * FREE, PAGEOUT, COLD, move_pages, MADV_COLLAPSE, KSM, userfaultfd
 * write-protection, memfd truncation and hole punching, mremap, mlock,
 * fork, exit) against objects over private (anonymous) and shared (memfd)
 * memory. Each process keeps a model of its memory: after every successful
 * job the bytes the device wrote, and the memory around them, must be
 * exactly what the model says; after every failed ioctl the errno must be
 * the one the uapi documents for that request. The first violation prints
 * the thread's last steps and exits 1.
 *
 *   vblit_fuzz [--seed S] [--steps N | --seconds T] [--procs P]
 *              [--threads T] [--sharers N] [--verbose]
 *
 * --sharers N adds N threads per process that submit CHECKSUM jobs from
 * the live objects of the process's regions without taking the region
 * locks, so that several threads validate one object while the others
 * change its mappings. They check errnos, not data (the model cannot say
 * which state of a page a job racing an mm step saw); what they catch is
 * what concurrent validation can break in the kernel: leaks of pins and
 * objects, which the main process checks at the end through the driver's
 * counters and the kernel's FOLL_PIN balance (/proc/vmstat).
 *
 * Every thread's sequence of steps follows from (seed, process, generation,
 * thread): --seed S replays it (the interleaving between threads is the
 * scheduler's). Prints the seed first, and "fuzz: N steps, seed S, OK" and
 * the rate last.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xf86drm.h>

#include "vblit_drm.h"
#include "vblit_node.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define PAGE		4096ul
#define THP		(2ul << 20)
#define NREGIONS	8
#define MAXOBJ		4
#define NBOS		2
#define LOGLEN		48
#define LOGW		200
#define RLOGLEN		64
#define EXIT_PLANNED	42
#define MAXJOB		(16 * PAGE)	/* longest job: TCG is slow */
#define MAXSPAN		32		/* most pages an mm step touches */

/* ---------------------------------------------------------------------- */
/* Options and shared state                                               */

static struct {
	uint64_t seed;
	uint64_t steps;
	double seconds;
	unsigned int procs, threads, sharers;
	bool verbose;
} opt = { .procs = 2, .threads = 2 };

/* Shared between the main process and the workers (MAP_SHARED). */
struct shared {
	atomic_bool stop;
	atomic_ullong steps;
	atomic_ullong ebusy, refused, jobs, forks, exits;
	atomic_ullong shared_jobs, shared_refused;
};
static struct shared *sh;

static struct {
	uint32_t backing;
	uint64_t max_gem, max_userptr, max_hold_ms;
	int nodes;
	uint8_t *hole;	/* an address range no thread ever maps */
} dev;

static int fd = -1;

/* ---------------------------------------------------------------------- */
/* Random numbers                                                         */

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (*s * 0x2545f4914f6cdd1dull) >> 32;
}

static uint32_t below(uint64_t *s, uint32_t n)
{
	return n ? rnd(s) % n : 0;
}

/* ---------------------------------------------------------------------- */
/* The model                                                              */

enum kind { K_ANON, K_MEMFD, K_UFFD, K_THP };
static const char *const kind_name[] = { "anon", "memfd", "uffd", "thp" };

enum wp { WP_NO, WP_YES, WP_MAYBE };

struct uobj {
	bool live;
	uint32_t handle;
	uint8_t *addr;		/* where it was created */
	size_t first, n;	/* pages of the region it covers */
	uint32_t flags;
};

struct sbo {
	uint32_t handle;
	size_t size;
	uint8_t *map;
	uint8_t *shadow;
};

struct region {
	pthread_mutex_t lock;
	unsigned int id;
	enum kind kind;
	size_t npages;
	uint8_t *window;	/* two halves; the region lives in one */
	unsigned int half;
	bool mapped;		/* else a PROT_NONE reservation */
	bool locked;		/* mlock()ed */
	bool pending;		/* a held job may not have run yet */
	int mfd;
	size_t file_pages;	/* memfd: pages before EOF */
	uint8_t *prot;		/* per page: PROT_* */
	uint8_t *maybe;		/* per page: lazily freed, shadow or alt */
	uint8_t *wp;		/* per page: enum wp */
	uint8_t *shadow;	/* expected bytes */
	uint8_t *alt;		/* for maybe pages: the bytes if discarded */
	struct uobj obj[MAXOBJ];
	struct sbo bo[NBOS];
	uint64_t job_ids[8];
	unsigned int njob_ids;
};

static struct region regions[NREGIONS];
static int uffd = -1;

static uint8_t *region_addr(struct region *r)
{
	return r->window + r->half * r->npages * PAGE;
}

/* ---------------------------------------------------------------------- */
/* Step log and violations                                                */

struct tctx {
	unsigned int proc, gen, thread;
	uint64_t rng;
	uint64_t steps;
	char log[LOGLEN][LOGW];
	unsigned int logpos;
	/* The same lines per region ("rN ..."), kept longer for a violation. */
	char rlog[NREGIONS][RLOGLEN][LOGW];
	unsigned int rlogpos[NREGIONS];
	char *rline;		/* the current step's region line, or NULL */
	int focus;		/* 1 + the region a violation is about, or 0 */
};

static __thread struct tctx *self;

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;
	char *line = self->log[self->logpos++ % LOGLEN];

	va_start(ap, fmt);
	vsnprintf(line, LOGW, fmt, ap);
	va_end(ap);
	self->rline = NULL;
	if (line[0] == 'r' && isdigit((unsigned char)line[1])) {
		unsigned long id = strtoul(line + 1, NULL, 10);

		if (id < NREGIONS) {
			self->rline = self->rlog[id][self->rlogpos[id]++ % RLOGLEN];
			memcpy(self->rline, line, LOGW);
		}
	}
	if (opt.verbose)
		fprintf(stderr, "[p%u.%u t%u] %s\n", self->proc, self->gen,
			self->thread, line);
}

/* Append to the current step's line. */
static void logcat(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logcat(const char *fmt, ...)
{
	va_list ap;
	char *line = self->log[(self->logpos + LOGLEN - 1) % LOGLEN];
	size_t len = strlen(line);

	va_start(ap, fmt);
	vsnprintf(line + len, LOGW - len, fmt, ap);
	va_end(ap);
	if (self->rline)
		memcpy(self->rline, line, LOGW);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
violation(const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	atomic_store(&sh->stop, true);
	fprintf(stderr, "VIOLATION in process %u (generation %u) thread %u at its step %" PRIu64 " (seed %" PRIu64 ", %s backing): %s\n",
		self->proc, self->gen, self->thread, self->steps, opt.seed,
		dev.backing == VBLIT_USERPTR_BACKING_PINNED ? "pinned" : "unpinned", msg);
	fprintf(stderr, "last steps of the thread, oldest first:\n");
	for (unsigned int i = 0; i < LOGLEN; i++) {
		const char *line = self->log[(self->logpos + i) % LOGLEN];

		if (*line)
			fprintf(stderr, "  %s\n", line);
	}
	if (self->focus) {
		unsigned int id = self->focus - 1;

		fprintf(stderr, "last steps on region %u, oldest first:\n", id);
		for (unsigned int i = 0; i < RLOGLEN; i++) {
			const char *line = self->rlog[id][(self->rlogpos[id] + i) % RLOGLEN];

			if (*line)
				fprintf(stderr, "  %s\n", line);
		}
	}
	fflush(stderr);
	_exit(1);
}

#define check(cond, ...) do { if (!(cond)) violation(__VA_ARGS__); } while (0)

/* ---------------------------------------------------------------------- */
/* ioctls                                                                 */

static int xioctl(unsigned long req, void *arg)
{
	return vblit_node_ioctl(fd, req, arg);
}

static const char *errname(int err)
{
	switch (err) {
	case 0:
		return "0";
	case -EINVAL:
		return "-EINVAL";
	case -ENOENT:
		return "-ENOENT";
	case -EFAULT:
		return "-EFAULT";
	case -EACCES:
		return "-EACCES";
	case -EBUSY:
		return "-EBUSY";
	case -E2BIG:
		return "-E2BIG";
	case -ENODEV:
		return "-ENODEV";
	case -ETIME:
		return "-ETIME";
	case -ENOMEM:
		return "-ENOMEM";
	default:
		return "other";
	}
}

static uint64_t getparam(uint32_t param)
{
	uint64_t value;

	if (vblit_node_getparam(fd, param, &value)) {
		fprintf(stderr, "vblit_fuzz: GETPARAM %u failed\n", param);
		exit(2);
	}
	return value;
}

static int gem_close(uint32_t handle)
{
	struct drm_gem_close arg = { .handle = handle };

	return xioctl(DRM_IOCTL_GEM_CLOSE, &arg);
}

static int gem_wait(uint32_t handle, int64_t timeout_ns)
{
	struct drm_vblit_gem_wait arg = { .handle = handle, .timeout_ns = timeout_ns };

	return xioctl(DRM_IOCTL_VBLIT_GEM_WAIT, &arg);
}

static int userptr(void *ptr, uint64_t size, uint32_t flags, uint32_t *handle)
{
	struct drm_vblit_gem_userptr arg = {
		.user_ptr = (uintptr_t)ptr, .user_size = size, .flags = flags,
	};
	int err = xioctl(DRM_IOCTL_VBLIT_GEM_USERPTR, &arg);

	if (!err)
		*handle = arg.handle;
	return err;
}

static void must(int err, const char *what)
{
	check(!err, "%s failed: %s (%d)", what, errname(err), err);
}


/* ---------------------------------------------------------------------- */
/* Memory of a region                                                     */

static void fill_random(uint8_t *p, size_t len, uint64_t *rng)
{
	uint32_t v = rnd(rng);

	for (size_t i = 0; i < len; i += 4) {
		v = v * 1664525u + 1013904223u;
		memcpy(p + i, &v, len - i < 4 ? len - i : 4);
	}
}

static bool page_readable(struct region *r, size_t p)
{
	return r->mapped && (r->prot[p] & PROT_READ) &&
	       (r->kind != K_MEMFD || p < r->file_pages);
}

static bool page_writable(struct region *r, size_t p)
{
	return page_readable(r, p) && (r->prot[p] & PROT_WRITE);
}

/* Wait for every job of the region (held ones run within their hold). */
static void region_quiesce(struct region *r)
{
	if (!r->pending)
		return;
	for (unsigned int i = 0; i < MAXOBJ; i++)
		if (r->obj[i].live)
			must(gem_wait(r->obj[i].handle, 30ll * 1000000000), "GEM_WAIT");
	for (unsigned int i = 0; i < NBOS; i++)
		must(gem_wait(r->bo[i].handle, 30ll * 1000000000), "GEM_WAIT");
	r->pending = false;
}

static bool page_is(const uint8_t *a, const uint8_t *b)
{
	return !memcmp(a, b, PAGE);
}

static const uint8_t zero_page[PAGE];

/* The CPU's view of pages [first, first + n) must be the model's. */
static void region_verify(struct region *r, size_t first, size_t n, const char *when)
{
	uint8_t *base = region_addr(r);

	for (size_t p = first; p < first + n; p++) {
		const uint8_t *got = base + p * PAGE;

		if (!page_readable(r, p))
			continue;
		if (page_is(got, r->shadow + p * PAGE))
			continue;
		if (r->maybe[p] && page_is(got, r->alt + p * PAGE))
			continue;
		self->focus = 1 + r->id;
		for (size_t i = 0; i < PAGE; i++)
			if (got[i] != r->shadow[p * PAGE + i])
				violation("%s: region %u (%s) page %zu byte %#zx: memory %#04x, model %#04x%s",
					  when, r->id, kind_name[r->kind], p, i, got[i],
					  r->shadow[p * PAGE + i],
					  r->maybe[p] ? " (lazily freed page, not the discarded alternative either)" : "");
	}
}

/*
 * A lazily freed page may be discarded at any moment: before the device
 * reads it, settle it (read it, then write it back, which cancels the free).
 * The model already holds what the region's held jobs write: wait for them
 * first.
 */
static void region_settle(struct region *r, size_t first, size_t n)
{
	uint8_t *base = region_addr(r);

	region_quiesce(r);

	for (size_t p = first; p < first + n; p++) {
		volatile uint8_t *page = base + p * PAGE;

		if (!r->maybe[p] || !page_writable(r, p))
			continue;
		region_verify(r, p, 1, "settling a lazily freed page");
		memcpy(r->shadow + p * PAGE, (const void *)page, PAGE);
		page[0] = page[0];
		r->maybe[p] = 0;
		if (r->wp[p] != WP_NO)
			r->wp[p] = WP_NO;	/* the write was let through */
	}
}

static void region_set_prot(struct region *r, size_t first, size_t n, int prot)
{
	for (size_t p = first; p < first + n; p++)
		r->prot[p] = prot;
}

static void region_register_uffd(struct region *r)
{
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)region_addr(r), .len = r->npages * PAGE },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (r->kind != K_UFFD || uffd < 0)
		return;
	check(!ioctl(uffd, UFFDIO_REGISTER, &reg), "UFFDIO_REGISTER: %s", strerror(errno));
}

/* Fresh private memory (or the memfd again) at the region's address. */
static void region_map(struct region *r)
{
	uint8_t *addr = region_addr(r);
	size_t size = r->npages * PAGE;
	void *p;

	if (r->kind == K_MEMFD)
		p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, r->mfd, 0);
	else
		p = mmap(addr, size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	check(p == addr, "mmap(MAP_FIXED) of region %u: %s", r->id, strerror(errno));
	if (r->kind == K_THP)
		madvise(addr, size, MADV_HUGEPAGE);
	else if (r->kind != K_MEMFD)
		madvise(addr, size, MADV_NOHUGEPAGE);
	r->mapped = true;
	r->locked = false;
	region_set_prot(r, 0, r->npages, PROT_READ | PROT_WRITE);
	memset(r->maybe, 0, r->npages);
	memset(r->wp, WP_NO, r->npages);
	if (r->kind != K_MEMFD)
		memset(r->shadow, 0, size);
	region_register_uffd(r);
}

/* A PROT_NONE reservation in place of the region: objects get -EFAULT. */
static void region_unmap(struct region *r)
{
	uint8_t *addr = region_addr(r);
	void *p = mmap(addr, r->npages * PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);

	check(p == addr, "mmap(PROT_NONE) of region %u: %s", r->id, strerror(errno));
	r->mapped = false;
	r->locked = false;
}

static void region_init(struct region *r, unsigned int id, enum kind kind,
			size_t npages, uint64_t *rng)
{
	size_t size = npages * PAGE, span = 2 * size;
	uint8_t *res;

	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->lock, NULL);
	r->id = id;
	r->kind = kind;
	r->npages = npages;
	r->mfd = -1;
	/* A window of two halves (2 MiB aligned for THP), ours alone. */
	res = mmap(NULL, span + (kind == K_THP ? THP : 0), PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		perror("vblit_fuzz: reserve");
		exit(2);
	}
	r->window = kind == K_THP ?
		(uint8_t *)(((uintptr_t)res + THP - 1) & ~(THP - 1)) : res;
	r->prot = calloc(npages, 1);
	r->maybe = calloc(npages, 1);
	r->wp = calloc(npages, 1);
	r->shadow = calloc(npages, PAGE);
	r->alt = calloc(npages, PAGE);
	if (!r->prot || !r->maybe || !r->wp || !r->shadow || !r->alt) {
		fprintf(stderr, "vblit_fuzz: out of memory\n");
		exit(2);
	}
	if (kind == K_MEMFD) {
		r->mfd = memfd_create("vblit-fuzz", MFD_CLOEXEC);
		if (r->mfd < 0 || ftruncate(r->mfd, size)) {
			perror("vblit_fuzz: memfd");
			exit(2);
		}
		r->file_pages = npages;
	}
	region_map(r);
	fill_random(r->shadow, size, rng);
	memcpy(region_addr(r), r->shadow, size);

	for (unsigned int i = 0; i < NBOS; i++) {
		struct drm_vblit_gem_create c = { .size = (1 + below(rng, 8)) * PAGE };
		struct drm_vblit_gem_mmap_offset mo = {};
		struct sbo *b = &r->bo[i];

		if (xioctl(DRM_IOCTL_VBLIT_GEM_CREATE, &c)) {
			fprintf(stderr, "vblit_fuzz: GEM_CREATE failed\n");
			exit(2);
		}
		mo.handle = c.handle;
		if (xioctl(DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET, &mo)) {
			fprintf(stderr, "vblit_fuzz: MMAP_OFFSET failed\n");
			exit(2);
		}
		b->handle = c.handle;
		b->size = c.size;
		b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, mo.offset);
		b->shadow = calloc(1, b->size);
		if (b->map == MAP_FAILED || !b->shadow) {
			fprintf(stderr, "vblit_fuzz: bo mapping failed\n");
			exit(2);
		}
		fill_random(b->shadow, b->size, rng);
		memcpy(b->map, b->shadow, b->size);
	}
}

/* ---------------------------------------------------------------------- */
/* Jobs: prediction and model                                             */

/* A job operand: a userptr object of the region, or one of its bos. */
struct operand {
	bool is_obj;
	unsigned int idx;
	uint32_t handle;
	uint64_t size;
};

static struct operand pick_operand(struct region *r, uint64_t *rng, bool any_obj)
{
	struct operand o = {};
	unsigned int live[MAXOBJ], n = 0;

	for (unsigned int i = 0; i < MAXOBJ; i++)
		if (r->obj[i].live)
			live[n++] = i;
	if (any_obj && n && below(rng, 3)) {
		o.is_obj = true;
		o.idx = live[below(rng, n)];
		o.handle = r->obj[o.idx].handle;
		o.size = r->obj[o.idx].n * PAGE;
	} else {
		o.idx = below(rng, NBOS);
		o.handle = r->bo[o.idx].handle;
		o.size = r->bo[o.idx].size;
	}
	return o;
}

/* What acquiring object @u (for write or not) gives, from the model. */
static int predict_object(struct region *r, struct uobj *u, bool write, bool *maybe_efault)
{
	bool writable = !(u->flags & VBLIT_USERPTR_READ_ONLY);

	if (write && !writable)
		return -EACCES;
	if (!r->mapped || u->addr != region_addr(r))
		return -EFAULT;
	for (size_t p = u->first; p < u->first + u->n; p++) {
		if (r->kind == K_MEMFD && p >= r->file_pages)
			return -EFAULT;
		if (!(r->prot[p] & PROT_READ))
			return -EFAULT;
		if (writable && !(r->prot[p] & PROT_WRITE))
			return -EFAULT;
	}
	/*
	 * userfaultfd write-protection: the unpinned backing faults the pages
	 * HMM found protected through fixup_user_fault(), which waits for the
	 * monitor; a pinning acquisition waits for it on 6.12, while 6.1's
	 * FOLL_LONGTERM fallback faults without retry (-EFAULT).
	 */
	if (writable && dev.backing != VBLIT_USERPTR_BACKING_UNPINNED) {
		for (size_t p = u->first; p < u->first + u->n; p++)
			if (r->wp[p] != WP_NO)
				*maybe_efault = true;
	}
	return 0;
}

/* Bytes of an operand in the model: a pointer into a shadow. */
static uint8_t *operand_shadow(struct region *r, struct operand *o, bool alt)
{
	if (!o->is_obj)
		return r->bo[o->idx].shadow;
	return (alt ? r->alt : r->shadow) + r->obj[o->idx].first * PAGE;
}

static uint64_t fnv1a(const uint8_t *p, uint64_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (uint64_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/*
 * Apply a successful job to the model. A source never holds lazily freed
 * pages (they are settled first); a destination's lazily freed pages get
 * the bytes in both alternatives, and a fully written page is settled.
 */
static void model_apply(struct region *r, struct drm_vblit_exec *e,
			struct operand *dst, struct operand *src)
{
	static __thread uint8_t tmp[64 * PAGE];
	uint64_t len = e->op == VBLIT_OP_CHECKSUM ? 8 : e->length;
	uint8_t *bytes = tmp;

	if (e->op == VBLIT_OP_FILL) {
		for (uint64_t i = 0; i < len; i++)
			bytes[i] = e->value >> (8 * (i % 4));
	} else if (e->op == VBLIT_OP_COPY) {
		memcpy(bytes, operand_shadow(r, src, false) + e->src_offset, len);
	} else {
		uint64_t h = fnv1a(operand_shadow(r, src, false) + e->src_offset, e->length);

		memcpy(bytes, &h, 8);
	}
	memcpy(operand_shadow(r, dst, false) + e->dst_offset, bytes, len);
	if (dst->is_obj) {
		struct uobj *u = &r->obj[dst->idx];
		uint64_t start = u->first * PAGE + e->dst_offset;

		memcpy(r->alt + start, bytes, len);
		for (uint64_t p = start / PAGE; p * PAGE < start + len; p++)
			if (r->maybe[p] && start <= p * PAGE && start + len >= (p + 1) * PAGE)
				r->maybe[p] = 0;
	}
}

/* After a waited job: the objects' memory, and the destination, are the model. */
static void verify_after_job(struct region *r, struct operand *dst, struct operand *src)
{
	for (int w = 0; w < 2; w++) {
		struct operand *o = w ? src : dst;

		if (o && o->is_obj)
			region_verify(r, r->obj[o->idx].first, r->obj[o->idx].n,
				      "memory after a job");
	}
	if (!dst->is_obj) {
		struct sbo *b = &r->bo[dst->idx];

		for (size_t i = 0; i < b->size; i++)
			if (b->map[i] != b->shadow[i])
				violation("shmem object %u of region %u byte %#zx after a job: %#04x, model %#04x",
					  b->handle, r->id, i, b->map[i], b->shadow[i]);
	}
}

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Region bytes an object operand covers, for aliasing checks. */
static bool operands_alias(struct region *r, struct drm_vblit_exec *e,
			   struct operand *dst, struct operand *src)
{
	uint64_t d, s;

	if (!dst->is_obj || !src->is_obj)
		return false;
	d = r->obj[dst->idx].first * PAGE + e->dst_offset;
	s = r->obj[src->idx].first * PAGE + e->src_offset;
	return d < s + e->length && s < d + (e->op == VBLIT_OP_CHECKSUM ? 8 : e->length);
}

/* A random job inside its operands' bounds. */
static void job_build(struct region *r, uint64_t *rng, struct drm_vblit_exec *e,
		      struct operand *dst, struct operand *src)
{
	unsigned int op = below(rng, 3);
	uint64_t len;

	memset(e, 0, sizeof(*e));
	e->op = op;
	*dst = pick_operand(r, rng, true);
	e->dst_handle = dst->handle;
	if (op == VBLIT_OP_FILL) {
		len = 1 + below(rng, min64(dst->size, MAXJOB));
		e->dst_offset = below(rng, dst->size - len + 1);
		e->length = len;
		e->value = rnd(rng);
		return;
	}
	*src = pick_operand(r, rng, true);
	e->src_handle = src->handle;
	if (op == VBLIT_OP_CHECKSUM) {
		e->length = 1 + below(rng, min64(src->size, MAXJOB));
		e->src_offset = below(rng, src->size - e->length + 1);
		e->dst_offset = below(rng, dst->size - 8 + 1);
		goto alias;
	}
	len = 1 + below(rng, min64(min64(dst->size, src->size), MAXJOB));
	e->length = len;
	e->dst_offset = below(rng, dst->size - len + 1);
	e->src_offset = below(rng, src->size - len + 1);
	if (dst->handle == src->handle &&
	    e->src_offset < e->dst_offset + len && e->dst_offset < e->src_offset + len) {
		/* Same object: make the ranges disjoint, or use another bo. */
		if (2 * len <= dst->size) {
			e->dst_offset = 0;
			e->src_offset = dst->size - len;
		} else {
			*src = (struct operand){ .idx = dst->is_obj ? 0 : !dst->idx };
			src->handle = r->bo[src->idx].handle;
			src->size = r->bo[src->idx].size;
			e->src_handle = src->handle;
			e->length = len = 1 + below(rng, min64(min64(dst->size, src->size), MAXJOB));
			e->dst_offset = below(rng, dst->size - len + 1);
			e->src_offset = below(rng, src->size - len + 1);
		}
	}
alias:
	/*
	 * Two objects over overlapping bytes of memory: what a copy between
	 * them reads is not defined by the uapi (a DMA engine's overlap),
	 * so read from a bo instead.
	 */
	if (operands_alias(r, e, dst, src)) {
		*src = (struct operand){ .idx = 0 };
		src->handle = r->bo[0].handle;
		src->size = r->bo[0].size;
		e->src_handle = src->handle;
		e->length = min64(e->length, src->size);
		if (e->op == VBLIT_OP_COPY)
			e->length = min64(e->length, dst->size - e->dst_offset);
		e->src_offset = below(rng, src->size - e->length + 1);
	}
}

/* The documented result of a well-formed job, from the model. */
static int job_predict(struct region *r, struct drm_vblit_exec *e, struct operand *dst,
		       struct operand *src, bool *maybe_efault)
{
	int err;

	*maybe_efault = false;
	if (dst->is_obj) {
		err = predict_object(r, &r->obj[dst->idx], true, maybe_efault);
		if (err)
			return err;
	}
	if (e->op != VBLIT_OP_FILL && src->is_obj && !(dst->is_obj && src->idx == dst->idx)) {
		err = predict_object(r, &r->obj[src->idx], false, maybe_efault);
		if (err)
			return err;
	}
	return 0;
}

static void step_job(struct region *r, uint64_t *rng)
{
	struct operand dst = {}, src = {};
	struct drm_vblit_exec e;
	bool maybe_efault, held = false;
	int expect, err;

	region_quiesce(r);
	job_build(r, rng, &e, &dst, &src);
	/* The device must not read a page that may still be discarded. */
	if (e.op != VBLIT_OP_FILL && src.is_obj)
		region_settle(r, r->obj[src.idx].first, r->obj[src.idx].n);
	expect = job_predict(r, &e, &dst, &src, &maybe_efault);
	if (!below(rng, 4))
		e.flags |= VBLIT_EXEC_FENCE_OUT;
	if (!below(rng, 6) && dev.max_hold_ms) {
		e.flags |= VBLIT_EXEC_HOLD;
		e.hold_ms = 1 + below(rng, 20);
		held = true;
	}
	logf_("r%u job op %u dst %s%u+%#" PRIx64 " src %s%u+%#" PRIx64 " len %#" PRIx64 " flags %#x expect %s%s",
	      r->id, e.op, dst.is_obj ? "obj" : "bo", dst.handle, (uint64_t)e.dst_offset,
	      src.is_obj ? "obj" : "bo", src.handle, (uint64_t)e.src_offset,
	      (uint64_t)e.length, e.flags, errname(expect), maybe_efault ? "/-EFAULT" : "");

	err = xioctl(DRM_IOCTL_VBLIT_EXEC, &e);
	logcat(" -> %s", errname(err));
	if (err == -EBUSY && expect == 0 && (dst.is_obj || src.is_obj)) {
		atomic_fetch_add(&sh->ebusy, 1);
		return;
	}
	if (err == -EFAULT && maybe_efault)
		return;
	check(err == expect, "EXEC gave %s (%d), the uapi says %s", errname(err), err,
	      errname(expect));
	if (err) {
		atomic_fetch_add(&sh->refused, 1);
		return;
	}
	atomic_fetch_add(&sh->jobs, 1);
	check(e.job_id != 0, "EXEC returned job id 0");
	if (e.flags & VBLIT_EXEC_FENCE_OUT) {
		check(e.fence_fd >= 0, "FENCE_OUT without a fence fd");
		close(e.fence_fd);
	} else {
		check(e.fence_fd == -1, "fence_fd %d without FENCE_OUT", e.fence_fd);
	}
	/*
	 * A writable object is acquired for write whatever the job does: its
	 * pages are no longer write-protected (the monitor let the
	 * acquisition's write faults through).
	 */
	for (int w = 0; w < 2; w++) {
		struct operand *o = w ? &src : &dst;

		if (!o->is_obj || (w && e.op == VBLIT_OP_FILL) ||
		    (r->obj[o->idx].flags & VBLIT_USERPTR_READ_ONLY))
			continue;
		memset(r->wp + r->obj[o->idx].first, WP_NO, r->obj[o->idx].n);
	}
	model_apply(r, &e, &dst, e.op == VBLIT_OP_FILL ? NULL : &src);
	if (held) {
		r->pending = true;
		if (r->njob_ids < 8)
			r->job_ids[r->njob_ids++] = e.job_id;
		return;
	}
	must(gem_wait(dst.handle, 30ll * 1000000000), "GEM_WAIT after a job");
	verify_after_job(r, &dst, e.op == VBLIT_OP_FILL ? NULL : &src);
}

/* ---------------------------------------------------------------------- */
/* Object steps                                                           */

static void step_create(struct region *r, uint64_t *rng)
{
	static const uint32_t flagsets[] = {
		0, 0, VBLIT_USERPTR_READ_ONLY, VBLIT_USERPTR_PROBE,
		VBLIT_USERPTR_READ_ONLY | VBLIT_USERPTR_PROBE,
	};
	unsigned int slot = below(rng, MAXOBJ);
	struct uobj *u = &r->obj[slot];
	int err;

	if (u->live) {
		region_quiesce(r);
		logf_("r%u close obj %u", r->id, u->handle);
		must(gem_close(u->handle), "GEM_CLOSE");
		u->live = false;
		return;
	}
	u->first = below(rng, r->npages);
	/*
	 * With sharers, objects of the huge-page region may span all of it
	 * (32 chunks), so that mm steps invalidate parts of objects that
	 * several threads validate at once.
	 */
	u->n = 1 + below(rng, min64(r->npages - u->first,
				    opt.sharers && r->kind == K_THP ? r->npages : MAXSPAN));
	u->flags = flagsets[below(rng, 8) < 5 ? 0 : below(rng, 5)];
	u->addr = region_addr(r);
	logf_("r%u create userptr pages %zu+%zu flags %#x", r->id, u->first, u->n, u->flags);
	err = userptr(u->addr + u->first * PAGE, u->n * PAGE, u->flags, &u->handle);
	logcat(" -> %s handle %u", errname(err), u->handle);
	/* PROBE accepts PROT_NONE reservations: they are ordinary mappings. */
	check(!err, "GEM_USERPTR over a mapped range gave %s", errname(err));
	u->live = true;
}

/* Invalid requests, one bad member each, and the errno the uapi names. */
static void step_invalid(struct region *r, uint64_t *rng)
{
	struct drm_vblit_exec e;
	struct operand dst = {}, src = {};
	unsigned int which = below(rng, 26);
	unsigned long req = DRM_IOCTL_VBLIT_EXEC;
	void *arg = &e;
	int expect = -EINVAL, err;
	union {
		struct drm_vblit_getparam gp;
		struct drm_vblit_gem_create gc;
		struct drm_vblit_gem_mmap_offset mo;
		struct drm_vblit_gem_userptr up;
		struct drm_vblit_gem_wait gw;
		struct drm_vblit_job_release jr;
		struct drm_gem_close cl;
	} u;
	uint32_t bad_handle = 0x7fff0000 + below(rng, 0xffff);

	region_quiesce(r);
	job_build(r, rng, &e, &dst, &src);
	memset(&u, 0, sizeof(u));
	switch (which) {
	case 0:
		e.pad = 1 + below(rng, 1000);
		break;
	case 1:
		e.flags |= 1u << (2 + below(rng, 30));
		break;
	case 2:
		e.length = 0;
		break;
	case 3:
		e.hold_ms = 1 + below(rng, 100);
		break;
	case 4:
		e.flags |= VBLIT_EXEC_HOLD;
		e.hold_ms = dev.max_hold_ms + 1 + below(rng, 1000);
		break;
	case 5:
		e.op = 3 + below(rng, 1000);
		break;
	case 6:
		if (e.op == VBLIT_OP_FILL)
			e.src_handle = r->bo[0].handle;
		else
			e.value = 1 + below(rng, 1000);
		break;
	case 7:
		if (e.op == VBLIT_OP_FILL)
			e.value |= (uint64_t)(1 + below(rng, 1000)) << 32;
		else
			e.value = 1;
		break;
	case 8:
		e.dst_handle = bad_handle;
		expect = -ENOENT;
		break;
	case 9:
		if (e.op == VBLIT_OP_FILL)
			e.src_offset = 1 + below(rng, 1000);
		else {
			e.src_handle = bad_handle;
			expect = -ENOENT;
		}
		break;
	case 10:
		e.dst_offset = dst.size + below(rng, 4096);
		break;
	case 11:
		e.length = (e.op == VBLIT_OP_CHECKSUM || e.op == VBLIT_OP_COPY ? src.size : dst.size) + 1 + below(rng, 4096);
		if (e.op == VBLIT_OP_COPY && e.length <= dst.size)
			e.length = dst.size + 1;
		break;
	case 12:
		e.dst_offset = ~0ull - below(rng, 4096);
		break;
	case 13: /* overlapping copy within one bo */
		e.op = VBLIT_OP_COPY;
		e.value = 0;
		e.dst_handle = e.src_handle = r->bo[0].handle;
		e.length = 1 + below(rng, r->bo[0].size);
		e.dst_offset = below(rng, r->bo[0].size - e.length + 1);
		e.src_offset = e.dst_offset;
		break;
	case 14:
		req = DRM_IOCTL_VBLIT_GETPARAM;
		arg = &u.gp;
		u.gp.param = 10 + below(rng, 1000);
		break;
	case 15:
		req = DRM_IOCTL_VBLIT_GETPARAM;
		arg = &u.gp;
		u.gp.pad = 1;
		break;
	case 16:
		req = DRM_IOCTL_VBLIT_GEM_CREATE;
		arg = &u.gc;
		u.gc.size = 0;
		break;
	case 17:
		req = DRM_IOCTL_VBLIT_GEM_CREATE;
		arg = &u.gc;
		u.gc.size = PAGE;
		u.gc.flags = 1u << below(rng, 32);
		break;
	case 18:
		req = DRM_IOCTL_VBLIT_GEM_CREATE;
		arg = &u.gc;
		u.gc.size = dev.max_gem + PAGE;
		expect = -E2BIG;
		break;
	case 19:
		req = DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET;
		arg = &u.mo;
		u.mo.handle = bad_handle;
		expect = -ENOENT;
		break;
	case 20:
		req = DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET;
		arg = &u.mo;
		u.mo.handle = r->bo[0].handle; u.mo.flags = 1; break;
	case 21: {
		unsigned int live = MAXOBJ;

		for (unsigned int i = 0; i < MAXOBJ; i++)
			if (r->obj[i].live)
				live = i;
		req = DRM_IOCTL_VBLIT_GEM_MMAP_OFFSET; arg = &u.mo;
		if (live < MAXOBJ) {
			u.mo.handle = r->obj[live].handle;
			expect = -ENODEV;
		} else {
			u.mo.handle = r->bo[0].handle;
			u.mo.pad = 1;
		}
		break;
	}
	case 22: {
		static const struct { uint64_t ptr, size; uint32_t flags; int err; } bad[] = {
			{ 0x100000, PAGE, 1u << 2, -EINVAL },
			{ 0x100000, PAGE, 1u << 30, -EINVAL },
			{ 0x100000, 0, 0, -EINVAL },
			{ 0x100001, PAGE, 0, -EINVAL },
			{ 0x100000, PAGE + 1, 0, -EINVAL },
			{ ~0ull & ~(PAGE - 1), 2 * PAGE, 0, -EINVAL },
			{ 0xffff888000000000ull, PAGE, 0, -EFAULT },
			{ 0x8000000000000000ull, PAGE, VBLIT_USERPTR_READ_ONLY, -EFAULT },
			{ 0x100000, PAGE, VBLIT_USERPTR_UNSYNCHRONIZED, -ENODEV },
			{ 0x100000, PAGE, VBLIT_USERPTR_UNSYNCHRONIZED | VBLIT_USERPTR_PROBE, -ENODEV },
		};
		unsigned int k = below(rng, 12);

		req = DRM_IOCTL_VBLIT_GEM_USERPTR; arg = &u.up;
		if (k < 10) {
			u.up.user_ptr = bad[k].ptr;
			u.up.user_size = bad[k].size;
			u.up.flags = bad[k].flags;
			expect = bad[k].err;
		} else if (k == 10) {
			u.up.user_ptr = 0x100000;
			u.up.user_size = dev.max_userptr + PAGE;
			expect = -E2BIG;
		} else {
			/* PROBE over a range nobody maps. */
			u.up.user_ptr = (uintptr_t)dev.hole;
			u.up.user_size = (1 + below(rng, 4)) * PAGE;
			u.up.flags = VBLIT_USERPTR_PROBE;
			expect = -EFAULT;
		}
		break;
	}
	case 23:
		req = DRM_IOCTL_VBLIT_GEM_WAIT;
		arg = &u.gw;
		u.gw.handle = bad_handle;
		expect = -ENOENT;
		break;
	case 24:
		req = DRM_IOCTL_VBLIT_GEM_WAIT;
		arg = &u.gw;
		u.gw.handle = r->bo[0].handle;
		if (below(rng, 2))
			u.gw.flags = 1;
		else
			u.gw.pad = 1;
		break;
	case 25:
		if (below(rng, 2)) {
			req = DRM_IOCTL_VBLIT_JOB_RELEASE; arg = &u.jr;
			u.jr.job_id = (1ull << 62) + rnd(rng);
			expect = -ENOENT;
		} else {
			req = DRM_IOCTL_GEM_CLOSE; arg = &u.cl;
			u.cl.handle = bad_handle;
		}
		break;
	}
	logf_("r%u invalid #%u req %#lx expect %s", r->id, which, req, errname(expect));
	err = xioctl(req, arg);
	logcat(" -> %s", errname(err));
	check(err == expect, "invalid request #%u (ioctl %#lx) gave %s (%d), the uapi says %s",
	      which, req, errname(err), err, errname(expect));
	if (!err && req == DRM_IOCTL_VBLIT_GEM_USERPTR)
		gem_close(u.up.handle);
	atomic_fetch_add(&sh->refused, 1);
}

/* Valid queries, release and polling. */
static void step_misc(struct region *r, uint64_t *rng)
{
	switch (below(rng, 4)) {
	case 0: {
		struct drm_vblit_getparam gp = { .param = below(rng, 10) };

		logf_("getparam %u", gp.param);
		must(xioctl(DRM_IOCTL_VBLIT_GETPARAM, &gp), "GETPARAM");
		if (gp.param == VBLIT_PARAM_API_VERSION)
			check(gp.value == 1, "API_VERSION %" PRIu64, (uint64_t)gp.value);
		if (gp.param == VBLIT_PARAM_USERPTR_BACKING)
			check(gp.value == dev.backing, "backing changed");
		break;
	}
	case 1:
		/* Release held jobs early (or find them gone: -ENOENT). */
		logf_("r%u release %u held jobs", r->id, r->njob_ids);
		for (unsigned int i = 0; i < r->njob_ids; i++) {
			struct drm_vblit_job_release jr = { .job_id = r->job_ids[i] };
			int err = xioctl(DRM_IOCTL_VBLIT_JOB_RELEASE, &jr);

			check(err == 0 || err == -ENOENT, "JOB_RELEASE gave %s", errname(err));
		}
		r->njob_ids = 0;
		break;
	case 2: {
		struct operand o = pick_operand(r, rng, true);
		int err;

		logf_("r%u poll handle %u", r->id, o.handle);
		err = gem_wait(o.handle, 0);
		/* A sharer's job may be reading a userptr object. */
		check(err == 0 || (err == -ETIME && (r->pending ||
						     (o.is_obj && opt.sharers))),
		      "GEM_WAIT(0) on an idle object gave %s", errname(err));
		break;
	}
	case 3:
		region_quiesce(r);
		logf_("r%u verify", r->id);
		region_verify(r, 0, r->npages, "full check");
		break;
	}
}

/* ---------------------------------------------------------------------- */
/* CPU and mm steps                                                       */

static void step_cpu_write(struct region *r, uint64_t *rng)
{
	size_t first = below(rng, r->npages), n = 1 + below(rng, min64(r->npages - first, MAXSPAN));
	uint8_t *base = region_addr(r);

	region_quiesce(r);
	for (size_t p = first; p < first + n; p++)
		if (!page_writable(r, p))
			return;
	logf_("r%u cpu write pages %zu+%zu", r->id, first, n);
	fill_random(r->shadow + first * PAGE, n * PAGE, rng);
	/* Write-protected pages fault to the monitor, which lets them through. */
	memcpy(base + first * PAGE, r->shadow + first * PAGE, n * PAGE);
	memset(r->maybe + first, 0, n);
	memset(r->wp + first, WP_NO, n);
}

/* Every mm event that leaves the bytes alone. */
static void step_mm_keep(struct region *r, uint64_t *rng)
{
	size_t first = below(rng, r->npages), n = 1 + below(rng, min64(r->npages - first, MAXSPAN));
	uint8_t *a = region_addr(r) + first * PAGE;
	unsigned int what = below(rng, 7);
	int ret = 0;

	if (!r->mapped)
		return;
	switch (what) {
	case 0:
		logf_("r%u MADV_PAGEOUT %zu+%zu", r->id, first, n);
		ret = madvise(a, n * PAGE, MADV_PAGEOUT);
		break;
	case 1:
		logf_("r%u MADV_COLD %zu+%zu", r->id, first, n);
		ret = madvise(a, n * PAGE, MADV_COLD);
		break;
	case 2: {
		void *pages[64];
		int nodes[64], status[64];

		if (dev.nodes < 2)
			return;
		n = n > 64 ? 64 : n;
		for (size_t i = 0; i < n; i++) {
			pages[i] = a + i * PAGE;
			nodes[i] = below(rng, dev.nodes);
		}
		logf_("r%u move_pages %zu+%zu", r->id, first, n);
		ret = syscall(SYS_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE);
		break;
	}
	case 3:
		if (r->kind != K_THP)
			return;
		logf_("r%u MADV_COLLAPSE", r->id);
		ret = madvise(region_addr(r), r->npages * PAGE, MADV_COLLAPSE);
		break;
	case 4: {
		bool merge = below(rng, 4);

		if (r->kind == K_MEMFD || r->kind == K_UFFD)
			return;
		logf_("r%u MADV_%sMERGEABLE", r->id, merge ? "" : "UN");
		ret = madvise(region_addr(r), r->npages * PAGE,
			      merge ? MADV_MERGEABLE : MADV_UNMERGEABLE);
		break;
	}
	case 5:
		if (r->locked) {
			logf_("r%u munlock", r->id);
			ret = munlock(region_addr(r), r->npages * PAGE);
			r->locked = false;
		} else {
			logf_("r%u mlock", r->id);
			ret = below(rng, 2) ? mlock(region_addr(r), r->npages * PAGE) :
			      syscall(SYS_mlock2, region_addr(r), r->npages * PAGE, MLOCK_ONFAULT);
			/*
			 * VM_LOCKED is set before the pages are populated: a
			 * failed population (pages past EOF) leaves it locked.
			 */
			r->locked = true;
		}
		break;
	case 6:
		/* Split a huge page: one page read-only and back. */
		if (!page_writable(r, first))
			return;
		region_quiesce(r);
		region_settle(r, first, 1);
		logf_("r%u mprotect split page %zu", r->id, first);
		check(!mprotect(a, PAGE, PROT_READ) &&
		      !mprotect(a, PAGE, PROT_READ | PROT_WRITE), "mprotect: %s", strerror(errno));
		break;
	}
	logcat(" -> %d", ret ? -errno : 0);
}

/* mm events that change the bytes, the mapping or the protection. */
static void step_mm_change(struct region *r, uint64_t *rng)
{
	size_t first = below(rng, r->npages), n = 1 + below(rng, min64(r->npages - first, MAXSPAN));
	uint8_t *a = region_addr(r) + first * PAGE;
	unsigned int what = below(rng, 8);
	int ret = 0;

	switch (what) {
	case 0: /* munmap (a PROT_NONE reservation), or map again */
		if (r->mapped) {
			logf_("r%u unmap", r->id);
			region_unmap(r);
		} else {
			logf_("r%u map again", r->id);
			region_map(r);
		}
		return;
	case 1: {
		static const int prots[] = {
			PROT_READ | PROT_WRITE, PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE,
		};
		int prot = prots[below(rng, 4)];

		if (!r->mapped)
			return;
		region_settle(r, first, n);
		logf_("r%u mprotect %zu+%zu %d", r->id, first, n, prot);
		ret = mprotect(a, n * PAGE, prot);
		check(!ret, "mprotect: %s", strerror(errno));
		region_set_prot(r, first, n, prot);
		break;
	}
	case 2:
		if (!r->mapped)
			return;
		logf_("r%u MADV_DONTNEED %zu+%zu", r->id, first, n);
		ret = madvise(a, n * PAGE, MADV_DONTNEED);
		if (!ret && r->kind != K_MEMFD) {
			memset(r->shadow + first * PAGE, 0, n * PAGE);
			memset(r->alt + first * PAGE, 0, n * PAGE);
			memset(r->maybe + first, 0, n);
			memset(r->wp + first, WP_MAYBE * (r->kind == K_UFFD), n);
		}
		check(!ret || (r->locked && errno == EINVAL),
		      "MADV_DONTNEED: %s", strerror(errno));
		break;
	case 3:
		if (!r->mapped || (r->kind != K_ANON && r->kind != K_THP))
			return;
		for (size_t p = 0; p < r->npages; p++)
			if (r->prot[p] != (PROT_READ | PROT_WRITE))
				return;
		/*
		 * A lazily freed page the device has partly written since is
		 * one of two pages; freed again, it may also be discarded
		 * now: three, which the model cannot hold. Settle it first.
		 */
		for (size_t p = first; p < first + n; p++) {
			if (r->maybe[p] && !page_is(r->alt + p * PAGE, zero_page)) {
				region_settle(r, first, n);
				break;
			}
		}
		logf_("r%u MADV_FREE %zu+%zu", r->id, first, n);
		ret = madvise(a, n * PAGE, MADV_FREE);
		if (!ret) {
			for (size_t p = first; p < first + n; p++)
				if (!r->maybe[p]) {
					r->maybe[p] = 1;
					memset(r->alt + p * PAGE, 0, PAGE);
				}
		}
		check(!ret || (r->locked && errno == EINVAL), "MADV_FREE: %s", strerror(errno));
		break;
	case 4: /* memfd: shrink, grow back, or punch */
		if (r->kind != K_MEMFD)
			return;
		region_quiesce(r);
		if (r->file_pages < r->npages && below(rng, 2)) {
			logf_("r%u memfd grow to %zu pages", r->id, r->npages);
			check(!ftruncate(r->mfd, r->npages * PAGE), "ftruncate: %s", strerror(errno));
			r->file_pages = r->npages;
		} else if (below(rng, 2)) {
			size_t k = below(rng, r->npages);

			logf_("r%u memfd shrink to %zu pages", r->id, k);
			check(!ftruncate(r->mfd, k * PAGE), "ftruncate: %s", strerror(errno));
			if (k < r->file_pages)
				memset(r->shadow + k * PAGE, 0, (r->npages - k) * PAGE);
			r->file_pages = k;	/* may also grow it */
		} else {
			logf_("r%u memfd punch %zu+%zu", r->id, first, n);
			check(!fallocate(r->mfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					 first * PAGE, n * PAGE), "PUNCH_HOLE: %s", strerror(errno));
			memset(r->shadow + first * PAGE, 0, n * PAGE);
		}
		return;
	case 5: { /* mremap to the other half of the window; objects stay behind */
		uint8_t *from = region_addr(r), *to;
		void *p;

		if (!r->mapped || r->kind == K_UFFD)
			return;
		to = r->window + (1 - r->half) * r->npages * PAGE;
		logf_("r%u mremap half %u -> %u", r->id, r->half, 1 - r->half);
		p = mremap(from, r->npages * PAGE, r->npages * PAGE,
			   MREMAP_MAYMOVE | MREMAP_FIXED, to);
		if (p == MAP_FAILED) {
			/* Several VMAs (after a partial mprotect): -EFAULT. */
			check(errno == EFAULT, "mremap: %s", strerror(errno));
			logcat(" -> %d", -errno);
			return;
		}
		check(p == to, "mremap moved to %p, not %p", p, to);
		r->half = 1 - r->half;
		p = mmap(from, r->npages * PAGE, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		check(p == from, "re-reserving the old half: %s", strerror(errno));
		return;
	}
	case 6: /* userfaultfd write-protection on or off */
		if (r->kind != K_UFFD || uffd < 0 || !r->mapped)
			return;
		{
			bool on = below(rng, 2);

			logf_("r%u uffd wp %s %zu+%zu", r->id, on ? "on" : "off", first, n);
			/* Page by page: 6.1 protects within one VMA only. */
			for (size_t p = 0; p < n; p++) {
				struct uffdio_writeprotect wp = {
					.range = { .start = (uintptr_t)a + p * PAGE, .len = PAGE },
					.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
				};

				check(!ioctl(uffd, UFFDIO_WRITEPROTECT, &wp),
				      "UFFDIO_WRITEPROTECT: %s", strerror(errno));
			}
			/* Unpopulated pages are not protected: maybe. */
			memset(r->wp + first, on ? WP_MAYBE : WP_NO, n);
		}
		return;
	case 7: /* THP split by unmapping one small page */
		if (r->kind != K_THP || !r->mapped || r->locked)
			return;
		logf_("r%u MADV_DONTNEED one page %zu", r->id, first);
		check(!madvise(a, PAGE, MADV_DONTNEED), "MADV_DONTNEED: %s", strerror(errno));
		memset(r->shadow + first * PAGE, 0, PAGE);
		memset(r->alt + first * PAGE, 0, PAGE);
		r->maybe[first] = 0;
		return;
	}
	logcat(" -> %d", ret ? -errno : 0);
}

/*
 * The child of a fork, of a multithreaded process: raw ioctls only. Its
 * copy of the region must be the model; the parent's objects are not its
 * own (-EFAULT); its own object (on a file of its own) over the copy works,
 * and its writes stay in the child. It exits with the object open,
 * sometimes with a held job.
 */
/* The child says why it failed, then exits with @code (see step_fork()). */
static void __attribute__((noreturn)) child_fail(struct region *r, int code,
						 const char *what, int err)
{
	fprintf(stderr, "fork child of r%u (%s, %zu pages): %s (%d)\n", r->id,
		kind_name[r->kind], r->npages, what, err);
	fflush(stderr);
	_exit(code);
}

/*
 * The child's write acquisition breaks COW on every page it shares with
 * the parent, and ksmd (running for the fuzzer's life) may merge the
 * child's pages again meanwhile; each merge moves the sequence, so the
 * kernel's retry bound can end it with -EBUSY, as it may a parent's job.
 * Like userspace, submit again a few times, then count it as the parent
 * counts its own -EBUSY and leave.
 */
static int child_exec(struct drm_vblit_exec *e)
{
	int err, tries = 0;

	do
		err = xioctl(DRM_IOCTL_VBLIT_EXEC, e);
	while (err == -EBUSY && ++tries < 4);
	if (err == -EBUSY) {
		atomic_fetch_add(&sh->ebusy, 1);
		_exit(0);
	}
	return err;
}

static void __attribute__((noreturn)) fork_child(struct region *r, uint32_t value,
						 bool exit_busy)
{
	uint8_t *base = region_addr(r);
	struct drm_vblit_exec e;
	bool all_rw = r->mapped;
	uint32_t handle;
	int err;

	for (size_t p = 0; p < r->npages; p++) {
		if (page_readable(r, p) && !page_is(base + p * PAGE, r->shadow + p * PAGE))
			child_fail(r, 10, "its memory is not the model at page", (int)p);
		all_rw &= page_writable(r, p);
	}
	for (unsigned int i = 0; i < MAXOBJ; i++) {
		if (!r->obj[i].live)
			continue;
		memset(&e, 0, sizeof(e));
		e.op = VBLIT_OP_COPY;
		e.dst_handle = r->bo[0].handle;
		e.src_handle = r->obj[i].handle;
		e.length = PAGE < r->bo[0].size ? PAGE : r->bo[0].size;
		err = xioctl(DRM_IOCTL_VBLIT_EXEC, &e);
		if (err != -EFAULT)
			child_fail(r, 11, "a copy from the parent's object gave", err);
	}
	if (!all_rw || r->kind == K_MEMFD)
		_exit(0);
	fd = vblit_node_open(NULL, NULL, 0);
	if (fd < 0)
		child_fail(r, 12, "open", fd);
	err = userptr(base, r->npages * PAGE, 0, &handle);
	if (err)
		child_fail(r, 12, "its own userptr gave", err);
	memset(&e, 0, sizeof(e));
	e.op = VBLIT_OP_FILL;
	e.dst_handle = handle;
	e.length = r->npages * PAGE;
	e.value = value;
	err = child_exec(&e);
	if (err)
		child_fail(r, 13, "a fill of its own object gave", err);
	err = gem_wait(handle, 30ll * 1000000000);
	if (err)
		child_fail(r, 13, "waiting for the fill gave", err);
	for (size_t i = 0; i < r->npages * PAGE; i++)
		if (base[i] != (uint8_t)(value >> (8 * (i % 4))))
			child_fail(r, 14, "its memory is not its device write at byte", (int)i);
	if (exit_busy) {
		e.flags = VBLIT_EXEC_HOLD;
		e.hold_ms = 5;
		err = child_exec(&e);
		if (err)
			child_fail(r, 15, "a held fill gave", err);
	}
	_exit(0);
}

static void step_fork(struct region *r, uint64_t *rng)
{
	uint32_t value = rnd(rng);
	bool exit_busy = below(rng, 2);
	int status;
	pid_t pid;

	region_quiesce(r);
	region_settle(r, 0, r->npages);
	/* A wrong page is the parent's (reported in full) before it is the child's. */
	region_verify(r, 0, r->npages, "parent before fork");
	logf_("r%u fork (child %s)", r->id, exit_busy ? "exits busy" : "exits idle");
	pid = fork();
	check(pid >= 0, "fork: %s", strerror(errno));
	if (!pid)
		fork_child(r, value, exit_busy);
	check(waitpid(pid, &status, 0) == pid, "waitpid: %s", strerror(errno));
	check(WIFEXITED(status) && !WEXITSTATUS(status),
	      "forked child failed with status %#x (10: its memory is not the model, 11: the parent's object worked in it, 12-15: its own object failed, 14: its memory is not its device write)",
	      status);
	atomic_fetch_add(&sh->forks, 1);
	region_verify(r, 0, r->npages, "parent after the child");
}

/* ---------------------------------------------------------------------- */
/* Workers                                                                */

static void *uffd_monitor(void *data)
{
	(void)data;
	while (!atomic_load(&sh->stop)) {
		struct pollfd pfd = { .fd = uffd, .events = POLLIN };
		struct uffd_msg msg;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if (read(uffd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event == UFFD_EVENT_PAGEFAULT) {
			struct uffdio_writeprotect wp = {
				.range = {
					.start = msg.arg.pagefault.address & ~(PAGE - 1),
					.len = PAGE,
				},
			};

			ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
		}
	}
	return NULL;
}

static void fatal_signal(int sig)
{
	if (self)
		violation("signal %d (%s) in the fuzzer: a model error or a kernel bug",
			  sig, strsignal(sig));
	_exit(1);
}

/*
 * A sharer: CHECKSUMs of random pages of live objects of random regions,
 * into a buffer of its own, with no region lock held. The handle is read
 * racily on purpose: the object may be closed, or its handle reused,
 * before the ioctl, which must then fail as documented.
 */
static void *sharer_thread(void *data)
{
	struct tctx *t = data;
	struct drm_vblit_gem_create c = { .size = PAGE };
	struct region *r = &regions[NREGIONS - 1];
	struct uobj *u = r->obj;

	self = t;
	must(xioctl(DRM_IOCTL_VBLIT_GEM_CREATE, &c), "sharer GEM_CREATE");

	while (!atomic_load(&sh->stop)) {
		uint32_t handle;
		size_t n;
		struct drm_vblit_exec e = {
			.op = VBLIT_OP_CHECKSUM, .dst_handle = c.handle,
		};
		int err;

		/*
		 * Stay on one object for a while, so that sharers meet on it;
		 * the THP region, with the largest objects, every other pick.
		 */
		if (!below(&t->rng, 16)) {
			r = &regions[below(&t->rng, 2) ? NREGIONS - 1 :
				     below(&t->rng, NREGIONS)];
			u = &r->obj[below(&t->rng, MAXOBJ)];
		}
		handle = __atomic_load_n(&u->handle, __ATOMIC_RELAXED);
		n = __atomic_load_n(&u->n, __ATOMIC_RELAXED);
		e.src_handle = handle;

		/* A userfaultfd range would wait for the monitor: not here. */
		if (r->kind == K_UFFD || !__atomic_load_n(&u->live, __ATOMIC_RELAXED) || !n)
			continue;
		t->steps++;
		e.src_offset = below(&t->rng, n) * PAGE;
		e.length = PAGE * (1 + below(&t->rng, 4));
		if (e.src_offset + e.length > n * PAGE)
			e.length = n * PAGE - e.src_offset;
		logf_("r%u sharer CHECKSUM obj %u+%#" PRIx64 " len %#" PRIx64,
		      r->id, handle, (uint64_t)e.src_offset, (uint64_t)e.length);
		err = xioctl(DRM_IOCTL_VBLIT_EXEC, &e);
		logcat(" -> %s", errname(err));
		/*
		 * -ENOENT, -EINVAL: closed, or the handle now names another
		 * (smaller) object; -EFAULT, -EBUSY: the mappings changed.
		 */
		check(!err || err == -ENOENT || err == -EINVAL || err == -EFAULT ||
		      err == -EBUSY, "sharer EXEC gave %s (%d)", errname(err), err);
		if (err) {
			atomic_fetch_add(&sh->shared_refused, 1);
			continue;
		}
		atomic_fetch_add(&sh->shared_jobs, 1);
		must(gem_wait(c.handle, 30ll * 1000000000), "sharer GEM_WAIT");
	}
	return NULL;
}

static void *worker_thread(void *data)
{
	struct tctx *t = data;

	self = t;
	while (!atomic_load(&sh->stop)) {
		unsigned long long n = atomic_fetch_add(&sh->steps, 1);
		struct region *r = &regions[below(&t->rng, NREGIONS)];
		uint32_t dice = below(&t->rng, 10000);

		if (opt.steps && n >= opt.steps) {
			atomic_store(&sh->stop, true);
			break;
		}
		t->steps++;
		pthread_mutex_lock(&r->lock);
		if (dice < 3500)
			step_job(r, &t->rng);
		else if (dice < 4500)
			step_create(r, &t->rng);
		else if (dice < 5500)
			step_invalid(r, &t->rng);
		else if (dice < 6300)
			step_misc(r, &t->rng);
		else if (dice < 7300)
			step_cpu_write(r, &t->rng);
		else if (dice < 8500)
			step_mm_keep(r, &t->rng);
		else if (dice < 9960)
			step_mm_change(r, &t->rng);
		else if (dice < 9998)
			step_fork(r, &t->rng);
		else {
			/* Exit with everything open and maybe jobs held. */
			logf_("exit");
			atomic_fetch_add(&sh->exits, 1);
			fflush(stderr);
			_exit(EXIT_PLANNED);
		}
		pthread_mutex_unlock(&r->lock);
	}
	return NULL;
}

static void __attribute__((noreturn)) worker(unsigned int proc, unsigned int gen)
{
	static const enum kind kinds[NREGIONS] = {
		K_ANON, K_ANON, K_ANON, K_MEMFD, K_MEMFD, K_MEMFD, K_UFFD, K_THP,
	};
	uint64_t rng = splitmix(opt.seed ^ ((uint64_t)proc << 40) ^ ((uint64_t)gen << 20)) | 1;
	unsigned int nthreads = opt.threads + opt.sharers;
	struct tctx *ctx = calloc(nthreads, sizeof(*ctx));
	pthread_t *threads = calloc(nthreads, sizeof(*threads));
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	pthread_t monitor;
	struct tctx init = { .proc = proc, .gen = gen };

	self = &init;
	signal(SIGSEGV, fatal_signal);
	signal(SIGBUS, fatal_signal);
	fd = vblit_node_open(NULL, NULL, 0);
	check(fd >= 0 && ctx && threads, "worker setup");
	uffd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd >= 0 && (ioctl(uffd, UFFDIO_API, &api) ||
			  !(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP))) {
		close(uffd);
		uffd = -1;
	}
	for (unsigned int i = 0; i < NREGIONS; i++) {
		enum kind k = kinds[i] == K_UFFD && uffd < 0 ? K_ANON : kinds[i];
		size_t npages = k == K_THP ? THP / PAGE : k == K_UFFD ? 16 : 1 + below(&rng, 32);

		region_init(&regions[i], i, k, npages, &rng);
	}
	if (uffd >= 0)
		check(!pthread_create(&monitor, NULL, uffd_monitor, NULL), "monitor thread");
	for (unsigned int t = 0; t < nthreads; t++) {
		ctx[t] = (struct tctx){ .proc = proc, .gen = gen, .thread = t };
		ctx[t].rng = splitmix(rng ^ (t + 1) * 0x9e3779b97f4a7c15ull) | 1;
		check(!pthread_create(&threads[t], NULL,
				      t < opt.threads ? worker_thread : sharer_thread,
				      &ctx[t]), "thread");
	}
	for (unsigned int t = 0; t < nthreads; t++)
		pthread_join(threads[t], NULL);
	if (uffd >= 0)
		pthread_join(monitor, NULL);
	_exit(0);
}

/* ---------------------------------------------------------------------- */
/* Main                                                                   */

#define KSM "/sys/kernel/mm/ksm/"
static const char *const ksm_knobs[] = { "run", "pages_to_scan", "sleep_millisecs" };
static const char *const ksm_fuzz[] = { "1", "1000", "20" };
static char ksm_saved[3][32];

static bool write_file(const char *path, const char *value)
{
	int f = open(path, O_WRONLY | O_CLOEXEC);
	bool ok;

	if (f < 0)
		return false;
	ok = write(f, value, strlen(value)) == (ssize_t)strlen(value);
	close(f);
	return ok;
}

/* KSM merges only when ksmd runs: run it gently for the fuzzer's life. */
static void ksm_set(bool on)
{
	char path[96];

	for (int i = on ? 0 : 2; on ? i < 3 : i >= 0; i += on ? 1 : -1) {
		snprintf(path, sizeof(path), KSM "%s", ksm_knobs[i]);
		if (on) {
			int f = open(path, O_RDONLY | O_CLOEXEC);
			ssize_t len = f >= 0 ? read(f, ksm_saved[i], sizeof(ksm_saved[i]) - 1) : -1;

			if (f >= 0)
				close(f);
			if (len <= 0 || !write_file(path, ksm_fuzz[i])) {
				ksm_saved[i][0] = 0;
				return;
			}
		} else if (ksm_saved[i][0]) {
			write_file(path, ksm_saved[i]);
		}
	}
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Leak accounting around the run: the driver's pinned pages and userptr
 * objects (debugfs; -1 where unreadable) and the kernel's FOLL_PIN balance.
 */
struct pins {
	long long pinned, objects, foll;
};

static long long read_key(const char *path, const char *key)
{
	char line[128], k[64];
	long long v, found = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	/* "key value" (/proc/vmstat) or "key: value" (debugfs) lines. */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63[^: ]%*[: ]%lld", k, &v) == 2 && !strcmp(k, key))
			found = v;
	fclose(f);
	return found;
}

static struct pins pins_now(void)
{
	static const char stats[] = "/sys/kernel/debug/vblit/stats";
	long long acq, rel;
	int fd;

	/* Fold every CPU's pending vmstat deltas in first (root only). */
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = write(fd, "1", 1);

		(void)n;	/* refused: read the counters as they are */
		close(fd);
	}
	acq = read_key("/proc/vmstat", "nr_foll_pin_acquired");
	rel = read_key("/proc/vmstat", "nr_foll_pin_released");

	return (struct pins){
		.pinned = read_key(stats, "pinned_pages"),
		.objects = read_key(stats, "userptr_objects"),
		.foll = acq < 0 || rel < 0 ? -1 : acq - rel,
	};
}

/* Wait up to 10 s for the counters to come back; false on a leak. */
static bool pins_back(const struct pins *before)
{
	struct pins now;

	for (int i = 0; i < 1000; i++) {
		now = pins_now();
		if (now.pinned == before->pinned && now.objects == before->objects &&
		    now.foll == before->foll)
			return true;
		usleep(10 * 1000);
	}
	fprintf(stderr, "vblit_fuzz: LEAK after the run: pinned_pages %lld (was %lld), userptr_objects %lld (was %lld), FOLL_PIN balance %lld (was %lld)\n",
		now.pinned, before->pinned, now.objects, before->objects,
		now.foll, before->foll);
	return false;
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--seed S] [--steps N | --seconds T] [--procs P] [--threads T] [--sharers N] [--verbose]\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "steps", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 't' },
		{ "procs", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 'T' },
		{ "sharers", required_argument, NULL, 'S' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	unsigned int *gens;
	pid_t *pids;
	bool failed = false, seeded = false;
	double start, elapsed;
	unsigned long long steps;
	struct pins before;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:t:p:T:S:vh", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			opt.seed = strtoull(optarg, NULL, 0);
			seeded = true;
			break;
		case 'n':
			opt.steps = strtoull(optarg, NULL, 0);
			break;
		case 't':
			opt.seconds = strtod(optarg, NULL);
			break;
		case 'p':
			opt.procs = strtoul(optarg, NULL, 0);
			break;
		case 'T':
			opt.threads = strtoul(optarg, NULL, 0);
			break;
		case 'S':
			opt.sharers = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			opt.verbose = true;
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind != argc || !opt.procs || !opt.threads || opt.procs > 64 || opt.threads > 64 ||
	    opt.sharers > 64)
		usage(argv[0]);
	if (!seeded)
		opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (!opt.steps && opt.seconds <= 0)
		opt.seconds = 10;

	fd = vblit_node_open(NULL, NULL, 0);
	if (fd < 0) {
		fprintf(stderr, "vblit_fuzz: no vblit render node\n");
		return 2;
	}
	dev.backing = getparam(VBLIT_PARAM_USERPTR_BACKING);
	dev.max_gem = getparam(VBLIT_PARAM_MAX_GEM_SIZE);
	dev.max_userptr = getparam(VBLIT_PARAM_USERPTR_MAX_SIZE);
	dev.max_hold_ms = getparam(VBLIT_PARAM_HAS_EXEC_HOLD) ?
		getparam(VBLIT_PARAM_MAX_HOLD_MS) : 0;
	for (dev.nodes = 0; dev.nodes < 64; dev.nodes++) {
		char path[64];

		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d", dev.nodes);
		if (access(path, F_OK))
			break;
	}
	/* Low addresses: below the executable, where no mmap lands. */
	dev.hole = (uint8_t *)0x200000;
	if (msync(dev.hole, 8 * PAGE, MS_ASYNC) != -1 || errno != ENOMEM) {
		fprintf(stderr, "vblit_fuzz: %p is mapped, no hole for PROBE\n", dev.hole);
		return 2;
	}
	close(fd);
	fd = -1;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 2;
	printf("vblit_fuzz: seed %" PRIu64 ", %u processes x %u threads (+%u sharers), %s backing, ",
	       opt.seed, opt.procs, opt.threads, opt.sharers,
	       dev.backing == VBLIT_USERPTR_BACKING_PINNED ? "pinned" : "unpinned");
	if (opt.steps)
		printf("%" PRIu64 " steps\n", opt.steps);
	else
		printf("%.0f s\n", opt.seconds);
	fflush(stdout);
	ksm_set(true);
	before = pins_now();
	if (before.pinned < 0 || before.foll < 0)
		printf("vblit_fuzz: no counters readable (debugfs, /proc/vmstat): no leak check\n");

	pids = calloc(opt.procs, sizeof(*pids));
	gens = calloc(opt.procs, sizeof(*gens));
	start = now_s();
	for (unsigned int p = 0; p < opt.procs; p++) {
		pids[p] = fork();
		if (!pids[p])
			worker(p, 0);
	}
	for (unsigned int alive = opt.procs; alive;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (!atomic_load(&sh->stop) &&
		    ((opt.seconds > 0 && now_s() - start >= opt.seconds) ||
		     (opt.steps && atomic_load(&sh->steps) >= opt.steps)))
			atomic_store(&sh->stop, true);
		if (pid <= 0) {
			usleep(20 * 1000);
			if (atomic_load(&sh->stop) && now_s() - start > opt.seconds + 120) {
				fprintf(stderr, "vblit_fuzz: workers hang 120 s after the stop\n");
				for (unsigned int p = 0; p < opt.procs; p++)
					if (pids[p] > 0)
						kill(pids[p], SIGKILL);
				failed = true;
			}
			continue;
		}
		for (unsigned int p = 0; p < opt.procs; p++) {
			if (pids[p] != pid)
				continue;
			pids[p] = 0;
			alive--;
			if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_PLANNED &&
			    !atomic_load(&sh->stop)) {
				/* A planned exit: a new generation takes the slot. */
				pids[p] = fork();
				if (!pids[p])
					worker(p, ++gens[p]);
				gens[p]++;
				alive++;
			} else if (!WIFEXITED(status) ||
				   (WEXITSTATUS(status) && WEXITSTATUS(status) != EXIT_PLANNED)) {
				fprintf(stderr, "vblit_fuzz: worker %u (generation %u) failed, status %#x\n",
					p, gens[p], status);
				failed = true;
				atomic_store(&sh->stop, true);
			}
		}
	}
	elapsed = now_s() - start;
	ksm_set(false);
	if (before.pinned >= 0 && before.foll >= 0 && !pins_back(&before))
		failed = true;

	steps = atomic_load(&sh->steps);
	if (opt.steps && steps > opt.steps)
		steps = opt.steps;
	printf("fuzz: %llu steps in %.1f s: %.0f steps/s; %llu jobs checked, %llu requests refused as documented, %llu -EBUSY, %llu forks, %llu process exits\n",
	       steps, elapsed, steps / elapsed, (unsigned long long)atomic_load(&sh->jobs),
	       (unsigned long long)atomic_load(&sh->refused),
	       (unsigned long long)atomic_load(&sh->ebusy),
	       (unsigned long long)atomic_load(&sh->forks),
	       (unsigned long long)atomic_load(&sh->exits));
	if (opt.sharers)
		printf("fuzz: %u sharers per process: %llu shared jobs, %llu refused as documented\n",
		       opt.sharers, (unsigned long long)atomic_load(&sh->shared_jobs),
		       (unsigned long long)atomic_load(&sh->shared_refused));
	if (failed) {
		printf("fuzz: VIOLATION after %llu steps, seed %" PRIu64 " (step log above)\n",
		       steps, opt.seed);
		return 1;
	}
	printf("fuzz: %llu steps, seed %" PRIu64 ", OK\n", steps, opt.seed);
	return 0;
}
