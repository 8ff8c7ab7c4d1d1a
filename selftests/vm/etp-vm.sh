#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etp-vm.sh - build ETP and run its tests in QEMU guests booting Debian's 6.12 kernel.
#
#   selftests/vm/etp-vm.sh test    build, run both topologies, end with "N passed, M failed"
#   selftests/vm/etp-vm.sh demo    build, boot two VMs, run selftests/net/demo.sh a|b
#   selftests/vm/etp-vm.sh shell   build, boot one VM with an interactive shell
#                                  (Ctrl-A x quits QEMU; exiting the shell powers off)
#   selftests/vm/etp-vm.sh sanitizer
#                                  as test, on the sanitizer kernel (KASAN, UBSAN,
#                                  lockdep, kmemleak, ...; sanitizer-kernel.sh builds it
#                                  once and caches it) instead of Debian's
#
# The host kernel cannot load modules, so every insmod happens in a guest. A guest is the
# stock Debian kernel plus a busybox initramfs (initramfs-init) that mounts the host's /usr
# and /etc read-only over 9p and switch_root's into selftests/vm/guest.sh, which sets up
# the network, runs the test list and powers off. The guest has every tool installed on
# the host (deps.sh installs them) and the host's /lib/modules for modprobe.
#
# Single-VM topology: selftests/net/tests-1vm.list; the tests build their own namespaces,
# veth pairs and netem inside the one guest.
#
#   host                                  guest "single" (-smp 2)
#   /usr, /etc       ---- 9p, ro --->     /usr, /etc   (+ /bin /sbin /lib /lib64 links)
#   repository       ---- 9p, ro --->     /etp         (etp.ko, userspace/, selftests/)
#   kselftest cache  ---- 9p, ro --->     /ksft
#   fresh temp dir   <--- 9p, rw --->     /results     (guest.env, tests.list in;
#                                                       TAP, summary, rc out)
#   stdout           <--- ttyS0 ----      console
#
# Two-VM topology: selftests/net/tests-2vm.list; both VMs run every line in the same order,
# VM a as "<line> a", VM b as "<line> b"; the tests synchronise over the network.
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
#   console lines "[a] ..."                                   console lines "[b] ..."
#
# The second link gives the tests a second NIC model and driver (e1000, an emulated Intel
# 82540EM, beside the paravirtual virtio-net); guest.sh finds each NIC by its driver.
#
# Counting (see guest.sh for the per-program rules): the passes and failures of both
# topologies and both VMs are added up; the host adds a failure for each build step that
# fails, each VM that does not report a result (did not boot, panicked, timed out) and
# each kernel-log bug report. A topology whose list does not exist is skipped with a
# message, but a run that tested nothing at all is a failure. When the module does not
# build, no VM boots. The last line is "N passed, M failed"; the exit status is non-zero
# when M > 0.
#
# Environment (all optional):
#   ETP_CACHE          cache for the kselftest files and the initramfs (/var/cache/etp)
#   ETP_KVER           kernel version to build for and boot (default: newest 6.12 headers)
#   ETP_SKIP_BUILD=1   do not run make; use what is already built (for harness work)
#   ETP_TESTLIST_1VM   host path of the single-VM list (selftests/net/tests-1vm.list)
#   ETP_TESTLIST_2VM   host path of the two-VM list (selftests/net/tests-2vm.list)
#   ETP_TOPOLOGIES     which topologies "test" runs: "1vm 2vm" (default), "1vm" or "2vm"
#   ETP_TEST_TIMEOUT   seconds one test program may run in a guest (600)
#   ETP_VM_TIMEOUT     seconds one QEMU run may take before it is killed (1500)
#   ETP_VM_MEM         MiB of RAM per VM (1024)
#   ETP_VM_SMP         vCPUs per VM (single VM: 2, two-VM: 1 each)
#   ETP_QEMU_ACCEL     QEMU accelerator (tcg; nested KVM does not work on the CI machines)
#   ETP_KERNEL_ARGS    more guest kernel arguments, for debugging (e.g. slub_debug=FZPU)
#   ETP_KERNEL         "debian" (default) or "sanitizer" (what the sanitizer command sets)
#   ETP_RESULTS        keep the guests' results (TAP per test, dmesg, console logs) in this
#                      directory instead of a temp dir removed at exit

set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

KERNEL=${ETP_KERNEL:-debian}
[ "${1:-}" = sanitizer ] && KERNEL=sanitizer
TESTLIST_1VM=${ETP_TESTLIST_1VM:-$REPO/selftests/net/tests-1vm.list}
TESTLIST_2VM=${ETP_TESTLIST_2VM:-$REPO/selftests/net/tests-2vm.list}
TOPOLOGIES=${ETP_TOPOLOGIES:-1vm 2vm}
if [ "$KERNEL" = sanitizer ]; then
	# Every check costs time: under TCG the suite runs several times slower.
	TEST_TIMEOUT=${ETP_TEST_TIMEOUT:-2400}
	VM_TIMEOUT=${ETP_VM_TIMEOUT:-14400}
	VM_MEM=${ETP_VM_MEM:-2048}
else
	TEST_TIMEOUT=${ETP_TEST_TIMEOUT:-600}
	VM_TIMEOUT=${ETP_VM_TIMEOUT:-1500}
	VM_MEM=${ETP_VM_MEM:-1024}
fi
ACCEL=${ETP_QEMU_ACCEL:-tcg}
# loglevel=5 keeps warnings (a WARN splat) on the console and drops the info chatter.
CMDLINE="console=ttyS0 rdinit=/init panic_on_warn=1 oops=panic panic=-1 loglevel=5 edd=off"
CMDLINE+=${ETP_KERNEL_ARGS:+ $ETP_KERNEL_ARGS}
# Modules the initramfs needs to mount 9p, in load order (built into the sanitizer kernel).
INITRAMFS_MODULES="netfs 9pnet 9pnet_virtio 9p"
# The sanitizer kernel's own modules, shared with its guests as /lib/modules.
KMODS=

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
WORK=

say() { printf '# %s\n' "$*"; }

# A failure found on the host (build, boot, VM), printed as TAP and counted.
host_fail() {
	printf 'not ok - %s\n' "$*"
	FAILURES+=("$*")
	FAILED=$((FAILED + 1))
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

deps() {
	local env

	"$HERE/deps.sh" >/dev/null || return 1
	# shellcheck source=/dev/null
	. "${ETP_CACHE:-/var/cache/etp}/env.sh"
	[ "$KERNEL" = sanitizer ] || return 0
	env=$("$HERE/sanitizer-kernel.sh") || return 1
	eval "$env"
	KVER=$SAN_KVER KDIR=$SAN_KDIR VMLINUZ=$SAN_VMLINUZ
	KMODS=$SAN_MODDIR/lib/modules
	MODDIR=$KMODS/$KVER
	INITRAMFS_MODULES=
	# etp_kmods: initramfs-init mounts the kmods share as /lib/modules.
	# pci=noacpi: with KASAN, lockdep and kmemleak, ACPI's PCI interrupt link
	# methods take 25 s per device under TCG; the PIRQ table is instant.
	CMDLINE="$CMDLINE etp_kmods pci=noacpi"
}

# Runs make; its output goes to stdout as usual. $1 names the step for the failure line.
build_step() {
	local name=$1

	shift
	say "build $name: make $*"
	make -j"$(nproc)" "$@" || { host_fail "build $name"; return 1; }
}

# Builds all three parts so one run reports every build failure; returns non-zero only
# when the module itself failed (then there is nothing worth booting).
build() {
	local rc=0

	if [ "${ETP_SKIP_BUILD:-0}" = 1 ]; then
		say "ETP_SKIP_BUILD=1: using what is already built"
		return 0
	fi
	build_step module -C "$REPO" KDIR="$KDIR" || rc=1
	if [ -f "$REPO/userspace/Makefile" ]; then
		build_step userspace -C "$REPO/userspace"
	else
		say "userspace/Makefile not there yet: userspace not built"
	fi
	if [ -f "$REPO/selftests/Makefile" ]; then
		build_step selftests -C "$REPO/selftests" KSFT="$KSFT"
	else
		say "selftests/Makefile not there yet: selftests not built"
	fi
	return $rc
}

host_pass() {
	printf 'ok - %s\n' "$*"
	PASSED=$((PASSED + 1))
}

# The kernel style rules, checked on every run: W=1 and sparse (C=2) report
# nothing, and checkpatch.pl --strict reports nothing on mod/.
code_checks() {
	local out

	[ "${ETP_SKIP_BUILD:-0}" = 1 ] && return 0
	# Style does not depend on the kernel booted: the sanitizer run leaves it to test.
	[ "$KERNEL" = sanitizer ] && return 0
	say "code check: make check (W=1, sparse C=2)"
	make -C "$KDIR" M="$REPO" clean >/dev/null 2>&1
	if out=$(make -C "$REPO" KDIR="$KDIR" check 2>&1) &&
	   ! grep -E 'warning:|error:' <<<"$out"; then
		host_pass "module builds with W=1 and sparse without a warning"
	else
		printf '%s\n' "$out" | tail -20
		host_fail "module builds with W=1 and sparse without a warning"
	fi
	say "code check: checkpatch.pl --strict on mod/"
	if out=$(make -s -C "$REPO" style CHECKPATCH="$CHECKPATCH" 2>&1) &&
	   ! grep -E '^(ERROR|WARNING|CHECK)' <<<"$out"; then
		host_pass "checkpatch.pl --strict is clean on mod/"
	else
		printf '%s\n' "$out" | tail -20
		host_fail "checkpatch.pl --strict is clean on mod/"
	fi
}

# The initramfs is cached per kernel version and content of /init; building takes ~1 s.
build_initramfs() {
	local busybox hash dir m f

	busybox=$(command -v busybox) || { say "busybox missing"; return 1; }
	hash=$(cat "$HERE/initramfs-init" "$busybox" <(echo "$INITRAMFS_MODULES") |
	       sha256sum | cut -c 1-16)
	INITRD=$ETP_CACHE/initramfs-$KVER-$hash.cpio.gz
	[ -s "$INITRD" ] && return 0

	say "building $INITRD"
	dir=$(mktemp -d)
	mkdir -p "$dir/bin" "$dir/modules"
	cp "$busybox" "$dir/bin/busybox"
	ln -s busybox "$dir/bin/sh"
	install -m 0755 "$HERE/initramfs-init" "$dir/init"
	echo "$INITRAMFS_MODULES" >"$dir/modules/order"
	for m in $INITRAMFS_MODULES; do
		f=$(find "$MODDIR/kernel" -name "$m.ko*" | head -n 1)
		[ -n "$f" ] || { say "$m.ko not found in $MODDIR"; rm -rf "$dir"; return 1; }
		case $f in
		*.ko.xz) xz -dc "$f" ;;
		*.ko.zst) zstd -qdc "$f" ;;
		*.ko.gz) gzip -dc "$f" ;;
		*) cat "$f" ;;
		esac >"$dir/modules/$m.ko" || { rm -rf "$dir"; return 1; }
	done
	(cd "$dir" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$INITRD.tmp.$$" &&
		mv "$INITRD.tmp.$$" "$INITRD"
	local rc=$?
	rm -rf "$dir"
	# Images for an older /init are of no further use (unless another checkout still
	# boots one right now: leave recent ones).
	find "$ETP_CACHE" -maxdepth 1 -name "initramfs-$KVER-*.cpio.gz" -mtime +1 -delete
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

# Prepare VM directory $WORK/$1: results/ (shared with the guest) gets guest.env and the
# test list $4; $2 = role, $3 = mode.
prepare_vm() {
	local vm=$1 role=$2 mode=$3 list=${4:-} d=$WORK/$1

	rm -rf "$d"
	mkdir -p "$d/results"
	{
		printf 'ETP_MODE=%q\n' "$mode"
		printf 'ETP_ROLE=%q\n' "$role"
		printf 'ETP_TEST_TIMEOUT=%q\n' "$TEST_TIMEOUT"
	} >"$d/results/guest.env"
	[ -z "$list" ] || cp "$list" "$d/results/tests.list"
}

# The QEMU command line for VM $1 with $2 vCPUs; more QEMU arguments may follow.
qemu_cmd() {
	local vm=$1 smp=$2 d=$WORK/$1

	shift 2
	local accel=$ACCEL

	# A one-vCPU guest loses nothing by single-threaded TCG, and twice (CI
	# runs of 240ecf7 and 4673a2e) a two-VM guest under multi-threaded TCG
	# died in SLUB's fast path with register values no x86 CPU can hold
	# (EFLAGS 0x834eef02, 0x04139a02: bits of a slab address), the second
	# time in a raw socket's allocation with no ETP code on the stack.
	[ "$accel" = tcg ] && [ "$smp" = 1 ] && accel=tcg,thread=single
	QEMU=(qemu-system-x86_64 -accel "$accel" -m "$VM_MEM" -smp "$smp"
	      -no-reboot -pidfile "$d/qemu.pid"
	      -kernel "$VMLINUZ" -initrd "$INITRD" -append "$CMDLINE")
	mapfile -t -O ${#QEMU[@]} QEMU < <(share usr /usr ro; share etc /etc ro;
		share etp "$REPO" ro; share ksft "$KSFT" ro; share results "$d/results" rw
		[ -z "$KMODS" ] || share kmods "$KMODS" ro)
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

# Add VM $1's results to the totals. A VM that did not report its end is one more failure;
# the tests it finished before still count.
collect() {
	local vm=$1 label=$2 d=$WORK/$1 p f s qrc why line

	if [ -s "$d/results/summary" ]; then
		read -r p f s <"$d/results/summary"
		PASSED=$((PASSED + p))
		FAILED=$((FAILED + f))
		SKIPPED=$((SKIPPED + s))
	fi
	if [ -s "$d/results/failures" ]; then
		while IFS= read -r line; do
			FAILURES+=("$label: $line")
		done <"$d/results/failures"
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

topology_1vm() {
	if [ ! -r "$TESTLIST_1VM" ]; then
		say "$TESTLIST_1VM not found: single-VM topology skipped"
		return
	fi
	say "single VM: $TESTLIST_1VM"
	local t0=$SECONDS try
	for try in 1 2; do
		prepare_vm single single test "$TESTLIST_1VM"
		qemu_cmd single "${ETP_VM_SMP:-2}" -nic none
		# In the background: bash runs a signal trap only between foreground
		# commands.
		run_vm single "" &
		wait $!
		# Under TCG with two vCPUs, the kernel patching its own code (static
		# keys flipped by late initcalls) can oops with a stray int3 before
		# /init runs: etp.ko is not even loaded then. Boot such a VM once
		# more; a second failure counts.
		[ -e "$WORK/single/results/booted" ] || [ $try = 2 ] || ! grep -q \
			-E 'Oops|Kernel panic' "$WORK/single/console.log" && break
		say "single VM: kernel crashed during boot, before any test ran:" \
		    "booting it again"
		mv "$WORK/single/console.log" "$WORK/single-boot$try.log"
	done
	say "single VM: $((SECONDS - t0))s"
	collect single "single VM"
}

# Boot VMs a and b joined by two UDP links (virtio-net and e1000), in mode $1 with list
# $2; wait for both.
run_pair() {
	local mode=$1 list=${2:-} p1 p2 p3 p4 vm nics pids=() t0=$SECONDS

	read -r p1 p2 p3 p4 < <(free_udp_ports 4) || { host_fail "no free UDP ports"; return 1; }
	say "two VMs: virtio-net link 127.0.0.1:$p1 (a) <-> 127.0.0.1:$p2 (b)," \
	    "e1000 link 127.0.0.1:$p3 (a) <-> 127.0.0.1:$p4 (b)"
	# MAC 52:54:00:e7:LINK:0N (link 00 virtio-net, 01 e1000; N 1 for a, 2 for b): guest.sh
	# knows its peer's MACs from this scheme.
	for vm in a b; do
		prepare_vm "$vm" "$vm" "$mode" "$list"
		if [ "$vm" = a ]; then
			mapfile -t nics < <(dgram_nic n0 virtio-net-pci 52:54:00:e7:00:01 "$p1" "$p2"
					    dgram_nic n1 e1000 52:54:00:e7:01:01 "$p3" "$p4")
		else
			mapfile -t nics < <(dgram_nic n0 virtio-net-pci 52:54:00:e7:00:02 "$p2" "$p1"
					    dgram_nic n1 e1000 52:54:00:e7:01:02 "$p4" "$p3")
		fi
		qemu_cmd "$vm" "${ETP_VM_SMP:-1}" "${nics[@]}"
		run_vm "$vm" "[$vm] " &
		pids+=($!)
	done
	wait_pair "${pids[@]}"
	say "two VMs: $((SECONDS - t0))s"
}

# Wait for both VMs of a pair (background jobs $@). When one stops without reporting, the
# other's tests could only time out one after another: give it 30 s, then stop it too.
wait_pair() {
	local vm other t

	wait -n "$@"
	for vm in a b; do
		[ -e "$WORK/$vm/qemu.rc" ] || continue
		other=b
		[ "$vm" = a ] || other=a
		[ -s "$WORK/$vm/results/rc" ] && break
		for ((t = 0; t < 30; t++)); do
			[ -e "$WORK/$other/qemu.rc" ] && break 2
			sleep 1
		done
		say "VM $vm stopped without reporting: stopping VM $other"
		echo "its peer, VM $vm, had stopped" >"$WORK/$other/stopped"
		kill "$(cat "$WORK/$other/qemu.pid" 2>/dev/null)" 2>/dev/null
		break
	done
	wait "$@"
}

topology_2vm() {
	if [ ! -r "$TESTLIST_2VM" ]; then
		say "$TESTLIST_2VM not found: two-VM topology skipped"
		return
	fi
	say "two VMs: $TESTLIST_2VM"
	run_pair test "$TESTLIST_2VM" || return
	collect a "VM a"
	collect b "VM b"
}

# Common start of every subcommand: dependencies, build, initramfs. Non-zero when no VM
# can usefully boot.
prepare() {
	setup_work
	if ! deps; then
		host_fail "dependencies (selftests/vm/deps.sh)"
		return 1
	fi
	say "kernel $KVER, cache $ETP_CACHE, VM results in $WORK${ETP_RESULTS:+ (kept)}"
	if ! build; then
		say "the module did not build: no VM booted"
		return 1
	fi
	build_initramfs || { host_fail "initramfs"; return 1; }
}

cmd_test() {
	local t0=$SECONDS topo f

	if prepare; then
		code_checks
		for topo in $TOPOLOGIES; do
			case $topo in
			1vm) topology_1vm ;;
			2vm) topology_2vm ;;
			*) host_fail "unknown topology '$topo' in ETP_TOPOLOGIES" ;;
			esac
		done
		# A green run must have tested something.
		[ $((PASSED + FAILED + SKIPPED)) -gt 0 ] || host_fail "no tests ran"
	fi
	say "total time $((SECONDS - t0))s; $SKIPPED skipped"
	for f in "${FAILURES[@]}"; do
		say "failed: $f"
	done
	printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
	[ "$FAILED" -eq 0 ]
}

cmd_demo() {
	local vm rc=0

	prepare || return 1
	if [ ! -x "$REPO/selftests/net/demo.sh" ]; then
		say "selftests/net/demo.sh is not there (yet)"
		return 1
	fi
	run_pair demo || return 1
	for vm in a b; do
		if [ -s "$WORK/$vm/results/rc" ]; then
			say "VM $vm: demo.sh exited with status $(cat "$WORK/$vm/results/rc")"
			[ "$(cat "$WORK/$vm/results/rc")" = 0 ] || rc=1
		else
			say "VM $vm: did not finish the demo"
			rc=1
		fi
	done
	return $rc
}

cmd_shell() {
	prepare || return 1
	prepare_vm shell single shell
	qemu_cmd shell "${ETP_VM_SMP:-2}" -nic none -nographic
	"${QEMU[@]}"
}

case ${1:-} in
# One stream, so a combined CI log keeps its order and "N passed, M failed" stays last.
test | sanitizer) cmd_test 2>&1 ;;
demo) cmd_demo 2>&1 ;;
shell) cmd_shell ;;
*)
	echo "usage: $0 test|sanitizer|demo|shell" >&2
	exit 2
	;;
esac
