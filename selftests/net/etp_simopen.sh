#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Simultaneous open (RFC 9293, 3.5, figure 7): two sockets bound to known
# ports connect to each other at the same moment; their SYNs cross, both
# ends go SYN_SENT -> SYN_RECV -> ESTABLISHED, and one connection results.
#
#   netns etpso-PID-1                          netns etpso-PID-2
#   +--------------------------+    veth     +--------------------------+
#   | sock1 10.253.2.1:40001   |<===========>| sock2 10.253.2.2:40002   |
#   | netem delay 300ms egress |             | netem delay 300ms egress |
#   +--------------------------+             +--------------------------+
#
# etp_simul calls both connect()s from one process, microseconds apart;
# the 300 ms delay each way guarantees each SYN arrives while the other
# end is still in SYN_SENT. Deterministic, no listener anywhere.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd tc etp_simul
etp_init

N1=etpso-$$-1
N2=etpso-$$-2
ktap_print_header
if ! etp_ns_add "$N1" "$N2" || ! etp_veth "$N1" 10.253.2.1 "$N2" 10.253.2.2; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi
if ! tc -n "$N1" qdisc add dev veth0 root netem delay 300ms ||
   ! tc -n "$N2" qdisc add dev veth1 root netem delay 300ms; then
	ktap_skip_all "netem not available"
	exit "$KSFT_SKIP"
fi
# No SYN retransmission while the crossing SYNs are in flight.
for ns in "$N1" "$N2"; do
	etp_sysctl "$ns" rto_initial_ms 3000
done
TRACING=yes
etp_trace_start || TRACING=
ktap_set_plan 4

T=$ETP_TMP
etp_simul open "$N1" 10.253.2.1 40001 "$N2" 10.253.2.2 40002 >"$T/out" 2>&1
RC=$?
sed 's/^/# /' "$T/out"

etp_result "simultaneous_open_both_established_data_both_ways" test $RC -eq 0
t_syn_recv() {
	grep -q "^sock1: SYN_SENT SYN_RECV ESTABLISHED$" "$T/out" &&
		grep -q "^sock2: SYN_SENT SYN_RECV ESTABLISHED$" "$T/out" ||
		etp_fail_msg "ETP_INFO did not show SYN_SENT SYN_RECV ESTABLISHED on both"
}
etp_result "simultaneous_open_both_passed_syn_recv_per_etp_info" t_syn_recv
check() {
	local seq

	seq=$(etp_trace_states "$1" "$2" client)
	echo "trace sock $1: $seq"
	[[ " $seq " == *" SYN_SENT SYN_RECV ESTABLISHED "* ]] ||
		etp_fail_msg "want SYN_SENT SYN_RECV ESTABLISHED"
}
if [ -n "$TRACING" ]; then
	etp_trace_raw | sed 's/^/# trace: /'
	etp_result "tracepoint_sock1_syn_sent_syn_recv_established" check 40001 40002
	etp_result "tracepoint_sock2_syn_sent_syn_recv_established" check 40002 40001
else
	ktap_test_skip "tracepoint_sock1_syn_sent_syn_recv_established"
	ktap_test_skip "tracepoint_sock2_syn_sent_syn_recv_established"
fi
ktap_finished
