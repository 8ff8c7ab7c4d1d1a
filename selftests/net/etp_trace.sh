#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ETP's own tracepoints (TRACE_SYSTEM etp) for a scripted connection on
# loopback: a handshake, "hello" one way and "bye" back, a close from the
# client; then a connect whose SYNs are all dropped.
#
#   netns etptr-PID (lo)
#   +-----------------------------------------------------------------+
#   | etpcat -p 40301 (client)  <==ETP==>  etpcat -l 7301 (server)    |
#   | trace instance etp_trace_PID records events/etp/*               |
#   +-----------------------------------------------------------------+
#
# The checks read the fields the events print: every segment sent is
# received with the same flags, seq, ack and length; the handshake's
# numbers chain (SYN seq=x; SYN|ACK ack=x+1 seq=y; ACK ack=y+1); each end
# walks its states in RFC 9293 order with a reason; a dropped SYN shows as
# etp_segment_retransmit after an etp_timer event.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat nft
etp_init

NS=etptr-$$
T=$ETP_TMP
TR=/sys/kernel/tracing
INST=
ktap_print_header

trace_on() {
	[ -d "$TR/instances" ] || mount -t tracefs nodev "$TR" 2>/dev/null
	[ -d "$TR/events/etp" ] || return 1
	INST=$TR/instances/etp_trace_$$
	mkdir "$INST" && echo 1 >"$INST/events/etp/enable" && echo 1 >"$INST/tracing_on"
}
trace_off() {
	[ -n "$INST" ] || return 0
	echo 0 >"$INST/events/etp/enable" 2>/dev/null
	rmdir "$INST" 2>/dev/null
	INST=
}
trap 'trace_off; etp_cleanup' EXIT

if ! etp_ns_add "$NS"; then
	ktap_skip_all "cannot create a network namespace"
	exit "$KSFT_SKIP"
fi
if ! trace_on; then
	ktap_skip_all "no tracefs or no etp events"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 7

# The scripted connection; the trace is copied to $T/trace afterwards.
script() {
	etp_sysctl "$NS" msl_ms 200
	mkfifo "$T/sin"
	ip netns exec "$NS" etpcat -l 7301 <"$T/sin" >"$T/s.out" 2>/dev/null &
	exec 5>"$T/sin"
	etp_wait_until 5 _listening || return 1
	# The client closes first; the server answers, then closes too.
	# (5>&-: the client must not hold the server's stdin open.)
	(printf hello; sleep 0.3) 5>&- | ip netns exec "$NS" etpcat -p 40301 127.0.0.1 7301 >"$T/c.out" 2>/dev/null 5>&- &
	etp_wait_until 5 test -s "$T/s.out" || return 1
	printf bye >&5
	etp_wait_until 5 _server_in 08 || return 1
	exec 5>&-
	wait
	etp_wait_until 5 _gone 40301
	cp "$INST/trace" "$T/trace"
}
_listening() { [ "$(etp_proc_state "$NS" 7301)" = 0A ]; }
_server_in() { [ "$(etp_proc_state "$NS" 7301 40301)" = "$1" ]; }
_gone() { [ -z "$(etp_proc_state "$NS" "$1")" ]; }

# events NAME: "sport dport flags seq ack len" of each segment event NAME,
# for the scripted ports only.
events() {
	awk -v ev="$1:" '$0 ~ " " ev " " {
		for (i = 1; i <= NF; i++) {
			if ($i == ev) { src = $(i + 1); dst = $(i + 3) }
			if ($i ~ /^(flags|seq|ack|len)=/) { split($i, kv, "="); f[kv[1]] = kv[2] }
		}
		sub(/.*:/, "", src); sub(/.*:/, "", dst)
		if ((src == 40301 || src == 7301) && (dst == 40301 || dst == 7301))
			print src, dst, f["flags"], f["seq"], f["ack"], f["len"]
	}' "$T/trace"
}

# states PORT: "OLD>NEW" of each state change of the socket on local PORT.
states() {
	awk -v p="$1" '/ etp_state_change: / {
		for (i = 1; i <= NF; i++) if ($i == "->") { o = $(i - 1); n = $(i + 1); a = $(i - 3) }
		sub(/.*:/, "", a)
		if (a == p) { printf "%s%s>%s", sep, o, n; sep = " " }
	} END { print "" }' "$T/trace"
}

t_handshake_numbers() {
	local x y a1 a2

	events etp_segment_send | head -3 | sed 's/^/sent: /'
	read -r _ _ _ x _ _ < <(events etp_segment_send | awk '$1 == 40301 && $3 == "SYN"')
	read -r _ _ _ y a1 _ < <(events etp_segment_send | awk '$1 == 7301 && $3 == "SYN|ACK"')
	read -r _ _ _ _ a2 _ < <(events etp_segment_send | awk '$1 == 40301 && $3 == "ACK"' | head -1)
	echo "SYN seq=$x; SYN|ACK seq=$y ack=$a1; ACK ack=$a2"
	[ -n "$x" ] && [ -n "$y" ] || etp_fail_msg "no SYN or SYN|ACK event" || return 1
	[ "$a1" = $(((x + 1) % 4294967296)) ] || etp_fail_msg "SYN|ACK acks $a1, want x+1" || return 1
	[ "$a2" = $(((y + 1) % 4294967296)) ] || etp_fail_msg "ACK acks $a2, want y+1"
}

# Every segment one end sent reached the other (loopback loses nothing).
t_sent_equals_received() {
	{ events etp_segment_send; events etp_segment_retransmit; } | sort >"$T/sent"
	events etp_segment_recv | sort >"$T/recv"
	echo "$(wc -l <"$T/sent") sent, $(wc -l <"$T/recv") received"
	[ -s "$T/sent" ] || etp_fail_msg "no events" || return 1
	diff "$T/sent" "$T/recv" || etp_fail_msg "sent and received events differ"
}

t_data_segments() {
	local h b

	h=$(events etp_segment_send | awk '$1 == 40301 && $6 == 5 && $3 ~ /ACK/')
	b=$(events etp_segment_send | awk '$1 == 7301 && $6 == 3 && $3 ~ /ACK/')
	echo "hello: ${h:-none}; bye: ${b:-none}"
	[ -n "$h" ] && [ -n "$b" ] || etp_fail_msg "data segments missing"
}

t_client_states() {
	local s

	s=$(states 40301)
	echo "client: $s"
	[ "$s" = "CLOSE>SYN_SENT SYN_SENT>ESTABLISHED ESTABLISHED>FIN_WAIT1 FIN_WAIT1>FIN_WAIT2 FIN_WAIT2>TIME_WAIT" ] ||
		etp_fail_msg "unexpected client states"
}

t_server_states() {
	local s

	s=$(awk '/ etp_state_change: .*:7301 .*:40301 /' "$T/trace" | sed 's/.*etp_state_change: //')
	echo "$s"
	echo "$s" | grep -q 'LISTEN -> SYN_RECV (SYN received by listener)' &&
	echo "$s" | grep -q 'SYN_RECV -> ESTABLISHED (ACK of SYN-ACK received)' &&
	echo "$s" | grep -q 'ESTABLISHED -> CLOSE_WAIT (FIN received)' &&
	echo "$s" | grep -q 'CLOSE_WAIT -> LAST_ACK' &&
	echo "$s" | grep -q 'LAST_ACK -> CLOSE (ACK of FIN received)' ||
		etp_fail_msg "server states or reasons missing"
}

# All SYNs dropped: the timer fires, the SYN goes again as a retransmit.
t_retransmit_and_timer() {
	local t r

	etp_sysctl "$NS" syn_retries 1
	etp_sysctl "$NS" rto_initial_ms 200
	etp_nft_drop "$NS" output || return 1
	: >"$INST/trace"
	ip netns exec "$NS" etpcat -p 40302 127.0.0.1 7399 </dev/null >/dev/null 2>&1
	etp_nft_flush "$NS"
	cp "$INST/trace" "$T/trace2"
	t=$(grep -c 'etp_timer: .*:40302 .*timer=retransmit state=SYN_SENT' "$T/trace2")
	r=$(grep -c 'etp_segment_retransmit: .*:40302 > .* flags=SYN ' "$T/trace2")
	echo "timer events $t, SYN retransmits $r"
	grep 'etp_timer\|etp_segment_retransmit' "$T/trace2" | sed 's/.*: etp_/etp_/' | head -4
	[ "$t" -ge 1 ] && [ "$r" -ge 1 ] || etp_fail_msg "no timer or retransmit event"
}

if script; then
	ktap_test_pass "scripted_connection_traced"
else
	ktap_test_fail "scripted_connection_traced"
fi
etp_result "handshake_numbers_chain" t_handshake_numbers
etp_result "every_sent_segment_received" t_sent_equals_received
etp_result "data_segments_with_their_lengths" t_data_segments
etp_result "client_state_changes_in_order" t_client_states
etp_result "server_state_changes_with_reasons" t_server_states
etp_result "syn_timer_and_retransmit_events" t_retransmit_and_timer
ktap_finished
