#!/usr/bin/python3
"""bench/redis-compare: presence-server's memory store and Redis store side
by side, in one run (a benchmark, not a test; loopback only, bounded).

It starts a private redis-server (unix socket, no persistence, pinned to
CPU 0 beside the server; the load generator gets CPU 1) and runs
bench/loadgen for each store:

  1. store + load: 50,000 first-seen heartbeats (bytes per participant in
     Redis), then open-loop steps up to the highest rate at p99 ≤ 20 ms,
     each instance beating every 5 s at the first step with a TTL of 12.5 s
     (server CPU, Redis CPU per heartbeat from INFO commandstats and from
     the redis-server process);
  2. reconnect storm: 10,000 agents reconnect within 10 s (all online again
     within 15 s, no flicker);
  3. fan-out: one change to 1,000 and to 10,000 WebSocket subscribers;
  4. Redis alone: the heartbeat function's cost without a server competing for
     the core: 100,000 heartbeats (10,000 participants × 10, one change in
     20) pipelined by redis-cli --pipe from CPU 1.

    bench/redis-compare.py --builddir build [--quick]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def run(cmd, label):
    print("### %s" % label, flush=True)
    print("$ " + " ".join(cmd), flush=True)
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                         timeout=900)
    for line in out.stdout.splitlines():
        print("    " + line, flush=True)
    return out.stdout


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def redis_alone(sock, n_part, beats):
    """FCALL of the real heartbeat function, pipelined: Redis's own cost."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src", "server", "redis")
    library = "#!lua name=bench\nlocal LIB = 'bench'\n" + \
        open(os.path.join(here, "presence.lua")).read()
    cli = ["redis-cli", "-s", sock]
    subprocess.run(cli + ["FLUSHALL"], capture_output=True)
    subprocess.run(cli + ["-x", "FUNCTION", "LOAD", "REPLACE"], input=library.encode(),
                   capture_output=True)
    commands = []
    for seq in range(1, beats + 1):
        for i in range(n_part):
            pid = "p%07d" % i
            h = 2166136261
            for byte in pid.encode():
                h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
            b = h & 15
            commands.append(resp([
                "FCALL", "bench_heartbeat", "4", "pz:{%d}:d:%s" % (b, pid), "pz:{%d}:dl" % b,
                "pz:{%d}:ev" % b, "pz:{%d}:n" % b, pid, "agent-%07d" % i,
                "i" if seq % 20 == 19 else "o", "00005e55%08x" % i, str(seq),
                "\x1f\x1f3\x1f\x1f\x1f\x1f\x1f\x1f+periodic", "75000", "0", "1", "16", "10000"]))
    subprocess.run(cli + ["CONFIG", "RESETSTAT"], capture_output=True)
    cpu_before = redis_cpu_s(sock)
    t0 = time.monotonic()
    subprocess.run(["taskset", "-c", "1"] + cli + ["--pipe"], input=b"".join(commands),
                   capture_output=True, timeout=300)
    secs = time.monotonic() - t0
    cpu = redis_cpu_s(sock) - cpu_before
    stats = subprocess.run(cli + ["INFO", "commandstats"], capture_output=True,
                           text=True).stdout
    per_call = [line.split("usec_per_call=")[1].split(",")[0] for line in stats.splitlines()
                if line.startswith("cmdstat_fcall:")]
    n = n_part * beats
    print("### Redis alone: heartbeat function, pipelined")
    print("    redis:   %d heartbeats in %.2f s (%.0f/s), function %s µs per call "
          "(commandstats), redis-server process %.2f µs CPU per heartbeat"
          % (n, secs, n / secs, per_call[0] if per_call else "?", cpu * 1e6 / n), flush=True)


def redis_cpu_s(sock):
    info = subprocess.run(["redis-cli", "-s", sock, "INFO", "server"], capture_output=True,
                          text=True).stdout
    pid = [line.split(":")[1] for line in info.splitlines() if line.startswith("process_id:")][0]
    with open("/proc/%s/stat" % pid.strip()) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--builddir", default="build")
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    parser.add_argument("--only", help="comma-separated parts: load,storm,fanout,alone")
    args = parser.parse_args()
    loadgen = os.path.join(args.builddir, "bench", "loadgen")
    server = os.path.join(args.builddir, "src", "server", "presence-server")
    if shutil.which("redis-server") is None:
        print("redis-server is not installed (apt-get install redis-server)")
        return 77

    tmp = tempfile.TemporaryDirectory(prefix="pres-redis-bench-")
    sock = os.path.join(tmp.name, "redis.sock")
    redis = subprocess.Popen(
        ["taskset", "-c", "0", "redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
         "--appendonly", "no", "--dir", tmp.name, "--maxmemory-policy", "noeviction",
         "--logfile", os.path.join(tmp.name, "redis.log")], start_new_session=True)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-s", sock, "PING"], capture_output=True).stdout != \
            b"PONG\n":
        if time.monotonic() > deadline:
            print("redis-server did not come up")
            return 1
        time.sleep(0.05)
    store = "unix:" + sock
    quick = args.quick
    common = [loadgen, "--server", server, "--max-seconds", "400"]
    # Each instance beats every instances/rate seconds over 2,000 keep-alive
    # connections; the TTL is 2.5 times that at the first step (the default
    # 30 s / 75 s), and each step lasts two of those periods.  (--quick: a
    # smoke test, its TTL five periods.)
    load = ["--instances", "20000" if quick else "50000", "--agents", "2000",
            "--ttl", "10" if quick else "12.5",
            "--step-seconds", "4" if quick else "10", "--start-rate", "10000",
            "--rate-step", "5000", "--max-rate", "10000" if quick else "60000",
            "--target-p99-ms", "20"]
    storm = ["--storm-agents", "2000" if quick else "10000",
             "--storm-seconds", "3" if quick else "10"]
    try:
        print("load average before: %s" % open("/proc/loadavg").read().strip())
        parts = (args.only or "load,storm,fanout,alone").split(",")
        for name, extra in (("memory", []), ("redis", ["--store", store])):
            subprocess.run(["redis-cli", "-s", sock, "FLUSHALL"], capture_output=True)
            if "load" in parts:
                run(common + extra + ["--phases", "store,load"] + load,
                    "%s store: store + load" % name)
            subprocess.run(["redis-cli", "-s", sock, "FLUSHALL"], capture_output=True)
            if "storm" in parts:
                run(common + extra + ["--phases", "storm"] + storm,
                    "%s store: reconnect storm" % name)
            for subscribers in ((1000,) if quick else (1000, 10000)):
                if "fanout" not in parts:
                    break
                # A fresh store: the writer's session starts at seq 1 again.
                subprocess.run(["redis-cli", "-s", sock, "FLUSHALL"], capture_output=True)
                # Few agents and storm agents: loadgen reserves descriptors for them.
                run(common + extra + ["--phases", "fanout", "--subscribers", str(subscribers),
                                      "--agents", "10", "--storm-agents", "10",
                                      "--fan-changes", "5" if quick else "20"],
                    "%s store: fan-out to %d subscribers" % (name, subscribers))
        if "alone" in parts:
            redis_alone(sock, 2000 if quick else 10000, 10)
        print("load average after: %s" % open("/proc/loadavg").read().strip())
    finally:
        os.killpg(redis.pid, signal.SIGTERM)
        redis.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
