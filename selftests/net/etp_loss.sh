#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Recovery from the loss of exactly one segment of the handshake or the
# close. For each case an nftables rule drops the first segment that
# matches (and only that one: "limit rate 1/hour burst 1 packets"), then
# the connection must still complete: data byte for byte both ways, both
# ends in the right state, the rule's counter at exactly 1 and the
# retransmission counters (/proc/net/etp_stat RetransSegs) moved where the
# lost segment had to be sent again.
#
#   netns etploss-PID-c                        netns etploss-PID-s
#   +---------------------------+   veth    +---------------------------+
#   | etpcat (client)           |<=========>| etpcat -l (server)        |
#   | 10.253.50.1:4010N         |           | 10.253.50.2:701N          |
#   | nft input: drop SYN-ACK   |           | nft input: drop SYN, ACK, |
#   |                           |           |            FIN, last ACK  |
#   +---------------------------+           +---------------------------+
#
#   case                 dropped (once)           recovered by
#   syn                  client's SYN             SYN retransmission
#   synack               server's SYN-ACK         SYN or SYN-ACK retransmission
#   final_ack_data       client's handshake ACK   the ACK on the client's data
#   final_ack_silent     client's handshake ACK   SYN-ACK retransmission, re-ACKed
#   fin                  client's FIN             FIN retransmission
#   last_ack             client's ACK of the      server's FIN retransmission,
#                        server's FIN             ACKed again from TIME_WAIT
#
# Every case ends with the four-way close: the client closes first and
# must end in TIME_WAIT, the server's connection must be gone.
# rto_initial_ms and rto_max_ms are short so that the whole script runs in
# well under a minute on an idle machine.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat nft cmp
etp_init

C=etploss-$$-c
S=etploss-$$-s
CA=10.253.50.1
SA=10.253.50.2
T=$ETP_TMP

ktap_print_header
if ! etp_ns_add "$C" "$S" || ! etp_veth "$C" $CA "$S" $SA; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi
if ! etp_nft_drop_once "$S" input "$ETP_NFT_FLAGS == 0x02" ||
   [ "$(etp_nft_dropped "$S")" != 0 ]; then
	ktap_skip_all "nft cannot add or list a drop-once rule with a counter"
	exit "$KSFT_SKIP"
fi
etp_nft_once_flush "$S"

# Retransmission timeouts short enough for a quick run. Nothing waits for
# TIME_WAIT to end, so it is long (2 * msl_ms = 20 s): it outlives the
# server's retransmitted FIN and polling slowed down by a loaded host.
for ns in "$C" "$S"; do
	etp_sysctl "$ns" rto_initial_ms 300
	etp_sysctl "$ns" rto_max_ms 1000
	etp_sysctl "$ns" msl_ms 10000
done

ktap_set_plan 10

# The data of each case: more than one segment each way (MSS 1460 on veth),
# less than a pipe buffer, so writing it into a fifo never blocks.
head -c 20000 /dev/urandom >"$T/c2s"
head -c 12345 /dev/urandom >"$T/s2c"

CP=
SP=
SEEN_C=
SEEN_S=
CASE_START=${EPOCHREALTIME/./}
SPID=
CPID=

cstate() { etp_proc_state "$C" "$CP" "$SP"; }
sstate() { etp_proc_state "$S" "$SP" "$CP"; }
# _both CLIENT SERVER: both lines show these states; the states read are
# kept in SEEN_C and SEEN_S.
_both() {
	SEEN_C=$(cstate)
	SEEN_S=$(sstate)
	[ "$SEEN_C" = "$1" ] && [ "$SEEN_S" = "$2" ]
}
_listening() { [ "$(etp_proc_state "$S" "$SP")" = 0A ]; }
_size_is() { [ "$(stat -c %s "$1" 2>/dev/null)" = "$2" ]; }

# expect_states SECS CLIENT SERVER: wait until the /proc/net/etp lines
# show these states ("" = no line); print them either way.
expect_states() {
	local rc

	etp_wait_until "$1" _both "$2" "$3"
	rc=$?
	echo "client $(etp_state_name "$SEEN_C") (want $(etp_state_name "$2")), server $(etp_state_name "$SEEN_S") (want $(etp_state_name "$3")) at $(case_ms) ms"
	[ $rc -eq 0 ] || { etp_proc_dump "$C"; etp_proc_dump "$S"; }
	return $rc
}

# start_pair N [FILE]: a listener on port 701N and a client from port
# 4010N. Their stdin are fifos held open on fd 5 (server) and 6 (client);
# closing one sends that side's FIN. FILE is put in the client's stdin
# before it starts, so that it sends it as soon as it is connected.
start_pair() {
	CP=$((40100 + $1))
	SP=$((7010 + $1))
	rm -f "$T/s.in" "$T/c.in" "$T/s.out" "$T/c.out"
	mkfifo "$T/s.in" "$T/c.in"
	exec 5<>"$T/s.in" 6<>"$T/c.in"
	[ -z "${2:-}" ] || cat "$2" >&6
	etp_bg ip netns exec "$S" etpcat -v -w 20 -l -s $SA $SP <"$T/s.in" >"$T/s.out" 2>"$T/s.err"
	SPID=$!
	etp_wait_until 5 _listening || { etp_fail_msg "no listener on $SP"; return 1; }
	RETRANS_C=$(etp_stat "$C" RetransSegs)
	RETRANS_S=$(etp_stat "$S" RetransSegs)
	RESETS_S=$(etp_stat "$S" EstabResets)
	etp_bg ip netns exec "$C" etpcat -v -w 20 -p $CP $SA $SP <"$T/c.in" >"$T/c.out" 2>"$T/c.err"
	CPID=$!
}

# send_data: the two files each way; wait until both arrived, compare.
send_data() {
	cat "$T/c2s" >&6
	cat "$T/s2c" >&5
	check_data
}

check_data() {
	etp_wait_until 10 _size_is "$T/s.out" "$(stat -c %s "$T/c2s")"
	etp_wait_until 10 _size_is "$T/c.out" "$(stat -c %s "$T/s2c")"
	cmp "$T/c2s" "$T/s.out" || etp_fail_msg "client -> server data differs" || return 1
	cmp "$T/s2c" "$T/c.out" || etp_fail_msg "server -> client data differs"
}

# close_pair [HOOK]: the client closes first (FIN_WAIT2 / CLOSE_WAIT), then
# the server (TIME_WAIT / gone). HOOK runs between the two closes.
close_pair() {
	exec 6>&-
	expect_states 10 05 08 || return 1
	if [ -n "${1:-}" ]; then
		"$1" || return 1
	fi
	exec 5>&-
	expect_states 10 06 "" || return 1
	etp_wait_pid "$CPID" 10 || etp_fail_msg "client etpcat exit $?" || return 1
	etp_wait_pid "$SPID" 10 || etp_fail_msg "server etpcat exit $?"
}

# end_pair: kill what is left of a failed case, print the etpcat logs.
end_pair() {
	if [ -s "$T/sniff.pid" ]; then
		kill "$(cat "$T/sniff.pid")" 2>/dev/null
		rm -f "$T/sniff.pid"
	fi
	exec 5>&- 6>&-
	etp_wait_pid "$CPID" 3 >/dev/null
	etp_wait_pid "$SPID" 3 >/dev/null
	sed 's/^/client: /' "$T/c.err"
	sed 's/^/server: /' "$T/s.err"
	etp_nft_once_flush "$C"
	etp_nft_once_flush "$S"
	etp_sysctl "$S" rto_initial_ms 300
}

# check_dropped NS: the drop-once rule in NS dropped exactly one segment.
check_dropped() {
	local n

	n=$(etp_nft_dropped "$1")
	echo "segments dropped by the rule in ${1##*-}: $n"
	[ "$n" = 1 ] || etp_fail_msg "the rule dropped $n segments, want exactly 1"
}

# retrans_moved WHO...: RetransSegs of client (c) and/or server (s) grew in
# total since start_pair.
retrans_moved() {
	local dc ds sum=0 w

	dc=$(($(etp_stat "$C" RetransSegs) - RETRANS_C))
	ds=$(($(etp_stat "$S" RetransSegs) - RETRANS_S))
	echo "RetransSegs: client +$dc, server +$ds"
	for w in "$@"; do
		case $w in c) sum=$((sum + dc)) ;; s) sum=$((sum + ds)) ;; esac
	done
	[ $sum -ge 1 ] || etp_fail_msg "no retransmission counted by: $*"
}

# A lost SYN: connect() completes after the SYN is sent again.
t_syn() {
	etp_nft_drop_once "$S" input "$ETP_NFT_FLAGS == 0x02" || return 1
	start_pair 1 || return 1
	expect_states 10 01 01 || return 1
	send_data || return 1
	close_pair || return 1
	cp "$T/c.err" "$T/syn.c.err"
	check_dropped "$S" || return 1
	retrans_moved c
}

# A lost SYN-ACK. The server's SYN-ACK timer is set far off, so recovery
# goes one way: the client sends its SYN again, and the server, still in
# SYN_RECV, answers the repeated SYN with its SYN-ACK again. A sniffer in
# the client's namespace sees the SYN-ACKs that get through.
t_synack() {
	etp_sysctl "$S" rto_initial_ms 5000
	etp_nft_drop_once "$C" input "$ETP_NFT_FLAGS == 0x12" || return 1
	rm -f "$T/ready" "$T/synack.retrans"
	ip netns exec "$C" etp_sniff -p 7012 -t 30 -r "$T/ready" >"$T/synack.sniff" 2>&1 &
	echo $! >"$T/sniff.pid"
	etp_wait_file 5 "$T/ready" || { etp_fail_msg "sniffer not ready"; return 1; }
	start_pair 2 || return 1
	expect_states 10 01 01 || return 1
	send_data || return 1
	close_pair || return 1
	cp "$T/s.err" "$T/synack.s.err"
	check_dropped "$C" || return 1
	retrans_moved c || return 1
	echo $(($(etp_stat "$S" RetransSegs) - RETRANS_S)) >"$T/synack.retrans"
}

# Every SYN-ACK after the first is a retransmission, whether a timer or a
# repeated SYN caused it (Linux TCP counts both): RetransSegs of the server
# grew by the number of SYN-ACKs that reached the client (the first one
# did not).
t_synack_counted() {
	local n r

	[ -s "$T/synack.retrans" ] || etp_fail_msg "the lost SYN-ACK case failed" || return 1
	r=$(cat "$T/synack.retrans")
	grep " S\. seq " "$T/synack.sniff" | sed 's/^/sniffed at client: /'
	n=$(grep -c " S\. seq " "$T/synack.sniff")
	echo "SYN-ACKs sent: $((n + 1)) (1 dropped); server RetransSegs +$r"
	[ "$n" -ge 1 ] || etp_fail_msg "no SYN-ACK reached the client" || return 1
	[ "$r" = "$n" ] || etp_fail_msg "server RetransSegs +$r, want +$n"
}

# RFC 6298, 3 (Karn): an ACK for a segment that was sent more than once
# gives no RTT sample. The handshake is the only exchange timed before
# accept()/connect() return; a sample taken from the first, lost SYN or
# SYN-ACK would be at least rto_initial_ms (300 ms) long, while the round
# trip on veth is about a millisecond.
# handshake_srtt FILE EVENT: the srtt (us) etpcat -v printed at EVENT.
handshake_srtt() {
	sed -n "s/.*etpcat: $2: .* srtt \([0-9]*\)us.*/\1/p" "$1" | head -n 1
}

check_not_timed() {
	local srtt

	srtt=$(handshake_srtt "$1" "$2")
	echo "srtt at $2: ${srtt:-?} us (a sample from the lost segment: >= 300000)"
	[ -n "$srtt" ] || etp_fail_msg "no srtt in etpcat -v's '$2' line" || return 1
	[ "$srtt" -lt 150000 ] || etp_fail_msg "RTT sampled from a retransmitted handshake segment"
}

# The handshake's ACK is lost, but the client sends data at once: that
# segment's ACK completes the server's handshake (RFC 9293, 3.10.7.4, fifth
# check in SYN-RECEIVED) and its data is delivered, not dropped.
t_final_ack_data() {
	# A bare ACK from the client is 40 bytes; data segments are longer.
	etp_nft_drop_once "$S" input "$ETP_NFT_FLAGS == 0x10 $ETP_NFT_EMPTY" || return 1
	start_pair 3 "$T/c2s" || return 1
	expect_states 10 01 01 || return 1
	cat "$T/s2c" >&5
	check_data || return 1
	expect_states 0 01 01 || return 1
	close_pair || return 1
	check_dropped "$S"
}

# The handshake's ACK is lost and the client says nothing: the server
# sends its SYN-ACK again, the ESTABLISHED client answers with an ACK, and
# only then does the server's connection reach ESTABLISHED.
t_final_ack_silent() {
	etp_nft_drop_once "$S" input "$ETP_NFT_FLAGS == 0x10 $ETP_NFT_EMPTY" || return 1
	start_pair 4 || return 1
	expect_states 10 01 01 || return 1
	check_dropped "$S" || return 1
	retrans_moved s || return 1
	send_data || return 1
	close_pair
}

# The client's FIN is lost: it stays in FIN_WAIT1 until the FIN is sent
# again; the server sees end of file once.
t_fin() {
	etp_nft_drop_once "$S" input "$ETP_NFT_FIN" || return 1
	start_pair 5 || return 1
	expect_states 10 01 01 || return 1
	send_data || return 1
	close_pair || return 1
	check_dropped "$S" || return 1
	retrans_moved c
}

# The client's ACK of the server's FIN is lost: the server, in LAST_ACK,
# sends its FIN again; the client answers from TIME_WAIT and the server's
# connection ends cleanly (its etpcat exits 0, no reset).
drop_last_ack() {
	# The client is in FIN_WAIT2 with nothing left to send: the next
	# bare ACK it sends is the one for the server's FIN.
	etp_nft_drop_once "$S" input "$ETP_NFT_FLAGS == 0x10 $ETP_NFT_EMPTY"
}

t_last_ack() {
	start_pair 6 || return 1
	expect_states 10 01 01 || return 1
	send_data || return 1
	close_pair drop_last_ack || return 1
	check_dropped "$S" || return 1
	retrans_moved s || return 1
	[ "$(etp_stat "$S" EstabResets)" = "$RESETS_S" ] ||
		etp_fail_msg "the server's connection was reset"
}

# run_case FUNC: run one case, then clean up whatever it left.
run_case() {
	local rc

	CASE_START=${EPOCHREALTIME/./}
	"$1"
	rc=$?
	end_pair
	echo "case took $(case_ms) ms"
	return $rc
}

case_ms() { echo $(((${EPOCHREALTIME/./} - CASE_START) / 1000)); }

etp_result "syn_lost_retransmitted_connection_completes" run_case t_syn
etp_result "syn_lost_handshake_not_timed_karn" check_not_timed "$T/syn.c.err" connected
etp_result "synack_lost_syn_retransmitted_synack_resent_connection_completes" run_case t_synack
etp_result "synack_resent_for_repeated_syn_counted_in_retranssegs" t_synack_counted
etp_result "synack_lost_handshake_not_timed_karn" check_not_timed "$T/synack.s.err" accepted
etp_result "final_ack_lost_client_data_establishes_server" run_case t_final_ack_data
etp_result "final_ack_lost_synack_retransmitted_server_established" run_case t_final_ack_silent
etp_result "fin_lost_retransmitted_close_completes" run_case t_fin
etp_result "last_ack_lost_fin_retransmitted_acked_from_time_wait" run_case t_last_ack

_only_time_wait() {
	[ -z "$(ip netns exec "$C" awk 'NR > 1 && $4 != "06"' /proc/net/etp)" ] &&
	[ -z "$(ip netns exec "$S" awk 'NR > 1' /proc/net/etp)" ]
}
t_nothing_left() {
	etp_wait_until 5 _only_time_wait && return 0
	etp_proc_dump "$C"
	etp_proc_dump "$S"
	etp_fail_msg "connections left besides the client's TIME_WAIT entries"
}
etp_result "no_connection_left_but_client_time_wait" t_nothing_left
ktap_finished
