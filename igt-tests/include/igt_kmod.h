/* SPDX-License-Identifier: MIT */
/*
 * igt_kmod.h: stand-in for upstream's lib/igt_kmod.h (loading and unloading
 * kernel modules), declaring the part the vblit tests use against Debian's
 * libigt.so.0 1.27.1-1. Upstream's igt.h does not include it: a file that
 * calls igt_kmod_*() includes "igt_kmod.h" itself, here and upstream.
 *
 * Upstream's igt_kmod.h reaches more (libkmod.h brings fcntl.h, stdarg.h,
 * inttypes.h); this one reaches only stdbool.h, so a file that includes it
 * still has to include whatever else it uses, which builds either way.
 *
 * Copyright (c) 2026 The drm-userptr authors
 */
#ifndef IGT_KMOD_H
#define IGT_KMOD_H

#include <stdbool.h>

bool igt_kmod_is_loaded(const char *mod_name);
int igt_kmod_load(const char *mod_name, const char *opts);
int igt_kmod_unload(const char *mod_name, unsigned int flags);

#endif /* IGT_KMOD_H */
