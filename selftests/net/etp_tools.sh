#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The tools: etptrace (ladder diagrams from the etp tracepoints) and
# etpstat (ss for ETP), on connections whose segments are known.
#
#   netns etptools-PID (lo, rto_min_ms 1000: no spurious retransmission)
#   +-------------------------------------------------------------------+
#   | etp_conn.py: client 127.0.0.1:40301 <==ETP==> server :7301,        |
#   |   both ends in one process, stopping at each stage for etpstat    |
#   | etptrace -r -T -p 7301 -c 11 (live, own tracefs instance)         |
#   | etp_hold sink:7399 (a second listener, for etpstat's filters)     |
#   | etpcat 127.0.0.1 7302, first SYN dropped by nft (retransmission)  |
#   +-------------------------------------------------------------------+
#   netns etptools-PID-a 10.253.7.1 <== veth ==> netns etptools-PID-b 10.253.7.2
#     etpcat connection held open: etpstat -i shows mss 1460
#
# The scripted connection (etp_conn.py) has the same eleven segments every
# time: handshake, "hello" acknowledged by the server's delayed ACK, "bye"
# acknowledged by the client's, FIN, ACK, FIN, ACK. Its ladder, with
# relative numbers and without times, must equal golden/etp_tools_ladder.txt;
# etpstat's view of it at each stage must agree with what the sockets say
# (ETP_INFO, printed by etp_conn.py) and with /proc/net/etp_stat.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpstat etptrace etpcat etp_hold python3 nft
etp_init

NS=etptools-$$
T=$ETP_TMP
GOLDEN=$ETP_LIB_DIR/golden/etp_tools_ladder.txt
CONN=$ETP_LIB_DIR/etp_conn.py
ktap_print_header

if ! etp_ns_add "$NS"; then
	ktap_skip_all "cannot create a network namespace"
	exit "$KSFT_SKIP"
fi
if [ ! -d /sys/kernel/tracing/events/etp ] && [ ! -d /sys/kernel/debug/tracing/events/etp ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
	if [ ! -d /sys/kernel/tracing/events/etp ]; then
		ktap_skip_all "no tracefs or no etp events"
		exit "$KSFT_SKIP"
	fi
fi

# Under QEMU's TCG, live-patching a static branch that another vCPU is
# running can oops (a stray int3). Enabling a trace event patches the
# sched_switch tracepoint in __schedule (to record command names) and the
# event's own call sites: instances created here record no command names
# (options/record-cmd, restored at exit), and one instance keeps the etp
# events enabled from now until the end, so that the etptrace runs below
# patch nothing while ETP traffic flows.
TR=/sys/kernel/tracing
[ -d $TR/events/etp ] || TR=/sys/kernel/debug/tracing
RECORD_CMD=$(cat $TR/options/record-cmd 2>/dev/null)
KEEP=$TR/instances/etptools_keep_$$
echo 0 >$TR/options/record-cmd 2>/dev/null
mkdir "$KEEP" && echo 1 >"$KEEP/events/etp/enable" || KEEP=
tools_cleanup() {
	if [ -n "$KEEP" ]; then
		echo 0 >"$KEEP/events/etp/enable"
		rmdir "$KEEP"
	fi
	[ -z "$RECORD_CMD" ] || echo "$RECORD_CMD" >$TR/options/record-cmd
}
trap 'etp_cleanup; tools_cleanup' EXIT

ktap_set_plan 16
etp_sysctl "$NS" rto_min_ms 1000

in_ns() { ip netns exec "$NS" "$@"; }

# _state_is NS LPORT RPORT STATE: for etp_wait_until.
_state_is() { [ "$(etp_proc_state "$1" "$2" "$3")" = "$4" ]; }

STAGES="listening established half_closed time_wait"
TRACE_PID=

# The scripted connection, recorded by etptrace; at each stage etpstat's
# views are kept in $T/st.STAGE.* for the checks below.
scripted_run() {
	local s rc

	in_ns cat /proc/net/etp_stat >"$T/stat.before"
	in_ns etpstat -c >"$T/c.before"
	in_ns etpstat -c -a >"$T/c.before.all"
	ip netns exec "$NS" etp_hold -t 600 -r "$T/hold.ready" sink:7399 >/dev/null &
	ETP_PIDS+=($!)
	etp_wait_file 10 "$T/hold.ready" || etp_fail_msg "etp_hold did not start" || return 1

	ip netns exec "$NS" etptrace -r -T -p 7301 -c 11 -t 90 -s "$T/saved" \
		--svg "$T/live.svg" >"$T/live.out" 2>"$T/live.err" &
	TRACE_PID=$!
	ETP_PIDS+=($!)
	etp_wait_until 20 grep -q "tracing ETP" "$T/live.err" ||
		etp_fail_msg "etptrace did not start: $(cat "$T/live.err")" || return 1

	mkfifo "$T/ctl"
	exec 7<>"$T/ctl"
	ip netns exec "$NS" python3 "$CONN" --ctl "$T/ctl" >"$T/conn.out" 2>"$T/conn.err" 7>&- &
	local cpid=$!
	ETP_PIDS+=($!)
	for s in $STAGES; do
		etp_wait_until 30 grep -q "^stage $s\$" "$T/conn.out" ||
			etp_fail_msg "no stage $s: $(cat "$T/conn.err")" || break
		in_ns etpstat >"$T/st.$s"
		in_ns etpstat -i >"$T/st.$s.i"
		in_ns etpstat -H >"$T/st.$s.H"
		in_ns etpstat -H -s ESTABLISHED >"$T/st.$s.est"
		in_ns etpstat -H -s listen >"$T/st.$s.lsn"
		in_ns etpstat -H -s time-wait >"$T/st.$s.tw"
		in_ns etpstat -H -s LISTEN -s ESTABLISHED >"$T/st.$s.two"
		in_ns etpstat -H -p 40301 >"$T/st.$s.p40301"
		in_ns etpstat -H -p 7399 >"$T/st.$s.p7399"
		# Its eleventh segment, the last ACK, came before this stage:
		# -c 11 must have stopped etptrace by itself.
		if [ "$s" = time_wait ]; then
			etp_wait_pid "$TRACE_PID" 20
			echo "$?" >"$T/trace.rc"
		fi
		echo go >&7
	done
	etp_wait_pid "$cpid" 30
	rc=$?
	exec 7>&-
	in_ns cat /proc/net/etp_stat >"$T/stat.after"
	in_ns etpstat -c >"$T/c.after"
	sed 's/^/conn: /' "$T/conn.out" "$T/conn.err"
	[ "$rc" = 0 ] || etp_fail_msg "etp_conn.py exited with $rc"
}

# --- etptrace ---

t_ladder_golden() {
	cat "$T/live.out"
	[ "$(cat "$T/trace.rc" 2>/dev/null)" = 0 ] ||
		etp_fail_msg "etptrace -c 11 did not stop by itself with status 0 (got $(cat "$T/trace.rc" 2>/dev/null))" || return 1
	diff -u "$GOLDEN" "$T/live.out" || etp_fail_msg "ladder differs from $GOLDEN"
}

t_replay_equals_live() {
	etptrace -r -T -f "$T/saved" >"$T/replay.out" || etp_fail_msg "etptrace -f exited $?" || return 1
	echo "$(grep -c ' etp_' "$T/saved") events saved"
	diff -u "$T/live.out" "$T/replay.out" || etp_fail_msg "the saved trace draws another ladder"
}

# kv FILE STAGE ROLE KEY: a value from etp_conn.py's info lines.
kv() {
	awk -v s="$2" -v r="$3" -v k="$4" '$1 == "info" && $2 == s && $3 == r {
		for (i = 4; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$1"
}

t_absolute_isns() {
	local iss irs syn synack

	etptrace -T -f "$T/saved" >"$T/abs.out" || return 1
	iss=$(kv "$T/conn.out" established client iss)
	irs=$(kv "$T/conn.out" established server iss)
	syn=$(grep -o -- '-- SYN seq=[0-9]* ' "$T/abs.out")
	synack=$(grep -o 'SYN,ACK seq=[0-9]* ack=[0-9]* ' "$T/abs.out")
	echo "ETP_INFO: client iss $iss, server iss $irs; ladder: $syn / $synack"
	[ -n "$iss" ] && [ "$syn" = "-- SYN seq=$iss " ] ||
		etp_fail_msg "SYN does not carry the client's ISN" || return 1
	[ "$synack" = "SYN,ACK seq=$irs ack=$(((iss + 1) % 4294967296)) " ] ||
		etp_fail_msg "SYN,ACK does not carry the server's ISN and iss+1"
}

t_svg() {
	local arrows

	arrows=$(grep -c -e '-->|' -e '|<--' "$T/live.out")
	python3 - "$T/live.svg" "$arrows" <<-'EOF'
		import sys, xml.dom.minidom
		doc = xml.dom.minidom.parse(sys.argv[1])
		root = doc.documentElement
		lines = [l for l in doc.getElementsByTagName("line")
		         if l.getAttribute("class") in ("seg", "rtx")]
		texts = " ".join(t.firstChild.data for t in doc.getElementsByTagName("text")
		                 if t.firstChild)
		print("root <%s>, %d arrows (text ladder: %s)" % (root.tagName, len(lines), sys.argv[2]))
		assert root.tagName == "svg", "root is not <svg>"
		assert len(lines) == int(sys.argv[2]), "arrow count differs"
		for s in ("SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2",
		          "TIME_WAIT", "CLOSE_WAIT", "LAST_ACK", "127.0.0.1:40301"):
		    assert s in texts, s + " missing"
	EOF
}

# First SYN dropped on its way out: the ladder shows it lost, the timer,
# then the same SYN again as a retransmission.
# half WHICH SHIFT: the events of the scripted trace that happened at the
# client (WHICH = client) or anywhere else (server), times plus SHIFT s.
half() {
	awk -v which="$1" -v shift="$2" '
		/^#/ { next }
		{
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^[0-9]+\.[0-9]+:$/) t = i
				if ($i ~ /^etp_segment_recv:$/) e = $(i + 3)
				else if ($i ~ /^etp_[a-z_]+:$/) e = $(i + 1)
			}
			if ((e == "127.0.0.1:40301") != (which == "client")) next
			$t = sprintf("%.6f:", substr($t, 1, length($t) - 1) + shift)
			print
		}' "$T/saved"
}

# The scripted trace cut in two, as if each end had been traced on a
# machine of its own whose clock is 123.4 s ahead of the other: --merge
# must find that offset and draw the same ladder as the whole trace.
t_merge_halves() {
	local off

	half client 0 >"$T/half.c"
	half server 123.4 >"$T/half.s"
	echo "client half $(wc -l <"$T/half.c") events, server half $(wc -l <"$T/half.s")"
	etptrace -r -T --merge "$T/half.c" "$T/half.s" >"$T/merged" ||
		etp_fail_msg "etptrace --merge exited $?" || return 1
	sed -n 1,4p "$T/merged"
	off=$(sed -n 's/.* shifted by \([-+0-9.]*\) s,.*/\1/p' "$T/merged")
	awk -v o="$off" 'BEGIN { d = o + 123.4; exit !(o != "" && d < 0.01 && d > -0.01) }' ||
		etp_fail_msg "offset found: '$off' s, want -123.4 s" || return 1
	diff -u <(tail -n +2 "$GOLDEN") <(sed -n '/^127.0.0.1:40301 /,$p' "$T/merged") ||
		etp_fail_msg "the merged halves draw another ladder"
}

t_retransmission() {
	local lost rtx n

	ip netns exec "$NS" etptrace -p 7302 -T -s "$T/rtx.saved" >"$T/rtx.out" 2>"$T/rtx.err" &
	local tp=$!
	ETP_PIDS+=($!)
	etp_wait_until 20 grep -q "tracing ETP" "$T/rtx.err" || etp_fail_msg "etptrace did not start" || return 1
	etp_nft_drop_once "$NS" output "$ETP_NFT_FLAGS == 0x02" || return 1
	ip netns exec "$NS" etpcat -w 20 -l 7302 </dev/null >/dev/null 2>&1 &
	local sp=$!
	etp_wait_until 5 _state_is "$NS" 7302 "" 0A
	printf hi | in_ns etpcat -w 20 127.0.0.1 7302 >/dev/null
	etp_wait_pid $sp 10
	n=$(etp_nft_dropped "$NS")
	etp_nft_once_flush "$NS"
	kill -TERM $tp
	etp_wait_pid $tp 20 || etp_fail_msg "etptrace did not finish on SIGTERM" || return 1
	cat "$T/rtx.out"
	echo "segments dropped by nft: $n"
	[ "$n" = 1 ] || etp_fail_msg "nft dropped $n SYNs, want 1" || return 1
	lost=$(grep -E -o '\|-- SYN seq=[0-9]+ len=0 -+X +\|' "$T/rtx.out" | grep -o 'seq=[0-9]*')
	rtx=$(grep -E -o '\|== RTX SYN seq=[0-9]+ len=0 =+>\|' "$T/rtx.out" | grep -o 'seq=[0-9]*')
	[ -n "$lost" ] || etp_fail_msg "no lost SYN (--X)" || return 1
	[ "$lost" = "$rtx" ] || etp_fail_msg "no RTX SYN with the lost SYN's $lost" || return 1
	sed -n "/SYN $lost len=0 -/,/RTX SYN/p" "$T/rtx.out" | grep -q '\* retransmit timer (rto' ||
		etp_fail_msg "no retransmit timer between the two SYNs" || return 1
	grep -q '^RTX ===> retransmission; --X sent, never received$' "$T/rtx.out" ||
		etp_fail_msg "no legend"
}

t_trace_stops_after_t() {
	local t0=$SECONDS rc

	in_ns etptrace -t 1 -p 7399 >"$T/t.out" 2>"$T/t.err"
	rc=$?
	echo "exit $rc after $((SECONDS - t0)) s: $(cat "$T/t.err")"
	[ $rc = 0 ] || etp_fail_msg "exit status $rc" || return 1
	[ $((SECONDS - t0)) -le 20 ] || etp_fail_msg "-t 1 took $((SECONDS - t0)) s" || return 1
	grep -q "no ETP connection in the trace with port 7399" "$T/t.err" ||
		etp_fail_msg "no message about the empty trace"
}

# bad_args WANT_RC TOOL ARGS...: exit WANT_RC, one line on stderr, naming TOOL.
bad_args() {
	local want=$1 tool=$2 rc

	shift 2
	"$tool" "$@" >"$T/bad.out" 2>"$T/bad.err" </dev/null
	rc=$?
	echo "$tool $*: exit $rc: $(head -c 200 "$T/bad.err")"
	[ $rc = "$want" ] || etp_fail_msg "exit $rc, want $want" || return 1
	[ "$(wc -l <"$T/bad.err")" = 1 ] || etp_fail_msg "want one line on stderr" || return 1
	grep -q "^$tool: " "$T/bad.err" || etp_fail_msg "message does not start with '$tool: '" || return 1
	[ ! -s "$T/bad.out" ] || etp_fail_msg "something on stdout"
}

t_trace_bad_args() {
	local rc=0

	bad_args 1 etptrace -p 0 -f "$T/saved" || rc=1
	bad_args 1 etptrace -p x || rc=1
	bad_args 1 etptrace -c 0 || rc=1
	bad_args 1 etptrace -t -1 || rc=1
	bad_args 1 etptrace --bogus || rc=1
	bad_args 1 etptrace -f "$T/saved" --merge "$T/saved" "$T/saved" || rc=1
	bad_args 1 etptrace --merge "$T/saved" || rc=1
	bad_args 2 etptrace -f "$T/no-such-file" || rc=1
	etptrace -h | grep -q "^usage: etptrace" || { echo "no usage from -h"; rc=1; }
	return $rc
}

# --- etpstat ---

# line FILE STATE LOCAL PEER: FILE has that line (timer column ignored).
line() {
	awk -v s="$2" -v l="$3" -v p="$4" '$1 == s && $4 == l && $5 == p { f = 1 } END { exit !f }' "$1" ||
		etp_fail_msg "no $2 $3 -> $4 in $(basename "$1")"
}

t_stat_states() {
	local s C=127.0.0.1:40301 S=127.0.0.1:7301

	for s in $STAGES; do
		echo "== $s"
		cat "$T/st.$s"
	done
	line "$T/st.listening" LISTEN 127.0.0.1:7301 '0.0.0.0:*' &&
	line "$T/st.established" ESTABLISHED $C $S &&
	line "$T/st.established" ESTABLISHED $S $C &&
	line "$T/st.half_closed" FIN_WAIT2 $C $S &&
	line "$T/st.half_closed" CLOSE_WAIT $S $C &&
	line "$T/st.time_wait" TIME_WAIT $C $S || return 1
	grep -q "^TIME_WAIT .* timewait,[0-9.]*s$" "$T/st.time_wait" ||
		etp_fail_msg "TIME_WAIT without its timer" || return 1
	[ "$(grep -c " $S " "$T/st.time_wait")" = 1 ] ||
		etp_fail_msg "the server's end is still listed in time_wait"
}

# ms_to_us "11.098ms": 11098.
ms_to_us() { awk -v v="$1" 'BEGIN { sub(/ms$/, "", v); printf "%d\n", v * 1000 + 0.5 }'; }

# -i line of the socket LOCAL in FILE against etp_conn.py's ETP_INFO.
check_internals() {
	local file=$1 stage=$2 role=$3 local=$4 k v want rc=0
	local -A got

	while read -r k v; do
		got[$k]=$v
	done < <(awk -v l="$local" 'f && /^\t/ { for (i = 1; i <= NF; i++) {
			n = index($i, ":"); print substr($i, 1, n - 1), substr($i, n + 1) } exit }
		{ f = ($4 == l) }' "$file")
	echo "$stage $role ETP_INFO: $(grep "^info $stage $role " "$T/conn.out" | cut -d' ' -f4-)"
	for k in rto srtt rttvar cwnd ssthresh snd_wnd rcv_wnd retrans mss ca_state; do
		want=$(kv "$T/conn.out" "$stage" "$role" "$k")
		case $k in
		rto|srtt|rttvar) v=$(ms_to_us "${got[$k]}") ;;
		ssthresh) v=${got[$k]}; [ "$v" = inf ] && v=2147483647 ;;
		ca_state) case ${got[phase]} in open) v=0 ;; recovery) v=1 ;; loss) v=2 ;; *) v="?" ;; esac ;;
		*) v=${got[$k]} ;;
		esac
		if [ "$v" != "$want" ]; then
			echo "FAIL: $stage $role $k: etpstat $v, ETP_INFO $want"
			rc=1
		fi
	done
	return $rc
}

t_stat_internals() {
	local rc=0

	cat "$T/st.established.i"
	check_internals "$T/st.established.i" established client 127.0.0.1:40301 || rc=1
	check_internals "$T/st.established.i" established server 127.0.0.1:7301 || rc=1
	check_internals "$T/st.half_closed.i" half_closed client 127.0.0.1:40301 || rc=1
	check_internals "$T/st.half_closed.i" half_closed server 127.0.0.1:7301 || rc=1
	[ "$(grep -c 'mss:65495 ' "$T/st.established.i")" = 2 ] ||
		etp_fail_msg "mss on lo is not 65495 (65535 - 40) on both ends" || rc=1
	# Listeners and TIME_WAIT entries have no internals line.
	[ "$(grep -c $'^\t' "$T/st.time_wait.i")" = 0 ] ||
		etp_fail_msg "internals shown for a listener or TIME_WAIT" || rc=1
	return $rc
}

# count FILE: lines in FILE (etpstat -H output).
count() { wc -l <"$1"; }

t_stat_filters() {
	local e=$T/st.established rc=0

	cat "$e.H"
	expect() {
		if [ "$(count "$1")" != "$2" ]; then
			echo "FAIL: $3: $(count "$1") lines, want $2"
			sed 's/^/  /' "$1"
			rc=1
		fi
	}
	# Listener 7399 (etp_hold) and both ends of the connection.
	expect "$e.H" 3 "no filter"
	expect "$e.est" 2 "-s ESTABLISHED"
	expect "$e.lsn" 1 "-s listen"
	expect "$e.tw" 0 "-s time-wait"
	expect "$e.two" 3 "-s LISTEN -s ESTABLISHED"
	expect "$e.p40301" 2 "-p 40301 (either end)"
	expect "$e.p7399" 1 "-p 7399"
	expect "$T/st.time_wait.tw" 1 "-s time-wait in time_wait"
	awk '$1 != "ESTABLISHED" { exit 1 }' "$e.est" || { echo "FAIL: -s ESTABLISHED lets another state through"; rc=1; }
	awk '$4 != "127.0.0.1:40301" && $5 != "127.0.0.1:40301" { exit 1 }' "$e.p40301" ||
		{ echo "FAIL: -p 40301 lets another port through"; rc=1; }
	grep -q "^LISTEN .* 0.0.0.0:7399 " "$e.p7399" || { echo "FAIL: -p 7399 misses the listener"; rc=1; }
	return $rc
}

# Counters: what etpstat -c prints equals /proc/net/etp_stat; the scripted
# connection moved ActiveOpens and PassiveOpens by one, DelayedAcks by the
# number of delayed-ACK timers in its ladder, OutSegs by its arrows.
t_stat_counters() {
	local rc=0 n v before after arrows delacks

	cat "$T/c.after"
	# A fresh namespace: zeros are left out unless -a.
	grep -q "^ActiveOpens " "$T/c.before" && { echo "FAIL: zero ActiveOpens listed without -a"; rc=1; }
	n=$(awk 'NR == 1 { print NF - 1 }' "$T/stat.before")
	[ "$(count "$T/c.before.all")" = "$n" ] || { echo "FAIL: -c -a lists $(count "$T/c.before.all") counters, /proc $n"; rc=1; }
	while read -r n v; do
		[ "$v" = "$(awk -v n="$n" 'NR == 1 { for (i = 2; i <= NF; i++) c[$i] = i }
			NR == 2 { print $c[n] }' "$T/stat.after")" ] || { echo "FAIL: $n $v differs from /proc"; rc=1; }
	done <"$T/c.after"
	arrows=$(grep -c -e '-->|' -e '|<--' "$T/live.out")
	delacks=$(grep -c 'delack timer' "$T/live.out")
	for n in ActiveOpens:1 PassiveOpens:1 DelayedAcks:$delacks OutSegs:$arrows InSegs:$arrows; do
		before=$(awk -v n="${n%:*}" '$1 == n { print $2 }' "$T/c.before.all")
		after=$(awk -v n="${n%:*}" '$1 == n { print $2 }' "$T/c.after")
		echo "${n%:*}: $before -> $after, want +${n#*:}"
		[ -n "$after" ] && [ $((after - before)) = "${n#*:}" ] || rc=1
	done
	return $rc
}

t_stat_watch() {
	local clears

	timeout 3 ip netns exec "$NS" etpstat -w 0.5 -s listen >"$T/watch.out" 2>&1
	clears=$(grep -o $'\033\\[H\033\\[2J' "$T/watch.out" | wc -l)
	echo "$clears refreshes in 3 s"
	[ "$clears" -ge 2 ] || etp_fail_msg "fewer than two refreshes" || return 1
	grep -q "Every 0.5s: etpstat -w 0.5 -s listen" "$T/watch.out" ||
		etp_fail_msg "no 'Every' header" || return 1
	[ "$(grep -c "^LISTEN .*:7399 " "$T/watch.out")" -ge 2 ] ||
		etp_fail_msg "the listing is not repeated"
}

t_stat_bad_args() {
	local rc=0

	bad_args 1 etpstat -s NOSUCHSTATE || rc=1
	bad_args 1 etpstat -p 0 || rc=1
	bad_args 1 etpstat -p 65536 || rc=1
	bad_args 1 etpstat -p http || rc=1
	bad_args 1 etpstat -w 0 || rc=1
	bad_args 1 etpstat -w soon || rc=1
	bad_args 1 etpstat -x || rc=1
	bad_args 1 etpstat -s || rc=1
	bad_args 1 etpstat extra || rc=1
	bad_args 1 etpstat -c -p 7301 || rc=1
	etpstat -h | grep -q "^Usage: etpstat" || { echo "no usage from -h"; rc=1; }
	return $rc
}

# On veth (MTU 1500) the MSS is 1460 at both ends.
t_stat_veth_mss() {
	local a=$NS-a b=$NS-b rc=0

	etp_ns_add "$a" "$b" && etp_veth "$a" 10.253.7.1 "$b" 10.253.7.2 || return 1
	mkfifo "$T/vin"
	exec 8<>"$T/vin"
	ip netns exec "$b" etpcat -w 20 -l 7303 <"$T/vin" >/dev/null 2>&1 &
	ETP_PIDS+=($!)
	etp_wait_until 5 _state_is "$b" 7303 "" 0A
	ip netns exec "$a" etpcat -w 20 -p 40303 10.253.7.2 7303 <"$T/vin" >/dev/null 2>&1 &
	ETP_PIDS+=($!)
	etp_wait_until 10 _state_is "$b" 7303 40303 01 || rc=1
	ip netns exec "$a" etpstat -i -p 7303 >"$T/va"
	ip netns exec "$b" etpstat -i -p 7303 >"$T/vb"
	exec 8>&-
	cat "$T/va" "$T/vb"
	[ $rc = 0 ] || etp_fail_msg "no connection on veth" || return 1
	line "$T/va" ESTABLISHED 10.253.7.1:40303 10.253.7.2:7303 &&
	line "$T/vb" ESTABLISHED 10.253.7.2:7303 10.253.7.1:40303 || return 1
	grep -q $'^\t.* mss:1460 ' "$T/va" && grep -q $'^\t.* mss:1460 ' "$T/vb" ||
		etp_fail_msg "mss is not 1460 (1500 - 40) on veth"
}

if scripted_run; then
	ktap_test_pass "scripted_connection_recorded"
else
	ktap_test_fail "scripted_connection_recorded"
fi
etp_result "etptrace_ladder_equals_golden" t_ladder_golden
etp_result "etptrace_saved_trace_draws_the_same_ladder" t_replay_equals_live
etp_result "etptrace_absolute_numbers_are_the_isns" t_absolute_isns
etp_result "etptrace_svg_is_well_formed_with_every_arrow" t_svg
etp_result "etptrace_merge_of_two_halves_aligns_clocks" t_merge_halves
etp_result "etptrace_marks_lost_syn_and_retransmission" t_retransmission
etp_result "etptrace_t_stops_an_empty_trace" t_trace_stops_after_t
etp_result "etptrace_bad_arguments" t_trace_bad_args
etp_result "etpstat_lists_each_state_of_the_connection" t_stat_states
etp_result "etpstat_i_matches_etp_info" t_stat_internals
etp_result "etpstat_state_and_port_filters" t_stat_filters
etp_result "etpstat_c_counters_moved_by_the_connection" t_stat_counters
etp_result "etpstat_w_refreshes" t_stat_watch
etp_result "etpstat_bad_arguments_exit_1" t_stat_bad_args
etp_result "etpstat_mss_1460_on_veth" t_stat_veth_mss
ktap_finished
