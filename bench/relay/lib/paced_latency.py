#!/usr/bin/env python3
"""paced_latency.py - exact accept-to-delivered latency of a relay at a fixed injection rate.

The shared harness (/work/shared/bench/lib/relaybench.py) injects as fast as 20 sessions go,
so its latency figures are queueing delay under saturation. This script answers the other
question: at a given rate (e.g. half the measured maximum), how long does one message take
from the MTA's 250 after DATA to its arrival at the sink?

Flow: start smtp-sink (-d: one dump file per transaction, on tmpfs) on --sink-port, wait for
the MTA's 220 on --mta-port, run mdsource_paced at --rate, wait until the sink holds every
message, then latency per message = dump file mtime - time of the MTA's 250 (mdsource log;
the Message-Id carries the message number). mtime resolution is one kernel tick (~4 ms).
The MTA is started and stopped by the caller. Prints one `key=value` block and appends a
`JSON {...}` line to --out.
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
MID_RE = re.compile(rb"^Message-Id: *<(\d+)\.mds@", re.I | re.M)


def percentile(vals, q):
    if not vals:
        return None
    return vals[min(len(vals) - 1, max(0, int(round(q * (len(vals) - 1)))))]


def wait_banner(port, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def build_generator(work):
    src = os.path.join(HERE, "mdsource_paced.c")
    exe = os.path.join(work, "bin", "mdsource_paced")
    if not os.path.exists(exe) or os.path.getmtime(exe) < os.path.getmtime(src):
        os.makedirs(os.path.dirname(exe), exist_ok=True)
        subprocess.check_call(["cc", "-O2", "-pthread", "-o", exe, src])
    return exe


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mta-port", type=int, required=True)
    ap.add_argument("--sink-port", type=int, required=True)
    ap.add_argument("--rate", type=float, required=True, help="messages per second")
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--size", type=int, default=2048)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--peer", default="outpost")
    ap.add_argument("--out")
    ap.add_argument("--stall", type=float, default=60)
    ap.add_argument("--dump-base", default="/dev/shm/outpost-relay-bench-sink")
    args = ap.parse_args()

    work = os.environ.get("BENCH_WORK", "/var/tmp/outpost-relay-bench")
    gen = build_generator(work)
    run_id = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
    dump = os.path.join(args.dump_base, run_id)
    os.makedirs(dump, exist_ok=True)
    sink_cmd = ["/usr/sbin/smtp-sink", "-d", os.path.join(dump, "m.")]
    if os.geteuid() == 0:
        import pwd
        nob = pwd.getpwnam("nobody")
        os.chown(dump, nob.pw_uid, nob.pw_gid)
        sink_cmd += ["-u", "nobody"]
    sink_cmd += ["-m", "1024", f"127.0.0.1:{args.sink_port}", "1024"]
    sink = subprocess.Popen(sink_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    res = {"peer": args.peer, "run_id": run_id, "n": args.n, "size": args.size,
           "rate_target": args.rate, "sessions": args.sessions,
           "loadavg": open("/proc/loadavg").read().split()[:3]}
    try:
        if not wait_banner(args.sink_port, 10) or not wait_banner(args.mta_port, 60):
            sys.exit("paced_latency: sink or MTA not answering")
        log = os.path.join(dump, "gen.log")
        t0 = time.time()
        g = subprocess.run([gen, "-s", str(args.sessions), "-m", str(args.n), "-l",
                            str(args.size), "-r", "1", "-R", str(args.rate), "-o", log,
                            "127.0.0.1", str(args.mta_port)], capture_output=True)
        t_gen = time.time() - t0
        acks = {}
        for line in open(log):
            k, _ts, ta, st = line.split()
            if int(st) == 0:
                acks[int(k)] = int(ta) / 1e9
        last, count = time.time(), 0
        while count < len(acks) and time.time() - last < args.stall:
            time.sleep(0.2)
            c = sum(1 for e in os.scandir(dump) if e.name.startswith("m."))
            if c != count:
                count, last = c, time.time()
        lat = []
        for e in os.scandir(dump):
            if not e.name.startswith("m."):
                continue
            with open(e.path, "rb") as f:
                m = MID_RE.search(f.read(8192))
            if m and int(m.group(1)) in acks:
                lat.append(e.stat().st_mtime_ns / 1e9 - acks[int(m.group(1))])
        lat.sort()
        res.update({"gen_rc": g.returncode, "inj_ok": len(acks), "delivered": len(lat),
                    "inj_rate": round(len(acks) / t_gen, 1) if t_gen > 0 else None,
                    "complete": len(lat) == len(acks) == args.n})
        for q, name in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (1.0, "max")):
            v = percentile(lat, q)
            res[f"lat_{name}_ms"] = round(v * 1e3, 1) if v is not None else None
    finally:
        sink.send_signal(signal.SIGTERM)
        sink.wait()
        shutil.rmtree(dump, ignore_errors=True)
    print("\n".join(f"{k}={v}" for k, v in res.items()))
    if args.out:
        with open(args.out, "a") as f:
            f.write("JSON " + json.dumps(res) + "\n")
    return 0 if res.get("complete") else 1


if __name__ == "__main__":
    sys.exit(main())
