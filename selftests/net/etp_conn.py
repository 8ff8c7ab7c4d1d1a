#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""etp_conn.py: one ETP connection on one host, step by step, for tests
that need the same segments every time (etp_tools.sh).

Both ends live in this process, so every step waits for what the other end
did before the next one starts; no step races a timer or a scheduler:

  1. server listens on ADDR:SPORT                      stage "listening"
  2. client (ADDR:CPORT) connects; the server accepts
  3. client sends "hello"; the server does not read until the client has
     seen the ACK, so that ACK is always the delayed one
  4. server reads, sends "bye"; the client reads only after the server has
     seen its (delayed) ACK                            stage "established"
  5. client shutdown(SHUT_WR): FIN; the server ACKs at once
                                     client FIN_WAIT2, stage "half_closed"
  6. server reads end of file, closes: FIN; the client ACKs
                    client TIME_WAIT, server gone,     stage "time_wait"
  7. client closes its descriptor

At each stage it prints an "info STAGE client|server" line per end with
the end's ETP_INFO (state, rto, srtt, rttvar, cwnd, ssthresh, snd_wnd,
rcv_wnd, retrans, mss, ca_state, iss, irs), then "stage NAME", then, with
--ctl FIFO, waits for a line on FIFO before it goes on. Exit status: 0 done, 1 usage,
2 socket call failed, 3 a step did not happen within --timeout seconds.
"""

import argparse
import socket
import struct
import sys
import time

IPPROTO_ETP = 253
SOL_ETP = 253
ETP_INFO = 1
# struct etp_info, field by field (mod/include/uapi/linux/etp.h).
INFO_HEAD = struct.Struct("=BBHHH" + "I" * 12 + "QQQ" + "I" * 10 + "BBBB")
FIELDS = ("state", "backoff", "mss", "peer_mss", "pad", "rto", "srtt",
          "rttvar", "iss", "irs", "snd_una", "snd_nxt", "rcv_nxt", "snd_wnd",
          "rcv_wnd", "retrans", "timeouts", "bytes_sent", "bytes_acked",
          "bytes_received", "cwnd", "ssthresh", "in_flight", "lost",
          "fast_retrans", "dup_acks", "ooo_segs", "ooo_bytes", "probes",
          "delayed_acks", "snd_wscale", "rcv_wscale", "ca_state", "nodelay")
SHOWN = ("state", "rto", "srtt", "rttvar", "cwnd", "ssthresh", "snd_wnd",
         "rcv_wnd", "retrans", "mss", "ca_state", "iss", "irs")

TIME_WAIT = 6


def info(sock):
    raw = sock.getsockopt(SOL_ETP, ETP_INFO, INFO_HEAD.size)
    raw = raw.ljust(INFO_HEAD.size, b"\0")
    return dict(zip(FIELDS, INFO_HEAD.unpack(raw)))


class Step:
    def __init__(self, args):
        self.args = args
        self.ctl = open(args.ctl) if args.ctl else None

    def wait(self, what, cond):
        end = time.monotonic() + self.args.timeout
        while not cond():
            if time.monotonic() > end:
                print("etp_conn: timed out waiting for %s" % what, file=sys.stderr)
                sys.exit(3)
            time.sleep(0.02)

    def stage(self, name, socks):
        for role, s in socks:
            i = info(s)
            print("info", name, role,
                  " ".join("%s=%d" % (k, i[k]) for k in SHOWN))
        print("stage", name)
        sys.stdout.flush()
        if self.ctl:
            if not self.ctl.readline():
                print("etp_conn: control fifo closed", file=sys.stderr)
                sys.exit(3)


def proc_state(lport, rport):
    """The state of the /proc/net/etp line lport -> rport, or None."""
    with open("/proc/net/etp") as f:
        next(f)
        for line in f:
            p = line.split()
            if int(p[1].split(":")[1], 16) == lport and \
               int(p[2].split(":")[1], 16) == rport:
                return int(p[3], 16)
    return None


def main():
    ap = argparse.ArgumentParser(description="one scripted ETP connection")
    ap.add_argument("--addr", default="127.0.0.1")
    ap.add_argument("--cport", type=int, default=40301)
    ap.add_argument("--sport", type=int, default=7301)
    ap.add_argument("--ctl", help="fifo: wait for a line at each stage")
    ap.add_argument("--timeout", type=float, default=20)
    args = ap.parse_args()
    step = Step(args)
    a = args.addr

    try:
        lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_ETP)
        lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsn.bind((a, args.sport))
        lsn.listen(1)
        step.stage("listening", [])

        cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_ETP)
        cli.bind((a, args.cport))
        cli.connect((a, args.sport))
        srv, _ = lsn.accept()
        lsn.close()

        cli.send(b"hello")
        step.wait("the ACK of hello",
                  lambda: info(cli)["snd_una"] == info(cli)["snd_nxt"])
        got = srv.recv(16)
        if got != b"hello":
            print("etp_conn: server read %r" % got, file=sys.stderr)
            return 3
        srv.send(b"bye")
        step.wait("the ACK of bye",
                  lambda: info(srv)["snd_una"] == info(srv)["snd_nxt"])
        got = cli.recv(16)
        if got != b"bye":
            print("etp_conn: client read %r" % got, file=sys.stderr)
            return 3
        step.stage("established", [("client", cli), ("server", srv)])

        cli.shutdown(socket.SHUT_WR)
        step.wait("the ACK of the client's FIN",
                  lambda: info(cli)["snd_una"] == info(cli)["snd_nxt"])
        step.stage("half_closed", [("client", cli), ("server", srv)])

        if srv.recv(16) != b"":
            print("etp_conn: server: no end of file", file=sys.stderr)
            return 3
        srv.close()
        step.wait("the client's TIME_WAIT and the server's end",
                  lambda: proc_state(args.cport, args.sport) == TIME_WAIT and
                  proc_state(args.sport, args.cport) is None)
        step.stage("time_wait", [])
        cli.close()
    except OSError as e:
        print("etp_conn: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
