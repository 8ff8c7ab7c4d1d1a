#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Connection timers that end a closing connection: TIME_WAIT lasts
# 2 * net.etp.msl_ms (RFC 9293, 3.6.1) and holds the local port meanwhile;
# an orphaned FIN_WAIT2 lasts net.etp.fin_timeout_ms.
#
#   netns etptm-PID (loopback only)
#   +------------------------------------------------------------+
#   | etpcat -p 401xx (client)  <==ETP==>  etpcat -l 71xx (server) |
#   | watcher: polls /proc/net/etp every 10 ms for one line        |
#   +------------------------------------------------------------+
#
# The client closes first (stdin /dev/null); the server closes when its
# stdin fifo is closed. The watcher records when the client's line enters
# a state and when it disappears.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat
etp_init

NS=etptm-$$
T=$ETP_TMP
ktap_print_header
etp_ns_add "$NS" || { ktap_skip_all "cannot create a network namespace"; exit "$KSFT_SKIP"; }
ktap_set_plan 6

# watch LPORT RPORT STATE SECS: in the namespace, poll /proc/net/etp with
# shell builtins (no fork per poll) and print "APPEAR GONE", the times
# (EPOCHREALTIME in microseconds) when the line was first seen in STATE and
# when it was gone again (empty if that did not happen). Writes
# $T/ready.LPORT after its first look. Runs until gone or SECS.
watch() {
	ip netns exec "$NS" bash -c '
		lp=$(printf "%04X" "$1"); rp=$(printf "%04X" "$2"); st=$3; limit=$(($4 * 1000000))
		mkfifo "$5" && exec 3<>"$5"
		start=${EPOCHREALTIME/./}; appear=; gone=
		while :; do
			now=${EPOCHREALTIME/./}; found=
			while read -r _ l r s _; do
				[[ $l == *:$lp && $r == *:$rp && $s == "$st" ]] && found=1
			done </proc/net/etp
			[ -e "$6" ] || echo ready >"$6"
			[ -n "$found" ] && [ -z "$appear" ] && appear=$now
			if [ -z "$found" ] && [ -n "$appear" ]; then gone=$now; break; fi
			[ $((now - start)) -gt $limit ] && break
			read -r -t 0.01 -u 3
		done
		echo "$appear $gone"
	' watch "$@" "$T/tick.$1" "$T/ready.$1"
}

_listening() { [ "$(etp_proc_state "$NS" "$1")" = 0A ]; }

# server PORT: a listener whose stdin is the fifo $T/s.PORT (held by fd 5).
server() {
	mkfifo "$T/s.$1"
	exec 5<>"$T/s.$1"	# first, or opening the reading end blocks
	etp_bg ip netns exec "$NS" etpcat -w 20 -l "$1" <"$T/s.$1" >/dev/null 2>"$T/s.$1.err"
	SPID=$!
	etp_wait_until 5 _listening "$1"
}

# time_wait_lasts MSL CPORT SPORT: the client's TIME_WAIT line lives 2*MSL.
time_wait_lasts() {
	local msl=$1 cp=$2 sp=$3 wpid appear gone life closed

	etp_sysctl "$NS" msl_ms "$msl"
	server "$sp" || return 1
	# Client: sends nothing, half-closes at once, waits for the server.
	etp_bg ip netns exec "$NS" etpcat -w 5 -p "$cp" 127.0.0.1 "$sp" </dev/null >/dev/null 2>&1
	etp_wait_until 5 _state_is "$cp" "$sp" 05 || etp_fail_msg "client never in FIN_WAIT2" || return 1
	watch "$cp" "$sp" 06 10 >"$T/watch" 2>&1 5>&- &
	wpid=$!
	etp_wait_file 5 "$T/ready.$cp" || etp_fail_msg "watcher did not start" || return 1
	closed=${EPOCHREALTIME/./}
	exec 5>&-			# the server's FIN: client -> TIME_WAIT
	wait $wpid
	read -r appear gone <"$T/watch"
	[ -n "$appear" ] || etp_fail_msg "no TIME_WAIT line for port $cp" || return 1
	[ -n "$gone" ] || etp_fail_msg "TIME_WAIT line still there after 10 s" || return 1
	# TIME_WAIT cannot begin before the server's FIN leaves, so the time
	# from closing the server's stdin until the line is gone is at least
	# 2*MSL; polling and the FIN exchange only add to it.
	life=$(((gone - closed) / 1000))
	echo "msl_ms $msl: TIME_WAIT line gone $life ms after the server closed (first seen after $(((appear - closed) / 1000)) ms); 2*msl = $((2 * msl)) ms"
	[ $life -ge $((2 * msl - 20)) ] && [ $life -le $((2 * msl + 2000)) ] ||
		etp_fail_msg "TIME_WAIT ended $life ms after the close, want 2*msl = $((2 * msl)) ms (+ up to 2 s)"
}

_state_is() { [ "$(etp_proc_state "$NS" "$1" "$2")" = "$3" ]; }
_empty() { [ -z "$(ip netns exec "$NS" awk 'NR > 1' /proc/net/etp)" ]; }

t_port_held() {
	local rc

	etp_sysctl "$NS" msl_ms 1500
	server 7103 || return 1
	etp_bg ip netns exec "$NS" etpcat -w 5 -p 40103 127.0.0.1 7103 </dev/null >/dev/null 2>&1
	etp_wait_until 5 _state_is 40103 7103 05 || etp_fail_msg "client never in FIN_WAIT2" || return 1
	exec 5>&-
	etp_wait_until 5 _state_is 40103 7103 06 || etp_fail_msg "no TIME_WAIT" || return 1
	# While TIME_WAIT lasts, port 40103 cannot be bound without SO_REUSEADDR.
	etp_ns "$NS" etpcat -p 40103 127.0.0.1 7103 </dev/null 2>"$T/err"
	rc=$?
	cat "$T/err"
	[ $rc -eq 2 ] && grep -q "bind 0.0.0.0:40103: Address already in use" "$T/err" ||
		etp_fail_msg "bind during TIME_WAIT: exit $rc" || return 1
	# Afterwards it can: the connect then fails only because nobody listens.
	etp_wait_until 6 _state_is 40103 7103 "" || etp_fail_msg "TIME_WAIT did not end" || return 1
	etp_ns "$NS" etpcat -p 40103 127.0.0.1 7103 </dev/null 2>"$T/err"
	rc=$?
	cat "$T/err"
	[ $rc -eq 2 ] && grep -q "connect 127.0.0.1:7103: Connection refused" "$T/err" ||
		etp_fail_msg "after TIME_WAIT: exit $rc"
}

t_counter() {
	local n

	n=$(etp_stat "$NS" TimeWaitCreated)
	echo "TimeWaitCreated $n"
	[ "$n" -ge 3 ] || etp_fail_msg "TimeWaitCreated is $n after three TIME_WAITs"
}

# An orphaned FIN_WAIT2 (its process is gone) ends after fin_timeout_ms;
# one whose process still holds the socket does not.
t_fin_wait2() {
	local cpid t0 t1 life

	etp_sysctl "$NS" fin_timeout_ms 500
	server 7104 || return 1
	ip netns exec "$NS" etpcat -w 5 -p 40104 127.0.0.1 7104 </dev/null >/dev/null 2>&1 5>&- &
	cpid=$!
	etp_wait_until 5 _state_is 40104 7104 05 || etp_fail_msg "client never in FIN_WAIT2" || return 1
	sleep 1.2
	[ "$(etp_proc_state "$NS" 40104 7104)" = 05 ] ||
		etp_fail_msg "FIN_WAIT2 of a live socket ended after fin_timeout" || return 1
	echo "FIN_WAIT2 of a live socket still there after 1.2 s (fin_timeout_ms 500)"
	t0=${EPOCHREALTIME/./}
	kill $cpid
	wait $cpid
	etp_wait_until 5 _state_is 40104 7104 "" || etp_fail_msg "orphaned FIN_WAIT2 still there after 5 s" || return 1
	t1=${EPOCHREALTIME/./}
	life=$(((t1 - t0) / 1000))
	echo "orphaned FIN_WAIT2 gone $life ms after its process died"
	[ $life -ge 300 ] && [ $life -le 2500 ] ||
		etp_fail_msg "gone after $life ms, want about fin_timeout_ms (500)"
	exec 5>&-
}

etp_result "time_wait_lasts_2msl_with_msl_250ms" time_wait_lasts 250 40101 7101
etp_result "time_wait_lasts_2msl_with_msl_1000ms" time_wait_lasts 1000 40102 7102
etp_result "time_wait_holds_local_port_until_it_ends" t_port_held
etp_result "time_wait_created_counter" t_counter
etp_result "fin_wait2_kept_while_owned_ends_fin_timeout_after_orphaned" t_fin_wait2
etp_result "no_connections_left" etp_wait_until 10 _empty
ktap_finished
