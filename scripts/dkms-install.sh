#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install: register the modules with DKMS so they are built for the
# running distribution kernel (and rebuilt on kernel updates).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ver=$(sed -n 's/^PACKAGE_VERSION="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$top/drm-userptr/dkms.conf")
dest=/usr/src/drm-userptr-$ver
# shellcheck source=scripts/apt.sh
. "$top/scripts/apt.sh"
command -v dkms >/dev/null || apt_install dkms
rm -rf "$dest"
mkdir -p "$dest/drm-userptr/vblit"
cp "$top"/drm-userptr/*.[ch] "$top/drm-userptr/Kbuild" "$top/drm-userptr/Makefile" "$dest/drm-userptr/"
cp "$top"/drm-userptr/vblit/*.[ch] "$top/drm-userptr/vblit/Kbuild" "$dest/drm-userptr/vblit/"
cp "$top/drm-userptr/dkms.conf" "$dest/"
cp -r "$top/uapi" "$dest/"
dkms remove "drm-userptr/$ver" --all >/dev/null 2>&1 || true
dkms add "drm-userptr/$ver"
dkms build "drm-userptr/$ver"
dkms install "drm-userptr/$ver"
