#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Transfer matrix: files of random bytes sent each way through a router
# whose two egress interfaces run netem, so an impairment applies to data
# and to ACKs (one setting, loss 25%, only to the data). Each file must arrive byte for byte (SHA-256 of what
# was sent, what was received and what the receiver reports back); the same
# transfer over Linux TCP runs beside it as the baseline.
#
#   netns etpmx-PID-a          netns etpmx-PID-r (forwarding)      netns etpmx-PID-b
#   +----------------+       +------------------------------+       +----------------+
#   | etp-xfer       |       |  netem               netem   |       | etp-xfer -l    |
#   | (connects)     |       |    |                     |    |       | (listens)      |
#   | veth-r         |<=====>| veth-a               veth-b  |<=====>| veth-r         |
#   | 10.253.31.1/24 |       | 10.253.31.2    10.253.32.2   |       | 10.253.32.1/24 |
#   +----------------+       +------------------------------+       +----------------+
#
#   a_to_b: a sends the file, b receives it (the connecting end sends)
#   b_to_a: b sends the file, a receives it (the listening end sends)
#
# netem on veth-b delays/drops/... what goes to b, netem on veth-a what
# goes to a. (netem's jitter reorders packets: a packet may be given a
# shorter delay than the one before it.) TSO/GSO are capped at one segment
# on the end hosts so that netem sees one packet per segment for TCP too,
# as it does for ETP.
#
# Every transfer is one TAP test, named SETTING_SIZE_DIRECTION for ETP and
# tcp_SETTING_SIZE_DIRECTION for the baseline, and prints "[ OK ]"/"[FAIL]"
# with the netem setting, the time, the rate, the netem counters and ETP's
# retransmission counters. A table of ETP time, TCP time and their ratio
# ends the run; it is information, never a pass/fail criterion.
#
# File sizes are chosen per setting so that the whole script takes about
# 8 minutes under QEMU TCG emulation. The deadlines only catch a transfer
# that has stopped making progress. Loss 25% is put on the data's way
# only: with 25% on both ways, retransmission timeouts back off so far
# that under TCG Linux TCP moved less than 0.4 MiB in 500 s (ETP 1 MiB in
# 320 s), which no time budget holds. The connecting side keeps trying for
# 60 s (etp-xfer gives each attempt 5 s, three SYNs): under 25% loss all
# SYNs of two attempts in a row were lost once.
#
# Environment (for running parts of the matrix by hand):
#   ETP_MATRIX_ONLY  extended regular expression: only settings whose name
#                    matches run
#   ETP_MATRIX_MIB   file size in MiB for every setting
#   ETP_MATRIX_LIMIT deadline in seconds for every transfer
#   ETP_MATRIX_TCP=0 no TCP baseline

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp-xfer tc sha256sum nsenter
etp_init

A=etpmx-$$-a
R=etpmx-$$-r
B=etpmx-$$-b
A_ADDR=10.253.31.1
B_ADDR=10.253.32.1
T=$ETP_TMP
PORT=7400
TABLE=$T/table

# The matrix: name, file size in MiB, deadline in seconds per transfer,
# where netem goes ("both": on both of the router's egress interfaces, so
# data and ACKs are impaired; "data": only on the one the data leaves
# through), and the netem arguments. The deadline is several times the
# time the slowest run took under TCG: a transfer that misses it has
# stalled.
MATRIX=(
	"delay_0ms                           16 120 both delay 0ms"
	"delay_20ms_jitter_5ms                2 120 both delay 20ms 5ms"
	"delay_100ms_jitter_20ms              1 150 both delay 100ms 20ms"
	"loss_1pct                           16 120 both loss 1%"
	"loss_5pct                            2 120 both loss 5%"
	"loss_10pct                           1 150 both loss 10%"
	"loss_25pct_data_only                 1 240 data loss 25%"
	"reorder_25pct_delay_10ms             8 120 both delay 10ms reorder 25% 50%"
	"duplicate_5pct                      16 120 both duplicate 5%"
	"corrupt_1pct                        16 120 both corrupt 1%"
	"loss_1pct_delay_20ms_jitter_5ms      2 120 both delay 20ms 5ms loss 1%"
	"loss_5pct_duplicate_5pct_reorder_10pct 2 120 both delay 5ms reorder 10% loss 5% duplicate 5%"
	"loss_1pct_corrupt_1pct_delay_50ms    1 150 both delay 50ms loss 1% corrupt 1%"
)

ktap_print_header

# --- topology ---

topology() {
	etp_ns_add "$A" "$R" "$B" &&
	etp_veth_pair "$A" veth-r "$A_ADDR/24" "$R" veth-a 10.253.31.2/24 &&
	etp_veth_pair "$B" veth-r "$B_ADDR/24" "$R" veth-b 10.253.32.2/24 &&
	ip -n "$A" route add default via 10.253.31.2 &&
	ip -n "$B" route add default via 10.253.32.2 &&
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 &&
	# One segment per packet (no TSO/GSO super-packets) for TCP too.
	ip -n "$A" link set veth-r gso_max_segs 1 &&
	ip -n "$B" link set veth-r gso_max_segs 1 &&
	# Fixed neighbours: netem drops ARP too, and a neighbour entry that
	# fails to revalidate under 25% loss stalls any transport for seconds.
	ip -n "$A" neigh replace 10.253.31.2 lladdr "$(mac "$R" veth-a)" dev veth-r nud permanent &&
	ip -n "$R" neigh replace $A_ADDR lladdr "$(mac "$A" veth-r)" dev veth-a nud permanent &&
	ip -n "$R" neigh replace $B_ADDR lladdr "$(mac "$B" veth-r)" dev veth-b nud permanent &&
	ip -n "$B" neigh replace 10.253.32.2 lladdr "$(mac "$R" veth-b)" dev veth-r nud permanent
}

# mac NS DEV: the MAC address of DEV in NS.
mac() {
	ip -n "$1" -br link show dev "$2" | awk '{ print $3 }'
}

if ! topology; then
	ktap_skip_all "cannot build the three-namespace topology"
	exit "$KSFT_SKIP"
fi
if ! etp_netem "$R" veth-a delay 0ms 2>/dev/null; then
	ktap_skip_all "netem not available"
	exit "$KSFT_SKIP"
fi
etp_netem "$R" veth-a none

# Under TCG every process costs 50-100 ms and "ip netns exec" over 300 ms,
# which over 52 transfers adds minutes: the per-transfer bookkeeping below
# uses shell builtins, one tc per step, nsenter (no remount of /sys) for
# etp-xfer, and reads each end's counters from /proc/PID/net/etp_stat of
# a process that stays in that namespace.
etp_bg ip netns exec "$A" sleep infinity
HOLD_A=$!
etp_bg ip netns exec "$B" sleep infinity
HOLD_B=$!
in_ns() { [ "$(readlink "/proc/$1/exe")" = "$(command -v sleep)" ]; }
if ! etp_wait_until 10 in_ns $HOLD_A || ! etp_wait_until 10 in_ns $HOLD_B; then
	ktap_skip_all "cannot start the processes that read the namespaces' counters"
	exit "$KSFT_SKIP"
fi

# --- one transfer ---

# The ETP counters shown beside each result.
STATS="RetransSegs Timeouts FastRetrans FastRecovery InDupAcks InOutOfOrder InDupData OfoDrops InCsumErrors InUnacceptable InAckUnsent ChallengeAcks"

# xfer PROTO DIR MIB LIMIT PORT WHERE NETEM...: one file of MIB MiB in
# direction DIR (a_to_b or b_to_a) over PROTO (etp or tcp) under netem
# NETEM, on both router interfaces (WHERE both) or on the data's way only
# (data). (It runs in etp_result's subshell: when the file arrived intact,
# the sender's time is left in $T/secs.)
xfer() {
	local proto=$1 dir=$2 mib=$3 limit=$4 port=$5 where=$6 bytes file want
	local pid rc_s rc_r out c t0 sent recv peer cmds=''
	# shellcheck disable=SC2034 # filled and read by name
	local a0 b0 a1 b1
	local a=(nsenter "--net=/run/netns/$A") b=(nsenter "--net=/run/netns/$B")

	shift 6
	t0=${EPOCHREALTIME/./}
	: >"$T/secs"
	bytes=$((mib << 20))
	file=$T/file-$mib
	read -r want <"$file.sha256"
	want="$bytes $want"
	[ "$where" = both ] || [ "$dir" = b_to_a ] && cmds+="qdisc replace dev veth-a root netem $*"$'\n'
	[ "$where" = both ] || [ "$dir" = a_to_b ] && cmds+="qdisc replace dev veth-b root netem $*"$'\n'
	tc -n "$R" -batch - <<<"$cmds" || return 1
	etp_counters /proc/$HOLD_A/net/etp_stat a0
	etp_counters /proc/$HOLD_B/net/etp_stat b0

	# b listens; the receiver sends back the digest of what it received
	# (-H), which the sender checks against what it sent (-C).
	if [ "$dir" = a_to_b ]; then
		etp_bg "${b[@]}" etp-xfer -q -P "$proto" -t "$limit" -s $B_ADDR -l "$port" \
			-H -x "$bytes" >"$T/recv.out" 2>"$T/recv.err"
		pid=$!
		"${a[@]}" etp-xfer -q -P "$proto" -t "$limit" -r 60 -i "$file" -C \
			$B_ADDR "$port" >"$T/send.out" 2>"$T/send.err"
		rc_s=$?
		etp_wait_pid "$pid" 20
		rc_r=$?
	else
		etp_bg "${b[@]}" etp-xfer -q -P "$proto" -t "$limit" -s $B_ADDR -l "$port" \
			-i "$file" -C >"$T/send.out" 2>"$T/send.err"
		pid=$!
		"${a[@]}" etp-xfer -q -P "$proto" -t "$limit" -r 60 -H -x "$bytes" \
			$B_ADDR "$port" >"$T/recv.out" 2>"$T/recv.err"
		rc_r=$?
		etp_wait_pid "$pid" 20
		rc_s=$?
	fi
	etp_qdisc_counts "$R"
	c="netem a<-r: ${ETP_QDISC_SENT[veth-a]:-0} sent ${ETP_QDISC_DROPPED[veth-a]:-0} dropped,"
	c+=" r->b: ${ETP_QDISC_SENT[veth-b]:-0} sent ${ETP_QDISC_DROPPED[veth-b]:-0} dropped"
	tc -n "$R" -force -batch - 2>/dev/null <<-EOF
		qdisc del dev veth-a root
		qdisc del dev veth-b root
	EOF
	if [ "$proto" = etp ]; then
		etp_counters /proc/$HOLD_A/net/etp_stat a1
		etp_counters /proc/$HOLD_B/net/etp_stat b1
		# shellcheck disable=SC2086 # a list of names
		c+="; ETP counters a: $(etp_counters_moved a0 a1 $STATS);"
		# shellcheck disable=SC2086
		c+=" b: $(etp_counters_moved b0 b1 $STATS)"
	fi

	etp_xfer_result "$T/recv.out"
	recv=$XFER_RECEIVED
	etp_xfer_result "$T/send.out"
	sent=$XFER_SENT
	peer=$XFER_PEER
	out="$proto $mib MiB $dir, netem \"$*\""
	[ "$where" = both ] || out+=" on the data's way only"
	if [ $rc_s -eq 0 ] && [ $rc_r -eq 0 ] && [ "$sent" = "$want" ] &&
	   [ "$recv" = "$want" ] && [ "$peer" = "$want" ]; then
		echo "$XFER_SECS" >"$T/secs"
		echo "[ OK ] $out: ${XFER_SECS}s, $XFER_RATE MB/s (wall $(((${EPOCHREALTIME/./} - t0) / 1000)) ms)"
		echo "       $c"
		return 0
	fi
	echo "[FAIL] $out: sender exit $rc_s, receiver exit $rc_r"
	echo "       $c"
	echo "file:     $want"
	echo "sent:     ${sent:-(none)}"
	echo "received: ${recv:-(none)}"
	echo "reported: ${peer:-(none)}"
	cat "$T/send.err" "$T/recv.err"
	etp_proc_dump "$A"
	etp_proc_dump "$B"
	return 1
}

# --- the matrix ---

selected=()
for row in "${MATRIX[@]}"; do
	read -r name _ <<<"$row"
	[[ $name =~ ${ETP_MATRIX_ONLY:-.} ]] && selected+=("$row")
done
per_setting=2
[ "${ETP_MATRIX_TCP:-1}" = 0 ] || per_setting=4
ktap_set_plan $((${#selected[@]} * per_setting))

for row in "${selected[@]}"; do
	read -r name mib limit where spec <<<"$row"
	mib=${ETP_MATRIX_MIB:-$mib}
	limit=${ETP_MATRIX_LIMIT:-$limit}
	f=$T/file-$mib
	if [ ! -e "$f" ]; then
		head -c $((mib << 20)) /dev/urandom >"$f"
		sha256sum "$f" | cut -d' ' -f1 >"$f.sha256"
	fi
	# shellcheck disable=SC2086 # spec is a list of netem arguments
	for dir in a_to_b b_to_a; do
		test=${name}_${mib}MiB_$dir
		PORT=$((PORT + 1))
		etp_result "$test" xfer etp "$dir" "$mib" "$limit" $PORT "$where" $spec
		etp_secs=$(cat "$T/secs")
		tcp_secs=
		if [ "${ETP_MATRIX_TCP:-1}" != 0 ]; then
			PORT=$((PORT + 1))
			etp_result "tcp_$test" xfer tcp "$dir" "$mib" "$limit" $PORT "$where" $spec
			tcp_secs=$(cat "$T/secs")
		fi
		desc=$spec
		[ "$where" = both ] || desc="$spec, data only"
		etp_cmp_row "$TABLE" "$test" "$desc" "$etp_secs" "$tcp_secs"
	done
done

etp_log "ETP and TCP, time until the sender had the receiver's digest back"
etp_cmp_table "$TABLE"
etp_log "total ${SECONDS}s"
ktap_finished
