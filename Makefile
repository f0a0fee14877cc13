# SPDX-License-Identifier: MIT
#
# drm-userptr: GEM userptr helper, the vblit virtual render driver, IGT tests.
#
#   make run      build, boot Debian's 6.12 kernel under QEMU, run the demo
#   make test     build, boot 6.12 and 6.1, run every IGT suite in both
#                 userptr backings, compile the files the Mesa series touches,
#                 run i915's mock selftests (make test-i915);
#                 ends with "N passed, N failed, N skipped"
#
#   make vm-exec CMD='<program> <args>' [KERNEL=6.12|6.1|debug]
#                 [BACKING=pinned|unpinned|deferred]
#                 boot a guest with the modules loaded, run the command,
#                 then the end-of-pass checks; exits with its status
#
# Other targets: deps, modules, igt, vm-test KERNEL=6.12|6.1, check,
# install (DKMS), fuzz, debug-kernel, test-debug, bench, test-mesa, i915,
# test-i915, clean.
SHELL := /bin/bash
KERNELS ?= 6.12 6.1
KERNEL ?= 6.12
BACKING ?= pinned

.PHONY: all deps modules igt vm-test vm-exec test run check install clean \
	fuzz debug-kernel test-debug bench test-mesa i915 test-i915

all: modules igt

deps:
	@scripts/deps.sh

modules: deps
	@KERNELS="$(KERNELS)" scripts/build-modules.sh

igt: deps
	@$(MAKE) -s -C igt-tests O=$(CURDIR)/build/igt
	@$(MAKE) -s -C tools O=$(CURDIR)/build/tools

vm-test: modules igt
	@scripts/vm-run.sh $(KERNEL) test

# Any command in a guest of one kernel, the modules loaded as production
# loads them (no test hooks), in the current directory; its output as it
# comes, then the checks of a test pass (counters, FOLL_PIN balance,
# unload, dmesg). CMD reaches bash in the guest verbatim (dollars and
# quotes included). KERNEL=debug: the checking kernel of make debug-kernel
# (built on first use, like make test-debug).
vm-exec: export VM_CMD = $(value CMD)
vm-exec:
	@[ -n "$$VM_CMD" ] || { echo "usage: make vm-exec CMD='<program> <args>' [KERNEL=6.12|6.1|debug] [BACKING=pinned|unpinned|deferred]" >&2; exit 2; }
	@if [ "$(KERNEL)" = debug ]; then \
		KERNELS=6.12 scripts/deps.sh && scripts/debug-kernel.sh; \
	else \
		KERNELS=$(KERNEL) scripts/deps.sh; \
	fi
	@KERNELS=$(KERNEL) scripts/build-modules.sh
	@PASSES="$(BACKING)" scripts/vm-run.sh $(KERNEL) exec

# i915's plain module and mock selftests (make test-i915) need 6.12.
I915_TEST := $(if $(filter 6.12,$(KERNELS)),i915)

test: modules igt $(I915_TEST)
	@start=$$(date +%s); rc=0; \
	for k in $(KERNELS); do \
		echo "[test] ==== kernel $$k ===="; \
		scripts/vm-run.sh $$k test || rc=1; \
	done; \
	$(if $(I915_TEST),echo "[test] ==== i915 on 6.12 (make test-i915) ===="; \
	scripts/vm-run.sh 6.12 i915 || rc=1;) \
	echo "[test] total $$(( $$(date +%s) - start )) s in the guests"; \
	echo "[test] ==== mesa (compile-only; make test-mesa runs the tier) ===="; \
	scripts/mesa-compile-check.sh || rc=1; \
	python3 igt-tests/runner/summarize.py --combine \
		$(foreach k,$(KERNELS),build/results/$(k)/results.json) \
		$(if $(I915_TEST),build/results/i915/results.json) \
		build/results/mesa/results.json || rc=1; \
	exit $$rc

# The demo in both backings, then a short benchmark run (one round, one
# repetition, reduced sizes) and its one-screen summary; make bench runs
# the full measurement.
run: modules igt
	@PASSES="pinned unpinned" scripts/vm-run.sh $(KERNEL) demo
	@echo "[run] short benchmark (make bench for the full one)"
	@KERNEL=$(KERNEL) BENCH_ROUNDS=1 BENCH_REPS=1 BENCH_SCALE=0.2 \
		scripts/bench.sh >build/bench-run.log 2>&1 || \
		{ tail -n 30 build/bench-run.log; exit 1; }
	@cat build/bench/summary.txt

# Long fuzzing run: make fuzz SECONDS=N SEED=S [KERNEL=6.12]
fuzz: modules igt
	@scripts/fuzz.sh

# The checking kernel (lockdep, KASAN, DEBUG_VM, fault injection) and the
# suites on it.
debug-kernel: deps
	@scripts/debug-kernel.sh

test-debug: deps
	@scripts/test-debug.sh

# Benchmarks: ratios measured in one VM run; they never fail make test.
bench: modules igt
	@scripts/bench.sh

# Mesa's userptr paths against the real kernel (see docs/mesa.md).
test-mesa: modules igt
	@scripts/mesa-test.sh

# i915 6.12 out of tree with kernel-patches/i915, and its plain module and
# mock selftests in a 6.12 guest (see docs/i915.md).
i915: deps
	@scripts/i915-build.sh

test-i915: i915
	@scripts/vm-run.sh 6.12 i915

check: deps
	@scripts/check-style.sh

install:
	@scripts/dkms-install.sh

clean:
	rm -rf build
