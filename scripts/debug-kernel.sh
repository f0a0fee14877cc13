#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make debug-kernel: build the checking kernel (lockdep, KASAN, KFENCE,
# DEBUG_VM, fault injection, KUnit, test_hmm) from Debian's linux-source-6.12
# and make it bootable by scripts/vm-run.sh as the kernel "debug".
#
# Cached outside the clone, keyed by the source package version and the hash
# of scripts/debug-kernel.config: a warm run only checks and returns. An
# interrupted cold run resumes where make stopped.
#
# Layout:
#   $CACHE/debs/linux-source-6.12_<ver>_all.deb
#   $CACHE/debug/<ver>-<hash>/src/     configured, built tree (KDIR for M=)
#   $CACHE/debug/<ver>-<hash>/root/    modules_install + boot/vmlinuz-<kv>
#   build/kernels/debug                symlink to the above
#   build/kernels/debug.env            KV=..., KTREE=..., KDIR=..., VMLINUZ=...
#
# env: JOBS (default nproc), DEBUG_KERNEL_NICE (default 0; raise it to leave the
#      machine to other builds and VMs), DRM_USERPTR_CACHE.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DRM_USERPTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drm-userptr}
frag="$top/scripts/debug-kernel.config"
srcpkg=linux-source-6.12
jobs=${JOBS:-$(nproc)}

log() { printf '[debug-kernel] %s\n' "$*"; }
die() { printf '[debug-kernel] error: %s\n' "$*" >&2; exit 1; }

mkdir -p "$cache/debs" "$cache/debug" "$top/build/kernels"

# One builder per cache: a second `make debug-kernel` waits, then finds the
# tree complete.
exec 9>"$cache/debug/.lock"
if ! flock -n 9; then
	log "another build holds $cache/debug/.lock; waiting"
	flock 9
fi

# Source version: the registry's candidate; offline, the newest .deb we have.
ver=$(apt-cache policy "$srcpkg" 2>/dev/null | sed -n 's/ *Candidate: //p')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	deb=$(ls -t "$cache/debs/${srcpkg}"_*_all.deb 2>/dev/null | head -n1) ||
		true
	[ -n "$deb" ] || die "cannot resolve $srcpkg (apt-get update?)"
	ver=$(basename "$deb" | sed "s/^${srcpkg}_\(.*\)_all\.deb$/\1/; s/%3a/:/g")
fi
hash=$(sha256sum "$frag" | cut -c1-12)
key="${ver//[:~]/_}-$hash"
dir="$cache/debug/$key"
src="$dir/src"
root="$dir/root"

write_env() {
	local kv
	kv=$(cat "$dir/kernelrelease")
	ln -sfn "$dir" "$top/build/kernels/debug"
	cat >"$top/build/kernels/debug.env" <<EOF
KV=$kv
KTREE=$root
KDIR=$src
VMLINUZ=$root/boot/vmlinuz-$kv
EOF
	log "kernel debug: $kv ($key)"
}

if [ -f "$dir/.complete" ]; then
	write_env
	exit 0
fi

# -- build dependencies (host packages) --------------------------------------
# shellcheck source=scripts/apt.sh
. "$top/scripts/apt.sh"
apt_install flex bison libelf-dev libssl-dev bc xz-utils kmod cpio python3 gcc make

t0=$(date +%s)

# -- source ------------------------------------------------------------------
if [ ! -f "$src/.extracted" ]; then
	deb="$cache/debs/${srcpkg}_${ver//:/%3a}_all.deb"
	if [ ! -f "$deb" ]; then
		log "downloading $srcpkg $ver (about 150 MB)"
		(cd "$cache/debs" &&
			apt-get download -qq -o APT::Sandbox::User=root "$srcpkg=$ver")
	fi
	[ -f "$deb" ] || die "download of $srcpkg $ver failed"
	log "extracting $srcpkg $ver"
	rm -rf "$dir"
	mkdir -p "$src"
	dpkg-deb --fsys-tarfile "$deb" |
		tar -xO "./usr/src/$srcpkg.tar.xz" |
		tar -xJ -C "$src" --strip-components=1
	touch "$src/.extracted"
fi

# -- configuration -----------------------------------------------------------
# Every =y/=m/="..." line of the fragment must survive olddefconfig.
verify_config() {
	local bad=0 line sym
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF "$line" "$src/.config" && continue
			sym=${line%%=*}
			log "MISSING: $line (have: $(grep -E "^(# )?$sym[= ]" "$src/.config" || echo 'not in .config: a dependency is off'))"
			bad=1
			;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }
			sym=${sym%% *}
			if grep -qE "^$sym=[ym]" "$src/.config"; then
				log "note: $sym is still on (selected by another option)"
			fi
			;;
		esac
	done <"$frag"
	return $bad
}

if [ "$(cat "$src/.configured" 2>/dev/null)" != "$hash" ]; then
	log "configuring: x86_64_defconfig + kvm_guest.config + ${frag#"$top"/}"
	make -s -C "$src" x86_64_defconfig >/dev/null
	make -s -C "$src" kvm_guest.config >/dev/null
	(cd "$src" && scripts/kconfig/merge_config.sh -m -O "$src" .config "$frag") >"$dir/merge.log" 2>&1 ||
		{ cat "$dir/merge.log"; die "merge_config.sh failed"; }
	make -s -C "$src" olddefconfig >/dev/null
	verify_config || die "required options missing from .config (see above)"
	echo "$hash" >"$src/.configured"
fi
verify_config || die "required options missing from $src/.config"

# -- build -------------------------------------------------------------------
blog="$dir/build.log"
log "building bzImage modules with -j$jobs (log: $blog)"
tb=$(date +%s)
if ! nice -n "${DEBUG_KERNEL_NICE:-0}" make -C "$src" -j"$jobs" bzImage modules >"$blog" 2>&1; then
	grep -E 'error|Error' "$blog" | head -n 40
	tail -n 40 "$blog"
	die "kernel build failed (log: $blog)"
fi
log "built in $(($(date +%s) - tb)) s"
# Valid only after the build has run syncconfig (CONFIG_LOCALVERSION).
make -s -C "$src" kernelrelease >"$dir/kernelrelease"
kv=$(cat "$dir/kernelrelease")
case "$kv" in *-userptr-debug) ;; *) die "unexpected kernel release '$kv'" ;; esac

rm -rf "$root"
mkdir -p "$root/boot"
make -s -C "$src" INSTALL_MOD_PATH="$root" modules_install >"$dir/install.log" 2>&1 ||
	{ tail -n 40 "$dir/install.log"; die "modules_install failed"; }
# The in-tree build/source links would point into the cache anyway; drop
# them so the guest's modprobe never wanders into the source tree.
rm -f "$root/lib/modules/$kv/build" "$root/lib/modules/$kv/source"
depmod -b "$root" "$kv"
cp "$src/arch/x86/boot/bzImage" "$root/boot/vmlinuz-$kv"
cp "$src/.config" "$root/boot/config-$kv"
# Module builds (make -C $src M=...) need Module.symvers and the prepared
# scripts, both made by the modules build above; check they are there.
[ -f "$src/Module.symvers" ] || die "Module.symvers missing after the build"

echo "$(($(date +%s) - t0))" >"$dir/cold-seconds"
touch "$dir/.complete"
log "cold build: $(cat "$dir/cold-seconds") s in total"
write_env
