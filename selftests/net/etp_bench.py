#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""etp_bench.py: the two halves of etp_bench.sh that are easier in Python.

  etp_bench.py idle --proto etp|tcp --pairs N [--addr A] [--port P]
      Holds N idle connected pairs for the memory measurement. It listens
      on A:P (127.0.0.1:5300), prints "listening PID" (its process id) and
      waits for a line on standard input; then it connects N clients to the
      listener and accepts each (both ends of every pair live in this
      process), prints "ready N" and waits for another line (or end of
      file) before it closes everything. The caller reads the kernel's memory figures
      between the two lines. Exit status 0, or 1 when a socket call failed
      (the error on standard error).

  etp_bench.py table DIR...
      Prints the comparison table from what etp_bench.sh left in each DIR:
      json/TEST.PROTO.RUN.json (etp-perf -J of one run), records.tsv
      (TEST PROTO RUN KEY VALUE, figures the script read from the kernel),
      expected (the tests it meant to run), failures (runs that gave no
      figure) and profile-*.txt (perf's top functions). For every metric:
      the median of TCP's runs and of ETP's, their min-max, the ratio of
      the medians, and the target of issue 11 with whether the ratio meets
      it. Exit status 0 when every expected metric has at least one run of
      each protocol, 1 when some could not be measured. The ratios never
      change the exit status: a benchmark is no pass/fail test.
"""

import argparse
import glob
import json
import os
import resource
import socket
import statistics
import sys

IPPROTO_ETP = 253


# --- idle pairs ---------------------------------------------------------------

def idle(args):
    proto = IPPROTO_ETP if args.proto == "etp" else socket.IPPROTO_TCP
    held = []
    # Two descriptors a pair: raise the soft limit as far as the hard one.
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind((args.addr, args.port))
        lst.listen(128)
        print(f"listening {os.getpid()}", flush=True)
        sys.stdin.readline()
        # One pair at a time: connect (the handshake completes on
        # loopback before connect returns), then accept it.
        for _ in range(args.pairs):
            c = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
            c.connect((args.addr, args.port))
            s, _ = lst.accept()
            held += [c, s]
    except OSError as e:
        print(f"etp_bench.py idle: {args.proto} pair {len(held) // 2 + 1}: {e}",
              file=sys.stderr)
        return 1
    print(f"ready {len(held) // 2}", flush=True)
    sys.stdin.readline()
    for s in held:
        s.close()
    lst.close()
    return 0


# --- the table ------------------------------------------------------------------

# Issue 11's targets, as (kind, value): "ge"/"le" bound the ratio ETP/TCP
# of the medians; "ge_tcp" asks ETP's median to be at least TCP's.
TARGETS = {
    "bulk_veth": ("ge", 0.8),
    "bulk_nooff": ("ge", 1.0),
    "bulk_lo": ("ge", 0.8),
    "cpu_nooff": ("le", 1.0),
    "agg10": ("ge", 0.9),
    "fair10": ("ge_tcp", None),
    "agg1000": ("ge", 0.9),
    "fair1000": ("ge_tcp", None),
    "rr_median": ("le", 1.0),
    "rr_p99": ("le", 1.0),
    "crr": ("ge", 1.0),
    "mem_idle": ("le", 0.75),
    "acks_veth": ("le", 2.0),
}


def target_text(t):
    if t is None:
        return "-"
    kind, v = t
    if kind == "ge_tcp":
        return ">= TCP"
    v = f"{v:.2f}"
    if v.endswith("0"):
        v = v[:-1]
    return f"{'>=' if kind == 'ge' else '<='} {v}"


def target_met(t, tcp, etp):
    if t is None or tcp is None or etp is None:
        return "-"
    kind, v = t
    if kind == "ge_tcp":
        ok = etp >= tcp
    elif tcp == 0:
        return "-"
    elif kind == "ge":
        ok = etp / tcp >= v
    else:
        ok = etp / tcp <= v
    return "yes" if ok else "no"


def fmt(x):
    """A figure to three significant digits, without exponents."""
    if x is None:
        return "-"
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    if abs(x) >= 1:
        return f"{x:.2f}"
    return f"{x:.3g}"


def ratio_text(tcp, etp):
    """The ratio to one decimal (two when below 0.1): the runs spread too
    widely for more."""
    if tcp is None or etp is None or tcp == 0:
        return "-"
    r = etp / tcp
    if r >= 10:
        return f"{r:.0f}"
    if r >= 0.1:
        return f"{r:.1f}"
    return f"{r:.2f}"


class Data:
    def __init__(self):
        # (test, proto, run) -> JSON document; (test, proto, run) -> {key: value}
        self.json = {}
        self.rec = {}
        self.expected = []
        self.failures = []
        self.profiles = []

    def load(self, d):
        for f in sorted(glob.glob(os.path.join(d, "json", "*.json"))):
            test, proto, run = os.path.basename(f)[:-5].rsplit(".", 2)
            try:
                with open(f) as fh:
                    doc = json.load(fh)
            except (OSError, ValueError):
                continue
            if "end" in doc:
                self.json[(test, proto, run)] = doc
        path = os.path.join(d, "records.tsv")
        if os.path.exists(path):
            with open(path) as fh:
                for line in fh:
                    w = line.split()
                    if len(w) == 5:
                        self.rec.setdefault(tuple(w[:3]), {})[w[3]] = float(w[4])
        for name, dest in (("expected", self.expected), ("failures", self.failures)):
            path = os.path.join(d, name)
            if os.path.exists(path):
                with open(path) as fh:
                    dest += [ln.rstrip("\n") for ln in fh if ln.strip()]
        self.profiles += sorted(glob.glob(os.path.join(d, "profile-*.txt")))

    def runs(self, test, proto):
        return sorted({r for (t, p, r) in list(self.json) + list(self.rec)
                       if t == test and p == proto}, key=int)

    def values(self, test, proto, fn):
        out = []
        for r in self.runs(test, proto):
            try:
                v = fn(self.json.get((test, proto, r)), self.rec.get((test, proto, r), {}))
            except (KeyError, TypeError, ZeroDivisionError):
                v = None
            if v is not None:
                out.append(v)
        return out


def mbit(doc, _rec):
    return doc["end"]["receiver"]["bits_per_second"] / 1e6


def cpu_ms_per_mib(doc, _rec):
    c = doc["end"]["cpu"]
    return (c["client"]["seconds"] + c["server"]["seconds"]) / c["mib"] * 1e3


def acks_per_mib(doc, rec):
    return rec["rx_outsegs"] / (doc["end"]["receiver"]["bytes"] / 2**20)


def fairness(doc, _rec):
    return doc["end"]["fairness"]


def latency(key):
    return lambda doc, _rec: doc["end"]["latency_us"][key]


def per_second(doc, _rec):
    return doc["end"]["per_second"]


def mem_kib(_doc, rec):
    return rec["mem_bytes"] / rec["pairs"] / 1024


def rows(data):
    """(key, label, unit, test, value function) for every metric, in order."""
    conns = sorted({int(t[3:]) for (t, _p, _r) in list(data.json) + list(data.rec)
                    if t.startswith("agg")} |
                   {int(t[3:]) for t in data.expected if t.startswith("agg")})
    out = [
        ("bulk_veth", "bulk veth, TCP defaults (TSO/GSO/GRO on)", "Mbit/s", "bulk_veth", mbit),
        ("bulk_nooff", "bulk veth, tso/gso/gro off", "Mbit/s", "bulk_nooff", mbit),
        ("bulk_lo", "bulk loopback", "Mbit/s", "bulk_lo", mbit),
        ("bulk_2vm", "bulk two VMs, virtio-net", "Mbit/s", "bulk_2vm", mbit),
        ("cpu_veth", "CPU per MiB, veth TCP defaults", "ms/MiB", "bulk_veth", cpu_ms_per_mib),
        ("cpu_nooff", "CPU per MiB, veth offloads off", "ms/MiB", "bulk_nooff", cpu_ms_per_mib),
        ("agg1", "aggregate, 1 conn (= bulk veth)", "Mbit/s", "bulk_veth", mbit),
    ]
    for n in conns:
        lens = {doc["start"]["length"] for (t, _p, _r), doc in data.json.items()
                if t == f"agg{n}"}
        writes = f", {max(lens) // 1024} KiB writes" if lens else ""
        out.append((f"agg{n}", f"aggregate, {n} conns{writes}", "Mbit/s", f"agg{n}", mbit))
        out.append((f"fair{n}", f"  fairness slowest/fastest, {n}", "ratio", f"agg{n}",
                    fairness))
    out += [
        ("rr_median", "1-byte RR latency, median", "us", "rr", latency("median")),
        ("rr_p99", "1-byte RR latency, p99", "us", "rr", latency("p99")),
        ("crr", "connect/request/close rate", "conn/s", "crr", per_second),
        ("mem_idle", "memory per idle connection pair", "KiB", "idle", mem_kib),
        ("acks_veth", "ACK segments per MiB, veth defaults", "segs/MiB", "bulk_veth",
         acks_per_mib),
        ("acks_nooff", "ACK segments per MiB, offloads off", "segs/MiB", "bulk_nooff",
         acks_per_mib),
    ]
    return out


def span(v):
    return f"{fmt(min(v))}-{fmt(max(v))}" if v else "-"


def table(args):
    data = Data()
    for d in args.dirs:
        data.load(d)
    expected = set(data.expected)
    missing = []
    lines = []
    for key, label, unit, test, fn in rows(data):
        tcp = data.values(test, "tcp", fn)
        etp = data.values(test, "etp", fn)
        if not tcp and not etp and test not in expected:
            continue
        if (not tcp or not etp) and test in expected:
            missing.append(label)
        mt = statistics.median(tcp) if tcp else None
        me = statistics.median(etp) if etp else None
        n = f"{len(etp)}/{len(tcp)}"
        t = TARGETS.get(key)
        lines.append((label, unit, n, fmt(mt), span(tcp), fmt(me), span(etp),
                      ratio_text(mt, me), target_text(t), target_met(t, mt, me)))

    for p in data.profiles:
        with open(p) as fh:
            sys.stdout.write(fh.read())
        print()
    if data.failures:
        print("Runs that gave no figure (left out of the medians):")
        for f in data.failures:
            print(f"  {f}")
        print()

    head = ("metric", "unit", "runs E/T", "TCP med", "TCP min-max", "ETP med",
            "ETP min-max", "ETP/TCP", "target", "met")
    w = [max(len(str(x[i])) for x in [head] + lines) for i in range(len(head))]
    print("ETP beside TCP: medians of the runs (ETP and TCP alternating), their "
          "min-max, the ratio of the medians")
    print("(runs under QEMU TCG spread widely: read each ratio to one digit; "
          "targets from issue 11; no pass/fail)")
    for i, x in enumerate([head] + lines):
        cells = [str(c).ljust(w[j]) if j < 2 else str(c).rjust(w[j])
                 for j, c in enumerate(x)]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * k for k in w))
    for m in missing:
        print(f"not measured: {m}")
    return 1 if missing else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("idle")
    a.add_argument("--proto", choices=("etp", "tcp"), required=True)
    a.add_argument("--pairs", type=int, required=True)
    a.add_argument("--addr", default="127.0.0.1")
    a.add_argument("--port", type=int, default=5300)
    t = sub.add_parser("table")
    t.add_argument("dirs", nargs="+")
    args = ap.parse_args()
    return idle(args) if args.cmd == "idle" else table(args)


if __name__ == "__main__":
    sys.exit(main())
