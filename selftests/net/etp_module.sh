#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Loading and unloading etp.ko.
#
#   init namespace only, loopback:
#
#     +--------------------------------------------+
#     | etp.ko <-- insmod / rmmod                  |
#     | etp_hold: ETP sockets held open on lo      |
#     |           (unbound, listener, connection)  |
#     +--------------------------------------------+
#
# rmmod must be refused while any ETP socket is open and succeed once all
# are closed; TIME_WAIT entries do not hold the module (they are reaped at
# unload). Twenty load/unload cycles follow. The module is loaded again
# before the test exits, whatever happened.

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_cmd insmod rmmod
etp_init

MOD=$(etp_module_path) || { ktap_print_header; ktap_skip_all "etp.ko not found (ETP_MODULE)"; exit "$KSFT_SKIP"; }
trap 'etp_insmod >/dev/null 2>&1; etp_cleanup' EXIT

HOLD_PID=

# hold KIND...: start etp_hold and wait until its sockets are open.
hold() {
	rm -f "$ETP_TMP/ready"
	etp_bg etp_hold -r "$ETP_TMP/ready" -t 60 "$@" >"$ETP_TMP/hold.out" 2>&1
	HOLD_PID=$!
	etp_wait_file 10 "$ETP_TMP/ready" || etp_fail_msg "etp_hold $* did not get ready"
}

release() {
	kill "$HOLD_PID" 2>/dev/null
	etp_wait_pid "$HOLD_PID" 10
	HOLD_PID=
}

t_loaded() {
	local f

	etp_module_loaded || etp_fail_msg "/sys/module/etp missing" || return 1
	for f in /proc/net/etp /proc/net/etp_stat /proc/sys/net/etp/msl_ms \
		 /proc/sys/net/etp/syn_retries /proc/sys/net/etp/synack_retries \
		 /proc/sys/net/etp/retries /proc/sys/net/etp/fin_timeout_ms \
		 /proc/sys/net/etp/rto_min_ms /proc/sys/net/etp/rto_max_ms \
		 /proc/sys/net/etp/rto_initial_ms /proc/sys/net/etp/orphan_retries \
		 /proc/sys/net/etp/delack_ms /proc/sys/net/etp/rmem_default \
		 /proc/sys/net/etp/wmem_default; do
		[ -r "$f" ] || etp_fail_msg "$f missing" || return 1
	done
}

t_rmmod_idle() {
	etp_module_settle 10
	rmmod etp || etp_fail_msg "rmmod etp failed with no socket open" || return 1
	! etp_module_loaded || etp_fail_msg "module still loaded" || return 1
	[ ! -e /proc/net/etp ] || etp_fail_msg "/proc/net/etp left behind" || return 1
	insmod "$MOD" || etp_fail_msg "insmod $MOD failed" || return 1
	[ -r /proc/net/etp ] || etp_fail_msg "/proc/net/etp missing after insmod"
}

# refused KIND...: rmmod fails while the sockets are open, works after.
t_refused() {
	local rc=0

	etp_insmod || return 1
	hold "$@" || return 1
	if rmmod etp 2>"$ETP_TMP/rmmod.err"; then
		etp_fail_msg "rmmod succeeded with $* open"
		rc=1
		etp_insmod
	else
		echo "rmmod refused as expected: $(cat "$ETP_TMP/rmmod.err")"
		etp_module_loaded || { etp_fail_msg "module gone after a refused rmmod"; rc=1; }
	fi
	etp_proc_dump ""
	release
	# Closed sockets may take a moment to finish (FIN exchange on lo).
	etp_rmmod_wait 10 || { etp_fail_msg "rmmod still refused after closing $*"; rc=1; }
	etp_insmod || rc=1
	return $rc
}

t_time_wait_does_not_hold() {
	local tw

	etp_insmod || return 1
	hold pair || return 1
	release
	# The pair closed; whichever end closed first is in TIME_WAIT for 60 s.
	etp_wait_until 5 sh -c 'grep -q " 06 " /proc/net/etp' ||
		etp_fail_msg "no TIME_WAIT entry after closing a connection" || return 1
	tw=$(grep -c " 06 " /proc/net/etp)
	echo "$tw TIME_WAIT entries present"
	etp_rmmod_wait 5 || etp_fail_msg "rmmod refused with only TIME_WAIT entries left" || return 1
	insmod "$MOD" || return 1
	[ "$(grep -c ':' /proc/net/etp)" -eq 0 ] ||
		etp_fail_msg "entries survived the unload: $(cat /proc/net/etp)"
}

t_cycles() {
	local i

	for i in $(seq 1 20); do
		etp_insmod || etp_fail_msg "cycle $i: insmod failed" || return 1
		etp_hold -t 0 socket bound listen pair >/dev/null ||
			etp_fail_msg "cycle $i: sockets could not be used" || return 1
		etp_rmmod_wait 10 || etp_fail_msg "cycle $i: rmmod failed" || return 1
	done
	insmod "$MOD"
}

ktap_print_header
ktap_set_plan 8
etp_result "module_loaded_with_proc_and_sysctl_files" t_loaded
etp_result "rmmod_idle_module_succeeds_and_insmod_again" t_rmmod_idle
etp_result "rmmod_refused_while_unbound_socket_open" t_refused socket
etp_result "rmmod_refused_while_bound_socket_open" t_refused bound
etp_result "rmmod_refused_while_listener_open" t_refused listen
etp_result "rmmod_refused_while_connection_open" t_refused pair
etp_result "rmmod_succeeds_with_time_wait_entries_left" t_time_wait_does_not_hold
etp_result "twenty_load_unload_cycles" t_cycles
etp_insmod >/dev/null 2>&1
ktap_finished
