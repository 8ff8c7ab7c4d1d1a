#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The four-way close, state by state on both ends (RFC 9293, 3.6, figure 12).
#
#   netns etpst-PID-c                          netns etpst-PID-s
#   +---------------------------+   veth    +---------------------------+
#   | etpcat (client)           |<=========>| etpcat -l (server)        |
#   | 10.253.1.1:40001          |           | 10.253.1.2:7001           |
#   | nft output drop (step 4)  |           | nft output drop (step 2)  |
#   +---------------------------+           +---------------------------+
#
#   client                                  server
#   1 ESTABLISHED                           ESTABLISHED
#   2 close stdin: FIN ->      [server's ACK dropped]
#     FIN_WAIT1 (held)                      CLOSE_WAIT
#   3 drop removed, FIN retransmitted, ACK arrives
#     FIN_WAIT2                             CLOSE_WAIT
#   4                 [client's ACK dropped]  <- FIN: close stdin
#     TIME_WAIT                             LAST_ACK (held)
#   5 drop removed, FIN retransmitted, ACK arrives
#     TIME_WAIT                             CLOSED (line gone)
#   6 2*msl_ms later: TIME_WAIT ends        -
#
# The states are read from /proc/net/etp in each namespace at each step;
# the sock:inet_sock_set_state tracepoint must show the same sequence for
# both sockets.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat nft
etp_init

C=etpst-$$-c
S=etpst-$$-s
CA=10.253.1.1
SA=10.253.1.2
CP=40001
SP=7001
T=$ETP_TMP

ktap_print_header
if ! etp_ns_add "$C" "$S" || ! etp_veth "$C" $CA "$S" $SA; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi
# Retransmissions every 200-400 ms, so a released drop resolves quickly,
# and enough of them (120, about 48 s; the most is 127) that a slow
# emulator (the sanitizer kernel runs several times slower) does not run a
# held connection out of retries; orphan_retries too, since the server's
# etpcat closes its socket in LAST_ACK; a TIME_WAIT of 2 * 4 s outlives the
# steps that need it.
for ns in "$C" "$S"; do
	etp_sysctl "$ns" rto_max_ms 400
	etp_sysctl "$ns" retries 120
	etp_sysctl "$ns" orphan_retries 120
	etp_sysctl "$ns" msl_ms 4000
done
TRACING=yes
etp_trace_start || TRACING=

ktap_set_plan 11

cstate() { etp_proc_state "$C" $CP $SP; }
sstate() { etp_proc_state "$S" $SP $CP; }

# expect_states SECS CLIENT SERVER: wait until both /proc lines show the
# given states ("" = no line), then print both namespaces' tables.
expect_states() {
	local secs=$1 want_c=$2 want_s=$3

	etp_wait_until "$secs" _both "$want_c" "$want_s"
	local rc=$?
	echo "client $(etp_state_name "$(cstate)") (want $(etp_state_name "$want_c")), server $(etp_state_name "$(sstate)") (want $(etp_state_name "$want_s"))"
	etp_proc_dump "$C"
	etp_proc_dump "$S"
	return $rc
}

_both() { [ "$(cstate)" = "$1" ] && [ "$(sstate)" = "$2" ]; }

_listening() { [ "$(etp_proc_state "$S" $SP)" = 0A ]; }

# Each etpcat's stdin is a fifo this script holds open (fd 5 and 6): closing
# it is how the test makes that end send its FIN. (Opened read-write first,
# so that opening the reading end does not block.)
mkfifo "$T/c.in" "$T/s.in"
exec 5<>"$T/s.in" 6<>"$T/c.in"
etp_bg ip netns exec "$S" etpcat -v -w 20 -l -s $SA $SP <"$T/s.in" >"$T/s.out" 2>"$T/s.err"
SPID=$!
etp_wait_until 5 _listening || true
etp_bg ip netns exec "$C" etpcat -v -w 20 -p $CP $SA $SP <"$T/c.in" >"$T/c.out" 2>"$T/c.err"
CPID=$!

# 1
etp_result "handshake_both_ends_established" expect_states 5 01 01
echo hello >&6
etp_wait_until 5 grep -q hello "$T/s.out"

# 2: the server's ACK of the client's FIN is dropped.
etp_nft_drop "$S" output
exec 6>&-
# Held: still FIN_WAIT1 a second later, after several retransmissions.
t_fin_wait1_held() { expect_states 5 04 08 && sleep 1 && expect_states 0 04 08; }
etp_result "client_fin_wait1_while_its_fin_is_unacked" t_fin_wait1_held
etp_result "server_close_wait_after_client_fin" expect_states 0 04 08

# 3
etp_nft_flush "$S"
etp_result "client_fin_wait2_after_ack_arrives" expect_states 5 05 08

# 4: the client's ACK of the server's FIN is dropped.
etp_nft_drop "$C" output
exec 5>&-
etp_result "server_last_ack_while_its_fin_is_unacked" expect_states 5 06 09
etp_result "client_time_wait_after_server_fin" expect_states 0 06 09

# 5
etp_nft_flush "$C"
etp_result "server_closed_after_final_ack" expect_states 5 06 ""

# 6
etp_result "client_time_wait_ends_after_2msl" expect_states 12 "" ""

etp_wait_pid "$CPID" 5
CRC=$?
etp_wait_pid "$SPID" 5
SRC=$?
sed 's/^/# client: /' "$T/c.err"
sed 's/^/# server: /' "$T/s.err"
etp_result "both_etpcats_exit_0" test "$CRC" -eq 0 -a "$SRC" -eq 0

# in_order WANT... -- HAVE...: every WANT state appears in HAVE, in order.
in_order() {
	local want=() have=() i=0 h

	while [ "$1" != -- ]; do want+=("$1"); shift; done
	shift
	have=("$@")
	for h in "${have[@]}"; do
		[ $i -lt ${#want[@]} ] && [ "$h" = "${want[$i]}" ] && i=$((i + 1))
	done
	[ $i -eq ${#want[@]} ]
}

check_trace() {
	local who=$1 sp=$2 dp=$3 seq

	shift 3
	seq=$(etp_trace_states "$sp" "$dp" "$who")
	echo "$who: $seq"
	# shellcheck disable=SC2086
	in_order "$@" -- $seq || etp_fail_msg "$who did not go through: $*"
}

if [ -n "$TRACING" ]; then
	etp_trace_raw | sed 's/^/# trace: /'
	# Linux TCP hands a closed connection to a TIME_WAIT entry and reports
	# the socket as CLOSE; ETP reports TIME_WAIT itself, then CLOSE.
	etp_result "tracepoint_client_syn_sent_established_fin_wait1_fin_wait2_time_wait" \
		check_trace client $CP $SP SYN_SENT ESTABLISHED FIN_WAIT1 FIN_WAIT2 TIME_WAIT
	etp_result "tracepoint_server_established_close_wait_last_ack_close" \
		check_trace server $SP $CP ESTABLISHED CLOSE_WAIT LAST_ACK CLOSE
else
	ktap_test_skip "tracepoint_client_syn_sent_established_fin_wait1_fin_wait2_time_wait"
	ktap_test_skip "tracepoint_server_established_close_wait_last_ack_close"
fi
ktap_finished
