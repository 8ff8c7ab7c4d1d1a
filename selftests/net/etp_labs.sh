#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The labs of Documentation/labs/ cannot rot: each lab's commands are taken
# from its .rst file, run in the VM as the lab says, and what they print is
# compared with what the lab shows. One TAP test per lab.
#
# The convention (Documentation/labs/index.rst says it for authors):
#   * a line "vm# COMMAND" inside a literal block is a command; all of one
#     lab's commands run in order in one bash (variables and background
#     jobs carry over from one command to the next);
#   * the lines right below it, up to the next "vm# " line or a blank line,
#     are what it must print (stdout and stderr); none: it prints nothing;
#   * in an expected line "..." matches any text, and a line that is only
#     "..." matches any number of lines; lines are compared without their
#     leading and trailing blanks (tabs are blanks too).
# Each lab starts with no namespace "lab" and no process in it; whatever
# it leaves is removed afterwards. A lab has 60 s.
#
#   ETP_LABS_DIR   where the labs are (default Documentation/labs)

. "$(dirname "$0")/etp_lib.sh"

etp_require_root
etp_require_module
etp_require_cmd etpstat etptrace etpcat etp_hold python3 nft timeout
etp_init

LABS_DIR=${ETP_LABS_DIR:-$ETP_ROOT/Documentation/labs}
T=$ETP_TMP
LABS="lab_handshake:handshake.rst
lab_close_and_half_close:close.rst
lab_loss:loss.rst
lab_zero_window:zero-window.rst
lab_time_wait_holds_port:time-wait.rst
lab_rst:rst.rst"

ktap_print_header

# As etp_tools.sh: under TCG, enabling trace events patches static
# branches, which can oops while another vCPU runs them. One instance keeps
# the etp events enabled for the whole run (the etptrace runs of the labs
# then patch nothing) and command names are not recorded.
TR=/sys/kernel/tracing
[ -d $TR/events/etp ] || mount -t tracefs nodev $TR 2>/dev/null
RECORD_CMD=$(cat $TR/options/record-cmd 2>/dev/null)
KEEP=$TR/instances/etplabs_keep_$$
echo 0 >$TR/options/record-cmd 2>/dev/null
mkdir "$KEEP" 2>/dev/null && echo 1 >"$KEEP/events/etp/enable" || KEEP=
labs_cleanup() {
	lab_reset
	if [ -n "$KEEP" ]; then
		echo 0 >"$KEEP/events/etp/enable"
		rmdir "$KEEP"
	fi
	[ -z "$RECORD_CMD" ] || echo "$RECORD_CMD" >$TR/options/record-cmd
}
trap 'labs_cleanup; etp_cleanup' EXIT

# lab_reset: no namespace "lab", no process in it, no /tmp/lab-* files.
lab_reset() {
	local p

	if ip netns pids lab >/dev/null 2>&1; then
		for p in $(ip netns pids lab); do
			kill -CONT "$p" 2>/dev/null
			kill -KILL "$p" 2>/dev/null
		done
		etp_ns_drain lab 5 >/dev/null
		ip netns del lab
	fi
	rm -rf /tmp/lab-*
}

# extract RST SCRIPT EXPECTED: the commands of RST as a bash script that
# prints a marker line before each, and their expected outputs as JSON.
extract() {
	python3 - "$@" <<-'PY'
		import json, re, sys
		src, script, expected = sys.argv[1:4]
		cmds = []          # [command, [expected lines]]
		cur = None
		for line in open(src, encoding="utf-8"):
		    line = line.rstrip("\n")
		    m = re.match(r"^\s+vm# (.*)$", line)
		    if m:
		        cur = [m.group(1), []]
		        cmds.append(cur)
		    elif cur is not None and line.strip() and line[:1] in " \t":
		        cur[1].append(line.strip())
		    else:
		        cur = None
		with open(script, "w") as f:
		    f.write("exec 2>&1\ncd /tmp\n")
		    for i, (c, _) in enumerate(cmds):
		        f.write("echo '@@lab-cmd %d@@'\n%s\n" % (i, c))
		    f.write("echo '@@lab-end@@'\n")
		json.dump(cmds, open(expected, "w"))
		print("%d commands" % len(cmds))
	PY
}

# compare EXPECTED OUTPUT: each command's output against the lab.
compare() {
	python3 - "$@" <<-'PY'
		import json, re, sys
		cmds = json.load(open(sys.argv[1]))
		out = open(sys.argv[2], encoding="utf-8", errors="replace").read().split("\n")
		got, cur = {}, None
		ended = False
		# bash's notices about background jobs are not the commands' output.
		notice = re.compile(r"^(\S+: )?(line \d+: )?\s*\d+ (Terminated|Killed|Done|Stopped)\b")
		for line in out:
		    m = re.match(r"^@@lab-cmd (\d+)@@$", line)
		    if m:
		        cur = int(m.group(1)); got[cur] = []; continue
		    if line == "@@lab-end@@":
		        ended = True; cur = None; continue
		    if cur is not None and line.strip() and not notice.match(line):
		        got[cur].append(line.expandtabs().strip())

		def pat(e):
		    return re.compile("^" + ".*".join(map(re.escape, e.split("..."))) + "$")

		def match(exp, lines):
		    if not exp:
		        return not lines
		    if exp[0] == "...":
		        return any(match(exp[1:], lines[i:]) for i in range(len(lines) + 1))
		    return bool(lines) and bool(pat(exp[0]).match(lines[0])) and match(exp[1:], lines[1:])

		bad = 0
		for i, (c, exp) in enumerate(cmds):
		    if i not in got:
		        print("FAIL: command %d never ran: vm# %s" % (i + 1, c)); bad = 1; break
		    if not match(exp, got[i]):
		        bad = 1
		        print("FAIL: command %d: vm# %s" % (i + 1, c))
		        print("  the lab shows:")
		        for e in exp or ["(nothing)"]:
		            print("    " + e)
		        print("  it printed:")
		        for g in got[i] or ["(nothing)"]:
		            print("    " + g)
		if not bad and not ended:
		    print("FAIL: the lab did not run to its end (timeout?)"); bad = 1
		if not bad:
		    print("%d commands, output as the lab shows" % len(cmds))
		sys.exit(bad)
	PY
}

# run_lab FILE: extract, run in a fresh setup, compare.
run_lab() {
	local rst=$LABS_DIR/$1 base=$T/${1%.rst} t0=$SECONDS rc

	[ -r "$rst" ] || etp_fail_msg "no $rst" || return 1
	extract "$rst" "$base.sh" "$base.json" || return 1
	grep -q '@@lab-cmd 0@@' "$base.sh" || etp_fail_msg "no vm# commands in $rst" || return 1
	lab_reset
	timeout -k 5 60 bash "$base.sh" </dev/null >"$base.out"
	rc=$?
	lab_reset
	echo "ran in $((SECONDS - t0)) s (bash exit $rc)"
	compare "$base.json" "$base.out"
}

ktap_set_plan 6
while IFS=: read -r name file; do
	etp_result "$name" run_lab "$file"
done <<<"$LABS"
ktap_finished
