#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Path MTU (RFC 1191): both ends sit on links with MTU 1500 and announce
# MSS 1460, but the router's way out to the server has MTU 1000. ETP sends
# with DF set, so the router answers the first full-sized segment with
# ICMP "fragmentation needed"; the client lowers its MSS, sends what was
# in flight again in segments that fit, and the transfer completes
# byte-exact. A second connection starts with the small MSS, from the
# route's remembered MTU.
#
#   netns etpmtu-PID-c       netns etpmtu-PID-r          netns etpmtu-PID-s
#   +----------------+ veth  +--------------------+ veth  +----------------+
#   | 10.253.6.1     |<=====>| 10.253.6.2         |       |                |
#   | etp-xfer       | 1500  |   forwarding       |<=====>| 10.253.7.1     |
#   |                |       | 10.253.7.2    1000 |  1500 | etp-xfer -l    |
#   +----------------+       +--------------------+       +----------------+
#
# (Only small segments, ACKs, go from the server to the router, so the
# server's larger MTU on that link does no harm.)

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp-xfer etpcat
etp_init

C=etpmtu-$$-c
R=etpmtu-$$-r
S=etpmtu-$$-s
T=$ETP_TMP
ktap_print_header
setup() {
	etp_ns_add "$C" "$R" "$S" &&
	etp_veth "$C" 10.253.6.1 "$R" 10.253.6.2 &&
	ip -n "$R" link add veth2 type veth peer name veth3 netns "$S" &&
	ip -n "$R" addr add 10.253.7.2/24 dev veth2 &&
	ip -n "$S" addr add 10.253.7.1/24 dev veth3 &&
	ip -n "$R" link set veth2 mtu 1000 up &&
	ip -n "$S" link set veth3 up &&
	ip netns exec "$R" sysctl -qw net.ipv4.ip_forward=1 &&
	ip -n "$C" route add 10.253.7.0/24 via 10.253.6.2 &&
	ip -n "$S" route add 10.253.6.0/24 via 10.253.7.2
}
if ! setup; then
	ktap_skip_all "cannot build the three-namespace topology"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 3

field() { awk -v k="$2" '$1 == k { print $2, $4 }' "$1"; }

t_transfer() {
	local before after spid rc

	before=$(etp_stat "$C" PmtuUpdates)
	ip netns exec "$S" etp-xfer -q -t 60 -n 0 -l 7601 >"$T/s.out" 2>"$T/s.err" &
	spid=$!
	etp_ns "$C" etp-xfer -q -t 60 -r 10 -n $((1 << 20)) 10.253.7.1 7601 >"$T/c.out" 2>"$T/c.err"
	rc=$?
	etp_wait_pid $spid 70 || rc=1
	cat "$T/c.err" "$T/s.err"
	after=$(etp_stat "$C" PmtuUpdates)
	echo "PmtuUpdates $before -> $after; sent $(field "$T/c.out" sent); received $(field "$T/s.out" received)"
	[ $rc -eq 0 ] || etp_fail_msg "transfer failed" || return 1
	[ "$(field "$T/c.out" sent)" = "$(field "$T/s.out" received)" ] ||
		etp_fail_msg "bytes differ" || return 1
	[ "$after" -gt "$before" ] || etp_fail_msg "PmtuUpdates did not move"
}

# etpcat -v prints the connection's ETP_INFO when it closes.
t_second_connection() {
	local mss

	ip netns exec "$S" etpcat -l 7602 </dev/null >/dev/null 2>&1 &
	etp_wait_until 5 _listening 7602 || etp_fail_msg "no listener" || return 1
	head -c 100 /dev/zero | etp_ns "$C" etpcat -v 10.253.7.1 7602 >/dev/null 2>"$T/v.err"
	mss=$(grep -o ' mss [0-9]*' "$T/v.err" | tail -1 | awk '{ print $2 }')
	echo "second connection: mss ${mss:-?}"
	[ -n "$mss" ] && [ "$mss" -le 960 ] || etp_fail_msg "mss ${mss:-?}, want <= 960"
}

_listening() { [ "$(etp_proc_state "$S" "$1")" = 0A ]; }

etp_result "pmtu_icmp_lowers_mss_transfer_byte_exact" t_transfer
etp_result "pmtu_remembered_by_next_connection" t_second_connection
etp_result "no_connections_left" etp_wait_until 10 _etp_ns_drained "$C"
