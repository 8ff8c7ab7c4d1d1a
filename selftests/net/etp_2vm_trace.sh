#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etptrace across two VMs, run in both with the same arguments plus the role:
#
#   etp_2vm_trace.sh GROUP a      (in VM a)
#   etp_2vm_trace.sh GROUP b      (in VM b)
#
#   +---------------------------+                  +---------------------------+
#   | VM a 10.253.0.1           |  virtio-net      | VM b 10.253.0.2           |
#   | etptrace -s trace.a       |<================>| etptrace -s trace.b       |
#   | etpcat -l 7321 (server)   |  ETP: the traced | etpcat -p 47321 (client)  |
#   |                           |  connection      |                           |
#   | etp-xfer -l 25469 -H      |<-- TCP: trace.b -| etp-xfer -i trace.b -C    |
#   | etptrace --merge a b      |                  |                           |
#   +---------------------------+                  +---------------------------+
#
# GROUP:
# merge   both VMs record one connection, b to a: b sends a line and closes
#         first (FIN_WAIT1, FIN_WAIT2, TIME_WAIT), a answers and closes
#         (CLOSE_WAIT, LAST_ACK). b sends its trace file to a over TCP
#         (checked by SHA-256); a merges both into one ladder and checks
#         that each end's states are on its own side, in order, that the
#         two clocks were aligned, that no segment is missing from either
#         side, and that the merged ladder has the same arrows as each
#         machine's own.
#
# Every step starts with a rendezvous over plain TCP (etp_2vm_barrier), as
# in etp_2vm.sh.

. "$(dirname "$0")/etp_lib.sh"

GROUP=$1
etp_require_root
etp_require_module
etp_require_cmd etptrace etpcat etp-xfer python3
etp_2vm_init "${2:-}"
etp_init
T=$ETP_TMP
BARRIER=25460
SP=7321
CP=47321

# step NAME FUNC: rendezvous, then run FUNC as one TAP test.
step() {
	BARRIER=$((BARRIER + 1))
	if ! etp_2vm_barrier $BARRIER "${BARRIER_SECS:-120}"; then
		ktap_test_fail "$1 # peer VM did not arrive"
		return
	fi
	etp_result "$1" "$2"
}

_state_is() { [ "$(etp_proc_state "" "$1" "$2")" = "$3" ]; }

# Both record; the connection; both stop recording.
t_record() {
	local tp pid rc=0

	etptrace -p $SP -T -s "$T/trace.$ROLE" >"$T/own.out" 2>"$T/own.err" &
	tp=$!
	ETP_PIDS+=($!)
	etp_wait_until 30 grep -q "tracing ETP" "$T/own.err" ||
		etp_fail_msg "etptrace did not start: $(cat "$T/own.err")" || return 1
	etp_2vm_barrier 25468 60 || return 1
	if [ "$ROLE" = a ]; then
		mkfifo "$T/in"
		exec 5<>"$T/in"
		etp_bg etpcat -w 60 -l -s "$LOCAL" $SP <"$T/in" >"$T/got" 2>/dev/null
		pid=$!
		etp_wait_until 10 _state_is $SP 0 0A || etp_fail_msg "no listener" || return 1
		etp_2vm_barrier 25467 60 || return 1
		# b's line and FIN: CLOSE_WAIT; answer, then close.
		etp_wait_until 60 _state_is $SP $CP 08 || rc=1
		echo "thanks, got $(wc -c <"$T/got") bytes" >&5
		exec 5>&-
		etp_wait_pid $pid 60 || rc=1
		etp_wait_until 10 _state_is $SP $CP "" || rc=1
		echo "a received: $(cat "$T/got")"
	else
		etp_2vm_barrier 25467 60 || return 1
		echo "hello from VM b" | etpcat -w 30 -p $CP "$PEER" $SP >"$T/got" 2>/dev/null || rc=1
		etp_wait_until 10 _state_is $CP $SP 06 || rc=1
		echo "b received: $(cat "$T/got")"
	fi
	# What is still in flight (the last ACK) is traced on both sides by now.
	etp_2vm_barrier 25466 60 || rc=1
	kill -TERM $tp
	etp_wait_pid $tp 30 || etp_fail_msg "etptrace did not stop on SIGTERM" || rc=1
	cat "$T/own.out"
	[ $rc = 0 ] || etp_fail_msg "the connection did not go as scripted"
}

t_send_trace() {
	if [ "$ROLE" = a ]; then
		etp-xfer -q -P tcp -t 60 -s "$LOCAL" -l 25469 -H -o "$T/trace.b"
	else
		echo "sending $(grep -c ' etp_' "$T/trace.b") trace lines"
		etp-xfer -q -P tcp -t 60 -r 30 -i "$T/trace.b" -C "$PEER" 25469
	fi
}

# states SIDE FILE: the states written on the left (1) or right (3) of the
# lifelines, in order (a ladder without times: "STATE |...| STATE").
states() {
	awk -F'|' -v side="$1" 'NF == 3 {
		s = $side; gsub(/ /, "", s); if (s != "") printf "%s%s", sep, s; sep = " " }
		END { print "" }' "$2"
}

# arrows FILE: the labels of the arrows, sorted.
arrows() {
	grep -E -e '-->\|' -e '\|<--' -e '-X  \|' -e '\|  X-' "$1" |
		sed -E 's/^[^|]*\|[-<=X ]*//; s/[-=>X ]*\|.*$//' | sort
}

t_merge() {
	local l r n sent

	if [ "$ROLE" = b ]; then
		echo "VM a merges"
		return 0
	fi
	etptrace -r -T --merge "$T/trace.a" "$T/trace.b" >"$T/merged" 2>&1 ||
		etp_fail_msg "etptrace --merge exited $?" || return 1
	cat "$T/merged"
	grep -q "^ETP $PEER:$CP (client) <-> $LOCAL:$SP (server)" "$T/merged" ||
		etp_fail_msg "b's end is not the client on the left" || return 1
	grep -q "^  $LOCAL:$SP: traced in $T/trace.a$" "$T/merged" &&
	grep -q "^  $PEER:$CP: traced in $T/trace.b$" "$T/merged" ||
		etp_fail_msg "ends not named with their traces" || return 1
	n=$(sed -n 's/.*clocks aligned on \([0-9]*\) segments.*/\1/p' "$T/merged")
	[ "${n:-0}" -ge 1 ] || etp_fail_msg "clocks not aligned" || return 1
	l=$(states 1 "$T/merged")
	r=$(states 3 "$T/merged")
	echo "b (left, kernel ${ETP_PEER_KERNEL:-?}): $l"
	echo "a (right, kernel $(uname -r)): $r"
	[ "$l" = "CLOSE SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT" ] ||
		etp_fail_msg "b's states" || return 1
	[ "$r" = "LISTEN SYN_RECV ESTABLISHED CLOSE_WAIT LAST_ACK CLOSE" ] ||
		etp_fail_msg "a's states" || return 1
	# Nothing lost: every segment either side sent is an arrow, once.
	sent=$(cat "$T/trace.a" "$T/trace.b" | grep -c 'etp_segment_\(send\|retransmit\):')
	echo "$(arrows "$T/merged" | wc -l) arrows, $sent segments sent"
	! grep -q -e 'X  |' -e '|  X' "$T/merged" || etp_fail_msg "a segment shows as lost" || return 1
	[ "$(arrows "$T/merged" | wc -l)" = "$sent" ] || etp_fail_msg "arrows and segments sent differ" || return 1
	# Each machine saw every segment too: the same arrows.
	etptrace -r -T -f "$T/trace.a" >"$T/only.a" && etptrace -r -T -f "$T/trace.b" >"$T/only.b" || return 1
	diff <(arrows "$T/merged") <(arrows "$T/only.a") && diff <(arrows "$T/merged") <(arrows "$T/only.b") ||
		etp_fail_msg "a machine's own ladder has other arrows"
}

ktap_print_header
etp_log "two-VM group '$GROUP', role $ROLE: $LOCAL <-> $PEER"
etp_2vm_kernels
case $GROUP in
merge)
	ktap_set_plan 3
	step "etptrace_records_a_connection_role_$ROLE" t_record
	step "etptrace_trace_file_b_to_a_role_$ROLE" t_send_trace
	step "etptrace_merged_ladder_has_both_ends_role_$ROLE" t_merge
	;;
*)
	ktap_skip_all "unknown group '$GROUP' (merge)"
	exit "$KSFT_SKIP"
	;;
esac
ktap_finished
