#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh - PID 1 of an ETP test VM, started by the initramfs /init after switch_root.
# See etp-vm.sh for the topologies. The host passes its settings in /results/guest.env:
#
#   ETP_MODE          test | demo | bench | shell
#   ETP_ROLE          single | a | b
#   ETP_TEST_TIMEOUT  seconds one test program may run (default 600)
#   export NAME=VALUE more settings for the tests (e.g. ETP_MATRIX_ONLY)
#
# Environment every test program sees:
#
#   ETP_ROOT=/etp                  the repository (read-only; do not write into it)
#   ETP_MODULE=/module/etp.ko      the module, built for the kernel this VM runs; loaded
#                                  before each test if not loaded
#   ETP_ROLE=single|a|b
#   ETP_IFNAME=eth0                two-VM only: the virtio-net NIC joining the VMs
#   ETP_LOCAL_ADDR, ETP_PEER_ADDR  two-VM only: 10.253.0.1 (a) and 10.253.0.2 (b)
#   ETP_LOCAL_ADDR6, ETP_PEER_ADDR6  two-VM only: fd00:253::1 (a) and fd00:253::2 (b)
#   ETP_E1000_IFNAME=eth1          two-VM only: the e1000 NIC of the second link
#   ETP_E1000_LOCAL_ADDR, ETP_E1000_PEER_ADDR  two-VM only: 10.253.1.1 (a), 10.253.1.2 (b)
#   ETP_PEER_KERNEL                two-VM only: the peer's `uname -r` (the two may differ)
#   ETP_ARTIFACTS=/results/test-N  a directory whose files the host keeps (ETP_RESULTS)
#   KSFT=/ksft                     the kselftest framework (kselftest/ktap_helpers.sh, ...)
#   PATH                           starts with /etp/userspace:/etp/selftests/net
#
# Writable: /tmp, /run, /var, /root (tmpfs). Read-only: /usr, /etc, /etp, /module, /ksft.
# Two-VM mode uses TCP ports 25301 and 25302 on eth0 for its start and end barriers and
# 25303 to tell each other their kernel versions. The
# NICs are told apart by their drivers (virtio_net, e1000), not by their names.
#
# Test mode runs every line of /results/tests.list (blank lines and lines starting with #
# are ignored) as `bash -c "<line>"` (two-VM: "<line> a" or "<line> b") in /tmp/etp-test-N,
# under a timeout, and counts its KTAP/TAP stdout:
#   - each top-level "ok ..." line is a pass, each "not ok ..." line a failure, and a line
#     with "# SKIP" is neither (counted as skipped);
#   - a non-zero exit without any "not ok" line is one more failure (exit 4, kselftest's
#     KSFT_SKIP, is a skip instead); a timeout is always one more failure;
#   - no result line at all and exit 0 is one pass.
# After each test leftover processes of the test are killed, network namespaces deleted and
# the nftables ruleset flushed. The kernel log is checked at boot, after each test and at
# the end (after unloading etp and, where the kernel has it, a kmemleak scan); every new
# WARNING/BUG/Oops/Call Trace/KASAN/UBSAN/kmemleak report is one failure.
#
# Demo and bench modes run one program with the role as its argument, selftests/net/demo.sh
# or etp_bench.sh, under the same timeout; its exit status goes to /results/rc, and the
# kernel log is checked after it.
#
# Results for the host: /results/booted (written at start), /results/kernel (`uname -r`),
# /results/test-N.out (stdout of
# test N), /results/failures (the "not ok" lines), /results/summary ("P F S": passed,
# failed, skipped; rewritten after every test), /results/dmesg.txt, and /results/rc,
# written last.

export PATH=/etp/userspace:/etp/selftests/net:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin
export HOME=/root LANG=C.UTF-8 TERM=${TERM:-linux} PYTHONUNBUFFERED=1
export ETP_ROOT=/etp ETP_MODULE=/module/etp.ko KSFT=/ksft
RES=/results

ETP_MODE="test"
ETP_ROLE=single
ETP_TEST_TIMEOUT=600
# shellcheck source=/dev/null
. $RES/guest.env
export ETP_ROLE

# Kernel log lines that mean the kernel found a bug. "kmemleak:" alone is the detector's
# own boot message, so only its leak reports match.
KLOG_BUGS='\bWARNING:|\bBUG:|Oops|Call Trace|\bKASAN\b|UBSAN:|kmemleak:.*suspected memory leak|Kernel panic|general protection fault|refcount_t:'

passed=0
failed=0
skipped=0
klog_seen=0
insmod_failed=
gso_segs=
gso_segs_e1000=

say() { printf '# %s\n' "$*"; }

# A failure the runner itself detected, in the same TAP form as the tests' own.
fail() {
	printf 'not ok - %s\n' "$*" | tee -a $RES/failures
	failed=$((failed + 1))
}

power_off() {
	sync
	busybox poweroff -f
	echo o >/proc/sysrq-trigger
	sleep 30
}

# The network interface driven by driver $1, if there is one.
nic_by_driver() {
	local d

	for d in /sys/class/net/*; do
		[ "$(basename "$(readlink -f "$d/device/driver" 2>/dev/null)")" = "$1" ] &&
			{ basename "$d"; return 0; }
	done
	return 1
}

setup_network() {
	local n m

	echo /usr/sbin/modprobe >/proc/sys/kernel/modprobe
	# virtio_net first: it names its NIC eth0 (there is no udev to rename NICs).
	m="virtio_net veth sch_netem nf_tables nft_limit"
	[ "$ETP_ROLE" = single ] || m="virtio_net e1000 veth sch_netem nf_tables nft_limit"
	for m in $m; do
		modprobe "$m" || say "modprobe $m failed"
	done
	# When the kernel's random generator becomes ready it patches its code
	# (a static key). Under TCG a CPU running that code while it changes
	# can take a stray int3 and oops, so let that happen before any test
	# runs: reading /dev/random blocks until the generator is ready.
	local t0=$SECONDS
	dd if=/dev/random of=/dev/null bs=1 count=1 status=none
	sleep 1
	say "random generator ready after $((SECONDS - t0)) s"
	# Enabling a trace event also hooks sched_switch to record task names,
	# which patches __schedule(): the same TCG hazard, on every test that
	# traces. The tests read event fields, not task names.
	[ -d /sys/kernel/tracing/options ] ||
		mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
	echo 0 >/sys/kernel/tracing/options/record-cmd 2>/dev/null ||
		say "cannot turn off trace record-cmd"
	hold_netfilter_hooks
	ip link set lo up
	hostname "etp-$ETP_ROLE"

	[ "$ETP_ROLE" = single ] && return 0
	case $ETP_ROLE in
	a) n=1 ;;
	b) n=2 ;;
	esac
	ETP_IFNAME=$(nic_by_driver virtio_net) || fail "no NIC driven by virtio_net"
	ETP_E1000_IFNAME=$(nic_by_driver e1000) || fail "no NIC driven by e1000"
	export ETP_IFNAME=${ETP_IFNAME:-eth0} ETP_E1000_IFNAME=${ETP_E1000_IFNAME:-eth1}
	export ETP_LOCAL_ADDR=10.253.0.$n ETP_PEER_ADDR=10.253.0.$((3 - n))
	export ETP_LOCAL_ADDR6=fd00:253::$n ETP_PEER_ADDR6=fd00:253::$((3 - n))
	export ETP_E1000_LOCAL_ADDR=10.253.1.$n ETP_E1000_PEER_ADDR=10.253.1.$((3 - n))
	say "NICs: $ETP_IFNAME (virtio_net) $ETP_LOCAL_ADDR, $ETP_E1000_IFNAME (e1000) $ETP_E1000_LOCAL_ADDR"
	ip link set "$ETP_IFNAME" up
	ip addr add "$ETP_LOCAL_ADDR/24" dev "$ETP_IFNAME"
	ip -6 addr add "$ETP_LOCAL_ADDR6/64" dev "$ETP_IFNAME" nodad
	ip link set "$ETP_E1000_IFNAME" up
	ip addr add "$ETP_E1000_LOCAL_ADDR/24" dev "$ETP_E1000_IFNAME"
	# The peer's MACs are fixed by etp-vm.sh (52:54:00:e7:LINK:0N). Fixed neighbour
	# entries keep ARP out of the tests: netem on a NIC drops ARP too, and a neighbour
	# that fails to revalidate stalls every transport on the link for seconds.
	ip neigh replace "$ETP_PEER_ADDR" lladdr "52:54:00:e7:00:0$((3 - n))" \
		dev "$ETP_IFNAME" nud permanent
	ip neigh replace "$ETP_E1000_PEER_ADDR" lladdr "52:54:00:e7:01:0$((3 - n))" \
		dev "$ETP_E1000_IFNAME" nud permanent
	# Tests may lower a NIC's GSO limit; cleanup_after_test puts these back.
	gso_segs=$(gso_max_segs "$ETP_IFNAME")
	gso_segs_e1000=$(gso_max_segs "$ETP_E1000_IFNAME")
}

# The first netfilter hook of a kind anywhere switches a static key in every place that
# hook is called from (nf_hooks_needed: ip_local_deliver(), ip_rcv(), ip_output(), ...),
# the last one switches it back: the same TCG hazard, each time a test adds its first
# nft rule and each time the cleanup flushes it (an "Oops: int3" in ip_local_deliver()
# while a test sent raw ICMP on 6.12). A network namespace of the runner's own, unnamed
# so that no cleanup deletes it, holds a chain on each IPv4 and IPv6 hook for the whole
# run, so the keys are switched once, here, before any test.
hold_netfilter_hooks() {
	local h i

	{
		echo "table inet etp_hold {"
		for h in prerouting input forward output postrouting; do
			echo "	chain $h { type filter hook $h priority 0; policy accept; }"
		done
		echo "}"
	} >/run/etp-hold.nft
	unshare -n sh -c 'nft -f /run/etp-hold.nft && exec sleep infinity' </dev/null \
		>/dev/null 2>&1 &
	# nft has loaded the table once sleep has replaced the shell.
	for i in $(seq 50); do
		[ "$(readlink /proc/$!/exe)" = /usr/bin/sleep ] && return 0
		kill -0 $! 2>/dev/null || break
		sleep 0.1
	done
	say "cannot hold the netfilter hooks in a namespace of their own"
}

# The GSO segment limit of NIC $1 (sysfs does not show it).
gso_max_segs() {
	ip -d link show dev "$1" | sed -n 's/.* gso_max_segs \([0-9]*\).*/\1/p'
}

# Two-VM rendezvous over plain TCP: VM a listens until b connects, b retries until a
# listens, so both go on once both have arrived. $1 is a TCP port, $3 a timeout in seconds.
barrier() {
	local port=$1 name=$2 deadline=$((SECONDS + $3))

	if [ "$ETP_ROLE" = a ]; then
		timeout "$3" socat -u "TCP-LISTEN:$port,bind=$ETP_LOCAL_ADDR,reuseaddr" \
			OPEN:/dev/null && return 0
	else
		while [ $SECONDS -lt $deadline ]; do
			echo "$name" | socat -u STDIN "TCP:$ETP_PEER_ADDR:$port,connect-timeout=1" \
				2>/dev/null && return 0
			sleep 1
		done
	fi
	say "barrier '$name': peer $ETP_PEER_ADDR did not arrive within $3s"
	return 1
}

# ping $1 until it answers, for at most $2 seconds.
ping_until() {
	local deadline=$((SECONDS + $2))

	while [ $SECONDS -lt $deadline ]; do
		ping -c 1 -W 1 "$1" >/dev/null 2>&1 && return 0
		sleep 1
	done
	return 1
}

wait_for_peer() {
	if ! ping_until "$ETP_PEER_ADDR" 90; then
		fail "peer $ETP_PEER_ADDR unreachable on $ETP_IFNAME"
		return
	fi
	say "peer $ETP_PEER_ADDR answers ping"
	# The peer is up: its second link must work too.
	if ping_until "$ETP_E1000_PEER_ADDR" 20; then
		say "peer $ETP_E1000_PEER_ADDR answers ping on $ETP_E1000_IFNAME (e1000)"
	else
		fail "peer $ETP_E1000_PEER_ADDR unreachable on $ETP_E1000_IFNAME (e1000)"
	fi
	barrier 25301 start 90 || fail "peer $ETP_PEER_ADDR did not start its tests"
	# The two VMs may boot different kernels (etp-vm.sh's mixed pair): each
	# sends its version first, then reads the peer's.
	# (No quotes nor commas: socat parses the command as part of its address.)
	# shellcheck disable=SC2016 # expanded by the shell socat starts
	local get='uname -r; read -r k; echo $k >/run/etp-peer-kernel'
	if [ "$ETP_ROLE" = a ]; then
		timeout 30 socat "TCP-LISTEN:25303,bind=$ETP_LOCAL_ADDR,reuseaddr" \
			"SYSTEM:$get" 2>/dev/null
	else
		timeout 30 socat "TCP:$ETP_PEER_ADDR:25303,connect-timeout=1,retry=20,interval=1" \
			"SYSTEM:$get" 2>/dev/null
	fi
	export ETP_PEER_KERNEL
	ETP_PEER_KERNEL=$(cat /run/etp-peer-kernel 2>/dev/null)
	say "kernels: this VM ($ETP_ROLE) $(uname -r), peer ${ETP_PEER_KERNEL:-(did not say)}"
}

# Count new bug reports in the kernel log since the last call; $1 names the step.
check_klog() {
	local lines first

	mapfile -t lines < <(dmesg | grep -n -E "$KLOG_BUGS" | cut -d: -f1)
	[ ${#lines[@]} -gt "$klog_seen" ] || return 0
	first=${lines[$klog_seen]}
	klog_seen=${#lines[@]}
	fail "kernel log reports a bug ($1): $(dmesg | sed -n "${first}p" | cut -c 1-160)"
	dmesg | sed -n "$((first > 5 ? first - 5 : 1)),$((first + 60))p" | sed 's/^/# klog: /'
}

load_module() {
	[ -d /sys/module/etp ] && return 0
	if [ ! -e "$ETP_MODULE" ]; then
		[ -n "$insmod_failed" ] || say "$ETP_MODULE not built; tests run without it"
		insmod_failed=missing
		return 0
	fi
	insmod "$ETP_MODULE" && return 0
	[ -n "$insmod_failed" ] || fail "insmod $ETP_MODULE"
	insmod_failed=yes
}

# Runs in its own pipeline element so its stdout can be copied to a file as it arrives.
# timeout puts the test in a process group of its own: kill what the test left behind, or
# a leftover background server would hold the pipe open.
run_cmd() {
	local cmd=$1 rcfile=$2 pid rc

	timeout -k 10 "$ETP_TEST_TIMEOUT" stdbuf -oL -eL bash -c "$cmd" </dev/null &
	pid=$!
	wait "$pid"
	rc=$?
	kill -KILL -- "-$pid" 2>/dev/null
	echo "$rc" >"$rcfile"
}

cleanup_after_test() {
	ip -all netns delete 2>/dev/null
	nft flush ruleset 2>/dev/null
	[ "$ETP_ROLE" = single ] && return
	tc qdisc del dev "$ETP_IFNAME" root 2>/dev/null
	tc qdisc del dev "$ETP_E1000_IFNAME" root 2>/dev/null
	[ -z "$gso_segs" ] || ip link set dev "$ETP_IFNAME" gso_max_segs "$gso_segs"
	[ -z "$gso_segs_e1000" ] || ip link set dev "$ETP_E1000_IFNAME" gso_max_segs "$gso_segs_e1000"
}

run_test() {
	local n=$1 line=$2 cmd dir out rc p f s r start secs

	cmd=$line
	[ "$ETP_ROLE" = single ] || cmd="$line $ETP_ROLE"
	dir=/tmp/etp-test-$n
	out=$RES/test-$n.out
	mkdir -p "$dir" "$RES/test-$n"
	export ETP_ARTIFACTS=$RES/test-$n
	load_module

	say "[$n] $cmd"
	start=$(date +%s)
	(cd "$dir" && run_cmd "$cmd" "$dir.rc") | tee "$out"
	rc=$(cat "$dir.rc" 2>/dev/null || echo 255)
	secs=$(($(date +%s) - start))

	read -r p f s < <(awk '
		/^(not )?ok( |$)/ {
			if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) s++
			else if ($1 == "ok") p++
			else f++
		}
		END { print p + 0, f + 0, s + 0 }' "$out")
	grep -E '^not ok( |$)' "$out" | grep -Eiv '#[[:space:]]*skip' |
		while IFS= read -r r; do
			printf '[%s] %s: %s\n' "$n" "$line" "$r"
		done >>$RES/failures

	# timeout exits 124, or 137 when the test needed a SIGKILL after the SIGTERM.
	if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ "$secs" -ge "$ETP_TEST_TIMEOUT" ]; }; then
		printf 'not ok - %s # timed out after %ss\n' "$line" "$ETP_TEST_TIMEOUT" |
			tee -a $RES/failures
		f=$((f + 1))
	elif [ "$rc" -eq 4 ] && [ "$f" -eq 0 ]; then
		[ $((p + s)) -gt 0 ] || s=1
	elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		printf 'not ok - %s # exited with status %s\n' "$line" "$rc" | tee -a $RES/failures
		f=1
	elif [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then
		p=1
	fi
	say "[$n] $line: exit $rc, $p passed, $f failed, $s skipped, ${secs}s"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))

	rmdir "$ETP_ARTIFACTS" 2>/dev/null
	cleanup_after_test
	check_klog "after test $n"
	write_summary
}

# Running totals, so the host can count the tests a VM finished before it crashed.
write_summary() {
	echo "$passed $failed $skipped" >$RES/summary
}

# The last test's closing connections may still hold the module for a
# moment (an orphan sending its FIN): retry for up to 30 s, then say what
# is left.
unload_module() {
	local i

	[ -d /sys/module/etp ] || return 0
	for i in $(seq 60); do
		rmmod etp 2>/dev/null && return 0
		sleep 0.5
	done
	say "sockets left:"
	cat /proc/net/etp 2>/dev/null | sed 's/^/#   /'
	fail "rmmod etp (module still in use 30 s after all tests)"
}

kmemleak_scan() {
	local k=/sys/kernel/debug/kmemleak

	[ -w $k ] || return 0
	# Two scans: an object is reported only once it has been unreferenced for a whole scan.
	echo scan >$k
	sleep 5
	echo scan >$k
	if [ -n "$(cat $k)" ]; then
		fail "kmemleak reports leaks"
		head -n 80 $k | sed 's/^/# kmemleak: /'
	fi
}

run_tests() {
	local list=$RES/tests.list n=0 line

	[ -r $list ] || { fail "no test list in $list"; return; }
	while IFS= read -r line <&9 || [ -n "$line" ]; do
		line=${line#"${line%%[![:space:]]*}"}
		line=${line%"${line##*[![:space:]]}"}
		case $line in "" | "#"*) continue ;; esac
		n=$((n + 1))
		run_test "$n" "$line"
	done 9<$list
	say "ran $n test programs"
	# Do not power off while the peer may still be talking to us. Both VMs run the same
	# list in step, so they finish close together; a peer that died is not waited for long.
	[ "$ETP_ROLE" = single ] || barrier 25302 end 120
	unload_module
	kmemleak_scan
	check_klog "end of run"
}

main() {
	local rc prog

	: >$RES/failures
	echo "$ETP_MODE $ETP_ROLE" >$RES/booted
	uname -r >$RES/kernel
	say "guest $ETP_ROLE up $(cut -d " " -f 1 /proc/uptime)s after boot: kernel $(uname -r), mode $ETP_MODE"
	setup_network
	check_klog boot
	[ "$ETP_ROLE" = single ] || wait_for_peer

	case $ETP_MODE in
	test)
		run_tests
		rc=$((failed > 0))
		say "guest $ETP_ROLE: $passed passed, $failed failed, $skipped skipped"
		;;
	demo | bench)
		# One program, given the role: demo.sh (a, b) or etp_bench.sh (single, a, b).
		prog=demo.sh
		[ "$ETP_MODE" = bench ] && prog=etp_bench.sh
		load_module
		mkdir -p "/tmp/etp-$ETP_MODE"
		cd "/tmp/etp-$ETP_MODE" || say "cannot cd to /tmp/etp-$ETP_MODE"
		timeout -k 10 "$ETP_TEST_TIMEOUT" "/etp/selftests/net/$prog" "$ETP_ROLE" </dev/null
		rc=$?
		say "$prog $ETP_ROLE exited with status $rc"
		check_klog "end of $prog"
		;;
	shell)
		load_module
		say "interactive shell; exit (or Ctrl-D) powers the VM off"
		setsid -c bash -l </dev/ttyS0 >/dev/ttyS0 2>&1
		rc=0
		;;
	esac

	dmesg >$RES/dmesg.txt
	write_summary
	echo "$rc" >$RES/rc
}

main
power_off
