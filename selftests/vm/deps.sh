#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh - make a Debian 12 machine ready to build and test ETP in QEMU.
#
# 1. Installs the Debian packages the build, the VMs and the tests need (apt runs only
#    when one of them is missing, so a second run costs well under a second).
# 2. Picks the guest/build kernels: the newest /usr/src/linux-headers-6.12.*-amd64 and the
#    newest /usr/src/linux-headers-6.1.*-amd64 (linux-headers-6.12-amd64 and
#    linux-headers-amd64 bring them), and installs each one's image when it is missing
#    (linux-image-KVER-unsigned: linux-headers-amd64 pulls no image).
# 3. Extracts the kselftest framework and checkpatch.pl from Debian's linux-source-6.12
#    tarball into a cache (once per linux-source version; ~15 s the first time).
# 4. Writes ${ETP_CACHE}/env.sh and prints it on stdout, so callers can do either
#        . /var/cache/etp/env.sh          or        eval "$(selftests/vm/deps.sh)"
#    Progress messages go to stderr.
#
# Environment:
#   ETP_CACHE   cache directory (default /var/cache/etp)
#   ETP_KVER    use this kernel version instead of the newest 6.12 headers found (its
#               headers must be installed)
#
# Variables in env.sh:
#   KVER        6.12 kernel version string, e.g. 6.12.NNN+deb12-amd64 (or ETP_KVER)
#   KDIR        its build tree (/usr/src/linux-headers-$KVER), for make KDIR=
#   VMLINUZ     its image, the guest kernel (/boot/vmlinuz-$KVER)
#   MODDIR      its modules (/lib/modules/$KVER)
#   KVER_61, KDIR_61, VMLINUZ_61, MODDIR_61
#               the same for the 6.1 kernel, e.g. 6.1.0-NN-amd64
#   KVERS       every kernel above, newest series first: "$KVER $KVER_61"
#   KSFT        directory holding kselftest_harness.h, kselftest.h and kselftest/
#   CHECKPATCH  checkpatch.pl (spelling.txt and const_structs.checkpatch beside it)
#   ETP_CACHE   the cache directory itself
#
# For any kernel K in KVERS, the build tree is /usr/src/linux-headers-K, the image
# /boot/vmlinuz-K and the modules /lib/modules/K (K is also its `uname -r`).

set -euo pipefail

ETP_CACHE=${ETP_CACHE:-/var/cache/etp}
SRC_PKG=linux-source-6.12
SRC_TAR=/usr/src/linux-source-6.12.tar.xz

# tshark brings dumpcap (wireshark-common): etp_dissector.sh captures with one and
# decodes with the other. wireshark-common's debconf question (may non-root users
# capture?) does not stop the install: DEBIAN_FRONTEND=noninteractive takes its
# default, no; the tests capture as root.
# linux-headers-amd64 is bookworm's default kernel series, 6.1.
# ethtool and linux-perf are for the benchmark (etp_bench.sh: offloads off, a profile);
# bookworm's perf is built from 6.1 and records and reports on 6.12 too.
PACKAGES=(
	linux-headers-6.12-amd64 linux-headers-amd64 linux-source-6.12
	make gcc libc6-dev bc sparse perl
	qemu-system-x86 busybox-static cpio xz-utils zstd kmod
	iproute2 nftables iputils-ping procps socat python3 python3-scapy tshark
	ethtool linux-perf
)

log() { printf 'deps: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, writes $ETP_CACHE)"

. "$(dirname "${BASH_SOURCE[0]}")/packages.sh"

# newest_kernel SERIES: the version of the newest /usr/src/linux-headers-SERIES.*-amd64
# tree (the "." keeps 6.1 from matching 6.12).
newest_kernel() {
	local d

	d=$(find /usr/src -maxdepth 1 -name "linux-headers-$1.*-amd64" -printf '%f\n' |
	    sort -V | tail -n 1)
	[ -n "$d" ] || die "no /usr/src/linux-headers-$1.*-amd64 (is $2 installed?)"
	echo "${d#linux-headers-}"
}

# need_kernel KVER: its build tree, image and modules are there. 6.12's headers pull its
# image, 6.1's do not (and a machine may have kept old headers around after removing the
# image): install the image when it is missing. The unsigned image is the same kernel without
# the Secure Boot signature, which QEMU's -kernel does not need.
need_kernel() {
	local k=$1 p

	if [ ! -r "/boot/vmlinuz-$k" ] || [ ! -e "/lib/modules/$k/modules.dep" ]; then
		p=linux-image-$k-unsigned
		apt-cache show "$p" >/dev/null 2>&1 || p=linux-image-$k
		log "installing $p"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
			--no-install-recommends "$p" >&2 || die "cannot install $p"
	fi
	[ -d "/usr/src/linux-headers-$k" ] || die "/usr/src/linux-headers-$k missing"
	[ -r "/boot/vmlinuz-$k" ] || die "/boot/vmlinuz-$k missing"
	[ -e "/lib/modules/$k/modules.dep" ] || die "/lib/modules/$k/modules.dep missing"
}

pick_kernels() {
	KVER=${ETP_KVER:-$(newest_kernel 6.12 linux-headers-6.12-amd64)} || exit 1
	KVER_61=$(newest_kernel 6.1 linux-headers-amd64) || exit 1
	need_kernel "$KVER"
	need_kernel "$KVER_61"
}

# Only the few files the selftests and the style check need come out of the 150 MB tarball.
extract_ksft() {
	local ver top tmp
	local members=(
		tools/testing/selftests/kselftest_harness.h
		tools/testing/selftests/kselftest.h
		tools/testing/selftests/kselftest
		scripts/checkpatch.pl
		scripts/spelling.txt
		scripts/const_structs.checkpatch
	)

	[ -r "$SRC_TAR" ] || die "$SRC_TAR missing (package $SRC_PKG)"
	ver=$(dpkg-query -W -f='${Version}' "$SRC_PKG")
	KSFT_ROOT=$ETP_CACHE/ksft-${ver//[^A-Za-z0-9.+-]/_}
	KSFT=$KSFT_ROOT/tools/testing/selftests
	CHECKPATCH=$KSFT_ROOT/scripts/checkpatch.pl
	[ -e "$KSFT_ROOT/.complete" ] && return 0

	log "extracting kselftest framework and checkpatch from $SRC_TAR"
	top=$(basename "$SRC_TAR" .tar.xz)
	tmp=$(mktemp -d "$ETP_CACHE/.ksft.XXXXXX")
	tar -xJf "$SRC_TAR" -C "$tmp" --strip-components=1 "${members[@]/#/$top/}"
	# The harness includes only kselftest.h and libc headers; check nothing else is needed.
	grep -h '^#include "' "$tmp"/tools/testing/selftests/kselftest*.h |
		grep -v '"kselftest.h"' >&2 && log "warning: the kselftest headers include more files"
	touch "$tmp/.complete"
	rm -rf "$KSFT_ROOT"
	mv "$tmp" "$KSFT_ROOT"
}

write_env() {
	local env=$ETP_CACHE/env.sh

	{
		echo "# Written by selftests/vm/deps.sh; source it."
		printf 'export ETP_CACHE=%q\n' "$ETP_CACHE"
		printf 'export KVER=%q\n' "$KVER"
		printf 'export KDIR=%q\n' "/usr/src/linux-headers-$KVER"
		printf 'export VMLINUZ=%q\n' "/boot/vmlinuz-$KVER"
		printf 'export MODDIR=%q\n' "/lib/modules/$KVER"
		printf 'export KVER_61=%q\n' "$KVER_61"
		printf 'export KDIR_61=%q\n' "/usr/src/linux-headers-$KVER_61"
		printf 'export VMLINUZ_61=%q\n' "/boot/vmlinuz-$KVER_61"
		printf 'export MODDIR_61=%q\n' "/lib/modules/$KVER_61"
		# (ETP_KVER may name the 6.1 kernel itself.)
		if [ "$KVER" = "$KVER_61" ]; then
			printf 'export KVERS=%q\n' "$KVER"
		else
			printf 'export KVERS=%q\n' "$KVER $KVER_61"
		fi
		printf 'export KSFT=%q\n' "$KSFT"
		printf 'export CHECKPATCH=%q\n' "$CHECKPATCH"
	} >"$env.tmp"
	mv "$env.tmp" "$env"
	cat "$env"
}

mkdir -p "$ETP_CACHE"
# Serialise concurrent runs (CI and a developer, or two checkouts) on the shared cache.
exec 9>"$ETP_CACHE/.deps.lock"
flock 9

install_packages "${PACKAGES[@]}"
pick_kernels
extract_ksft
write_env
