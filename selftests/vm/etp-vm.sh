#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etp-vm.sh - build ETP and run its tests in QEMU guests booting Debian's 6.12 and 6.1
# kernels.
#
#   selftests/vm/etp-vm.sh test    build for each kernel, code and package checks, run the
#                                  single-VM list on each kernel, the two-VM list on a
#                                  6.12 pair and the mixed list on a 6.1/6.12 pair, end
#                                  with "N passed, M failed"
#   selftests/vm/etp-vm.sh demo    build, boot two VMs, run selftests/net/demo.sh a|b
#   selftests/vm/etp-vm.sh bench   build, measure ETP beside TCP (selftests/net/etp_bench.sh)
#                                  in one VM, then between two, end with one table
#                                  (etp_bench.py table); exit status 0 when everything
#                                  was measured, whatever the figures
#   selftests/vm/etp-vm.sh shell   build, boot one VM with an interactive shell
#                                  (Ctrl-A x quits QEMU; exiting the shell powers off)
#   selftests/vm/etp-vm.sh sanitizer
#                                  as test, on the sanitizer kernel (KASAN, UBSAN,
#                                  lockdep, kmemleak, ...; sanitizer-kernel.sh builds it
#                                  once and caches it) instead of Debian's, without the
#                                  code, package and mixed-pair checks
#
# The host kernel cannot load modules, so every insmod happens in a guest. A guest is the
# stock Debian kernel plus a busybox initramfs (initramfs-init) that loads the modules 9p
# needs on that kernel, mounts the host's /usr and /etc read-only over 9p and
# switch_root's into selftests/vm/guest.sh, which sets up the network, runs the test list
# and powers off. The guest has every tool installed on the host (deps.sh installs them)
# and the host's /lib/modules for modprobe.
#
# Kernels: ETP_KERNELS names them ("6.12 6.1" for test, "6.12" for demo and shell).
# etp.ko is built once per kernel, each in a copy of Kbuild, Makefile, dkms.conf and mod/
# of its own ($WORK/kbuild-KERNEL; the repository itself is never built in), and that
# directory is the guest's /module. userspace/ and selftests/ do not depend on the kernel
# and are built once, in the repository.
#
# Single-VM topology: selftests/net/tests-1vm.list, once on each kernel; the tests build
# their own namespaces, veth pairs and netem inside the one guest.
#
#   host                                  guest "single" (-smp 2)
#   /usr, /etc       ---- 9p, ro --->     /usr, /etc   (+ /bin /sbin /lib /lib64 links)
#   repository       ---- 9p, ro --->     /etp         (userspace/, selftests/)
#   kbuild-KERNEL    ---- 9p, ro --->     /module      (etp.ko built for this kernel)
#   kselftest cache  ---- 9p, ro --->     /ksft
#   fresh temp dir   <--- 9p, rw --->     /results     (guest.env, tests.list in;
#                                                       TAP, summary, rc out)
#   stdout           <--- ttyS0 ----      console      (lines "[KERNEL] ...")
#
# Two-VM topology: selftests/net/tests-2vm.list on a pair booting the first kernel of
# ETP_KERNELS (6.12); both VMs run every line in the same order, VM a as "<line> a", VM b
# as "<line> b"; the tests synchronise over the network.
#
#   +------------------------+                              +------------------------+
#   | VM a (-smp 1)          |   virtio-net <-> virtio-net  | VM b (-smp 1)          |
#   | eth0 10.253.0.1/24     |<============================>| eth0 10.253.0.2/24     |
#   |      fd00:253::1/64    |   QEMU -netdev dgram: UDP    |      fd00:253::2/64    |
#   |                        |   127.0.0.1:P1 <-> :P2       |                        |
#   |                        |                              |                        |
#   |                        |   e1000 <-> e1000            |                        |
#   | eth1 10.253.1.1/24     |<============================>| eth1 10.253.1.2/24     |
#   |                        |   QEMU -netdev dgram: UDP    |                        |
#   | 9p shares as above     |   127.0.0.1:P3 <-> :P4       | 9p shares as above     |
#   +------------------------+   (free ports picked at run) +------------------------+
#   console lines "[6.12 a] ..."                          console lines "[6.12 b] ..."
#
# Mixed topology: selftests/net/tests-mixed.list on the same pair of VMs, VM a booting
# the second kernel of ETP_KERNELS (6.1, its own etp.ko as /module) and VM b the first
# (6.12): two kernels' ETP talk to each other (console lines "[6.1 a]", "[6.12 b]").
# Skipped when ETP_KERNELS names one kernel.
#
# The second link gives the tests a second NIC model and driver (e1000, an emulated Intel
# 82540EM, beside the paravirtual virtio-net); guest.sh finds each NIC by its driver.
#
# Counting (see guest.sh for the per-program rules): the passes and failures of every
# run (a topology on a kernel) and every VM are added up; the host adds a pass or a
# failure for each code check and each line of pkg-check.sh, and a failure for each
# build step that fails, each VM that does not report a result (did not boot, panicked,
# timed out) or booted another kernel than meant, and each kernel-log bug report. A
# topology whose list does not exist is skipped with a message, but a run that tested
# nothing at all is a failure. A kernel whose module does not build boots no VM. Each
# failure is printed with the run it came from ("6.1 single VM: ..."); the counts of
# each run and the time of each phase come before the last line, "N passed, M failed";
# the exit status is non-zero when M > 0.
#
# Environment (all optional):
#   ETP_CACHE          cache for the kselftest files and the initramfs (/var/cache/etp)
#   ETP_KERNELS        kernels to build for and boot, first one first: series deps.sh
#                      installs ("6.12", "6.1") or full versions with headers in /usr/src
#                      (test: "6.12 6.1"; demo, shell: "6.12"). demo with two kernels
#                      boots VM a on the second and VM b on the first, as mixed does
#   ETP_KVER           one kernel version: the default of ETP_KERNELS, and what "6.12"
#                      stands for (deps.sh)
#   ETP_SKIP_BUILD=1   do not run make (nor the code and package checks); use what is
#                      already built (for harness work: with ETP_RESULTS, the modules
#                      of the last run in ETP_RESULTS/kbuild-KERNEL)
#   ETP_TESTLIST_1VM   host path of the single-VM list (selftests/net/tests-1vm.list)
#   ETP_TESTLIST_2VM   host path of the two-VM list (selftests/net/tests-2vm.list)
#   ETP_TESTLIST_MIXED host path of the mixed list (selftests/net/tests-mixed.list)
#   ETP_TOPOLOGIES     which topologies "test" runs: "1vm 2vm mixed" (default), or some
#   ETP_MATRIX_ONLY_OTHER
#                      etp_matrix.sh's ETP_MATRIX_ONLY in the single VM of every kernel
#                      but the first (default: one row per kind of impairment, see
#                      MATRIX_ONLY_OTHER below; "" runs the whole matrix there too)
#   ETP_PKG_CHECK=0    do not run pkg-check.sh
#   ETP_TEST_TIMEOUT   seconds one test program may run in a guest (600)
#   ETP_VM_TIMEOUT     seconds one QEMU run may take before it is killed (1500)
#   ETP_VM_MEM         MiB of RAM per VM (1024)
#   ETP_VM_SMP         vCPUs per VM (single VM: 2, two-VM: 1 each)
#   ETP_QEMU_ACCEL     QEMU accelerator (tcg; nested KVM does not work on the CI machines)
#   ETP_KERNEL_ARGS    more guest kernel arguments, for debugging (e.g. slub_debug=FZPU)
#   ETP_KERNEL         "debian" (default) or "sanitizer" (what the sanitizer command sets)
#   ETP_RESULTS        keep the guests' results (TAP per test, dmesg, console logs) and
#                      the module builds in this directory instead of a temp dir removed
#                      at exit
#   ETP_BENCH_*        bench: passed on to etp_bench.sh in the guests (ETP_BENCH_RUNS,
#                      ETP_BENCH_SECS, ...; see that script); bench's ETP_TEST_TIMEOUT
#                      is 3000 and ETP_VM_TIMEOUT 3600

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

CMD=${1:-}
KERNEL=${ETP_KERNEL:-debian}
[ "$CMD" = sanitizer ] && KERNEL=sanitizer
TESTLIST_1VM=${ETP_TESTLIST_1VM:-$REPO/selftests/net/tests-1vm.list}
TESTLIST_2VM=${ETP_TESTLIST_2VM:-$REPO/selftests/net/tests-2vm.list}
TESTLIST_MIXED=${ETP_TESTLIST_MIXED:-$REPO/selftests/net/tests-mixed.list}
if [ "$KERNEL" = sanitizer ]; then
	TOPOLOGIES=${ETP_TOPOLOGIES:-1vm 2vm}
	# Every check costs time: under TCG the suite runs several times slower.
	TEST_TIMEOUT=${ETP_TEST_TIMEOUT:-2400}
	VM_TIMEOUT=${ETP_VM_TIMEOUT:-14400}
	VM_MEM=${ETP_VM_MEM:-2048}
else
	TOPOLOGIES=${ETP_TOPOLOGIES:-1vm 2vm mixed}
	TEST_TIMEOUT=${ETP_TEST_TIMEOUT:-600}
	VM_TIMEOUT=${ETP_VM_TIMEOUT:-1500}
	VM_MEM=${ETP_VM_MEM:-1024}
fi
if [ "$CMD" = bench ]; then
	# One program does every run of the benchmark in a VM (about 8 minutes).
	TEST_TIMEOUT=${ETP_TEST_TIMEOUT:-3000}
	VM_TIMEOUT=${ETP_VM_TIMEOUT:-3600}
fi
if [ "$CMD" = test ]; then
	KERNEL_SPECS=${ETP_KERNELS:-${ETP_KVER:-6.12 6.1}}
else
	KERNEL_SPECS=${ETP_KERNELS:-${ETP_KVER:-6.12}}
fi
ACCEL=${ETP_QEMU_ACCEL:-tcg}
# loglevel=5 keeps warnings (a WARN splat) on the console and drops the info chatter.
CMDLINE="console=ttyS0 rdinit=/init panic_on_warn=1 oops=panic panic=-1 loglevel=5 edd=off"
CMDLINE+=${ETP_KERNEL_ARGS:+ $ETP_KERNEL_ARGS}
# What the initramfs needs to mount 9p: the PCI transport, 9p's virtio transport and the
# filesystem. build_initramfs adds what they depend on, as each kernel's modules.dep
# says, and leaves out what that kernel has built in (Debian's 6.12 has virtio_pci, 6.1
# has none of them, the sanitizer kernel all).
INITRAMFS_ROOTS="virtio_pci 9pnet_virtio 9p"

# The kernels, by name ("6.12", "6.1", "sanitizer"), in ETP_KERNELS order, and for each:
# its version, build tree, image, modules, own-modules share (sanitizer), extra kernel
# arguments, initramfs and the directory its etp.ko was built in (empty if it did not
# build).
KERNELS=()
declare -A K_VER=() K_KDIR=() K_VMLINUZ=() K_MODDIR=() K_KMODS=() K_ARGS=() K_INITRD=() \
	K_BUILD=()

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
# Per run ("host", "6.12 single VM", ...): "passed failed skipped", in order of first use.
RUN=host
RUNS=()
declare -A RUN_COUNTS=()
# Per phase: "name seconds".
PHASES=()
WORK=

say() { printf '# %s\n' "$*"; }

# run_add P F S: add to the counts of the current run.
run_add() {
	local p=0 f=0 s=0

	[ -n "${RUN_COUNTS[$RUN]:-}" ] || RUNS+=("$RUN")
	read -r p f s <<<"${RUN_COUNTS[$RUN]:-0 0 0}"
	RUN_COUNTS[$RUN]="$((p + $1)) $((f + $2)) $((s + $3))"
}

# A failure found on the host (build, boot, VM), printed as TAP and counted.
host_fail() {
	printf 'not ok - %s\n' "$*"
	FAILURES+=("$*")
	FAILED=$((FAILED + 1))
	run_add 0 1 0
}

host_pass() {
	printf 'ok - %s\n' "$*"
	PASSED=$((PASSED + 1))
	run_add 1 0 0
}

# phase NAME START: record that phase NAME, begun at $SECONDS = START, is over.
phase() {
	PHASES+=("$1	$((SECONDS - $2))")
	say "$1: $((SECONDS - $2))s"
}

cleanup() {
	local f

	for f in "$WORK"/*/qemu.pid; do
		[ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
	done
	wait
	if [ -n "$WORK" ] && [ -z "${ETP_RESULTS:-}" ]; then
		rm -rf "$WORK"
	fi
}

setup_work() {
	if [ -n "${ETP_RESULTS:-}" ]; then
		WORK=$ETP_RESULTS
		mkdir -p "$WORK"
	else
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/etp-vm.XXXXXX")
	fi
	trap cleanup EXIT
	trap 'exit 130' INT TERM
}

# series VERSION: "6.1" for 6.1.0-57-amd64, "6.12" for 6.12.118+deb12-amd64.
series() { sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p' <<<"$1"; }

# add_kernel NAME VERSION KDIR VMLINUZ MODDIR [KMODS [ARGS]]
add_kernel() {
	KERNELS+=("$1")
	K_VER[$1]=$2 K_KDIR[$1]=$3 K_VMLINUZ[$1]=$4 K_MODDIR[$1]=$5
	K_KMODS[$1]=${6:-} K_ARGS[$1]=${7:-} K_BUILD[$1]=
}

# The kernels of ETP_KERNELS: a series deps.sh installed ("6.12", "6.1": env.sh's KVER,
# KVER_61) or a full version whose headers, image and modules are installed.
pick_kernels() {
	local spec v name

	for spec in $KERNEL_SPECS; do
		# shellcheck disable=SC2153 # KVER and KVER_61 come from env.sh
		case $spec in
		6.12) v=$KVER ;;
		6.1) v=$KVER_61 ;;
		*.*-*) v=$spec ;;
		*)
			say "ETP_KERNELS: '$spec' is neither 6.12, 6.1 nor a kernel version"
			return 1
			;;
		esac
		name=$(series "$v")
		if [ -n "${K_VER[$name]:-}" ]; then
			say "ETP_KERNELS names two $name kernels"
			return 1
		fi
		if [ ! -d "/usr/src/linux-headers-$v" ] || [ ! -r "/boot/vmlinuz-$v" ] ||
		   [ ! -e "/lib/modules/$v/modules.dep" ]; then
			say "kernel $v: headers, image or modules missing (install linux-headers-$v and linux-image-$v-unsigned)"
			return 1
		fi
		add_kernel "$name" "$v" "/usr/src/linux-headers-$v" "/boot/vmlinuz-$v" \
			"/lib/modules/$v"
	done
	[ ${#KERNELS[@]} -gt 0 ] || { say "ETP_KERNELS names no kernel"; return 1; }
}

deps() {
	local env

	"$HERE/deps.sh" >/dev/null || return 1
	# shellcheck source=/dev/null
	. "${ETP_CACHE:-/var/cache/etp}/env.sh"
	[ "$KERNEL" = sanitizer ] || { pick_kernels; return; }
	env=$("$HERE/sanitizer-kernel.sh") || return 1
	eval "$env"
	# etp_kmods: initramfs-init mounts the kmods share as /lib/modules.
	# pci=noacpi: with KASAN, lockdep and kmemleak, ACPI's PCI interrupt link
	# methods take 25 s per device under TCG; the PIRQ table is instant.
	add_kernel sanitizer "$SAN_KVER" "$SAN_KDIR" "$SAN_VMLINUZ" \
		"$SAN_MODDIR/lib/modules/$SAN_KVER" "$SAN_MODDIR/lib/modules" "etp_kmods pci=noacpi"
}

# Runs make; its output goes to stdout as usual. $1 names the step for the failure line.
build_step() {
	local name=$1

	shift
	say "build $name: make $*"
	make -j"$(nproc)" "$@" || { host_fail "build $name"; return 1; }
}

# copy_module_tree DIR: the files the module's build reads (Kbuild, Makefile, dkms.conf
# and mod/'s sources) into DIR, afresh.
copy_module_tree() {
	rm -rf "$1"
	mkdir -p "$1"
	(cd "$REPO" && find Kbuild Makefile dkms.conf mod -type f \
		\( ! -path 'mod/*' -o -name '*.[chS]' \) -exec cp --parents -t "$1" {} +)
}

# build_module NAME: etp.ko for kernel NAME in $WORK/kbuild-NAME.
build_module() {
	local k=$1 dir=$WORK/kbuild-$1

	if [ "${ETP_SKIP_BUILD:-0}" = 1 ]; then
		if [ -e "$dir/etp.ko" ]; then
			K_BUILD[$k]=$dir
		else
			say "ETP_SKIP_BUILD=1 and no $dir/etp.ko: kernel $k has no module"
		fi
		return 0
	fi
	copy_module_tree "$dir" || { host_fail "build module for $k: copying the sources"; return 1; }
	build_step "module for $k (${K_VER[$k]})" -C "$dir" KDIR="${K_KDIR[$k]}" || return 1
	K_BUILD[$k]=$dir
}

# Builds userspace, selftests and the module for every kernel, so one run reports every
# build failure; returns non-zero only when the module built for no kernel (then there
# is nothing worth booting).
build() {
	local k t0=$SECONDS

	if [ "${ETP_SKIP_BUILD:-0}" = 1 ]; then
		say "ETP_SKIP_BUILD=1: using what is already built"
	elif [ -f "$REPO/userspace/Makefile" ]; then
		build_step userspace -C "$REPO/userspace"
	else
		say "userspace/Makefile not there yet: userspace not built"
	fi
	if [ "${ETP_SKIP_BUILD:-0}" = 1 ]; then
		:
	elif [ -f "$REPO/selftests/Makefile" ]; then
		build_step selftests -C "$REPO/selftests" KSFT="$KSFT"
	else
		say "selftests/Makefile not there yet: selftests not built"
	fi
	for k in "${KERNELS[@]}"; do
		build_module "$k"
	done
	phase "build" "$t0"
	for k in "${KERNELS[@]}"; do
		[ -n "${K_BUILD[$k]}" ] && return 0
	done
	return 1
}

# The kernel style rules, checked on every run: W=1 and sparse (C=2) report nothing for
# any kernel tested (in a copy of the sources of their own, $WORK/kcheck-NAME), and
# checkpatch.pl --strict reports nothing on mod/.
code_checks() {
	local out k dir t0=$SECONDS

	[ "${ETP_SKIP_BUILD:-0}" = 1 ] && return 0
	# Style does not depend on the kernel booted: the sanitizer run leaves it to test.
	[ "$KERNEL" = sanitizer ] && return 0
	for k in "${KERNELS[@]}"; do
		say "code check: make check (W=1, sparse C=2) for $k (${K_VER[$k]})"
		dir=$WORK/kcheck-$k
		if copy_module_tree "$dir" &&
		   out=$(make -C "$dir" KDIR="${K_KDIR[$k]}" check 2>&1) &&
		   ! grep -E 'warning:|error:' <<<"$out"; then
			host_pass "$k: module builds with W=1 and sparse without a warning"
		else
			printf '%s\n' "$out" | tail -20
			host_fail "$k: module builds with W=1 and sparse without a warning"
		fi
		[ -n "${ETP_RESULTS:-}" ] || rm -rf "$dir"
	done
	say "code check: checkpatch.pl --strict on mod/"
	if out=$(make -s -C "$REPO" style CHECKPATCH="$CHECKPATCH" 2>&1) &&
	   ! grep -E '^(ERROR|WARNING|CHECK)' <<<"$out"; then
		host_pass "checkpatch.pl --strict is clean on mod/"
	else
		printf '%s\n' "$out" | tail -20
		host_fail "checkpatch.pl --strict is clean on mod/"
	fi
	phase "code checks" "$t0"
}

# pkg-check.sh (DKMS and the Debian packages, on the host) for the kernels tested: each
# of its "ok"/"not ok" lines counts as a pass or a failure, a "Bail out!" or a non-zero
# exit without a "not ok" line as one failure.
pkg_check() {
	local t0=$SECONDS k kvers=() line rc='?' nok=0

	[ "${ETP_SKIP_BUILD:-0}" = 1 ] && return 0
	[ "${ETP_PKG_CHECK:-1}" = 0 ] && { say "ETP_PKG_CHECK=0: no package checks"; return 0; }
	[ "$KERNEL" = sanitizer ] && return 0
	if [ ! -f "$HERE/pkg-check.sh" ]; then
		say "selftests/vm/pkg-check.sh not there (yet): no package checks"
		return 0
	fi
	for k in "${KERNELS[@]}"; do
		kvers+=("${K_VER[$k]}")
	done
	say "package checks: selftests/vm/pkg-check.sh ${kvers[*]}"
	while IFS= read -r line; do
		case $line in
		"not ok"*)
			nok=$((nok + 1))
			host_fail "packages: ${line#not ok - }"
			;;
		ok*"# SKIP"*)
			printf '%s\n' "$line"
			SKIPPED=$((SKIPPED + 1))
			run_add 0 0 1
			;;
		ok*)
			host_pass "packages: ${line#ok - }"
			;;
		"Bail out!"*)
			nok=$((nok + 1))
			host_fail "packages: pkg-check.sh: ${line#Bail out! }"
			;;
		"#rc "*)
			rc=${line#\#rc }
			;;
		*)
			printf '%s\n' "$line"
			;;
		esac
	done < <(bash "$HERE/pkg-check.sh" "${kvers[@]}" </dev/null 2>&1; echo "#rc $?")
	[ "$rc" = 0 ] || [ "$nok" -gt 0 ] || host_fail "packages: pkg-check.sh exited with status $rc"
	phase "package checks" "$t0"
}

# initramfs_modules MODDIR NAME...: the modules NAMEs need that MODDIR's kernel has as
# modules, dependencies first, one path (relative to MODDIR) a line. A NAME the kernel
# has built in needs nothing; one it has neither way is an error.
initramfs_modules() {
	local dir=$1

	shift
	awk -v roots="$*" '
		function base(p) { sub(/.*\//, "", p); sub(/\.ko(\.[a-z]+)?$/, "", p); gsub(/-/, "_", p); return p }
		# Post-order: every module after the modules it depends on.
		function add(p,    n, i, d) {
			if (p in done) return
			done[p] = 1
			n = split(deps[p], d, " ")
			for (i = 1; i <= n; i++) add(d[i])
			print p
		}
		FILENAME ~ /modules\.builtin$/ { builtin[base($0)] = 1; next }
		{ p = $1; sub(/:$/, "", p); deps[p] = substr($0, length($1) + 2); path[base(p)] = p }
		END {
			n = split(roots, r, " ")
			for (i = 1; i <= n; i++) {
				m = r[i]; gsub(/-/, "_", m)
				if (m in path) add(path[m])
				else if (!(m in builtin)) { print "missing " m > "/dev/stderr"; exit 1 }
			}
		}' "$dir/modules.dep" "$dir/modules.builtin"
}

# The initramfs of kernel $1 is cached per kernel version and content of /init, busybox
# and the modules; building takes ~1 s.
build_initramfs() {
	local k=$1 busybox hash dir m f mods initrd moddir=${K_MODDIR[$1]}

	busybox=$(command -v busybox) || { say "busybox missing"; return 1; }
	# shellcheck disable=SC2086 # a list of names
	mods=$(initramfs_modules "$moddir" $INITRAMFS_ROOTS) ||
		{ say "$k: cannot find $INITRAMFS_ROOTS in $moddir"; return 1; }
	hash=$(cat "$HERE/initramfs-init" "$busybox" <(echo "$mods") |
	       sha256sum | cut -c 1-16)
	initrd=$ETP_CACHE/initramfs-${K_VER[$k]}-$hash.cpio.gz
	K_INITRD[$k]=$initrd
	[ -s "$initrd" ] && return 0

	say "building $initrd (modules: ${mods//$'\n'/ })"
	dir=$(mktemp -d)
	mkdir -p "$dir/bin" "$dir/modules"
	cp "$busybox" "$dir/bin/busybox"
	ln -s busybox "$dir/bin/sh"
	install -m 0755 "$HERE/initramfs-init" "$dir/init"
	: >"$dir/modules/order"
	for f in $mods; do
		m=${f##*/}
		m=${m%%.ko*}
		echo "$m" >>"$dir/modules/order"
		case $f in
		*.ko.xz) xz -dc "$moddir/$f" ;;
		*.ko.zst) zstd -qdc "$moddir/$f" ;;
		*.ko.gz) gzip -dc "$moddir/$f" ;;
		*) cat "$moddir/$f" ;;
		esac >"$dir/modules/$m.ko" || { rm -rf "$dir"; return 1; }
	done
	(cd "$dir" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$initrd.tmp.$$" &&
		mv "$initrd.tmp.$$" "$initrd"
	local rc=$?
	rm -rf "$dir"
	# Images for an older /init are of no further use (unless another checkout still
	# boots one right now: leave recent ones).
	find "$ETP_CACHE" -maxdepth 1 -name "initramfs-${K_VER[$k]}-*.cpio.gz" -mtime +1 -delete
	return $rc
}

# $1 (default 2) distinct free UDP ports on 127.0.0.1 for -netdev dgram links.
free_udp_ports() {
	python3 -c '
import socket, sys
socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))' "${1:-2}"
}

# The -netdev/-device arguments of one NIC: id $1, model $2, MAC $3, UDP ports $4 (ours)
# and $5 (the peer's) on 127.0.0.1.
dgram_nic() {
	printf '%s\n' -netdev \
		"dgram,id=$1,local.type=inet,local.host=127.0.0.1,local.port=$4,remote.type=inet,remote.host=127.0.0.1,remote.port=$5" \
		-device "$2,netdev=$1,mac=$3,romfile="
}

# QEMU option values use "," as separator; a literal comma is written twice.
qesc() { printf '%s' "${1//,/,,}"; }

# Arguments sharing host directory $2 as 9p tag $1; $3 = ro|rw.
share() {
	local ro=

	[ "$3" = ro ] && ro=,readonly=on
	printf '%s\n' -fsdev \
		"local,id=fs_$1,path=$(qesc "$2"),security_model=none,multidevs=remap$ro" \
		-device "virtio-9p-pci,fsdev=fs_$1,mount_tag=$1"
}

# Prepare VM directory $WORK/$1 for kernel $4: results/ (shared with the guest) gets
# guest.env and the test list $5; $2 = role, $3 = mode; more NAME=VALUE pairs for
# guest.env, exported to the tests, may follow.
prepare_vm() {
	local vm=$1 role=$2 mode=$3 k=$4 list=${5:-} d=$WORK/$1 v

	shift $(($# < 5 ? $# : 5))
	rm -rf "$d"
	mkdir -p "$d/results"
	{
		printf 'ETP_MODE=%q\n' "$mode"
		printf 'ETP_ROLE=%q\n' "$role"
		printf 'ETP_TEST_TIMEOUT=%q\n' "$TEST_TIMEOUT"
		for v in "$@"; do
			printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"
		done
	} >"$d/results/guest.env"
	echo "${K_VER[$k]}" >"$d/kernel"
	[ -z "$list" ] || cp "$list" "$d/results/tests.list"
}

# The QEMU command line for VM $1 booting kernel $2 with $3 vCPUs; more QEMU arguments
# may follow.
qemu_cmd() {
	local vm=$1 k=$2 smp=$3 d=$WORK/$1 module

	shift 3
	local accel=$ACCEL

	# A one-vCPU guest loses nothing by single-threaded TCG, and twice (CI
	# runs of 240ecf7 and 4673a2e) a two-VM guest under multi-threaded TCG
	# died in SLUB's fast path with register values no x86 CPU can hold
	# (EFLAGS 0x834eef02, 0x04139a02: bits of a slab address), the second
	# time in a raw socket's allocation with no ETP code on the stack.
	[ "$accel" = tcg ] && [ "$smp" = 1 ] && accel=tcg,thread=single
	# The guest's /module: where etp.ko was built for this kernel (an empty
	# directory when it was not: guest.sh says so and the tests skip).
	module=${K_BUILD[$k]}
	[ -n "$module" ] || { module=$d/no-module; mkdir -p "$module"; }
	QEMU=(qemu-system-x86_64 -accel "$accel" -m "$VM_MEM" -smp "$smp"
	      -no-reboot -pidfile "$d/qemu.pid"
	      -kernel "${K_VMLINUZ[$k]}" -initrd "${K_INITRD[$k]}"
	      -append "$CMDLINE${K_ARGS[$k]:+ ${K_ARGS[$k]}}")
	mapfile -t -O ${#QEMU[@]} QEMU < <(share usr /usr ro; share etc /etc ro;
		share etp "$REPO" ro; share module "$module" ro; share ksft "$KSFT" ro
		share results "$d/results" rw
		[ -z "${K_KMODS[$k]}" ] || share kmods "${K_KMODS[$k]}" ro)
	QEMU+=("$@")
}

# Run VM $1 to the end with a host-side timeout; its console goes to stdout, each line
# prefixed with $2, and to $WORK/$1/console.log. QEMU's exit status lands in qemu.rc.
run_vm() {
	local vm=$1 prefix=$2 d=$WORK/$1

	{
		# Like -nographic, without the firmware's console output and the monitor.
		timeout -k 10 "$VM_TIMEOUT" "${QEMU[@]}" -display none -monitor none \
			-serial stdio </dev/null 2>&1
		echo $? >"$d/qemu.rc"
	} | sed -u -e 's/\r$//' -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\x1bc//g' |
		tee "$d/console.log" | sed -u "s/^/$prefix/"
}

# Add VM $1's results to the totals of the current run, its failures named by label $2.
# A VM that did not report its end, or booted another kernel than prepare_vm meant, is
# one more failure; the tests it finished before still count.
collect() {
	local vm=$1 label=$2 d=$WORK/$1 p f s qrc why line want got

	if [ -s "$d/results/summary" ]; then
		read -r p f s <"$d/results/summary"
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + f))
		SKIPPED=$((SKIPPED + s))
		run_add "$p" "$f" "$s"
	fi
	if [ -s "$d/results/failures" ]; then
		while IFS= read -r line; do
			FAILURES+=("$label: $line")
		done <"$d/results/failures"
	fi
	want=$(cat "$d/kernel")
	got=$(cat "$d/results/kernel" 2>/dev/null)
	if [ -n "$got" ] && [ "$got" != "$want" ]; then
		host_fail "$label: booted kernel $got, not $want"
	fi
	[ -s "$d/results/rc" ] && return 0

	qrc=$(cat "$d/qemu.rc" 2>/dev/null || echo '?')
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		why="killed after the ${VM_TIMEOUT}s host timeout"
	elif [ -e "$d/stopped" ]; then
		why="stopped by the host: $(cat "$d/stopped")"
	elif [ ! -e "$d/results/booted" ]; then
		why="did not boot (qemu exit status $qrc)"
	else
		why="stopped before reporting (qemu exit status $qrc)"
	fi
	line=$(grep -E -m 1 'Kernel panic|\bBUG:|\bWARNING:|Oops|general protection fault|KASAN|UBSAN' \
	       "$d/console.log" 2>/dev/null | cut -c 1-160)
	host_fail "$label: $why${line:+: $line}"
	if [ -s "$d/console.log" ]; then
		say "$label: last console lines:"
		tail -n 20 "$d/console.log" | sed "s/^/# $label| /"
	fi
}

# has_module KERNEL TOPOLOGY: etp.ko was built for KERNEL (or say why TOPOLOGY is skipped).
has_module() {
	[ -n "${K_BUILD[$1]}" ] && return 0
	say "$1: no etp.ko built: $2 skipped"
	return 1
}

# The rows of etp_matrix.sh the single VM of every kernel but the first runs: the first
# kernel runs all 13 settings (about 8 minutes under TCG), the others one per kind
# of impairment (bulk, delay with jitter, loss with fast recovery, loss with timeouts,
# reordering, duplication, corruption, all at once), about a quarter of the time. Every
# other test of the single-VM list runs on every kernel.
MATRIX_ONLY_OTHER=${ETP_MATRIX_ONLY_OTHER-^(delay_0ms|delay_20ms_jitter_5ms|loss_5pct|loss_10pct|reorder_25pct_delay_10ms|duplicate_5pct|corrupt_1pct|loss_5pct_duplicate_5pct_reorder_10pct)$}

# The single-VM list on kernel $1.
single_vm() {
	local k=$1 vm=single-$1 t0=$SECONDS try env=()

	RUN="$k single VM"
	has_module "$k" "$RUN" || return
	say "$RUN: $TESTLIST_1VM on ${K_VER[$k]}"
	if [ "$k" != "${KERNELS[0]}" ] && [ -n "$MATRIX_ONLY_OTHER" ]; then
		env=("ETP_MATRIX_ONLY=$MATRIX_ONLY_OTHER")
		say "$RUN: etp_matrix.sh runs the rows matching $MATRIX_ONLY_OTHER"
	fi
	boot_single "$vm" "$k" test "$TESTLIST_1VM" "${env[@]}"
	collect "$vm" "$RUN"
	phase "$RUN" "$t0"
	RUN=host
}

# boot_single VM KERNEL MODE LIST [NAME=VALUE...]: boot VM, a single VM on KERNEL, in
# MODE with test list LIST (may be "") and those settings, and wait until it is off.
boot_single() {
	local vm=$1 k=$2 mode=$3 list=$4 try

	shift 4
	for try in 1 2; do
		prepare_vm "$vm" single "$mode" "$k" "$list" "$@"
		qemu_cmd "$vm" "$k" "${ETP_VM_SMP:-2}" -nic none
		# In the background: bash runs a signal trap only between foreground
		# commands.
		run_vm "$vm" "[$k] " &
		wait $!
		# Under TCG with two vCPUs, the kernel patching its own code (static
		# keys flipped by late initcalls) can oops with a stray int3 before
		# /init runs: etp.ko is not even loaded then. Boot such a VM once
		# more; a second failure counts.
		[ -e "$WORK/$vm/results/booted" ] || [ $try = 2 ] || ! grep -q \
			-E 'Oops|Kernel panic' "$WORK/$vm/console.log" && break
		say "$RUN: kernel crashed during boot, before any test ran: booting it again"
		mv "$WORK/$vm/console.log" "$WORK/$vm-boot$try.log"
	done
}

topology_1vm() {
	local k

	if [ ! -r "$TESTLIST_1VM" ]; then
		say "$TESTLIST_1VM not found: single-VM topology skipped"
		return
	fi
	for k in "${KERNELS[@]}"; do
		single_vm "$k"
	done
}

# run_pair NAME MODE LIST KERNEL_A KERNEL_B [NAME=VALUE...]: boot VMs NAME-a and NAME-b,
# joined by two UDP links (virtio-net and e1000), in mode MODE with list LIST and those
# settings; wait for both.
run_pair() {
	local name=$1 mode=$2 list=$3 ka=$4 kb=$5 p1 p2 p3 p4 role k nics pids=()

	shift 5
	read -r p1 p2 p3 p4 < <(free_udp_ports 4) || { host_fail "no free UDP ports"; return 1; }
	say "two VMs: a on ${K_VER[$ka]}, b on ${K_VER[$kb]};" \
	    "virtio-net link 127.0.0.1:$p1 (a) <-> 127.0.0.1:$p2 (b)," \
	    "e1000 link 127.0.0.1:$p3 (a) <-> 127.0.0.1:$p4 (b)"
	# MAC 52:54:00:e7:LINK:0N (link 00 virtio-net, 01 e1000; N 1 for a, 2 for b): guest.sh
	# knows its peer's MACs from this scheme.
	for role in a b; do
		if [ "$role" = a ]; then
			k=$ka
			mapfile -t nics < <(dgram_nic n0 virtio-net-pci 52:54:00:e7:00:01 "$p1" "$p2"
					    dgram_nic n1 e1000 52:54:00:e7:01:01 "$p3" "$p4")
		else
			k=$kb
			mapfile -t nics < <(dgram_nic n0 virtio-net-pci 52:54:00:e7:00:02 "$p2" "$p1"
					    dgram_nic n1 e1000 52:54:00:e7:01:02 "$p4" "$p3")
		fi
		prepare_vm "$name-$role" "$role" "$mode" "$k" "$list" "$@"
		qemu_cmd "$name-$role" "$k" "${ETP_VM_SMP:-1}" "${nics[@]}"
		run_vm "$name-$role" "[$k $role] " &
		pids+=($!)
	done
	wait_pair "$name" "${pids[@]}"
}

# Wait for both VMs of pair $1 (background jobs $2 and $3). When one stops without
# reporting, the other's tests could only time out one after another: give it 30 s, then
# stop it too.
wait_pair() {
	local name=$1 role other t

	shift
	wait -n "$@"
	for role in a b; do
		[ -e "$WORK/$name-$role/qemu.rc" ] || continue
		other=b
		[ "$role" = a ] || other=a
		[ -s "$WORK/$name-$role/results/rc" ] && break
		for ((t = 0; t < 30; t++)); do
			[ -e "$WORK/$name-$other/qemu.rc" ] && break 2
			sleep 1
		done
		say "VM $role stopped without reporting: stopping VM $other"
		echo "its peer, VM $role, had stopped" >"$WORK/$name-$other/stopped"
		kill "$(cat "$WORK/$name-$other/qemu.pid" 2>/dev/null)" 2>/dev/null
		break
	done
	wait "$@"
}

# pair_run NAME RUN LIST KERNEL_A KERNEL_B: list LIST on a pair, counted as run RUN.
pair_run() {
	local name=$1 list=$3 ka=$4 kb=$5 t0=$SECONDS

	RUN=$2
	if has_module "$ka" "$RUN" && has_module "$kb" "$RUN"; then
		say "$RUN: $list"
		if run_pair "$name" test "$list" "$ka" "$kb"; then
			collect "$name-a" "$RUN, VM a ($ka)"
			collect "$name-b" "$RUN, VM b ($kb)"
		fi
		phase "$RUN" "$t0"
	fi
	RUN=host
}

topology_2vm() {
	local k=${KERNELS[0]}

	if [ ! -r "$TESTLIST_2VM" ]; then
		say "$TESTLIST_2VM not found: two-VM topology skipped"
		return
	fi
	pair_run "pair-$k" "$k two VMs" "$TESTLIST_2VM" "$k" "$k"
}

# VM a on the second kernel, VM b on the first.
topology_mixed() {
	if [ ${#KERNELS[@]} -lt 2 ]; then
		say "ETP_KERNELS names one kernel: mixed topology skipped"
		return
	fi
	if [ ! -r "$TESTLIST_MIXED" ]; then
		say "$TESTLIST_MIXED not found: mixed topology skipped"
		return
	fi
	pair_run mixed "mixed two VMs (a ${KERNELS[1]}, b ${KERNELS[0]})" "$TESTLIST_MIXED" \
		"${KERNELS[1]}" "${KERNELS[0]}"
}

# Common start of every subcommand: dependencies, build, initramfs. Non-zero when no VM
# can usefully boot.
prepare() {
	local k t0=$SECONDS ok=

	setup_work
	if ! deps; then
		host_fail "dependencies (selftests/vm/deps.sh)"
		return 1
	fi
	for k in "${KERNELS[@]}"; do
		say "kernel $k: ${K_VER[$k]}"
	done
	say "cache $ETP_CACHE, VM results in $WORK${ETP_RESULTS:+ (kept)}"
	phase "dependencies" "$t0"
	if ! build; then
		# (ETP_SKIP_BUILD=1 with nothing built has no failed build step to count.)
		[ "$FAILED" -gt 0 ] || host_fail "no etp.ko for any kernel"
		say "the module built for no kernel: no VM booted"
		return 1
	fi
	for k in "${KERNELS[@]}"; do
		[ -n "${K_BUILD[$k]}" ] || continue
		if build_initramfs "$k"; then
			ok=yes
		else
			host_fail "initramfs for $k"
			K_BUILD[$k]=
		fi
	done
	[ -n "$ok" ]
}

# The counts of each run and the time of each phase.
report() {
	local r p f s ph

	for r in "${RUNS[@]}"; do
		read -r p f s <<<"${RUN_COUNTS[$r]}"
		say "$r: $p passed, $f failed, $s skipped"
	done
	for ph in "${PHASES[@]}"; do
		say "time: ${ph%%	*} ${ph#*	}s"
	done
}

cmd_test() {
	local t0=$SECONDS topo f

	if prepare; then
		code_checks
		pkg_check
		for topo in $TOPOLOGIES; do
			case $topo in
			1vm) topology_1vm ;;
			2vm) topology_2vm ;;
			mixed) topology_mixed ;;
			*) host_fail "unknown topology '$topo' in ETP_TOPOLOGIES" ;;
			esac
		done
		# A green run must have tested something.
		[ $((PASSED + FAILED + SKIPPED)) -gt 0 ] || host_fail "no tests ran"
	fi
	report
	say "total time $((SECONDS - t0))s; $SKIPPED skipped"
	for f in "${FAILURES[@]}"; do
		say "failed: $f"
	done
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	[ "$FAILED" -eq 0 ]
}

# The demo on a pair: both VMs on the first kernel, or with two kernels VM a on the
# second and VM b on the first.
cmd_demo() {
	local vm rc=0 ka kb

	prepare || return 1
	if [ ! -x "$REPO/selftests/net/demo.sh" ]; then
		say "selftests/net/demo.sh is not there (yet)"
		return 1
	fi
	kb=${KERNELS[0]}
	ka=${KERNELS[1]:-$kb}
	has_module "$ka" demo && has_module "$kb" demo || return 1
	run_pair demo demo "" "$ka" "$kb" || return 1
	for vm in a b; do
		if [ -s "$WORK/demo-$vm/results/rc" ]; then
			say "VM $vm: demo.sh exited with status $(cat "$WORK/demo-$vm/results/rc")"
			[ "$(cat "$WORK/demo-$vm/results/rc")" = 0 ] || rc=1
		else
			say "VM $vm: did not finish the demo"
			rc=1
		fi
	done
	return $rc
}

# The benchmark on the first kernel of ETP_KERNELS: etp_bench.sh in one VM (2 vCPUs),
# then in a pair (1 vCPU each), and one table of both. Non-zero when something was not
# measured: a VM that did not finish or reported a kernel bug, or a metric without a run
# of each protocol; the figures themselves never fail.
cmd_bench() {
	local k v t0=$SECONDS t1 rc=0 f dirs=() env=(ETP_BENCH_OUT=/results/bench ETP_BENCH_TABLE=0)

	prepare || return 1
	k=${KERNELS[0]}
	has_module "$k" bench || return 1
	for v in $(compgen -e ETP_BENCH_); do
		case $v in
		ETP_BENCH_OUT | ETP_BENCH_TABLE) ;;
		*) env+=("$v=${!v}") ;;
		esac
	done
	t1=$SECONDS
	RUN="bench, one VM"
	say "$RUN: selftests/net/etp_bench.sh on ${K_VER[$k]}"
	boot_single bench-single "$k" bench "" "${env[@]}"
	collect bench-single "$RUN"
	phase "$RUN" "$t1"
	t1=$SECONDS
	RUN="bench, two VMs"
	say "$RUN: selftests/net/etp_bench.sh a|b"
	if run_pair bench-pair bench "" "$k" "$k" "${env[@]}"; then
		collect bench-pair-a "$RUN, VM a"
		collect bench-pair-b "$RUN, VM b"
	fi
	phase "$RUN" "$t1"
	RUN=host
	say "total time $((SECONDS - t0))s"
	for f in "${FAILURES[@]}"; do
		say "failed: $f"
	done
	[ "$FAILED" -eq 0 ] || rc=1
	for v in bench-single bench-pair-a bench-pair-b; do
		[ -d "$WORK/$v/results/bench" ] && dirs+=("$WORK/$v/results/bench")
	done
	if [ ${#dirs[@]} -eq 0 ]; then
		say "no VM left any results: nothing was measured"
		return 1
	fi
	echo
	python3 "$REPO/selftests/net/etp_bench.py" table "${dirs[@]}" || rc=1
	return $rc
}

# One VM on the first kernel of ETP_KERNELS.
cmd_shell() {
	local k

	prepare || return 1
	k=${KERNELS[0]}
	has_module "$k" "loading etp" || say "$k: the shell starts without etp.ko"
	prepare_vm shell single shell "$k"
	qemu_cmd shell "$k" "${ETP_VM_SMP:-2}" -nic none -nographic
	"${QEMU[@]}"
}

case $CMD in
# One stream, so a combined CI log keeps its order and "N passed, M failed" stays last.
test | sanitizer) cmd_test 2>&1 ;;
demo) cmd_demo 2>&1 ;;
bench) cmd_bench 2>&1 ;;
shell) cmd_shell ;;
*)
	echo "usage: $0 test|sanitizer|demo|bench|shell" >&2
	exit 2
	;;
esac
