#!/usr/bin/python3
"""Members of the real presence-server: data, their own TTL, bad input.

Usage: members-integration.py PRESENCE_SERVER CASE [SERVER OPTION...]

A member is (participant, instance).  Each case starts its own server on
127.0.0.1 port 0 and stops it by PID.
"""

import sys
import time

from presence_testlib import (Server, cases_of, check, expect_rejected, heartbeat, run_case, seed,
                              wait_for)


def members(server, token="tok-lena"):
    status, _, own = server.json("GET", "/v1/instances", token=token)
    check(status == 200, "GET /v1/instances: %d %r" % (status, own))
    return {m["instance_id"]: m for m in own["instances"]}


def case_members_data(binary):
    server = Server(binary, "--ttl", "60")
    try:
        data = {"cursor": {"x": 3, "y": 4}, "doc": "Plan — Q3", "tags": ["a", None, 1.5]}
        before_ms = time.time() * 1000
        status, _, reply = server.json("PUT", "/v1/instances/laptop",
                                       heartbeat("online", data=data), token="tok-lena")
        check(status == 200 and reply["ttl_ms"] == 60000, "reply %r" % reply)
        status, _, reply = server.json("PUT", "/v1/instances/phone",
                                       heartbeat("idle", session="p", ttl_ms=5000),
                                       token="tok-lena")
        # The reply names the member's own grace: what the client must beat within.
        check(status == 200 and reply["ttl_ms"] == 5000, "reply %r" % reply)
        got = members(server)
        check(got["laptop"]["data"] == data, "data came back as %r" % got["laptop"])
        check("data" not in got["phone"], "phone has data: %r" % got["phone"])
        check(got["laptop"]["ttl_ms"] == 60000 and got["phone"]["ttl_ms"] == 5000,
              "ttl_ms: %r" % got)
        for m in got.values():
            check(m["expires_at_ms"] == m["ts"] + m["ttl_ms"], "expires_at_ms: %r" % m)
        check(abs(got["phone"]["expires_at_ms"] - (before_ms + 5000)) < 1000,
              "phone's deadline is not 5 s away: %r" % got["phone"])
    finally:
        server.stop()


def case_members_ttl(binary):
    # The server's TTL is long; the member asks for 2 s, the shortest allowed.
    server = Server(binary, "--ttl", "60")
    try:
        server.json("PUT", "/v1/instances/laptop", heartbeat("online"), token="tok-lena")
        start = time.monotonic()
        status, _, _ = server.json("PUT", "/v1/instances/typing",
                                   heartbeat("busy", session="t", ttl_ms=2000), token="tok-lena")
        check(status == 200, "heartbeat with ttl_ms: %d" % status)
        _, _, states = server.json("GET", "/v1/presence?ids=lena", token="tok-bob")
        check(states == {"lena": "busy"}, "states %r" % states)
        wait_for(lambda: server.json("GET", "/v1/presence?ids=lena", token="tok-bob")[2]
                 == {"lena": "online"}, 5, "the typing member to go")
        elapsed = time.monotonic() - start
        check(elapsed >= 2.0, "gone after %.2f s, before its own TTL" % elapsed)
        check(list(members(server)) == ["laptop"], "members %r" % members(server))
    finally:
        server.stop()


def case_bad_member_fields(binary):
    server = Server(binary)
    try:
        seed(server)
        url = "/v1/instances/laptop"
        for extra, code, named in [
                ({"data": "typing"}, "invalid_field", "data: must be a JSON object"),
                ({"data": ["x"]}, "invalid_field", "data: must be a JSON object"),
                ({"data": 5}, "invalid_field", "data: must be a JSON object"),
                ({"data": True}, "invalid_field", "data: must be a JSON object"),
                ({"ttl_ms": "5000"}, "invalid_field", "ttl_ms: must be an integer"),
                ({"ttl_ms": 5000.5}, "invalid_field", "ttl_ms: must be an integer"),
                ({"ttl_ms": [5000]}, "invalid_field", "ttl_ms: must be an integer"),
                ({"ttl_ms": 1999}, "invalid_field", "ttl_ms: must be between 2000 and 600000"),
                ({"ttl_ms": 600001}, "invalid_field", "ttl_ms: must be between 2000 and 600000"),
                ({"ttl_ms": -1}, "invalid_field", "ttl_ms: must be between 2000 and 600000"),
                ({"ttl_ms": 0}, "invalid_field", "ttl_ms: must be between 2000 and 600000"),
                ({"data": {"v": "x" * 1100}}, "too_large", "data: at most 1024 bytes"),
                ({"data": {"a": [[[[[[[[1]]]]]]]]}}, "invalid_field",
                 "data: at most 8 levels of nesting")]:
            status = 413 if code == "too_large" else 400
            _, err = expect_rejected(server, "PUT", url, heartbeat("online", seq=9, **extra),
                                     "tok-lena", status, code)
            check(err["error"]["message"].startswith(named), "message %r" % err)
        # Raw bodies: a depth bomb within the 4 KiB, invalid UTF-8 inside data.
        bomb = '{"state":"online","session":"s1","seq":9,"data":{"a":%s%s}}' % ("[" * 1900,
                                                                                  "]" * 1900)
        expect_rejected(server, "PUT", url, None, "tok-lena", 400, "invalid_field", raw=bomb)
        bad_utf8 = b'{"state":"online","session":"s1","seq":9,"data":{"n":"\xc3\x28"}}'
        expect_rejected(server, "PUT", url, None, "tok-lena", 400, "invalid_json", raw=bad_utf8)
        # The seeded member is untouched: state, no data, the server's TTL.
        got = members(server)["laptop"]
        check(got["state"] == "busy" and "data" not in got and got["seq"] == 5, "member %r" % got)
    finally:
        server.stop()


def member_page(server, query, token):
    status, _, page = server.json("GET", "/v1/members?" + query, token=token)
    check(status == 200, "GET /v1/members?%s: %d %r" % (query, status, page))
    return page


def case_members_who_is_here(binary):
    server = Server(binary, *sys.argv[3:])
    try:
        server.json("PUT", "/v1/instances/laptop", heartbeat("online", data={"doc": 1}),
                    token="tok-lena")
        server.json("PUT", "/v1/instances/phone", heartbeat("idle", session="p"),
                    token="tok-lena")
        server.json("PUT", "/v1/instances/desk", heartbeat("busy"), token="tok-bob")
        # ops is in appear_offline: hidden from others, not from itself.
        server.json("PUT", "/v1/instances/pc", heartbeat("appear_offline", data={"x": 1}),
                    token="tok-ops")
        page = member_page(server, "ids=lena,ops,bob,nobody,lena", "tok-bob")
        got = [(m["participant_id"], m["instance_id"], m["state"], m.get("data"))
               for m in page["members"]]
        check(got == [("lena", "laptop", "online", {"doc": 1}), ("lena", "phone", "idle", None),
                      ("bob", "desk", "busy", None)], "members seen by bob: %r" % page)
        check("next" not in page, "a next after the last page: %r" % page)
        for m in page["members"]:
            check(set(m) <= {"participant_id", "instance_id", "state", "data", "ttl_ms",
                             "expires_at_ms", "ts"}, "private fields shown to others: %r" % m)
        own = member_page(server, "ids=ops", "tok-ops")
        check([m["instance_id"] for m in own["members"]] == ["pc"], "own view: %r" % own)
        # Pages of one: each member exactly once, in order.
        seen, after = [], None
        for _ in range(10):
            page = member_page(server, "ids=lena,ops,bob&limit=1" +
                               ("&after=" + after if after else ""), "tok-bob")
            seen += [(m["participant_id"], m["instance_id"]) for m in page["members"]]
            after = page.get("next")
            if after is None:
                break
        check(seen == [("lena", "laptop"), ("lena", "phone"), ("bob", "desk")],
              "paged members: %r" % seen)
        for query, named in [("ids=lena&limit=0", "limit"), ("ids=lena&limit=x", "limit"),
                             ("ids=lena&limit=501", "limit"), ("ids=lena&after=bob/desk", "after"),
                             ("ids=lena&after=lena", "after"), ("ids=", "ids"),
                             ("ids=a%20b", "ids")]:
            status, _, err = server.json("GET", "/v1/members?" + query, token="tok-bob")
            check(status == 400 and err["error"]["message"].startswith(named + ":"),
                  "%s: %d %r" % (query, status, err))
        status, _, _ = server.json("GET", "/v1/members?ids=lena")
        check(status == 401, "a member read without a token: %d" % status)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(run_case(cases_of(globals())))
