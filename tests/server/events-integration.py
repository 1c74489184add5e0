#!/usr/bin/python3
"""Member events on the stream of the real presence-server: enter, update and
leave with reasons, leave-only subscriptions, resuming by cursor, who may see
them, and leaves with bad bodies.

Usage: events-integration.py PRESENCE_SERVER CASE

Each case starts its own server on 127.0.0.1 port 0 and stops it by PID."""

import sys
import time

from presence_testlib import (Server, WebSocket, cases_of, check, expect_rejected, heartbeat,
                              run_case)

ALL = ["enter", "update", "leave"]


def subscribe(server, token, ids, events=ALL, cursor=None):
    ws = WebSocket(server.port, token)
    check(ws.status == 101, "handshake: %d" % ws.status)
    sub = {"op": "sub", "ids": ids, "events": events}
    if cursor is not None:
        sub["cursor"] = cursor
    ws.send(sub)
    first = ws.recv()
    check(first is not None and first["op"] in ("snapshot", "delta"), "first message %r" % first)
    return ws, first


def collect(ws, n, timeout=5.0):
    """The next n member events (from deltas, in order) and the last cursor;
    fails on fewer within the deadline."""
    events, cursor = [], None
    deadline = time.monotonic() + timeout
    while len(events) < n:
        msg = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
        check(msg is not None, "got %d of %d events: %r" % (len(events), n, events))
        check(msg["op"] == "delta", "not a delta: %r" % msg)
        events += msg.get("events", [])
        cursor = msg["cursor"]
    check(len(events) == n, "more events than wanted: %r" % events)
    return events, cursor


def quiet(ws, timeout=0.4):
    """No member event arrives within timeout (deltas of states may)."""
    deadline = time.monotonic() + timeout
    while True:
        msg = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
        if msg is None:
            return
        check(not msg.get("events"), "unexpected events %r" % msg)


def brief(event):
    out = (event["action"], event["participant_id"], event["instance_id"], event["state"])
    for key in ("reason", "client_reason", "data"):
        if key in event:
            out += (event[key],)
    return out


def put(server, instance, body, token="tok-lena"):
    status, _, reply = server.json("PUT", "/v1/instances/" + instance, body, token=token)
    check(status == 200, "PUT %s: %d %r" % (instance, status, reply))


def delete(server, path, body=None, token="tok-lena"):
    status, _, reply = server.json("DELETE", path, body, token=token)
    check(status == 200, "DELETE %s: %d %r" % (path, status, reply))


def case_events_reasons(binary):
    """Every kind of event, with its reason, in order, with the server's
    timestamp; a snapshot with events asked lists the members."""
    server = Server(binary, "--ttl", "60")
    try:
        put(server, "desk", heartbeat("online", session="d", data={"doc": "q3"}))
        ws, snap = subscribe(server, "tok-bob", ["lena"])
        check(snap["op"] == "snapshot" and snap["states"] == {"lena": "online"}, "snap %r" % snap)
        check([(m["instance_id"], m.get("data")) for m in snap["members"]] == [("desk", {"doc": "q3"})],
              "snapshot members %r" % snap["members"])
        before_ms = time.time() * 1000
        put(server, "laptop", heartbeat("online", data={"typing": True}))
        put(server, "laptop", heartbeat("online", seq=2, data={"typing": True}))  # nothing new
        put(server, "laptop", heartbeat("busy", seq=3, data={"typing": False}))
        delete(server, "/v1/instances/laptop?session=s1&reason=lid%20closed")
        put(server, "phone", heartbeat("online", session="p1", ttl_ms=2000))
        put(server, "desk", heartbeat("online", session="d2", data={"doc": "q4"}))
        delete(server, "/v1/instances/desk?session=d2&reason=ignored",
               {"reason": "session completed", "data": {"result": "ok"}})
        events, _ = collect(ws, 8, timeout=8)
        check([brief(e) for e in events] == [
            ("enter", "lena", "laptop", "online", {"typing": True}),
            ("update", "lena", "laptop", "busy", {"typing": False}),
            ("leave", "lena", "laptop", "busy", "left", "lid closed", {"typing": False}),
            ("enter", "lena", "phone", "online"),
            ("leave", "lena", "desk", "online", "replaced", {"doc": "q3"}),
            ("enter", "lena", "desk", "online", {"doc": "q4"}),
            ("leave", "lena", "desk", "online", "left", "session completed", {"result": "ok"}),
            ("leave", "lena", "phone", "online", "expired"),
        ], "events %r" % events)
        for e in events:
            check(before_ms - 1000 <= e["ts"] <= time.time() * 1000 + 1000, "ts of %r" % e)
        ws.close()
    finally:
        server.stop()


def case_events_leave_only(binary):
    """A subscriber may ask for leaves alone; its state deltas still come."""
    server = Server(binary)
    try:
        ws, snap = subscribe(server, "tok-bob", ["lena"], events=["leave"])
        check(snap["states"] == {"lena": "offline"} and snap["members"] == [], "snap %r" % snap)
        plain, snap = subscribe(server, "tok-bob", ["lena"], events=[])
        check("members" not in snap, "a snapshot without events asked lists members: %r" % snap)
        put(server, "laptop", heartbeat("online", data={"n": 1}))
        put(server, "laptop", heartbeat("busy", seq=2, data={"n": 2}))
        delete(server, "/v1/instances/laptop?session=s1&reason=bye")
        seen = []
        deadline = time.monotonic() + 5
        while not any(msg.get("events") for msg in seen) and time.monotonic() < deadline:
            msg = ws.recv(timeout=1)
            if msg is not None:
                seen.append(msg)
        events = [e for msg in seen for e in msg.get("events", [])]
        check([brief(e) for e in events] == [("leave", "lena", "laptop", "busy", "left", "bye",
                                              {"n": 2})], "events %r" % seen)
        check(seen[-1]["changes"].get("lena") == "offline", "no offline with the leave: %r" % seen)
        quiet(ws)
        msg = plain.recv()
        check(msg is not None and "events" not in msg, "events without asking: %r" % msg)
        ws.close()
        plain.close()
    finally:
        server.stop()


def case_events_resume(binary):
    """A subscriber that reconnects with its last cursor gets exactly the
    member events it missed: none lost, none twice."""
    server = Server(binary)
    try:
        ws, snap = subscribe(server, "tok-bob", ["lena", "omar"])
        for n in range(1, 4):
            put(server, "laptop", heartbeat("online", seq=n, data={"n": n}))
        got, cursor = collect(ws, 3)
        ws.close()
        for n in range(4, 8):
            put(server, "laptop", heartbeat("online", seq=n, data={"n": n}))
        put(server, "desk", heartbeat("online"), token="tok-bob")  # not subscribed
        ws, first = subscribe(server, "tok-bob", ["lena", "omar"], cursor=cursor)
        check(first["op"] == "delta", "a resume answered %r" % first)
        missed = first.get("events", [])
        if len(missed) < 4:
            more, _ = collect(ws, 4 - len(missed))
            missed += more
        put(server, "laptop", heartbeat("online", seq=8, data={"n": 8}))
        after, _ = collect(ws, 1)
        ns = [e["data"]["n"] for e in got + missed + after]
        check(ns == list(range(1, 9)), "data n of the events: %r" % ns)
        check(all(e["participant_id"] == "lena" for e in missed), "others' events %r" % missed)
        ws.close()
        # A cursor the server cannot resume from gets a snapshot, members and all.
        ws, first = subscribe(server, "tok-bob", ["lena"], cursor="00000000-1")
        check(first["op"] == "snapshot" and len(first["members"]) == 1, "unknown cursor: %r" % first)
        ws.close()
    finally:
        server.stop()


def case_events_bad_sub(binary):
    """A bad events field is an error; the subscription before it stays."""
    server = Server(binary)
    try:
        ws, _ = subscribe(server, "tok-bob", ["lena"], events=["enter"])
        for events in ("enter", ["join"], [1], {"enter": True}, [["enter"]]):
            ws.send({"op": "sub", "ids": ["lena"], "events": events})
            msg = ws.recv()
            check(msg is not None and msg["op"] == "error"
                  and msg["error"]["code"] == "invalid_field"
                  and "events" in msg["error"]["message"], "events %r: %r" % (events, msg))
        put(server, "laptop", heartbeat("online"))
        events, _ = collect(ws, 1)
        check(events[0]["action"] == "enter", "the old subscription: %r" % events)
        ws.close()
    finally:
        server.stop()


def case_events_appear_offline(binary):
    """The members of a participant that appears offline are not there for
    others: no event shows them, not even their leave; the participant
    itself and those it talked with see them."""
    server = Server(binary)
    try:
        put(server, "laptop", heartbeat("online"))
        bob, _ = subscribe(server, "tok-bob", ["lena"])
        bot, _ = subscribe(server, "tok-bot", ["lena"])
        own, _ = subscribe(server, "tok-lena", ["lena"])
        status, _, _ = server.json("POST", "/v1/conversations",
                                   {"a": "lena", "b": "claude-bot", "at_ms": int(time.time() * 1000)},
                                   token="tok-ops")
        check(status == 200, "POST /v1/conversations: %d" % status)
        put(server, "laptop", heartbeat("appear_offline", seq=2))
        put(server, "phone", heartbeat("online", session="p"))
        delete(server, "/v1/instances/phone?session=p")
        delete(server, "/v1/instances/laptop?session=s1")
        want = [("update", "lena", "laptop", "appear_offline"),
                ("enter", "lena", "phone", "online"),
                ("leave", "lena", "phone", "online", "left"),
                ("leave", "lena", "laptop", "appear_offline", "left")]
        for ws, who in ((own, "lena"), (bot, "claude-bot")):
            events, _ = collect(ws, 4)
            check([brief(e) for e in events] == want, "%s saw %r" % (who, events))
        quiet(bob, timeout=0.6)
        for ws in (bob, bot, own):
            ws.close()
    finally:
        server.stop()


def case_leave_bad_body(binary):
    """A leave with a bad body or reason is refused and removes nothing."""
    server = Server(binary)
    try:
        put(server, "laptop", heartbeat("online"))
        path = "/v1/instances/laptop?session=s1"
        expect_rejected(server, "DELETE", path, None, "tok-lena", 400, "invalid_json", raw="{")
        expect_rejected(server, "DELETE", path, None, "tok-lena", 400, "invalid_json", raw="[]")
        expect_rejected(server, "DELETE", path, {"reason": 7}, "tok-lena", 400, "invalid_field")
        expect_rejected(server, "DELETE", path, {"data": "text"}, "tok-lena", 400, "invalid_field")
        expect_rejected(server, "DELETE", path, {"data": {"x": "y" * 1100}}, "tok-lena", 413,
                        "too_large")
        deep = {}
        for _ in range(40):
            deep = {"d": deep}
        expect_rejected(server, "DELETE", path, {"data": deep}, "tok-lena", 400, "invalid_field")
        expect_rejected(server, "DELETE", path, None, "tok-lena", 400, "invalid_json",
                        raw=b'{"reason": "\xff\xfe"}')
        expect_rejected(server, "DELETE", path + "&reason=%FF", None, "tok-lena", 400,
                        "invalid_field")
        expect_rejected(server, "DELETE", path + "&reason=" + "r" * 300, None, "tok-lena", 400,
                        "invalid_field")
        _, _, states = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(states == {"lena": "online"}, "after the refusals: %r" % states)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(run_case(cases_of(globals())))
