# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Sourced by scripts/mesa-build.sh and scripts/mesa-compile-check.sh: the
# Mesa version, the cache directory, the build dependencies, and the
# pristine source tree fetched with apt.

# shellcheck disable=SC2034 # used by the scripts that source this file
mesa_version=22.3.6
# shellcheck disable=SC2034
mesa_cache=${DRM_USERPTR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drm-userptr}/mesa

# Meson runs Mesa's generators with the first python3 on PATH, which has to
# be Debian's (with python3-mako), not a pyenv or venv one.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive

mesa_pkgs=(meson ninja-build glslang-tools python3-mako bison flex pkg-config
	gcc g++ libdrm-dev libexpat1-dev zlib1g-dev libelf-dev git ca-certificates)

log() { printf '[mesa] %s\n' "$*" >&2; }

# shellcheck source=scripts/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

mesa_install_deps() {
	apt_install "${mesa_pkgs[@]}"
}

# apt-get source needs a deb-src entry; Debian's images ship only "deb".
# Add one, in a file of our own, for the URIs and suites already configured.
mesa_ensure_deb_src() {
	local src=/etc/apt/sources.list.d/drm-userptr-src.sources
	local deb822=/etc/apt/sources.list.d/debian.sources
	if grep -Eqs '^Types:.*deb-src' /etc/apt/sources.list.d/*.sources ||
		grep -Eqs '^deb-src ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then
		return
	fi
	log "adding deb-src entries in $src"
	if [ -f "$deb822" ]; then
		{
			echo "# Added by drm-userptr scripts/mesa-common.sh: source packages"
			echo "# for the same archives as $(basename "$deb822")."
			sed 's/^Types:.*/Types: deb-src/' "$deb822"
		} >"$src"
	else
		src=/etc/apt/sources.list.d/drm-userptr-src.list
		{
			echo "# Added by drm-userptr scripts/mesa-common.sh"
			sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list
		} >"$src"
	fi
	apt-get update -qq
}

# DIR/src: the orig tarball (apt-get source into DIR/dl) as a git
# repository, tagged "pristine".
mesa_ensure_source() {
	local dir=$1 orig
	[ -d "$dir/src/.git" ] && git -C "$dir/src" rev-parse -q --verify pristine >/dev/null &&
		return
	mesa_ensure_deb_src
	mkdir -p "$dir/dl"
	orig="$dir/dl/mesa_$mesa_version.orig.tar.gz"
	if [ ! -f "$orig" ]; then
		log "fetching the mesa source package"
		(
			cd "$dir/dl" || exit 1
			apt-get source --download-only -qq mesa 2>&1 |
				grep -v 'Download is performed unsandboxed' || true
		)
	fi
	[ -f "$orig" ] || { echo "mesa: no mesa_$mesa_version.orig.tar.gz from apt-get source" >&2; return 1; }
	rm -rf "$dir/src" "$dir/src.tmp"
	mkdir -p "$dir/src.tmp"
	tar -xzf "$orig" -C "$dir/src.tmp" --strip-components=1
	git -C "$dir/src.tmp" init -q
	git -C "$dir/src.tmp" add -A
	mesa_git "$dir/src.tmp" commit -qm "Mesa $mesa_version (orig tarball)"
	git -C "$dir/src.tmp" tag pristine
	mv "$dir/src.tmp" "$dir/src"
}

# git in a Mesa tree, with an identity for its commits.
mesa_git() {
	local dir=$1; shift
	git -C "$dir" -c user.name=drm-userptr -c user.email=drm-userptr@invalid "$@"
}
