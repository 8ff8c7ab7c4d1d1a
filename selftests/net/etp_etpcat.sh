#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etpcat, netcat for ETP: options, exit statuses, transfers through its
# stdin/stdout, half-close, verbose events.
#
#   netns etpcat-PID (loopback only)
#   +----------------------------------------------------+
#   | etpcat -l 127.0.0.1:PORT  <====ETP====>  etpcat    |
#   |   stdin/stdout: files, fifos        stdin/stdout   |
#   | nft: drops ETP to port 7999 (unanswered SYNs)      |
#   +----------------------------------------------------+
#
# Exit statuses checked: 0 clean close, 1 usage, 2 connect/listen failed,
# 3 transfer error (reset).

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat etp-xfer sha256sum
etp_init

NS=etpcat-$$
etp_ns_add "$NS" || { ktap_print_header; ktap_skip_all "cannot create a network namespace"; exit "$KSFT_SKIP"; }
T=$ETP_TMP
head -c $((1024 * 1024 + 17)) /dev/urandom >"$T/in1"
head -c $((512 * 1024 + 3)) /dev/urandom >"$T/in2"

sha() { sha256sum "$1" | cut -d' ' -f1; }

# cat_pair PORT SRV_IN CLI_IN: run a listener and a client, each with the
# given stdin; outputs in $T/srv.out, $T/cli.out, stderr in *.err, exit
# statuses in SRV_RC / CLI_RC.
cat_pair() {
	local port=$1 sin=$2 cin=$3 spid

	ip netns exec "$NS" etpcat -v -w 10 -l "$port" <"$sin" >"$T/srv.out" 2>"$T/srv.err" &
	spid=$!
	etp_wait_until 5 _listening "$port" || { kill $spid; etp_fail_msg "no listener on $port"; return 1; }
	timeout 30 ip netns exec "$NS" etpcat -v -w 10 127.0.0.1 "$port" <"$cin" \
		>"$T/cli.out" 2>"$T/cli.err"
	CLI_RC=$?
	etp_wait_pid $spid 30
	SRV_RC=$?
	sed 's/^/srv: /' "$T/srv.err"
	sed 's/^/cli: /' "$T/cli.err"
	return 0
}

_listening() { [ "$(etp_proc_state "$NS" "$1")" = 0A ]; }

t_help() {
	local out

	out=$(etpcat -h) || etp_fail_msg "etpcat -h exited $?" || return 1
	grep -q "^Usage: etpcat" <<<"$out" || etp_fail_msg "no usage line" || return 1
	grep -q "Exit status" <<<"$out" || etp_fail_msg "exit statuses not documented"
}

t_usage_errors() {
	local args rc

	for args in "-x" "" "127.0.0.1" "-l" "-l 1 2" "127.0.0.1 99999" \
		    "127.0.0.1 http" "-w 0 127.0.0.1 1" "-w" "-s nowhere -l 1"; do
		# shellcheck disable=SC2086
		etpcat $args </dev/null >/dev/null 2>"$T/err"
		rc=$?
		[ $rc -eq 1 ] || etp_fail_msg "etpcat $args: exit $rc, want 1" || return 1
		grep -q "^etpcat: " "$T/err" || etp_fail_msg "etpcat $args: no 'etpcat: ' message" || return 1
	done
}

t_refused() {
	local rc

	etp_ns "$NS" etpcat 127.0.0.1 7001 </dev/null 2>"$T/err"
	rc=$?
	cat "$T/err"
	[ $rc -eq 2 ] || etp_fail_msg "exit $rc, want 2" || return 1
	grep -qx "etpcat: connect 127.0.0.1:7001: Connection refused" "$T/err" ||
		etp_fail_msg "unexpected message"
}

t_listen_busy() {
	local rc pid

	ip netns exec "$NS" etpcat -l 7002 </dev/null >/dev/null 2>&1 &
	pid=$!
	etp_wait_until 5 _listening 7002 || { kill $pid; etp_fail_msg "first listener missing"; return 1; }
	etp_ns "$NS" etpcat -l 7002 </dev/null 2>"$T/err"
	rc=$?
	kill $pid; wait $pid 2>/dev/null
	cat "$T/err"
	[ $rc -eq 2 ] || etp_fail_msg "exit $rc, want 2" || return 1
	grep -q "Address already in use" "$T/err" || etp_fail_msg "unexpected message"
}

t_client_to_server() {
	cat_pair 7003 /dev/null "$T/in1" || return 1
	[ "$CLI_RC" -eq 0 ] && [ "$SRV_RC" -eq 0 ] ||
		etp_fail_msg "exit statuses client $CLI_RC server $SRV_RC" || return 1
	[ "$(sha "$T/srv.out")" = "$(sha "$T/in1")" ] ||
		etp_fail_msg "server got $(stat -c %s "$T/srv.out") bytes, sha256 differs" || return 1
	[ ! -s "$T/cli.out" ] || etp_fail_msg "client printed data it was never sent"
}

t_server_to_client() {
	cat_pair 7004 "$T/in1" /dev/null || return 1
	[ "$CLI_RC" -eq 0 ] && [ "$SRV_RC" -eq 0 ] ||
		etp_fail_msg "exit statuses client $CLI_RC server $SRV_RC" || return 1
	[ "$(sha "$T/cli.out")" = "$(sha "$T/in1")" ] ||
		etp_fail_msg "client got $(stat -c %s "$T/cli.out") bytes, sha256 differs"
}

t_both_ways() {
	cat_pair 7005 "$T/in2" "$T/in1" || return 1
	[ "$CLI_RC" -eq 0 ] && [ "$SRV_RC" -eq 0 ] ||
		etp_fail_msg "exit statuses client $CLI_RC server $SRV_RC" || return 1
	[ "$(sha "$T/srv.out")" = "$(sha "$T/in1")" ] || etp_fail_msg "client->server differs" || return 1
	[ "$(sha "$T/cli.out")" = "$(sha "$T/in2")" ] || etp_fail_msg "server->client differs"
}

# The client sends a request and half-closes; only then does the server
# answer, over the half-closed connection.
t_half_close() {
	local spid cpid

	mkfifo "$T/srv.fifo"
	exec 7<>"$T/srv.fifo"
	ip netns exec "$NS" etpcat -v -w 10 -l 7006 <"$T/srv.fifo" >"$T/srv.out" 2>"$T/srv.err" 7>&- &
	spid=$!
	etp_wait_until 5 _listening 7006 || { exec 7>&-; etp_fail_msg "no listener"; return 1; }
	echo request | ip netns exec "$NS" etpcat -v -w 10 127.0.0.1 7006 >"$T/cli.out" 2>"$T/cli.err" 7>&- &
	cpid=$!
	# The server sees the request and the client's FIN ...
	etp_wait_until 10 grep -q "peer closed" "$T/srv.err" ||
		{ exec 7>&-; etp_fail_msg "server never saw the client's FIN"; return 1; }
	grep -qx request "$T/srv.out" || { exec 7>&-; etp_fail_msg "request lost"; return 1; }
	# ... and the client is still waiting: answer now.
	kill -0 $cpid 2>/dev/null || { exec 7>&-; etp_fail_msg "client exited before the answer"; return 1; }
	echo response >&7
	exec 7>&-
	etp_wait_pid $cpid 10 || etp_fail_msg "client exit status $?" || return 1
	etp_wait_pid $spid 10 || etp_fail_msg "server exit status $?" || return 1
	sed 's/^/srv: /' "$T/srv.err"; sed 's/^/cli: /' "$T/cli.err"
	grep -qx response "$T/cli.out" || etp_fail_msg "client did not get the response"
}

t_verbose() {
	local e

	cat_pair 7007 /dev/null /dev/null || return 1
	# (the client's FIN may arrive before accept(): any state)
	for e in "listening on 0.0.0.0:7007" "connection from 127.0.0.1:" \
		 "accepted: state [A-Z_0-9]* iss [0-9]* irs [0-9]*" \
		 "end of input after 0 bytes: sent FIN (half-closed)" \
		 "peer closed its side (FIN received)"; do
		grep -q "^etpcat: $e" "$T/srv.err" || etp_fail_msg "server -v lacks '$e'" || return 1
	done
	for e in "connected to 127.0.0.1:7007 from 127.0.0.1:[0-9]*" \
		 "connected: state [A-Z_0-9]* iss [0-9]* irs [0-9]*" \
		 "end of input after 0 bytes: sent FIN (half-closed)" \
		 "peer closed its side (FIN received)"; do
		grep -q "^etpcat: $e" "$T/cli.err" || etp_fail_msg "client -v lacks '$e'" || return 1
	done
	# The client's ISS is the server's IRS and the other way round.
	local ciss cirs siss sirs
	read -r ciss cirs < <(sed -n 's/.*connected: .* iss \([0-9]*\) irs \([0-9]*\).*/\1 \2/p' "$T/cli.err")
	read -r siss sirs < <(sed -n 's/.*accepted: .* iss \([0-9]*\) irs \([0-9]*\).*/\1 \2/p' "$T/srv.err")
	[ "$ciss" = "$sirs" ] && [ "$siss" = "$cirs" ] ||
		etp_fail_msg "iss/irs do not match: client $ciss/$cirs server $siss/$sirs"
}

t_connect_timeout() {
	local rc start secs

	etp_nft_drop "$NS" input "@th,16,16 7999" || return "$KSFT_SKIP"
	start=$(date +%s%N)
	etp_ns "$NS" etpcat -w 1 127.0.0.1 7999 </dev/null 2>"$T/err"
	rc=$?
	secs=$((($(date +%s%N) - start) / 1000000))
	etp_nft_flush "$NS"
	cat "$T/err"
	echo "gave up after $secs ms"
	[ $rc -eq 2 ] || etp_fail_msg "exit $rc, want 2" || return 1
	grep -q "Connection timed out" "$T/err" || etp_fail_msg "unexpected message" || return 1
	[ $secs -ge 900 ] && [ $secs -lt 5000 ] || etp_fail_msg "-w 1 took $secs ms"
}

t_accept_timeout() {
	local rc start secs

	start=$(date +%s%N)
	etp_ns "$NS" etpcat -w 0.5 -l 7008 </dev/null 2>"$T/err"
	rc=$?
	secs=$((($(date +%s%N) - start) / 1000000))
	cat "$T/err"
	[ $rc -eq 2 ] || etp_fail_msg "exit $rc, want 2" || return 1
	[ $secs -ge 400 ] && [ $secs -lt 5000 ] || etp_fail_msg "-w 0.5 took $secs ms"
}

# The peer accepts, never reads, and closes with our data unread: it
# resets the connection and etpcat reports a transfer error.
t_reset_exit_3() {
	local spid rc

	ip netns exec "$NS" etp_hold -t 20 sink:7009 >/dev/null 2>&1 &
	spid=$!
	etp_wait_until 5 _listening 7009 || { kill $spid; etp_fail_msg "no listener"; return 1; }
	( sleep 0.5; kill $spid ) &
	timeout 20 ip netns exec "$NS" etpcat 127.0.0.1 7009 </dev/zero >/dev/null 2>"$T/err"
	rc=$?
	wait
	cat "$T/err"
	[ $rc -eq 3 ] || etp_fail_msg "exit $rc, want 3" || return 1
	grep -Eq "^etpcat: (send|recv|connection).*(reset|Broken pipe)" "$T/err" ||
		etp_fail_msg "unexpected message"
}

ktap_print_header
ktap_set_plan 12
etp_result "help_prints_usage_and_exits_0" t_help
etp_result "usage_errors_exit_1_with_message" t_usage_errors
etp_result "connection_refused_exits_2_with_message" t_refused
etp_result "listen_on_busy_port_exits_2" t_listen_busy
etp_result "file_client_to_server_byte_exact" t_client_to_server
etp_result "file_server_to_client_byte_exact" t_server_to_client
etp_result "files_both_ways_at_once_byte_exact" t_both_ways
etp_result "half_close_server_answers_after_client_fin" t_half_close
etp_result "verbose_reports_connection_events_and_iss_irs" t_verbose
etp_result "connect_timeout_w_exits_2" t_connect_timeout
etp_result "accept_timeout_w_exits_2" t_accept_timeout
etp_result "peer_reset_exits_3" t_reset_exit_3
ktap_finished
