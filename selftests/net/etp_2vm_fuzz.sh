#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The segment fuzzer across the real link, run in both VMs with the role
# appended:
#
#   etp_2vm_fuzz.sh a    (in VM a, the target)
#   etp_2vm_fuzz.sh b    (in VM b, the attacker)
#
#   +------------------------------+                 +------------------------------+
#   | VM a  eth0 10.253.0.1/24     |  virtio-net,    | VM b  eth0 10.253.0.2/24     |
#   | etp_fuzz -l: echo server     |  QEMU UDP link  | etp_fuzz -d: victims A, B,   |
#   |   :7480 (listener, victims)  |<===============>|   raw sockets, forged        |
#   | etp-xfer -l :7481 receives   |                 |   sources 10.99.0.0/16 (a    |
#   |   a 4 MiB file              |                 |   has no route back to them) |
#   | TCP :7482 receives b's       |                 | etp-xfer sends the file      |
#   |   predictions                |                 |   during the fuzz            |
#   +------------------------------+                 +------------------------------+
#
# b sends ETP_FUZZ_COUNT (default 100000) segments with ETP_FUZZ_SEED
# (default: fresh, printed) while it sends a 4 MiB file to a; victim A,
# which got only malformed segments, must be untouched (etp_fuzz checks
# it through a's echo). b then sends its per-counter predictions to a over
# TCP; a checks that each drop counter moved by no more than predicted and
# by at least half of it (the QEMU link may lose packets; the count seen is
# printed), that the file arrived intact (SHA-256), and that after the
# fuzz nothing is left and the module unloads and loads again.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp-xfer etp_fuzz sha256sum
etp_2vm_init "${1:-}"
etp_init
T=$ETP_TMP
BARRIER=25470
SEED=${ETP_FUZZ_SEED:-$(( (RANDOM << 15 | RANDOM) ))}
COUNT=${ETP_FUZZ_COUNT:-100000}
COUNTERS="InShortHeader InBadDoff InCsumErrors InBadFlags InBadOptions"

# a must leave with the module loaded, whatever failed.
_fuzz_exit() {
	etp_cleanup
	etp_module_loaded || etp_insmod
}
trap _fuzz_exit EXIT

# step NAME FUNC: rendezvous, then run FUNC as one TAP test.
step() {
	BARRIER=$((BARRIER + 1))
	if ! etp_2vm_barrier $BARRIER 120; then
		ktap_test_fail "$1 # peer VM did not arrive"
		return
	fi
	etp_result "$1" "$2"
}

stats() {
	awk 'NR == 1 { for (i = 2; i <= NF; i++) n[i] = $i }
	     NR == 2 { for (i = 2; i <= NF; i++) print n[i], $i }' /proc/net/etp_stat
}

val() { awk -v c="$2" '$1 == c { print $2 }' "$1"; }

# --- a: the target ---

# start_target: the echo server and the two receivers, before the first
# rendezvous (their exit statuses land in files: the tests run in
# subshells, which cannot wait for them).
start_target() {
	stats >"$T/before"
	etp_fuzz -l "$LOCAL:7480" -t 700 -r "$T/ready" >"$T/sink.out" 2>&1 &
	SINK=$!
	ETP_PIDS+=("$SINK")
	(etp-xfer -q -t 600 -s "$LOCAL" -l 7481 -x 4M -H -o "$T/file" >"$T/xfer.out" 2>&1
	 echo $? >"$T/xfer.rc") &
	ETP_PIDS+=($!)
	(etp-xfer -q -P tcp -t 600 -s "$LOCAL" -l 7482 -o "$T/pred" -H >/dev/null 2>&1
	 echo $? >"$T/pred.rc") &
	ETP_PIDS+=($!)
	etp_wait_file 10 "$T/ready"
}

t_target() {
	local c d p rc=0 total=0

	[ -s "$T/ready" ] || etp_fail_msg "echo server did not start" || return 1
	echo "rp_filter all/eth0: $(cat /proc/sys/net/ipv4/conf/all/rp_filter)/$(cat /proc/sys/net/ipv4/conf/eth0/rp_filter)"
	# b fuzzes now, and comes back when its predictions are sent.
	etp_2vm_barrier 25478 600 || etp_fail_msg "b did not finish" || return 1
	etp_wait_file 60 "$T/xfer.rc"
	cat "$T/xfer.out"
	[ "$(cat "$T/xfer.rc" 2>/dev/null)" = 0 ] ||
		{ etp_fail_msg "file transfer failed"; rc=1; }
	etp_wait_file 30 "$T/pred.rc"
	sleep 0.5
	stats >"$T/after"
	[ -s "$T/pred" ] || etp_fail_msg "no predictions from b" || return 1
	for c in $COUNTERS; do
		d=$(($(val "$T/after" "$c") - $(val "$T/before" "$c")))
		p=$(val "$T/pred" "$c")
		total=$((total + p))
		echo "$c: +$d, predicted $p ($((p ? 100 * d / p : 0))%)"
		[ "$p" -gt 0 ] || { etp_fail_msg "b sent no segment for $c"; rc=1; }
		[ "$d" -le "$p" ] || { etp_fail_msg "$c moved by more than the malformed segments sent"; rc=1; }
		[ $((2 * d)) -ge "$p" ] || { etp_fail_msg "$c: fewer than half counted"; rc=1; }
	done
	p=$(val "$T/pred" valid)
	d=$(($(val "$T/after" InSegs) - $(val "$T/before" InSegs)))
	echo "InSegs: +$d for $((total + p)) segments sent (and the connections' own)"
	for c in InNoSocket SynCookiesSent SynCookiesFailed OutRsts; do
		echo "$c: +$(($(val "$T/after" "$c") - $(val "$T/before" "$c")))"
	done
	return $rc
}

_busy() { [ -n "$(awk 'NR > 1 && $4 != "06"' /proc/net/etp)" ]; }

t_target_unload() {
	kill "$SINK" 2>/dev/null
	etp_wait_pid "$SINK" 10
	cat "$T/sink.out"
	etp_wait_until 10 eval '! _busy' ||
		{ etp_proc_dump ""; etp_fail_msg "connections left after the fuzz"; return 1; }
	etp_rmmod_wait 30 || etp_fail_msg "rmmod etp failed (refcnt $(etp_module_refcnt))" || return 1
	etp_insmod || etp_fail_msg "insmod failed" || return 1
	echo "unloaded and loaded again"
}

# --- b: the attacker ---

t_attacker() {
	local rc xrc

	head -c $((4 << 20)) /dev/urandom >"$T/file"
	echo "file: $(sha256sum "$T/file" | cut -d' ' -f1)"
	etp-xfer -q -t 600 -r 30 -i "$T/file" -C "$PEER" 7481 >"$T/xfer.out" 2>&1 &
	local xfer=$!
	ETP_PIDS+=("$xfer")
	etp_fuzz -d "$PEER" -p 7480 -s "$SEED" -n "$COUNT" -F 10.99 -P "$T/pred"
	rc=$?
	etp_wait_pid "$xfer" 600
	xrc=$?
	cat "$T/xfer.out"
	echo "$xrc" >"$T/xfer.rc"
	etp-xfer -q -P tcp -t 60 -r 30 -i "$T/pred" -C "$PEER" 7482 >/dev/null 2>&1 ||
		echo "could not send the predictions to a"
	etp_2vm_barrier 25478 60
	[ $rc -eq 0 ] || etp_fail_msg "etp_fuzz exit $rc (seed $SEED)"
}

t_attacker_xfer() {
	[ "$(cat "$T/xfer.rc" 2>/dev/null)" = 0 ] ||
		etp_fail_msg "the file transfer to a failed (exit $(cat "$T/xfer.rc" 2>/dev/null))"
}

ktap_print_header
if [ "$ROLE" = b ]; then
	etp_log "two-VM fuzz, role b: $LOCAL -> $PEER; seed $SEED, $COUNT segments (ETP_FUZZ_SEED=$SEED ETP_FUZZ_COUNT=$COUNT repeat it)"
else
	etp_log "two-VM fuzz, role a: the target of $PEER"
fi
ktap_set_plan 2
if [ "$ROLE" = a ]; then
	start_target
	step "fuzz_from_vm_b_counted_as_predicted_file_intact_role_a" t_target
	step "module_unloads_and_reloads_after_fuzz_role_a" t_target_unload
else
	step "fuzz_vm_a_victim_with_malformed_only_untouched_role_b" t_attacker
	step "file_to_vm_a_during_fuzz_sha256_role_b" t_attacker_xfer
fi
ktap_finished
