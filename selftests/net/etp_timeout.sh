#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Giving up: connect() when every SYN goes unanswered (net.etp.syn_retries,
# rto_initial_ms), the listener's SYN-ACK retransmissions
# (net.etp.synack_retries), and an established connection whose data is
# never acknowledged (net.etp.retries).
#
#   netns etpto-PID-c                          netns etpto-PID-s
#   +---------------------------+   veth    +---------------------------+
#   | etpcat (client)           |<=========>| etpcat -l / no listener   |
#   | 10.253.4.1                |           | 10.253.4.2                |
#   | etp_sniff (SYN-ACKs in)   |           | etp_sniff (SYNs in)       |
#   | nft: drop bare ACKs out   |           | nft: drop all ETP out/in  |
#   +---------------------------+           +---------------------------+
#
# SYNs are retransmitted after rto_initial_ms, doubling each time; after
# syn_retries retransmissions and one more timeout connect() fails with
# ETIMEDOUT. etp_sniff in the peer records when each SYN arrived.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat etp_sniff nft
etp_init

C=etpto-$$-c
S=etpto-$$-s
CA=10.253.4.1
SA=10.253.4.2
T=$ETP_TMP
ktap_print_header
if ! etp_ns_add "$C" "$S" || ! etp_veth "$C" $CA "$S" $SA; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 8
TRACING=yes
etp_trace_start || TRACING=

ms_since() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }

# Unanswered SYNs: S receives them (the sniffer sees them) but its replies
# (RST: nobody listens) never leave.
t_connect_timeout() {
	local start ms rc spid

	etp_sysctl "$C" syn_retries 2
	etp_sysctl "$C" rto_initial_ms 250
	etp_nft_drop "$S" output || return "$KSFT_SKIP"
	rm -f "$T/ready"
	ip netns exec "$S" etp_sniff -p 7000 -t 8 -r "$T/ready" >"$T/syns" 2>&1 &
	spid=$!
	etp_wait_file 5 "$T/ready" || etp_fail_msg "sniffer not ready" || return 1
	start=${EPOCHREALTIME/./}
	etp_ns "$C" etpcat -p 40001 $SA 7000 </dev/null 2>"$T/err"
	rc=$?
	ms=$(ms_since "$start")
	sleep 0.3
	kill $spid
	wait $spid
	etp_nft_flush "$S"
	cat "$T/err"
	echo "connect gave up after $ms ms (0.25 + 0.5 + 1 s expected)"
	[ $rc -eq 2 ] || etp_fail_msg "etpcat exit $rc, want 2" || return 1
	grep -qx "etpcat: connect $SA:7000: Connection timed out" "$T/err" ||
		etp_fail_msg "not ETIMEDOUT" || return 1
	[ "$ms" -ge 1400 ] && [ "$ms" -le 4500 ] || etp_fail_msg "took $ms ms"
}

t_syn_count() {
	local n

	sed 's/^/sniffed: /' "$T/syns"
	n=$(grep -c " S seq " "$T/syns")
	[ "$n" -eq 3 ] || etp_fail_msg "$n SYNs arrived, want 1 + syn_retries = 3"
}

# Gaps between the SYNs: rto_initial_ms, then doubled.
t_syn_backoff() {
	local t1 t2 t3 g1 g2

	read -r t1 t2 t3 < <(awk '/ S seq / { printf "%d ", $1 * 1000 }' "$T/syns")
	[ -n "$t3" ] || etp_fail_msg "fewer than 3 SYNs" || return 1
	g1=$((t2 - t1))
	g2=$((t3 - t2))
	echo "SYN gaps: $g1 ms, $g2 ms (want 250, 500)"
	[ $g1 -ge 200 ] && [ $g1 -le 450 ] || etp_fail_msg "first gap $g1 ms" || return 1
	[ $g2 -ge 400 ] && [ $g2 -le 800 ] || etp_fail_msg "second gap $g2 ms"
}

t_counters() {
	local fails retrans

	fails=$(etp_stat "$C" AttemptFails)
	retrans=$(etp_stat "$C" RetransSegs)
	echo "client: AttemptFails $fails RetransSegs $retrans ActiveOpens $(etp_stat "$C" ActiveOpens) Timeouts $(etp_stat "$C" Timeouts)"
	[ "$fails" -ge 1 ] || etp_fail_msg "AttemptFails $fails" || return 1
	[ "$retrans" -ge 2 ] || etp_fail_msg "RetransSegs $retrans, want at least 2"
}

# With the defaults (6 retries, about two minutes) etpcat -w stops waiting.
t_etpcat_w() {
	local start ms rc

	etp_sysctl "$C" syn_retries 6
	etp_sysctl "$C" rto_initial_ms 1000
	etp_nft_drop "$S" output || return "$KSFT_SKIP"
	start=${EPOCHREALTIME/./}
	etp_ns "$C" etpcat -w 1 $SA 7000 </dev/null 2>"$T/err"
	rc=$?
	ms=$(ms_since "$start")
	etp_nft_flush "$S"
	cat "$T/err"
	[ $rc -eq 2 ] || etp_fail_msg "exit $rc, want 2" || return 1
	[ "$ms" -ge 900 ] && [ "$ms" -le 4000 ] || etp_fail_msg "took $ms ms"
}

# The listener's SYN-ACK is answered, but the client's ACK is dropped (a
# bare ACK is the only 40-byte ETP packet: SYNs carry the MSS option). The
# listener retransmits its SYN-ACK synack_retries times, then gives up.
t_synack_retries() {
	local spid sniff cpid n

	etp_sysctl "$S" synack_retries 2
	etp_sysctl "$S" rto_initial_ms 250
	etp_nft_drop "$C" output "ip length 40" || return "$KSFT_SKIP"
	ip netns exec "$S" etpcat -w 10 -l 7001 </dev/null >/dev/null 2>&1 &
	spid=$!
	etp_wait_until 5 _listening 7001 || etp_fail_msg "no listener" || return 1
	rm -f "$T/ready"
	ip netns exec "$C" etp_sniff -p 7001 -t 4 -r "$T/ready" >"$T/synacks" 2>&1 &
	sniff=$!
	etp_wait_file 5 "$T/ready" || etp_fail_msg "sniffer not ready" || return 1
	ip netns exec "$C" timeout 5 etpcat -p 40002 $SA 7001 </dev/null >/dev/null 2>&1 &
	cpid=$!
	etp_wait_pid $sniff 10
	# Let the client's FIN through, so that S can answer it with a reset.
	etp_nft_flush "$C"
	etp_wait_pid $cpid 10
	kill $spid 2>/dev/null
	wait $spid 2>/dev/null
	sed 's/^/sniffed: /' "$T/synacks"
	n=$(grep -c " S\. seq " "$T/synacks")
	echo "SYN-ACKs received: $n"
	[ "$n" -eq 3 ] || etp_fail_msg "$n SYN-ACKs, want 1 + synack_retries = 3"
}

_listening() { [ "$(etp_proc_state "$S" "$1")" = 0A ]; }

# Established, then everything from C is dropped at S: the data is
# retransmitted `retries` times, then the connection fails with ETIMEDOUT.
t_data_retries() {
	local spid cpid start ms rc

	etp_sysctl "$C" retries 3
	etp_sysctl "$C" rto_max_ms 400
	mkfifo "$T/c.in" "$T/s.in"
	exec 8<>"$T/s.in"	# the server never closes its side
	ip netns exec "$S" etpcat -w 10 -l 7002 <"$T/s.in" >/dev/null 2>&1 8>&- &
	spid=$!
	etp_wait_until 5 _listening 7002 || etp_fail_msg "no listener" || return 1
	exec 7<>"$T/c.in"
	ip netns exec "$C" etpcat -w 5 -p 40003 $SA 7002 <"$T/c.in" >/dev/null 2>"$T/err" 7>&- &
	cpid=$!
	etp_wait_until 5 _est || { exec 7>&-; etp_fail_msg "not established"; return 1; }
	etp_nft_drop "$S" input
	start=${EPOCHREALTIME/./}
	echo "this data is never acknowledged" >&7
	etp_wait_pid $cpid 20
	rc=$?
	ms=$(ms_since "$start")
	# Let S hear from C again before its etpcat closes, or its FIN would
	# go unanswered (and the orphan retransmit) for minutes.
	etp_nft_flush "$S"
	exec 7>&- 8>&-
	kill $spid 2>/dev/null
	cat "$T/err"
	echo "gave up after $ms ms; client Timeouts $(etp_stat "$C" Timeouts) RetransSegs $(etp_stat "$C" RetransSegs)"
	[ $rc -eq 3 ] || etp_fail_msg "etpcat exit $rc, want 3" || return 1
	grep -q "Connection timed out" "$T/err" || etp_fail_msg "not ETIMEDOUT" || return 1
	[ "$ms" -le 10000 ] || etp_fail_msg "took $ms ms with retries 3, rto_max_ms 400"
}

_est() { [ "$(etp_proc_state "$C" 40003 7002)" = 01 ]; }
_client_empty() { [ -z "$(ip netns exec "$C" awk 'NR > 1' /proc/net/etp)" ]; }
t_empty() {
	etp_wait_until 10 _client_empty || {
		etp_proc_dump "$C"; etp_proc_dump "$S"
		local ns
		for ns in "$C" "$S"; do
			echo "${ns##*-}: $(ip netns exec "$ns" sed -n 2p /proc/net/etp_stat)"
		done
		[ -n "$TRACING" ] && etp_trace_raw | grep -E "port=40002 " | sed 's/^ */trace: /'
		etp_fail_msg "connections left in the client namespace"
	}
}

etp_result "connect_etimedout_after_syn_retries" t_connect_timeout
etp_result "syn_sent_once_plus_syn_retries_times" t_syn_count
etp_result "syn_retransmit_after_rto_initial_then_doubling" t_syn_backoff
etp_result "attempt_fails_and_retrans_counted" t_counters
etp_result "etpcat_w_1_gives_up_before_syn_retries" t_etpcat_w
etp_result "syn_ack_sent_once_plus_synack_retries_times" t_synack_retries
etp_result "data_unacknowledged_etimedout_after_retries" t_data_retries
etp_result "no_connections_left_in_client" t_empty
ktap_finished
