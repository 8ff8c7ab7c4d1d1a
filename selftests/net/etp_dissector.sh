#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Wireshark dissector userspace/wireshark/etp.lua against the kernel:
# one capture decoded by tshark, checked segment by segment against what
# the sending kernel recorded in its etp tracepoints at the same time.
#
#   netns etpws-a-PID                          netns etpws-b-PID
#   +-------------------------------------+    +------------------------------+
#   | dumpcap -i veth0 (both directions)  |    |                              |
#   | nft: drop the first 43-octet ETP    |    |                              |
#   |      segment coming in ("bye")      |    |                              |
#   | etpcat -p 40301 (client) ---------- 10.0.0.1 ==== 10.0.0.2 --> etpcat -l |
#   |   20000 random octets, gets "bye",  |veth0   veth1| 7301 (server)        |
#   |   closes first                      |    |                              |
#   | etpcat -p 40302 -----------------------------------> 7399 (closed: RST)  |
#   | raw socket 40399 ------------------------------------> 7398 (closed):    |
#   |   ACK with NOP, option kind 254, EOL and 3 octets of data, sent twice:   |
#   |   checksum corrupted (dropped), then right (answered with RST)           |
#   +-------------------------------------+    +------------------------------+
#   trace instance etp_ws_PID: events/etp/* (both namespaces, one kernel)
#
# The connection has a handshake with window scaling, data both ways, one
# retransmission (the dropped "bye") and a four-way close, client first.
# Each check compares the dissector with something it did not compute:
# the tracepoints (ports, flags, numbers, lengths, windows, states, which
# segments were retransmissions), the kernel's checksum counter, the route's
# MTU (the MSS option) and the bytes the test itself sent.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat nft dumpcap tshark python3
etp_init

A=etpws-a-$$
B=etpws-b-$$
T=$ETP_TMP
LUA=$ETP_ROOT/userspace/wireshark/etp.lua
TR=/sys/kernel/tracing
INST=
CPORT=40301	# client
SPORT=7301	# server
RPORT=40302	# refused connect from here
CLOSED=7399	# ... to this closed port
RAWPORT=40399	# raw socket segments from here
RAWDST=7398	# ... to this closed port
NBYTES=20000	# client to server
ktap_print_header

trace_on() {
	[ -d "$TR/instances" ] || mount -t tracefs nodev "$TR" 2>/dev/null
	[ -d "$TR/events/etp" ] || return 1
	INST=$TR/instances/etp_ws_$$
	mkdir "$INST" && echo 1 >"$INST/events/etp/enable" && echo 1 >"$INST/tracing_on"
}
trace_off() {
	[ -n "$INST" ] || return 0
	echo 0 >"$INST/events/etp/enable" 2>/dev/null
	rmdir "$INST" 2>/dev/null
	INST=
}
# Keep what a reader needs to look at a failure (and a capture to open in
# Wireshark) where the VM harness collects it.
keep_artifacts() {
	[ -n "${ETP_ARTIFACTS:-}" ] && [ -d "$ETP_ARTIFACTS" ] || return 0
	cp "$T"/etp.pcap "$T"/trace "$T"/fields "$T"/tshark.err "$ETP_ARTIFACTS"/ 2>/dev/null
	return 0
}
trap 'keep_artifacts; trace_off; etp_cleanup' EXIT

if [ ! -r "$LUA" ]; then
	ktap_skip_all "$LUA missing"
	exit "$KSFT_SKIP"
fi
if ! etp_ns_add "$A" "$B" || ! etp_veth "$A" 10.0.0.1 "$B" 10.0.0.2; then
	ktap_skip_all "cannot create namespaces and a veth pair"
	exit "$KSFT_SKIP"
fi
if ! trace_on; then
	ktap_skip_all "no tracefs or no etp events"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 13

# --- the traffic -------------------------------------------------------------

# raw_segments SRC DST SPORT DPORT: two ACK segments from a raw socket, the
# first with a corrupted checksum, the second right; both carry a NOP, an
# unknown option (kind 254, 4 octets: ab cd), EOL and padding, and "etp".
raw_segments() {
	ip netns exec "$A" python3 - "$@" <<-'EOF'
		import socket, struct, sys

		src, dst, sport, dport = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

		def ones_sum(b):
		    if len(b) % 2:
		        b += b"\0"
		    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
		    while s >> 16:
		        s = (s & 0xFFFF) + (s >> 16)
		    return s

		opts = bytes([1, 254, 4, 0xAB, 0xCD, 0, 0, 0])
		data = b"etp"
		hdr = struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000,
		                  ((20 + len(opts)) // 4) << 4, 0x10, 512, 0, 0)
		seg = hdr + opts + data
		pseudo = (socket.inet_aton(src) + socket.inet_aton(dst) +
		          struct.pack("!BBH", 0, 253, len(seg)))
		good = 0xFFFF - ones_sum(pseudo + seg)
		bad = good ^ 0x5A5A
		s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 253)
		s.bind((src, 0))
		for c in (bad, good):
		    s.sendto(seg[:16] + struct.pack("!H", c) + seg[18:], (dst, 0))
		print("raw segments sent: checksum 0x%04x (corrupted), then 0x%04x" % (bad, good))
	EOF
}

_capturing() { grep -q "Capturing on" "$T/dumpcap.err"; }
_got_all() { [ "$(stat -c %s "$T/s.out" 2>/dev/null)" = "$NBYTES" ]; }
_got_bye() { [ "$(cat "$T/c.out" 2>/dev/null)" = bye ]; }

# The capture: returns non-zero if any step of the script did not happen.
script() {
	local dpid cpid rc

	ip netns exec "$A" dumpcap -q -i veth0 -f "ip proto 253" -P -w "$T/etp.pcap" \
		2>"$T/dumpcap.err" &
	dpid=$!
	ETP_PIDS+=("$dpid")
	etp_wait_until 30 _capturing || { cat "$T/dumpcap.err"; etp_fail_msg "dumpcap did not start"; return 1; }

	# The first 43-octet ETP segment into A is the server's "bye" (20 + 20 + 3).
	etp_nft_drop_once "$A" input "ip length 43" || return 1
	CSUM0=$(etp_stat "$B" InCsumErrors)

	mkfifo "$T/sin"
	ip netns exec "$B" etpcat -l "$SPORT" <"$T/sin" >"$T/s.out" 2>/dev/null &
	ETP_PIDS+=($!)
	exec 5>"$T/sin"
	etp_wait_proc_state 10 "$B" "$SPORT" 0 0A || { etp_fail_msg "no listener"; return 1; }
	# The client half-closes once it has the server's answer.
	{ head -c "$NBYTES" /dev/urandom; etp_wait_until 20 _got_bye; } 5>&- |
		ip netns exec "$A" etpcat -p "$CPORT" 10.0.0.2 "$SPORT" >"$T/c.out" 2>/dev/null 5>&- &
	cpid=$!
	etp_wait_until 20 _got_all || { etp_fail_msg "server got $(stat -c %s "$T/s.out") octets"; return 1; }
	printf bye >&5
	etp_wait_proc_state 20 "$B" "$SPORT" "$CPORT" 08 || { etp_fail_msg "server not in CLOSE_WAIT"; return 1; }
	exec 5>&-
	etp_wait_pid "$cpid" 20 || { etp_fail_msg "client did not finish"; return 1; }

	ip netns exec "$A" etpcat -p "$RPORT" 10.0.0.2 "$CLOSED" </dev/null >/dev/null 2>&1
	rc=$?
	[ $rc -eq 2 ] || { etp_fail_msg "connect to a closed port: etpcat exit $rc, want 2"; return 1; }
	raw_segments 10.0.0.1 10.0.0.2 "$RAWPORT" "$RAWDST" || return 1
	CSUM1=$(etp_stat "$B" InCsumErrors)
	DROPPED=$(etp_nft_dropped "$A")
	MTU=$(ip -n "$A" -o link show veth0 | awk '{ for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1) }')

	# Let dumpcap read what is queued, then stop it; it writes the file out.
	sleep 1
	kill -INT "$dpid"
	etp_wait_pid "$dpid" 20 || { etp_fail_msg "dumpcap did not stop"; return 1; }
	cp "$INST/trace" "$T/trace"
	trace_off
	echo "trace: $(grep -c 'etp_segment_send\|etp_segment_retransmit' "$T/trace") segments sent"
	grep -v '^Capturing on\|^File: ' "$T/dumpcap.err"
}

# --- what the dissector shows --------------------------------------------------

# One tshark run decodes everything; the fields file has one line per frame,
# tab-separated, empty where a field is absent (multiple values joined by ,).
FIELDS=(frame.number ip.proto etp.srcport etp.dstport etp.flags
	etp.flags.fin etp.flags.syn etp.flags.reset etp.flags.push etp.flags.ack
	etp.flags.urg etp.flags.ece etp.flags.cwr etp.seq_raw
	etp.ack_raw etp.len etp.window_size_value etp.seq etp.ack
	etp.checksum.status etp.state etp.state.dst etp.analysis.retransmission
	etp.window_size etp.options.wscale.shift etp.option_kind
	etp.options.mss_val etp.options.unknown etp.payload etp.stream
	_ws.malformed _ws.expert.group)

decode() {
	local args=() f

	for f in "${FIELDS[@]}"; do
		args+=(-e "$f")
	done
	tshark -n -X "lua_script:$LUA" -r "$T/etp.pcap" -T fields -E separator=/t \
		-E occurrence=a -E aggregator=, "${args[@]}" >"$T/fields" 2>"$T/tshark.all"
	local rc=$?
	# tshark warns that it runs as root; anything else on stderr is an error.
	grep -v '^Running as user "root"' "$T/tshark.all" >"$T/tshark.err"
	[ $rc -eq 0 ] || { cat "$T/tshark.err"; etp_fail_msg "tshark exit $rc"; return 1; }
	echo "tshark decoded $(wc -l <"$T/fields") frames"
}

# fields: the decoded frames as named awk variables (f["etp.seq"] ...),
# running the awk program $1 with the remaining arguments as -v settings.
# Each program sees one frame per line; flags() spells the flag bit fields
# the way the tracepoints do ("SYN|ACK"), flagbyte() is the same from the
# etp.flags byte.
fields_awk() {
	local prog=$1 names

	shift
	names=$(printf '%s ' "${FIELDS[@]}")
	awk -F '\t' -v names="$names" "$@" '
		function hexval(h,   i, v, c) {
			sub(/^0x/, "", h); v = 0
			for (i = 1; i <= length(h); i++) {
				c = index("0123456789abcdef", tolower(substr(h, i, 1))) - 1
				v = v * 16 + c
			}
			return v
		}
		function flagbyte(h,   v, i, out, n) {
			split("FIN SYN RST PSH ACK URG ECE CWR", n, " ")
			v = hexval(h); out = ""
			for (i = 1; i <= 8; i++) {
				if (v % 2) out = out (out == "" ? "" : "|") n[i]
				v = int(v / 2)
			}
			return out
		}
		function flags(   i, out, n, b) {
			split("FIN SYN RST PSH ACK URG ECE CWR", n, " ")
			split("fin syn reset push ack urg ece cwr", b, " ")
			out = ""
			for (i = 1; i <= 8; i++)
				if (f["etp.flags." b[i]] == 1) out = out (out == "" ? "" : "|") n[i]
			return out
		}
		function mod32(x) { x = x % 4294967296; return x < 0 ? x + 4294967296 : x }
		BEGIN { nn = split(names, name, " ") }
		{ delete f; for (i = 1; i <= nn; i++) f[name[i]] = $i }
		'"$prog" "$T/fields"
}

# key: "sport dport flags seq ack len win" of a decoded segment.
KEY='function key() {
	return f["etp.srcport"] " " f["etp.dstport"] " " flags() " " \
	       f["etp.seq_raw"] " " f["etp.ack_raw"] " " f["etp.len"] " " f["etp.window_size_value"]
}'

# trace_segments: "sport dport flags seq ack len win state event" of each
# segment the kernel sent (etp_segment_send and _retransmit), in order. The
# state is the sender's once the segment left: the kernel sends the ACK of
# a FIN received in FIN_WAIT2 before it enters TIME_WAIT (as Linux TCP
# does) and says so in the reason ("FIN received, ACK sent"); in RFC 9293's
# diagram that is one step, so such a segment counts as sent in TIME_WAIT.
trace_segments() {
	awk '
		function port(a) { sub(/.*:/, "", a); return a }
		/ etp_segment_(send|retransmit|recv): / {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^etp_segment_/) { ev = $i; src = $(i + 1); dst = $(i + 3) }
				if ($i ~ /=/) { split($i, kv, "="); v[kv[1]] = kv[2] }
			}
			if (ev == "etp_segment_recv:") { last[dst " " src] = 0; next }
			n++
			rec[n] = port(src) " " port(dst) " " v["flags"] " " v["seq"] " " v["ack"] " " \
				 v["len"] " " v["win"]
			st[n] = v["state"]; kind[n] = ev
			last[src " " dst] = n
			next
		}
		/ etp_state_change: / {
			for (i = 1; i <= NF; i++) if ($i == "->") { sock = $(i - 3) " " $(i - 2); new = $(i + 1) }
			if ($0 ~ /ACK sent\)$/ && last[sock]) st[last[sock]] = new
			last[sock] = 0
		}
		END { for (i = 1; i <= n; i++) print rec[i], st[i], kind[i] }' "$T/trace"
}

# --- the checks ----------------------------------------------------------------

# Every captured ETP segment decodes: ETP fields present, nothing malformed
# (the dissector's own malformed findings included), no Lua error.
t_decodes() {
	local out

	[ -s "$T/tshark.err" ] && { cat "$T/tshark.err"; etp_fail_msg "tshark reported errors"; return 1; }
	out=$(fields_awk '
		$0 == "" { next }
		{ total++ }
		f["ip.proto"] != 253 { print "frame " f["frame.number"] ": not IP protocol 253"; bad++; next }
		f["etp.srcport"] == "" || f["etp.checksum.status"] == "" || f["etp.len"] == "" {
			print "frame " f["frame.number"] ": ETP fields missing"; bad++; next
		}
		f["_ws.malformed"] != "" { print "frame " f["frame.number"] ": malformed"; bad++; next }
		flags() != flagbyte(f["etp.flags"]) {
			print "frame " f["frame.number"] ": flag bits " flags() ", flags byte " f["etp.flags"]; bad++
		}
		# Group 0x05000000 is "Undecoded": Lua errors report there.
		f["_ws.expert.group"] ~ /83886080/ { print "frame " f["frame.number"] ": Lua error"; bad++ }
		END { print total + 0, "frames,", bad + 0, "not decoded"; exit (bad > 0 || total == 0) }')
	local rc=$?
	echo "$out"
	return $rc
}

# Every segment the kernel built has a good checksum (the kernel's receiver
# accepted them); only the corrupted raw one may be bad.
t_checksums_good() {
	fields_awk '
		$0 == "" { next }
		f["etp.srcport"] == raw && f["etp.checksum.status"] == 0 { corrupted++; next }
		f["etp.checksum.status"] == 1 { good++; next }
		{ print "frame " f["frame.number"] ": checksum status " f["etp.checksum.status"]; bad++ }
		END {
			print good + 0, "good,", bad + 0, "not good,", corrupted + 0, "corrupted raw segment(s)"
			exit (bad > 0 || good < 10)
		}' -v raw="$RAWPORT"
}

# The raw segment with the corrupted checksum shows "Bad" (0), its twin with
# the right one "Good" (1); the kernel agrees: InCsumErrors moved by one.
t_corrupted_bad() {
	local s

	s=$(fields_awk '$0 != "" && f["etp.srcport"] == raw { printf "%s%s", sep, f["etp.checksum.status"]; sep = " " }' \
		-v raw="$RAWPORT")
	echo "raw segments' checksum status (0 bad, 1 good): $s; receiver's InCsumErrors $CSUM0 -> $CSUM1"
	[ "$s" = "0 1" ] || etp_fail_msg "want the corrupted one bad (0) and the right one good (1)" || return 1
	[ $((CSUM1 - CSUM0)) -eq 1 ] || etp_fail_msg "the kernel did not count exactly one checksum error"
}

# Every segment captured (except the raw ones, which no socket sent) is one
# the kernel's etp_segment_send or _retransmit tracepoint recorded, with the
# same ports, flags, seq, ack, length and window, and the other way round.
t_match_trace() {
	trace_segments | awk '{ print $1, $2, $3, $4, $5, $6, $7 }' | sort >"$T/traced"
	fields_awk "$KEY"'
		$0 != "" && f["etp.srcport"] != raw { print key() }' -v raw="$RAWPORT" | sort >"$T/decoded"
	echo "$(wc -l <"$T/decoded") segments decoded, $(wc -l <"$T/traced") traced"
	grep -m 3 "^$CPORT $SPORT SYN " "$T/decoded" | sed 's/^/decoded: /'
	[ "$(wc -l <"$T/decoded")" -ge 20 ] || etp_fail_msg "too few segments" || return 1
	diff "$T/traced" "$T/decoded" || etp_fail_msg "decoded segments differ from the sender's tracepoints"
}

# Relative numbers count from each end's ISN, which the trace shows as the
# sequence number of that end's SYN; the first SYN is 0.
t_relative() {
	trace_segments | awk '$3 ~ /SYN/ && !($1 in isn) { isn[$1] = $4; print $1, $4 }' >"$T/isn"
	sed 's/^/ISN of port /' "$T/isn"
	fields_awk '
		BEGIN { while ((getline l < isnfile) > 0) { split(l, a, " "); isn[a[1]] = a[2] } }
		$0 == "" || f["etp.srcport"] == raw { next }
		!first && flags() == "SYN" {
			first = 1
			print "first SYN: frame " f["frame.number"] ", relative seq " f["etp.seq"]
			if (f["etp.seq"] != "0") bad++
		}
		f["etp.srcport"] in isn {
			want = mod32(f["etp.seq_raw"] - isn[f["etp.srcport"]]); n++
			if (f["etp.seq"] != want) { print "frame " f["frame.number"] ": seq " f["etp.seq"] ", want " want; bad++ }
		}
		flags() ~ /ACK/ && f["etp.dstport"] in isn {
			want = mod32(f["etp.ack_raw"] - isn[f["etp.dstport"]]); n++
			if (f["etp.ack"] != want) { print "frame " f["frame.number"] ": ack " f["etp.ack"] ", want " want; bad++ }
		}
		END { print n + 0, "numbers checked,", bad + 0, "wrong"; exit (!first || bad > 0 || n < 20) }' \
		-v raw="$RAWPORT" -v isnfile="$T/isn"
}

# Both SYNs carried window scale: every later window is the raw field
# shifted by its sender's shift (and the shift is not 0, or this would
# prove nothing); the SYNs' own windows are not scaled.
t_window() {
	fields_awk '
		$0 == "" || !((f["etp.srcport"] == c && f["etp.dstport"] == s) || (f["etp.srcport"] == s && f["etp.dstport"] == c)) { next }
		flags() ~ /SYN/ {
			shift[f["etp.srcport"]] = f["etp.options.wscale.shift"]
			if (f["etp.window_size"] != f["etp.window_size_value"]) { print "SYN frame " f["frame.number"] " scaled"; bad++ }
			next
		}
		{
			want = f["etp.window_size_value"] * 2 ^ shift[f["etp.srcport"]]; n++
			if (f["etp.window_size"] != want) {
				print "frame " f["frame.number"] ": window " f["etp.window_size"] ", want " want; bad++
			}
		}
		END {
			print "shifts: " c " " shift[c] ", " s " " shift[s] "; " n + 0 " windows checked, " bad + 0 " wrong"
			exit (bad > 0 || n < 10 || shift[c] < 1 || shift[s] < 1)
		}' -v c="$CPORT" -v s="$SPORT"
}

# The segments the dissector calls retransmissions are exactly those the
# kernel sent through etp_segment_retransmit; there is at least one (the
# "bye" nft dropped).
t_retransmissions() {
	trace_segments | awk '$9 == "etp_segment_retransmit:" { print $1, $2, $3, $4, $5, $6, $7 }' |
		sort >"$T/re.traced"
	fields_awk "$KEY"'
		$0 != "" && f["etp.analysis.retransmission"] != "" { print key() }' | sort >"$T/re.decoded"
	echo "nft dropped $DROPPED; retransmissions traced: $(wc -l <"$T/re.traced"), decoded: $(wc -l <"$T/re.decoded")"
	sed 's/^/traced: /' "$T/re.traced"
	[ "$DROPPED" = 1 ] || etp_fail_msg "the drop-once rule dropped $DROPPED segments" || return 1
	[ -s "$T/re.traced" ] || etp_fail_msg "no retransmission traced" || return 1
	diff "$T/re.traced" "$T/re.decoded" || etp_fail_msg "retransmissions differ"
}

# The state the dissector gives the sending end of each segment is the
# sender's state in its tracepoint record (segments paired in order).
t_sender_state() {
	trace_segments | awk '{ k = $1 " " $2 " " $3 " " $4 " " $5 " " $6 " " $7; print k " #" ++n[k], $8 }' \
		>"$T/st.traced"
	fields_awk "$KEY"'
		$0 != "" && f["etp.srcport"] != raw { k = key(); print k " #" ++n[k], f["etp.state"] }' \
		-v raw="$RAWPORT" >"$T/st.decoded"
	awk 'NR == FNR { k = $0; sub(/ [^ ]*$/, "", k); want[k] = $NF; next }
		{
			k = $0; sub(/ [^ ]*$/, "", k); n++
			if (!(k in want)) { print "not traced: " $0; bad++ }
			else if (want[k] != $NF) { print k ": decoded " $NF ", traced " want[k]; bad++ }
			else seen[$NF]++
		}
		END {
			for (s in seen) line = line " " s "=" seen[s]
			print n + 0, "segments,", bad + 0, "wrong; states:" line
			exit (bad > 0 || n < 20)
		}' "$T/st.traced" "$T/st.decoded"
}

# For each end of the two connections, the states the dissector shows it
# in (as sender or receiver, in capture order, repeats folded) are the
# states its etp_state_change events moved it through. (The closed port
# 7399 has no socket and no events: not compared.)
t_state_sequences() {
	local p want got rc=0

	for p in "$CPORT" "$SPORT" "$RPORT"; do
		want=$(awk -v p="$p" '/ etp_state_change: / {
			for (i = 1; i <= NF; i++) if ($i == "->") { l = $(i - 3); r = $(i - 2); n = $(i + 1) }
			sub(/.*:/, "", l); sub(/.*:/, "", r)
			if (l == p && r != 0) { printf "%s%s", sep, n; sep = " " }
		} END { print "" }' "$T/trace")
		got=$(fields_awk '
			function show(s) { if (s != "" && s != last) { printf "%s%s", sep, s; sep = " "; last = s } }
			$0 == "" { next }
			f["etp.srcport"] == p { show(f["etp.state"]) }
			f["etp.dstport"] == p { show(f["etp.state.dst"]) }
			END { print "" }' -v p="$p")
		echo "port $p: events: $want"
		echo "port $p: decoded: $got"
		[ -n "$want" ] && [ "$want" = "$got" ] || rc=1
	done
	[ $rc -eq 0 ] || etp_fail_msg "decoded states differ from the state changes"
}

# Options: the SYNs' MSS is the veth MTU less 40, in the order the kernel
# writes them (MSS, NOP, window scale); the raw segment shows NOP, the
# unknown kind 254 with its two octets, and EOL.
t_options() {
	local out

	out=$(fields_awk '
		$0 == "" { next }
		flags() ~ /SYN/ {
			print "SYN from " f["etp.srcport"] ": kinds " f["etp.option_kind"] ", MSS " f["etp.options.mss_val"]
			if (f["etp.option_kind"] != "2,1,3" || f["etp.options.mss_val"] != mtu - 40) bad++
			syn++
		}
		f["etp.srcport"] == raw {
			print "raw from " raw ": kinds " f["etp.option_kind"] ", unknown " f["etp.options.unknown"]
			if (f["etp.option_kind"] != "1,254,0" || f["etp.options.unknown"] != "abcd") bad++
			rawn++
		}
		END { exit (bad > 0 || syn < 3 || rawn != 2) }' -v raw="$RAWPORT" -v mtu="$MTU")
	local rc=$?
	echo "$out"
	[ $rc -eq 0 ] || etp_fail_msg "options decoded wrong (veth MTU $MTU)"
}

# Payload: the client's first transmissions add up to what it sent, the
# server's data is "bye", the raw segment's is "etp".
t_payload() {
	fields_awk '
		$0 == "" || f["etp.len"] == 0 { next }
		f["etp.srcport"] == c && f["etp.analysis.retransmission"] == "" { client += f["etp.len"] }
		f["etp.srcport"] == s { if (f["etp.payload"] != "627965") bad++; bye++ }
		f["etp.srcport"] == raw { if (f["etp.payload"] != "657470") bad++; etp++ }
		END {
			print "client data " client + 0 " octets (want " nbytes "); server segments with \"bye\": " bye + 0 "; raw with \"etp\": " etp + 0 ", " bad + 0 " wrong"
			exit (client != nbytes || bye < 2 || etp != 2 || bad > 0)
		}' -v c="$CPORT" -v s="$SPORT" -v raw="$RAWPORT" -v nbytes="$NBYTES"
}

# The script runs in this shell (not under etp_result): the checks use the
# counters it reads.
SECONDS_0=$SECONDS
script >"$T/script.log" 2>&1
rc=$?
sed 's/^/# /' "$T/script.log"
etp_log "capture and trace took $((SECONDS - SECONDS_0)) s"
if [ $rc -eq 0 ]; then
	ktap_test_pass "connection_captured_and_traced"
else
	ktap_test_fail "connection_captured_and_traced"
fi
if [ $rc -eq 0 ] && etp_result "tshark_decodes_capture" decode; then
	etp_result "every_segment_decodes" t_decodes
	etp_result "kernel_segments_checksum_good" t_checksums_good
	etp_result "corrupted_checksum_shown_bad" t_corrupted_bad
	etp_result "segments_match_sender_tracepoints" t_match_trace
	etp_result "relative_numbers_from_isn" t_relative
	etp_result "window_scaled_by_syn_shift" t_window
	etp_result "retransmissions_match_tracepoint" t_retransmissions
	etp_result "sender_state_matches_tracepoint" t_sender_state
	etp_result "state_sequences_match_state_changes" t_state_sequences
	etp_result "options_decoded" t_options
	etp_result "payload_decoded" t_payload
else
	[ $rc -eq 0 ] || ktap_test_fail "tshark_decodes_capture"
	for t in every_segment_decodes kernel_segments_checksum_good corrupted_checksum_shown_bad \
		 segments_match_sender_tracepoints relative_numbers_from_isn window_scaled_by_syn_shift \
		 retransmissions_match_tracepoint sender_state_matches_tracepoint \
		 state_sequences_match_state_changes options_decoded payload_decoded; do
		ktap_test_fail "$t"
	done
fi
ktap_finished
