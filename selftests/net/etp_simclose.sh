#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Simultaneous close (RFC 9293, 3.6, figure 13): both ends call
# shutdown(SHUT_WR) at the same moment; their FINs cross, each end gets
# the other's FIN while its own is unacknowledged and goes
# FIN_WAIT1 -> CLOSING -> TIME_WAIT, never through FIN_WAIT2.
#
#   netns etpsc-PID-1                          netns etpsc-PID-2
#   +--------------------------+    veth     +--------------------------+
#   | sock1 10.253.3.1:40001   |<===========>| listener/sock2           |
#   |                          |             | 10.253.3.2:7001          |
#   | netem delay 300ms egress |             | netem delay 300ms egress |
#   +--------------------------+             +--------------------------+
#
# etp_simul opens a normal connection, then shuts both ends down from one
# process, microseconds apart; each FIN takes 300 ms to arrive, so each
# end is still in FIN_WAIT1 when the other's FIN comes in (CLOSING for
# another 300 ms until the ACKs arrive).

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd tc etp_simul
etp_init

N1=etpsc-$$-1
N2=etpsc-$$-2
ktap_print_header
if ! etp_ns_add "$N1" "$N2" || ! etp_veth "$N1" 10.253.3.1 "$N2" 10.253.3.2; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi
if ! tc -n "$N1" qdisc add dev veth0 root netem delay 300ms ||
   ! tc -n "$N2" qdisc add dev veth1 root netem delay 300ms; then
	ktap_skip_all "netem not available"
	exit "$KSFT_SKIP"
fi
# No FIN retransmission while the crossing FINs are in flight; a short
# TIME_WAIT so the entries can be seen to end.
for ns in "$N1" "$N2"; do
	etp_sysctl "$ns" rto_initial_ms 3000
	etp_sysctl "$ns" rto_min_ms 1500
	etp_sysctl "$ns" msl_ms 1000
done
TRACING=yes
etp_trace_start || TRACING=
ktap_set_plan 5

T=$ETP_TMP
etp_simul close "$N1" 10.253.3.1 40001 "$N2" 10.253.3.2 7001 >"$T/out" 2>&1
RC=$?
sed 's/^/# /' "$T/out"

t_closing() {
	# (after TIME_WAIT the socket itself may report CLOSE, as TCP's does
	# once a TIME_WAIT entry took over the connection)
	grep -Eq "^sock1: (ESTABLISHED )?FIN_WAIT1 CLOSING (TIME_WAIT|CLOSE)" "$T/out" &&
		grep -Eq "^sock2: (ESTABLISHED )?FIN_WAIT1 CLOSING (TIME_WAIT|CLOSE)" "$T/out" ||
		etp_fail_msg "ETP_INFO did not show FIN_WAIT1 CLOSING TIME_WAIT on both"
}
t_gone() {
	etp_wait_until 6 _no_lines || { etp_proc_dump "$N1"; etp_proc_dump "$N2";
		etp_fail_msg "TIME_WAIT entries still there 6 s later (2*msl = 2 s)"; }
}
_no_lines() {
	[ -z "$(etp_proc_state "$N1" 40001 7001)" ] && [ -z "$(etp_proc_state "$N2" 7001 40001)" ]
}
check() {
	local seq

	seq=$(etp_trace_states "$1" "$2")
	echo "trace sock $1: $seq"
	[[ " $seq " == *" ESTABLISHED FIN_WAIT1 CLOSING TIME_WAIT "* ]] ||
		etp_fail_msg "want ESTABLISHED FIN_WAIT1 CLOSING TIME_WAIT"
}

etp_result "simultaneous_close_both_end_in_time_wait" test $RC -eq 0
etp_result "simultaneous_close_both_passed_closing_per_etp_info" t_closing
etp_result "simultaneous_close_time_wait_entries_end" t_gone
if [ -n "$TRACING" ]; then
	etp_trace_raw | sed 's/^/# trace: /'
	etp_result "tracepoint_sock1_fin_wait1_closing_time_wait" check 40001 7001
	etp_result "tracepoint_sock2_fin_wait1_closing_time_wait" check 7001 40001
else
	ktap_test_skip "tracepoint_sock1_fin_wait1_closing_time_wait"
	ktap_test_skip "tracepoint_sock2_fin_wait1_closing_time_wait"
fi
ktap_finished
