#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh - make a Debian 12 machine ready to build and test ETP in QEMU.
#
# 1. Installs the Debian packages the build, the VMs and the tests need (apt runs only
#    when one of them is missing, so a second run costs well under a second).
# 2. Picks the guest/build kernel: the newest /usr/src/linux-headers-6.12.*-amd64.
# 3. Extracts the kselftest framework and checkpatch.pl from Debian's linux-source-6.12
#    tarball into a cache (once per linux-source version; ~15 s the first time).
# 4. Writes ${ETP_CACHE}/env.sh and prints it on stdout, so callers can do either
#        . /var/cache/etp/env.sh          or        eval "$(selftests/vm/deps.sh)"
#    Progress messages go to stderr.
#
# Environment:
#   ETP_CACHE   cache directory (default /var/cache/etp)
#   ETP_KVER    use this kernel version instead of the newest 6.12 headers found
#
# Variables in env.sh:
#   KVER        kernel version string, e.g. 6.12.NNN+deb12-amd64
#   KDIR        kernel build tree (/usr/src/linux-headers-$KVER), for make KDIR=
#   VMLINUZ     the guest kernel image (/boot/vmlinuz-$KVER)
#   MODDIR      the guest kernel's modules (/lib/modules/$KVER)
#   KSFT        directory holding kselftest_harness.h, kselftest.h and kselftest/
#   CHECKPATCH  checkpatch.pl (spelling.txt and const_structs.checkpatch beside it)
#   ETP_CACHE   the cache directory itself

set -euo pipefail

ETP_CACHE=${ETP_CACHE:-/var/cache/etp}
SRC_PKG=linux-source-6.12
SRC_TAR=/usr/src/linux-source-6.12.tar.xz

# tshark brings dumpcap (wireshark-common): etp_dissector.sh captures with one and
# decodes with the other. wireshark-common's debconf question (may non-root users
# capture?) does not stop the install: DEBIAN_FRONTEND=noninteractive takes its
# default, no; the tests capture as root.
PACKAGES=(
	linux-headers-6.12-amd64 linux-source-6.12
	make gcc libc6-dev bc sparse perl
	qemu-system-x86 busybox-static cpio xz-utils zstd kmod
	iproute2 nftables iputils-ping procps socat python3 python3-scapy tshark
)

log() { printf 'deps: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, writes $ETP_CACHE)"

. "$(dirname "${BASH_SOURCE[0]}")/packages.sh"

# The newest linux-headers-6.12.*-amd64 tree names the kernel we build for and boot.
pick_kernel() {
	local d

	if [ -n "${ETP_KVER:-}" ]; then
		KVER=$ETP_KVER
	else
		d=$(find /usr/src -maxdepth 1 -name 'linux-headers-6.12.*-amd64' -printf '%f\n' |
		    sort -V | tail -n 1)
		[ -n "$d" ] || die "no /usr/src/linux-headers-6.12.*-amd64 (is linux-headers-6.12-amd64 installed?)"
		KVER=${d#linux-headers-}
	fi
	KDIR=/usr/src/linux-headers-$KVER
	VMLINUZ=/boot/vmlinuz-$KVER
	MODDIR=/lib/modules/$KVER

	# The headers metapackage pulls the matching image, but a machine may have kept old
	# headers around after removing the image: install it again.
	if [ ! -r "$VMLINUZ" ] || [ ! -e "$MODDIR/modules.dep" ]; then
		log "installing linux-image-$KVER"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "linux-image-$KVER" >&2 ||
			die "cannot install linux-image-$KVER"
	fi
	[ -d "$KDIR" ] || die "$KDIR missing"
	[ -r "$VMLINUZ" ] || die "$VMLINUZ missing"
	[ -e "$MODDIR/modules.dep" ] || die "$MODDIR/modules.dep missing"
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
		printf 'export KDIR=%q\n' "$KDIR"
		printf 'export VMLINUZ=%q\n' "$VMLINUZ"
		printf 'export MODDIR=%q\n' "$MODDIR"
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
pick_kernel
extract_ksft
write_env
