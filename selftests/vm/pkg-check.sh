#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# pkg-check.sh - check on the host that ETP installs: DKMS builds etp.ko for the kernels
# given, dpkg-buildpackage builds etp-dkms and etp-tools, and both packages install,
# work and purge cleanly.
#
#   selftests/vm/pkg-check.sh [KVER...]     e.g. 6.12.118+deb12-amd64 6.1.0-57-amd64
#
# Without arguments it checks every kernel under /lib/modules that has a build tree.
# It runs as root on a Debian 12 machine, installs the Debian packages it needs
# (packages.sh; linux-headers-KVER for each kernel), never builds in the repository (it
# works on a copy of the tracked and untracked-but-not-ignored files in a temporary
# directory) and leaves the machine as it found it: the etp packages purged, nothing of
# etp left in DKMS, /usr/src or /lib/modules, and DKMS's signing key removed again if
# this run made it. It refuses to start (Bail out!) where etp is installed already.
#
# Output on stdout, TAP-style, one line per check, in this order:
#   dkms add; dkms build for each KVER (etp.ko's vermagic names KVER); dkms remove; a
#   build for headers that say 5.15 stops with one message;
#   dpkg-buildpackage -b without network (in a namespace with only loopback), and that
#   it leaves nothing but ignored files; apt-get install of both .debs; etp.ko installed
#   for each KVER that etp-dkms's postinst built for; the kernel-upgrade hook rebuilding
#   it after dkms unbuild; --help of each program etp-tools installs; man etp, man etpcat
#   and every installed page through man --warnings; etp.lua in Wireshark's global Lua
#   plugin folder, loaded by tshark; purge; nothing left.
# "# " lines are diagnostics (what etp-dkms's postinst said about the running kernel,
# the end of a failing log); progress goes to stderr. The last line is "1..N"; the exit
# status is non-zero when a check failed.
#
# Environment: ETP_PKG_KEEP=1 keeps the temporary directory (its path goes to stderr).

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

log() { printf 'pkg-check: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (installs and purges packages, runs dkms)"
git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1 || die "$REPO is not a git checkout"

. "$HERE/packages.sh"

CHECKS=0
FAILED=0
ok() { CHECKS=$((CHECKS + 1)); printf 'ok - %s\n' "$*"; }
not_ok() { CHECKS=$((CHECKS + 1)); FAILED=$((FAILED + 1)); printf 'not ok - %s\n' "$*"; }
skip() { CHECKS=$((CHECKS + 1)); printf 'ok - %s # SKIP %s\n' "$1" "$2"; }
# diag FILE [LINES]: the end of FILE as TAP diagnostics.
diag() { tail -n "${2:-15}" "$1" | sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: one line for the command's success.
check() {
	local desc=$1

	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

apt_get() {
	DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 \
		--no-install-recommends "$@"
}

START=$SECONDS

if [ $# -gt 0 ]; then
	KVERS=("$@")
else
	KVERS=()
	for d in /lib/modules/*/build; do
		[ -d "$d" ] && KVERS+=("$(basename "$(dirname "$d")")")
	done
	[ ${#KVERS[@]} -gt 0 ] || die "no kernel with a build tree under /lib/modules: name one"
fi

# dkms and dh-dkms (dh_dkms lives there on bookworm) for the module, debhelper and
# build-essential for the package, man-db and tshark (wireshark-common's debconf question
# takes its default) for the checks of what the packages install.
install_packages git make gcc libc6-dev build-essential dpkg-dev debhelper dkms dh-dkms \
	man-db tshark python3
# A kernel whose headers cannot be installed fails its check and is left out of the rest.
HAVE_HEADERS=()
for k in "${KVERS[@]}"; do
	if [ -d "/lib/modules/$k/build" ] || install_packages "linux-headers-$k"; then
		HAVE_HEADERS+=("$k")
	else
		not_ok "linux-headers-$k installs"
	fi
done
KVERS=("${HAVE_HEADERS[@]}")

VER=$(make -s --no-print-directory -C "$REPO" version)
[ -n "$VER" ] || die "no PACKAGE_VERSION in $REPO/dkms.conf"

# Never touch an etp someone installed: stop before changing anything.
for p in etp-dkms etp-tools; do
	if pkg_installed "$p"; then
		echo "Bail out! $p is installed: purge it first"
		exit 1
	fi
done
if [ -n "$(dkms status -m etp 2>/dev/null)" ] || [ -e "/usr/src/etp-$VER" ]; then
	echo "Bail out! etp is in DKMS or /usr/src/etp-$VER exists: dkms remove etp/$VER --all"
	exit 1
fi

MOK_KEY=/var/lib/dkms/mok.key
MOK_PUB=/var/lib/dkms/mok.pub
HAD_MOK=0
[ -e "$MOK_KEY" ] && HAD_MOK=1
WORK=$(mktemp -d /tmp/etp-pkg-check.XXXXXX)
LOGS=$WORK/logs
mkdir "$LOGS"
DKMS_ADDED=0
PKGS_INSTALLED=0

# Whatever happened, take etp off the machine again.
cleanup() {
	if [ "$PKGS_INSTALLED" = 1 ]; then
		apt_get purge etp-dkms etp-tools >>"$LOGS/cleanup.log" 2>&1 || true
	fi
	if [ "$DKMS_ADDED" = 1 ]; then
		dkms remove -m etp -v "$VER" --all >>"$LOGS/cleanup.log" 2>&1 || true
		rm -rf "/usr/src/etp-$VER"
	fi
	if [ "$HAD_MOK" = 0 ]; then
		rm -f "$MOK_KEY" "$MOK_PUB"
	fi
	if [ "${ETP_PKG_KEEP:-0}" = 1 ]; then
		log "kept $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

# copy_tree DIR: the repository's tracked files and untracked ones that are not ignored
# (work in progress is checked too), without build outputs or .git.
copy_tree() {
	mkdir -p "$1"
	git -C "$REPO" ls-files -z --cached --others --exclude-standard |
		(cd "$REPO" && while IFS= read -r -d '' f; do
			[ -e "$f" ] && printf '%s\0' "$f"
		done) |
		tar -C "$REPO" --null -T - -cf - | tar -C "$1" -xf -
}

# --- DKMS from the source tree ---------------------------------------------------------

dkms_checks() {
	local k rc

	copy_tree "$WORK/dkms-tree"
	log "dkms add (etp $VER)"
	if ! dkms add "$WORK/dkms-tree" >"$LOGS/dkms-add.log" 2>&1; then
		not_ok "dkms add etp $VER"
		diag "$LOGS/dkms-add.log"
		rm -rf "/usr/src/etp-$VER"
		return
	fi
	DKMS_ADDED=1
	ok "dkms add etp $VER"

	for k in "${KVERS[@]}"; do
		log "dkms build for $k"
		rc=0
		dkms build -m etp -v "$VER" -k "$k" >"$LOGS/dkms-build-$k.log" 2>&1 || rc=$?
		if [ "$rc" = 77 ]; then
			skip "dkms build etp $VER for $k" "dkms.conf's BUILD_EXCLUSIVE_KERNEL excludes it"
		elif [ "$rc" != 0 ]; then
			not_ok "dkms build etp $VER for $k"
			diag "$LOGS/dkms-build-$k.log" 5
			if [ -e "/var/lib/dkms/etp/$VER/build/make.log" ]; then
				diag "/var/lib/dkms/etp/$VER/build/make.log"
			fi
		elif modinfo -F vermagic /var/lib/dkms/etp/"$VER"/"$k"/*/module/etp.ko* 2>/dev/null |
		     grep -q "^$k "; then
			ok "dkms build etp $VER for $k"
		else
			not_ok "dkms build etp $VER for $k (no etp.ko with vermagic $k)"
		fi
	done

	dkms remove -m etp -v "$VER" --all >"$LOGS/dkms-remove.log" 2>&1 || true
	rm -rf "/usr/src/etp-$VER"
	DKMS_ADDED=0
	check "dkms remove etp/$VER leaves nothing of etp in DKMS" \
		test -z "$(dkms status -m etp 2>/dev/null)"
}

# Kbuild refuses kernels older than 6.1 with one message, before compiling anything. No
# such headers are installed here: the first kernel's headers are made to say 5.15 by
# overriding the kernel Makefile's VERSION and PATCHLEVEL, which Kbuild reads.
old_kernel_check() {
	local kdir=/lib/modules/${KVERS[0]}/build out=$LOGS/old-kernel.log

	copy_tree "$WORK/old-tree"
	if make -C "$kdir" M="$WORK/old-tree" VERSION=5 PATCHLEVEL=15 modules >"$out" 2>&1; then
		not_ok "a build for Linux 5.15 stops with one message (it built)"
	elif [ "$(grep -c 'ETP supports Linux 6.1 to 6.18' "$out")" = 1 ] &&
	     ! grep -q 'CC \[M\]' "$out"; then
		ok "a build for Linux 5.15 stops at once with one message naming 6.1 to 6.18"
	else
		not_ok "a build for Linux 5.15 stops at once with one message naming 6.1 to 6.18"
		diag "$out"
	fi
}

# --- the Debian packages -----------------------------------------------------------------

DEB_DKMS=
DEB_TOOLS=

# The copy is made a git repository of its own, so that what the build leaves behind
# can be told from what .gitignore covers.
build_packages() {
	local src=$WORK/pkg/etp rc=0

	copy_tree "$src"
	git -C "$src" init -q
	git -C "$src" add -A
	git -C "$src" -c user.name=pkg-check -c user.email=pkg-check@localhost \
		commit -q -m "pkg-check copy"

	log "dpkg-buildpackage -us -uc -b (no network)"
	(cd "$src" && unshare --net dpkg-buildpackage -us -uc -b) \
		>"$LOGS/dpkg-buildpackage.log" 2>&1 || rc=$?
	DEB_DKMS=$(find "$WORK/pkg" -maxdepth 1 -name "etp-dkms_${VER}_all.deb" | head -n 1)
	DEB_TOOLS=$(find "$WORK/pkg" -maxdepth 1 -name "etp-tools_${VER}_*.deb" | head -n 1)
	if [ "$rc" = 0 ] && [ -n "$DEB_DKMS" ] && [ -n "$DEB_TOOLS" ]; then
		ok "dpkg-buildpackage -b builds etp-dkms and etp-tools $VER without network"
	else
		not_ok "dpkg-buildpackage -b builds etp-dkms and etp-tools $VER without network"
		diag "$LOGS/dpkg-buildpackage.log"
		DEB_DKMS=
		DEB_TOOLS=
	fi

	git -C "$src" status --porcelain >"$LOGS/git-status.log"
	if [ -s "$LOGS/git-status.log" ]; then
		not_ok "the package build leaves only files .gitignore covers"
		diag "$LOGS/git-status.log"
	else
		ok "the package build leaves only files .gitignore covers"
	fi
}

# What etp-dkms's postinst says about the kernels it builds for, the running one
# included (it may have no headers, or no /lib/modules at all in a container).
postinst_notes() {
	grep -E 'Building for|Building initial|belongs to a chroot|skipped|Skipped|headers' \
		"$LOGS/apt-install.log" | sed 's/^/# etp-dkms postinst: /' || true
}

# etp_installed_for KVER: DKMS has etp installed for KVER and modinfo finds it there.
etp_installed_for() {
	dkms status -m etp -v "$VER" -k "$1" 2>/dev/null | grep -q ': installed' &&
		modinfo -k "$1" -n etp 2>/dev/null | grep -q "^/lib/modules/$1/updates/dkms/"
}

install_packages_check() {
	local k built

	log "apt-get install etp-dkms etp-tools (DKMS builds etp.ko)"
	PKGS_INSTALLED=1
	if apt_get install "$DEB_DKMS" "$DEB_TOOLS" >"$LOGS/apt-install.log" 2>&1; then
		ok "apt-get install ./$(basename "$DEB_DKMS") ./$(basename "$DEB_TOOLS")"
	else
		not_ok "apt-get install ./$(basename "$DEB_DKMS") ./$(basename "$DEB_TOOLS")"
		diag "$LOGS/apt-install.log" 25
	fi
	echo "# running kernel: $(uname -r)"
	postinst_notes

	# common.postinst builds for the running and the newest kernel, or for every kernel
	# in /lib/modules when the running one has no directory there.
	built=$(sed -n 's/^Building for //p' "$LOGS/apt-install.log" | sed 's/,\| and / /g')
	for k in "${KVERS[@]}"; do
		if ! grep -qwF -- "$k" <<<"$built"; then
			skip "etp-dkms installed etp.ko for $k" "its postinst did not build for $k"
		elif etp_installed_for "$k"; then
			ok "etp-dkms installed etp.ko for $k"
			[ -n "$HOOK_KVER" ] || HOOK_KVER=$k
		else
			not_ok "etp-dkms installed etp.ko for $k"
			dkms status -m etp 2>/dev/null | sed 's/^/# /'
		fi
	done
}

# A kernel upgrade runs /etc/kernel/postinst.d/dkms NEWKVER, which builds and installs
# every AUTOINSTALL module for it: undo etp's build for one kernel and run that hook.
HOOK_KVER=
autoinstall_check() {
	local k=$HOOK_KVER desc

	desc="after dkms unbuild, the kernel hook /etc/kernel/postinst.d/dkms rebuilds etp.ko"
	if [ -z "$k" ]; then
		skip "$desc" "etp was installed for none of the kernels given"
		return
	fi
	log "dkms unbuild and the kernel hook for $k"
	dkms unbuild -m etp -v "$VER" -k "$k" >"$LOGS/dkms-unbuild.log" 2>&1 || true
	if etp_installed_for "$k"; then
		not_ok "$desc for $k (dkms unbuild left it installed)"
		return
	fi
	/etc/kernel/postinst.d/dkms "$k" >"$LOGS/kernel-hook.log" 2>&1 || true
	if etp_installed_for "$k"; then
		ok "$desc for $k (AUTOINSTALL)"
	else
		not_ok "$desc for $k (AUTOINSTALL)"
		diag "$LOGS/kernel-hook.log"
	fi
}

# Every program etp-tools puts in /usr/bin, PROGS of userspace/Makefile and etptrace.
tools_checks() {
	local f t

	for f in $(dpkg -L etp-tools | grep '^/usr/bin/.'); do
		t=$(basename "$f")
		if "$f" --help >"$LOGS/help-$t.log" 2>&1 &&
		   grep -qi '^usage: ' "$LOGS/help-$t.log"; then
			ok "$f --help prints usage and exits 0"
		else
			not_ok "$f --help prints usage and exits 0"
			diag "$LOGS/help-$t.log" 5
		fi
	done
}

# man_ok ARGS...: man renders the page without a warning and it has a NAME section.
man_ok() {
	local out=$LOGS/man.out err=$LOGS/man.err

	MANWIDTH=80 man --warnings "$@" >"$out" 2>"$err" || return 1
	[ ! -s "$err" ] && grep -q '^NAME' "$out"
}

man_checks() {
	local page

	check "man -w etp finds etp(7) in /usr/share/man" \
		test "$(man -w etp 2>/dev/null)" = /usr/share/man/man7/etp.7.gz
	check "man etp renders etp(7) without warnings" man_ok 7 etp
	check "man etpcat renders etpcat(1) without warnings" man_ok 1 etpcat
	for page in $(dpkg -L etp-tools | grep '^/usr/share/man/man./.'); do
		check "man -l $page renders without warnings" man_ok -l "$page"
	done
}

wireshark_checks() {
	local dir

	dir=$(tshark -G folders 2>/dev/null | sed -n 's/^Global Lua Plugins:[[:space:]]*//p')
	check "etp-tools puts etp.lua in tshark's global Lua plugin folder (${dir:-none})" \
		test -n "$dir" -a -f "$dir/etp.lua"
	if tshark -G plugins 2>/dev/null | grep -qF "$dir/etp.lua" &&
	   tshark -G protocols 2>/dev/null | awk -F'\t' '$3 == "etp" { f = 1 } END { exit !f }'; then
		ok "tshark loads etp.lua (tshark -G plugins, protocol etp registered)"
	else
		not_ok "tshark loads etp.lua (tshark -G plugins, protocol etp registered)"
	fi
}

# Nothing of etp may be left once both packages are purged.
leftovers() {
	local f

	[ -z "$(dkms status -m etp 2>/dev/null)" ] ||
		echo "dkms: $(dkms status -m etp 2>/dev/null)"
	[ ! -e "/usr/src/etp-$VER" ] || echo "/usr/src/etp-$VER"
	for f in /lib/modules/*/updates/dkms/etp.ko* /usr/bin/etpcat /usr/bin/etptrace \
		 /usr/share/man/man7/etp.7.gz /usr/lib/*/wireshark/plugins/etp.lua; do
		[ ! -e "$f" ] || echo "$f"
	done
	pkg_installed etp-dkms && echo "etp-dkms still installed"
	pkg_installed etp-tools && echo "etp-tools still installed"
	return 0
}

purge_check() {
	log "apt-get purge etp-dkms etp-tools"
	if apt_get purge etp-dkms etp-tools >"$LOGS/apt-purge.log" 2>&1; then
		ok "apt-get purge etp-dkms etp-tools"
	else
		not_ok "apt-get purge etp-dkms etp-tools"
		diag "$LOGS/apt-purge.log"
	fi
	PKGS_INSTALLED=0
	leftovers >"$LOGS/leftovers.log"
	if [ -s "$LOGS/leftovers.log" ]; then
		not_ok "nothing of etp is left after the purge"
		diag "$LOGS/leftovers.log"
	else
		ok "nothing of etp is left after the purge"
	fi
}

log "etp $VER; kernels: ${KVERS[*]}; work directory $WORK"
dkms_checks
old_kernel_check
build_packages
if [ -n "$DEB_DKMS" ]; then
	install_packages_check
	autoinstall_check
	tools_checks
	man_checks
	wireshark_checks
	purge_check
else
	skip "install, use and purge etp-dkms and etp-tools" "no packages were built"
fi

echo "# $CHECKS checks, $FAILED failed, $((SECONDS - START)) s"
echo "1..$CHECKS"
[ "$FAILED" = 0 ]
