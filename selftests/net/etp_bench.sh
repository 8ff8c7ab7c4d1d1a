#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etp_bench.sh - ETP beside Linux TCP, measured with etp-perf, for the table
# of issue 11 (selftests/vm/etp-vm.sh bench runs it in one VM, then in two).
#
#   etp_bench.sh [single]   in one machine (a VM: etp-vm.sh shell), as root
#   etp_bench.sh a|b        in each of two VMs of etp-vm.sh's pair
#
# Single: two namespaces joined by veth, the etp-perf server in one, the
# client in the other (or beside the server, on loopback):
#
#   netns etpbench-PID-c                      netns etpbench-PID-s
#   +-----------------------------+   veth   +-----------------------------+
#   | etp-perf -c 10.253.40.2     |<========>| etp-perf -s (ETP and TCP)   |
#   | veth0 10.253.40.1/24        |          | veth1 10.253.40.2/24        |
#   +-----------------------------+          | etp-perf -c 127.0.0.1 (lo)  |
#                                            | etp_bench.py idle (lo)      |
#                                            +-----------------------------+
#
# Two VMs: etp-perf -s on VM a (10.253.0.1), the client on VM b over the
# virtio-net link; b sends, a receives.
#
# What each test measures, ETP and then TCP, in every run (runs 1..RUNS:
# ETP run 1, TCP run 1, ETP run 2, ... for each test in turn):
#   idle        memory per idle connection pair: PAIRS connected pairs on
#               loopback (etp_bench.py idle holds both ends), and the slab
#               memory before and after they open (see mem_snapshot)
#   bulk_veth   bulk, 1 connection over veth with TCP's defaults: TSO, GSO
#               and GRO on at both ends; also the receiver's ACK segments
#               (OutSegs of the server's namespace: /proc/net/etp_stat for
#               ETP, /proc/net/snmp Tcp for TCP, which also counts the few
#               segments of etp-perf's TCP control connection)
#   bulk_nooff  the same with tso, gso and gro off at both veth ends
#   bulk_lo     bulk, 1 connection over loopback (its defaults)
#   aggN        bulk over N connections at once (ETP_BENCH_CONNS), veth
#               with TCP's defaults: total rate and fairness (slowest over
#               fastest connection); writes of 128 KiB, halved until N
#               of them make 8 MiB at most
#   rr          1-byte request/response on one connection: latency
#               percentiles (client and server on one CPU: see pin)
#   crr         connect, 1-byte request and response, close: rate
#   bulk_2vm    (b) bulk, 1 connection from VM b to VM a
# CPU per MiB is etp-perf's: both ends' process CPU time over the MiB the
# receiver read. At the end, one more ETP bulk run under `perf record -a`:
# the top functions of the sender and of the receiver (over veth: of each
# process; between two VMs: of each VM, b sending, a receiving).
#
# Results go to ETP_BENCH_OUT: json/TEST.PROTO.RUN.json (etp-perf -J),
# records.tsv (figures read from the kernel: TEST PROTO RUN KEY VALUE),
# expected (the tests of this run), failures (runs that gave no figure) and
# profile-*.txt; `etp_bench.py table DIR...` turns them into the table, as
# this script does at the end in single mode. Nothing here passes or fails
# on a speed: the exit status is 0 when every test gave at least one figure
# for each protocol, 1 when some could not be measured, 2 when the setup
# failed.
#
# Environment:
#   ETP_BENCH_RUNS    runs of each test and protocol (5)
#   ETP_BENCH_SECS    seconds of each etp-perf run (3)
#   ETP_BENCH_TESTS   the single-mode tests, in order
#                     (idle bulk_veth bulk_nooff bulk_lo agg10 agg100 agg1000 rr crr)
#   ETP_BENCH_CONNS   N of the aggN tests when ETP_BENCH_TESTS is not set
#                     (10 100 1000)
#   ETP_BENCH_PAIRS   idle pairs held for the memory measurement (500)
#   ETP_BENCH_PIN     the CPU rr runs on, client and server (0;
#                     "" lets them run anywhere)
#   ETP_BENCH_PROFILE 0: no perf profiles
#   ETP_BENCH_OUT     results directory (/tmp/etp-bench-PID, kept)
#   ETP_BENCH_TABLE   0: do not print the table at the end (the VM runner
#                     prints one table for both topologies)

# shellcheck source=etp_lib.sh
. "$(dirname "$0")/etp_lib.sh"
set -u

MODE=${1:-single}
RUNS=${ETP_BENCH_RUNS:-5}
SECS=${ETP_BENCH_SECS:-3}
CONNS=${ETP_BENCH_CONNS:-10 100 1000}
# shellcheck disable=SC2086 # a list of numbers
TESTS=${ETP_BENCH_TESTS:-idle bulk_veth bulk_nooff bulk_lo $(printf 'agg%s ' $CONNS)rr crr}
PAIRS=${ETP_BENCH_PAIRS:-500}
PROFILE=${ETP_BENCH_PROFILE:-1}
OUT=${ETP_BENCH_OUT:-/tmp/etp-bench-$$}
PIN_CPU=${ETP_BENCH_PIN-0}
PORT=5253		# etp-perf's server
IDLE_PORT=5300		# etp_bench.py idle's listener
# Two VMs: TCP ports of the barriers (guest.sh keeps 25301-25303).
BAR_START=25311
BAR_PROFILE=25312
BAR_PROFILE_END=25313
BAR_END=25314

C=etpbench-$$-c
S=etpbench-$$-s
CA=10.253.40.1
SA=10.253.40.2
SPID=
PIN=
FAILS=0

say() { echo "# $*"; }

die() {
	say "etp_bench.sh: $*"
	exit 2
}

# fail TEST PROTO RUN WHY: a run that gave no figure.
fail() {
	say "$1 $2 run $3: no figure: $4"
	echo "$1 $2 run $3: $4" >>"$OUT/failures"
	FAILS=$((FAILS + 1))
}

# record TEST PROTO RUN KEY VALUE
record() {
	printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$OUT/records.tsv"
}

# jget FILE SECTION KEY: the first number "KEY": N after the line that opens
# "SECTION": { in etp-perf's JSON (one member per line).
jget() {
	awk -v sec="\"$2\":" -v key="\"$3\":" '
		$1 == sec && $2 == "{" { in_sec = 1; next }
		in_sec && $1 == key { v = $2; sub(/,$/, "", v); print v; exit }' "$1"
}

# counter FILE PREFIX NAME: column NAME of the "PREFIX" lines of a
# /proc/net/snmp-style FILE (a line of names, then a line of values).
counter() {
	local -a h v
	local i

	while read -r -a h; do
		[ "${h[0]}" = "$2" ] || continue
		read -r -a v || return 1
		for ((i = 1; i < ${#h[@]}; i++)); do
			[ "${h[i]}" = "$3" ] && { echo "${v[i]}"; return 0; }
		done
	done <"$1"
	return 1
}

# rx_outsegs PROTO: segments sent so far by the server's namespace.
rx_outsegs() {
	if [ "$1" = etp ]; then
		counter "/proc/$SPID/net/etp_stat" Etp: OutSegs
	else
		counter "/proc/$SPID/net/snmp" Tcp: OutSegs
	fi
}

# mem_snapshot CACHE PID: MEM_SLAB = bytes in slab objects over /proc/slabinfo
# (active objects x object size, every cache), MEM_SOCK = those of the
# protocol's socket cache (CACHE: "ETP", "TCP"; 0 when SLUB merged it into
# another cache), MEM_SOCKETS and MEM_PAGES = the protocol's sockets in
# the namespace of process PID and its charged memory in pages, all
# namespaces together (/proc/PID/net/protocols, as sockstat's inuse/mem).
#
# Why slab, all of it: an idle pair holds its two sockets (the protocol's
# cache), their files, inodes and dentries (the same for both protocols) and
# whatever else the protocol allocates per connection, all of it in slab
# objects; it holds no buffers. TIME_WAIT and request-socket caches are
# left out: earlier tests' entries expire during the measurement. The
# charged memory is shown, not added: each CPU keeps up to
# net.core.mem_pcpu_rsv pages of it in reserve, more than the pairs take.
mem_snapshot() {
	local name active _num size _rest
	local -a w

	MEM_SLAB=0 MEM_SOCK=0 MEM_SOCKETS=0 MEM_PAGES=0
	while read -r name active _num size _rest; do
		case $name in
		slabinfo | "#"* | tw_sock_* | request_sock_* | etp_tw) continue ;;
		esac
		MEM_SLAB=$((MEM_SLAB + active * size))
		[ "$name" = "$1" ] && MEM_SOCK=$((active * size))
	done </proc/slabinfo
	while read -r -a w; do
		[ "${w[0]}" = "$1" ] && MEM_SOCKETS=${w[2]} MEM_PAGES=${w[3]}
	done <"/proc/$2/net/protocols"
}

# idle_expect WORD SECS: read idle_run's helper's next line into $line
# within SECS; unless it starts with WORD, count the run as failed and stop
# the helper.
idle_expect() {
	read -r -t "$2" -u "${IDLE[0]}" line && [ "${line%% *}" = "$1" ] && return 0
	fail idle "$proto" "$run" "etp_bench.py idle: ${line:-no answer}"
	kill "$IDLE_PID" 2>/dev/null
	return 1
}

# idle_run PROTO RUN
idle_run() {
	local proto=$1 run=$2 cache=TCP line pid s0 k0 n0 p0 slab pairs

	[ "$proto" = etp ] && cache=ETP
	coproc IDLE { ip netns exec "$S" python3 "$ETP_LIB_DIR/etp_bench.py" idle \
		--proto "$proto" --pairs "$PAIRS" --port "$IDLE_PORT" 2>&1; }
	idle_expect listening 60 || return
	# The helper's own pid: /proc/PID/net is its namespace's.
	pid=${line#listening }
	sleep 1
	mem_snapshot $cache "$pid"
	s0=$MEM_SLAB k0=$MEM_SOCK n0=$MEM_SOCKETS p0=$MEM_PAGES
	echo go >&"${IDLE[1]}"
	idle_expect ready 600 || return
	pairs=${line#ready }
	# Delayed ACKs and the last handshake's work are over after a second.
	sleep 1
	mem_snapshot $cache "$pid"
	echo close >&"${IDLE[1]}"
	wait "$IDLE_PID"
	slab=$((MEM_SLAB - s0))
	record idle "$proto" "$run" pairs "$pairs"
	record idle "$proto" "$run" mem_bytes "$slab"
	record idle "$proto" "$run" sock_bytes $((MEM_SOCK - k0))
	say "idle $proto run $run: $pairs pairs: slab +$((slab / pairs)) bytes a pair" \
	    "($cache cache +$(((MEM_SOCK - k0) / pairs))); sockets +$((MEM_SOCKETS - n0))," \
	    "charged pages +$((MEM_PAGES - p0))"
}

# perf_run TEST PROTO RUN NETNS HOST ETP-PERF-ARGS...: one etp-perf client
# run; its JSON is kept as json/TEST.PROTO.RUN.json when it succeeded.
perf_run() {
	local test=$1 proto=$2 run=$3 ns=$4 host=$5 f rc why cmd=(etp-perf)

	shift 5
	f=$OUT/json/$test.$proto.$run.json
	[ "$proto" = tcp ] && set -- -T "$@"
	[ -z "$PIN" ] || cmd=(taskset -c "$PIN" "${cmd[@]}")
	[ -z "$ns" ] || cmd=(ip netns exec "$ns" "${cmd[@]}")
	timeout $((SECS + 180)) "${cmd[@]}" -c "$host" -p $PORT -t "$SECS" -J "$@" \
		>"$f" 2>"$f.err"
	rc=$?
	if [ $rc -ne 0 ]; then
		why=$(head -n 1 "$f.err")
		mv "$f" "$f.failed"
		fail "$test" "$proto" "$run" "etp-perf $* exited $rc${why:+: $why}"
		return 1
	fi
	rm -f "$f.err"
	return 0
}

# show TEST PROTO RUN: one line with the run's main figure.
show() {
	local f=$OUT/json/$1.$2.$3.json v

	case $1 in
	rr) v="median $(jget "$f" latency_us median) us, p99 $(jget "$f" latency_us p99) us" ;;
	crr) v="$(jget "$f" end per_second) connections/s" ;;
	agg*)
		v=$(jget "$f" receiver bits_per_second | awk '{ printf "%.0f", $1 / 1e6 }')
		v="$v Mbit/s, fairness $(jget "$f" end fairness)"
		;;
	*) v="$(jget "$f" receiver bits_per_second | awk '{ printf "%.0f", $1 / 1e6 }') Mbit/s" ;;
	esac
	say "$1 $2 run $3: $v${4:+, $4}"
}

# bulk_acks TEST PROTO RUN ARGS...: a bulk run over veth, with the
# receiver's segments counted.
bulk_acks() {
	local a0 a1

	a0=$(rx_outsegs "$2")
	perf_run "$1" "$2" "$3" "$C" "$SA" "${@:4}" || return
	a1=$(rx_outsegs "$2")
	record "$1" "$2" "$3" rx_outsegs $((a1 - a0))
	show "$1" "$2" "$3" "receiver sent $((a1 - a0)) segments"
}

# offloads on|off: TSO, GSO and GRO of both veth ends.
offloads() {
	ip netns exec "$C" ethtool -K veth0 tso "$1" gso "$1" gro "$1" &&
		ip netns exec "$S" ethtool -K veth1 tso "$1" gso "$1" gro "$1"
}

# server_up: (re)start the server in $S when it is not running, and wait
# until it listens for both protocols.
server_up() {
	[ -n "$SPID" ] && kill -0 "$SPID" 2>/dev/null && return 0
	[ -z "$SPID" ] || say "the etp-perf server had stopped: starting it again"
	ip netns exec "$S" etp-perf -s -p $PORT >>"$OUT/server.log" 2>&1 &
	SPID=$!
	ETP_PIDS+=("$SPID")
	etp_wait_until 30 _listening || die "etp-perf -s does not listen on $PORT"
}

# shellcheck disable=SC2317 # called by etp_wait_until
_listening() {
	[ "$(etp_proc_state "$S" "$PORT")" = 0A ] &&
		[ -n "$(ip netns exec "$S" ss -Htln "sport = :$PORT")" ]
}

# pin CPU: from now on the server and each client run on CPU only ("":
# on every CPU again). Under TCG a wakeup on another vCPU waits until the
# host runs that vCPU's thread: with other work on the host, RR medians of
# the same protocol jumped between 0.3 and 8 ms from run to run; on one
# vCPU they stay within a factor of two. (crr's rate, which needs both
# CPUs, spread more on one.)
pin() {
	PIN=$1
	[ -n "$PIN_CPU" ] || return 0
	taskset -pc "${1:-0-$(($(nproc) - 1))}" "$SPID" >/dev/null
}

# measure TEST PROTO RUN
measure() {
	local test=$1 proto=$2 run=$3 n len

	[ "$test" = idle ] || server_up
	case $test in
	idle) idle_run "$proto" "$run" ;;
	bulk_veth | bulk_nooff) bulk_acks "$test" "$proto" "$run" ;;
	bulk_lo) perf_run "$@" "$S" 127.0.0.1 && show "$@" ;;
	agg[0-9]*)
		# One round of etp-perf's writes (one write per connection in turn)
		# is at most 8 MiB: with 128 KiB writes, 1000 connections need
		# 128 MiB a round, more than ETP moved in 3 s, and the connections
		# the first round had not reached yet showed 0 bytes. Writes of
		# 128 KiB halved until a round fits: 100 connections 64 KiB, 1000
		# connections 8 KiB.
		n=${test#agg}
		len=131072
		while [ $((len * n)) -gt $((8 << 20)) ] && [ $len -gt 1024 ]; do
			len=$((len / 2))
		done
		perf_run "$@" "$C" "$SA" -P "$n" -l $len && show "$@"
		;;
	rr)
		pin "$PIN_CPU"
		perf_run "$@" "$C" "$SA" -m rr && show "$@"
		pin ""
		;;
	crr) perf_run "$@" "$C" "$SA" -m crr && show "$@" ;;
	*) die "unknown test '$test'" ;;
	esac
}

single() {
	local run test proto t0=$SECONDS

	if ! etp_ns_add "$C" "$S" || ! etp_veth "$C" $CA "$S" $SA; then
		die "cannot build the veth topology"
	fi
	offloads on || die "ethtool -K on the veth ends failed"
	# shellcheck disable=SC2086 # a list of names
	printf '%s\n' $TESTS >"$OUT/expected"
	say "tests: $TESTS; $RUNS runs of ${SECS}s each, ETP and TCP alternating"
	for ((run = 1; run <= RUNS; run++)); do
		say "run $run of $RUNS ($((SECONDS - t0))s so far)"
		for test in $TESTS; do
			[ "$test" = bulk_nooff ] && offloads off
			for proto in etp tcp; do
				measure "$test" "$proto" "$run"
			done
			[ "$test" = bulk_nooff ] && offloads on
		done
	done
	[ "$PROFILE" = 0 ] || profile_single
	say "single: $((SECONDS - t0))s"
}

# perf_start NAME: perf record -a of the whole machine into $PERF_DATA. It
# starts disabled and is enabled through its control fifo, so this returns
# once it records (under TCG perf takes seconds to start). No PMU under TCG:
# it samples the cpu-clock software event, 999 Hz. Returns 1 (and says why
# in PERF_WHY) when perf is missing or does not record.
PERF_DATA=/tmp/etp-bench-perf.data
PERF_PID=''
PERF_WHY=''
perf_start() {
	local ctl=/tmp/etp-bench-perf.ctl ack=/tmp/etp-bench-perf.ack a=''

	PERF_LOG=$OUT/perf-$1.log PERF_PID='' PERF_WHY=''
	command -v perf >/dev/null || { PERF_WHY="perf is not installed"; return 1; }
	rm -f $ctl $ack $PERF_DATA
	mkfifo $ctl $ack || { PERF_WHY="mkfifo failed"; return 1; }
	perf record -D -1 --control "fifo:$ctl,$ack" -q -N -a -e cpu-clock -F 999 \
		-o $PERF_DATA -- sleep 900 >"$PERF_LOG" 2>&1 &
	PERF_PID=$!
	exec {PERF_CFD}<>$ctl {PERF_AFD}<>$ack
	echo enable >&"$PERF_CFD"
	read -r -t 60 -u "$PERF_AFD" a
	[ "$a" = ack ] && return 0
	PERF_WHY="perf did not start recording: $(tail -n 1 "$PERF_LOG")"
	perf_stop
	return 1
}

perf_stop() {
	[ -n "$PERF_PID" ] || return 0
	echo disable >&"$PERF_CFD"
	read -r -t 10 -u "$PERF_AFD" _
	echo stop >&"$PERF_CFD"
	etp_wait_pid "$PERF_PID" 30
	exec {PERF_CFD}>&- {PERF_AFD}>&-
	rm -f /tmp/etp-bench-perf.ctl /tmp/etp-bench-perf.ack
	PERF_PID=''
}

# perf_top TITLE [PID]: TITLE, then the ten functions with the most samples
# (of process PID only, when given) and their share of the busy samples
# (all but the idle loop's), then the idle loop's share of all samples.
# Under TCG a VM that waits for the emulated link is mostly idle. A
# cpu-clock sample is taken when interrupts are on: time spent with them off
# shows up where they go on again (_raw_spin_unlock_irq, ..._irqrestore).
perf_top() {
	echo "$1"
	if [ -n "$PERF_WHY" ]; then
		echo "  no profile: $PERF_WHY"
		return
	fi
	perf report -i $PERF_DATA --stdio -q --no-children --sort pid,sym 2>>"$PERF_LOG" |
		awk -v pid="${2:-}" '
		$1 !~ /%$/ { next }
		$2 ~ /^0:/ || $4 ~ /(safe_halt|default_idle|idle_poll|mwait)/ { idle += $1; next }
		pid == "" || index($2, pid ":") == 1 { share[$3 " " $4] += $1; mine += $1 }
		END {
			busy = 100 - idle
			for (f in share) {
				v = busy > 0 ? share[f] * 100 / busy : 0
				printf "%.2f\t%s\n", v, f
			}
			printf "idle\t%.1f\n", idle
			v = busy > 0 ? mine * 100 / busy : 0
			if (pid != "")
				printf "mine\t%.1f\n", v
		}' | sort -t "$(printf '\t')" -k1,1gr | awk -F '\t' '
		$1 == "idle" { idle = $2; next }
		$1 == "mine" { mine = "; this process " $2 "% of them"; next }
		n < 10 { printf "  %6.2f%%  %s\n", $1, $2; n++ }
		END {
			if (!n) print "  no profile: perf report gave nothing"
			printf "  (%% of the busy samples%s; the idle loop had %s%% of all)\n", mine, idle
		}'
}

# profile_pair SIDE SECS: perf record -a in this VM over one ETP bulk run
# from VM b (side "sender") to VM a (side "receiver"), and its top 10
# functions into profile-SIDE.txt. SECS: how long to wait for the peer at
# the first barrier; the barriers are passed even without perf.
profile_pair() {
	local side=$1 f=$OUT/profile-$1.txt

	perf_start "$side"
	if etp_2vm_barrier $BAR_PROFILE "$2"; then
		if [ "$side" = sender ]; then
			perf_run profile etp 1 "" "$PEER" && rm -f "$OUT/json/profile.etp.1.json"
		fi
		etp_2vm_barrier $BAR_PROFILE_END 120
	else
		PERF_WHY=${PERF_WHY:-the peer did not come}
	fi
	perf_stop
	perf_top "Top 10 functions of the ETP $side, two VMs (VM $ROLE, $(uname -r), perf record -a -e cpu-clock, ${SECS}s of ETP bulk over virtio-net):" >"$f"
	cat "$f"
	rm -f $PERF_DATA
}

# profile_single: the same over veth in one VM, its samples split by process:
# the sender (etp-perf -c) and the receiver (the server). On veth the
# receiving stack runs in softirq context on the sending CPU, often in the
# sender's process: the sender's share includes receive work.
profile_single() {
	local f=$OUT/profile-veth.txt cpid

	server_up
	perf_start veth && {
		perf_run profile etp 1 "$C" "$SA"
		rm -f "$OUT/json/profile.etp.1.json"
	}
	perf_stop
	# The client is gone: its pid is the etp-perf in the samples that is not the server.
	cpid=$(perf report -i $PERF_DATA --stdio -q --sort pid 2>/dev/null |
		awk -v s="$SPID" '$2 ~ /:etp-perf$/ && index($2, s ":") != 1 { sub(/:.*/, "", $2); print $2; exit }')
	{
		perf_top "Top 10 functions of the ETP sender over veth (one VM, $(uname -r), perf record -a -e cpu-clock, ${SECS}s of ETP bulk; process etp-perf -c, with the receive work its softirqs did):" "${cpid:-none}"
		perf_top "Top 10 functions of the ETP receiver over veth (process etp-perf -s):" "$SPID"
	} >"$f"
	cat "$f"
	rm -f $PERF_DATA
}

two_vms() {
	local run proto secs

	etp_2vm_init "$MODE"
	# b runs RUNS x 2 clients: a waits for all of them.
	secs=$((RUNS * 2 * (SECS + 120) + 600))
	if [ "$ROLE" = a ]; then
		: >"$OUT/expected"
		etp-perf -s -p $PORT >>"$OUT/server.log" 2>&1 &
		SPID=$!
		ETP_PIDS+=("$SPID")
		etp_wait_until 30 test "$(etp_proc_state "" $PORT)" = 0A ||
			die "etp-perf -s does not listen on $PORT"
		etp_2vm_barrier $BAR_START 300 || die "VM b did not arrive"
		[ "$PROFILE" = 0 ] || profile_pair receiver "$secs"
		etp_2vm_barrier $BAR_END "$secs"
		return 0
	fi
	echo bulk_2vm >"$OUT/expected"
	etp_2vm_barrier $BAR_START 300 || die "VM a did not arrive"
	ip -br link show "$ETP_IFNAME" | sed 's/^/# link: /'
	ethtool -k "$ETP_IFNAME" 2>/dev/null |
		grep -E '^(tcp-segmentation|generic-segmentation|generic-receive)-offload' |
		tr -s '\n' ' ' | sed 's/^/# offloads: /; s/$/\n/'
	for ((run = 1; run <= RUNS; run++)); do
		for proto in etp tcp; do
			perf_run bulk_2vm "$proto" "$run" "" "$PEER" && show bulk_2vm "$proto" "$run"
		done
	done
	[ "$PROFILE" = 0 ] || profile_pair sender 60
	etp_2vm_barrier $BAR_END 120
	return 0
}

[ "$(id -u)" -eq 0 ] || die "needs root"
[ -r /proc/net/etp_stat ] || die "the etp module is not loaded"
for c in etp-perf python3 ethtool ss awk; do
	command -v $c >/dev/null || die "$c is not installed"
done
etp_init
mkdir -p "$OUT/json" || die "cannot create $OUT"
: >"$OUT/records.tsv"
: >"$OUT/failures"
say "results in $OUT"

case $MODE in
single) single ;;
a | b) two_vms ;;
*) die "usage: etp_bench.sh [single|a|b]" ;;
esac

if [ "$MODE" = single ] && [ "${ETP_BENCH_TABLE:-1}" != 0 ]; then
	python3 "$ETP_LIB_DIR/etp_bench.py" table "$OUT"
	exit
fi
# A test none of whose runs gave a figure, for ETP or for TCP.
rc=0
while read -r test; do
	for proto in etp tcp; do
		ls "$OUT/json/$test.$proto".*.json >/dev/null 2>&1 ||
			grep -q "^$test	$proto	" "$OUT/records.tsv" ||
			{ say "$test $proto: no run gave a figure"; rc=1; }
	done
done <"$OUT/expected"
exit $rc
