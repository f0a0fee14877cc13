// SPDX-License-Identifier: MIT
/*
 * gl_pinned: GL_AMD_pinned_memory buffers (gallium's
 * resource_from_user_memory) on iris and crocus, run under
 * intel_noop_drm_shim with libvblit_forward.so in front of it, so that the
 * userptr ioctls Mesa issues get the real kernel's answers.
 *
 *   gl_pinned --egl .../libEGL.so.1 --label crocus/hsw [--case NAME]
 *
 * A surfaceless EGL context (no window system) on the shim's render node;
 * libEGL is loaded with dlopen so that the same binary runs against both
 * Mesa builds. See mt_common.h for the RESULT lines.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/gl.h>
#include <GL/glext.h>

#include "mt_common.h"

#ifndef GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD
#define GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD 0x9160
#endif
#define TARGET GL_EXTERNAL_VIRTUAL_MEMORY_BUFFER_AMD

/* GL 1.0 entry points have no PFN types in glext.h. */
typedef GLenum (*PFNGLGETERRORPROC)(void);
typedef const GLubyte *(*PFNGLGETSTRINGPROC)(GLenum name);
typedef void (*PFNGLFINISHPROC)(void);

#define GL_SIZE (64u * 1024)
/* Not a multiple of the page size either. */
#define GL_UNALIGNED_SIZE 10000u

struct gl {
	char config[96];
	const char *driver;	/* "iris" or "crocus" */
	PFNGLGENBUFFERSPROC GenBuffers;
	PFNGLDELETEBUFFERSPROC DeleteBuffers;
	PFNGLBINDBUFFERPROC BindBuffer;
	PFNGLBUFFERDATAPROC BufferData;
	PFNGLBUFFERSUBDATAPROC BufferSubData;
	PFNGLGETBUFFERSUBDATAPROC GetBufferSubData;
	PFNGLGETERRORPROC GetError;
	PFNGLGETSTRINGPROC GetString;
	PFNGLFINISHPROC Finish;
};

static void die(const char *what)
{
	fprintf(stderr, "gl_pinned: %s failed\n", what);
	exit(2);
}

static const char *gl_error_name(GLenum e)
{
	static char other[32];

	switch (e) {
	case GL_NO_ERROR: return "NO_ERROR";
	case GL_INVALID_OPERATION: return "INVALID_OPERATION";
	case GL_INVALID_VALUE: return "INVALID_VALUE";
	case GL_INVALID_ENUM: return "INVALID_ENUM";
	case GL_OUT_OF_MEMORY: return "OUT_OF_MEMORY";
	default:
		snprintf(other, sizeof(other), "GLenum%#x", e);
		return other;
	}
}

static void gl_init(struct gl *gl, const char *egl_path, const char *label)
{
	PFNEGLGETPLATFORMDISPLAYEXTPROC get_display;
	PFNEGLGETPROCADDRESSPROC get_proc;
	PFNEGLINITIALIZEPROC initialize;
	PFNEGLBINDAPIPROC bind_api;
	PFNEGLCREATECONTEXTPROC create_context;
	PFNEGLMAKECURRENTPROC make_current;
	const char *renderer, *exts;
	EGLDisplay dpy;
	EGLContext ctx;
	void *egl;

	egl = dlopen(egl_path, RTLD_NOW | RTLD_GLOBAL);
	if (!egl) {
		fprintf(stderr, "gl_pinned: %s\n", dlerror());
		exit(2);
	}
	get_proc = (PFNEGLGETPROCADDRESSPROC)dlsym(egl, "eglGetProcAddress");
	if (!get_proc)
		die("finding eglGetProcAddress");
#define EGL_FN(var, type, name) \
	do { var = (type)get_proc(name); if (!var) die(name); } while (0)
	EGL_FN(get_display, PFNEGLGETPLATFORMDISPLAYEXTPROC, "eglGetPlatformDisplayEXT");
	EGL_FN(initialize, PFNEGLINITIALIZEPROC, "eglInitialize");
	EGL_FN(bind_api, PFNEGLBINDAPIPROC, "eglBindAPI");
	EGL_FN(create_context, PFNEGLCREATECONTEXTPROC, "eglCreateContext");
	EGL_FN(make_current, PFNEGLMAKECURRENTPROC, "eglMakeCurrent");

	dpy = get_display(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
	if (dpy == EGL_NO_DISPLAY || !initialize(dpy, NULL, NULL))
		die("eglInitialize (surfaceless)");
	if (!bind_api(EGL_OPENGL_API))
		die("eglBindAPI");
	ctx = create_context(dpy, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, NULL);
	if (ctx == EGL_NO_CONTEXT)
		die("eglCreateContext");
	if (!make_current(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx))
		die("eglMakeCurrent");

	EGL_FN(gl->GenBuffers, PFNGLGENBUFFERSPROC, "glGenBuffers");
	EGL_FN(gl->DeleteBuffers, PFNGLDELETEBUFFERSPROC, "glDeleteBuffers");
	EGL_FN(gl->BindBuffer, PFNGLBINDBUFFERPROC, "glBindBuffer");
	EGL_FN(gl->BufferData, PFNGLBUFFERDATAPROC, "glBufferData");
	EGL_FN(gl->BufferSubData, PFNGLBUFFERSUBDATAPROC, "glBufferSubData");
	EGL_FN(gl->GetBufferSubData, PFNGLGETBUFFERSUBDATAPROC, "glGetBufferSubData");
	EGL_FN(gl->GetError, PFNGLGETERRORPROC, "glGetError");
	EGL_FN(gl->GetString, PFNGLGETSTRINGPROC, "glGetString");
	EGL_FN(gl->Finish, PFNGLFINISHPROC, "glFinish");

	renderer = (const char *)gl->GetString(GL_RENDERER);
	exts = (const char *)gl->GetString(GL_EXTENSIONS);
	mt_note("%s: %s", label, renderer ? renderer : "?");
	if (!exts || !strstr(exts, "GL_AMD_pinned_memory")) {
		fprintf(stderr, "gl_pinned: %s lacks GL_AMD_pinned_memory\n", label);
		exit(2);
	}
	gl->driver = strstr(label, "crocus") ? "crocus" : "iris";
}

/*
 * Makes a pinned buffer of @mem; returns the GL error and the buffer name
 * in @buf (0 on failure).
 */
static GLenum gl_pin(struct gl *gl, struct mt_mem *mem, GLuint *buf)
{
	GLenum err;

	while (gl->GetError() != GL_NO_ERROR)
		;
	gl->GenBuffers(1, buf);
	gl->BindBuffer(TARGET, *buf);
	gl->BufferData(TARGET, mem->size, mem->ptr, GL_STREAM_DRAW);
	err = gl->GetError();
	if (err != GL_NO_ERROR) {
		gl->DeleteBuffers(1, buf);
		*buf = 0;
	}
	return err;
}

static void gl_unpin(struct gl *gl, GLuint buf)
{
	gl->BindBuffer(TARGET, 0);
	if (buf)
		gl->DeleteBuffers(1, &buf);
	gl->Finish();
}

/*
 * The buffer is the user's memory, at the user's offset: reads through GL
 * see the pattern from its first byte, and a write through GL lands in the
 * user's memory at the same offset.
 */
static bool gl_data_ok(struct gl *gl, struct mt_mem *mem)
{
	static const unsigned char word[4] = { 'W', 'X', 'Y', 'Z' };
	unsigned char *user = mem->ptr;
	unsigned char head[64], tail[64];
	size_t at = mem->size - sizeof(tail);

	gl->GetBufferSubData(TARGET, 0, sizeof(head), head);
	gl->GetBufferSubData(TARGET, at, sizeof(tail), tail);
	if (memcmp(head, user, sizeof(head)) || memcmp(tail, user + at, sizeof(tail)) ||
	    !mt_pattern_ok(head, sizeof(head)))
		return false;
	gl->BufferSubData(TARGET, 8, sizeof(word), word);
	gl->Finish();
	return !memcmp(user + 8, word, sizeof(word)) && gl->GetError() == GL_NO_ERROR;
}

/*
 * struct gl_case - one pinned-memory scenario
 * @want: expected result, [with the series][kernel advertises PROBE]; a
 *	NULL @want_crocus means the same as @want
 */
struct gl_case {
	const char *name;
	const char *desc;
	enum mt_mem_kind kind;
	size_t size;
	int inject;
	const char *want[2][2];
	const char *want_crocus[2][2];
};

#define PIN_OK "buffer:NO_ERROR,data:ok"
#define PIN_BAD "buffer:INVALID_OPERATION"
#define PIN_OOM "buffer:OUT_OF_MEMORY"

static const struct gl_case gl_cases[] = {
	{ "aligned", "a page-aligned buffer pins, and reads and writes go to the user's memory",
	  MT_MEM_ALIGNED, GL_SIZE, 0,
	  { { PIN_OK, PIN_OK }, { PIN_OK, PIN_OK } }, { { NULL } } },
	{ "unaligned", "an unaligned pointer and size pin (crocus: only since the series; before, the kernel's EINVAL)",
	  MT_MEM_UNALIGNED, GL_UNALIGNED_SIZE, 0,
	  { { PIN_OK, PIN_OK }, { PIN_OK, PIN_OK } },
	  { { PIN_BAD, PIN_BAD }, { PIN_OK, PIN_OK } } },
	{ "unmapped", "a hole is refused: GL_INVALID_OPERATION",
	  MT_MEM_UNMAPPED, GL_SIZE, 0,
	  { { PIN_BAD, PIN_BAD }, { PIN_BAD, PIN_BAD } }, { { NULL } } },
	{ "out-of-memory", "the kernel's ENOMEM (injected) is GL_OUT_OF_MEMORY, not GL_INVALID_OPERATION",
	  MT_MEM_ALIGNED, GL_SIZE, ENOMEM,
	  { { PIN_BAD, PIN_BAD }, { PIN_OOM, PIN_OOM } }, { { NULL } } },
};

static void gl_run_case(struct gl *gl, const struct gl_case *c)
{
	const bool crocus = !strcmp(gl->driver, "crocus");
	const int probe = mt_probe();
	const char *series = c->want[1][probe], *pristine = c->want[0][probe];
	struct mt_mem mem;
	char got[96];
	GLuint buf;
	GLenum err;

	if (crocus && c->want_crocus[0][0]) {
		series = c->want_crocus[1][probe];
		pristine = c->want_crocus[0][probe];
	}

	mt_mem_get(&mem, c->kind, c->size);
	mt_forward_inject(c->inject);
	err = gl_pin(gl, &mem, &buf);
	mt_forward_inject(0);
	if (err == GL_NO_ERROR)
		snprintf(got, sizeof(got), "buffer:NO_ERROR,data:%s",
			 gl_data_ok(gl, &mem) ? "ok" : "bad");
	else
		snprintf(got, sizeof(got), "buffer:%s", gl_error_name(err));
	gl_unpin(gl, buf);
	mt_mem_put(&mem);

	mt_result(gl->config, c->name, c->desc, got, series, pristine);
}

/* The pin's USERPTR ioctl reached the kernel and was answered by it. */
static void gl_case_forwarded(struct gl *gl)
{
	struct vblit_forward_stats s;
	struct mt_mem mem;
	GLuint buf;
	bool ok;

	mt_mem_get(&mem, MT_MEM_ALIGNED, GL_SIZE);
	mt_forward_reset();
	ok = gl_pin(gl, &mem, &buf) == GL_NO_ERROR;
	ok &= mt_forward_get(&s) && s.userptr_calls == 1 &&
	      !s.userptr_kernel_errors && !s.userptr_injected;
	gl_unpin(gl, buf);
	mt_forward_get(&s);
	ok &= s.closes == 1;
	mt_mem_put(&mem);

	mt_result(gl->config, "forwarded",
		  "the pin's USERPTR and the delete's GEM_CLOSE reached vblit",
		  ok ? "kernel" : "not-forwarded", "kernel", "kernel");
}

/*
 * How the driver checks a range: with PROBE at creation when the kernel has
 * it, else by making the kernel acquire the pages (SET_DOMAIN). crocus only
 * knew the latter before the series.
 */
static void gl_case_validation(struct gl *gl)
{
	static const char *const how[2] = {
		"userptr:plain,validate:SET_DOMAIN",
		"userptr:PROBE,validate:none",
	};
	const bool crocus = !strcmp(gl->driver, "crocus");
	const int probe = mt_probe();
	struct vblit_forward_stats s;
	struct mt_mem mem;
	char got[96];
	GLuint buf;

	mt_mem_get(&mem, MT_MEM_ALIGNED, GL_SIZE);
	mt_forward_reset();
	gl_pin(gl, &mem, &buf);
	mt_forward_get(&s);
	snprintf(got, sizeof(got), "userptr:%s,validate:%s",
		 s.userptr_probe_flags ? "PROBE" : "plain",
		 s.set_domain_validations ? "SET_DOMAIN" : "none");
	gl_unpin(gl, buf);
	mt_mem_put(&mem);

	mt_result(gl->config, "validation",
		  "PROBE at creation when the kernel has it, else SET_DOMAIN (crocus: PROBE only since the series)",
		  got, how[probe], crocus ? how[0] : how[probe]);
}

/*
 * Run in a child with INTEL_DEBUG=buf (Mesa reads it once per process),
 * whose whole stderr is captured: that flag makes the drivers chatty. A
 * refused pin is logged with the kernel's errno.
 */
static void gl_case_error_logged(struct gl *gl, const char *egl, const char *label)
{
	char *log, line[256];
	struct mt_mem mem;
	GLuint buf;
	bool logged;

	mt_capture_begin();
	gl_init(gl, egl, label);
	mt_mem_get(&mem, MT_MEM_UNMAPPED, GL_SIZE);
	gl_pin(gl, &mem, &buf);
	gl_unpin(gl, buf);
	log = mt_capture_end();
	snprintf(gl->config, sizeof(gl->config), "%s/%s", label, mt_probe_name());

	logged = mt_log_find(log, "bo_create_userptr", strerror(EFAULT),
			     line, sizeof(line));
	if (logged)
		mt_note("logged: %s", line);
	free(log);

	mt_result(gl->config, "error-logged",
		  "with INTEL_DEBUG=buf a refused pin is logged with the kernel's errno",
		  logged ? "log:yes" : "log:no", "log:yes", "log:no");
}

int main(int argc, char **argv)
{
	struct gl gl = { 0 };
	struct mt_args args;
	unsigned int i;

	mt_args_parse(&args, argc, argv, "--egl", "gl");
	if (args.only && !strcmp(args.only, "error-logged")) {
		gl_case_error_logged(&gl, args.lib, args.label);
		return 0;
	}

	gl_init(&gl, args.lib, args.label);
	snprintf(gl.config, sizeof(gl.config), "%s/%s", args.label, mt_probe_name());
	gl_case_forwarded(&gl);
	gl_case_validation(&gl);
	for (i = 0; i < MT_ARRAY_SIZE(gl_cases); i++)
		gl_run_case(&gl, &gl_cases[i]);
	mt_reexec(argc, argv, "INTEL_DEBUG=buf", "error-logged");
	return 0;
}
