#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the ETP shell tests: TAP output (through kselftest's
# ktap_helpers.sh when $KSFT has it), namespaces and veth pairs with
# cleanup, bounded waits, /proc/net/etp and /proc/net/etp_stat readers,
# sysctls, the sock:inet_sock_set_state tracepoint, and the module.
#
# Every wait here is bounded; every namespace, process and trace instance
# a test creates is removed by etp_cleanup (run from the EXIT trap).

ETP_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ETP_ROOT=${ETP_ROOT:-$(cd "$ETP_LIB_DIR/../.." && pwd)}
export PATH="$ETP_ROOT/userspace:$ETP_LIB_DIR:$PATH"

# --- TAP -----------------------------------------------------------------

if [ -n "${KSFT:-}" ] && [ -r "$KSFT/kselftest/ktap_helpers.sh" ]; then
	# shellcheck source=/dev/null
	. "$KSFT/kselftest/ktap_helpers.sh"
else
	# Plain TAP with the same function names, for runs without $KSFT.
	KTAP_TESTNO=1
	KTAP_CNT_PASS=0
	KTAP_CNT_FAIL=0
	KTAP_CNT_SKIP=0
	KSFT_NUM_TESTS=0
	KSFT_PASS=0
	KSFT_FAIL=1
	KSFT_SKIP=4
	ktap_print_header() { echo "TAP version 13"; }
	ktap_print_msg() { echo "#" "$@"; }
	ktap_set_plan() { KSFT_NUM_TESTS=$1; echo "1..$1"; }
	ktap_skip_all() { echo "1..0 # SKIP $*"; }
	ktap_test_pass() {
		echo "ok $KTAP_TESTNO $1"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)); KTAP_CNT_PASS=$((KTAP_CNT_PASS + 1))
	}
	ktap_test_skip() {
		echo "ok $KTAP_TESTNO $1 # SKIP"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)); KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
	}
	ktap_test_fail() {
		echo "not ok $KTAP_TESTNO $1"
		KTAP_TESTNO=$((KTAP_TESTNO + 1)); KTAP_CNT_FAIL=$((KTAP_CNT_FAIL + 1))
	}
	ktap_print_totals() {
		echo "# Totals: pass:$KTAP_CNT_PASS fail:$KTAP_CNT_FAIL xfail:0 xpass:0 skip:$KTAP_CNT_SKIP error:0"
	}
	ktap_finished() {
		ktap_print_totals
		[ $((KTAP_CNT_PASS + KTAP_CNT_SKIP)) -eq "$KSFT_NUM_TESTS" ] && exit 0
		exit 1
	}
fi

# etp_log MSG...: a diagnostic line, which TAP readers ignore.
etp_log() { echo "# $*"; }

# etp_result NAME COMMAND...: run COMMAND; ok if it succeeds. Its output is
# kept as comment lines, so a failing line comes with its reason.
etp_result() {
	local name=$1 out rc

	shift
	out=$("$@" 2>&1)
	rc=$?
	[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/# /'
	if [ $rc -eq 0 ]; then
		ktap_test_pass "$name"
	elif [ $rc -eq "$KSFT_SKIP" ]; then
		ktap_test_skip "$name"
	else
		ktap_test_fail "$name"
	fi
	return $rc
}

# etp_fail_msg MSG: print why the current check failed and return 1.
etp_fail_msg() { echo "FAIL: $*"; return 1; }

# --- setup and cleanup ---------------------------------------------------

ETP_TMP=
ETP_NETNS=()
ETP_PIDS=()
ETP_TRACE_INSTANCE=

etp_require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		ktap_print_header
		ktap_skip_all "needs root"
		exit "$KSFT_SKIP"
	fi
}

etp_require_module() {
	if [ ! -r /proc/net/etp_stat ]; then
		ktap_print_header
		ktap_skip_all "the etp module is not loaded"
		exit "$KSFT_SKIP"
	fi
}

# etp_require_cmd CMD...: skip the whole test when a tool is missing.
etp_require_cmd() {
	local c

	for c in "$@"; do
		if ! command -v "$c" >/dev/null; then
			ktap_print_header
			ktap_skip_all "$c not installed"
			exit "$KSFT_SKIP"
		fi
	done
}

etp_cleanup() {
	local p n

	for p in "${ETP_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${ETP_PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	for n in "${ETP_NETNS[@]}"; do
		etp_ns_drain "$n" 5
		ip netns del "$n" 2>/dev/null
	done
	etp_trace_stop
	[ -n "$ETP_TMP" ] && rm -rf "$ETP_TMP"
}

# etp_init: temp dir and cleanup trap; call once at the top of a test.
etp_init() {
	ETP_TMP=$(mktemp -d /tmp/etp-test.XXXXXX) || exit 1
	trap etp_cleanup EXIT
	trap 'exit 1' INT TERM
}

# etp_bg CMD...: run CMD in the background, killed at cleanup; sets $!.
# Descriptors 5-9 (where tests keep fifos open) are not inherited: a
# process holding the write end of another one's stdin fifo would keep
# that one from ever seeing end of file.
etp_bg() {
	# (<&0: without job control a background command's stdin would be
	# /dev/null unless redirected explicitly)
	"$@" <&0 5>&- 6>&- 7>&- 8>&- 9>&- &
	ETP_PIDS+=($!)
}

# etp_wait_pid PID SECS: wait for a background job at most SECS seconds;
# returns its exit status, or 124 if it had to be killed.
etp_wait_pid() {
	local pid=$1 end=$((SECONDS + $2))

	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 124
		fi
		sleep 0.05
	done
	wait "$pid"
}

# etp_ns_add NAME...: new network namespaces with lo up, deleted at cleanup.
etp_ns_add() {
	local n

	for n in "$@"; do
		ip netns add "$n" || return 1
		ETP_NETNS+=("$n")
		ip -n "$n" link set lo up || return 1
	done
}

# etp_veth NS1 ADDR1 NS2 ADDR2: a veth pair "veth0"/"veth1" between two
# namespaces, with ADDR/24 on each end, up.
etp_veth() {
	local ns1=$1 a1=$2 ns2=$3 a2=$4

	ip -n "$ns1" link add veth0 type veth peer name veth1 netns "$ns2" || return 1
	ip -n "$ns1" addr add "$a1/24" dev veth0 &&
	ip -n "$ns2" addr add "$a2/24" dev veth1 &&
	ip -n "$ns1" link set veth0 up &&
	ip -n "$ns2" link set veth1 up
}

# etp_ns_drain NS SECS: before a namespace is deleted, give its closing
# connections SECS seconds to finish (TIME_WAIT entries are fine: they do
# not hold the module). A connection still retransmitting into a deleted
# namespace would keep the module busy for minutes; report any left.
etp_ns_drain() {
	etp_wait_until "$2" _etp_ns_drained "$1" && return 0
	etp_log "connections still open in $1 at cleanup:"
	etp_proc_dump "$1"
}

_etp_ns_drained() {
	[ -z "$(ip netns exec "$1" awk 'NR > 1 && $4 != "06"' /proc/net/etp 2>/dev/null)" ]
}

# etp_ns NS CMD...: run CMD in namespace NS. (To start one in the
# background, use "ip netns exec NS CMD &" itself: then $! is CMD's pid,
# which ip keeps when it execs CMD, not the pid of a subshell running this
# function, and killing $! kills CMD.)
etp_ns() {
	local ns=$1

	shift
	ip netns exec "$ns" "$@"
}

# etp_wait_until SECS CMD...: retry CMD every 20 ms until it succeeds.
etp_wait_until() {
	local end=$((SECONDS + $1))

	shift
	while ! "$@"; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.02
	done
	return 0
}

# etp_wait_file SECS FILE: wait for FILE to exist and be non-empty.
etp_wait_file() {
	etp_wait_until "$1" test -s "$2"
}

# --- sysctls and /proc ---------------------------------------------------

# etp_sysctl NS NAME VALUE: set net.etp.NAME in namespace NS ("" = current).
# A value the kernel refuses ends the test program (or the subshell of the
# test it is in) with a failure: a test that runs with other settings than
# it believes proves nothing.
etp_sysctl() {
	local f=/proc/sys/net/etp/$2

	if [ -n "$1" ]; then
		ip netns exec "$1" sh -c "echo '$3' >$f" && return 0
	else
		echo "$3" >"$f" && return 0
	fi
	etp_log "cannot set net.etp.$2 to $3${1:+ in netns $1}"
	exit "$KSFT_FAIL"
}

# etp_stat NS NAME: a counter from /proc/net/etp_stat of namespace NS.
etp_stat() {
	local cmd=(cat /proc/net/etp_stat)

	[ -n "$1" ] && cmd=(ip netns exec "$1" "${cmd[@]}")
	"${cmd[@]}" | awk -v n="$2" '
		NR == 1 { for (i = 2; i <= NF; i++) idx[$i] = i }
		NR == 2 { if (n in idx) print $idx[n]; else print -1 }'
}

# etp_proc_state NS LPORT [RPORT]: the state (two hex digits, e.g. 06) of
# the /proc/net/etp line with local port LPORT (and remote port RPORT),
# or nothing. Ports are decimal.
etp_proc_state() {
	local cmd=(cat /proc/net/etp)

	[ -n "$1" ] && cmd=(ip netns exec "$1" "${cmd[@]}")
	"${cmd[@]}" | awk -v lp="$(printf '%04X' "$2")" -v rp="$(printf '%04X' "${3:-0}")" -v any="${3:-any}" '
		NR > 1 {
			split($2, l, ":"); split($3, r, ":")
			if (l[2] == lp && (any == "any" || r[2] == rp)) { print $4; exit }
		}'
}

# etp_wait_proc_state SECS NS LPORT RPORT STATE: wait until the line shows
# STATE ("" = the line is gone).
etp_wait_proc_state() {
	local secs=$1 ns=$2 lp=$3 rp=$4 want=$5

	etp_wait_until "$secs" _etp_proc_is "$ns" "$lp" "$rp" "$want"
}

_etp_proc_is() {
	[ "$(etp_proc_state "$1" "$2" "$3")" = "$4" ]
}

# etp_proc_dump NS: /proc/net/etp of NS as comment lines.
etp_proc_dump() {
	local cmd=(cat /proc/net/etp)

	[ -n "$1" ] && cmd=(ip netns exec "$1" "${cmd[@]}")
	"${cmd[@]}" | sed "s/^/# ${1:-init} | /"
}

# etp_state_name HEX: the TCP-style name of a /proc/net/etp state.
etp_state_name() {
	case $1 in
	01) echo ESTABLISHED ;; 02) echo SYN_SENT ;; 03) echo SYN_RECV ;;
	04) echo FIN_WAIT1 ;; 05) echo FIN_WAIT2 ;; 06) echo TIME_WAIT ;;
	07) echo CLOSE ;; 08) echo CLOSE_WAIT ;; 09) echo LAST_ACK ;;
	0A) echo LISTEN ;; 0B) echo CLOSING ;; "") echo "(none)" ;; *) echo "?$1" ;;
	esac
}

# --- nftables ------------------------------------------------------------

# etp_nft_drop NS HOOK [MATCH]: drop ETP segments in hook "input" or
# "output" of NS (optionally only those matching MATCH, an nft expression).
# Each call adds one rule to table "ip etp_test"; etp_nft_flush NS removes
# them all. (Debian 12's nft aborts when it lists a rule with a raw @th
# match, so the rules are never listed.)
etp_nft_drop() {
	local ns=$1 hook=$2 match=${3:-}

	ip netns exec "$ns" nft -f - <<-EOF || return 1
		table ip etp_test {
			chain $hook { type filter hook $hook priority 0; }
		}
		add rule ip etp_test $hook meta l4proto 253 $match drop
	EOF
}

etp_nft_flush() {
	ip netns exec "$1" nft delete table ip etp_test 2>/dev/null
	return 0
}

# Matches on the ETP flags byte for etp_nft_drop and etp_nft_drop_once.
# The byte is at offset 13 of the ETP header; nft 1.0.6 aborts when it
# lists a rule matching raw transport-header bits (@th), so these address
# it from the network header instead (@nh, a 20-byte IP header: ETP
# segments carry no IP options): bit 20 * 8 + 13 * 8 = 264.
ETP_NFT_FLAGS="ip hdrlength 5 @nh,264,8"		# == 0x12 etc.
ETP_NFT_FIN="ip hdrlength 5 @nh,271,1 1"		# FIN bit set
# A segment without options and without payload (bare ACK, RST, FIN).
ETP_NFT_EMPTY="ip length 40"

# etp_nft_drop_once NS HOOK MATCH: drop exactly one ETP segment, the first
# in hook "input" or "output" of NS that matches MATCH (an nft expression),
# and count it in the named counter "dropped" of table "ip etp_once".
# ("limit rate 1/hour burst 1 packets" matches the first packet only.)
# Replaces an earlier rule of the same namespace. etp_nft_dropped NS prints
# the count; etp_nft_once_flush NS removes the table.
etp_nft_drop_once() {
	local ns=$1 hook=$2 match=$3

	etp_nft_once_flush "$ns"
	ip netns exec "$ns" nft -f - <<-EOF || return 1
		table ip etp_once {
			counter dropped { }
			chain $hook {
				type filter hook $hook priority 0; policy accept;
				meta l4proto 253 $match limit rate 1/hour burst 1 packets counter name "dropped" drop
			}
		}
	EOF
}

etp_nft_dropped() {
	ip netns exec "$1" nft list counter ip etp_once dropped 2>/dev/null |
		awk '$1 == "packets" { print $2; found = 1 } END { if (!found) print -1 }'
}

etp_nft_once_flush() {
	ip netns exec "$1" nft delete table ip etp_once 2>/dev/null
	return 0
}

# --- tracing -------------------------------------------------------------

ETP_TRACEFS=/sys/kernel/tracing

# etp_trace_start: a trace instance of its own recording
# sock:inet_sock_set_state for protocol 253 only. Returns 1 when tracing
# is not available.
etp_trace_start() {
	local t=$ETP_TRACEFS

	[ -d "$t/instances" ] || mount -t tracefs nodev "$t" 2>/dev/null
	[ -d "$t/instances" ] || return 1
	ETP_TRACE_INSTANCE=$t/instances/etp_$$
	mkdir "$ETP_TRACE_INSTANCE" 2>/dev/null || { ETP_TRACE_INSTANCE=; return 1; }
	echo 'protocol == 253' >"$ETP_TRACE_INSTANCE/events/sock/inet_sock_set_state/filter" &&
	echo 1 >"$ETP_TRACE_INSTANCE/events/sock/inet_sock_set_state/enable" &&
	echo 1 >"$ETP_TRACE_INSTANCE/tracing_on"
}

# etp_trace_lines [PORT...]: the recorded state changes involving any of
# the PORTs (all if none), as "sport dport OLD NEW" (names without TCP_).
etp_trace_lines() {
	[ -n "$ETP_TRACE_INSTANCE" ] || return 1
	awk -v ports=" $* " '
		/inet_sock_set_state/ {
			sp = dp = o = n = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^sport=/) sp = substr($i, 7)
				if ($i ~ /^dport=/) dp = substr($i, 7)
				if ($i ~ /^oldstate=/) o = substr($i, 10)
				if ($i ~ /^newstate=/) n = substr($i, 10)
			}
			sub(/^TCP_/, "", o); sub(/^TCP_/, "", n)
			if (ports == "  " || index(ports, " " sp " ") || index(ports, " " dp " "))
				print sp, dp, o, n
		}' "$ETP_TRACE_INSTANCE/trace"
}

# etp_trace_raw: the raw trace lines (for showing to a reader).
etp_trace_raw() {
	[ -n "$ETP_TRACE_INSTANCE" ] && grep inet_sock_set_state "$ETP_TRACE_INSTANCE/trace"
}

# etp_trace_states SPORT DPORT [client]: the states the socket with that
# local and remote port moved through, in order, on one line
# ("SYN_SENT ESTABLISHED ..."). With "client", a line with dport 0 counts
# too (connect() may report SYN_SENT before it fixed the remote end; on a
# server port such lines are the listener's).
etp_trace_states() {
	etp_trace_lines | awk -v sp="$1" -v dp="$2" -v any0="${3:-}" '
		$1 == sp && ($2 == dp || ($2 == 0 && any0 == "client")) {
			printf "%s%s", sep, $4; sep = " "
		}
		END { print "" }'
}

etp_trace_stop() {
	[ -n "$ETP_TRACE_INSTANCE" ] || return 0
	echo 0 >"$ETP_TRACE_INSTANCE/events/sock/inet_sock_set_state/enable" 2>/dev/null
	rmdir "$ETP_TRACE_INSTANCE" 2>/dev/null
	ETP_TRACE_INSTANCE=
}

# --- the module ----------------------------------------------------------

# etp_module_path: $ETP_MODULE when it is set (the VM harness sets it to the
# etp.ko built for the kernel the VM runs: never fall back to another one),
# else the repository's etp.ko.
etp_module_path() {
	local m=${ETP_MODULE:-$ETP_ROOT/etp.ko}

	[ -r "$m" ] && echo "$m"
}

etp_module_loaded() { [ -d /sys/module/etp ]; }

etp_module_refcnt() { cat /sys/module/etp/refcnt 2>/dev/null || echo -1; }

# etp_insmod: load the module unless it is loaded.
etp_insmod() {
	etp_module_loaded && return 0
	insmod "$(etp_module_path)"
}

# etp_rmmod_wait SECS: rmmod, retrying while the module is busy (sockets
# of deleted namespaces are freed asynchronously).
etp_rmmod_wait() {
	local end=$((SECONDS + $1))

	while ! rmmod etp 2>/dev/null; do
		etp_module_loaded || return 0
		[ $SECONDS -ge $end ] && { rmmod etp; return 1; }
		sleep 0.1
	done
}

# etp_module_settle SECS: wait until no ETP socket holds the module (the
# namespaces a test deleted are dismantled in the background). Bounded;
# never fails.
etp_module_settle() {
	etp_wait_until "$1" test "$(etp_module_refcnt)" -le 0 || true
}

# --- two VMs ---------------------------------------------------------------

# etp_2vm_init ROLE: check the role ("a" or "b") and the addresses the VM
# harness sets (ETP_LOCAL_ADDR, ETP_PEER_ADDR); sets ROLE, LOCAL, PEER.
etp_2vm_init() {
	ROLE=${1:-${ETP_ROLE:-}}
	case $ROLE in
	a|b) ;;
	*)
		ktap_print_header
		ktap_skip_all "needs the role a or b as last argument (two-VM test)"
		exit "$KSFT_SKIP"
		;;
	esac
	LOCAL=${ETP_LOCAL_ADDR:-}
	PEER=${ETP_PEER_ADDR:-}
	if [ -z "$LOCAL" ] || [ -z "$PEER" ]; then
		ktap_print_header
		ktap_skip_all "ETP_LOCAL_ADDR/ETP_PEER_ADDR not set (not in the two-VM harness)"
		exit "$KSFT_SKIP"
	fi
	ETP_PEER_LOST=
}

# etp_2vm_kernels: a comment line naming the kernel each VM runs (the harness
# learns the peer's, ETP_PEER_KERNEL; in its mixed pair they differ).
etp_2vm_kernels() {
	etp_log "kernels: VM $ROLE $(uname -r), VM $([ "$ROLE" = a ] && echo b || echo a)" \
		"${ETP_PEER_KERNEL:-(unknown)}"
}

# etp_2vm_barrier PORT SECS: rendezvous with the peer VM over plain TCP
# (so it works even when ETP does not): a listens, b retries connecting.
# Once a barrier failed, later ones fail at once instead of waiting again.
etp_2vm_barrier() {
	local port=$1 secs=$2

	[ -z "$ETP_PEER_LOST" ] || return 1
	if [ "$ROLE" = a ]; then
		etp-xfer -q -P tcp -t "$secs" -s "$LOCAL" -l "$port" >/dev/null 2>&1
	else
		etp-xfer -q -P tcp -t "$secs" -r "$secs" -c 1 "$PEER" "$port" >/dev/null 2>&1
	fi || { ETP_PEER_LOST=yes; etp_log "barrier on TCP port $port: no peer within $secs s"; return 1; }
}

# --- links, netem and transfer results -------------------------------------

# etp_veth_pair NS1 DEV1 ADDR1/LEN NS2 DEV2 ADDR2/LEN: a veth pair named
# DEV1 (in NS1) and DEV2 (in NS2) with those addresses, both ends up. For
# topologies with more than one link per namespace (etp_veth names its
# ends veth0/veth1).
etp_veth_pair() {
	local ns1=$1 d1=$2 a1=$3 ns2=$4 d2=$5 a2=$6

	ip -n "$ns1" link add "$d1" type veth peer name "$d2" netns "$ns2" || return 1
	ip -n "$ns1" addr add "$a1" dev "$d1" &&
	ip -n "$ns2" addr add "$a2" dev "$d2" &&
	ip -n "$ns1" link set "$d1" up &&
	ip -n "$ns2" link set "$d2" up
}

# etp_netem NS DEV SPEC...: make netem SPEC the root qdisc of DEV in NS
# ("" = the current namespace); SPEC "none" removes the root qdisc.
etp_netem() {
	local ns=$1 dev=$2 tc=(tc)

	shift 2
	[ -n "$ns" ] && tc=(tc -n "$ns")
	if [ "$1" = none ]; then
		"${tc[@]}" qdisc del dev "$dev" root 2>/dev/null
		return 0
	fi
	"${tc[@]}" qdisc replace dev "$dev" root netem "$@"
}

# The helpers below run once per transfer in the matrix tests. Under QEMU
# TCG every process costs 50-100 ms, so they read and parse with shell
# builtins and at most one tc call.

# etp_qdisc_counts NS: how many packets each root qdisc of NS ("" = the
# current namespace) sent and dropped, into ETP_QDISC_SENT[DEV] and
# ETP_QDISC_DROPPED[DEV], to show beside a result what netem did.
etp_qdisc_counts() {
	local tc=(tc) dev='' w

	[ -n "$1" ] && tc=(tc -n "$1")
	declare -gA ETP_QDISC_SENT=() ETP_QDISC_DROPPED=()
	while read -r -a w; do
		if [ "${w[0]}" = qdisc ] && [ "${w[3]}" = dev ]; then
			dev=${w[4]}
		elif [ "${w[0]}" = Sent ] && [ -n "$dev" ]; then
			ETP_QDISC_SENT[$dev]=${w[3]}
			ETP_QDISC_DROPPED[$dev]=${w[6]%,}
			dev=''
		fi
	done < <("${tc[@]}" -s qdisc show)
}

# etp_counters FILE ARRAY: the ETP counters in FILE (/proc/net/etp_stat,
# or /proc/PID/net/etp_stat for the namespace of process PID) into ARRAY,
# their names into ETP_COUNTER_NAMES.
etp_counters() {
	local -a l

	mapfile -t l <"$1" || return 1
	read -r -a ETP_COUNTER_NAMES <<<"${l[0]}"
	read -r -a "$2" <<<"${l[1]}"
}

# etp_counters_moved BEFORE AFTER [NAME...]: "Name +N, ..." for the
# counters (all, or the NAMEs) that grew from etp_counters array BEFORE to
# AFTER (both given by name), or "(none moved)".
etp_counters_moved() {
	local -n _etp_x=$1 _etp_y=$2
	local only=" ${*:3} " i n out=''

	for ((i = 1; i < ${#ETP_COUNTER_NAMES[@]}; i++)); do
		n=${ETP_COUNTER_NAMES[i]}
		[ "$only" = "  " ] || [[ $only == *" $n "* ]] || continue
		[ "${_etp_y[i]:-0}" -gt "${_etp_x[i]:-0}" ] &&
			out+="${out:+, }$n +$((_etp_y[i] - _etp_x[i]))"
	done
	echo "${out:-(none moved)}"
}

# etp_xfer_result FILE: from etp-xfer's result lines in FILE, XFER_SENT,
# XFER_RECEIVED and XFER_PEER ("BYTES HEX" of the sent, received and
# peer-received lines), XFER_SECS and XFER_RATE (MB/s); empty when absent.
etp_xfer_result() {
	local k n x

	XFER_SENT='' XFER_RECEIVED='' XFER_PEER='' XFER_SECS='' XFER_RATE=''
	while read -r k n _ x _; do
		case $k in
		sent) XFER_SENT="$n $x" ;;
		received) XFER_RECEIVED="$n $x" ;;
		peer-received) XFER_PEER="$n $x" ;;
		elapsed) XFER_SECS=$n XFER_RATE=$x ;;
		esac
	done <"$1"
}

# etp_cmp_row FILE NAME NETEM ETP_SECS TCP_SECS: add a row to the ETP/TCP
# comparison table kept in FILE ("-" for a time that was not measured).
etp_cmp_row() {
	printf '%s\t%s\t%s\t%s\n' "$2" "$3" "${4:--}" "${5:--}" >>"$1"
}

# etp_cmp_table FILE: the comparison table as comment lines: the times of
# ETP and TCP and their ratio. Figures only: nothing here passes or fails.
etp_cmp_table() {
	[ -s "$1" ] || return 0
	awk -F '\t' '
		{ n[NR] = $1; e[NR] = $2; et[NR] = $3; tt[NR] = $4
		  if (length($1) > w) w = length($1); if (length($2) > v) v = length($2) }
		END {
			printf "# %-*s  %-*s  %8s  %8s  %7s\n", w, "transfer", v, "netem", "ETP s", "TCP s", "ETP/TCP"
			for (i = 1; i <= NR; i++) {
				r = (et[i] != "-" && tt[i] != "-" && tt[i] > 0) ? sprintf("%.1f", et[i] / tt[i]) : "-"
				printf "# %-*s  %-*s  %8s  %8s  %7s\n", w, n[i], v, e[i], et[i], tt[i], r
			}
		}' "$1"
}

# --- two VMs: the links ----------------------------------------------------

# etp_gso_max_segs IF [NETNS]: the GSO segment limit of IF (sysfs does not show it).
etp_gso_max_segs() {
	ip ${2:+-n "$2"} -d link show dev "$1" |
		sed -n 's/.* gso_max_segs \([0-9]*\).*/\1/p'
}

# etp_nic_driver IFNAME: the name of the driver bound to IFNAME's device.
etp_nic_driver() {
	local d

	d=$(readlink -f "/sys/class/net/$1/device/driver" 2>/dev/null) && [ -n "$d" ] &&
		basename "$d"
}

# etp_2vm_nic MODEL: the link a two-VM test moves its data over, by the
# NIC model at both ends: "virtio" (virtio-net, $ETP_IFNAME,
# 10.253.0.0/24) or "e1000" ($ETP_E1000_IFNAME, 10.253.1.0/24). Sets NIC,
# NIC_DRIVER, NIC_IF, NIC_LOCAL and NIC_PEER; returns 2 for an unknown
# model and 1 when the harness did not set that link up. Barriers stay on
# the virtio link ($LOCAL, $PEER).
etp_2vm_nic() {
	NIC=$1
	case $1 in
	virtio)
		NIC_DRIVER=virtio_net NIC_IF=${ETP_IFNAME:-}
		NIC_LOCAL=${ETP_LOCAL_ADDR:-} NIC_PEER=${ETP_PEER_ADDR:-}
		;;
	e1000)
		NIC_DRIVER=e1000 NIC_IF=${ETP_E1000_IFNAME:-}
		NIC_LOCAL=${ETP_E1000_LOCAL_ADDR:-} NIC_PEER=${ETP_E1000_PEER_ADDR:-}
		;;
	*)
		return 2
		;;
	esac
	[ -n "$NIC_IF" ] && [ -n "$NIC_LOCAL" ] && [ -n "$NIC_PEER" ]
}

# etp_2vm_nic_check: fail unless the selected link's interface is driven
# by the driver of its model (a test named after e1000 runs over e1000).
etp_2vm_nic_check() {
	local drv

	drv=$(etp_nic_driver "$NIC_IF")
	[ "$drv" = "$NIC_DRIVER" ] ||
		etp_fail_msg "$NIC_IF is driven by '${drv:-no driver}', not $NIC_DRIVER"
}
