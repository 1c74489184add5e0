#!/usr/bin/python3
"""bench/conversation-reads: what the appear_offline exception costs a read
(a benchmark, not a test; loopback only, bounded).

A presence-server (memory store, then a private redis-server on a unix
socket) holds 100 participants, and one viewer reads all 100 ids with
GET /v1/presence and GET /v1/members over one keep-alive connection, in
three cases side by side in one run:

  visible   the 100 are online: no grant is asked (the path of every read
            before the exception existed);
  hidden    the 100 are in appear_offline, no conversation: the store is
            asked for 100 grants and answers none;
  granted   the same, with a conversation each: 100 grants.

and the time from a stream "sub" of the 100 ids to its snapshot, which
now asks for the grants before the states.

    bench/conversation-reads.py --builddir build [--reads 2000] [--before OLD_BINARY]

--before runs the visible case with a presence-server of the tree before
too (it has no /v1/conversations), between this tree's runs.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "server"))
from presence_testlib import Server, WebSocket, heartbeat  # noqa: E402

N = 100
TOKENS = "tok-viewer viewer\ntok-platform platform admin\n" + \
    "".join("tok-p%d p%d\n" % (i, i) for i in range(N))


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def timed_reads(server, path, count):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    times = []
    for _ in range(count):
        start = time.perf_counter()
        conn.request("GET", path, headers={"Authorization": "Bearer tok-viewer"})
        resp = conn.getresponse()
        resp.read()
        times.append((time.perf_counter() - start) * 1000)
        assert resp.status == 200, resp.status
    conn.close()
    return times


def timed_subs(server, ids, count):
    ws = WebSocket(server.port, "tok-viewer")
    times = []
    for _ in range(count):
        start = time.perf_counter()
        ws.send({"op": "sub", "ids": ids})
        msg = ws.recv()
        times.append((time.perf_counter() - start) * 1000)
        assert msg and msg["op"] == "snapshot", msg
    ws.close()
    return times


def set_all(server, state, seq):
    for i in range(N):
        status, _, _ = server.json("PUT", "/v1/instances/laptop", heartbeat(state, seq=seq),
                                   token="tok-p%d" % i)
        assert status == 200


def bench_store(binary, store_args, label, reads, cases=("visible", "hidden", "granted")):
    server = Server(binary, "--rate-limit", "100000", "--rate-burst", "100000", "--ttl", "600",
                    "--interval", "300", *store_args, tokens=TOKENS)
    ids = ["p%d" % i for i in range(N)]
    query = "ids=" + ",".join(ids)
    rows = []
    try:
        for case, state, seq in [("visible", "online", 1), ("hidden", "appear_offline", 2),
                                 ("granted", "appear_offline", 3)]:
            if case not in cases:
                continue
            set_all(server, state, seq)
            if case == "granted":
                for i in ids:
                    server.json("POST", "/v1/conversations", {"a": "viewer", "b": i},
                                token="tok-platform")
            _, _, states = server.json("GET", "/v1/presence?" + query, token="tok-viewer")
            want = {"visible": "online", "hidden": "offline", "granted": "appear_offline"}[case]
            assert set(states.values()) == {want}, states
            for name, times in [("presence", timed_reads(server, "/v1/presence?" + query, reads)),
                                ("members", timed_reads(server, "/v1/members?" + query, reads)),
                                ("sub", timed_subs(server, ids, reads // 4))]:
                rows.append((label, case, name, percentile(times, 0.5), percentile(times, 0.99)))
    finally:
        server.stop()
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--builddir", required=True)
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--before", help="a presence-server of the tree before, for the "
                        "visible case beside this tree's")
    args = parser.parse_args()
    binary = os.path.join(args.builddir, "src", "server", "presence-server")
    rows = []
    if args.before:
        rows += bench_store(args.before, [], "memory, before", args.reads, ("visible",))
    rows += bench_store(binary, [], "memory", args.reads)
    tmp = tempfile.mkdtemp(prefix="pres-bench-")
    sock = os.path.join(tmp, "redis.sock")
    redis = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                              "--appendonly", "no"], cwd=tmp, stdout=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        if args.before:
            rows += bench_store(args.before, ["--store", "unix:" + sock], "redis, before",
                                args.reads, ("visible",))
        rows += bench_store(binary, ["--store", "unix:" + sock], "redis", args.reads)
    finally:
        os.killpg(redis.pid, signal.SIGTERM)
        redis.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("| store | case | read of %d ids | p50 ms | p99 ms |" % N)
    print("|---|---|---|---|---|")
    for store, case, name, p50, p99 in rows:
        print("| %s | %s | %s | %.3f | %.3f |" % (store, case, name, p50, p99))


if __name__ == "__main__":
    main()
