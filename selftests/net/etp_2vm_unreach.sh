#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A peer without ETP, between two VMs, run in both with the role appended:
#
#   etp_2vm_unreach.sh a    (in VM a)
#   etp_2vm_unreach.sh b    (in VM b)
#
#   +-----------------------+                      +-----------------------+
#   | VM a                  |  virtio-net, QEMU    | VM b                  |
#   | eth0 10.253.0.1/24    |<====================>| eth0 10.253.0.2/24    |
#   | etpcat (connects)     |   ETP (protocol 253) | rmmod etp, then       |
#   |                       |   <-- ICMP protocol  | insmod etp again      |
#   |                       |       unreachable    | etp-xfer -E (echo)    |
#   +-----------------------+                      +-----------------------+
#
# 1. b unloads etp.ko. a connects to b: b's kernel has no handler for
#    protocol 253 and answers with ICMP destination unreachable, protocol
#    unreachable. connect() on a must fail with ECONNREFUSED within one
#    second, from that ICMP error (a counts no RST), not after its SYN
#    retries; b must count the ICMP error it sent.
# 2. b loads etp.ko again (so later tests find it loaded); a connection
#    from a to b carries an echo.
#
# Each step starts with a rendezvous over plain TCP (etp_2vm_barrier), which
# works while b has no ETP. Each VM reports its own side of each step.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpcat etp-xfer
etp_2vm_init "${1:-}"
etp_init
T=$ETP_TMP
BARRIER=25460

# b must leave with the module loaded, whatever failed.
_unreach_exit() {
	etp_cleanup
	[ "$ROLE" = b ] && ! etp_module_loaded && etp_insmod
}
trap _unreach_exit EXIT

# step NAME FUNC: rendezvous, then run FUNC as one TAP test.
step() {
	BARRIER=$((BARRIER + 1))
	if ! etp_2vm_barrier $BARRIER 120; then
		ktap_test_fail "$1 # peer VM did not arrive"
		return
	fi
	etp_result "$1" "$2"
}

# icmp_stat FIELD: a field of the "Icmp:" lines of /proc/net/snmp.
icmp_stat() {
	awk -v f="$1" '
		$1 == "Icmp:" && !n { for (i = 2; i <= NF; i++) idx[$i] = i; n = 1; next }
		$1 == "Icmp:" && n { print $idx[f]; exit }' /proc/net/snmp
}

ms_since() { echo $(((${EPOCHREALTIME/./} - $1) / 1000)); }

t_refused_by_icmp() {
	local rc ms start rsts fails icmp ign

	if [ "$ROLE" = b ]; then
		icmp=$(icmp_stat OutDestUnreachs)
		etp_rmmod_wait 30 || etp_fail_msg "cannot unload etp (refcnt $(etp_module_refcnt))"
		rc=$?
		# a connects only once b has (or has not) unloaded.
		etp_2vm_barrier 25469 60 || return 1
		etp_2vm_barrier 25468 60 || return 1
		echo "ICMP destination unreachable sent: $(($(icmp_stat OutDestUnreachs) - icmp))"
		[ $rc -eq 0 ] || return 1
		[ "$(icmp_stat OutDestUnreachs)" -gt "$icmp" ] ||
			etp_fail_msg "b sent no ICMP destination unreachable"
		return
	fi
	etp_2vm_barrier 25469 60 || return 1
	rsts=$(etp_stat "" InRsts)
	fails=$(etp_stat "" AttemptFails)
	icmp=$(icmp_stat InDestUnreachs)
	ign=$(etp_stat "" IcmpIgnored)
	start=${EPOCHREALTIME/./}
	etpcat -w 10 "$PEER" 7460 </dev/null 2>"$T/err"
	rc=$?
	ms=$(ms_since "$start")
	etp_2vm_barrier 25468 60
	cat "$T/err"
	echo "connect failed after $ms ms (exit $rc); ICMP destination unreachable received: $(($(icmp_stat InDestUnreachs) - icmp)); InRsts +$(($(etp_stat "" InRsts) - rsts)); AttemptFails +$(($(etp_stat "" AttemptFails) - fails)); IcmpIgnored +$(($(etp_stat "" IcmpIgnored) - ign))"
	[ "$(icmp_stat InDestUnreachs)" -gt "$icmp" ] ||
		etp_fail_msg "no ICMP destination unreachable arrived" || return 1
	[ "$(etp_stat "" InRsts)" = "$rsts" ] ||
		etp_fail_msg "a RST arrived: b still has ETP" || return 1
	[ "$(etp_stat "" AttemptFails)" -gt "$fails" ] ||
		etp_fail_msg "AttemptFails did not count the failed connect" || return 1
	[ $rc -eq 2 ] || etp_fail_msg "etpcat exit $rc, want 2 (connect failed)" || return 1
	grep -qx "etpcat: connect $PEER:7460: Connection refused" "$T/err" ||
		etp_fail_msg "connect did not fail with ECONNREFUSED" || return 1
	[ "$ms" -lt 1000 ] || etp_fail_msg "took $ms ms, want less than 1000"
}

t_reloaded() {
	if [ "$ROLE" = b ]; then
		etp_insmod || etp_fail_msg "insmod $(etp_module_path) failed" || return 1
		etp-xfer -E -t 60 -s "$LOCAL" -l 7461
	else
		etp-xfer -r 30 -t 60 -n 64k -e "$PEER" 7461
	fi
}

ktap_print_header
etp_log "two-VM test, role $ROLE: $LOCAL <-> $PEER"
ktap_set_plan 2
if [ "$ROLE" = a ]; then
	step "connect_to_peer_without_etp_econnrefused_within_1s_role_a" t_refused_by_icmp
	step "connect_after_peer_reloads_etp_echo_role_a" t_reloaded
else
	step "without_etp_answers_icmp_protocol_unreachable_role_b" t_refused_by_icmp
	step "reloaded_etp_accepts_and_echoes_role_b" t_reloaded
fi
ktap_finished
