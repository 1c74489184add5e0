#!/usr/bin/python3
"""Integration tests of the real presence-server binary on 127.0.0.1.

Usage: server-integration.py PRESENCE_SERVER CASE

Each case starts its own server on port 0 (the port is read from the
"listening on" line), talks HTTP and WebSocket to it, and stops it by PID.
"""

import http.client
import json
import signal
import subprocess
import sys
import time

from presence_testlib import (Server, WebSocket, cases_of, check, expect_rejected, heartbeat,
                              run_case, seed, snapshot, wait_for)


# --- cases -------------------------------------------------------------------

def case_healthz_metrics(binary):
    server = Server(binary)
    try:
        status, _, body = server.json("GET", "/healthz")
        check(status == 200 and body == {"status": "ok", "ttl_ms": 75000, "interval_ms": 30000},
              "healthz: %r" % body)
        seed(server)
        status, hdrs, data = server.request("GET", "/metrics")
        text = data.decode()
        check(status == 200 and hdrs["Content-Type"].startswith("text/plain"), "metrics status")
        check("presence_heartbeats_total 1\n" in text, "heartbeat not counted:\n" + text)
        check("presence_instances 1\n" in text, "instance gauge:\n" + text)
        check("# TYPE presence_instances gauge" in text, "no TYPE line")
        # The store's latency: one heartbeat answered, within the top bound.
        check("# TYPE presence_store_duration_seconds histogram" in text, "no store histogram")
        check('presence_store_duration_seconds_count{op="heartbeat"} 1\n' in text and
              'presence_store_duration_seconds_bucket{op="heartbeat",le="2"} 1\n' in text and
              'presence_store_duration_seconds_bucket{op="heartbeat",le="+Inf"} 1\n' in text,
              "heartbeat latency not counted:\n" + text)
        check('presence_store_duration_seconds_count{op="leave"} 0\n' in text,
              "a leave counted:\n" + text)
        expect_rejected(server, "GET", "/nowhere", None, "tok-lena", 404, "not_found")
    finally:
        server.stop()


def case_heartbeat_reply(binary):
    server = Server(binary, "--ttl", "90", "--interval", "20")
    try:
        status, _, reply = server.json("PUT", "/v1/instances/Laptop-1",
                                       heartbeat("online", host="lena-laptop"), token="tok-lena")
        check(status == 200, "status %d" % status)
        check(reply == {"participant_id": "lena", "state": "online", "ttl_ms": 90000,
                        "interval_ms": 20000}, "reply %r" % reply)
        # Case-insensitive ids: the same instance, not a second one.
        server.json("PUT", "/v1/instances/LAPTOP-1", heartbeat("busy", seq=2), token="tok-lena")
        _, _, own = server.json("GET", "/v1/instances", token="tok-lena")
        check(len(own["instances"]) == 1, "instances: %r" % own)
        inst = own["instances"][0]
        check(inst["instance_id"] == "laptop-1" and inst["state"] == "busy", "instance %r" % inst)
        check(abs(inst["ts"] / 1000 - time.time()) < 60, "ts is not the wall time: %r" % inst)
        check("host" not in inst, "host of the older heartbeat kept: %r" % inst)
    finally:
        server.stop()


def case_bad_malformed_json(binary):
    server = Server(binary)
    try:
        seed(server)
        for raw in ["{", "", "[1]", "nope", '{"state": "online"} x']:
            expect_rejected(server, "PUT", "/v1/instances/laptop", None, "tok-lena", 400,
                            "invalid_json", raw=raw)
    finally:
        server.stop()


def case_bad_wrong_types(binary):
    server = Server(binary)
    try:
        seed(server)
        for body in [{"state": 1, "session": "s", "seq": 9},
                     {"state": "online", "session": 5, "seq": 9},
                     {"state": "online", "session": "s1", "seq": "9"},
                     {"state": "online", "session": "s1", "seq": 9.5},
                     {"state": "online", "session": "s1", "seq": 9, "host": ["x"]},
                     {"state": "online", "session": "s1", "seq": 9, "last_input_seconds": "3"},
                     {"state": "online", "session": "s1"}]:
            expect_rejected(server, "PUT", "/v1/instances/laptop", body, "tok-lena", 400,
                            "invalid_field")
    finally:
        server.stop()


def case_bad_oversize(binary):
    server = Server(binary)
    try:
        seed(server)
        big = heartbeat("online", seq=9, status_text="x", host="h" * 5000)
        _, err = expect_rejected(server, "PUT", "/v1/instances/laptop", big, "tok-lena", 413,
                                 "too_large")
        # Refused on its Content-Length, before the body was read.
        check("got" not in err["error"]["message"], "the body was read: %r" % err)
        # A chunked body of unknown size is refused before it is read.
        before = snapshot(server)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.putrequest("PUT", "/v1/instances/laptop")
        conn.putheader("Authorization", "Bearer tok-lena")
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        chunk = json.dumps(heartbeat("online", seq=9)).encode()
        conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(chunk), chunk))
        resp = conn.getresponse()
        err = json.loads(resp.read())
        conn.close()
        check(resp.status == 411 and err["error"]["code"] == "length_required",
              "chunked body: %d %r" % (resp.status, err))
        check(snapshot(server) == before, "store changed after a chunked body")
        long_field = heartbeat("online", seq=9, host="h" * 300)
        expect_rejected(server, "PUT", "/v1/instances/laptop", long_field, "tok-lena", 400,
                        "invalid_field")
        long_status = heartbeat("online", seq=9, status_text="é" * 141)
        _, err = expect_rejected(server, "PUT", "/v1/instances/laptop", long_status, "tok-lena",
                                 400, "invalid_field")
        check("status_text" in err["error"]["message"], "message %r" % err)
    finally:
        server.stop()


def case_bad_unknown_state(binary):
    server = Server(binary)
    try:
        seed(server)
        for state in ["away", "offline", "BUSY"]:
            _, err = expect_rejected(server, "PUT", "/v1/instances/laptop",
                                     heartbeat(state, seq=9), "tok-lena", 400, "invalid_state")
            check("online, idle, busy, appear_offline" in err["error"]["message"],
                  "message does not say what is allowed: %r" % err)
    finally:
        server.stop()


def case_bad_id(binary):
    server = Server(binary)
    try:
        seed(server)
        for path in ["/v1/instances/bad%20id", "/v1/instances/a*b", "/v1/instances/" + "a" * 129,
                     "/v1/instances/%C3%A9"]:
            expect_rejected(server, "PUT", path, heartbeat("online", seq=9), "tok-lena", 400,
                            "invalid_id")
        expect_rejected(server, "GET", "/v1/presence?ids=lena,no/pe", None, "tok-lena", 400,
                        "invalid_id")
    finally:
        server.stop()


def case_bad_token(binary):
    server = Server(binary)
    try:
        seed(server)
        for token in [None, "tok-nobody", "lena"]:
            hdrs, _ = expect_rejected(server, "PUT", "/v1/instances/laptop",
                                      heartbeat("online", seq=9), token, 401, "unauthorized")
            check(hdrs.get("WWW-Authenticate") == "Bearer", "no WWW-Authenticate")
            expect_rejected(server, "GET", "/v1/presence?ids=lena", None, token, 401,
                            "unauthorized")
            expect_rejected(server, "DELETE", "/v1/instances/laptop?session=s1", None, token, 401,
                            "unauthorized")
        expect_rejected(server, "PUT", "/v1/instances/laptop", heartbeat("online", seq=9), None,
                        401, "unauthorized", headers={"Authorization": "Basic dG9rLWxlbmE="})
    finally:
        server.stop()


def case_bad_too_many_instances(binary):
    server = Server(binary)
    try:
        for i in range(16):
            status, _, _ = server.json("PUT", "/v1/instances/dev-%d" % i, heartbeat("online"),
                                       token="tok-bob")
            check(status == 200, "instance %d refused" % i)
        expect_rejected(server, "PUT", "/v1/instances/dev-16", heartbeat("online"), "tok-bob",
                        409, "too_many_instances")
        # The cap is per participant: another one is still welcome.
        status, _, _ = server.json("PUT", "/v1/instances/x", heartbeat("online"), token="tok-lena")
        check(status == 200, "lena refused")
    finally:
        server.stop()


def case_bad_total_cap(binary):
    server = Server(binary, "--max-instances", "2")
    try:
        seed(server)
        server.json("PUT", "/v1/instances/desk", heartbeat("online"), token="tok-bob")
        hdrs, _ = expect_rejected(server, "PUT", "/v1/instances/phone", heartbeat("online"),
                                  "tok-bob", 503, "server_full")
        check(int(hdrs.get("Retry-After", "0")) > 0, "no Retry-After")
    finally:
        server.stop()


def case_bad_rate_limit(binary):
    server = Server(binary, "--rate-limit", "0.5", "--rate-burst", "3")
    try:
        for i in range(3):
            status, _, _ = server.json("PUT", "/v1/instances/laptop",
                                       heartbeat("busy", seq=i + 1), token="tok-lena")
            check(status == 200, "request %d refused" % i)
        hdrs, _ = expect_rejected(server, "PUT", "/v1/instances/laptop",
                                  heartbeat("online", seq=10), "tok-lena", 429, "rate_limited")
        check(int(hdrs.get("Retry-After", "0")) >= 1, "no Retry-After: %r" % hdrs)
        # Per token: bob is not limited by lena's requests.
        status, _, _ = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(status == 200, "bob was limited too")
    finally:
        server.stop()


def case_appear_offline_privacy(binary):
    server = Server(binary)
    try:
        server.json("PUT", "/v1/instances/phone", heartbeat("busy", session="p"), token="tok-lena")
        status, _, reply = server.json("PUT", "/v1/instances/laptop", heartbeat("appear_offline"),
                                       token="tok-lena")
        check(status == 200 and reply["state"] == "appear_offline", "own reply %r" % reply)
        _, _, other = server.json("GET", "/v1/presence?ids=lena,bob,ghost,lena",
                                  token="tok-bob")
        check(other == {"lena": "offline", "bob": "offline", "ghost": "offline"},
              "bob sees %r" % other)
        _, _, own = server.json("GET", "/v1/presence?ids=lena", token="tok-lena")
        check(own == {"lena": "appear_offline"}, "lena sees %r" % own)
        # Back to visible: busy wins over online for everyone.
        server.json("PUT", "/v1/instances/laptop", heartbeat("online", seq=2), token="tok-lena")
        _, _, other = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(other == {"lena": "busy"}, "bob sees %r" % other)
    finally:
        server.stop()


def case_always_online(binary):
    server = Server(binary)
    try:
        _, _, states = server.json("GET", "/v1/presence?ids=claude-bot", token="tok-bob")
        check(states == {"claude-bot": "online"}, "bot reads %r" % states)
    finally:
        server.stop()


def case_instances_admin(binary):
    server = Server(binary)
    try:
        seed(server)
        server.json("PUT", "/v1/instances/desk", heartbeat("online", host="d"), token="tok-bob")
        _, _, own = server.json("GET", "/v1/instances", token="tok-bob")
        check([i["participant_id"] for i in own["instances"]] == ["bob"], "bob sees %r" % own)
        _, _, everyone = server.json("GET", "/v1/instances", token="tok-ops")
        check(len(everyone["instances"]) == 2, "admin sees %r" % everyone)
        expect_rejected(server, "POST", "/v1/instances", {}, "tok-bob", 405, "method_not_allowed")
    finally:
        server.stop()


def case_leave(binary):
    server = Server(binary)
    try:
        seed(server)
        server.json("PUT", "/v1/instances/laptop", heartbeat("online", session="s2"),
                    token="tok-lena")
        # A late leave of the old session is ignored...
        status, _, body = server.json("DELETE", "/v1/instances/laptop?session=s1&reason=quit",
                                      token="tok-lena")
        check(status == 200 and body == {}, "late leave: %d %r" % (status, body))
        _, _, states = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(states == {"lena": "online"}, "after a late leave: %r" % states)
        # ...a late heartbeat of the old session too...
        server.json("PUT", "/v1/instances/laptop", heartbeat("busy", session="s1", seq=99),
                    token="tok-lena")
        _, _, states = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(states == {"lena": "online"}, "after a late heartbeat: %r" % states)
        # ...and the live session's leave removes it at once.
        expect_rejected(server, "DELETE", "/v1/instances/laptop", None, "tok-lena", 400,
                        "invalid_field")
        server.json("DELETE", "/v1/instances/LAPTOP?session=s2&reason=quit", token="tok-lena")
        _, _, states = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(states == {"lena": "offline"}, "after the leave: %r" % states)
    finally:
        server.stop()


def case_expiry(binary):
    server = Server(binary, "--ttl", "1", "--interval", "0.5")
    try:
        start = time.monotonic()
        seed(server)
        seeded = time.monotonic()

        def offline():
            _, _, states = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
            return states["lena"] == "offline"

        wait_for(offline, 1.0 + 1.0 + 0.5, "lena offline within TTL + 1 s")
        now = time.monotonic()
        check(now - start >= 1.0, "offline too early, after %.2f s" % (now - start))
        check(now - seeded <= 2.0, "offline after %.2f s, TTL is 1 s" % (now - seeded))
    finally:
        server.stop()


def case_dev_mode(binary):
    server = Server(binary, "--dev", tokens=None)
    try:
        check("INSECURE" in server.errors(), "dev mode is not announced: %r" % server.errors())
        status, _, reply = server.json("PUT", "/v1/instances/x", heartbeat("idle"), token="anyone")
        check(status == 200 and reply["participant_id"] == "anyone", "dev reply %r" % reply)
    finally:
        server.stop()
    proc = subprocess.run([binary, "--dev", "--listen", "0.0.0.0:0"], capture_output=True,
                          timeout=10)
    check(proc.returncode != 0, "dev mode listened on 0.0.0.0")
    check(b"loopback" in proc.stderr, "no reason given: %r" % proc.stderr)


def case_verbose_log(binary):
    server = Server(binary, "-v")
    try:
        seed(server)
        server.json("PUT", "/v1/instances/laptop", heartbeat("busy", seq=6), token="tok-lena")
        server.json("PUT", "/v1/instances/phone", heartbeat("online", session="p"),
                    token="tok-lena")
        server.json("PUT", "/v1/instances/laptop", heartbeat("idle", seq=7), token="tok-lena")
        lines = [l for l in server.errors().splitlines() if "participant lena:" in l]
        # offline → busy, then busy → online; the rest changed nothing public.
        check(len(lines) == 2, "state change lines: %r" % lines)
        check("tok-lena" not in server.errors(), "a token was logged")
    finally:
        server.stop()
    quiet = Server(binary)
    try:
        seed(quiet)
        check("participant lena:" not in quiet.errors(), "debug lines without -v")
    finally:
        quiet.stop()


def case_sigterm(binary):
    server = Server(binary)
    seed(server)
    ws = WebSocket(server.port, "tok-bob")
    ws.send({"op": "sub", "ids": ["lena"]})
    check(ws.recv() is not None, "no snapshot")
    code = server.stop(signal.SIGTERM)
    ws.close()
    check(code == 0, "exit status %d after SIGTERM" % code)


def case_sigint(binary):
    server = Server(binary)
    code = server.stop(signal.SIGINT)
    check(code == 0, "exit status %d after SIGINT" % code)


def case_ws_unauthorized(binary):
    server = Server(binary)
    try:
        ws = WebSocket(server.port, "tok-nobody")
        check(ws.status == 401, "handshake status %d" % ws.status)
        ws.close()
        ws = WebSocket(server.port, None)
        check(ws.status == 401, "handshake status %d" % ws.status)
        ws.close()
    finally:
        server.stop()


def case_ws_rate_limit(binary):
    server = Server(binary, "--rate-limit", "0.2", "--rate-burst", "2")
    try:
        ws = WebSocket(server.port, "tok-bob")
        for _ in range(2):
            ws.send({"op": "sub", "ids": ["lena"]})
            msg = ws.recv()
            check(msg and msg["op"] == "snapshot", "sub answered %r" % msg)
        ws.send({"op": "sub", "ids": ["lena"]})
        msg = ws.recv()
        check(msg and msg["op"] == "error" and msg["error"]["code"] == "rate_limited",
              "third sub answered %r" % msg)
        ws.close()
    finally:
        server.stop()


def change(server, state, seq, token="tok-lena", instance="laptop"):
    status, _, _ = server.json("PUT", "/v1/instances/" + instance, heartbeat(state, seq=seq),
                               token=token)
    check(status == 200, "heartbeat refused")


def case_ws_snapshot_deltas(binary):
    server = Server(binary)
    try:
        seed(server)
        ws = WebSocket(server.port, "tok-bob")
        check(ws.status == 101, "handshake status %d" % ws.status)
        ws.send({"op": "sub", "ids": ["lena", "bob", "claude-bot"]})
        snap = ws.recv()
        check(snap and snap["op"] == "snapshot", "first message %r" % snap)
        check(snap["states"] == {"lena": "busy", "bob": "offline", "claude-bot": "online"},
              "snapshot %r" % snap)
        cursor = snap["cursor"]
        steps = [("lena", "idle", {"lena": "idle"}),
                 ("lena", "online", {"lena": "online"}),
                 ("bob", "busy", {"bob": "busy"}),
                 # bob is not lena: her appear_offline reads offline
                 ("lena", "appear_offline", {"lena": "offline"}),
                 ("lena", "busy", {"lena": "busy"})]
        seqs = {"lena": 5, "bob": 0}
        for who, state, expected in steps:
            seqs[who] += 1
            change(server, state, seqs[who], token="tok-" + who)
            msg = ws.recv()
            check(msg is not None, "no delta for %s %s" % (who, state))
            check(msg["op"] == "delta" and msg["changes"] == expected,
                  "wanted %r, got %r" % (expected, msg))
            check(msg["cursor"] != cursor, "cursor did not move")
            cursor = msg["cursor"]
        # A heartbeat that changes nothing public sends nothing.
        seqs["lena"] += 1
        change(server, "busy", seqs["lena"])
        extra = ws.recv(timeout=0.5)
        check(extra is None, "unexpected message %r" % extra)
        # A bad message gets an error and the subscription stays.
        ws.send({"op": "sub", "ids": "lena"})
        err = ws.recv()
        check(err and err["op"] == "error" and err["error"]["code"] == "invalid_field",
              "bad sub answered %r" % err)
        change(server, "idle", seqs["lena"] + 1)
        msg = ws.recv()
        check(msg and msg["changes"] == {"lena": "idle"}, "after the error: %r" % msg)
        ws.close()
    finally:
        server.stop()


def case_ws_self_view(binary):
    server = Server(binary)
    try:
        seed(server)
        ws = WebSocket(server.port, "tok-lena")
        ws.send({"op": "sub", "ids": ["lena"]})
        check(ws.recv()["states"] == {"lena": "busy"}, "own snapshot")
        change(server, "appear_offline", 6)
        msg = ws.recv()
        check(msg and msg["changes"] == {"lena": "appear_offline"}, "own delta %r" % msg)
        ws.close()
    finally:
        server.stop()


def case_ws_resume(binary):
    server = Server(binary)
    try:
        seed(server)
        ws = WebSocket(server.port, "tok-bob")
        ws.send({"op": "sub", "ids": ["lena", "bob"]})
        snap = ws.recv()
        check(snap and snap["op"] == "snapshot", "snapshot %r" % snap)
        ws.close()
        # Changes while away, including one of an id nobody else watches.
        change(server, "idle", 6)
        change(server, "online", 1, token="tok-bob", instance="desk")
        change(server, "busy", 2, token="tok-bob", instance="desk")
        ws = WebSocket(server.port, "tok-bob")
        ws.send({"op": "sub", "ids": ["lena", "bob"], "cursor": snap["cursor"]})
        msg = ws.recv()
        check(msg and msg["op"] == "delta", "resume answered %r" % msg)
        check(msg["changes"] == {"lena": "idle", "bob": "busy"}, "resume lost %r" % msg)
        resumed_cursor = msg["cursor"]
        # Resuming at the latest cursor: nothing missed, an empty delta.
        ws2 = WebSocket(server.port, "tok-bob")
        ws2.send({"op": "sub", "ids": ["lena"], "cursor": resumed_cursor})
        msg2 = ws2.recv()
        check(msg2 and msg2["op"] == "delta" and msg2["changes"] == {}, "latest: %r" % msg2)
        # Live changes keep coming on the resumed stream.
        change(server, "online", 7)
        msg = ws.recv()
        check(msg and msg["changes"] == {"lena": "online"}, "live after resume: %r" % msg)
        ws.close()
        ws2.close()
        # A cursor the server does not know gets a fresh snapshot.
        ws = WebSocket(server.port, "tok-bob")
        ws.send({"op": "sub", "ids": ["lena"], "cursor": "00000000-1"})
        msg = ws.recv()
        check(msg and msg["op"] == "snapshot" and msg["states"] == {"lena": "online"},
              "unknown cursor answered %r" % msg)
        ws.close()
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(run_case(cases_of(globals())))
