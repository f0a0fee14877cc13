#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Boot one Debian kernel under QEMU/TCG with the project's modules and run
# the IGT suites (or the demo) in it; bring the results back over 9p.
#
# usage: vm-run.sh KERNEL [MODE]
#   KERNEL  6.12 | 6.1   (build/kernels/<KERNEL>.env from make deps)
#   MODE    test (default) | demo | bench
# env: SUITES="vblit_basic ..." (default all), PASSES="pinned unpinned
#      legacy:vblit_userptr aligned:vblit_userptr" (a pass is a backing,
#      optionally with its own suites after a colon, joined by +),
#      VM_TIMEOUT seconds (default 1500), VM_APPEND extra kernel arguments,
#      VM_SHARE results folder (default build/vm/KERNEL/share).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:?usage: vm-run.sh KERNEL [MODE]}
mode=${2:-test}
# shellcheck disable=SC1090
. "$top/build/kernels/$kernel.env"

vm="$top/build/vm/$kernel"
share=${VM_SHARE:-$vm/share}
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
	</dev/null >"$log" 2>&1
status=$?
set -e
echo "[vm $kernel] guest exited with status $status after $(($(date +%s) - start)) s"

# 3 = the guest script ran to its end and powered off through the port.
ok=1
[ "$status" = 3 ] && [ -f "$share/done" ] || ok=0
failure=""
[ "$ok" = 1 ] || failure=$(guest_failure "$status")
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

mkdir -p "$top/build/results/$kernel"
cp "$share"/*.txt "$top/build/results/$kernel/" 2>/dev/null || true
extra=()
while read -r name result reason; do
	extra+=(--extra "$name=$result${reason:+:$reason}")
done <"$share/checks.txt"
python3 "$top/igt-tests/runner/summarize.py" --kernel "$kernel" \
	--skips "$top/igt-tests/expected-skips/$kernel.txt" \
	--out "$top/build/results/$kernel/results.json" \
	"${extra[@]}" $(ls "$share"/*.json 2>/dev/null)
# The verdict for this kernel (make test prints the combined line).
python3 "$top/igt-tests/runner/summarize.py" --combine \
	"$top/build/results/$kernel/results.json" >/dev/null
