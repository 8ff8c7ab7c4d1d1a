#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A walk through one ETP connection between two VMs, for people: run it
# as "demo.sh a" in VM a and "demo.sh b" in VM b (selftests/vm/etp-vm.sh
# demo does that). Both VMs record ETP's tracepoints with etptrace while
# b connects to a, sends a line and closes, and a answers and closes; b
# then sends its trace to a, and a prints first the connection's ladder
# diagram drawn from both traces (etptrace --merge: every segment with its
# numbers, the states each end entered, beside the segment that made it),
# then each VM shows what etpstat saw at each stage and what etpcat -v
# reported.
#
#   +--------------------------+                 +--------------------------+
#   | VM a: server             |     eth0        | VM b: client             |
#   | etpcat -l 10.253.0.1:7777|<===============>| etpcat -p 47777          |
#   | answers, then closes     |       ETP       | sends a line, closes     |
#   | etptrace -s trace.a      |                 | first (gets TIME_WAIT)   |
#   | etptrace --merge a b     |<--- TCP --------| etptrace -s trace.b      |
#   +--------------------------+                 +--------------------------+
#
# It ends with TAP lines, so it can run in the two-VM test list as well.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat etpstat etptrace etp-xfer
etp_2vm_init "${1:-}"
etp_init
T=$ETP_TMP
SP=7777
CP=47777
OK=yes
# What each VM saw, printed after the ladder.
DETAILS=$T/details

banner() { printf '\n===== [%s] %s =====\n' "$ROLE" "$*"; }

fail() { echo "demo: $*"; OK=; }

# stage TEXT: what etpstat shows of the connection now, for later.
stage() {
	{
		printf '\n--- %s\n' "$*"
		etpstat -i -p $SP
	} >>"$DETAILS"
}

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

banner "ETP demo, VM $ROLE ($LOCAL), peer $PEER"
etp_sysctl "" msl_ms 5000
etptrace -p $SP -s "$T/trace.$ROLE" >/dev/null 2>"$T/etptrace.err" &
TRACE=$!
ETP_PIDS+=($!)
etp_wait_until 30 grep -q "tracing ETP" "$T/etptrace.err" ||
	fail "etptrace did not start: $(cat "$T/etptrace.err")"
echo "recording the connection; its ladder diagram follows once it is closed"

if [ "$ROLE" = a ]; then
	mkfifo "$T/in"
	exec 5<>"$T/in"		# etpcat's stdin: closing fd 5 sends our FIN
	etp_bg etpcat -v -w 120 -l -s "$LOCAL" $SP <"$T/in" >"$T/received" 2>"$T/events"
	PID=$!
	wait_state $SP 0 0A 5
	stage "listening on $LOCAL:$SP"
	etp_2vm_barrier 25401 120 || fail "VM b did not show up"
	# (b waits a second before it sends and closes; "08" if we missed it)
	wait_state $SP $CP "01 08" 60
	stage "connection from VM b established"
	wait_state $SP $CP 08 60
	stage "VM b closed its side (FIN received): CLOSE_WAIT"
	echo "thanks from VM a: got $(stat -c %s "$T/received") bytes" >&5
	exec 5>&-		# our FIN: LAST_ACK until b acknowledges it
	etp_wait_pid "$PID" 30 || fail "etpcat exited with status $?"
	wait_state $SP $CP none 10
	stage "after our FIN was acknowledged (the connection is gone)"
	grep -q "hello from VM b" "$T/received" || fail "no line from VM b"
else
	etp_2vm_barrier 25401 120 || fail "VM a did not show up"
	mkfifo "$T/in"
	exec 6<>"$T/in"		# etpcat's stdin: closing fd 6 sends our FIN
	etp_bg etpcat -v -w 30 -p $CP "$PEER" $SP <"$T/in" >"$T/answer" 2>"$T/events"
	PID=$!
	wait_state $CP $SP 01 30
	stage "connected to VM a"
	sleep 1			# time for VM a to look at the ESTABLISHED connection
	echo "hello from VM b" >&6
	exec 6>&-		# our FIN: FIN_WAIT1, then FIN_WAIT2 once a ACKs it
	wait_state $CP $SP "05 06" 30
	stage "our FIN acknowledged: FIN_WAIT2, waiting for VM a to close"
	etp_wait_pid "$PID" 30 || fail "etpcat exited with status $?"
	wait_state $CP $SP 06 10
	stage "VM a closed too: TIME_WAIT (2 * msl_ms = 10 s)"
	grep -q "thanks from VM a: got 16 bytes" "$T/answer" || fail "no answer from VM a"
fi

# Both sides are done (the last ACK is traced on both by now): stop
# recording, b sends its trace to a over TCP.
etp_2vm_barrier 25402 60 || fail "peer lost before the end"
kill -TERM "$TRACE"
etp_wait_pid "$TRACE" 30 || fail "etptrace did not stop"
if [ "$ROLE" = a ]; then
	etp-xfer -q -P tcp -t 60 -s "$LOCAL" -l 25403 -H -o "$T/trace.b" >/dev/null ||
		fail "no trace from VM b"
	if [ -s "$T/trace.b" ]; then
		banner "the connection, traced on both VMs (etptrace -r --merge trace.a trace.b)"
		(cd "$T" && etptrace -r --merge trace.a trace.b) || fail "etptrace --merge failed"
	else
		banner "the connection, traced on VM a (etptrace -r -f trace.a)"
		etptrace -r -f "$T/trace.a" || fail "etptrace failed"
	fi
else
	etp-xfer -q -P tcp -t 60 -r 30 -s "$LOCAL" -i "$T/trace.b" -C "$PEER" 25403 >/dev/null ||
		fail "could not send our trace to VM a"
fi

# a shows what it saw first, then b.
show_details() {
	banner "etpstat -i -p $SP at each stage"
	cat "$DETAILS"
	banner "etpcat -v"
	cat "$T/events"
	banner "etpstat -c (the counters that are not zero)"
	etpstat -c
}
etp_2vm_barrier 25404 60
[ "$ROLE" = a ] && show_details
etp_2vm_barrier 25405 60
[ "$ROLE" = b ] && show_details

echo
ktap_print_header
ktap_set_plan 1
if [ -n "$OK" ]; then
	ktap_test_pass "demo_connection_role_$ROLE"
else
	ktap_test_fail "demo_connection_role_$ROLE"
fi
ktap_finished
