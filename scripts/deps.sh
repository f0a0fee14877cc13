#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make deps: install the host packages and fetch Debian's 6.12 and 6.1
# kernels (image, headers, -common, kbuild) into a cache outside the clone.
# Idempotent: with everything present it only checks and returns.
#
# Layout:
#   $CACHE/debs/                 downloaded .deb files
#   $CACHE/kernels/<kv>/root/    dpkg -x of the four packages
#   build/kernels/<series>       symlink to the above (series: 6.12 or 6.1)
#   build/kernels/<series>.env   KV=..., KTREE=..., KDIR=..., VMLINUZ=...
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DRM_USERPTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drm-userptr}
series_list=${KERNELS:-6.12 6.1}

pkgs=(qemu-system-x86 busybox-static cpio kmod xz-utils zstd libdrm-dev
      pkg-config intel-gpu-tools python3 gcc make libc6-dev bc
      util-linux procps sparse)

log() { printf '[deps] %s\n' "$*"; }

# shellcheck source=scripts/apt.sh
. "$top/scripts/apt.sh"
apt_install "${pkgs[@]}"

igt_ver=$(dpkg-query -W -f='${Version}' intel-gpu-tools)
if [ "$igt_ver" != "1.27.1-1" ]; then
	echo "deps: intel-gpu-tools is $igt_ver, the IGT harness is written for 1.27.1-1" >&2
	exit 1
fi

# Resolve the current ABI of a series through Debian's meta-packages.
resolve_kv() {
	local meta
	case "$1" in
	6.1) meta=linux-image-amd64 ;;
	6.12) meta=linux-image-6.12-amd64 ;;
	*) echo "deps: unknown kernel series $1" >&2; return 1 ;;
	esac
	apt-cache depends "$meta" 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(.*\)$/\1/p' | grep -v unsigned | head -n1
}

mkdir -p "$cache/debs" "$cache/kernels" "$top/build/kernels"

for s in $series_list; do
	kv=""
	# Offline fast path: reuse the last resolution if its tree is complete.
	if [ -f "$top/build/kernels/$s.env" ]; then
		# shellcheck disable=SC1090
		kv=$(. "$top/build/kernels/$s.env"; echo "$KV")
		[ -f "$cache/kernels/$kv/.complete" ] || kv=""
	fi
	if [ -z "$kv" ]; then
		kv=$(resolve_kv "$s")
		if [ -z "$kv" ]; then
			export DEBIAN_FRONTEND=noninteractive
			apt-get update -qq
			kv=$(resolve_kv "$s")
		fi
		[ -n "$kv" ] || { echo "deps: cannot resolve kernel $s" >&2; exit 1; }
	fi
	kroot="$cache/kernels/$kv/root"
	if [ ! -f "$cache/kernels/$kv/.complete" ]; then
		log "fetching kernel $kv"
		base=${kv%-amd64}
		kbuild=$(apt-cache depends "linux-headers-$kv" |
			sed -n 's/.*Depends: \(linux-kbuild-[^ ]*\)$/\1/p' | head -n1)
		want=("linux-image-$kv-unsigned" "linux-headers-$kv"
		      "linux-headers-$base-common" "$kbuild")
		(cd "$cache/debs" && for p in "${want[@]}"; do
			ver=$(apt-cache policy "$p" | sed -n 's/ *Candidate: //p')
			ls "${p}_${ver//:/%3a}"_*.deb >/dev/null 2>&1 || apt-get download -qq -o APT::Sandbox::User=root "$p"
		done)
		rm -rf "$cache/kernels/$kv"
		mkdir -p "$kroot"
		for p in "${want[@]}"; do
			ver=$(apt-cache policy "$p" | sed -n 's/ *Candidate: //p')
			dpkg -x "$(ls "$cache/debs/${p}_${ver//:/%3a}"_*.deb | head -n1)" "$kroot"
		done
		hdr="$kroot/usr/src/linux-headers-$kv"
		# The arch headers include the -common tree by absolute path.
		sed -i "s|^include /usr/src/|include $kroot/usr/src/|" "$hdr/Makefile"
		# Debian's kbuild package provides scripts/ and tools through
		# symlinks into /usr/lib/linux-kbuild-*: point them inside.
		find "$hdr" "$kroot/usr/src/linux-headers-$base-common" -maxdepth 2 -type l |
		while read -r l; do
			t=$(readlink "$l")
			case "$t" in
			/usr/*) ln -sfn "$kroot$t" "$l" ;;
			esac
		done
		depmod -b "$kroot" "$kv"
		touch "$cache/kernels/$kv/.complete"
	fi
	ln -sfn "$cache/kernels/$kv" "$top/build/kernels/$s"
	cat >"$top/build/kernels/$s.env" <<EOF
KV=$kv
KTREE=$kroot
KDIR=$kroot/usr/src/linux-headers-$kv
VMLINUZ=$kroot/boot/vmlinuz-$kv
EOF
	log "kernel $s: $kv"
done
