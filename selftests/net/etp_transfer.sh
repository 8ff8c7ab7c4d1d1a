#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Bulk transfers over a veth link with netem impairments: both directions
# at once, every byte checked by SHA-256, a TCP transfer beside ETP as the
# baseline.
#
#   netns etpxf-PID-c                          netns etpxf-PID-s
#   +---------------------------+   veth    +---------------------------+
#   | etp-xfer (client)         |<=========>| etp-xfer -l (server)      |
#   | 10.253.5.1                |  netem on | 10.253.5.2                |
#   | sends N random bytes,     |  both     | sends N random bytes,     |
#   | prints sha256 of each way |  ends     | prints sha256 of each way |
#   +---------------------------+           +---------------------------+
#
# Each transfer prints "[ OK ]" or "[FAIL]" with the impairment, the time
# and the rate, and is one TAP test.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp-xfer tc
etp_init

C=etpxf-$$-c
S=etpxf-$$-s
CA=10.253.5.1
SA=10.253.5.2
T=$ETP_TMP
PORT=7100
# Seconds one transfer may take. The slowest impaired case needs about 10 s
# under TCG emulation; one that has stalled is not waited for much longer.
LIMIT=60
ktap_print_header
if ! etp_ns_add "$C" "$S" || ! etp_veth "$C" $CA "$S" $SA; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi
NETEM=yes
if ! tc -n "$C" qdisc add dev veth0 root netem delay 0ms 2>/dev/null; then
	NETEM=
else
	tc -n "$C" qdisc del dev veth0 root
fi

# netem SPEC...: the same impairment on both ends ("none" removes it).
netem() {
	local ns dev

	for ns in "$C:veth0" "$S:veth1"; do
		dev=${ns#*:}
		ns=${ns%%:*}
		tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null
		[ "$1" = none ] || tc -n "$ns" qdisc add dev "$dev" root netem "$@" || return 1
	done
}

field() { awk -v k="$2" '$1 == k { print $2, $4 }' "$1"; }

# xfer PROTO BYTES NETEM...: one transfer each way at once; checks that
# what each end sent is what the other received.
xfer() {
	local proto=$1 bytes=$2 spid rc_c rc_s secs rate desc

	shift 2
	desc="$proto $((bytes / 1024)) KiB each way, netem ${*:-none}"
	if [ "$*" != none ] && [ -z "$NETEM" ]; then
		echo "[SKIP] $desc: netem not available"
		return "$KSFT_SKIP"
	fi
	netem "$@" || return 1
	PORT=$((PORT + 1))
	ip netns exec "$S" etp-xfer -q -P "$proto" -t "$LIMIT" -n "$bytes" -l $PORT >"$T/s.out" 2>"$T/s.err" &
	spid=$!
	etp_ns "$C" etp-xfer -q -P "$proto" -t "$LIMIT" -r 10 -n "$bytes" $SA $PORT >"$T/c.out" 2>"$T/c.err"
	rc_c=$?
	etp_wait_pid $spid $((LIMIT + 10))
	rc_s=$?
	netem none
	cat "$T/c.err" "$T/s.err"
	read -r secs rate < <(awk '$1 == "elapsed" { print $2, $4 }' "$T/c.out")
	if [ $rc_c -eq 0 ] && [ $rc_s -eq 0 ] &&
	   [ "$(field "$T/c.out" sent)" = "$(field "$T/s.out" received)" ] &&
	   [ "$(field "$T/s.out" sent)" = "$(field "$T/c.out" received)" ] &&
	   [ "$(field "$T/c.out" sent | cut -d' ' -f1)" = "$bytes" ] &&
	   [ "$(field "$T/s.out" sent | cut -d' ' -f1)" = "$bytes" ]; then
		echo "[ OK ] $desc: ${secs}s, $rate MB/s"
		return 0
	fi
	echo "[FAIL] $desc: client exit $rc_c, server exit $rc_s"
	sed 's/^/client: /' "$T/c.out"
	sed 's/^/server: /' "$T/s.out"
	return 1
}

stats() {
	local ns n

	for ns in "$C" "$S"; do
		echo -n "${ns##*-}:"
		for n in InSegs OutSegs RetransSegs InCsumErrors InOutOfOrder InUnacceptable Timeouts; do
			echo -n " $n $(etp_stat "$ns" $n)"
		done
		echo
	done
}

ktap_set_plan 10
etp_result "tcp_baseline_4mib_both_ways" xfer tcp $((4 << 20)) none
etp_result "etp_4mib_both_ways_byte_exact" xfer etp $((4 << 20)) none
etp_result "etp_1mib_both_ways_delay_20ms" xfer etp $((1 << 20)) delay 20ms
etp_result "etp_1mib_both_ways_loss_2pct" xfer etp $((1 << 20)) loss 2%
etp_result "etp_1mib_both_ways_reorder" xfer etp $((1 << 20)) delay 10ms reorder 25% 50%
etp_result "etp_1mib_both_ways_duplicate_5pct" xfer etp $((1 << 20)) duplicate 5%
etp_result "etp_1mib_both_ways_corrupt_1pct" xfer etp $((1 << 20)) corrupt 1%
etp_result "etp_256kib_both_ways_loss_10pct" xfer etp $((256 << 10)) loss 10%
etp_result "etp_1_byte_both_ways" xfer etp 1 none
etp_result "etp_empty_transfer_clean_close" xfer etp 0 none
stats | sed 's/^/# /'
ktap_finished
