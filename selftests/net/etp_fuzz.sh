#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The segment fuzzer (etp_fuzz) against a listener and two connections,
# while files cross the same link, then the module unloads and loads.
#
#   netns S (etpfz-s-PID)                      netns P (etpfz-p-PID)
#   +-------------------------------+          +-------------------------------+
#   | etp_fuzz -l: echo server      |   veth   | etp_fuzz -d: victims A and B, |
#   |   10.253.61.1:7611            |<========>|   raw sockets (IP_HDRINCL and |
#   | etp-xfer -l: receives files   |          |   fragmenting), forged sources|
#   | route 10.99.0.0/16 via P      |          |   10.99.0.0/16                |
#   | (replies to forged sources    |          | etp-xfer: sends files         |
#   |  die in P: no forwarding)     |          | 10.253.61.2                   |
#   +-------------------------------+          +-------------------------------+
#
# ETP_FUZZ_SEED and ETP_FUZZ_COUNT (default: a fresh seed, 100000) are
# passed to etp_fuzz; the seed is printed so a failure can be repeated.
#
# Checks:
# - etp_fuzz sent them all and victim A, which got only malformed segments
#   with its exact numbers, noticed nothing and still echoes byte for byte;
# - each drop counter of S (InShortHeader, InBadDoff, InCsumErrors,
#   InBadFlags, InBadOptions) moved by exactly what etp_fuzz predicted from
#   the bytes it sent (less what S's IP layer itself dropped, also shown),
#   and InSegs by at least the number of segments;
# - the valid ones reached sockets: RSTs for closed ports (InNoSocket), SYN
#   cookies sent and forged cookies refused (the forged sources filled the
#   half-open queue), challenge ACKs;
# - 2 MiB files sent one after another during the fuzz arrive intact
#   (SHA-256 on both ends);
# - afterwards nothing is left and the module unloads and loads again.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp-xfer sha256sum insmod rmmod
etp_init

MOD=$(etp_module_path) || { ktap_print_header; ktap_skip_all "etp.ko not found (ETP_MODULE)"; exit "$KSFT_SKIP"; }
trap 'etp_cleanup; etp_insmod >/dev/null 2>&1' EXIT

S=etpfz-s-$$
P=etpfz-p-$$
SA=10.253.61.1
PA=10.253.61.2
PORT=7611
T=$ETP_TMP
SEED=${ETP_FUZZ_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
COUNT=${ETP_FUZZ_COUNT:-100000}
COUNTERS="InShortHeader InBadDoff InCsumErrors InBadFlags InBadOptions"
MOVED="InSegs InNoSocket SynCookiesSent SynCookiesFailed ChallengeAcks InUnacceptable OutRsts ListenOverflows"

# ip_stat NS FIELD: a field of the "Ip:" lines of /proc/net/snmp in NS.
ip_stat() {
	ip netns exec "$1" awk -v f="$2" '
		$1 == "Ip:" && !n { for (i = 2; i <= NF; i++) idx[$i] = i; n = 1; next }
		$1 == "Ip:" && n { print (f in idx) ? $idx[f] : 0; exit }' /proc/net/snmp
}

# What S's IP layer dropped before ETP could see it.
ip_drops() {
	local f sum=0

	for f in InHdrErrors InAddrErrors InDiscards ReasmFails; do
		sum=$((sum + $(ip_stat "$S" "$f" 2>/dev/null || echo 0)))
	done
	echo $sum
}

snapshot() {
	ip netns exec "$S" awk 'NR == 1 { for (i = 2; i <= NF; i++) n[i] = $i }
		NR == 2 { for (i = 2; i <= NF; i++) print n[i], $i }' /proc/net/etp_stat
	echo "ipdrops $(ip_drops)"
}

setup() {
	etp_ns_add "$S" "$P" &&
	etp_veth "$S" "$SA" "$P" "$PA" &&
	ip -n "$S" route add 10.99.0.0/16 via "$PA" || return 1
	head -c $((2 << 20)) /dev/urandom >"$T/file"
	rm -f "$T/ready"
	ip netns exec "$S" etp_fuzz -l "$SA:$PORT" -t 500 -r "$T/ready" >"$T/sink.out" 2>&1 &
	SINK=$!
	ETP_PIDS+=("$SINK")
	etp_wait_file 10 "$T/ready"
}

# Files, one after another on fresh ports, while $T/fuzzing exists.
xfer_loop() {
	local k=0 rc

	while [ -e "$T/fuzzing" ] && [ $k -lt 50 ]; do
		ip netns exec "$S" etp-xfer -q -t 200 -s "$SA" -l $((7620 + k)) -x 2M -H \
			-o "$T/recv.$k" >"$T/xs.$k" 2>&1 &
		local srv=$!
		ip netns exec "$P" etp-xfer -q -t 200 -r 20 -i "$T/file" -C "$SA" $((7620 + k)) \
			>"$T/xc.$k" 2>&1
		rc=$?
		wait $srv
		rc=$((rc | $?))
		if [ $rc -eq 0 ] && cmp -s "$T/file" "$T/recv.$k"; then
			echo "transfer $k: ok, received sha256 $(sha256sum <"$T/recv.$k" | cut -c 1-16)..., $(grep -h elapsed "$T/xc.$k")"
		else
			echo "transfer $k: FAILED (exit $rc): $(cat "$T/xs.$k" "$T/xc.$k" | tr '\n' ' ')"
		fi
		rm -f "$T/recv.$k"
		k=$((k + 1))
	done
}

t_fuzz() {
	local rc t0

	snapshot >"$T/before"
	touch "$T/fuzzing"
	xfer_loop >"$T/xfers" 2>&1 &
	XFER=$!
	ETP_PIDS+=("$XFER")
	t0=$SECONDS
	ip netns exec "$P" etp_fuzz -d "$SA" -p $PORT -s "$SEED" -n "$COUNT" -F 10.99 \
		-P "$T/pred" >"$T/fuzz.out" 2>&1
	rc=$?
	rm -f "$T/fuzzing"
	cat "$T/fuzz.out"
	echo "fuzz took $((SECONDS - t0))s; exit $rc"
	etp_wait_pid "$XFER" 300
	sleep 0.5	# the last replies settle
	snapshot >"$T/after"
	[ $rc -eq 0 ] || etp_fail_msg "etp_fuzz exit $rc (seed $SEED)"
}

delta() { echo $(( $(awk -v c="$1" '$1 == c { print $2 }' "$T/after") - $(awk -v c="$1" '$1 == c { print $2 }' "$T/before") )); }
pred() { awk -v c="$1" '$1 == c { print $2 }' "$T/pred"; }

t_counted() {
	local c d p drops rc=0 total=0

	[ -s "$T/pred" ] || etp_fail_msg "no predictions from etp_fuzz" || return 1
	drops=$(delta ipdrops)
	echo "S's IP layer dropped $drops packets (InHdrErrors, InAddrErrors, InDiscards, ReasmFails)"
	for c in $COUNTERS; do
		d=$(delta "$c")
		p=$(pred "$c")
		total=$((total + p))
		echo "$c: +$d, predicted $p"
		[ "$p" -gt 0 ] || { etp_fail_msg "etp_fuzz sent no segment for $c"; rc=1; }
		[ "$d" -le "$p" ] || { etp_fail_msg "$c moved by more than the malformed segments sent"; rc=1; }
		[ "$d" -ge $((p - drops)) ] || { etp_fail_msg "$c: $((p - d)) malformed segments not counted"; rc=1; }
	done
	p=$(pred valid)
	d=$(delta InSegs)
	echo "InSegs: +$d, segments sent $((total + p)) (valid $p) plus the connections' own"
	[ "$d" -ge $((total + p - drops)) ] || { etp_fail_msg "InSegs did not count every segment"; rc=1; }
	return $rc
}

t_valid_reached() {
	local c rc=0

	for c in $MOVED; do
		echo "$c: +$(delta "$c")"
	done
	for c in InNoSocket SynCookiesSent SynCookiesFailed ChallengeAcks OutRsts; do
		[ "$(delta "$c")" -gt 0 ] || { etp_fail_msg "$c did not move"; rc=1; }
	done
	return $rc
}

t_transfers() {
	local n ok

	echo "file sent: sha256 $(sha256sum <"$T/file" | cut -c 1-16)..."
	cat "$T/xfers"
	n=$(grep -c '^transfer' "$T/xfers")
	ok=$(grep -c '^transfer .*: ok' "$T/xfers")
	echo "$ok of $n transfers of 2 MiB byte-exact, started while etp_fuzz ran ($(grep -o '[0-9]* segments in [0-9.]* s' "$T/fuzz.out"))"
	[ "$n" -ge 1 ] || etp_fail_msg "no transfer ran during the fuzz" || return 1
	[ "$ok" -eq "$n" ] || etp_fail_msg "a transfer failed"
}

_etp_busy() {
	[ -n "$(ip netns exec "$1" awk 'NR > 1 && $4 != "06"' /proc/net/etp 2>/dev/null)" ]
}

t_unload() {
	local t0=$SECONDS

	kill "$SINK" 2>/dev/null
	etp_wait_pid "$SINK" 10
	cat "$T/sink.out"
	# The echo server aborted its connections; the victims were aborted.
	etp_wait_until 10 eval '! _etp_busy "$S" && ! _etp_busy "$P"' ||
		{ etp_proc_dump "$S"; etp_proc_dump "$P"; etp_fail_msg "connections left after the fuzz"; return 1; }
	ip netns del "$S"
	ip netns del "$P"
	ETP_NETNS=()
	etp_rmmod_wait 30 || etp_fail_msg "rmmod etp failed (refcnt $(etp_module_refcnt))" || return 1
	echo "unloaded $((SECONDS - t0))s after the fuzz"
	insmod "$MOD" || etp_fail_msg "insmod $MOD failed" || return 1
	etp_ns_add "etpfz-r-$$" &&
	ip netns exec "etpfz-r-$$" etp_hold -t 0 pair >/dev/null ||
		etp_fail_msg "no connection after the reload"
}

ktap_print_header
ktap_set_plan 5
etp_log "seed $SEED, $COUNT segments (ETP_FUZZ_SEED=$SEED ETP_FUZZ_COUNT=$COUNT repeats this run)"
if ! setup >"$T/setup" 2>&1; then
	cat "$T/setup"
	ktap_test_fail "fuzz_setup"
	ktap_finished
fi
T0=$SECONDS
etp_result "fuzz_${COUNT}_segments_victim_with_malformed_only_untouched" t_fuzz
etp_result "malformed_segments_counted_exactly_as_predicted" t_counted
etp_result "valid_fuzz_segments_reached_sockets_rsts_cookies_challenges" t_valid_reached
etp_result "file_transfers_during_fuzz_byte_exact" t_transfers
etp_result "module_unloads_and_reloads_after_fuzz" t_unload
etp_log "etp_fuzz.sh took $((SECONDS - T0))s"
ktap_finished
