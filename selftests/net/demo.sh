#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A walk through one ETP connection between two VMs, for people: run it
# as "demo.sh a" in VM a and "demo.sh b" in VM b (selftests/vm/etp-vm.sh
# demo does that). It prints, on each side, /proc/net/etp at each stage,
# what etpcat -v reports (with the initial sequence numbers), and the
# sock:inet_sock_set_state tracepoint lines of the connection, so the
# states SYN_SENT, ESTABLISHED, FIN_WAIT1, ... show up with real ports,
# addresses and sequence numbers.
#
#   +--------------------------+                 +--------------------------+
#   | VM a: server             |     eth0        | VM b: client             |
#   | etpcat -l 10.253.0.1:7777|<===============>| etpcat -p 47777          |
#   | receives 64 KiB, answers |       ETP       | sends 64 KiB, closes     |
#   | then closes              |                 | first (gets TIME_WAIT)   |
#   +--------------------------+                 +--------------------------+
#
#   b                         a
#   SYN_SENT   ---- SYN --->  (listener)
#   ESTABLISHED <- SYN,ACK -  SYN_RECV
#              ---- ACK --->  ESTABLISHED
#              --- data --->
#   FIN_WAIT1  ---- FIN --->  CLOSE_WAIT
#   FIN_WAIT2  <--- ACK ----
#              <-- answer --
#   TIME_WAIT  <--- FIN ----  LAST_ACK
#              ---- ACK --->  CLOSED
#
# It ends with TAP lines, so it can run in the two-VM test list as well.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat sha256sum
etp_2vm_init "${1:-}"
etp_init
T=$ETP_TMP
SP=7777
CP=47777
OK=yes

banner() { printf '\n===== [%s] %s =====\n' "$ROLE" "$*"; }

show_proc() {
	local sl l r st rest

	banner "/proc/net/etp: $*"
	cat /proc/net/etp
	while read -r sl l r st rest; do
		[ "$sl" = sl ] && continue
		printf '  local port %d, remote port %d: %s %s\n' "$((16#${l#*:}))" \
			"$((16#${r#*:}))" "$st" "$(etp_state_name "$st")"
	done </proc/net/etp
}

fail() { echo "demo: $*"; OK=; }

# _state LPORT RPORT STATES: the /proc/net/etp line is in one of STATES.
_state() {
	local st

	st=$(etp_proc_state "" "$1" "$2")
	[[ " $3 " == *" ${st:-none} "* ]]
}

# wait_state LPORT RPORT "STATES" SECS
wait_state() {
	etp_wait_until "$4" _state "$1" "$2" "$3" ||
		fail "port $1: not in $3 within $4 s"
}

TRACING=yes
etp_trace_start || TRACING=
banner "ETP demo, VM $ROLE ($LOCAL), peer $PEER"
etp_sysctl "" msl_ms 5000

if [ "$ROLE" = a ]; then
	mkfifo "$T/in"
	exec 5<>"$T/in"		# etpcat's stdin: closing fd 5 sends our FIN
	etp_bg etpcat -v -w 120 -l -s "$LOCAL" $SP <"$T/in" >"$T/received" 2>"$T/events"
	PID=$!
	wait_state $SP 0 0A 5
	show_proc "listening on $LOCAL:$SP"
	etp_2vm_barrier 25401 120 || fail "VM b did not show up"

	# (b waits a second before it sends and closes; "08" if we missed it)
	wait_state $SP $CP "01 08" 60
	show_proc "connection from VM b established"
	# b sends its data and closes its side: a is in CLOSE_WAIT.
	wait_state $SP $CP 08 60
	show_proc "VM b closed its side (FIN received): CLOSE_WAIT"
	banner "received $(stat -c %s "$T/received") bytes, sha256 $(sha256sum <"$T/received" | cut -d' ' -f1)"
	echo "thanks from VM a: got $(stat -c %s "$T/received") bytes" >&5
	exec 5>&-		# our FIN: LAST_ACK until b acknowledges it
	etp_wait_pid "$PID" 30 || fail "etpcat exited with status $?"
	wait_state $SP $CP none 10
	show_proc "after our FIN was acknowledged (the connection is gone)"
	banner "etpcat -v on VM a"
	cat "$T/events"
	[ "$(stat -c %s "$T/received")" -eq 65536 ] || fail "received $(stat -c %s "$T/received") bytes, want 65536"
else
	head -c 65536 /dev/urandom >"$T/data"
	banner "sending 65536 bytes, sha256 $(sha256sum <"$T/data" | cut -d' ' -f1)"
	etp_2vm_barrier 25401 120 || fail "VM a did not show up"
	mkfifo "$T/in"
	exec 6<>"$T/in"		# etpcat's stdin: closing fd 6 sends our FIN
	etp_bg etpcat -v -w 30 -p $CP "$PEER" $SP <"$T/in" >"$T/answer" 2>"$T/events"
	PID=$!
	wait_state $CP $SP 01 30
	show_proc "connected to VM a"
	sleep 1			# time for VM a to look at the ESTABLISHED connection
	cat "$T/data" >&6
	exec 6>&-		# our FIN: FIN_WAIT1, then FIN_WAIT2 once a ACKs it
	wait_state $CP $SP "05 06" 30
	show_proc "our FIN acknowledged: FIN_WAIT2, waiting for VM a to close"
	etp_wait_pid "$PID" 30 || fail "etpcat exited with status $?"
	wait_state $CP $SP 06 10
	show_proc "VM a closed too: TIME_WAIT (2 * msl_ms = 10 s)"
	banner "answer from VM a"
	cat "$T/answer"
	banner "etpcat -v on VM b"
	cat "$T/events"
	grep -q "thanks from VM a: got 65536 bytes" "$T/answer" || fail "no answer from VM a"
fi

if [ -n "$TRACING" ]; then
	banner "state changes of port $([ "$ROLE" = a ] && echo $SP || echo $CP) (sock:inet_sock_set_state, protocol 253)"
	etp_trace_raw | grep -E "sport=($SP|$CP) " | sed 's/^ *//'
	banner "the same, in short"
	etp_trace_lines $SP $CP | awk '{ printf "  %5s -> %-5s %s -> %s\n", $1, $2, $3, $4 }'
fi
banner "/proc/net/etp_stat"
cat /proc/net/etp_stat

echo
ktap_print_header
ktap_set_plan 1
if [ -n "$OK" ]; then
	ktap_test_pass "demo_connection_role_$ROLE"
else
	ktap_test_fail "demo_connection_role_$ROLE"
fi
ktap_finished
