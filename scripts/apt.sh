# SPDX-License-Identifier: MIT
# shellcheck shell=bash
#
# Sourced by the scripts that need host packages. apt_install PKG...
# installs those of PKG... that are not installed yet, with
# apt-get install --no-install-recommends after an apt-get update, and
# says which through the caller's log() (or on stderr); with everything
# installed it only checks. Needs root when something is missing.

apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	if declare -F log >/dev/null; then
		log "installing: ${missing[*]}"
	else
		echo "installing: ${missing[*]}" >&2
	fi
	DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null
}
