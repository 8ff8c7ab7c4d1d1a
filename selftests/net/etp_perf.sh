#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# etp-perf, the benchmark: its usage errors and exit statuses, and the JSON
# of its results for ETP and for TCP (-T) in bulk (-P 10, -R), rr and crr:
# the document parses, has its fields, and the values are sane (bytes > 0,
# intervals that add up to the total, latency percentiles in order, each
# end's CPU time, nothing failed). No speed is asserted: a benchmark is
# never a timed pass/fail test. The ETP counters of the server's namespace
# show that the ETP runs went over ETP and the -T runs did not.
#
#   netns etpperf-PID-c                        netns etpperf-PID-s
#   +---------------------------+    veth    +---------------------------+
#   | etp-perf -c 10.253.9.2    |<==========>| etp-perf -s (ETP and TCP) |
#   | 10.253.9.1                |            | etp-perf -s -T -1 (TCP)   |
#   +---------------------------+            | 10.253.9.2                |
#                                            +---------------------------+

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp-perf python3
etp_init

C=etpperf-$$-c
S=etpperf-$$-s
CA=10.253.9.1
SA=10.253.9.2
T=$ETP_TMP
PORT=5253	# the main server
PORT_TCP=5254	# a server of TCP tests only, for one test (-1)
SECS=1.5	# each measured run
ktap_print_header
if ! etp_ns_add "$C" "$S" || ! etp_veth "$C" $CA "$S" $SA; then
	ktap_skip_all "cannot build the veth topology"
	exit "$KSFT_SKIP"
fi

_listening() { [ "$(etp_proc_state "$S" "$1")" = 0A ]; }
_tcp_listening() { [ -n "$(ip netns exec "$S" ss -Htln "sport = :$1")" ]; }

t_help() {
	local out

	out=$(etp-perf -h) || etp_fail_msg "etp-perf -h exited $?" || return 1
	grep -q "^Usage: etp-perf" <<<"$out" || etp_fail_msg "no usage line" || return 1
	grep -q "Exit status" <<<"$out" || etp_fail_msg "exit statuses not documented" || return 1
	etp-perf --help >/dev/null || etp_fail_msg "--help exited $?"
}

# Each bad command line: exit 2 and one line "etp-perf: ..." on stderr.
# (Shell builtins only around etp-perf: under TCG every process counts.)
t_usage_errors() {
	local args rc
	local -a err

	for args in "" "-x" "--bogus" "-s -c $SA" "-c" "-c $SA -t 0" \
		    "-c $SA -t soon" "-c $SA -P 0" "-c $SA -P 10001" \
		    "-c $SA -m fast" "-c $SA -l 0" "-c $SA -l 17M" \
		    "-c $SA -i 0.01" "-c $SA -p 0" "-s -R" "-s -J" "-c $SA -1" \
		    "-c $SA -m rr -R" "-c $SA -4 -6" "-c $SA extra"; do
		# shellcheck disable=SC2086
		etp-perf $args </dev/null >"$T/out" 2>"$T/err"
		rc=$?
		mapfile -t err <"$T/err"
		echo "etp-perf $args: exit $rc: ${err[0]}"
		[ $rc -eq 2 ] || etp_fail_msg "etp-perf $args: exit $rc, want 2" || return 1
		[ ${#err[@]} -eq 1 ] && [[ ${err[0]} == "etp-perf: "* ]] ||
			etp_fail_msg "etp-perf $args: want one line 'etp-perf: ...' on stderr" || return 1
		[ ! -s "$T/out" ] || etp_fail_msg "etp-perf $args: wrote to stdout" || return 1
	done
}

# No server: the control connection is refused (exit 3).
t_refused() {
	local rc

	etp_ns "$C" etp-perf -c $SA -p 5999 -t 1 2>"$T/err"
	rc=$?
	cat "$T/err"
	[ $rc -eq 3 ] || etp_fail_msg "exit $rc, want 3" || return 1
	grep -qx "etp-perf: connect $SA:5999: Connection refused" "$T/err" ||
		etp_fail_msg "unexpected message"
}

# ETP over IPv6: exit 4, said plainly.
t_etp_ipv6() {
	local rc

	etp_ns "$C" etp-perf -6 -c ::1 -t 1 2>"$T/err"
	rc=$?
	cat "$T/err"
	[ $rc -eq 4 ] || etp_fail_msg "exit $rc, want 4" || return 1
	grep -q "ETP does not speak IPv6 yet" "$T/err" || etp_fail_msg "unexpected message"
}

# A server of TCP tests only (-T) refuses an ETP test (exit 1); with -1 it
# exits 0 after the one TCP test it then serves.
t_tcp_only_server_one_off() {
	local rc spid

	ip netns exec "$S" etp-perf -s -T -1 -p $PORT_TCP >"$T/srv1.out" 2>"$T/srv1.err" &
	spid=$!
	etp_wait_until 10 _tcp_listening $PORT_TCP ||
		{ kill $spid; etp_fail_msg "no TCP listener on $PORT_TCP"; return 1; }
	etp_ns "$C" etp-perf -c $SA -p $PORT_TCP -t 1 2>"$T/err"
	rc=$?
	cat "$T/err"
	[ $rc -eq 1 ] || { kill $spid; etp_fail_msg "ETP test: exit $rc, want 1"; return 1; }
	grep -q "refused the test: this server does not serve ETP" "$T/err" ||
		{ kill $spid; etp_fail_msg "unexpected message"; return 1; }
	etp_ns "$C" etp-perf -T -c $SA -p $PORT_TCP -t 0.5 -m crr >/dev/null ||
		{ kill $spid; etp_fail_msg "TCP test: exit $?"; return 1; }
	etp_wait_pid $spid 10
	rc=$?
	cat "$T/srv1.out" "$T/srv1.err"
	[ $rc -eq 0 ] || etp_fail_msg "server -1: exit $rc, want 0 after its test"
}

# While a test runs, a second client is refused (exit 1, "busy").
t_busy() {
	local rc pid

	ip netns exec "$C" etp-perf -T -c $SA -p $PORT -t $SECS >/dev/null 2>"$T/first.err" &
	pid=$!
	sleep 0.5
	etp_ns "$C" etp-perf -T -c $SA -p $PORT -t 1 2>"$T/err"
	rc=$?
	etp_wait_pid $pid 60 || etp_fail_msg "first client: exit $?" || return 1
	cat "$T/err"
	[ $rc -eq 1 ] || etp_fail_msg "second client: exit $rc, want 1" || return 1
	grep -q "refused the test: busy" "$T/err" || etp_fail_msg "unexpected message"
}

# check_all SPEC...: one python3 for every document (under TCG it starts
# slowly, /usr being 9p): each SPEC "NAME FILE PROTO MODE REVERSE
# CONNECTIONS SECS INTERVAL" gets $T/NAME.check, the fields of its document
# and their sanity (never a speed), last line PASS or FAIL.
check_all() {
	python3 - "$@" <<-'EOF'
	import json, sys

	def check(path, proto, mode, rev, n, secs, ivl):
	    rev, n, secs, ivl = rev == "1", int(n), float(secs), float(ivl)
	    bad = []

	    def want(cond, what):
	        if not cond:
	            bad.append(what)
	        return cond

	    def num(v):
	        return isinstance(v, (int, float)) and not isinstance(v, bool)

	    def test_time(t):
	        # the test ran its time, and ended (not a speed: a duration)
	        want(num(t) and secs * 0.9 <= t < secs + 60, "seconds %r for -t %g" % (t, secs))

	    d = json.load(open(path))
	    s, e, iv = d["start"], d["end"], d["intervals"]
	    want(s["protocol"] == proto and s["mode"] == mode and s["reverse"] == rev
	         and s["connections"] == n and s["duration"] == secs, "start: %r" % s)
	    cpu = e["cpu"]
	    for side in "client", "server":
	        c = cpu[side]
	        want(all(num(c[k]) and c[k] >= 0 for k in ("user", "system", "seconds"))
	             and abs(c["user"] + c["system"] - c["seconds"]) < 1e-3
	             and num(c["seconds_per_mib"]), "cpu.%s: %r" % (side, c))
	    if mode == "bulk":
	        st, rx, tx = e["streams"], e["receiver"], e["sender"]
	        want(len(st) == n and sorted(x["id"] for x in st) == list(range(n)),
	             "%d streams" % len(st))
	        for x in st:
	            want(x["bytes"] > 0 and 0 < x["seconds"] < secs + 60
	                 and x["bits_per_second"] > 0, "stream %r" % x)
	        want(rx["side"] == ("client" if rev else "server")
	             and tx["side"] == ("server" if rev else "client"), "sides")
	        want(rx["bytes"] == sum(x["bytes"] for x in st) == tx["bytes"],
	             "receiver %d, streams %d, sender %d bytes"
	             % (rx["bytes"], sum(x["bytes"] for x in st), tx["bytes"]))
	        test_time(rx["seconds"])
	        want(rx["bits_per_second"] > 0 and tx["bits_per_second"] > 0, "rates")
	        want(isinstance(tx.get("retransmits"), int) and tx["retransmits"] >= 0,
	             "sender retransmits %r" % tx.get("retransmits"))
	        want(num(e["fairness"]) and 0 < e["fairness"] <= 1, "fairness %r" % e["fairness"])
	        want(e["slowest_bits_per_second"] <= e["median_bits_per_second"]
	             <= e["fastest_bits_per_second"], "slowest <= median <= fastest")
	        want(abs(cpu["mib"] - rx["bytes"] / 1048576) < 1e-3, "cpu.mib %r" % cpu["mib"])
	        total, key = rx["bytes"], "bytes"
	    else:
	        key = "transactions" if mode == "rr" else "connections"
	        total = e[key]
	        want(total > 0, "%s %r" % (key, total))
	        test_time(e["seconds"])
	        want(e["per_second"] > 0, "per_second")
	        want(e["bytes_sent"] == e["bytes_received"] == total * s["length"],
	             "bytes %r/%r for %d of %d bytes" % (e["bytes_sent"], e["bytes_received"],
	                                                total, s["length"]))
	        lat = e["latency_us"]
	        want(0 < lat["min"] <= lat["median"] <= lat["p90"] <= lat["p99"] <= lat["max"]
	             and lat["min"] <= lat["mean"] <= lat["max"], "latency_us %r" % lat)
	        for side in "client", "server":
	            want(cpu[side]["us_per_transaction"] >= 0, "cpu.%s per transaction" % side)
	        if mode == "rr":
	            want(sum(x["transactions"] for x in e["streams"]) == total
	                 and len(e["streams"]) == n, "streams' transactions")
	        else:
	            want(e["failed"] == 0, "%r connections failed: %s"
	                 % (e["failed"], e.get("first_failure")))
	    if ivl:
	        want(len(iv) >= 1 and sum(x[key] for x in iv) == total,
	             "intervals add up to %r, not %r" % (sum(x[key] for x in iv), total))
	        want(all(abs(a["end"] - b["start"]) < 1e-6 for a, b in zip(iv, iv[1:]))
	             and (not iv or iv[0]["start"] == 0), "intervals not back to back")
	    else:
	        want(iv == [], "intervals without -i")
	    return ["FAIL: " + b for b in bad] or [
	        "%s %s: %s %r, %d intervals, cpu client %.3f s server %.3f s"
	        % (proto, mode, key, total, len(iv), cpu["client"]["seconds"],
	           cpu["server"]["seconds"])]

	for spec in sys.argv[1:]:
	    path = spec.split()[1]
	    try:
	        lines = check(*spec.split()[1:])
	    except (ValueError, KeyError, TypeError, IndexError) as e:
	        lines = ["FAIL: not JSON or a field missing: %r" % e]
	    ok = not lines[0].startswith("FAIL")
	    with open(path[:-len(".json")] + ".check", "w") as f:
	        f.write("\n".join(lines + ["PASS" if ok else "FAIL"]) + "\n")
	EOF
}

SPECS=()

# measure NAME PROTO MODE ARGS...: one run with -J, its output in
# $T/NAME.{json,err,rc}, the ETP counters of the server's namespace that
# moved in $T/NAME.moved, and its document queued for check_all.
measure() {
	local name=$1 proto=$2 mode=$3 rev=0 n=1 ivl=0 a
	# shellcheck disable=SC2034 # before, after: filled and read by name
	local -a args=() before after

	shift 3
	[ "$proto" = TCP ] && args+=(-T)
	for a in "$@"; do
		case $a in
		-R) rev=1 ;;
		-P*) n=${a#-P} ;;
		-i*) ivl=${a#-i} ;;
		esac
	done
	etp_counters "/proc/$SPID/net/etp_stat" before
	ip netns exec "$C" etp-perf "${args[@]}" -c $SA -p $PORT -t $SECS -m "$mode" -J "$@" \
		>"$T/$name.json" 2>"$T/$name.err"
	echo $? >"$T/$name.rc"
	etp_counters "/proc/$SPID/net/etp_stat" after
	etp_counters_moved before after InSegs >"$T/$name.moved"
	SPECS+=("$name $T/$name.json $proto $mode $rev $n $SECS $ivl")
}

# verdict NAME PROTO: the run's exit status, the checks of its document,
# and ETP segments received by the server for ETP runs only.
verdict() {
	local name=$1 rc moved

	rc=$(cat "$T/$name.rc")
	moved=$(cat "$T/$name.moved")
	cat "$T/$name.err"
	[ "$rc" -eq 0 ] || { head -c 2000 "$T/$name.json"; etp_fail_msg "exit $rc"; return 1; }
	[ -s "$T/$name.check" ] || etp_fail_msg "the document was not checked" || return 1
	sed '$d' "$T/$name.check"
	[ "$(tail -1 "$T/$name.check")" = PASS ] || return 1
	echo "ETP counters of the server's namespace: $moved"
	if [ "$2" = ETP ]; then
		[[ $moved == "InSegs +"* ]] || etp_fail_msg "the ETP run moved no ETP segment"
	else
		[ "$moved" = "(none moved)" ] || etp_fail_msg "the TCP run moved ETP segments"
	fi
}

t_server_alive() {
	kill -0 "$SPID" 2>/dev/null || etp_fail_msg "the server exited" || return 1
	sed 's/^/server: /' "$T/srv.out" "$T/srv.err"
	[ ! -s "$T/srv.err" ] || etp_fail_msg "the server reported errors" || return 1
	[ "$(grep -c " done in " "$T/srv.out")" -eq 9 ] ||
		etp_fail_msg "the server did not finish each of the 9 tests"
}

ktap_set_plan 15
etp_result "help" t_help
etp_result "usage_errors_exit_2_one_line" t_usage_errors
etp_result "refused_exit_3" t_refused
etp_result "etp_ipv6_exit_4" t_etp_ipv6
etp_result "tcp_only_server_refuses_etp_and_one_off_exits" t_tcp_only_server_one_off

etp_bg ip netns exec "$S" etp-perf -s -p $PORT >"$T/srv.out" 2>"$T/srv.err"
SPID=$!
if ! etp_wait_until 10 _listening $PORT; then
	etp_log "the server is not listening on ETP port $PORT"
	cat "$T/srv.err"
fi
etp_result "busy_server_refuses_a_second_client" t_busy

RUNS=(
	"tcp_bulk_p10_intervals_json TCP bulk -P10 -i0.5"
	"tcp_bulk_reverse_json TCP bulk -R"
	"tcp_rr_json TCP rr -P2"
	"tcp_crr_json TCP crr -P2"
	"etp_bulk_p10_intervals_json ETP bulk -P10 -i0.5"
	"etp_bulk_reverse_json ETP bulk -R"
	"etp_rr_json ETP rr -P2 -i0.5"
	"etp_crr_json ETP crr -P2"
)
for r in "${RUNS[@]}"; do
	# shellcheck disable=SC2086
	measure $r
done
check_all "${SPECS[@]}"
for r in "${RUNS[@]}"; do
	read -r name proto _ <<<"$r"
	etp_result "$name" verdict "$name" "$proto"
done
etp_result "server_finished_every_test" t_server_alive
ktap_finished
