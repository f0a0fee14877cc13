// SPDX-License-Identifier: MIT
/*
 * Copyright (c) 2026 The drm-userptr authors
 */

/**
 * TEST: vblit userptr race
 * Category: Core
 * Description: Races between the device and the mm on userptr objects:
 *	mappings changed under busy objects, object churn against mm churn,
 *	acquisitions that keep colliding, objects closed while invalidations
 *	of their range run, acquisitions that invalidate their own range, and
 *	fork storms; plus the seeded fuzzer (tools/vblit_fuzz) on a fixed set
 *	of seeds. Every race accepts errors (-EFAULT, -EBUSY) but never wrong
 *	data, and every one is bounded in time.
 */

#include <libgen.h>
#include <stdarg.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "igt.h"
#include "vblit.h"

IGT_TEST_DESCRIPTION("Races between the vblit device and the mm on userptr objects.");

#define PAGE		VBLIT_PAGE_SIZE
#define DWORDS		(PAGE / 4)

static int fd = -1;

/* ---------------------------------------------------------------------- */
/* Failures in threads                                                    */

/*
 * IGT assertions longjmp into the main thread's subtest: threads record
 * the first failure here instead, every thread's loop stops on it, and the
 * main thread asserts after joining them.
 */
static atomic_bool race_failed;
static pthread_mutex_t race_lock = PTHREAD_MUTEX_INITIALIZER;
static char race_msg[1024];

static bool __attribute__((format(printf, 2, 3)))
race_check(bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	pthread_mutex_lock(&race_lock);
	if (!atomic_load(&race_failed)) {
		va_start(ap, fmt);
		vsnprintf(race_msg, sizeof(race_msg), fmt, ap);
		va_end(ap);
		atomic_store(&race_failed, true);
	}
	pthread_mutex_unlock(&race_lock);
	return false;
}

static bool race_stopped(atomic_bool *stop)
{
	return atomic_load(stop) || atomic_load(&race_failed);
}

static void race_assert_none(void)
{
	igt_assert_f(!atomic_load(&race_failed), "%s", race_msg);
}

/* Let the threads race for @ms from @start (less if one fails), then stop them. */
static void race_for(unsigned int ms, struct timespec *start, atomic_bool *stop)
{
	clock_gettime(CLOCK_MONOTONIC, start);
	while (vblit_elapsed_ms(start) < ms && !atomic_load(&race_failed))
		usleep(50 * 1000);
	atomic_store(stop, true);
}

/* Once they are joined: none failed, and they stopped within 20 s. */
static void race_joined(const struct timespec *start, unsigned int ms)
{
	race_assert_none();
	igt_assert_f(vblit_elapsed_ms(start) < ms + 20000,
		     "threads took %.0f ms to stop\n", vblit_elapsed_ms(start));
}

/* ---------------------------------------------------------------------- */
/* Self-describing pages                                                  */

/*
 * Every page the races put in memory names itself: dword 0 a magic, dword
 * 1 the owner (object or arena) and the page index, dword 2 a version; the
 * rest is pattern (owner, version) at that index. A page the device reads
 * is right if it is such a page for the index it was read at, of a version
 * that was once produced there: zero, torn, misplaced or unknown pages are
 * wrong data.
 */
#define TAG_MAGIC	0x7a9c0de5u

static uint32_t tag_seed(uint32_t owner, uint32_t version)
{
	return owner * 0x10001u + version * 0x9e3779b9u;
}

static void tag_page(void *page, uint32_t owner, uint32_t idx, uint32_t version)
{
	uint32_t *p = page;
	uint32_t seed = tag_seed(owner, version);

	for (unsigned int k = 3; k < DWORDS; k++)
		p[k] = vblit_pattern(seed, idx, k);
	p[0] = TAG_MAGIC;
	p[1] = owner << 16 | idx;
	p[2] = version;
}

/* 0 and the page's version, or a reason. */
static const char *tag_check(const void *page, uint32_t owner, uint32_t idx,
			     uint32_t *version)
{
	const uint32_t *p = page;
	uint32_t seed;

	if (p[0] != TAG_MAGIC) {
		for (unsigned int k = 0; k < DWORDS; k++)
			if (p[k])
				return "no tag";
		return "zero page";
	}
	if (p[1] != (owner << 16 | idx))
		return "page of another owner or index";
	seed = tag_seed(owner, p[2]);
	for (unsigned int k = 3; k < DWORDS; k++)
		if (p[k] != vblit_pattern(seed, idx, k))
			return "torn page";
	*version = p[2];
	return NULL;
}

/* Version bookkeeping: which versions an owner's pages were ever given. */
#define MAX_VERSIONS	(1u << 20)

struct versions {
	atomic_uint next;
	atomic_uchar *issued;
};

static void versions_init(struct versions *v, uint32_t first)
{
	atomic_init(&v->next, first);
	v->issued = calloc(MAX_VERSIONS, 1);
	igt_assert(v->issued);
}

static uint32_t versions_issue(struct versions *v)
{
	uint32_t ver = atomic_fetch_add(&v->next, 1);

	igt_assert_f(ver < MAX_VERSIONS, "out of versions\n");
	atomic_store(&v->issued[ver], 1);
	return ver;
}

static bool versions_known(struct versions *v, uint32_t ver)
{
	return ver < MAX_VERSIONS && atomic_load(&v->issued[ver]);
}

/* Whether @page, read at @idx of @owner, is right (else recorded). */
static bool page_right(const void *page, uint32_t owner, uint32_t idx,
		       struct versions *v, const char *what)
{
	const uint32_t *p = page;
	uint32_t ver = 0;
	const char *bad = tag_check(page, owner, idx, &ver);

	if (!race_check(!bad, "%s: owner %u page %u: %s (dwords %#010x %#010x %#010x)\n",
			what, owner, idx, bad, p[0], p[1], p[2]))
		return false;
	return race_check(versions_known(v, ver),
			  "%s: owner %u page %u: version %u was never produced\n",
			  what, owner, idx, ver);
}

/* The same, asserting, in the main thread. */
static void check_page(const void *page, uint32_t owner, uint32_t idx,
		       struct versions *v, const char *what)
{
	if (!page_right(page, owner, idx, v, what))
		race_assert_none();
}

/* ---------------------------------------------------------------------- */
/* Slotted memory: pages mapped from pools of pre-tagged memfd pages      */

/*
 * A range of @npages whose page i is always one of @nslots memfd pages
 * ("slots") of a pool of its own, tagged (owner, i). Remapping a page to
 * another slot, unmapping and remapping it, protecting it or dropping its
 * PTEs never loses data: everything any job or the CPU can see is a tagged
 * page, and every device write lands in some slot of the right pool.
 */
struct slotted {
	uint32_t owner;
	size_t npages, nslots;
	int mfd;
	uint8_t *addr;
	unsigned int *cur;		/* slot mapped at each page */
	pthread_mutex_t *lock;		/* one per page, for the mutators */
	struct versions versions;
};

static off_t slot_offset(struct slotted *s, size_t idx, size_t slot)
{
	return (off_t)(idx * s->nslots + slot) * PAGE;
}

static bool slot_map(struct slotted *s, size_t idx, size_t slot, int prot)
{
	void *p = mmap(s->addr + idx * PAGE, PAGE, prot, MAP_SHARED | MAP_FIXED,
		       s->mfd, slot_offset(s, idx, slot));

	if (!race_check(p == s->addr + idx * PAGE, "slot mmap: %s\n", strerror(errno)))
		return false;
	s->cur[idx] = slot;
	return true;
}

static void slotted_init(struct slotted *s, uint32_t owner, size_t npages,
			 size_t nslots)
{
	uint8_t page[PAGE];

	s->owner = owner;
	s->npages = npages;
	s->nslots = nslots;
	s->cur = calloc(npages, sizeof(*s->cur));
	s->lock = calloc(npages, sizeof(*s->lock));
	igt_assert(s->cur && s->lock);
	versions_init(&s->versions, 1);
	s->mfd = vblit_memfd("vblit-slots", npages * nslots * PAGE);
	for (size_t i = 0; i < npages; i++) {
		pthread_mutex_init(&s->lock[i], NULL);
		for (size_t j = 0; j < nslots; j++) {
			tag_page(page, owner, i, versions_issue(&s->versions));
			igt_assert_eq(pwrite(s->mfd, page, PAGE, slot_offset(s, i, j)),
				      (ssize_t)PAGE);
		}
	}
	s->addr = vblit_reserve(npages * PAGE);
	for (size_t i = 0; i < npages; i++)
		igt_assert(slot_map(s, i, 0, PROT_READ | PROT_WRITE));
}

static void slotted_fini(struct slotted *s)
{
	munmap(s->addr, s->npages * PAGE);
	close(s->mfd);
	free(s->cur);
	free(s->lock);
	free(s->versions.issued);
}

/* Every page mapped read-write again (after the mutators stopped). */
static void slotted_restore(struct slotted *s)
{
	for (size_t i = 0; i < s->npages; i++)
		igt_assert(slot_map(s, i, s->cur[i], PROT_READ | PROT_WRITE));
}

/* Whether some slot of page @idx holds exactly (@idx, @version). */
static bool slotted_holds(struct slotted *s, size_t idx, uint32_t version)
{
	uint8_t page[PAGE], want[PAGE];

	tag_page(want, s->owner, idx, version);
	for (size_t j = 0; j < s->nslots; j++) {
		igt_assert_eq(pread(s->mfd, page, PAGE, slot_offset(s, idx, j)),
			      (ssize_t)PAGE);
		if (!memcmp(page, want, PAGE))
			return true;
	}
	return false;
}

/* One random mm event on page @idx; never loses the page's data. */
static unsigned int slotted_mutate(struct slotted *s, size_t idx, unsigned int r)
{
	uint8_t *page = s->addr + idx * PAGE;
	unsigned int op = r % 7;

	pthread_mutex_lock(&s->lock[idx]);
	switch (op) {
	case 0: /* remap another slot */
		slot_map(s, idx, (s->cur[idx] + 1 + r / 7 % (s->nslots - 1)) % s->nslots,
			 PROT_READ | PROT_WRITE);
		break;
	case 1:
		race_check(!mprotect(page, PAGE, PROT_READ) &&
			   !mprotect(page, PAGE, PROT_READ | PROT_WRITE),
			   "mprotect: %s\n", strerror(errno));
		break;
	case 2:
		race_check(!mprotect(page, PAGE, PROT_NONE) &&
			   !mprotect(page, PAGE, PROT_READ | PROT_WRITE),
			   "mprotect: %s\n", strerror(errno));
		break;
	case 3:
		race_check(!madvise(page, PAGE, MADV_DONTNEED),
			   "MADV_DONTNEED: %s\n", strerror(errno));
		break;
	case 4: /* a hole for a moment (PROT_NONE keeps the address ours) */
		slot_map(s, idx, s->cur[idx], PROT_NONE);
		slot_map(s, idx, s->cur[idx], PROT_READ | PROT_WRITE);
		break;
	case 5:
		madvise(page, PAGE, MADV_PAGEOUT);
		break;
	case 6:
		madvise(page, PAGE, MADV_COLD);
		break;
	}
	pthread_mutex_unlock(&s->lock[idx]);
	return op;
}

/* ---------------------------------------------------------------------- */
/* Helpers                                                                */

static uint32_t rnd(uint64_t *state)
{
	/* xorshift64* */
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return (*state * 0x2545f4914f6cdd1dull) >> 32;
}

static bool allowed_race_error(int err)
{
	return err == -EFAULT || err == -EBUSY;
}

static void timer_start(struct timespec *start)
{
	clock_gettime(CLOCK_MONOTONIC, start);
}

/* ---------------------------------------------------------------------- */
/* invalidate-race                                                        */

#define IR_OBJECTS	3
#define IR_PAGES	8
#define IR_SLOTS	4
#define IR_MS		4000

struct ir_object {
	struct slotted mem;
	uint32_t handle;
	/* Results of the object's device thread. */
	unsigned long reads, writes, errors[2];
	uint32_t last_write;
};

struct ir_state {
	struct ir_object obj[IR_OBJECTS];
	atomic_bool stop;
	unsigned long mutations[7];
};

struct ir_worker {
	struct ir_state *st;
	unsigned int o;
	uint64_t seed;
	struct vblit_bo in, out;
};

/* The device thread of one object: COPY out and check, or COPY in. */
static void *ir_device_thread(void *data)
{
	struct ir_worker *w = data;
	struct ir_object *ob = &w->st->obj[w->o];
	struct vblit_bo in = w->in, out = w->out;

	while (!race_stopped(&w->st->stop)) {
		struct drm_vblit_exec exec;
		bool write = rnd(&w->seed) & 1;
		uint32_t ver = 0;
		int err;

		if (write) {
			ver = versions_issue(&ob->mem.versions);
			for (unsigned int i = 0; i < IR_PAGES; i++)
				tag_page((uint8_t *)in.map + i * PAGE, ob->mem.owner, i, ver);
			vblit_exec_init(&exec, VBLIT_OP_COPY, ob->handle, 0,
					in.handle, 0, IR_PAGES * PAGE);
		} else {
			memset(out.map, 0, out.size);
			vblit_exec_init(&exec, VBLIT_OP_COPY, out.handle, 0,
					ob->handle, 0, IR_PAGES * PAGE);
		}
		/* Sometimes held a little: invalidations then wait for it. */
		if (!(rnd(&w->seed) % 4)) {
			exec.flags = VBLIT_EXEC_HOLD;
			exec.hold_ms = 1 + rnd(&w->seed) % 3;
		}
		err = __vblit_exec(fd, &exec);
		if (err) {
			if (!race_check(allowed_race_error(err),
					"job on a racing object gave %d\n", err))
				break;
			ob->errors[err == -EBUSY]++;
			continue;
		}
		err = __vblit_gem_wait(fd, write ? ob->handle : out.handle,
				       VBLIT_WAIT_TIMEOUT_NS);
		if (!race_check(!err, "waiting for a job: %d\n", err))
			break;
		if (write) {
			ob->writes++;
			ob->last_write = ver;
			continue;
		}
		ob->reads++;
		for (unsigned int i = 0; i < IR_PAGES; i++)
			if (!page_right((uint8_t *)out.map + i * PAGE, ob->mem.owner, i,
					&ob->mem.versions, "device read during mm events"))
				break;
	}
	return NULL;
}

struct ir_mutator {
	struct ir_state *st;
	uint64_t seed;
	unsigned long ops[7];
};

static void *ir_mutator_thread(void *data)
{
	struct ir_mutator *m = data;

	while (!race_stopped(&m->st->stop)) {
		unsigned int o = rnd(&m->seed) % IR_OBJECTS;
		unsigned int i = rnd(&m->seed) % IR_PAGES;

		m->ops[slotted_mutate(&m->st->obj[o].mem, i, rnd(&m->seed))]++;
		if (rnd(&m->seed) % 2)
			usleep(rnd(&m->seed) % 200);
	}
	return NULL;
}

static void test_invalidate_race(void)
{
	struct ir_state *st = calloc(1, sizeof(*st));
	struct ir_worker workers[IR_OBJECTS];
	struct ir_mutator mutators[2] = {};
	pthread_t wt[IR_OBJECTS], mt[2];
	unsigned long reads = 0, writes = 0, efault = 0, ebusy = 0;
	uint8_t *cpu = malloc(IR_PAGES * PAGE);
	int64_t inv = vblit_stat_require("invalidations");
	struct timespec start;

	igt_assert(st && cpu);
	for (unsigned int o = 0; o < IR_OBJECTS; o++) {
		slotted_init(&st->obj[o].mem, o + 1, IR_PAGES, IR_SLOTS);
		st->obj[o].handle = vblit_gem_userptr(fd, st->obj[o].mem.addr,
						      IR_PAGES * PAGE, 0);
		workers[o] = (struct ir_worker){
			.st = st, .o = o, .seed = 0x1001 + o,
			.in = vblit_bo_create(fd, IR_PAGES * PAGE),
			.out = vblit_bo_create(fd, IR_PAGES * PAGE),
		};
		igt_assert_eq(pthread_create(&wt[o], NULL, ir_device_thread, &workers[o]), 0);
	}
	for (unsigned int m = 0; m < 2; m++) {
		mutators[m].st = st;
		mutators[m].seed = 0x2002 + m;
		igt_assert_eq(pthread_create(&mt[m], NULL, ir_mutator_thread, &mutators[m]), 0);
	}

	race_for(IR_MS, &start, &st->stop);
	for (unsigned int m = 0; m < 2; m++)
		pthread_join(mt[m], NULL);
	for (unsigned int o = 0; o < IR_OBJECTS; o++) {
		pthread_join(wt[o], NULL);
		vblit_bo_destroy(fd, &workers[o].in);
		vblit_bo_destroy(fd, &workers[o].out);
	}
	race_joined(&start, IR_MS);

	for (unsigned int o = 0; o < IR_OBJECTS; o++) {
		struct ir_object *ob = &st->obj[o];

		slotted_restore(&ob->mem);
		for (unsigned int i = 0; i < IR_PAGES; i++) {
			check_page(ob->mem.addr + i * PAGE, ob->mem.owner, i,
				   &ob->mem.versions, "CPU read at the end");
			if (ob->writes)
				igt_assert_f(slotted_holds(&ob->mem, i, ob->last_write),
					     "object %u page %u: the last device write (version %u) is in no slot\n",
					     o, i, ob->last_write);
		}
		memcpy(cpu, ob->mem.addr, IR_PAGES * PAGE);
		vblit_device_check_mem(fd, ob->handle, cpu, IR_PAGES * PAGE,
				       "device read at the end");
		reads += ob->reads;
		writes += ob->writes;
		efault += ob->errors[0];
		ebusy += ob->errors[1];
		vblit_gem_close(fd, ob->handle);
		slotted_fini(&ob->mem);
	}
	igt_info("jobs: %lu reads, %lu writes checked; %lu -EFAULT, %lu -EBUSY; mm events: remap %lu, ro %lu, none %lu, dontneed %lu, unmap %lu, pageout %lu, cold %lu; %" PRId64 " invalidations\n",
		 reads, writes, efault, ebusy,
		 mutators[0].ops[0] + mutators[1].ops[0], mutators[0].ops[1] + mutators[1].ops[1],
		 mutators[0].ops[2] + mutators[1].ops[2], mutators[0].ops[3] + mutators[1].ops[3],
		 mutators[0].ops[4] + mutators[1].ops[4], mutators[0].ops[5] + mutators[1].ops[5],
		 mutators[0].ops[6] + mutators[1].ops[6], vblit_stat("invalidations") - inv);
	igt_assert_f(reads && writes, "no job succeeded: the race checked nothing\n");
	free(cpu);
	free(st);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* stress-mm                                                              */

#define SM_CREATORS	3
#define SM_PAGES	16	/* per creator's partition of the arena */
#define SM_MS		4000

struct sm_state {
	struct slotted part[SM_CREATORS];
	atomic_bool stop;
	uint32_t last_write[SM_CREATORS][SM_PAGES];
	unsigned long objects, jobs, errors, unrelated;
};

struct sm_creator {
	struct sm_state *st;
	unsigned int t;
	uint64_t seed;
	struct vblit_bo bo;
	unsigned long objects, jobs, errors;
};

/*
 * Create an object over a random part of the creator's partition (some
 * READ_ONLY, some PROBEd), run one to three jobs on it (some held, one
 * variant closing the object with a read still in flight), close it.
 */
static void *sm_creator_thread(void *data)
{
	struct sm_creator *c = data;
	struct slotted *s = &c->st->part[c->t];
	struct vblit_bo bo = c->bo;

	while (!race_stopped(&c->st->stop)) {
		uint32_t first = rnd(&c->seed) % SM_PAGES;
		uint32_t n = 1 + rnd(&c->seed) % (SM_PAGES - first);
		uint32_t r = rnd(&c->seed), flags = 0, handle;
		unsigned int jobs = 1 + r % 3;
		int err;

		if (r & 8)
			flags |= VBLIT_USERPTR_READ_ONLY;
		if (r & 16)
			flags |= VBLIT_USERPTR_PROBE;
		err = __vblit_gem_userptr(fd, s->addr + first * PAGE, n * PAGE, flags, &handle);
		if (err) {
			/* PROBE meets a page unmapped for a moment. */
			if (!race_check(err == -EFAULT && (flags & VBLIT_USERPTR_PROBE),
					"userptr creation gave %d\n", err))
				break;
			c->errors++;
			continue;
		}
		c->objects++;

		while (jobs--) {
			bool write = !(flags & VBLIT_USERPTR_READ_ONLY) && rnd(&c->seed) % 2;
			bool close_busy = !write && !(rnd(&c->seed) % 8);
			struct drm_vblit_exec exec;
			uint32_t ver = 0;

			if (write) {
				ver = versions_issue(&s->versions);
				for (uint32_t i = 0; i < n; i++)
					tag_page((uint8_t *)bo.map + i * PAGE, s->owner,
						 first + i, ver);
				vblit_exec_init(&exec, VBLIT_OP_COPY, handle, 0,
						bo.handle, 0, n * PAGE);
			} else {
				memset(bo.map, 0, n * PAGE);
				vblit_exec_init(&exec, VBLIT_OP_COPY, bo.handle, 0,
						handle, 0, n * PAGE);
			}
			if (close_busy || !(rnd(&c->seed) % 4)) {
				exec.flags = VBLIT_EXEC_HOLD;
				exec.hold_ms = 1 + rnd(&c->seed) % 5;
			}
			err = __vblit_exec(fd, &exec);
			if (err) {
				if (!race_check(allowed_race_error(err),
						"job in the stress gave %d\n", err))
					break;
				c->errors++;
				continue;
			}
			c->jobs++;
			if (close_busy) {
				/* The object goes with its job in flight. */
				race_check(!__vblit_gem_close(fd, handle), "close failed\n");
				handle = 0;
			}
			err = __vblit_gem_wait(fd, write ? handle : bo.handle,
					       VBLIT_WAIT_TIMEOUT_NS);
			if (!race_check(!err, "waiting for a job: %d\n", err))
				break;
			if (write) {
				for (uint32_t i = 0; i < n; i++)
					c->st->last_write[c->t][first + i] = ver;
			} else {
				for (uint32_t i = 0; i < n; i++)
					if (!page_right((uint8_t *)bo.map + i * PAGE, s->owner,
							first + i, &s->versions,
							"device read in the stress"))
						break;
			}
			if (!handle || atomic_load(&race_failed))
				break;
		}
		if (handle)
			race_check(!__vblit_gem_close(fd, handle), "close failed\n");
	}
	return NULL;
}

struct sm_mutator {
	struct sm_state *st;
	uint64_t seed;
	bool unrelated;
	unsigned long ops;
};

/* mm events on the arena, or churn of unrelated private memory. */
static void *sm_mutator_thread(void *data)
{
	struct sm_mutator *m = data;

	while (!race_stopped(&m->st->stop)) {
		if (m->unrelated) {
			size_t n = 1 + rnd(&m->seed) % 16;
			uint8_t *p = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (!race_check(p != MAP_FAILED, "mmap: %s\n", strerror(errno)))
				break;
			memset(p, 0x5c, n * PAGE);
			mprotect(p, n * PAGE, PROT_READ);
			madvise(p, n * PAGE, rnd(&m->seed) % 2 ? MADV_DONTNEED : MADV_PAGEOUT);
			munmap(p, n * PAGE);
		} else {
			unsigned int t = rnd(&m->seed) % SM_CREATORS;

			slotted_mutate(&m->st->part[t], rnd(&m->seed) % SM_PAGES,
				       rnd(&m->seed));
			if (rnd(&m->seed) % 2)
				usleep(rnd(&m->seed) % 300);
		}
		m->ops++;
	}
	return NULL;
}

static void test_stress_mm(void)
{
	struct sm_state *st = calloc(1, sizeof(*st));
	struct sm_creator creators[SM_CREATORS];
	struct sm_mutator mutators[2];
	pthread_t ct[SM_CREATORS], mt[2];
	uint8_t *cpu = malloc(SM_PAGES * PAGE);
	unsigned long objects = 0, jobs = 0, errors = 0;
	struct timespec start;

	igt_assert(st && cpu);
	for (unsigned int t = 0; t < SM_CREATORS; t++) {
		slotted_init(&st->part[t], 0x10 + t, SM_PAGES, 2);
		creators[t] = (struct sm_creator){
			.st = st, .t = t, .seed = 0x3003 + t,
			.bo = vblit_bo_create(fd, SM_PAGES * PAGE),
		};
		igt_assert_eq(pthread_create(&ct[t], NULL, sm_creator_thread, &creators[t]), 0);
	}
	for (unsigned int m = 0; m < 2; m++) {
		mutators[m] = (struct sm_mutator){ .st = st, .seed = 0x4004 + m, .unrelated = m };
		igt_assert_eq(pthread_create(&mt[m], NULL, sm_mutator_thread, &mutators[m]), 0);
	}
	race_for(SM_MS, &start, &st->stop);
	for (unsigned int m = 0; m < 2; m++)
		pthread_join(mt[m], NULL);
	for (unsigned int t = 0; t < SM_CREATORS; t++) {
		pthread_join(ct[t], NULL);
		vblit_bo_destroy(fd, &creators[t].bo);
	}
	race_joined(&start, SM_MS);

	for (unsigned int t = 0; t < SM_CREATORS; t++) {
		struct slotted *s = &st->part[t];
		uint32_t handle;

		slotted_restore(s);
		for (unsigned int i = 0; i < SM_PAGES; i++) {
			check_page(s->addr + i * PAGE, s->owner, i, &s->versions,
				   "CPU read at the end");
			if (st->last_write[t][i])
				igt_assert_f(slotted_holds(s, i, st->last_write[t][i]),
					     "partition %u page %u: last write (version %u) is in no slot\n",
					     t, i, st->last_write[t][i]);
		}
		handle = vblit_gem_userptr(fd, s->addr, SM_PAGES * PAGE, 0);
		memcpy(cpu, s->addr, SM_PAGES * PAGE);
		vblit_device_check_mem(fd, handle, cpu, SM_PAGES * PAGE,
				       "device read of the partition at the end");
		vblit_gem_close(fd, handle);
		objects += creators[t].objects;
		jobs += creators[t].jobs;
		errors += creators[t].errors;
		slotted_fini(s);
	}
	igt_info("%lu objects, %lu jobs checked, %lu refused; %lu arena events, %lu unrelated cycles\n",
		 objects, jobs, errors, mutators[0].ops, mutators[1].ops);
	igt_assert_f(jobs > 0, "no job succeeded\n");
	free(cpu);
	free(st);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* retry-bounded                                                          */

struct toggler {
	void *addr;
	size_t size;
	atomic_bool stop;
	unsigned long toggles;
};

static void *toggler_thread(void *data)
{
	struct toggler *t = data;

	while (!race_stopped(&t->stop)) {
		int prot = PROT_READ | PROT_WRITE | (t->toggles & 1 ? PROT_EXEC : 0);

		if (!race_check(!mprotect(t->addr, t->size, prot),
				"mprotect: %s\n", strerror(errno)))
			break;
		t->toggles++;
	}
	return NULL;
}

static void test_retry_bounded(void)
{
	const size_t size = 64 * PAGE;
	struct toggler t = { .size = size };
	struct vblit_bo bo = vblit_bo_create(fd, size);
	uint64_t bound = vblit_getparam(fd, VBLIT_PARAM_RETRY_TIMEOUT_MS);
	unsigned long ok = 0, busy = 0;
	int64_t retries, submit_retries, ebusy;
	double worst = 0;
	struct timespec start;
	pthread_t thread;
	uint32_t handle;

	t.addr = vblit_mmap_anon(size);
	handle = vblit_gem_userptr(fd, t.addr, size, 0);
	vblit_fill(fd, handle, 0, size, 0);
	retries = vblit_stat_require("retries");
	submit_retries = vblit_stat_require("submit_retries");
	ebusy = vblit_stat_require("ebusy");

	igt_assert_eq(pthread_create(&thread, NULL, toggler_thread, &t), 0);
	timer_start(&start);
	for (uint32_t i = 1; vblit_elapsed_ms(&start) < 3000; i++) {
		struct timespec sub;
		double ms;
		int err;

		timer_start(&sub);
		if (i % 2)
			err = __vblit_fill(fd, handle, 0, size, i);
		else
			err = __vblit_copy(fd, bo.handle, 0, handle, 0, size);
		ms = vblit_elapsed_ms(&sub);
		worst = ms > worst ? ms : worst;
		igt_assert_f(err == 0 || err == -EBUSY,
			     "submission under mprotect toggling gave %d\n", err);
		igt_assert_f(ms < bound + 2000,
			     "submission took %.0f ms (bound %" PRIu64 " ms)\n", ms, bound);
		if (err) {
			busy++;
			continue;
		}
		ok++;
		vblit_gem_wait(fd, i % 2 ? handle : bo.handle);
		if (i % 2)
			vblit_value_check(t.addr, size, i, "CPU read of a fill under toggling");
		else
			vblit_value_check(bo.map, size, i - 1, "device read under toggling");
	}
	atomic_store(&t.stop, true);
	pthread_join(thread, NULL);
	race_assert_none();

	igt_info("%lu toggles; %lu submissions done, %lu -EBUSY; worst %.1f ms (bound %" PRIu64 " ms); retries +%" PRId64 ", submit_retries +%" PRId64 ", ebusy +%" PRId64 "\n",
		 t.toggles, ok, busy, worst, bound,
		 vblit_stat("retries") - retries, vblit_stat("submit_retries") - submit_retries,
		 vblit_stat("ebusy") - ebusy);
	igt_assert_f(vblit_stat("retries") + vblit_stat("submit_retries") >
		     retries + submit_retries, "no retry counted under toggling\n");
	igt_assert_eq_s64(vblit_stat("ebusy") - ebusy, (int64_t)busy);

	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &bo);
	munmap(t.addr, size);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* collision-progress                                                     */

#define CP_SIZE		(64ul << 20)
#define CP_WINDOW	(2ul << 20)

struct sweeper {
	uint8_t *addr;
	double period_ms;
	atomic_bool started;
	atomic_bool stop;
	unsigned long sweeps;
};

/*
 * Invalidate the object 2 MiB at a time, one window per period, the way a
 * NUMA balancing scan walks memory: toggle the window's protection between
 * read-write and read-write-exec (jobs stay legal).
 */
static void *sweeper_thread(void *data)
{
	struct sweeper *sw = data;
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	atomic_store(&sw->started, true);
	while (!race_stopped(&sw->stop)) {
		size_t w = sw->sweeps % (CP_SIZE / CP_WINDOW);
		int prot = PROT_READ | PROT_WRITE |
			   ((sw->sweeps / (CP_SIZE / CP_WINDOW)) & 1 ? 0 : PROT_EXEC);
		long ns = next.tv_nsec + (long)(sw->period_ms * 1e6);

		if (!race_check(!mprotect(sw->addr + w * CP_WINDOW, CP_WINDOW, prot),
				"mprotect: %s\n", strerror(errno)))
			break;
		sw->sweeps++;
		next.tv_sec += ns / 1000000000;
		next.tv_nsec = ns % 1000000000;
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return NULL;
}

/* Invalidate the whole object, then time one acquisition of it. */
static double cp_full_acquisition_ms(uint8_t *addr, uint32_t handle, uint32_t value)
{
	struct timespec start;

	igt_assert_eq(mprotect(addr, CP_SIZE, PROT_READ), 0);
	igt_assert_eq(mprotect(addr, CP_SIZE, PROT_READ | PROT_WRITE), 0);
	timer_start(&start);
	igt_assert_eq(__vblit_fill(fd, handle, 0, PAGE, value), 0);
	return vblit_elapsed_ms(&start);
}

static void test_collision_progress(void)
{
	struct sweeper sw = {};
	struct vblit_bo bo = vblit_bo_create(fd, PAGE);
	int64_t kept, ebusy, retries;
	struct timespec start;
	double full = 0;
	pthread_t thread;
	uint32_t handle;
	int round;

	sw.addr = vblit_mmap_anon(CP_SIZE);
	igt_assert_eq(madvise(sw.addr, CP_SIZE, MADV_NOHUGEPAGE), 0);
	for (size_t i = 0; i < CP_SIZE; i += PAGE)
		memset(sw.addr + i, (uint8_t)(i / PAGE), PAGE);
	handle = vblit_gem_userptr(fd, sw.addr, CP_SIZE, 0);
	igt_assert_eq(__vblit_fill(fd, handle, 0, PAGE, 0), 0);
	vblit_gem_wait(fd, handle);
	/* The fastest of three: a slow outlier would make the sweep lenient. */
	for (round = 0; round < 3; round++) {
		double ms = cp_full_acquisition_ms(sw.addr, handle, 0);

		vblit_gem_wait(fd, handle);
		full = round ? (ms < full ? ms : full) : ms;
	}
	sw.period_ms = full / 4;
	igt_info("full acquisition of 64 MiB: %.1f ms; one 2 MiB window every %.2f ms\n",
		 full, sw.period_ms);

	/* Required at the end: a kernel without it fails on -EBUSY first. */
	kept = vblit_stat("kept_chunks");
	ebusy = vblit_stat_require("ebusy");
	retries = vblit_stat("retries");
	igt_assert_eq(pthread_create(&thread, NULL, sweeper_thread, &sw), 0);
	while (!atomic_load(&sw.started))
		usleep(1000);
	timer_start(&start);
	/*
	 * At least 20 acquisitions; more (for up to 10 s) until one of them
	 * met the sweep, should the sweeper have been starved of CPU.
	 */
	for (round = 1; round <= 20 ||
	     (vblit_stat("kept_chunks") <= kept && vblit_elapsed_ms(&start) < 10000);
	     round++) {
		size_t page = 1 + round % 32;
		int err;

		igt_assert_eq(mprotect(sw.addr, CP_SIZE, PROT_READ), 0);
		igt_assert_eq(mprotect(sw.addr, CP_SIZE, PROT_READ | PROT_WRITE), 0);
		err = __vblit_fill(fd, handle, page * PAGE, PAGE, 0xa0 + round);
		igt_assert_f(err == 0, "acquisition %d under the sweep gave %d\n", round, err);
		vblit_gem_wait(fd, handle);
		vblit_value_check(sw.addr + page * PAGE, PAGE, 0xa0 + round,
				  "CPU read of a fill under the sweep");
		/* The device reads what the CPU wrote elsewhere in the object. */
		igt_assert_eq(__vblit_copy(fd, bo.handle, 0, handle, 40 * PAGE, PAGE), 0);
		vblit_gem_wait(fd, bo.handle);
		vblit_mem_check(bo.map, sw.addr + 40 * PAGE, PAGE,
				"device read under the sweep");
	}
	atomic_store(&sw.stop, true);
	pthread_join(thread, NULL);
	race_assert_none();

	igt_info("%d acquisitions, %lu windows invalidated; retries +%" PRId64 ", kept_chunks +%" PRId64 ", ebusy +%" PRId64 "\n",
		 round - 1, sw.sweeps, vblit_stat("retries") - retries,
		 vblit_stat("kept_chunks") - kept, vblit_stat("ebusy") - ebusy);
	igt_assert_eq_s64(vblit_stat("ebusy"), ebusy);
	igt_assert_f(vblit_stat_require("kept_chunks") > kept,
		     "no collided round kept a chunk: the sweep never met an acquisition\n");

	vblit_gem_close(fd, handle);
	vblit_bo_destroy(fd, &bo);
	munmap(sw.addr, CP_SIZE);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* remove-vs-invalidate                                                   */

struct blocked_madvise {
	void *addr;
	size_t size;
	int err;
	atomic_bool done;
};

static void *blocked_madvise_thread(void *data)
{
	struct blocked_madvise *b = data;

	b->err = madvise(b->addr, b->size, MADV_DONTNEED) ? -errno : 0;
	atomic_store(&b->done, true);
	return NULL;
}

enum rvi_order {
	RVI_CLOSE_THEN_RELEASE,
	RVI_RELEASE_THEN_CLOSE,
	RVI_CLOSE_FILE,
};

/*
 * One round: a held FILL on an object, an invalidation of its range
 * (MADV_DONTNEED) blocked on it, and the object (or its whole file) closed
 * while that invalidation runs. The fill lands before the pages go: the
 * memory reads zero afterwards.
 */
static void rvi_round(void *ptr, size_t size, enum rvi_order order)
{
	struct blocked_madvise b = { .addr = ptr, .size = size };
	int ofd = order == RVI_CLOSE_FILE ? vblit_open() : fd;
	uint32_t handle = vblit_gem_userptr(ofd, ptr, size, 0);
	pthread_t thread;
	uint64_t job;

	memset(ptr, 0x33, size);
	vblit_device_check_value(ofd, handle, size, 0x33333333, "before the round");
	job = vblit_fill_held(ofd, handle, 0, size, 0x44444444, vblit_hold_ms(ofd, 5000));
	igt_assert_eq(pthread_create(&thread, NULL, blocked_madvise_thread, &b), 0);
	/* No mmap from here until the job is released: the madvise holds mmap_lock. */
	usleep(20 * 1000);
	igt_assert_f(!atomic_load(&b.done), "MADV_DONTNEED did not wait for the held job\n");

	switch (order) {
	case RVI_CLOSE_THEN_RELEASE:
		igt_assert_eq(__vblit_gem_close(ofd, handle), 0);
		usleep(5 * 1000);
		igt_assert_eq(__vblit_job_release(ofd, job), 0);
		break;
	case RVI_RELEASE_THEN_CLOSE:
		igt_assert_eq(__vblit_job_release(ofd, job), 0);
		igt_assert_eq(__vblit_gem_close(ofd, handle), 0);
		break;
	case RVI_CLOSE_FILE:
		close(ofd);
		break;
	}
	pthread_join(thread, NULL);
	igt_assert_eq(b.err, 0);
	vblit_value_check(ptr, size, 0, "memory after the fill and MADV_DONTNEED");
}

struct rvi_churn {
	struct slotted *s;
	atomic_bool stop;
	uint64_t seed;
	unsigned long ops;
};

static void *rvi_churn_thread(void *data)
{
	struct rvi_churn *c = data;

	while (!race_stopped(&c->stop)) {
		slotted_mutate(c->s, rnd(&c->seed) % c->s->npages, rnd(&c->seed));
		c->ops++;
	}
	return NULL;
}

static void test_remove_vs_invalidate(void)
{
	const size_t size = 8 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	struct vblit_bo bo;
	struct rvi_churn churn = { .seed = 0x5005 };
	struct slotted s;
	struct timespec start;
	unsigned long created = 0, used = 0;
	pthread_t thread;

	vblit_require_hold(fd);
	for (int round = 0; round < 4; round++) {
		rvi_round(ptr, size, RVI_CLOSE_THEN_RELEASE);
		rvi_round(ptr, size, RVI_RELEASE_THEN_CLOSE);
		rvi_round(ptr, size, RVI_CLOSE_FILE);
	}
	munmap(ptr, size);

	slotted_init(&s, 0x20, 8, 2);
	churn.s = &s;
	bo = vblit_bo_create(fd, 8 * PAGE);
	igt_assert_eq(pthread_create(&thread, NULL, rvi_churn_thread, &churn), 0);
	timer_start(&start);
	while (vblit_elapsed_ms(&start) < 2000) {
		uint32_t handle = vblit_gem_userptr(fd, s.addr, 8 * PAGE, 0);

		created++;
		memset(bo.map, 0, bo.size);
		if (!__vblit_copy(fd, bo.handle, 0, handle, 0, 8 * PAGE)) {
			/* Closed with the copy maybe still running. */
			vblit_gem_close(fd, handle);
			vblit_gem_wait(fd, bo.handle);
			for (unsigned int i = 0; i < 8; i++)
				check_page((uint8_t *)bo.map + i * PAGE, s.owner, i,
					   &s.versions, "copy of a closed object");
			used++;
		} else {
			vblit_gem_close(fd, handle);
		}
	}
	atomic_store(&churn.stop, true);
	pthread_join(thread, NULL);
	race_assert_none();
	igt_info("churn: %lu objects, %lu used, %lu mm events\n", created, used, churn.ops);
	vblit_bo_destroy(fd, &bo);
	slotted_fini(&s);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* self-invalidation                                                      */

/*
 * After fork, a write acquisition breaks COW on every page, and every COW
 * break invalidates the object's own range: the acquisition must retry
 * and converge (never -EBUSY), the device's data lands in the parent only.
 */
static void self_invalidation_fork(void)
{
	const size_t size = 32 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint32_t handle = vblit_gem_userptr(fd, ptr, size, 0);
	int64_t retries = vblit_stat_require("retries") + vblit_stat("submit_retries");
	struct timespec start;

	madvise(ptr, size, MADV_NOHUGEPAGE);
	timer_start(&start);
	for (uint32_t round = 0; round < 8; round++) {
		int go[2];

		vblit_pattern_write(ptr, size, 0x6000 + round);
		/* Pinned pages would be copied at fork: drop the pins. */
		vblit_device_check_pattern(fd, handle, size, 0x6000 + round, "before fork");
		igt_assert_eq(mprotect(ptr, size, PROT_READ), 0);
		igt_assert_eq(mprotect(ptr, size, PROT_READ | PROT_WRITE), 0);
		igt_assert_eq(pipe(go), 0);
		igt_fork(child, 1) {
			char c;

			close(go[1]);
			igt_assert_eq(read(go[0], &c, 1), 1);
			vblit_pattern_check(ptr, size, 0x6000 + round, "child after the parent's device write");
		}
		close(go[0]);
		vblit_device_write_pattern(fd, handle, size, 0x6100 + round);
		vblit_pattern_check(ptr, size, 0x6100 + round, "parent after its device write");
		igt_assert_eq(write(go[1], "g", 1), 1);
		close(go[1]);
		igt_waitchildren();
	}
	igt_info("8 forks: %" PRId64 " retries in %.0f ms\n",
		 vblit_stat("retries") + vblit_stat("submit_retries") - retries,
		 vblit_elapsed_ms(&start));
	igt_assert_f(vblit_stat("retries") + vblit_stat("submit_retries") > retries,
		     "COW breaks by the acquisition itself caused no retry\n");
	vblit_gem_close(fd, handle);
	munmap(ptr, size);
}

struct unmerger {
	void *addr;
	size_t size;
	int err;
	atomic_bool go;
};

static void *unmerger_thread(void *data)
{
	struct unmerger *u = data;

	while (!atomic_load(&u->go))
		;
	u->err = madvise(u->addr, u->size, MADV_UNMERGEABLE) ? -errno : 0;
	return NULL;
}

/* Fill every page with the same bytes and wait until ksmd merged them. */
static void ksm_wait_merged(uint8_t *ptr, size_t size, uint8_t byte)
{
	struct timespec start;

	memset(ptr, byte, size);
	igt_assert_eq(madvise(ptr, size, MADV_MERGEABLE), 0);
	timer_start(&start);
	while (!vblit_ksm_merged(ptr, size)) {
		igt_assert_f(vblit_elapsed_ms(&start) < 10000,
			     "ksmd did not merge %zu identical pages within 10 s\n",
			     size / PAGE);
		usleep(20 * 1000);
	}
}

/*
 * KSM: a write acquisition over merged pages unshares them, invalidating
 * its own range; and once more with MADV_UNMERGEABLE running at the same
 * time. Both converge, with the device's data in place.
 */
static void self_invalidation_ksm(void)
{
	const size_t size = 16 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint32_t handle;
	struct unmerger u = { .addr = ptr, .size = size };
	pthread_t thread;

	madvise(ptr, size, MADV_NOHUGEPAGE);
	vblit_ksm_start();
	memset(ptr, 1, PAGE);
	igt_require_f(vblit_page_pfn(ptr),
		      "PFNs not readable in /proc/self/pagemap (needs CAP_SYS_ADMIN)\n");
	handle = vblit_gem_userptr(fd, ptr, size, 0);

	/*
	 * ksmd is paused (run=0 keeps merged pages merged) before each write:
	 * flat out, it could merge the unshared pages again faster than the
	 * acquisition unshares them, a race no driver can win.
	 */
	ksm_wait_merged(ptr, size, 0x77);
	vblit_ksm_pause(true);
	vblit_device_write_pattern(fd, handle, size, 0x6200);
	vblit_pattern_check(ptr, size, 0x6200, "after a device write over merged pages");

	vblit_ksm_pause(false);
	ksm_wait_merged(ptr, size, 0x78);
	vblit_ksm_pause(true);
	igt_assert_eq(pthread_create(&thread, NULL, unmerger_thread, &u), 0);
	atomic_store(&u.go, true);
	vblit_device_write_pattern(fd, handle, size, 0x6201);
	pthread_join(thread, NULL);
	igt_assert_eq(u.err, 0);
	vblit_pattern_check(ptr, size, 0x6201, "after a device write racing MADV_UNMERGEABLE");
	vblit_device_check_pattern(fd, handle, size, 0x6201, "device read at the end");
	vblit_ksm_stop();

	vblit_gem_close(fd, handle);
	munmap(ptr, size);
}

/*
 * Two objects over one range after fork: the writable one's acquisition
 * breaks COW under the READ_ONLY one, which then re-acquires the parent's
 * new pages.
 */
static void self_invalidation_cross(void)
{
	const size_t size = 16 * PAGE;
	uint8_t *ptr = vblit_mmap_anon(size);
	uint32_t rw = vblit_gem_userptr(fd, ptr, size, 0);
	uint32_t ro = vblit_gem_userptr(fd, ptr, size, VBLIT_USERPTR_READ_ONLY);
	int go[2];

	vblit_pattern_write(ptr, size, 0x6300);
	igt_assert_eq(pipe(go), 0);
	igt_fork(child, 1) {
		char c;

		close(go[1]);
		igt_assert_eq(read(go[0], &c, 1), 1);
		vblit_pattern_check(ptr, size, 0x6300, "child at the end");
	}
	close(go[0]);
	vblit_device_check_pattern(fd, ro, size, 0x6300, "READ_ONLY object over COW pages");
	vblit_device_write_pattern(fd, rw, size, 0x6301);
	vblit_device_check_pattern(fd, ro, size, 0x6301, "READ_ONLY object after the COW break");
	vblit_pattern_check(ptr, size, 0x6301, "parent");
	igt_assert_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	igt_waitchildren();

	vblit_gem_close(fd, ro);
	vblit_gem_close(fd, rw);
	munmap(ptr, size);
}

/* ---------------------------------------------------------------------- */
/* fork-storm                                                             */

#define FS_PAGES	16
#define FS_MS		4000

struct fs_state {
	uint8_t *ptr;
	uint32_t handle;
	atomic_uint committed;	/* last version known to be in memory */
	atomic_uint issued;	/* last version submitted */
	atomic_bool stop;
	unsigned long forks, failures, exit_busy;
	int status;
};

/*
 * The child of a fork (of a multithreaded parent: raw ioctls, no IGT
 * assertion): its copy must hold one whole version between the committed
 * and the issued one at fork time; the device must read exactly that
 * through the child's own object, on its own file; then exit, sometimes
 * with the object open and a job held on it.
 */
static __noreturn void fs_child(struct fs_state *st, uint32_t low,
					      uint32_t high, bool exit_busy)
{
	uint32_t first = 0, handle, bo;
	uint64_t offset;
	void *map;
	int cfd;

	for (unsigned int i = 0; i < FS_PAGES; i++) {
		uint32_t ver = 0;

		if (tag_check(st->ptr + i * PAGE, 0x30, i, &ver))
			_exit(10);
		if (!i)
			first = ver;
		if (ver != first)
			_exit(11);
	}
	if (first < low || first > high)
		_exit(12);

	cfd = __vblit_open();
	if (cfd < 0 ||
	    __vblit_gem_userptr(cfd, st->ptr, FS_PAGES * PAGE, 0, &handle) ||
	    __vblit_gem_create(cfd, FS_PAGES * PAGE, &bo) ||
	    __vblit_gem_mmap_offset(cfd, bo, &offset))
		_exit(13);
	map = mmap(NULL, FS_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, cfd, offset);
	if (map == MAP_FAILED ||
	    __vblit_copy(cfd, bo, 0, handle, 0, FS_PAGES * PAGE) ||
	    __vblit_gem_wait(cfd, bo, VBLIT_WAIT_TIMEOUT_NS) ||
	    memcmp(map, st->ptr, FS_PAGES * PAGE))
		_exit(14);
	if (exit_busy) {
		struct drm_vblit_exec exec;

		vblit_exec_init(&exec, VBLIT_OP_FILL, handle, 0, 0, 0, PAGE);
		exec.flags = VBLIT_EXEC_HOLD;
		exec.hold_ms = 5;
		if (__vblit_exec(cfd, &exec))
			_exit(15);
	}
	_exit(0);
}

static void *fs_forker_thread(void *data)
{
	struct fs_state *st = data;
	unsigned long n = 0;

	while (!race_stopped(&st->stop)) {
		uint32_t low = atomic_load(&st->committed);
		bool exit_busy = n++ % 3 == 0;
		int status;
		pid_t pid;

		/* The submitter may complete the version in flight meanwhile. */
		pid = fork();
		if (!race_check(pid >= 0, "fork: %s\n", strerror(errno)))
			break;
		if (!pid)
			fs_child(st, low, atomic_load(&st->issued), exit_busy);
		if (!race_check(waitpid(pid, &status, 0) == pid, "waitpid: %s\n",
				strerror(errno)))
			break;
		st->forks++;
		st->exit_busy += exit_busy;
		if (!WIFEXITED(status) || WEXITSTATUS(status)) {
			st->failures++;
			st->status = status;
		}
	}
	return NULL;
}

static void test_fork_storm(void)
{
	struct fs_state st = {};
	struct vblit_bo src = vblit_bo_create(fd, FS_PAGES * PAGE);
	unsigned long ok = 0, busy = 0;
	struct timespec start;
	pthread_t thread;

	st.ptr = vblit_mmap_anon(FS_PAGES * PAGE);
	madvise(st.ptr, FS_PAGES * PAGE, MADV_NOHUGEPAGE);
	for (unsigned int i = 0; i < FS_PAGES; i++)
		tag_page(st.ptr + i * PAGE, 0x30, i, 1);
	atomic_store(&st.committed, 1);
	atomic_store(&st.issued, 1);
	st.handle = vblit_gem_userptr(fd, st.ptr, FS_PAGES * PAGE, 0);

	igt_assert_eq(pthread_create(&thread, NULL, fs_forker_thread, &st), 0);
	timer_start(&start);
	for (uint32_t ver = 2; vblit_elapsed_ms(&start) < FS_MS; ver++) {
		int err;

		for (unsigned int i = 0; i < FS_PAGES; i++)
			tag_page((uint8_t *)src.map + i * PAGE, 0x30, i, ver);
		atomic_store(&st.issued, ver);
		err = __vblit_copy(fd, st.handle, 0, src.handle, 0, FS_PAGES * PAGE);
		if (err) {
			igt_assert_f(err == -EBUSY, "device write during forks gave %d\n", err);
			atomic_store(&st.issued, ver - 1);
			busy++;
			ver--;
			continue;
		}
		vblit_gem_wait(fd, st.handle);
		vblit_mem_check(st.ptr, src.map, FS_PAGES * PAGE, "parent after a device write");
		atomic_store(&st.committed, ver);
		ok++;
	}
	atomic_store(&st.stop, true);
	pthread_join(thread, NULL);
	race_assert_none();

	igt_info("%lu device writes (%lu -EBUSY), %lu forks (%lu exited busy), %lu bad children\n",
		 ok, busy, st.forks, st.exit_busy, st.failures);
	igt_assert_f(!st.failures, "%lu children failed, last status %#x (exit 10: bad page, 11: mixed versions, 12: version out of range, 14: device read differs)\n",
		     st.failures, st.status);
	igt_assert(st.forks > 0 && ok > 0);

	vblit_gem_close(fd, st.handle);
	vblit_bo_destroy(fd, &src);
	munmap(st.ptr, FS_PAGES * PAGE);
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* shared-submitters                                                      */

#define SS_SIZE		(8ul << 20)
#define SS_PAGES	(SS_SIZE / PAGE)
#define SS_MS		4000
#define SS_MAX		4

struct ss_state {
	uint8_t *addr;
	uint32_t handle;
	uint64_t *pattern_hash;	/* per page, before any MADV_DONTNEED */
	uint64_t zero_hash;
	atomic_bool stop;
	unsigned long zaps;
};

struct ss_submitter {
	struct ss_state *st;
	uint64_t seed;
	struct vblit_bo out;
	unsigned long jobs, ebusy;
};

/* 4 KiB CHECKSUMs of random pages: each hash is the page's, or zeros'. */
static void *ss_submitter_thread(void *data)
{
	struct ss_submitter *s = data;
	struct ss_state *st = s->st;

	while (!race_stopped(&st->stop)) {
		size_t p = rnd(&s->seed) % SS_PAGES;
		uint64_t got;
		int err;

		err = __vblit_checksum(fd, s->out.handle, 0, st->handle,
				       p * PAGE, PAGE);
		if (err == -EBUSY) {
			s->ebusy++;
			continue;
		}
		if (!race_check(!err, "CHECKSUM of page %zu gave %d\n", p, err))
			break;
		err = __vblit_gem_wait(fd, s->out.handle, VBLIT_WAIT_TIMEOUT_NS);
		if (!race_check(!err, "waiting for a CHECKSUM: %d\n", err))
			break;
		memcpy(&got, s->out.map, sizeof(got));
		if (!race_check(got == st->pattern_hash[p] || got == st->zero_hash,
				"page %zu hashed to %#" PRIx64 ": neither its data (%#" PRIx64 ") nor zeros\n",
				p, got, st->pattern_hash[p]))
			break;
		s->jobs++;
	}
	return NULL;
}

/* MADV_DONTNEED of one random page at a time: one chunk invalidated. */
static void *ss_zapper_thread(void *data)
{
	struct ss_state *st = data;
	uint64_t seed = 0x5a5a;

	while (!race_stopped(&st->stop)) {
		size_t p = rnd(&seed) % SS_PAGES;

		if (!race_check(!madvise(st->addr + p * PAGE, PAGE, MADV_DONTNEED),
				"MADV_DONTNEED: %s\n", strerror(errno)))
			break;
		st->zaps++;
		usleep(rnd(&seed) % 500);
	}
	return NULL;
}

static void test_shared_submitters(unsigned int nsub)
{
	struct ss_submitter subs[SS_MAX] = {};
	struct ss_state st = {};
	pthread_t sub_t[SS_MAX], zap_t;
	unsigned long jobs = 0, ebusy = 0;
	int64_t pinned0, foll0, kept0, retries0;
	struct timespec start;
	uint8_t zero[PAGE] = {};

	igt_assert(nsub <= SS_MAX);
	pinned0 = vblit_stat_pinned_pages();
	foll0 = vblit_foll_pin_balance();
	kept0 = vblit_stat_require("kept_chunks");
	retries0 = vblit_stat_require("retries");

	st.addr = vblit_mmap_anon(SS_SIZE);
	st.pattern_hash = calloc(SS_PAGES, sizeof(*st.pattern_hash));
	igt_assert(st.pattern_hash);
	vblit_pattern_write(st.addr, SS_SIZE, 0x55);
	for (size_t p = 0; p < SS_PAGES; p++)
		st.pattern_hash[p] = vblit_fnv1a64(st.addr + p * PAGE, PAGE);
	st.zero_hash = vblit_fnv1a64(zero, PAGE);
	st.handle = vblit_gem_userptr(fd, st.addr, SS_SIZE, 0);

	for (unsigned int i = 0; i < nsub; i++) {
		subs[i] = (struct ss_submitter){
			.st = &st, .seed = 0x3003 + i,
			.out = vblit_bo_create(fd, PAGE),
		};
		igt_assert_eq(pthread_create(&sub_t[i], NULL, ss_submitter_thread, &subs[i]), 0);
	}
	igt_assert_eq(pthread_create(&zap_t, NULL, ss_zapper_thread, &st), 0);

	race_for(SS_MS, &start, &st.stop);
	pthread_join(zap_t, NULL);
	for (unsigned int i = 0; i < nsub; i++) {
		pthread_join(sub_t[i], NULL);
		jobs += subs[i].jobs;
		ebusy += subs[i].ebusy;
		vblit_bo_destroy(fd, &subs[i].out);
	}
	race_assert_none();
	igt_info("%u submitters: %lu jobs checked, %lu -EBUSY; %lu MADV_DONTNEED; retries +%" PRId64 ", kept chunks +%" PRId64 "\n",
		 nsub, jobs, ebusy, st.zaps, vblit_stat("retries") - retries0,
		 vblit_stat("kept_chunks") - kept0);

	vblit_gem_close(fd, st.handle);
	munmap(st.addr, SS_SIZE);
	free(st.pattern_hash);

	/* Every job waited for; frees may still be deferred a moment. */
	vblit_stats_wait_idle(5000);
	igt_assert_f(vblit_stat_pinned_pages() == pinned0,
		     "pinned_pages %" PRId64 " after close, %" PRId64 " before: %" PRId64 " pins leaked\n",
		     vblit_stat_pinned_pages(), pinned0,
		     vblit_stat_pinned_pages() - pinned0);
	igt_assert_f(vblit_foll_pin_wait(foll0, 5000),
		     "FOLL_PIN balance %" PRId64 " after close, %" PRId64 " before\n",
		     vblit_foll_pin_balance(), foll0);
	igt_assert_f(jobs > 0, "no job succeeded: the race checked nothing\n");
	vblit_assert_no_leaks();
}

/* ---------------------------------------------------------------------- */
/* The fuzzer                                                             */

/*
 * The fuzzer is a helper program, found as in an IGT install, not through
 * this project's build/ layout: $VBLIT_FUZZER if set, else vblit_fuzz
 * beside this binary (an install puts both in libexec/igt-gpu-tools/),
 * else vblit_fuzz on $PATH. NULL if none is executable.
 */
#define FUZZER_ENV	"VBLIT_FUZZER"
#define FUZZER_NAME	"vblit_fuzz"

static const char *fuzzer_found(char *path, size_t size, const char *dir)
{
	snprintf(path, size, "%s/%s", dir, FUZZER_NAME);
	return access(path, X_OK) == 0 ? path : NULL;
}

static const char *fuzzer_path(void)
{
	static char path[4096];
	const char *env = getenv(FUZZER_ENV);
	char buf[4096], *dir, *save;
	ssize_t len;

	if (env && *env)
		return access(env, X_OK) == 0 ? env : NULL;

	len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (len > 0) {
		buf[len] = '\0';
		if (fuzzer_found(path, sizeof(path), dirname(buf)))
			return path;
	}

	snprintf(buf, sizeof(buf), "%s", getenv("PATH") ?: "");
	for (dir = strtok_r(buf, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
		if (fuzzer_found(path, sizeof(path), dir))
			return path;
	return NULL;
}

/* Skip the subtest, with the reason, where there is no fuzzer. */
static void require_fuzzer(void)
{
	const char *env = getenv(FUZZER_ENV);

	igt_require_f(fuzzer_path(),
		      "no executable %s ($%s %s%s, none beside this test or on $PATH): set $%s to the fuzzer's path (make igt builds build/tools/vblit_fuzz)\n",
		      FUZZER_NAME, FUZZER_ENV, env && *env ? "is " : "unset",
		      env && *env ? env : "", FUZZER_ENV);
}

/* Run the fuzzer; its output goes to the log; assert it exits 0. */
static void run_fuzzer(uint64_t seed, unsigned int seconds, unsigned int procs,
		       unsigned int threads, unsigned int sharers)
{
	const char *path = fuzzer_path();
	char seed_s[32], secs_s[32], procs_s[16], threads_s[16], sharers_s[16];
	char line[1024], last[1024] = "", why[1024] = "";
	int out[2], status;
	FILE *f;
	pid_t pid;

	igt_assert(path);
	snprintf(seed_s, sizeof(seed_s), "%" PRIu64, seed);
	snprintf(secs_s, sizeof(secs_s), "%u", seconds);
	snprintf(procs_s, sizeof(procs_s), "%u", procs);
	snprintf(threads_s, sizeof(threads_s), "%u", threads);
	snprintf(sharers_s, sizeof(sharers_s), "%u", sharers);
	igt_assert_eq(pipe(out), 0);
	pid = fork();
	igt_assert(pid >= 0);
	if (!pid) {
		dup2(out[1], 1);
		dup2(out[1], 2);
		execl(path, path, "--seed", seed_s, "--seconds", secs_s,
		      "--procs", procs_s, "--threads", threads_s,
		      "--sharers", sharers_s, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	igt_assert(f);
	while (fgets(line, sizeof(line), f)) {
		igt_info("%s", line);
		if (!strncmp(line, "fuzz:", 5))
			snprintf(last, sizeof(last), "%s", line);
		/* The first line that says what went wrong is the reason. */
		if (!why[0] && (strstr(line, "VIOLATION in") || strstr(line, "LEAK") ||
				strstr(line, "failed") || strstr(line, "hang") ||
				strstr(line, "fork child")))
			snprintf(why, sizeof(why), "%s", line);
	}
	fclose(f);
	igt_assert_eq(waitpid(pid, &status, 0), pid);
	igt_assert_f(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		     "vblit_fuzz --seed %" PRIu64 " failed (status %#x): %s%s\n",
		     seed, status, why, last);
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : def;
}

igt_main
{
	igt_fixture
		fd = vblit_suite_open(VBLIT_SUITE_USERPTR | VBLIT_SUITE_STATS,
				      NULL);

	igt_describe("Two threads remap, munmap-and-remap, mprotect "
		     "(read-only, none), MADV_DONTNEED, MADV_PAGEOUT and "
		     "MADV_COLD random pages of three objects while a thread "
		     "per object copies them out and in, some jobs held in "
		     "flight: every job either fails with -EFAULT or -EBUSY or "
		     "produced exactly right data (every page read is a whole "
		     "page that was once at that index, and the last write of "
		     "each object is found in its pages' pools), and nothing "
		     "hangs.");
	igt_subtest("invalidate-race")
		test_invalidate_race();

	igt_describe("Three threads create objects over random parts of an "
		     "arena (READ_ONLY and PROBE ones too), submit reads and "
		     "writes (some held, some objects closed with a job in "
		     "flight) and close them, while one thread applies mm "
		     "events to the arena and another churns unrelated private "
		     "memory (mmap, mprotect, madvise, munmap) for 4 s: errors "
		     "only -EFAULT and -EBUSY, every read page right, every "
		     "last write in place, the CPU and the device agree at the "
		     "end, and every object and pin is released.");
	igt_subtest("stress-mm")
		test_stress_mm();

	igt_describe("One thread toggles the protection of a used object's "
		     "range (read-write, read-write-exec: jobs stay legal) in "
		     "a tight loop while fills and copies are submitted on it "
		     "for 3 s: each submission completes (with exactly its "
		     "data) or returns -EBUSY, within "
		     "VBLIT_PARAM_RETRY_TIMEOUT_MS plus scheduling slack; no "
		     "livelock, and the retry counters moved.");
	igt_subtest("retry-bounded")
		test_retry_bounded();

	igt_describe("A 64 MiB object is invalidated 2 MiB at a time, four "
		     "windows per full acquisition of it, while it is acquired "
		     "again, at least 20 times (what automatic NUMA balancing "
		     "does to a large buffer). Every acquisition completes "
		     "without -EBUSY, because the chunks of a collided round "
		     "that no invalidation touched are kept (the kernel's "
		     "kept_chunks counter moves), and the device sees exactly "
		     "the CPU's data. Regression test for the -EBUSY that 64 "
		     "MiB pinned acquisitions got under NUMA balancing when "
		     "every collision threw the round away.");
	igt_subtest("collision-progress")
		test_collision_progress();

	igt_describe("Objects closed while invalidations of their range run "
		     "(the notifier-remove use-after-free class, upstream "
		     "319561669a59): an invalidation blocked on a held job "
		     "while the object is closed before or after the release, "
		     "or its whole file closed; then 2 s of objects created, "
		     "used and closed against a thread applying mm events to "
		     "their range. Data right, no hang, no splat, everything "
		     "released.");
	igt_subtest("remove-vs-invalidate")
		test_remove_vs_invalidate();

	igt_describe("Acquisitions that themselves invalidate their own range "
		     "converge, with the data in place: COW breaks by a write "
		     "acquisition after fork (dynamic subtest fork-cow), KSM "
		     "unsharing by one, also racing MADV_UNMERGEABLE "
		     "(ksm-unmerge), and a writable object's COW break under a "
		     "READ_ONLY object over the same range (cross-object).");
	igt_subtest_with_dynamic("self-invalidation") {
		igt_dynamic("fork-cow")
			self_invalidation_fork();
		igt_dynamic("ksm-unmerge")
			self_invalidation_ksm();
		igt_dynamic("cross-object")
			self_invalidation_cross();
		vblit_assert_no_leaks();
	}

	igt_describe("Several threads (dynamic subtests submitters-2 and "
		     "submitters-4) submit 4 KiB CHECKSUM jobs from random "
		     "pages of one 8 MiB object over anonymous memory while "
		     "another thread drops single pages of it with "
		     "MADV_DONTNEED, for 4 s: every hash is that of the page's "
		     "data or of zeros, and after close the driver's "
		     "pinned-page counter and the kernel's FOLL_PIN balance "
		     "(/proc/vmstat) are back at their starting values. "
		     "Concurrent validations of one object, each colliding "
		     "with invalidations of a few of its chunks, once leaked "
		     "the pins of chunks published by both.");
	igt_subtest_with_dynamic("shared-submitters") {
		for (unsigned int n = 2; n <= SS_MAX; n *= 2)
			igt_dynamic_f("submitters-%u", n)
				test_shared_submitters(n);
	}

	igt_describe("One thread forks children in a loop while the parent "
		     "writes a new version of a 16-page object through the "
		     "device and checks it, for 4 s: every device write is "
		     "exactly in the parent's memory; every child sees one "
		     "whole version (fork waits for the job in flight), reads "
		     "it through its own object, and exits, a third of them "
		     "with the object open and a held job.");
	igt_subtest("fork-storm")
		test_fork_storm();

	igt_describe("tools/vblit_fuzz on fixed seeds (dynamic subtests "
		     "seed-1, seed-2, seed-3), 3 s each with 2 processes of 2 "
		     "threads: random valid and invalid ioctls and mm events "
		     "against shared and private objects, every job's data and "
		     "every errno checked; then seeds 4 and 5 (shared-seed-4, "
		     "shared-seed-5) with 2 sharer threads per process "
		     "submitting on the same objects without the fuzzer's "
		     "region locks while the other threads change their "
		     "mappings. The fuzzer must exit 0, which includes the "
		     "driver's pinned pages and objects and the kernel's "
		     "FOLL_PIN balance back at their starting values. The "
		     "fuzzer is $VBLIT_FUZZER, else vblit_fuzz beside this "
		     "test, else on $PATH; without one the subtest skips.");
	igt_subtest_with_dynamic("fuzz") {
		require_fuzzer();
		for (uint64_t seed = 1; seed <= 3; seed++)
			igt_dynamic_f("seed-%" PRIu64, seed)
				run_fuzzer(seed, 3, 2, 2, 0);
		for (uint64_t seed = 4; seed <= 5; seed++)
			igt_dynamic_f("shared-seed-%" PRIu64, seed)
				run_fuzzer(seed, 3, 2, 2, 2);
		vblit_assert_no_leaks();
	}

	igt_describe("The fuzzer (found as for fuzz) for $VBLIT_FUZZ_SECONDS "
		     "(default 5) with seed $VBLIT_FUZZ_SEED (default 1000), "
		     "$VBLIT_FUZZ_PROCS processes (2) of $VBLIT_FUZZ_THREADS "
		     "threads (2) and $VBLIT_FUZZ_SHARERS sharer threads (1): "
		     "what make fuzz runs (kernel command line KEY=value pairs "
		     "reach the guest's environment); short by default, so "
		     "that make test runs it too.");
	igt_subtest("fuzz-long") {
		require_fuzzer();
		run_fuzzer(env_u64("VBLIT_FUZZ_SEED", 1000),
			   env_u64("VBLIT_FUZZ_SECONDS", 5),
			   env_u64("VBLIT_FUZZ_PROCS", 2),
			   env_u64("VBLIT_FUZZ_THREADS", 2),
			   env_u64("VBLIT_FUZZ_SHARERS", 1));
		vblit_assert_no_leaks();
	}

	igt_fixture
		close(fd);
}
