#!/usr/bin/python3
"""Integration tests of presence-server over Redis: two real server nodes
(--store unix:…) sharing one real redis-server that the test starts in its
own temp dir and process group.  One case per run:

    redis-integration.py PRESENCE_SERVER CASE

Exit 77 (skip) with the reason when redis-server is not installed."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from presence_testlib import Fail, Server, WebSocket, check, heartbeat, wait_for  # noqa: E402

N_BUCKETS = 16


class Redis:
    """A private redis-server on a unix socket; restartable on the same path."""

    def __init__(self, *options):
        self.tmp = tempfile.TemporaryDirectory(prefix="pres-redis-it-")
        self.socket = os.path.join(self.tmp.name, "redis.sock")
        self.address = "unix:" + self.socket
        self.options = list(options)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.socket, "--save", "",
             "--appendonly", "no", "--dir", self.tmp.name,
             "--logfile", os.path.join(self.tmp.name, "redis.log")] + self.options,
            start_new_session=True)
        wait_for(lambda: self.cli_ok("PING"), 10, "redis-server to answer")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        self.proc = None

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-s", self.socket] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=10)
        if out.returncode != 0:
            raise Fail("redis-cli %s: %s" % (args, out.stderr))
        return out.stdout

    def cli_ok(self, *args):
        try:
            return self.cli(*args).strip() == "PONG"
        except Fail:
            return False

    def kill_clients_of(self, pid):
        """CLIENT KILL of every connection a server node made (they are named
        presence-server-<pid>-<role>)."""
        killed = 0
        for line in self.cli("CLIENT", "LIST").splitlines():
            fields = dict(f.split("=", 1) for f in line.split(" ") if "=" in f)
            if fields.get("name", "").startswith("presence-server-%d-" % pid):
                self.cli("CLIENT", "KILL", "ID", fields["id"])
                killed += 1
        return killed

    def events_of(self, participant):
        """The (old, new) pairs of the state changes the streams hold for a
        participant (not its member events)."""
        lines = self.cli("XRANGE", "pz:{%d}:ev" % bucket(participant), "-", "+").split("\n")
        events, i = [], 0
        while i < len(lines):
            if (lines[i] == "p" and i + 5 < len(lines) and lines[i + 1] == participant
                    and lines[i + 2] == "o"):
                events.append((lines[i + 3], lines[i + 5]))
                i += 6
            else:
                i += 1
        return events

    def indexed_deadline(self, participant):
        """The participant's score in its bucket's deadline index, or None."""
        score = self.cli("ZSCORE", "pz:{%d}:dl" % bucket(participant), participant).strip()
        return int(score) if score else None


def bucket(participant):
    h = 2166136261
    for byte in participant.encode():
        h = ((h ^ byte) * 16777619) & 0xFFFFFFFF
    return h & (N_BUCKETS - 1)


def node(binary, redis, *args):
    server = Server(binary, "--dev", "--store", redis.address, *args, tokens=None)
    # Ready when the store answers: a read that says "unknown" is not.
    wait_for(lambda: server.json("GET", "/v1/presence?ids=x", token="probe")[2].get("x")
             == "offline", 10, "the node's store to be ready")
    return server


def put(server, who, state, seq, session="s1", instance="laptop", retry_until=None):
    """A heartbeat, retried like an agent while the store is unavailable."""
    while True:
        status, hdrs, reply = server.json("PUT", "/v1/instances/" + instance,
                                          heartbeat(state, session=session, seq=seq), token=who)
        if status != 503 or retry_until is None or time.monotonic() > retry_until:
            return status, hdrs, reply
        time.sleep(0.05)


def presence(server, viewer, *ids):
    status, _, reply = server.json("GET", "/v1/presence?ids=" + ",".join(ids), token=viewer)
    check(status == 200, "read failed: %d %r" % (status, reply))
    return reply


def subscribe(server, viewer, *ids):
    ws = WebSocket(server.port, viewer)
    check(ws.status == 101, "WebSocket upgrade: %d" % ws.status)
    ws.send({"op": "sub", "ids": list(ids)})
    snap = ws.recv()
    check(snap is not None and snap.get("op") == "snapshot", "no snapshot: %r" % snap)
    return ws, snap["states"]


def drain(ws, until, seconds):
    """Deltas until the predicate holds on the list of changes of one id, or
    the time is up; returns every change seen, in order."""
    seen = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        msg = ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        if msg is None:
            break
        if msg.get("op") == "delta":
            seen.append(msg["changes"])
            if until(seen):
                break
    return seen


def metric(server, name):
    _, _, data = server.request("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise Fail("no metric %s" % name)


# --- cases -------------------------------------------------------------------

def case_cross_node(binary, redis):
    a, b = node(binary, redis), node(binary, redis)
    try:
        ws_b, states = subscribe(b, "bob", "lena")
        check(states == {"lena": "offline"}, "snapshot on B: %r" % states)
        status, _, reply = put(a, "lena", "busy", 1)
        check(status == 200 and reply["state"] == "busy", "heartbeat on A: %r" % reply)
        check(presence(b, "bob", "lena") == {"lena": "busy"}, "B does not read A's heartbeat")
        changes = drain(ws_b, lambda seen: any(c.get("lena") == "busy" for c in seen), 5)
        check(changes == [{"lena": "busy"}], "B's subscriber got %r" % changes)
        status, _, listed = b.json("GET", "/v1/instances", token="lena")
        check([i["instance_id"] for i in listed["instances"]] == ["laptop"],
              "B lists %r" % listed)
        # A change through B reaches A's own subscriber too, once.
        ws_a, _ = subscribe(a, "bob", "lena")
        put(b, "lena", "online", 2)
        changes = drain(ws_a, lambda seen: any(c.get("lena") == "online" for c in seen), 5)
        check(changes == [{"lena": "online"}], "A's subscriber got %r" % changes)
        check(presence(a, "bob", "lena") == {"lena": "online"}, "A reads B's heartbeat")
    finally:
        a.stop()
        b.stop()


def case_offline_once(binary, redis):
    ttl = 1.5
    a = node(binary, redis, "--ttl", str(ttl), "--interval", "0.5")
    b = node(binary, redis, "--ttl", str(ttl), "--interval", "0.5")
    try:
        ws_a, _ = subscribe(a, "bob", "lena")
        ws_b, _ = subscribe(b, "bob", "lena")
        put(a, "lena", "online", 1)
        last_beat = time.monotonic()
        # The agent is killed: no more heartbeats, no leave.  Both nodes sweep.
        for ws, name in ((ws_a, "A"), (ws_b, "B")):
            changes = drain(ws, lambda seen: any(c.get("lena") == "offline" for c in seen),
                            ttl + 3)
            late = time.monotonic() - last_beat
            check(changes == [{"lena": "online"}, {"lena": "offline"}],
                  "%s's subscriber got %r" % (name, changes))
            check(late <= ttl + 1.0 or name == "B",
                  "offline reported %.2f s after the last heartbeat (TTL %.1f s)" % (late, ttl))
        # Exactly once: one offline in the stream, one change per node, and
        # nothing more while both nodes keep sweeping.
        drain(ws_a, lambda seen: False, 1.0)
        events = redis.events_of("lena")
        check(events == [("f", "o"), ("o", "f")], "stream holds %r" % events)
        for server, name in ((a, "A"), (b, "B")):
            check(metric(server, "presence_state_changes_total") == 2,
                  "%s emitted %s changes" % (name, metric(server, "presence_state_changes_total")))
    finally:
        a.stop()
        b.stop()


def alternate(a, who, start_seq, count, during=None, at=None):
    """count heartbeats through A that each change the state (busy, online,
    …: begin from online); returns the states applied, in order."""
    applied = []
    for i in range(count):
        if during is not None and i == at:
            during()
        state = "busy" if i % 2 == 0 else "online"
        status, _, reply = put(a, who, state, start_seq + i,
                               retry_until=time.monotonic() + 10)
        check(status == 200, "heartbeat %d: %d %r" % (i, status, reply))
        applied.append(state)
        time.sleep(0.12)  # slower than the stream's 50 ms batching: one delta each
    return applied


def check_transitions(server, name, ws, before, applied):
    wanted = applied[-1]
    changes = drain(ws, lambda seen: seen and seen[-1].get("lena") == wanted, 10)
    states = [c["lena"] for c in changes if "lena" in c]
    check(states and states[-1] == wanted, "%s's subscriber ends at %r" % (name, states))
    check(all(x != y for x, y in zip(states, states[1:])),
          "%s's subscriber saw a state twice in a row: %r" % (name, states))
    emitted = metric(server, "presence_state_changes_total") - before
    check(emitted == len(applied),
          "%s emitted %d changes for %d applied" % (name, emitted, len(applied)))


def case_client_kill(binary, redis):
    a, b = node(binary, redis), node(binary, redis)
    try:
        put(a, "lena", "online", 1)
        ws_b, _ = subscribe(b, "bob", "lena")
        before_b = metric(b, "presence_state_changes_total")
        before_a = metric(a, "presence_state_changes_total")

        def kill():
            check(redis.kill_clients_of(b.proc.pid) == 2, "B's two connections not found")
            check(redis.kill_clients_of(a.proc.pid) == 2, "A's two connections not found")

        applied = alternate(a, "lena", 2, 20, during=kill, at=8)
        check_transitions(b, "B", ws_b, before_b, applied)
        check(metric(a, "presence_state_changes_total") - before_a == len(applied),
              "A emitted a wrong count")
    finally:
        a.stop()
        b.stop()


def case_restart(binary, redis):
    a, b = node(binary, redis), node(binary, redis)
    try:
        put(a, "lena", "online", 1)
        ws_b, _ = subscribe(b, "bob", "lena")
        before = metric(b, "presence_state_changes_total")
        applied = alternate(a, "lena", 2, 6)

        redis.stop()
        # Down: heartbeats 503 with Retry-After, reads "unknown", no offline.
        status, hdrs, reply = put(a, "lena", "busy", 100)
        check(status == 503 and reply["error"]["code"] == "unavailable",
              "heartbeat with Redis down: %d %r" % (status, reply))
        check(int(hdrs.get("Retry-After", "0")) > 0, "no Retry-After: %r" % hdrs)
        check(presence(b, "bob", "lena") == {"lena": "unknown"}, "read with Redis down")
        redis.start()
        # The agent beats again (it keeps its session): everything was lost,
        # so the store sees it for the first time.
        status, _, reply = put(a, "lena", applied[-1], 101, retry_until=time.monotonic() + 10)
        check(status == 200, "heartbeat after the restart: %d %r" % (status, reply))
        wait_for(lambda: presence(b, "bob", "lena") == {"lena": applied[-1]}, 5,
                 "B to read lena again")
        more = alternate(a, "lena", 102, 6)
        changes = drain(ws_b, lambda seen: seen and seen[-1].get("lena") == more[-1], 10)
        states = [c["lena"] for c in changes if "lena" in c]
        check("offline" not in states and "unknown" not in states,
              "B's subscriber saw the outage: %r" % states)
        check(all(x != y for x, y in zip(states, states[1:])),
              "B's subscriber saw a state twice in a row: %r" % states)
        # Each applied change once, plus the one restore of lena (offline →
        # online in the new store), which subscribers do not see.
        emitted = metric(b, "presence_state_changes_total") - before
        check(emitted == len(applied) + 1 + len(more),
              "B emitted %d changes for %d applied" % (emitted, len(applied) + len(more)))
    finally:
        a.stop()
        b.stop()


def case_flush(binary, redis):
    ttl = 1.5
    a = node(binary, redis, "--ttl", str(ttl), "--interval", "0.5")
    b = node(binary, redis, "--ttl", str(ttl), "--interval", "0.5")
    try:
        put(a, "lena", "online", 1)
        ws_b, states = subscribe(b, "bob", "lena")
        check(states == {"lena": "online"}, "snapshot %r" % states)
        before = metric(b, "presence_state_changes_total")
        redis.cli("FLUSHALL")
        # Both nodes notice (the epoch key is gone); nobody is swept.
        wait_for(lambda: "epoch changed" in a.errors() and "epoch changed" in b.errors(), 5,
                 "both nodes to notice the flush")
        # The agent's next heartbeats restore it; the subscriber sees nothing
        # of it, for longer than a TTL.
        seq = 2
        end = time.monotonic() + ttl + 1
        while time.monotonic() < end:
            status, _, reply = put(a, "lena", "online", seq)
            check(status == 200 and reply["state"] == "online", "heartbeat: %r" % reply)
            seq += 1
            changes = drain(ws_b, lambda seen: True, 0.4)
            check(changes == [], "B's subscriber saw %r after the flush" % changes)
        check(presence(b, "bob", "lena") == {"lena": "online"}, "B reads lena")
        # One restore (offline → online in the new store), then changes as usual.
        check(metric(b, "presence_state_changes_total") - before == 1, "B emitted a wrong count")
        put(a, "lena", "busy", seq)
        changes = drain(ws_b, lambda seen: any(c.get("lena") == "busy" for c in seen), 5)
        check(changes == [{"lena": "busy"}], "B's subscriber got %r" % changes)
    finally:
        a.stop()
        b.stop()


def case_flush_dead_agent(binary, redis):
    """An agent that dies while Redis is emptied leaves no deadline to expire:
    a TTL after the flush the node reads again, and its subscriber learns the
    dead one is offline while the live one never flickers."""
    ttl = 1.5
    a = node(binary, redis, "--ttl", str(ttl), "--interval", "0.5")
    b = node(binary, redis, "--ttl", str(ttl), "--interval", "0.5")
    try:
        put(a, "lena", "online", 1)
        put(a, "carl", "busy", 1)
        ws_b, states = subscribe(b, "bob", "lena", "carl")
        check(states == {"lena": "online", "carl": "busy"}, "snapshot %r" % states)
        redis.cli("FLUSHALL")
        wait_for(lambda: "epoch changed" in b.errors(), 5, "B to notice the flush")
        # lena's agent keeps beating; carl's died with the flush.
        seq, seen = 2, []
        end = time.monotonic() + ttl + 3
        while time.monotonic() < end and {"carl": "offline"} not in seen:
            status, _, reply = put(a, "lena", "online", seq)
            check(status == 200, "heartbeat: %r" % reply)
            seq += 1
            seen += drain(ws_b, lambda changes: {"carl": "offline"} in changes, 0.4)
        check(seen == [{"carl": "offline"}], "B's subscriber got %r" % seen)
        check(presence(b, "bob", "lena", "carl") == {"lena": "online", "carl": "offline"},
              "B reads %r" % presence(b, "bob", "lena", "carl"))
    finally:
        a.stop()
        b.stop()


def case_down(binary, redis):
    a = node(binary, redis)
    try:
        put(a, "lena", "busy", 1)
        redis.stop()
        status, hdrs, reply = put(a, "lena", "online", 2)
        check(status == 503, "heartbeat: %d %r" % (status, reply))
        check(reply["error"]["code"] == "unavailable", "error %r" % reply)
        check(int(hdrs.get("Retry-After", "0")) > 0, "no Retry-After")
        check(presence(a, "bob", "lena") == {"lena": "unknown"}, "read with Redis down")
        check(metric(a, "presence_store_up") == 0, "presence_store_up with Redis down")
        check("unreachable" in a.errors() or "lost" in a.errors(),
              "no clear error on stderr: %s" % a.errors())
        redis.start()
        status, _, reply = put(a, "lena", "online", 3, retry_until=time.monotonic() + 10)
        check(status == 200 and reply["state"] == "online", "after Redis is back: %r" % reply)
    finally:
        a.stop()


def case_outage_lagging_index(binary, redis):
    """A periodic heartbeat leaves the deadline index behind (safely early).
    When a node is cut off from Redis and that early index entry and the real
    deadline both pass while it is away, the node's sweeps after the outage
    must not expire the agent: the deadline passed during our outage, and
    the agent gets its grace to beat again."""
    ttl = 2.0
    a = node(binary, redis, "--ttl", str(ttl), "--interval", "0.8")
    try:
        ws, _ = subscribe(a, "bob", "lena")
        put(a, "lena", "online", 1)
        t0 = time.monotonic()        # indexed deadline ≈ t0 + 2.0
        indexed = redis.indexed_deadline("lena")
        time.sleep(0.4)
        put(a, "lena", "online", 2)  # the cheap path: real deadline ≈ t0 + 2.4
        check(redis.indexed_deadline("lena") == indexed, "the index moved: not the cheap path")
        time.sleep(max(0, t0 + 2.1 - time.monotonic()))
        # Cut off at t0 + 2.1, back at t0 + 2.8: both deadlines passed
        # meanwhile (its paused commands wait, within their timeout).
        check(redis.kill_clients_of(a.proc.pid) == 2, "A's two connections not found")
        redis.cli("CLIENT", "PAUSE", "700", "ALL")
        # The node sweeps lena after the outage: kept, with her real deadline
        # indexed (an expiry would have removed her from the index).
        wait_for(lambda: redis.indexed_deadline("lena") != indexed, 10,
                 "the node to sweep lena after the outage")
        check(redis.indexed_deadline("lena") is not None, "lena was expired after the outage")
        status, _, reply = put(a, "lena", "online", 3)
        check(status == 200 and reply["state"] == "online", "heartbeat after: %r" % reply)
        changes = drain(ws, lambda seen: False, 1.0)
        check(all(c.get("lena") != "offline" for c in changes),
              "the outage made lena go offline: %r" % changes)
        check(presence(a, "bob", "lena") == {"lena": "online"}, "lena not online after")
    finally:
        a.stop()


def case_no_functions(binary, redis):
    """A Redis without functions (older than 7.0, or with FCALL renamed away):
    heartbeats are refused as unavailable, and stderr says why once rather
    than once per heartbeat."""
    redis.stop()
    old = Redis("--rename-command", "FCALL", "", "--rename-command", "FUNCTION", "")
    try:
        a = Server(binary, "--dev", "--store", old.address, tokens=None)
        try:
            for seq in range(1, 21):
                status, hdrs, reply = put(a, "lena", "online", seq)
                check(status == 503 and reply["error"]["code"] == "unavailable",
                      "heartbeat %d: %d %r" % (seq, status, reply))
                check(int(hdrs.get("Retry-After", "0")) > 0, "no Retry-After")
            errors = a.errors()
            check("Redis ≥ 7.0 is needed" in errors, "no clear error on stderr: %s" % errors)
            check(errors.count("function heartbeat:") == 1,
                  "the refusal said %d times:\n%s" % (errors.count("function heartbeat:"), errors))
        finally:
            a.stop()
    finally:
        old.stop()


def case_members_cross_node(binary, redis):
    """A member entering through one node is read, with its data, on the other;
    its own short TTL ends it on both."""
    limits = ("--rate-limit", "1000", "--rate-burst", "1000")
    a, b = node(binary, redis, *limits), node(binary, redis, *limits)
    try:
        status, _, reply = a.json("PUT", "/v1/instances/laptop",
                                  heartbeat("busy", ttl_ms=2000, data={"doc": "plan"}),
                                  token="lena")
        check(status == 200 and reply["ttl_ms"] == 2000, "heartbeat: %d %r" % (status, reply))
        a.json("PUT", "/v1/instances/pc", heartbeat("appear_offline", data={"x": 1}), token="ops")
        start = time.monotonic()
        _, _, page = b.json("GET", "/v1/members?ids=lena,ops", token="bob")
        got = [(m["participant_id"], m["instance_id"], m["state"], m.get("data"), m["ttl_ms"])
               for m in page["members"]]
        check(got == [("lena", "laptop", "busy", {"doc": "plan"}, 2000)],
              "members on the other node: %r" % page)
        _, _, own = b.json("GET", "/v1/members?ids=ops", token="ops")
        check([m["instance_id"] for m in own["members"]] == ["pc"], "own view: %r" % own)
        wait_for(lambda: b.json("GET", "/v1/members?ids=lena", token="bob")[2]["members"] == [],
                 5, "lena's member to end on node B")
        check(time.monotonic() - start >= 1.9, "ended before its own TTL")
        check(presence(a, "bob", "lena") == {"lena": "offline"}, "node A still shows lena")
    finally:
        a.stop()
        b.stop()


def redis_ms(redis):
    seconds, micros = redis.cli("TIME").split()
    return int(seconds) * 1000 + int(micros) // 1000


def lena_left_unswept(binary, redis):
    """lena beats once (TTL 2 s) on a node that is then killed, and node b
    starts a second later; returns b and the beat's time on Redis' clock.
    A node that (re)connects waits one TTL before it sweeps, so b does not
    sweep lena before beat + 3 s, a second after her deadline."""
    a = node(binary, redis, "--ttl", "2", "--interval", "1")
    put(a, "lena", "online", 1)
    beat = redis_ms(redis)
    a.stop(signal.SIGKILL)
    wait_for(lambda: redis_ms(redis) >= beat + 1000, 5, "a second of Redis' clock")
    return node(binary, redis, "--ttl", "2", "--interval", "1"), beat


def case_lapse_revived(binary, redis):
    """A snapshot taken after a participant's deadline passed, before any
    sweep, says offline (the read settles it); a heartbeat then brings it
    back. The subscriber must hear that it is online again."""
    b, beat = lena_left_unswept(binary, redis)
    try:
        wait_for(lambda: presence(b, "bob", "lena") == {"lena": "offline"}, 5,
                 "lena's deadline to pass")
        ws, states = subscribe(b, "bob", "lena")
        check(states == {"lena": "offline"}, "snapshot: %r" % states)
        status, _, reply = put(b, "lena", "online", 2)
        check(status == 200 and reply["state"] == "online", "revival: %d %r" % (status, reply))
        check(redis_ms(redis) < beat + 3000, "the revival came after b's first sweep")
        seen = drain(ws, lambda changes: changes[-1].get("lena") == "online", 2)
        check(seen and seen[-1].get("lena") == "online",
              "the subscriber still has lena offline; deltas: %r" % seen)
        ws.close()
    finally:
        b.stop()


def case_resume_across_lapse(binary, redis):
    """A subscriber that resumes from its cursor knows what the stream told
    it, not what reads said meanwhile: a participant whose deadline passed
    before any sweep, and who beat again, must not be told online twice (a
    read reporting the lapse first puts it into the stream)."""
    b, beat = lena_left_unswept(binary, redis)
    try:
        ws, first = subscribe_events(b, "bob", ["lena"])
        check(first["states"] == {"lena": "online"}, "snapshot: %r" % first)
        cursor = first["cursor"]
        ws.close()
        wait_for(lambda: redis_ms(redis) >= beat + 2000, 5, "lena's deadline to pass")
        resumed, answer = subscribe_events(b, "bob", ["lena"], cursor=cursor)
        check(answer.get("op") == "delta", "resumed: %r" % answer)
        told = [answer["changes"]["lena"]] if "lena" in answer["changes"] else []
        status, _, reply = put(b, "lena", "online", 2)
        check(status == 200 and reply["state"] == "online", "back: %d %r" % (status, reply))
        check(redis_ms(redis) < beat + 3000, "lena came back after b's first sweep")
        seen = drain(resumed, lambda changes: changes[-1].get("lena") == "online", 2)
        told += [changes["lena"] for changes in seen if "lena" in changes]
        check(told and told[-1] == "online", "the subscriber was not told lena is back: %r" % told)
        known = ["online"] + told
        check(all(x != y for x, y in zip(known, known[1:])),
              "a state told twice in a row after online: %r" % told)
        resumed.close()
    finally:
        b.stop()


def case_conversation_cross_node(binary, redis):
    """A conversation recorded through node A lets bob, reading or subscribed
    on node B (before or after it), see lena through her appear_offline, and
    nobody else; it ends by itself at its deadline on both nodes, with no
    sweep of theirs."""
    options = ("--store", redis.address, "--rate-limit", "1000", "--rate-burst", "1000",
               "--conversation-window", "2")
    a, b = Server(binary, *options), Server(binary, *options)
    try:
        for server in (a, b):
            wait_for(lambda: presence(server, "tok-bob", "x") == {"x": "offline"}, 10,
                     "the node's store to be ready")
        a.json("PUT", "/v1/instances/laptop", heartbeat("appear_offline", data={"doc": 1}),
               token="tok-lena")

        def seen_on(server, token):
            _, _, page = server.json("GET", "/v1/members?ids=lena", token=token)
            return (presence(server, token, "lena")["lena"],
                    [(m["instance_id"], m.get("data")) for m in page["members"]])

        hidden = ("offline", [])
        check(seen_on(b, "tok-bob") == hidden, "bob sees lena before any talk")
        early, states = subscribe(b, "tok-bob", "lena")
        check(states == {"lena": "offline"}, "bob's snapshot before the talk: %r" % states)
        status, _, reply = a.json("POST", "/v1/conversations", {"a": "lena", "b": "bob"},
                                  token="tok-ops")
        check(status == 200, "POST on node A: %d %r" % (status, reply))
        start = time.monotonic()
        check(seen_on(b, "tok-bob") == ("appear_offline", [("laptop", {"doc": 1})]),
              "bob on node B: %r" % (seen_on(b, "tok-bob"),))
        check(seen_on(b, "tok-bot") == hidden, "claude-bot on node B sees through lena")
        msg = early.recv()
        check(msg is not None and msg["changes"] == {"lena": "appear_offline"},
              "bob, subscribed on node B while node A recorded the talk: %r" % msg)
        early.close()
        ws, states = subscribe(b, "tok-bob", "lena")
        check(states == {"lena": "appear_offline"}, "bob's snapshot on node B: %r" % states)
        ttl = int(redis.cli("PTTL", "pz:{%d}:c:bob\x1flena" % bucket("bob")))
        check(1000 < ttl <= 2000, "bob's side of the conversation expires in %d ms" % ttl)
        msg = ws.recv(timeout=5)
        check(msg is not None and msg["changes"] == {"lena": "offline"},
              "bob's stream at the deadline: %r" % msg)
        ws.close()
        wait_for(lambda: seen_on(b, "tok-bob") == hidden, 5, "the grant to end on node B")
        check(time.monotonic() - start >= 1.8, "ended before its window")
        check(seen_on(a, "tok-bob") == hidden, "node A still grants")
    finally:
        a.stop()
        b.stop()


def subscribe_events(server, viewer, ids, cursor=None):
    """A sub with every member event asked; returns the socket and its answer."""
    ws = WebSocket(server.port, viewer)
    check(ws.status == 101, "WebSocket upgrade: %d" % ws.status)
    sub = {"op": "sub", "ids": ids, "events": ["enter", "update", "leave"]}
    if cursor is not None:
        sub["cursor"] = cursor
    ws.send(sub)
    first = ws.recv()
    check(first is not None and first.get("op") in ("snapshot", "delta"), "answer %r" % first)
    return ws, first


def take_events(ws, got, timeout):
    """Appends the member events of the deltas that come within timeout to
    got; returns the last cursor, or None without a delta."""
    cursor, deadline = None, time.monotonic() + timeout
    while True:
        msg = ws.recv(timeout=max(0.0, deadline - time.monotonic()))
        if msg is None:
            return cursor
        if msg.get("op") == "delta":
            got += msg.get("events", [])
            cursor = msg["cursor"]


def events_until(ws, got, n, timeout, what):
    """take_events until got holds n events; fails after timeout."""
    deadline = time.monotonic() + timeout
    while len(got) < n:
        check(time.monotonic() < deadline, "timed out waiting for %s: %r" % (what, got))
        take_events(ws, got, 0.1)


def case_events_cross_node(binary, redis):
    """A member entering through node A, with data, is an enter on node B's
    stream; its update and its leave with the client's reason follow."""
    a, b = node(binary, redis), node(binary, redis)
    try:
        ws, snap = subscribe_events(b, "bob", ["lena"])
        check(snap["op"] == "snapshot" and snap["members"] == [], "snapshot %r" % snap)
        a.json("PUT", "/v1/instances/laptop", heartbeat("busy", data={"doc": "plan"}),
               token="lena")
        a.json("PUT", "/v1/instances/laptop", heartbeat("busy", seq=2, data={"doc": "q4"}),
               token="lena")
        status, _, _ = a.json("DELETE", "/v1/instances/laptop?session=s1&reason=done",
                              token="lena")
        check(status == 200, "DELETE: %d" % status)
        got = []
        events_until(ws, got, 3, 5, "three events on B")
        brief = [(e["action"], e["participant_id"], e["instance_id"], e["state"], e.get("data"),
                  e.get("reason"), e.get("client_reason")) for e in got]
        check(brief == [("enter", "lena", "laptop", "busy", {"doc": "plan"}, None, None),
                        ("update", "lena", "laptop", "busy", {"doc": "q4"}, None, None),
                        ("leave", "lena", "laptop", "busy", {"doc": "q4"}, "left", "done")],
              "B's subscriber got %r" % got)
        ws.close()
    finally:
        a.stop()
        b.stop()


def case_events_node_killed(binary, redis):
    """A subscriber's node is killed mid-stream while the member keeps
    beating through the other node, each beat new data {"n": k}; the
    subscriber resumes on the surviving node with its last cursor, and the
    events it got are exactly the beats: none lost, none twice."""
    limits = ("--rate-limit", "1000", "--rate-burst", "1000")
    a, b = node(binary, redis, *limits), node(binary, redis, *limits)
    beats, kill_at, got = 40, 15, []
    try:
        ws, _ = subscribe_events(a, "bob", ["lena"])
        cursor = None
        for k in range(1, beats + 1):
            status, _, reply = b.json("PUT", "/v1/instances/laptop",
                                      heartbeat("online", seq=k, data={"n": k}), token="lena")
            check(status == 200, "beat %d: %d %r" % (k, status, reply))
            if k == kill_at:
                os.killpg(a.proc.pid, signal.SIGKILL)
                a.proc.wait()
                ws = None
            elif ws is None and k == kill_at + 5:
                check(cursor is not None, "no cursor before the kill")
                ws, first = subscribe_events(b, "bob", ["lena"], cursor=cursor)
                check(first["op"] == "delta", "the resume on B answered %r" % first)
                got += first.get("events", [])
            if ws is not None:
                cursor = take_events(ws, got, 0.03) or cursor
        events_until(ws, got, beats, 10, "every beat's event")
        take_events(ws, got, 0.5)  # and nothing more
        ns = [e.get("data", {}).get("n") for e in got]
        check(ns == list(range(1, beats + 1)), "the events' n: %r" % ns)
        check([e["action"] for e in got] == ["enter"] + ["update"] * (beats - 1),
              "actions %r" % [e["action"] for e in got])
        ws.close()
    finally:
        a.stop()
        b.stop()


CASES = {
    "events-cross-node": case_events_cross_node,
    "events-node-killed": case_events_node_killed,
    "conversation-cross-node": case_conversation_cross_node,
    "members-cross-node": case_members_cross_node,
    "lapse-revived": case_lapse_revived,
    "resume-across-lapse": case_resume_across_lapse,
    "cross-node": case_cross_node,
    "offline-once": case_offline_once,
    "client-kill": case_client_kill,
    "restart": case_restart,
    "flush": case_flush,
    "flush-dead-agent": case_flush_dead_agent,
    "down": case_down,
    "outage-lagging-index": case_outage_lagging_index,
    "no-functions": case_no_functions,
}


def main():
    binary, case = sys.argv[1], sys.argv[2]
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        print("SKIP: redis-server is not installed (apt-get install redis-server)")
        return 77
    redis = Redis()
    try:
        CASES[case](binary, redis)
    except Fail as e:
        print("FAIL: %s: %s" % (case, e))
        return 1
    finally:
        redis.stop()
    print("PASS: %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
