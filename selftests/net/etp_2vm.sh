#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ETP between two VMs, run in both with the same arguments plus the role:
#
#   etp_2vm.sh GROUP [NIC] a      (in VM a)
#   etp_2vm.sh GROUP [NIC] b      (in VM b)
#
#   +-----------------------+                      +-----------------------+
#   | VM a                  |  virtio-net, QEMU    | VM b                  |
#   | eth0 10.253.0.1/24    |<====================>| eth0 10.253.0.2/24    |
#   |                       |  e1000, QEMU         |                       |
#   | eth1 10.253.1.1/24    |<====================>| eth1 10.253.1.2/24    |
#   | etp-xfer / etpcat     |   ETP (protocol 253) | etp-xfer / etpcat     |
#   +-----------------------+                      +-----------------------+
#
# NIC: the link the data goes over, named by its NIC model: virtio (the
# default) or e1000. Every test name carries it, and every test first
# checks that the interface is driven by that model's driver (virtio_net,
# e1000). The rendezvous between the steps always uses the virtio link.
#
# GROUP:
# basic        echo b -> a -> b; connection refused across the link (a
#              counts its RST); four connections in parallel; a TCP
#              baseline of 16 MiB a -> b to compare rates with
# file_a_to_b  a 16 MiB random file a -> b, verified by SHA-256 on both
#              ends (the receiver sends its digest back over the
# file_b_to_a  half-closed connection); and the same b -> a
# impaired     2 MiB a -> b with netem loss 1% and delay 5 ms on both NICs
# matrix       random files each way under netem settings on both VMs'
#              NICs (delay, jitter, loss, reordering, duplication,
#              corruption), each beside the same transfer over TCP, and a
#              table of the times; with NIC e1000 only the settings marked
#              for both NICs
#
# Every step starts with a rendezvous over plain TCP (etp_2vm_barrier), so
# the two VMs stay in step even when a step fails on one side. Each VM
# reports its own side of each step.

. "$(dirname "$0")/etp_lib.sh"

GROUP=$1
if [ $# -ge 3 ]; then
	NIC_ARG=$2
	ROLE_ARG=$3
else
	NIC_ARG=virtio
	ROLE_ARG=${2:-}
fi
etp_require_root
etp_require_module
etp_require_cmd etp-xfer etpcat sha256sum
etp_2vm_init "$ROLE_ARG"
etp_2vm_nic "$NIC_ARG"
case $? in
0) ;;
2)
	ktap_print_header
	ktap_print_msg "unknown NIC model '$NIC_ARG' (virtio, e1000)"
	ktap_set_plan 1
	ktap_test_fail "nic_model_$NIC_ARG"
	ktap_finished
	;;
*)
	ktap_print_header
	ktap_skip_all "the $NIC_ARG link is not set up (not in the two-VM harness?)"
	exit "$KSFT_SKIP"
	;;
esac
etp_init
T=$ETP_TMP
BARRIER=25400

# on_nic FUNC...: check that the link's NIC has the driver of its model,
# then run FUNC.
on_nic() {
	echo "link: $NIC_IF ($NIC_DRIVER) $NIC_LOCAL -> $NIC_PEER"
	etp_2vm_nic_check || return 1
	"$@"
}

# step NAME FUNC [ARG...]: rendezvous, then run FUNC as one TAP test named
# NAME_NIC_role_ROLE.
step() {
	local name=${1}_${NIC}_role_$ROLE

	shift
	BARRIER=$((BARRIER + 1))
	if ! etp_2vm_barrier $BARRIER "${BARRIER_SECS:-120}"; then
		ktap_test_fail "$name # peer VM did not arrive"
		return
	fi
	etp_result "$name" on_nic "$@"
}

# --- basic ---

t_echo() {
	if [ "$ROLE" = a ]; then
		etp-xfer -E -t 60 -s "$NIC_LOCAL" -l 7301
	else
		etp-xfer -r 30 -t 60 -n 256k -e "$NIC_PEER" 7301
	fi
}

t_refused() {
	local before after rc

	if [ "$ROLE" = a ]; then
		# b connects to a port nobody listens on; a answers with a RST.
		before=$(etp_stat "" OutRsts)
		etp_2vm_barrier 25499 60 || return 1
		etp_2vm_barrier 25498 60 || return 1
		after=$(etp_stat "" OutRsts)
		echo "OutRsts $before -> $after"
		[ "$after" -gt "$before" ] || etp_fail_msg "no RST counted"
	else
		etp_2vm_barrier 25499 60 || return 1
		etpcat -w 10 "$NIC_PEER" 7399 </dev/null 2>"$T/err"
		rc=$?
		etp_2vm_barrier 25498 60
		cat "$T/err"
		[ $rc -eq 2 ] && grep -qx "etpcat: connect $NIC_PEER:7399: Connection refused" "$T/err" ||
			etp_fail_msg "exit $rc, want 2 and ECONNREFUSED"
	fi
}

t_parallel() {
	local pids=() i rc=0

	for i in 0 1 2 3; do
		if [ "$ROLE" = a ]; then
			etp-xfer -q -t 120 -s "$NIC_LOCAL" -l $((7310 + i)) -H -x 1M >"$T/p$i" 2>&1 &
		else
			etp-xfer -q -t 120 -r 30 -n 1M -C "$NIC_PEER" $((7310 + i)) >"$T/p$i" 2>&1 &
		fi
		pids+=($!)
	done
	for i in 0 1 2 3; do
		etp_wait_pid "${pids[$i]}" 130 || { echo "connection $i failed"; rc=1; }
		sed "s/^/conn $i: /" "$T/p$i"
	done
	return $rc
}

# --- bulk ---

# send_file PORT: the listener side sends a fresh 16 MiB random file and
# checks the digest the receiver sends back.
send_file() {
	head -c $((16 << 20)) /dev/urandom >"$T/file" || return 1
	echo "file: $(sha256sum "$T/file" | cut -d' ' -f1)"
	etp-xfer -t 280 -s "$NIC_LOCAL" -l "$1" -i "$T/file" -C
}

# recv_file PORT: the connecting side receives into a file, checks its
# size, prints its SHA-256 and sends the digest back.
recv_file() {
	local rc

	etp-xfer -t 280 -r 60 -H -x 16M -o "$T/file" "$NIC_PEER" "$1"
	rc=$?
	echo "file: $(sha256sum "$T/file" | cut -d' ' -f1) ($(stat -c %s "$T/file") bytes)"
	rm -f "$T/file"
	return $rc
}

t_bulk_a_to_b() {
	if [ "$ROLE" = a ]; then send_file 7302; else recv_file 7302; fi
}

t_bulk_b_to_a() {
	if [ "$ROLE" = b ]; then send_file 7303; else recv_file 7303; fi
}

t_tcp_baseline() {
	if [ "$ROLE" = a ]; then
		etp-xfer -P tcp -t 200 -s "$NIC_LOCAL" -l 7304 -n 16M -C
	else
		etp-xfer -P tcp -t 200 -r 60 -H -x 16M "$NIC_PEER" 7304
	fi
}

# --- impaired ---

t_impaired() {
	local rc

	tc qdisc replace dev "$NIC_IF" root netem loss 1% delay 5ms ||
		return "$KSFT_SKIP"
	if [ "$ROLE" = a ]; then
		etp-xfer -t 300 -s "$NIC_LOCAL" -l 7305 -n 2M -C
	else
		etp-xfer -t 300 -r 60 -H -x 2M "$NIC_PEER" 7305
	fi
	rc=$?
	tc qdisc del dev "$NIC_IF" root
	echo "RetransSegs $(etp_stat "" RetransSegs) Timeouts $(etp_stat "" Timeouts)"
	return $rc
}

# --- matrix ---

# The two-VM matrix: name, file size in MiB, deadline in seconds per
# transfer, the NICs it runs over ("both" or "virtio"), and the netem
# arguments each VM puts on its own NIC (so both directions see them).
# About 4.5 minutes under TCG for both NICs together; the deadlines only
# catch a transfer that has stalled.
MATRIX=(
	"delay_0ms                       16 120 both   delay 0ms"
	"delay_20ms_jitter_5ms            2 120 virtio delay 20ms 5ms"
	"delay_100ms_jitter_20ms          1 150 virtio delay 100ms 20ms"
	"loss_1pct                        8 120 both   loss 1%"
	"loss_5pct                        2 120 both   loss 5%"
	"loss_10pct                       1 150 virtio loss 10%"
	"reorder_25pct_delay_10ms         4 120 both   delay 10ms reorder 25% 50%"
	"duplicate_5pct_corrupt_1pct      8 120 both   duplicate 5% corrupt 1%"
	"loss_2pct_delay_20ms_jitter_5ms  2 120 virtio delay 20ms 5ms loss 2%"
)

# The ETP counters shown beside each result.
STATS="RetransSegs Timeouts FastRetrans FastRecovery InDupAcks InOutOfOrder InDupData OfoDrops InCsumErrors InUnacceptable InAckUnsent ChallengeAcks"

# m_xfer PROTO DIR MIB LIMIT PORT NETEM...: one file of MIB MiB from a to b
# (DIR a_to_b) or b to a (b_to_a) over PROTO under netem NETEM on both
# NICs; b listens. The sender checks the digest the receiver sends back
# against the file's; the receiver checks the byte count. GSO is capped at
# one segment during the transfer so that netem sees one packet per
# segment for TCP too, as it does for ETP. The time this VM measured is
# left in $T/secs.
m_xfer() {
	local proto=$1 dir=$2 mib=$3 limit=$4 port=$5 bytes sender gso rc sum
	local c='' want='' desc
	# shellcheck disable=SC2034 # filled and read by name
	local s0 s1

	shift 5
	: >"$T/secs"
	bytes=$((mib << 20))
	sender=${dir%%_*}
	gso=$(etp_gso_max_segs "$NIC_IF")
	[ -n "$gso" ] || { etp_log "cannot read the GSO limit of $NIC_IF"; return 1; }
	ip link set dev "$NIC_IF" gso_max_segs 1 || return 1
	if ! tc qdisc replace dev "$NIC_IF" root netem "$@"; then
		ip link set dev "$NIC_IF" gso_max_segs "$gso"
		return 1
	fi
	etp_counters /proc/net/etp_stat s0
	if [ "$ROLE" = "$sender" ]; then
		head -c "$bytes" /dev/urandom >"$T/file" || return 1
		read -r sum _ < <(sha256sum "$T/file")
		want="$bytes $sum"
		if [ "$ROLE" = b ]; then
			etp-xfer -q -P "$proto" -t "$limit" -s "$NIC_LOCAL" -l "$port" \
				-i "$T/file" -C >"$T/out" 2>"$T/err"
		else
			etp-xfer -q -P "$proto" -t "$limit" -r 30 -i "$T/file" -C \
				"$NIC_PEER" "$port" >"$T/out" 2>"$T/err"
		fi
		rc=$?
	else
		if [ "$ROLE" = b ]; then
			etp-xfer -q -P "$proto" -t "$limit" -s "$NIC_LOCAL" -l "$port" \
				-H -x "$bytes" >"$T/out" 2>"$T/err"
		else
			etp-xfer -q -P "$proto" -t "$limit" -r 30 -H -x "$bytes" \
				"$NIC_PEER" "$port" >"$T/out" 2>"$T/err"
		fi
		rc=$?
	fi
	etp_qdisc_counts ""
	c="netem out of $NIC_IF: ${ETP_QDISC_SENT[$NIC_IF]:-0} sent ${ETP_QDISC_DROPPED[$NIC_IF]:-0} dropped"
	tc qdisc del dev "$NIC_IF" root
	ip link set dev "$NIC_IF" gso_max_segs "$gso"
	if [ "$proto" = etp ]; then
		etp_counters /proc/net/etp_stat s1
		# shellcheck disable=SC2086 # a list of names
		c+="; ETP counters: $(etp_counters_moved s0 s1 $STATS)"
	fi

	etp_xfer_result "$T/out"
	desc="$proto $mib MiB $dir over $NIC, netem \"$*\" on both VMs' $NIC NICs"
	if [ "$ROLE" = "$sender" ] && [ $rc -eq 0 ] && [ "$XFER_SENT" = "$want" ] &&
	   [ "$XFER_PEER" = "$want" ]; then
		echo "[ OK ] $desc: sent in ${XFER_SECS}s, the receiver reported the same SHA-256"
	elif [ "$ROLE" != "$sender" ] && [ $rc -eq 0 ] && [ "${XFER_RECEIVED%% *}" = "$bytes" ]; then
		echo "[ OK ] $desc: received in ${XFER_SECS}s, sha256 ${XFER_RECEIVED#* }"
	else
		echo "[FAIL] $desc: etp-xfer exit $rc"
		echo "       $c"
		[ -z "$want" ] || echo "file:     $want"
		cat "$T/out" "$T/err"
		etp_proc_dump ""
		return 1
	fi
	echo "       $c"
	echo "$XFER_SECS" >"$T/secs"
}

run_matrix() {
	local rows=() row name mib limit nics spec dir proto test tname port=7400 e t

	for row in "${MATRIX[@]}"; do
		read -r name mib limit nics spec <<<"$row"
		[ "$nics" = both ] || [ "$nics" = "$NIC" ] && rows+=("$row")
	done
	ktap_set_plan $((${#rows[@]} * 4))
	for row in "${rows[@]}"; do
		read -r name mib limit nics spec <<<"$row"
		for dir in a_to_b b_to_a; do
			test=${name}_${mib}MiB_$dir
			for proto in etp tcp; do
				port=$((port + 1))
				tname=$test
				[ "$proto" = tcp ] && tname=tcp_$test
				: >"$T/secs"
				# shellcheck disable=SC2086 # netem arguments
				step "$tname" m_xfer "$proto" "$dir" "$mib" "$limit" "$port" $spec
				if [ "$proto" = etp ]; then e=$(cat "$T/secs"); else t=$(cat "$T/secs"); fi
			done
			etp_cmp_row "$T/table" "${test}_$NIC" "$spec" "$e" "$t"
		done
	done
	etp_log "ETP and TCP over $NIC, time measured by VM $ROLE (the sender's for" \
		"$( [ "$ROLE" = a ] && echo a_to_b || echo b_to_a), the receiver's otherwise)"
	etp_cmp_table "$T/table"
}

ktap_print_header
etp_log "two-VM group '$GROUP', role $ROLE, NIC $NIC: $NIC_LOCAL <-> $NIC_PEER over $NIC_IF"
etp_2vm_kernels
case $GROUP in
basic)
	BARRIER=25410
	ktap_set_plan 4
	step "echo_256kib_b_to_a_and_back" t_echo
	step "connect_refused_across_vms" t_refused
	step "four_parallel_1mib_connections_b_to_a" t_parallel
	step "tcp_baseline_16mib_a_to_b" t_tcp_baseline
	;;
file_a_to_b)
	BARRIER=25420
	ktap_set_plan 1
	step "file_16mib_a_to_b_sha256" t_bulk_a_to_b
	;;
file_b_to_a)
	BARRIER=25425
	ktap_set_plan 1
	step "file_16mib_b_to_a_sha256" t_bulk_b_to_a
	;;
impaired)
	BARRIER=25430
	ktap_set_plan 1
	step "2mib_a_to_b_loss_1pct_delay_5ms" t_impaired
	;;
matrix)
	BARRIER=25440
	run_matrix
	;;
*)
	ktap_skip_all "unknown group '$GROUP' (basic, file_a_to_b, file_b_to_a, impaired, matrix)"
	exit "$KSFT_SKIP"
	;;
esac
ktap_finished
