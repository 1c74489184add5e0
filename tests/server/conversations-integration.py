#!/usr/bin/python3
"""The appear_offline exception on the real presence-server (memory store):
POST /v1/conversations, its auth and bad input, and what reads then show.

Usage: conversations-integration.py PRESENCE_SERVER CASE

Each case starts its own server on 127.0.0.1 port 0 and stops it by PID.
Tokens (presence_testlib): tok-lena, tok-bob, tok-bot (claude-bot), and
tok-ops, the admin that stands for the chat platform.
"""

import sys
import time

from presence_testlib import Server, WebSocket, cases_of, check, heartbeat, run_case, wait_for

PATH = "/v1/conversations"


def hide_lena(server):
    status, _, reply = server.json("PUT", "/v1/instances/laptop",
                                   heartbeat("appear_offline", data={"doc": 1}), token="tok-lena")
    check(status == 200 and reply["state"] == "appear_offline", "lena's heartbeat: %r" % reply)


def lena_as_seen_by(server, token):
    _, _, states = server.json("GET", "/v1/presence?ids=lena", token=token)
    _, _, page = server.json("GET", "/v1/members?ids=lena", token=token)
    check("members" in page, "member read: %r" % page)
    return states["lena"], [(m["instance_id"], m["state"], m.get("data"))
                            for m in page["members"]]


HIDDEN = ("offline", [])
SEEN = ("appear_offline", [("laptop", "appear_offline", {"doc": 1})])


def record(server, body, token="tok-ops"):
    return server.json("POST", PATH, body, token=token)


def case_conversation_granted(binary):
    server = Server(binary)
    try:
        hide_lena(server)
        check(lena_as_seen_by(server, "tok-bob") == HIDDEN, "bob sees lena before any talk")
        now = int(time.time() * 1000)
        status, _, reply = record(server, {"a": "lena", "b": "bob", "at_ms": now - 1000})
        check(status == 200, "POST %s: %d %r" % (PATH, status, reply))
        check(reply == {"a": "lena", "b": "bob", "at_ms": now - 1000,
                        "expires_at_ms": now - 1000 + 86400000}, "reply %r" % reply)
        check(lena_as_seen_by(server, "tok-bob") == SEEN, "bob after the talk: %r"
              % (lena_as_seen_by(server, "tok-bob"),))
        # Only bob: a third participant still sees lena offline.
        check(lena_as_seen_by(server, "tok-bot") == HIDDEN, "claude-bot sees through lena")
        # Symmetric: bob hides too, and lena sees him.
        server.json("PUT", "/v1/instances/desk", heartbeat("appear_offline"), token="tok-bob")
        _, _, states = server.json("GET", "/v1/presence?ids=bob", token="tok-lena")
        check(states == {"bob": "appear_offline"}, "lena reading bob: %r" % states)
        # Without at_ms: now.  An older conversation after a newer one keeps the newer.
        before = int(time.time() * 1000)
        _, _, reply = record(server, {"a": "bob", "b": "lena"})
        check(before <= reply["at_ms"] <= int(time.time() * 1000) + 1, "at_ms %r" % reply)
        _, _, older = record(server, {"a": "lena", "b": "bob", "at_ms": now - 5000})
        check((older["at_ms"], older["expires_at_ms"]) == (reply["at_ms"], reply["expires_at_ms"]),
              "an older conversation replaced a newer one: %r" % older)
    finally:
        server.stop()


def case_conversation_expires(binary):
    server = Server(binary, "--conversation-window", "1.5", "--rate-limit", "1000",
                    "--rate-burst", "1000")
    try:
        hide_lena(server)
        start = time.monotonic()
        status, _, reply = record(server, {"a": "bob", "b": "lena"})
        check(status == 200 and reply["expires_at_ms"] - reply["at_ms"] == 1500,
              "a window of 1.5 s: %d %r" % (status, reply))
        check(lena_as_seen_by(server, "tok-bob") == SEEN, "bob inside the window")
        wait_for(lambda: lena_as_seen_by(server, "tok-bob") == HIDDEN, 5, "the grant to end")
        check(time.monotonic() - start >= 1.4, "ended before its window")
        # Older than the window: refused, it would grant nothing.
        status, _, err = record(server, {"a": "bob", "b": "lena",
                                         "at_ms": int(time.time() * 1000) - 2000})
        check(status == 400 and err["error"]["message"].startswith("at_ms:"), "%r" % err)
        check(lena_as_seen_by(server, "tok-bob") == HIDDEN, "a refused conversation granted")
    finally:
        server.stop()


def case_conversation_auth(binary):
    server = Server(binary)
    try:
        hide_lena(server)
        body = {"a": "lena", "b": "bob"}
        status, hdrs, _ = server.json("POST", PATH, body)
        check(status == 401 and hdrs.get("WWW-Authenticate") == "Bearer", "no token: %d" % status)
        status, _, _ = server.json("POST", PATH, body, token="tok-nobody")
        check(status == 401, "unknown token: %d" % status)
        # A participant cannot grant itself a view of anyone, nor of itself.
        for token in ("tok-bob", "tok-lena"):
            status, _, err = record(server, body, token=token)
            check(status == 403 and err["error"]["code"] == "forbidden", "%s: %r" % (token, err))
        status, hdrs, _ = server.json("GET", PATH, token="tok-ops")
        check(status == 405 and hdrs.get("Allow") == "POST", "GET: %d %r" % (status, hdrs))
        status, _, _ = server.json("POST", PATH + "/x", body, token="tok-ops")
        check(status == 404, "a path below: %d" % status)
        check(lena_as_seen_by(server, "tok-bob") == HIDDEN, "a refused call granted")
    finally:
        server.stop()


def case_bad_conversation(binary):
    server = Server(binary)
    try:
        hide_lena(server)
        now = int(time.time() * 1000)
        for body, named in [
                ({"b": "bob"}, "a: required"),
                ({"a": "lena"}, "b: required"),
                ({"a": 5, "b": "bob"}, "a: must be a string"),
                ({"a": "lena", "b": ["bob"]}, "b: must be a string"),
                ({"a": "lena", "b": None}, "b: must be a string"),
                ({"a": "le na", "b": "bob"}, "a: must match"),
                ({"a": "lena", "b": "x" * 129}, "b: must match"),
                ({"a": "lena", "b": ""}, "b: must match"),
                ({"a": "lena", "b": "lena"}, "b: must differ from a"),
                ({"a": "lena", "b": "bob", "at_ms": "1"}, "at_ms: must be"),
                ({"a": "lena", "b": "bob", "at_ms": 1.5}, "at_ms: must be"),
                ({"a": "lena", "b": "bob", "at_ms": -1}, "at_ms: must be"),
                ({"a": "lena", "b": "bob", "at_ms": now + 60000}, "at_ms: in the future"),
                ({"a": "lena", "b": "bob", "at_ms": now - 86400000 - 1000}, "at_ms: older"),
                ({"a": "lena", "b": "bob", "with": "x"}, "body: only")]:
            status, _, err = record(server, body)
            check(status == 400 and err["error"]["code"] == "invalid_field"
                  and err["error"]["message"].startswith(named),
                  "%r: %d %r, wanted %r" % (body, status, err, named))
        for raw in [b"", b"[]", b'"lena"', b'{"a":"lena","b":"bob"} {}', b'{"a":"lena",',
                    b'{"a":"l\xc3\x28","b":"bob"}', b'{"a":"lena\\u0000","b":"bob"}']:
            status, _, data = server.request("POST", PATH, raw, "tok-ops")
            check(status == 400 and b'"invalid_json"' in data, "%r: %d %r" % (raw, status, data))
        status, _, data = server.request("POST", PATH, b'{"a":"lena","b":"bob","pad":"%s"}'
                                         % (b"x" * 1100), "tok-ops")
        check(status == 413 and b'"too_large"' in data, "oversize: %d %r" % (status, data))
        check(lena_as_seen_by(server, "tok-bob") == HIDDEN, "a rejected body granted")
    finally:
        server.stop()


def subscribe(server, token, *ids):
    ws = WebSocket(server.port, token)
    check(ws.status == 101, "handshake status %d" % ws.status)
    ws.send({"op": "sub", "ids": list(ids)})
    snap = ws.recv()
    check(snap is not None and snap["op"] == "snapshot", "first message %r" % snap)
    return ws, snap["states"]


def case_conversation_while_subscribed(binary):
    """A conversation recorded while the viewer is subscribed shows at once,
    as a delta; an older one after it sends nothing."""
    server = Server(binary)
    try:
        hide_lena(server)
        bob, states = subscribe(server, "tok-bob", "lena", "claude-bot")
        check(states == {"lena": "offline", "claude-bot": "online"}, "snapshot %r" % states)
        now = int(time.time() * 1000)
        record(server, {"a": "lena", "b": "bob", "at_ms": now})
        msg = bob.recv()
        check(msg is not None and msg["op"] == "delta" and msg["changes"] == {"lena":
                                                                              "appear_offline"},
              "after the conversation: %r" % msg)
        record(server, {"a": "lena", "b": "bob", "at_ms": now - 1000})
        check(bob.recv(timeout=0.3) is None, "an older conversation sent something")
        bob.close()
    finally:
        server.stop()


def case_conversation_stream(binary):
    """A subscriber with a conversation sees through appear_offline in its
    snapshot and deltas; at the grant's deadline a delta says offline, with
    no change of the participant's own."""
    server = Server(binary, "--conversation-window", "2")
    try:
        hide_lena(server)
        status, _, _ = record(server, {"a": "bob", "b": "lena"})
        check(status == 200, "POST: %d" % status)
        start = time.monotonic()
        bob, states = subscribe(server, "tok-bob", "lena")
        check(states == {"lena": "appear_offline"}, "bob's snapshot %r" % states)
        bot, states = subscribe(server, "tok-bot", "lena")
        check(states == {"lena": "offline"}, "claude-bot's snapshot %r" % states)
        for seq, state, to_bob, to_bot in [(2, "online", "online", "online"),
                                           (3, "appear_offline", "appear_offline", "offline")]:
            server.json("PUT", "/v1/instances/laptop", heartbeat(state, seq=seq), token="tok-lena")
            for ws, want in ((bob, to_bob), (bot, to_bot)):
                msg = ws.recv()
                check(msg is not None and msg["changes"] == {"lena": want},
                      "lena %s: wanted %r, got %r" % (state, want, msg))
        msg = bob.recv(timeout=5)
        check(msg is not None and msg["op"] == "delta" and msg["changes"] == {"lena": "offline"},
              "at the deadline bob got %r" % msg)
        check(time.monotonic() - start >= 1.9, "the grant ended before its window")
        check(bot.recv(timeout=0.3) is None, "claude-bot got a delta for nothing")
        bob.close()
        bot.close()
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(run_case(cases_of(globals())))
