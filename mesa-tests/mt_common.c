// SPDX-License-Identifier: MIT
/*
 * Helpers shared by the Mesa userptr test programs (see mt_common.h).
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mt_common.h"

/*
 * Case memory lives at addresses of its own, far below where mmap() puts
 * things by default, each used once: once a case unmaps its memory, no
 * later allocation of the driver's (its pools grow with mmap()) can map
 * the range again and turn a hole the kernel must refuse into ordinary
 * memory.
 */
#define MT_ARENA_BASE	0x200000000ull	/* 8 GiB */
#define MT_ARENA_STEP	0x1000000ull	/* 16 MiB apart */

static void *mt_mmap(size_t size, int prot)
{
	static uint64_t next = MT_ARENA_BASE;
	void *want = (void *)(uintptr_t)next;
	void *p;

	next += MT_ARENA_STEP;
	p = mmap(want, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p != want) {
		perror("mmap");
		exit(2);
	}
	return p;
}

unsigned char mt_pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

bool mt_pattern_ok(const unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != mt_pattern(i))
			return false;
	return true;
}

static void mt_fill(unsigned char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = mt_pattern(i);
}

void mt_mem_get(struct mt_mem *mem, enum mt_mem_kind kind, size_t size)
{
	memset(mem, 0, sizeof(*mem));
	mem->size = size;

	switch (kind) {
	case MT_MEM_ALIGNED:
		mem->map_size = size;
		mem->map = mt_mmap(size, PROT_READ | PROT_WRITE);
		mem->ptr = mem->map;
		mt_fill(mem->ptr, size);
		break;
	case MT_MEM_UNALIGNED:
		mem->map_size = size + 2 * MT_PAGE;
		mem->map = mt_mmap(mem->map_size, PROT_READ | PROT_WRITE);
		mem->ptr = (char *)mem->map + MT_UNALIGNED_OFFSET;
		mt_fill(mem->ptr, size);
		break;
	case MT_MEM_UNMAPPED:
		/* Reserve, then release: nothing maps there again. */
		mem->ptr = mt_mmap(size, PROT_NONE);
		munmap(mem->ptr, size);
		break;
	case MT_MEM_READ_ONLY:
		mem->map_size = size;
		mem->map = mt_mmap(size, PROT_READ | PROT_WRITE);
		mem->ptr = mem->map;
		mt_fill(mem->ptr, size);
		if (mprotect(mem->map, size, PROT_READ)) {
			perror("mprotect");
			exit(2);
		}
		break;
	}
}

void mt_mem_put(struct mt_mem *mem)
{
	if (mem->map)
		munmap(mem->map, mem->map_size);
	mem->map = NULL;
}

static void *mt_forward_sym(const char *name)
{
	void *sym = dlsym(RTLD_DEFAULT, name);

	if (!sym)
		fprintf(stderr, "mesa-tests: %s not found: is libvblit_forward.so first in LD_PRELOAD?\n",
			name);
	return sym;
}

bool mt_forward_get(struct vblit_forward_stats *stats)
{
	vblit_forward_get_stats_fn get = mt_forward_sym("vblit_forward_get_stats");

	memset(stats, 0, sizeof(*stats));
	if (!get)
		return false;
	get(stats);
	return true;
}

void mt_forward_reset(void)
{
	vblit_forward_reset_stats_fn reset = mt_forward_sym("vblit_forward_reset_stats");

	if (reset)
		reset();
}

void mt_forward_inject(int err)
{
	vblit_forward_set_inject_fn inject = mt_forward_sym("vblit_forward_set_inject");

	if (inject)
		inject(err);
}

bool mt_probe(void)
{
	struct vblit_forward_stats s;

	return mt_forward_get(&s) && s.probe_offered;
}

const char *mt_probe_name(void)
{
	return mt_probe() ? "probe1" : "probe0";
}

static int mt_saved_stderr = -1;
static FILE *mt_capture_file;

void mt_capture_begin(void)
{
	fflush(stderr);
	mt_capture_file = tmpfile();
	mt_saved_stderr = dup(STDERR_FILENO);
	if (!mt_capture_file || mt_saved_stderr < 0 ||
	    dup2(fileno(mt_capture_file), STDERR_FILENO) < 0) {
		perror("capture stderr");
		exit(2);
	}
}

char *mt_capture_end(void)
{
	long size;
	char *text;

	fflush(stderr);
	dup2(mt_saved_stderr, STDERR_FILENO);
	close(mt_saved_stderr);
	size = ftell(mt_capture_file);
	text = calloc(1, size > 0 ? size + 1 : 1);
	if (size > 0) {
		rewind(mt_capture_file);
		if (fread(text, 1, size, mt_capture_file) != (size_t)size)
			text[0] = '\0';
	}
	fclose(mt_capture_file);
	mt_capture_file = NULL;
	return text;
}

bool mt_log_find(const char *log, const char *a, const char *b,
		 char *line, size_t size)
{
	const char *start, *end;
	size_t len;
	char *copy;
	bool found;

	for (start = log; *start; start = *end ? end + 1 : end) {
		end = strchrnul(start, '\n');
		len = end - start;
		copy = strndup(start, len);
		found = strstr(copy, a) && strstr(copy, b);
		if (found)
			snprintf(line, size, "%s", copy);
		free(copy);
		if (found)
			return true;
	}
	return false;
}

int mt_reexec(int argc, char **argv, const char *env, const char *name)
{
	char **args = calloc(argc + 3, sizeof(*args));
	int status, i;
	pid_t pid;

	for (i = 0; i < argc; i++)
		args[i] = argv[i];
	args[argc] = "--case";
	args[argc + 1] = (char *)name;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		putenv((char *)env);
		execv("/proc/self/exe", args);
		perror("execv");
		_exit(127);
	}
	free(args);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void mt_result(const char *config, const char *name, const char *desc,
	       const char *got, const char *series, const char *pristine)
{
	printf("# %s %s: %s\n", config, name, desc);
	printf("RESULT %s %s got=%s series=%s pristine=%s\n",
	       config, name, got, series, pristine);
	fflush(stdout);
}

void mt_args_parse(struct mt_args *args, int argc, char **argv,
		   const char *lib_opt, const char *label)
{
	*args = (struct mt_args){ .label = label };
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], lib_opt))
			args->lib = argv[i + 1];
		else if (!strcmp(argv[i], "--label"))
			args->label = argv[i + 1];
		else if (!strcmp(argv[i], "--case"))
			args->only = argv[i + 1];
	}
	if (!args->lib) {
		fprintf(stderr, "usage: %s %s PATH --label NAME [--case NAME]\n",
			argv[0], lib_opt);
		exit(2);
	}
}

void mt_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
}
