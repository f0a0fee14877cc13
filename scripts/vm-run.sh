#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot one Debian kernel under QEMU/TCG with the project's modules and run
# the IGT suites (or the demo) in it; bring the results back over 9p.
#
# usage: vm-run.sh KERNEL [MODE]
#   KERNEL  6.12 | 6.1 | debug  (build/kernels/<KERNEL>.env from make deps,
#           or make debug-kernel)
#   MODE    test (default) | demo | bench | mesa | exec | i915 (6.12 only,
#           results in build/results/i915: scripts/i915-guest.sh)
# env: SUITES="vblit_basic ..." (default all), PASSES="pinned unpinned
#      legacy:vblit_userptr aligned:vblit_userptr" (a pass is a backing,
#      or "deferred": backing=pinned release=deferred, not run by default;
#      optionally with its own suites after a colon, joined by +),
#      VM_TIMEOUT seconds (default 1500), VM_APPEND extra kernel arguments,
#      VM_SHARE results folder (default build/vm/KERNEL/share, for exec
#      build/vm/KERNEL/share-exec).
#
# exec (make vm-exec): VM_CMD, a bash command line, runs in the guest in
# the current directory (PASSES default "pinned": one backing), its output
# streamed here as it comes; then the end-of-pass checks. Exits with the
# command's status, or 1 if it succeeded but a check failed or the guest
# did not reach its end.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:?usage: vm-run.sh KERNEL [MODE]}
mode=${2:-test}
# shellcheck disable=SC1090
. "$top/build/kernels/$kernel.env"

vm="$top/build/vm/$kernel"
if [ "$mode" = exec ]; then
	share=${VM_SHARE:-$vm/share-exec}
	[ -n "${VM_CMD:-}" ] || { echo "vm-run.sh: exec needs VM_CMD (make vm-exec CMD='...')" >&2; exit 2; }
else
	share=${VM_SHARE:-$vm/share}
fi
log="$vm/serial-$mode.log"
rm -rf "$share"
mkdir -p "$share" "$vm"

# Initramfs: busybox, the 9p/virtio modules (decompressed), /init.
# Rebuilt only when the kernel or the init script changes.
key=$(cat "$top/scripts/initramfs-init" /bin/busybox | sha1sum | cut -c1-12)
initrd="$vm/initramfs-$KV-$key.cpio.gz"
if [ ! -f "$initrd" ]; then
	echo "[vm $kernel] building initramfs"
	stage=$(mktemp -d)
	trap 'rm -rf "$stage"' EXIT
	mkdir -p "$stage"/{bin,dev,proc,sys,lib/mod,newroot,tmp}
	cp /bin/busybox "$stage/bin/busybox"
	cp "$top/scripts/initramfs-init" "$stage/init"
	: >"$stage/modules.list"
	for m in virtio_pci 9pnet_virtio 9p; do
		modprobe -d "$KTREE" -S "$KV" --show-depends "$m" | awk '$1 == "insmod" {print $2}'
	done | awk '!seen[$0]++' | while read -r path; do
		name=$(basename "$path")
		case "$name" in
		*.xz) xz -dc "$path" >"$stage/lib/mod/${name%.xz}"; name=${name%.xz} ;;
		*.zst) zstd -qdc "$path" >"$stage/lib/mod/${name%.zst}"; name=${name%.zst} ;;
		*) cp "$path" "$stage/lib/mod/$name" ;;
		esac
		echo "$name" >>"$stage/modules.list"
	done
	rm -f "$vm"/initramfs-*.cpio.gz
	(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
fi

moddir="$top/build/modules/$kernel/drm-userptr"
append="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 loglevel=6"
append+=" PROJECT=$top KSERIES=$kernel KV=$KV KTREE=$KTREE MODDIR=$moddir"
# The kernel command line has no quoting: lists travel comma-separated.
# The comparators run the functional userptr suite only: they exist for
# benchmarks and must work, but the mm-event and race suites are for the
# production backings.
passes=${PASSES:-pinned unpinned legacy:vblit_userptr aligned:vblit_userptr}
qemu_extra=()
if [ "$mode" = exec ]; then
	passes=${PASSES:-pinned}
	# The command line travels in the share, not on the kernel's.
	printf '%s\n' "$VM_CMD" >"$share/exec-cmd"
	pwd >"$share/exec-cwd"
	# The command's output: the guest's second serial port, a file here.
	out="$vm/exec-output.log"
	: >"$out"
	# Both ports named: ttyS0 stays the console (and monitor) on stdio.
	chardev="file,id=execout,path=$out,append=on"
	qemu_extra=(-serial mon:stdio -chardev "$chardev" -serial chardev:execout)
	# The checking kernel's boot arguments (scripts/test-debug.sh says why).
	[ "$kernel" = debug ] && append+=" acpi=noirq numa_balancing=disable kmemleak=off"
fi
suites=${SUITES:-all}
append+=" MODE=$mode PASSES=${passes// /,} SUITES=${suites// /,}"
append+=" ${VM_APPEND:-}"

# One line on why a guest did not reach its end: the init's own message,
# or the panic with the report that caused it and what the guest was
# doing (the stage guest-run.sh records in the share), or the timeout.
guest_failure() { # QEMU's exit status
	local fatal stage panic
	fatal=$(grep -a -m1 'init: FATAL:' "$log" | tr -d '\r')
	if [ -n "$fatal" ]; then
		echo "guest init failed: ${fatal#*init: FATAL: }"
		return
	fi
	stage=$(cat "$share/stage" 2>/dev/null || echo "boot")
	# A WARN's own message comes between "cut here" and "WARNING:".
	panic=$(tr -d '\r' <"$log" | awk '
		{ sub(/^\[ *[0-9.]+\] /, "") }
		/WARNING:|BUG:|Oops|general protection fault|KASAN|KFENCE|UBSAN|hung_task|soft lockup|detected stall/ {
			report = $0
			if (prev2 ~ /cut here/ && prev !~ /WARNING:/)
				report = report " (" prev ")"
		}
		/Kernel panic - not syncing/ {
			print (report != "" ? report "; " : "") $0
			exit
		}
		{ prev2 = prev; prev = $0 }')
	if [ -n "$panic" ]; then
		echo "guest panicked during $stage: $panic"
	elif [ "$1" = 124 ] || [ "$1" = 137 ]; then
		echo "guest timed out after ${VM_TIMEOUT:-1500} s (VM_TIMEOUT) during $stage"
	else
		echo "guest stopped during $stage without finishing (QEMU exit status $1)"
	fi
}

echo "[vm $kernel] booting $KV (mode $mode, serial log: ${log#"$top"/})"
start=$(date +%s)
start_ns=$(date +%s.%N)
set +e
timeout --foreground -k 10 "${VM_TIMEOUT:-1500}" qemu-system-x86_64 \
	-accel tcg -m 2G -nographic -no-reboot \
	-smp 2,sockets=2,cores=1,threads=1 \
	-object memory-backend-ram,id=m0,size=1G \
	-object memory-backend-ram,id=m1,size=1G \
	-numa node,nodeid=0,cpus=0,memdev=m0 \
	-numa node,nodeid=1,cpus=1,memdev=m1 \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$share,mount_tag=results,security_model=none,multidevs=remap" \
	-kernel "$VMLINUZ" -initrd "$initrd" -append "$append" \
	"${qemu_extra[@]}" </dev/null >"$log" 2>&1 &
qemu=$!
# A background job ignores the terminal's Ctrl-C: pass it on.
trap 'kill "$qemu" 2>/dev/null; exit 130' INT TERM
if [ "$mode" = exec ]; then
	# The command's output as it comes; tail ends once QEMU has.
	tail -s 0.2 -c +1 -f --pid="$qemu" "$out" &
	tailer=$!
fi
wait "$qemu"
status=$?
[ "$mode" = exec ] && wait "$tailer"
set -e
end_ns=$(date +%s.%N)
echo "[vm $kernel] guest exited with status $status after $(($(date +%s) - start)) s"

# 3 = the guest script ran to its end and powered off through the port.
ok=1
[ "$status" = 3 ] && [ -f "$share/done" ] || ok=0
failure=""
[ "$ok" = 1 ] || failure=$(guest_failure "$status")

if [ "$mode" = exec ]; then
	# Nothing printed while the command ran but its output: the checks now.
	rc=$(cat "$share/exec-status" 2>/dev/null || true)
	secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
	if [ -f "$share/exec-started" ]; then
		t_cmd=$(date -r "$share/exec-started" +%s.%N)
		echo "[vm-exec] boot to the command: $(secs "$start_ns" "$t_cmd") s; total $(secs "$start_ns" "$end_ns") s"
	fi
	if [ -n "$rc" ]; then
		echo "[vm-exec] the command exited with status $rc"
	else
		echo "[vm-exec] the command did not finish"
	fi
	touch "$share/checks.txt"
	while read -r name result reason; do
		echo "[vm-exec] check $name: $result${reason:+ ($reason)}"
	done <"$share/checks.txt"
	if grep -q 'vm/dmesg-clean fail' "$share/checks.txt" 2>/dev/null; then
		echo "[vm-exec] kernel log lines that fail the check (all: ${share#"$top"/}/dmesg.txt):"
		head -n 20 "$share/dmesg-bad.txt"
	fi
	if [ "$ok" = 0 ]; then
		fatal=""
		grep -aq 'init: FATAL:' "$log" && fatal=1
		if [ -z "$fatal" ]; then
			# From the report that killed it (its message, the
			# location) if there is one, else the end.
			echo "[vm-exec] ---- serial log (all: ${log#"$top"/}) ----"
			excerpt=$(tr -d '\r' <"$log" | awk '
				!end && /WARNING:|BUG:|Oops|general protection fault|KASAN|KFENCE|UBSAN|hung_task|soft lockup|detected stall/ {
					from = NR
					if (line[NR - 2] ~ /cut here/) from = NR - 2
				}
				/Kernel panic - not syncing/ && !end { end = NR }
				{ line[NR] = $0 }
				END {
					if (!from || from > end) { from = NR - 39 }
					for (i = from < 1 ? 1 : from; i <= NR && i < from + 40; i++) print line[i]
				}')
			printf '%s\n' "$excerpt"
			echo "[vm-exec] ---- end of serial log ----"
		fi
		echo "[vm-exec] FAILED: $failure"
	fi
	if [ "$ok" = 1 ] && grep -q ' fail' "$share/checks.txt"; then
		echo "[vm-exec] FAILED: an end-of-pass check failed"
		ok=0
	fi
	[ -n "$rc" ] && [ "$rc" != 0 ] && exit "$rc"
	exit $((1 - ok))
fi

if [ "$ok" = 0 ] && grep -aq 'init: FATAL:' "$log"; then
	: # one line says it all (below)
elif [ "$ok" = 0 ] || grep -q ' fail' "$share/checks.txt" 2>/dev/null; then
	echo "[vm $kernel] ---- serial log (last 200 lines) ----"
	tail -n 200 "$log"
	echo "[vm $kernel] ---- end of serial log ----"
fi
if [ "$ok" = 1 ]; then
	echo "vm/boot pass" >>"$share/checks.txt"
else
	echo "[vm $kernel] FAILED: $failure"
	echo "vm/boot fail $failure" >>"$share/checks.txt"
fi
if [ "$mode" = demo ] || [ "$mode" = bench ]; then
	cat "$share/$mode"-*.txt 2>/dev/null
	grep ' fail' "$share/checks.txt" && ok=0
	exit $((1 - ok))
fi

res=$kernel
[ "$mode" = i915 ] && res=i915
mkdir -p "$top/build/results/$res"
cp "$share"/*.txt "$top/build/results/$res/" 2>/dev/null || true
if [ "$mode" = i915 ]; then
	# The kernel log of each load of the mock-selftest module.
	rm -f "$top/build/results/$res"/i915-mock-load-*.log
	cp "$share"/i915-mock-load-*.log "$top/build/results/$res/" 2>/dev/null || true
fi
extra=()
while read -r name result reason; do
	extra+=(--extra "$name=$result${reason:+:$reason}")
done <"$share/checks.txt"
python3 "$top/igt-tests/runner/summarize.py" --kernel "$res" \
	--skips "$top/igt-tests/expected-skips/$res.txt" \
	--out "$top/build/results/$res/results.json" \
	"${extra[@]}" $(ls "$share"/*.json 2>/dev/null)
# The verdict for this kernel (make test prints the combined line).
python3 "$top/igt-tests/runner/summarize.py" --combine \
	"$top/build/results/$res/results.json" >/dev/null
