#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lifecycles: many connections, many module loads, many namespaces; after
# each, nothing of ETP may be left.
#
#   init namespace                      netns etplc-PID
#   +----------------------------+      +--------------------------------+
#   | etp.ko                     |      | etp_cycle conn: connect,       |
#   | /proc/slabinfo, refcnt,    |      |   transfer, close on 127.0.0.1 |
#   | /proc/net/protocols        |      |   (msl_ms 100: TIME_WAIT 0.2 s)|
#   +----------------------------+      +--------------------------------+
#                                       etp_cycle load: its own namespace,
#                                         unload/load from there
#                                       etp_cycle netns: 50 namespaces of
#                                         its own (unshare), each killed
#                                         with connections and TIME_WAIT
#                                         entries open
#
# 1. 10000 connect/transfer/close cycles (closing four ways in turn).
# 2. 100 unload/load cycles (etp_cycle load), each after four connections
#    that leave TIME_WAIT entries for the unload to reap; after each unload
#    the module, its slab and its protocol are gone, after each load there
#    is nothing in them.
# 3. 50 namespaces destroyed with live connections, data unread, a
#    half-close, an unaccepted connection and four TIME_WAIT entries in
#    each.
#
# After each, within a few seconds (sockets are freed after an RCU grace
# period, namespaces are dismantled by a workqueue): ETP's socket count in
# /proc/net/protocols (init namespace, and the test's namespace), the
# objects of ETP's socket slab (counted after a shrink, so they are the
# live ones), the module's reference count and, for 3, the number of
# network namespaces (net_namespace slab; the kernel frees them one round
# of namespace cleanup late, so one more empty namespace is destroyed
# before counting) are back where they were. The etp_tw cache is merged
# with other caches of its size (see /sys/kernel/slab/etp_tw/aliases), so
# its count may move by others' objects (by up to 24 in our runs): it
# must come back within four slabs' worth (64), well under the 200 entries
# that test 3 leaves for namespace exit to reap, or the thousands of 1. After each unload ETP's slab and protocol are gone, and
# the kernel did not report objects left in a slab.
#
# ETP_LIFECYCLE_CONNS, _LOADS and _NETNS change the three numbers.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etp_cycle unshare
etp_init

MOD=$(etp_module_path) || { ktap_print_header; ktap_skip_all "etp.ko not found (ETP_MODULE)"; exit "$KSFT_SKIP"; }
trap 'etp_cleanup; etp_insmod >/dev/null 2>&1' EXIT

NS=etplc-$$
CONNS=${ETP_LIFECYCLE_CONNS:-10000}
LOADS=${ETP_LIFECYCLE_LOADS:-100}
NETNS=${ETP_LIFECYCLE_NETNS:-50}

# slab_active NAME: live objects of slab NAME (after a shrink), -1 if none.
slab_active() {
	echo 1 >"/sys/kernel/slab/$1/shrink" 2>/dev/null
	awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print -1 }' /proc/slabinfo
}

# tw_objects: objects of the (possibly merged) cache behind etp_tw.
tw_objects() {
	echo 1 >/sys/kernel/slab/etp_tw/shrink 2>/dev/null
	awk '{ print $1 }' /sys/kernel/slab/etp_tw/objects 2>/dev/null || echo -1
}

# proto_sockets [NS]: the "sockets" column of ETP in /proc/net/protocols.
proto_sockets() {
	local cmd=(cat /proc/net/protocols)

	[ -n "${1:-}" ] && cmd=(ip netns exec "$1" "${cmd[@]}")
	"${cmd[@]}" | awk '$1 == "ETP" { print $3; f = 1 } END { if (!f) print -1 }'
}

# figures: the numbers compared with the baseline, as NAME=VALUE words.
figures() {
	echo "slab=$(slab_active ETP) netns=$(slab_active net_namespace)" \
	     "sockets_init=$(proto_sockets)" \
	     "sockets_ns=$(proto_sockets "$NS")" \
	     "refcnt=$(etp_module_refcnt) tw_cache=$(tw_objects)"
}

fig() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

TW_SLACK=$((4 * $(cat /sys/kernel/slab/etp_tw/objs_per_slab 2>/dev/null || echo 16)))

# same_as BASE NOW: nothing more than at BASE: our namespace's socket
# count equal, the global figures not above BASE (something an earlier
# test left may end meanwhile), tw_cache within TW_SLACK above. The count
# of namespaces only where a test destroys namespaces (CHECK_NETNS=1): at
# other times one may be waiting to be freed.
same_as() {
	local k

	[ "$(fig "$1" sockets_ns)" = "$(fig "$2" sockets_ns)" ] || return 1
	for k in slab sockets_init refcnt; do
		[ "$(fig "$2" $k)" -le "$(fig "$1" $k)" ] || return 1
	done
	[ "${CHECK_NETNS:-0}" = 0 ] || [ "$(fig "$2" netns)" -le "$(fig "$1" netns)" ] || return 1
	[ "$(fig "$2" tw_cache)" -le $(($(fig "$1" tw_cache) + TW_SLACK)) ]
}

# The kernel frees a dismantled namespace's struct net only in the next
# round of namespace cleanup (net/core/net_namespace.c, defer_free_list):
# destroying one more, empty, namespace lets the previous ones go.
netns_flush() {
	unshare -n true
	sleep 0.3
}

# back_to_baseline BASE SECS: poll until the figures are BASE again.
back_to_baseline() {
	local base=$1 end=$((SECONDS + $2)) now t0=$SECONDS

	while :; do
		[ "${CHECK_NETNS:-0}" = 0 ] || netns_flush
		now=$(figures)
		if same_as "$base" "$now"; then
			echo "after:  $now (back after $((SECONDS - t0)) s)"
			return 0
		fi
		if [ $SECONDS -ge $end ]; then
			echo "after:  $now"
			etp_fail_msg "not back to the baseline within $2 s"
			return 1
		fi
		sleep 0.2
	done
}

ns_empty() { [ "$(ip netns exec "$NS" awk 'NR > 1' /proc/net/etp | wc -l)" -eq 0 ]; }

t_conns() {
	local base t0=$SECONDS

	etp_sysctl "$NS" msl_ms 100 || return 1
	base=$(figures)
	echo "before: $base"
	ip netns exec "$NS" etp_cycle conn "$CONNS" ||
		etp_fail_msg "etp_cycle conn $CONNS failed" || return 1
	# TIME_WAIT lasts 0.2 s here; then the namespace must be empty.
	etp_wait_until 10 ns_empty ||
		{ etp_proc_dump "$NS" | head; etp_fail_msg "connections left"; return 1; }
	back_to_baseline "$base" 10 || return 1
	echo "$CONNS cycles checked in $((SECONDS - t0)) s"
}

t_loads() {
	local base t0=$SECONDS remains

	remains=$(dmesg | grep -c 'Objects remaining')
	base=$(figures)
	echo "before: $base"
	etp_cycle load "$LOADS" "$MOD" || etp_fail_msg "etp_cycle load failed" || return 1
	back_to_baseline "$base" 10 || return 1
	[ "$(dmesg | grep -c 'Objects remaining')" -eq "$remains" ] ||
		etp_fail_msg "the kernel found objects left in a slab at unload" || return 1
	echo "$LOADS load cycles checked in $((SECONDS - t0)) s"
}

t_netns() {
	local base t0=$SECONDS

	netns_flush
	sleep 1
	base=$(figures)
	echo "before: $base"
	etp_cycle netns "$NETNS" || etp_fail_msg "etp_cycle netns $NETNS failed" || return 1
	CHECK_NETNS=1 back_to_baseline "$base" 30 || return 1
	echo "$NETNS namespaces checked in $((SECONDS - t0)) s"
}

ktap_print_header
ktap_set_plan 3
T0=$SECONDS
# What earlier tests closed may still be finishing: let it, for a clean
# baseline.
etp_module_settle 10
etp_log "etp_tw cache: $(readlink /sys/kernel/slab/etp_tw 2>/dev/null | sed 's|.*/||'), aliases $(cat /sys/kernel/slab/etp_tw/aliases 2>/dev/null), slack $TW_SLACK objects"
if ! etp_ns_add "$NS"; then
	ktap_test_fail "lifecycle_setup"
	ktap_finished
fi
etp_result "${CONNS}_connect_transfer_close_cycles_leave_nothing" t_conns
etp_result "${LOADS}_module_unload_load_cycles_with_traffic_and_time_wait" t_loads
etp_result "${NETNS}_netns_destroyed_with_connections_and_time_wait_leave_nothing" t_netns
etp_log "etp_lifecycle.sh took $((SECONDS - T0))s"
ktap_finished
