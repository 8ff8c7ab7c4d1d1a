#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ETP between two VMs, run in both with the same arguments plus the role:
#
#   etp_2vm.sh GROUP a      (in VM a)
#   etp_2vm.sh GROUP b      (in VM b)
#
#   +-----------------------+                      +-----------------------+
#   | VM a                  |  virtio-net, QEMU    | VM b                  |
#   | eth0 10.253.0.1/24    |<====================>| eth0 10.253.0.2/24    |
#   | etp-xfer / etpcat     |   ETP (protocol 253) | etp-xfer / etpcat     |
#   +-----------------------+                      +-----------------------+
#
# GROUP:
# basic        echo b -> a -> b; connection refused across the link (a
#              counts its RST); four connections in parallel; a TCP
#              baseline of 16 MiB a -> b to compare rates with
# file_a_to_b  a 16 MiB random file a -> b, verified by SHA-256 on both
#              ends (the receiver sends its digest back over the
# file_b_to_a  half-closed connection); and the same b -> a
# impaired     2 MiB a -> b with netem loss 1% and delay 5 ms on both NICs
#
# Every step starts with a rendezvous over plain TCP (etp_2vm_barrier), so
# the two VMs stay in step even when a step fails on one side. Each VM
# reports its own side of each step.

. "$(dirname "$0")/etp_lib.sh"

GROUP=$1
etp_require_root
etp_require_module
etp_require_cmd etp-xfer etpcat sha256sum
etp_2vm_init "${2:-}"
etp_init
T=$ETP_TMP
BARRIER=25400

# step NAME FUNC: rendezvous, then run FUNC as one TAP test.
step() {
	BARRIER=$((BARRIER + 1))
	if ! etp_2vm_barrier $BARRIER "${BARRIER_SECS:-120}"; then
		ktap_test_fail "$1 # peer VM did not arrive"
		return
	fi
	etp_result "$1" "$2"
}

# --- basic ---

t_echo() {
	if [ "$ROLE" = a ]; then
		etp-xfer -E -t 60 -s "$LOCAL" -l 7301
	else
		etp-xfer -r 30 -t 60 -n 256k -e "$PEER" 7301
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
		etpcat -w 10 "$PEER" 7399 </dev/null 2>"$T/err"
		rc=$?
		etp_2vm_barrier 25498 60
		cat "$T/err"
		[ $rc -eq 2 ] && grep -qx "etpcat: connect $PEER:7399: Connection refused" "$T/err" ||
			etp_fail_msg "exit $rc, want 2 and ECONNREFUSED"
	fi
}

t_parallel() {
	local pids=() i rc=0

	for i in 0 1 2 3; do
		if [ "$ROLE" = a ]; then
			etp-xfer -q -t 120 -s "$LOCAL" -l $((7310 + i)) -H -x 1M >"$T/p$i" 2>&1 &
		else
			etp-xfer -q -t 120 -r 30 -n 1M -C "$PEER" $((7310 + i)) >"$T/p$i" 2>&1 &
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
	etp-xfer -t 280 -s "$LOCAL" -l "$1" -i "$T/file" -C
}

# recv_file PORT: the connecting side receives into a file, checks its
# size, prints its SHA-256 and sends the digest back.
recv_file() {
	local rc

	etp-xfer -t 280 -r 60 -H -x 16M -o "$T/file" "$PEER" "$1"
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
		etp-xfer -P tcp -t 200 -s "$LOCAL" -l 7304 -n 16M -C
	else
		etp-xfer -P tcp -t 200 -r 60 -H -x 16M "$PEER" 7304
	fi
}

# --- impaired ---

t_impaired() {
	local rc

	tc qdisc replace dev "${ETP_IFNAME:-eth0}" root netem loss 1% delay 5ms ||
		return "$KSFT_SKIP"
	if [ "$ROLE" = a ]; then
		etp-xfer -t 300 -s "$LOCAL" -l 7305 -n 2M -C
	else
		etp-xfer -t 300 -r 60 -H -x 2M "$PEER" 7305
	fi
	rc=$?
	tc qdisc del dev "${ETP_IFNAME:-eth0}" root
	echo "RetransSegs $(etp_stat "" RetransSegs) Timeouts $(etp_stat "" Timeouts)"
	return $rc
}

ktap_print_header
etp_log "two-VM group '$GROUP', role $ROLE: $LOCAL <-> $PEER"
case $GROUP in
basic)
	BARRIER=25410
	ktap_set_plan 4
	step "echo_256kib_b_to_a_and_back_role_$ROLE" t_echo
	step "connect_refused_across_vms_role_$ROLE" t_refused
	step "four_parallel_1mib_connections_b_to_a_role_$ROLE" t_parallel
	step "tcp_baseline_16mib_a_to_b_role_$ROLE" t_tcp_baseline
	;;
file_a_to_b)
	BARRIER=25420
	ktap_set_plan 1
	step "file_16mib_a_to_b_sha256_role_$ROLE" t_bulk_a_to_b
	;;
file_b_to_a)
	BARRIER=25425
	ktap_set_plan 1
	step "file_16mib_b_to_a_sha256_role_$ROLE" t_bulk_b_to_a
	;;
impaired)
	BARRIER=25430
	ktap_set_plan 1
	step "2mib_a_to_b_loss_1pct_delay_5ms_role_$ROLE" t_impaired
	;;
*)
	ktap_skip_all "unknown group '$GROUP' (basic, file_a_to_b, file_b_to_a, impaired)"
	exit "$KSFT_SKIP"
	;;
esac
ktap_finished
