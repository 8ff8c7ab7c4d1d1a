# SPDX-License-Identifier: GPL-2.0
#
# packages.sh - sourced by deps.sh and sanitizer-kernel.sh: install the Debian packages
# a script names, running apt only when one of them is missing. The sourcing script
# defines log().

# pkg_installed PACKAGE: dpkg has PACKAGE fully installed.
pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# install_packages PACKAGE...: apt-get install those of them that are missing. Another
# apt or dpkg run (a package check, an unattended upgrade) is waited for, up to 10 minutes.
install_packages() {
	local p missing=()

	for p in "$@"; do
		pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q -o DPkg::Lock::Timeout=600 >&2
	apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends \
		"${missing[@]}" >&2
}
