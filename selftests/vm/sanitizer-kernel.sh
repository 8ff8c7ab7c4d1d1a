#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# sanitizer-kernel.sh - build (once) the sanitizer test kernel and print where it is.
#
# The kernel is Debian's linux-source-6.12 configured as x86_64 defconfig +
# kvm_guest.config + selftests/vm/sanitizer.config (KASAN, UBSAN, lockdep, PROVE_RCU,
# kmemleak, DEBUG_OBJECTS, DEBUG_NET, reference trackers). It is built outside the
# repository, in $ETP_CACHE/sankernel-<key>, where <key> is a hash of the source
# package version and the config inputs: a second run with the same inputs only prints
# the environment; a changed fragment builds a new kernel beside the old one (ones more
# than a day old are removed once the new one is built).
#
# On stdout, for eval (progress goes to stderr):
#   SAN_KVER     the kernel's release string
#   SAN_KDIR     its build tree: make KDIR=$SAN_KDIR builds etp.ko for it
#   SAN_VMLINUZ  its bzImage
#   SAN_MODDIR   a directory holding lib/modules/$SAN_KVER (the few =m drivers)
#
# selftests/vm/etp-vm.sh sanitizer calls this, then runs the whole suite on the result.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ETP_CACHE=${ETP_CACHE:-/var/cache/etp}
SRC_PKG=linux-source-6.12
SRC_TAR=/usr/src/linux-source-6.12.tar.xz
FRAGMENT=$HERE/sanitizer.config
# The configs the fragment is merged into (make targets); part of the cache key.
BASE_CONFIGS="defconfig kvm_guest.config"
PACKAGES=(linux-source-6.12 make gcc libc6-dev bc flex bison libelf-dev libssl-dev
	xz-utils kmod cpio)

log() { printf 'sanitizer-kernel: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs packages, writes $ETP_CACHE)"

. "$HERE/packages.sh"

print_env() {
	local kver

	kver=$(cat "$OUT/build/include/config/kernel.release")
	printf 'export SAN_KVER=%q\n' "$kver"
	printf 'export SAN_KDIR=%q\n' "$OUT/build"
	printf 'export SAN_VMLINUZ=%q\n' "$OUT/build/arch/x86/boot/bzImage"
	printf 'export SAN_MODDIR=%q\n' "$OUT/modules"
}

build() {
	local src=$OUT/src build=$OUT/build start=$SECONDS

	log "building in $OUT (about 10 minutes on 2 cores)"
	rm -rf "$src" "$build" "$OUT/modules"
	mkdir -p "$src" "$build"
	tar -xJf "$SRC_TAR" -C "$src" --strip-components=1
	# shellcheck disable=SC2086 # a list of make targets
	make -s -C "$src" O="$build" $BASE_CONFIGS >&2
	# merge_config.sh lists every value the fragment overrides: keep it quiet.
	"$src/scripts/kconfig/merge_config.sh" -m -O "$build" "$build/.config" \
		"$FRAGMENT" >"$OUT/merge.log" 2>&1 || { cat "$OUT/merge.log" >&2; return 1; }
	make -s -C "$src" O="$build" olddefconfig >&2
	check_config "$build/.config"
	make -s -C "$src" O="$build" -j"$(nproc)" bzImage modules >&2
	make -s -C "$src" O="$build" INSTALL_MOD_PATH="$OUT/modules" \
		INSTALL_MOD_STRIP=1 modules_install >&2
	# The tree stays: etp.ko builds against $build. The sources it needs are
	# reached through $build/source, so only the tarball's copy of them is kept.
	log "built in $((SECONDS - start)) s"
	touch "$OUT/.complete"
	find "$ETP_CACHE" -maxdepth 1 -name 'sankernel-*' ! -path "$OUT" -mtime +1 \
		-exec rm -rf {} +
}

# Kconfig silently drops an option whose dependencies are not met: make sure every
# line of the fragment survived, or the kernel would lack a checker it claims to have.
check_config() {
	local config=$1 line bad=0

	while IFS= read -r line; do
		case $line in
		CONFIG_*=n)
			grep -qx "${line%=n}=y" "$config" && { log "not off: $line"; bad=1; } ;;
		CONFIG_*)
			grep -qx "$line" "$config" || { log "not set: $line"; bad=1; } ;;
		esac
	done <"$FRAGMENT"
	[ $bad -eq 0 ] || die "the merged config lost options from $FRAGMENT"
}

mkdir -p "$ETP_CACHE"
exec 9>"$ETP_CACHE/.sankernel.lock"
flock 9
install_packages "${PACKAGES[@]}"
[ -r "$SRC_TAR" ] || die "$SRC_TAR missing (package $SRC_PKG)"
key=$( {
	dpkg-query -W -f='${Version}\n' "$SRC_PKG"
	echo "$BASE_CONFIGS"
	cat "$FRAGMENT"
} | sha256sum | cut -c1-16)
OUT=$ETP_CACHE/sankernel-$key
[ -e "$OUT/.complete" ] || build
print_env
