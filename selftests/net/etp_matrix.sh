#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Transfer matrix: files of random bytes sent each way through a router
# whose two egress interfaces run netem, so every impairment applies to
# data and to ACKs. Each file must arrive byte for byte (SHA-256 of what
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
# that has stopped making progress.
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
etp_require_cmd etp-xfer tc sha256sum
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
	"delay_0ms                      16  120 both delay 0ms"
	"delay_20ms_jitter_5ms           8  180 both delay 20ms 5ms"
	"delay_100ms_jitter_20ms         2  180 both delay 100ms 20ms"
	"loss_1pct                       8  180 both loss 1%"
	"loss_5pct                       4  180 both loss 5%"
	"loss_10pct                      2  180 both loss 10%"
	"loss_25pct_data_only            1  240 data loss 25%"
	"reorder_25pct_delay_10ms        4  180 both delay 10ms reorder 25% 50%"
	"duplicate_5pct                 16  120 both duplicate 5%"
	"corrupt_1pct                    8  180 both corrupt 1%"
	"loss_1pct_delay_20ms_jitter_5ms 4  180 both delay 20ms 5ms loss 1%"
	"loss_5pct_duplicate_5pct_reorder_10pct 2 180 both delay 5ms reorder 10% loss 5% duplicate 5%"
	"loss_2pct_corrupt_1pct_delay_100ms 1 180 both delay 100ms loss 2% corrupt 1%"
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
	local spid rpid rc_s rc_r sent recv peer out rate c sa sb secs

	shift 6
	: >"$T/secs"
	bytes=$((mib << 20))
	file=$T/file-$mib
	want="$bytes $(cat "$file.sha256")"
	if [ "$where" = both ] || [ "$dir" = b_to_a ]; then
		etp_netem "$R" veth-a "$@" || return 1
	fi
	if [ "$where" = both ] || [ "$dir" = a_to_b ]; then
		etp_netem "$R" veth-b "$@" || return 1
	fi
	etp_stat_save "$A" "$T/a.stat"
	etp_stat_save "$B" "$T/b.stat"

	# b listens; the receiver sends back the digest of what it received
	# (-H), which the sender checks against what it sent (-C).
	if [ "$dir" = a_to_b ]; then
		etp_bg ip netns exec "$B" etp-xfer -q -P "$proto" -t "$limit" -s $B_ADDR -l "$port" \
			-H -x "$bytes" >"$T/recv.out" 2>"$T/recv.err"
		rpid=$!
		ip netns exec "$A" etp-xfer -q -P "$proto" -t "$limit" -r 10 -i "$file" -C \
			$B_ADDR "$port" >"$T/send.out" 2>"$T/send.err"
		rc_s=$?
		etp_wait_pid "$rpid" 20
		rc_r=$?
	else
		etp_bg ip netns exec "$B" etp-xfer -q -P "$proto" -t "$limit" -s $B_ADDR -l "$port" \
			-i "$file" -C >"$T/send.out" 2>"$T/send.err"
		spid=$!
		ip netns exec "$A" etp-xfer -q -P "$proto" -t "$limit" -r 10 -H -x "$bytes" \
			$B_ADDR "$port" >"$T/recv.out" 2>"$T/recv.err"
		rc_r=$?
		etp_wait_pid "$spid" 20
		rc_s=$?
	fi
	c="netem a<-r: $(etp_netem_counts "$R" veth-a), r->b: $(etp_netem_counts "$R" veth-b)"
	etp_netem "$R" veth-a none
	etp_netem "$R" veth-b none
	if [ "$proto" = etp ]; then
		# shellcheck disable=SC2086 # a list of names
		sa=$(etp_stat_delta "$A" "$T/a.stat" $STATS)
		# shellcheck disable=SC2086
		sb=$(etp_stat_delta "$B" "$T/b.stat" $STATS)
		c="$c; a: ${sa:-(no change)}; b: ${sb:-(no change)}"
	fi

	sent=$(etp_xfer_line "$T/send.out" sent)
	peer=$(etp_xfer_line "$T/send.out" peer-received)
	recv=$(etp_xfer_line "$T/recv.out" received)
	out="$proto $mib MiB $dir, netem \"$*\""
	[ "$where" = both ] || out="$out on the data's way only"
	if [ $rc_s -eq 0 ] && [ $rc_r -eq 0 ] && [ "$sent" = "$want" ] &&
	   [ "$recv" = "$want" ] && [ "$peer" = "$want" ]; then
		secs=$(etp_xfer_secs "$T/send.out")
		echo "$secs" >"$T/secs"
		rate=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.2f", (s > 0 ? b / s / 1e6 : 0) }')
		echo "[ OK ] $out: ${secs}s, $rate MB/s"
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
