/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the Mesa userptr test programs: user memory of every
 * kind, the interposer's statistics, stderr capture, and the RESULT lines
 * that mesa-tests/summarize.py reads.
 *
 * A RESULT line names a configuration ("anv/skl/probe1": driver, platform,
 * whether the kernel advertised I915_USERPTR_PROBE), a case, what happened
 * and what is expected with and without the Mesa series:
 *
 *   RESULT anv/skl/probe0 unmapped got=import:SUCCESS,submit:DEVICE_LOST
 *          series=import:INVALID_EXTERNAL_HANDLE
 *          pristine=import:SUCCESS,submit:DEVICE_LOST
 *
 * (one line). Values are single tokens. The program never judges: the
 * summary knows which build ran.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef MT_COMMON_H
#define MT_COMMON_H

#include <stdbool.h>
#include <stddef.h>

#include "vblit_forward.h"

#define MT_PAGE 4096u
#define MT_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* What a case's user memory is. */
enum mt_mem_kind {
	MT_MEM_ALIGNED,		/* page-aligned anonymous read-write memory */
	MT_MEM_UNALIGNED,	/* the same, MT_UNALIGNED_OFFSET bytes in */
	MT_MEM_UNMAPPED,	/* a hole in the address space */
	MT_MEM_READ_ONLY,	/* a PROT_READ anonymous mapping */
};

#define MT_UNALIGNED_OFFSET 256u

/*
 * struct mt_mem - user memory for one case
 * @ptr: what the case hands to the driver
 * @size: bytes at @ptr
 * @map: the whole mapping (NULL for MT_MEM_UNMAPPED)
 * @map_size: its size
 */
struct mt_mem {
	void *ptr;
	size_t size;
	void *map;
	size_t map_size;
};

/* Gets @size bytes of @kind; the readable kinds are filled with a pattern. */
void mt_mem_get(struct mt_mem *mem, enum mt_mem_kind kind, size_t size);
/* Unmaps what is left of the memory; idempotent. */
void mt_mem_put(struct mt_mem *mem);
/* The pattern byte at @i, and whether @p holds it over @n bytes. */
unsigned char mt_pattern(size_t i);
bool mt_pattern_ok(const unsigned char *p, size_t n);

/*
 * The interposer. mt_forward_get() returns false (and says why on stderr)
 * when the interposer is not preloaded, so that a missing LD_PRELOAD can
 * never pass for a result.
 */
bool mt_forward_get(struct vblit_forward_stats *stats);
void mt_forward_reset(void);
void mt_forward_inject(int err);

/*
 * "probe1" or "probe0": whether the kernel, as the interposer shows it,
 * has I915_USERPTR_PROBE (whether or not the driver asks).
 */
const char *mt_probe_name(void);
bool mt_probe(void);

/* Redirects stderr into memory until mt_capture_end(), which returns it. */
void mt_capture_begin(void);
char *mt_capture_end(void);

/*
 * Finds a line of @log holding both @a and @b; copies it (without the
 * newline, truncated) to @line.
 */
bool mt_log_find(const char *log, const char *a, const char *b,
		 char *line, size_t size);

/*
 * Runs this program again with the extra environment @env ("NAME=value")
 * and arguments "--case @name" appended to the original ones; returns its
 * exit status. Used for cases that need a process-wide setting such as
 * INTEL_DEBUG, which Mesa parses once.
 */
int mt_reexec(int argc, char **argv, const char *env, const char *name);

/*
 * The programs' arguments: @lib_opt PATH, the Mesa library to load
 * (required), --label NAME (the configuration's first part, default
 * @label) and --case NAME (run only that case). Exits 2 with a usage line
 * when PATH is missing.
 */
struct mt_args {
	const char *lib, *label, *only;
};

void mt_args_parse(struct mt_args *args, int argc, char **argv,
		   const char *lib_opt, const char *label);

/* Prints a description line and the RESULT line of one case. */
void mt_result(const char *config, const char *name, const char *desc,
	       const char *got, const char *series, const char *pristine);

/* Prints "# ..." to stdout, for the log. */
void mt_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* MT_COMMON_H */
