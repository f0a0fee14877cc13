#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make i915: build Debian 6.12's i915 out of tree, with the project's series
# (kernel-patches/i915/*.patch), against the 6.12 headers of make deps:
#   plain     the module an integrator installs (i915.ko, kvmgt.ko)
#   selftest  the same with CONFIG_DRM_I915_SELFTEST (mock selftests run on
#             insmod i915.ko mock_selftests=-1), through the compile shims
#             of kernel-patches/i915-shims/
#
# The source is linux-source-6.12 at the version of the headers package;
# only drivers/gpu/drm/i915 and drivers/platform/x86/intel_ips.h are
# extracted. Everything lives outside the clone:
#   $CACHE/debs/linux-source-6.12_<ver>_all.deb  (shared with debug-kernel.sh)
#   $CACHE/i915/src-<ver>/            pristine extract
#   $CACHE/i915/<ver>-<hash>/src/     pristine + series + shims + helper header
#   $CACHE/i915/<ver>-<hash>/out/{plain,selftest}/*.ko   stripped modules
#   $CACHE/i915/build-<ver>/{plain,selftest}/            kbuild trees
#   build/i915/i915.env               I915_PLAIN_KO=..., I915_SELFTEST_KO=...
# <hash> covers the series, the shims, drm-userptr/drm_userptr.h and this
# script. A run whose <hash> is complete builds nothing. A new <hash> copies
# only the files whose content changed into the kbuild trees (their paths
# never change, so kbuild's command lines stay valid) and make rebuilds
# only what depends on them. The newest 3 <hash> directories are kept.
#
# env: JOBS (default nproc), I915_NICE (default 0), I915_FLAVOURS (default
#      "plain selftest"), DRM_USERPTR_CACHE.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cache=${DRM_USERPTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drm-userptr}
base="$cache/i915"
srcpkg=linux-source-6.12
jobs=${JOBS:-$(nproc)}
flavours=${I915_FLAVOURS:-plain selftest}
keep=3

log() { printf '[i915] %s\n' "$*"; }
die() { printf '[i915] error: %s\n' "$*" >&2; exit 1; }

[ -f "$top/build/kernels/6.12.env" ] || die "run make deps first"
# shellcheck disable=SC1091
. "$top/build/kernels/6.12.env"

mkdir -p "$base" "$cache/debs" "$top/build/i915"
exec 9>"$base/.lock"
if ! flock -n 9; then
	log "another build holds $base/.lock; waiting"
	flock 9
fi
t0=$(date +%s)

# -- versions and key --------------------------------------------------------
hdr_deb=$(ls "$cache/debs/linux-headers-${KV}_"*.deb 2>/dev/null | head -n1) || true
if [ -n "$hdr_deb" ]; then
	ver=$(dpkg-deb -f "$hdr_deb" Version)
else
	ver=$(apt-cache policy "linux-headers-$KV" | sed -n 's/ *Candidate: //p')
fi
[ -n "$ver" ] && [ "$ver" != "(none)" ] || die "cannot tell the version of linux-headers-$KV"
verkey=${ver//[:~]/_}

inputs=("$top/scripts/i915-build.sh" "$top/drm-userptr/drm_userptr.h")
while IFS= read -r f; do inputs+=("$f"); done < <(
	find "$top/kernel-patches/i915" "$top/kernel-patches/i915-shims" -type f | LC_ALL=C sort)
hash=$(for f in "${inputs[@]}"; do
	printf '== %s\n' "${f#"$top"/}"
	cat "$f"
done | sha256sum | cut -c1-12)
key="$verkey-$hash"
dir="$base/$key"

write_env() {
	cat >"$top/build/i915/i915.env" <<EOF
I915_KEY=$key
I915_DIR=$dir
I915_PLAIN_KO=$dir/out/plain/i915.ko
I915_SELFTEST_KO=$dir/out/selftest/i915.ko
I915_KV=$KV
EOF
}

done_all=1
for fl in $flavours; do
	[ -f "$dir/.complete-$fl" ] || done_all=0
done
if [ "$done_all" = 1 ]; then
	touch "$dir"
	write_env
	log "$key: up to date ($(($(date +%s) - t0)) s)"
	exit 0
fi

# -- pristine source ---------------------------------------------------------
pristine="$base/src-$verkey"
if [ ! -f "$pristine/.extracted" ]; then
	deb="$cache/debs/${srcpkg}_${ver//:/%3a}_all.deb"
	if [ ! -f "$deb" ]; then
		log "downloading $srcpkg $ver (about 150 MB)"
		tmp=$(mktemp -d "$cache/debs/.i915-XXXXXX")
		(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "$srcpkg=$ver") ||
			{ rm -rf "$tmp"; die "download of $srcpkg $ver failed"; }
		mv "$tmp"/*.deb "$deb"
		rm -rf "$tmp"
	fi
	log "extracting i915 from $srcpkg $ver"
	rm -rf "$pristine"
	mkdir -p "$pristine"
	dpkg-deb --fsys-tarfile "$deb" | tar -xO "./usr/src/$srcpkg.tar.xz" |
		tar -xJ -C "$pristine" --strip-components=1 \
			"$srcpkg/drivers/gpu/drm/i915" \
			"$srcpkg/drivers/platform/x86/intel_ips.h"
	[ -f "$pristine/drivers/gpu/drm/i915/Makefile" ] || die "extraction failed"
	touch "$pristine/.extracted"
fi

# -- prepared source: pristine + series + shims + helper header --------------
src="$dir/src"
if [ ! -f "$src/.prepared" ]; then
	log "preparing $key"
	rm -rf "$src"
	mkdir -p "$dir"
	cp -a "$pristine" "$src"
	rm -f "$src/.extracted"
	for p in "$top"/kernel-patches/i915/*.patch; do
		[ -e "$p" ] || continue
		log "  applying ${p#"$top"/}"
		patch -d "$src" -p1 --batch --forward --fuzz=0 --no-backup-if-mismatch \
			-s <"$p" || die "${p#"$top"/} does not apply to $srcpkg $ver"
	done
	cp -a "$top/kernel-patches/i915-shims/." "$src/drivers/gpu/drm/i915/"
	# For the conversion: <drm/drm_userptr.h> resolves here.
	mkdir -p "$src/include/drm"
	cp "$top/drm-userptr/drm_userptr.h" "$src/include/drm/"
	touch "$src/.prepared"
fi

# Copy the files of $1 whose content differs into $2 (fresh mtime, so make
# rebuilds what depends on them), remove the ones gone since the last sync.
sync_tree() {
	python3 - "$1" "$2" <<'EOF'
import filecmp, os, shutil, sys
src, dst = sys.argv[1:3]
manifest = os.path.join(dst, ".synced-files")
old = set()
if os.path.exists(manifest):
    old = set(open(manifest).read().split())
new, changed = set(), 0
for root, _, files in os.walk(src):
    for name in files:
        rel = os.path.relpath(os.path.join(root, name), src)
        if rel == ".prepared":
            continue
        new.add(rel)
        s, d = os.path.join(src, rel), os.path.join(dst, rel)
        if os.path.exists(d) and filecmp.cmp(s, d, shallow=False):
            continue
        os.makedirs(os.path.dirname(d), exist_ok=True)
        shutil.copyfile(s, d)
        changed += 1
for rel in old - new:
    try:
        os.unlink(os.path.join(dst, rel))
        changed += 1
    except FileNotFoundError:
        pass
with open(manifest, "w") as f:
    f.write("\n".join(sorted(new)) + "\n")
print(changed)
EOF
}

stock_vermagic=$(modinfo -F vermagic \
	"$(modprobe -d "$KTREE" -S "$KV" --show-depends i915 | awk '$1 == "insmod" {p = $2} END {print p}')")

# -- builds ------------------------------------------------------------------
for fl in $flavours; do
	[ -f "$dir/.complete-$fl" ] && continue
	tree="$base/build-$verkey/$fl"
	mkdir -p "$tree/include/trace"
	n=$(sync_tree "$src" "$tree")
	mod="$tree/drivers/gpu/drm/i915"
	# i915's trace headers name their TRACE_INCLUDE_PATH relative to
	# include/trace/ of a full tree: an empty one makes it resolve.
	args=(-C "$KDIR" M="$mod" -j"$jobs" CONFIG_DEBUG_INFO_BTF_MODULES=
	      KCFLAGS="-I$tree/include/trace -I$tree/include")
	[ "$fl" = selftest ] && args+=(CONFIG_DRM_I915_SELFTEST=y)
	blog="$dir/build-$fl.log"
	log "building $fl ($n files changed, -j$jobs, load $(cut -d' ' -f1-3 /proc/loadavg), log: $blog)"
	tb=$(date +%s)
	if ! nice -n "${I915_NICE:-0}" make "${args[@]}" modules >"$blog" 2>&1; then
		grep -E 'error|Error' "$blog" | head -n 40
		tail -n 20 "$blog"
		die "$fl build failed (log: $blog)"
	fi
	secs=$(($(date +%s) - tb))
	objs=$(grep -c '^  CC \[M\]' "$blog" || true)
	if grep -E ': warning: |^WARNING: ' "$blog"; then
		die "$fl build has warnings (log: $blog)"
	fi
	mkdir -p "$dir/out/$fl"
	kos=(i915.ko)
	[ "$fl" = plain ] && [ -f "$mod/gvt/kvmgt.ko" ] && kos+=(gvt/kvmgt.ko)
	[ "$fl" = plain ] && [ -f "$mod/kvmgt.ko" ] && kos+=(kvmgt.ko)
	for ko in "${kos[@]}"; do
		strip --strip-debug -o "$dir/out/$fl/$(basename "$ko")" "$mod/$ko"
	done
	vm=$(modinfo -F vermagic "$dir/out/$fl/i915.ko")
	[ "$vm" = "$stock_vermagic" ] ||
		die "$fl i915.ko vermagic '$vm' differs from the stock module's '$stock_vermagic'"
	echo "$secs s, $objs objects compiled, load $(cut -d' ' -f1-3 /proc/loadavg)" >"$dir/build-$fl.time"
	touch "$dir/.complete-$fl"
	log "$fl: $secs s, $objs objects compiled, i915.ko $(du -k "$dir/out/$fl/i915.ko" | cut -f1) KiB stripped"
done

write_env
# Keep the newest $keep complete keys of this source version.
ls -dt "$base/$verkey"-*/ 2>/dev/null | tail -n +$((keep + 1)) | while read -r old; do
	[ "${old%/}" = "$dir" ] || rm -rf "${old%/}"
done
log "$key: done in $(($(date +%s) - t0)) s"
