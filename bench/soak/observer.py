"""The soak's independent observer: what each agent says on its own bus, what
each server node says on its WebSocket stream and in batch reads, and the
invariants between them.

Expectations. An agent's expected public state is its D-Bus State mapped as
others see it (appear_offline reads offline). A change is due on every node
within 2 s. An agent that died (kill -9, or any exit) is expected offline
within TTL + 1 s of its death.

Windows. A fault that makes a change impossible to deliver (the agent's link
down, its server node dead, Redis dead or flushed) opens a window on the
agents it cuts off; the schedule closes it at the fault's end plus the
recovery the agent and server document for it (their back-off, Retry-After,
the next periodic heartbeat). Inside a window nothing is checked for those
agents; from its end the 2 s start again. A node's stream is checked only
while the observer's subscription to it is up; it counts from the snapshot.

All observer state lives on the main loop's thread except what the schedule
and the batch readers hand it, under one lock.
"""

import http.client
import json
import threading
import time

import gi

gi.require_version("Soup", "3.0")
from gi.repository import Gio, GLib, Soup  # noqa: E402

AGENT_NAME = "org.presence.Agent"
AGENT_PATH = "/org/presence/Agent"
AGENT_IFACE = "org.presence.Agent"
CHANGE_DUE_S = 2.0
# The agent tells the server before it tells its bus (the heartbeat goes out
# first), so a node may show a change a few ms before the observer hears the
# agent announce it. A sample is judged this long after it was taken, and
# matches if the agent's state was, or became within this time, what it says.
ANNOUNCE_LAG_S = 0.5
# Shorter expected states are still checked for "stuck", but a coalescing
# stream may legitimately show a blink of less than this late or merged.
LOST_MIN_SEGMENT_S = 1.0


def public(state):
    return "offline" if state in ("appear_offline", "offline", None) else state


class Expectation:
    def __init__(self, t, state, due_s, ghost=False):
        self.t = t
        self.state = state
        self.due_s = due_s
        self.ghost = ghost
        self.fault = None


class AgentView:
    def __init__(self, agent):
        self.agent = agent
        self.alive = False
        self.killing = False
        self.state = None
        self.manual = ""
        self.intended_manual = ""
        self.expected = [Expectation(0.0, "offline", CHANGE_DUE_S)]
        self.windows = []          # [start, end or None, kind]
        self.connection = None

    def current(self):
        return self.expected[-1]

    def expectation_at(self, t):
        for e in reversed(self.expected):
            if e.t <= t:
                return e
        return self.expected[0]

    def announced_soon_after(self, t, state):
        return any(t < e.t <= t + ANNOUNCE_LAG_S and e.state == state for e in self.expected)

    def in_window(self, t):
        """(inside, latest window end before t)."""
        latest_end = 0.0
        for start, end, _ in self.windows:
            if start <= t and (end is None or t <= end):
                return True, None
            if end is not None and end < t:
                latest_end = max(latest_end, end)
        return False, latest_end


class StreamView:
    """One node's stream as the observer's subscription sees it."""

    def __init__(self, node):
        self.node = node
        self.valid_since = None     # the snapshot of the current subscription
        self.valid = []             # [start, end or None]
        self.state = {}             # participant -> state
        self.history = {}           # participant -> [(t, state)]
        self.cursor = None
        self.connection_id = 0
        self.batch = {}             # participant -> (t_sent, state)
        self.ws = None
        self.first_message = False


class Observer:
    def __init__(self, agents, nodes, ttl, interval, observer_token, trace_path, t0):
        self.trace_file = open(trace_path, "w", buffering=1)
        self.t0 = t0
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.ttl = ttl
        self.interval = interval
        self.token = observer_token
        self.agents = {a.participant: AgentView(a) for a in agents}
        self.ids = sorted(self.agents)
        self.streams = [StreamView(n) for n in nodes]
        self.violations = []
        self.flagged = set()
        self.pending = []           # samples waiting for ANNOUNCE_LAG_S
        self.current_fault = "start-up"
        self.stopping = False
        self.soup = Soup.Session()
        # How long after its death each dead agent read offline on a stream.
        self.ghost_offline_s = []
        self.counts = {"agent state changes": 0, "stream changes": 0, "reads": 0}

    # Bookkeeping

    def trace(self, text):
        """One line per observation, on the soak's clock and the wall clock."""
        now = time.monotonic()
        self.trace_file.write("%8.3f %s %s\n" % (now - self.t0,
                                                  time.strftime("%H:%M:%S", time.gmtime()),
                                                  text))

    def violation(self, invariant, participant, node, detail, fault=None):
        with self.lock:
            fault = fault or self.current_fault
            self.violations.append({
                "t": time.monotonic(), "invariant": invariant, "agent": participant,
                "node": node, "fault": fault, "detail": detail})
            line = "VIOLATION %-9s %s %s during %s: %s" % (
                invariant, participant, node or "-", fault, detail)
            self.trace(line)
            print("%7.1f %s" % (time.monotonic() - self.t0, line), flush=True)

    def expect(self, view, state, due_s=CHANGE_DUE_S, ghost=False):
        now = time.monotonic()
        current = view.current()
        if current.state == state and current.due_s == due_s:
            return
        self.trace("%s expect %s%s" % (view.agent.participant, state,
                                       " (dead)" if ghost else ""))
        expectation = Expectation(now, state, due_s, ghost)
        expectation.fault = self.current_fault
        view.expected.append(expectation)
        self.changed.notify_all()

    # Agents on their buses

    def attach_agent(self, view):
        bus = Gio.DBusConnection.new_for_address_sync(
            view.agent.session_address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        view.connection = bus
        bus.signal_subscribe(None, "org.freedesktop.DBus.Properties", "PropertiesChanged",
                             AGENT_PATH, AGENT_IFACE, Gio.DBusSignalFlags.NONE,
                             lambda *a: self.on_properties(view, a[5]))
        Gio.bus_watch_name_on_connection(bus, AGENT_NAME, Gio.BusNameWatcherFlags.NONE,
                                         lambda *a: self.on_appeared(view),
                                         lambda *a: self.on_vanished(view))

    def on_properties(self, view, params):
        _, changed, _ = params.unpack()
        with self.lock:
            self.trace("%s dbus %s" % (view.agent.participant,
                                       " ".join("%s=%s" % (k, changed[k]) for k in
                                                ("State", "ManualState", "Connection")
                                                if k in changed)))
            self.apply_properties(view, changed)

    def apply_properties(self, view, props):
        if "ManualState" in props:
            view.manual = props["ManualState"]
            if view.manual != view.intended_manual:
                self.violation("manual", view.agent.participant, None,
                               "ManualState %r, set %r" % (view.manual, view.intended_manual))
        if "State" in props and view.alive:
            self.counts["agent state changes"] += 1
            view.state = props["State"]
            self.expect(view, public(view.state))

    def on_appeared(self, view):
        def got(bus, result):
            try:
                (props,) = bus.call_finish(result).unpack()
            except GLib.Error as e:
                self.violation("agent", view.agent.participant, None,
                               "properties unreadable: %s" % e.message)
                return
            with self.lock:
                view.alive = True
                view.killing = False
                self.apply_properties(view, props)
                self.changed.notify_all()
        view.connection.call(AGENT_NAME, AGENT_PATH, "org.freedesktop.DBus.Properties",
                             "GetAll", GLib.Variant("(s)", (AGENT_IFACE,)), None,
                             Gio.DBusCallFlags.NONE, 10000, None, got)

    def on_vanished(self, view):
        with self.lock:
            was_alive = view.alive
            view.alive = False
            view.state = None
            if was_alive and not view.killing and not self.stopping:
                self.violation("agent", view.agent.participant, None,
                               "presence-agent left its bus unasked")
            if was_alive:
                # A dead agent: offline everywhere within TTL + 1 s.
                self.expect(view, "offline", due_s=self.ttl + 1.0, ghost=True)
            self.changed.notify_all()

    # Streams

    def connect_stream(self, stream):
        if self.stopping:
            return
        message = Soup.Message.new("GET", "ws://127.0.0.1:%d/v1/stream" % stream.node.port)
        message.get_request_headers().append("Authorization", "Bearer " + self.token)

        def connected(session, result):
            try:
                ws = session.websocket_connect_finish(result)
            except GLib.Error:
                GLib.timeout_add(200, lambda: self.connect_stream(stream) and False)
                return
            stream.ws = ws
            stream.connection_id += 1
            stream.first_message = True
            ws.connect("message", lambda c, kind, data: self.on_stream_message(stream, data))
            ws.connect("closed", lambda c: self.on_stream_closed(stream))
            sub = {"op": "sub", "ids": self.ids}
            if stream.cursor:
                sub["cursor"] = stream.cursor
            ws.send_text(json.dumps(sub))
        self.soup.websocket_connect_async(message, None, None, GLib.PRIORITY_DEFAULT, None,
                                          connected)

    def on_stream_closed(self, stream):
        with self.lock:
            if stream.valid_since is not None:
                stream.valid[-1][1] = time.monotonic()
            stream.valid_since = None
            stream.ws = None
        GLib.timeout_add(200, lambda: self.connect_stream(stream) and False)

    def on_stream_message(self, stream, data):
        now = time.monotonic()
        try:
            message = json.loads(data.get_data().decode())
        except (ValueError, UnicodeDecodeError):
            self.violation("stream", None, stream.node.name, "not JSON: %r" % data.get_data())
            return
        op = message.get("op")
        with self.lock:
            if op == "error":
                self.violation("stream", None, stream.node.name, "error %r" % message)
                return
            changes = message.get("states") if op == "snapshot" else message.get("changes")
            if not isinstance(changes, dict):
                self.violation("stream", None, stream.node.name, "unexpected %r" % message)
                return
            stream.cursor = message.get("cursor", stream.cursor)
            first = stream.first_message
            stream.first_message = False
            if first:
                stream.valid_since = now
                stream.valid.append([now, None])
            for participant, state in changes.items():
                if participant not in self.agents:
                    continue
                previous = stream.state.get(participant)
                if not first and previous == state:
                    self.violation("duplicate", participant, stream.node.name,
                                   "%s twice in a row" % state)
                stream.state[participant] = state
                self.counts["stream changes"] += 1
                self.trace("%s %s %s %s" % (participant, stream.node.name, op, state))
                stream.history.setdefault(participant, []).append((now, state))
                view = self.agents[participant]
                current = view.current()
                if current.ghost and state == "offline" and previous != "offline":
                    self.ghost_offline_s.append(now - current.t)
                self.check_sample(view, stream, now, state, "stream", stream.valid_since)
            self.changed.notify_all()

    # Batch reads, from a thread per node

    def batch_reader(self, stream, period_s=0.5):
        connection = None
        path = "/v1/presence?ids=" + ",".join(self.ids)
        while not self.stopping:
            started = time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", stream.node.port,
                                                            timeout=3)
                connection.request("GET", path, headers={"Authorization": "Bearer " + self.token})
                response = connection.getresponse()
                body = response.read()
                if response.status == 200:
                    self.on_batch(stream, started, json.loads(body))
                elif response.status != 503:
                    self.violation("read", None, stream.node.name,
                                   "GET /v1/presence answered %d" % response.status)
            except (OSError, http.client.HTTPException, ValueError):
                if connection is not None:
                    connection.close()
                connection = None
            time.sleep(max(0.0, period_s - (time.monotonic() - started)))
        if connection is not None:
            connection.close()

    def on_batch(self, stream, sent, states):
        with self.lock:
            self.counts["reads"] += 1
            for participant, state in states.items():
                if participant in self.agents:
                    stream.batch[participant] = (sent, state)
                    self.check_sample(self.agents[participant], stream, sent, state, "read")
            self.changed.notify_all()

    # The checks

    def check_sample(self, view, stream, t, seen, source, floor=0.0):
        """What a node said at t (for a read: when it was sent), judged
        ANNOUNCE_LAG_S later by judge_sample."""
        self.pending.append((t, view, stream, seen, source, floor))

    def judge_sample(self, t, view, stream, seen, source, floor):
        """The agent's state is due on the node from its change + the due
        time, or from the end of a window, or from `floor` (the snapshot)."""
        participant = view.agent.participant
        key = (participant, stream.node.name, source)
        expected = view.expectation_at(t)
        if seen == expected.state or view.announced_soon_after(t, seen):
            self.flagged.discard(key)
            return
        inside, window_end = view.in_window(t)
        if inside:
            return
        late = t - max(expected.t, window_end, floor) - expected.due_s
        if late > 0 and key not in self.flagged:
            self.flagged.add(key)
            self.violation("ghost" if expected.ghost else "stuck", participant,
                           stream.node.name,
                           "%s says %s; %s was due %.1f s before (%s)"
                           % (source, seen, expected.state, late,
                              "dead" if expected.ghost else "D-Bus State %s" % view.state))

    def judge_pending(self, now):
        ripe = [p for p in self.pending if p[0] + ANNOUNCE_LAG_S <= now]
        self.pending = [p for p in self.pending if p[0] + ANNOUNCE_LAG_S > now]
        for sample in sorted(ripe, key=lambda p: p[0]):
            self.judge_sample(*sample)

    def tick(self):
        """A node that says nothing is checked too: its last word stands."""
        now = time.monotonic()
        with self.lock:
            for stream in self.streams:
                if stream.valid_since is None:
                    continue
                for participant, view in self.agents.items():
                    self.check_sample(view, stream, now, stream.state.get(participant),
                                      "stream", stream.valid_since)
            self.judge_pending(now)
        return not self.stopping

    def converged(self, since):
        """Every node's stream and a read sent after `since` agree with every agent."""
        for stream in self.streams:
            if stream.valid_since is None:
                return False
            for participant, view in self.agents.items():
                expected = view.current().state
                if stream.state.get(participant) != expected:
                    return False
                sent, state = stream.batch.get(participant, (0.0, None))
                if sent < since or state != expected:
                    return False
                if view.alive and view.manual != view.intended_manual:
                    return False
        return True

    # Windows, from the schedule

    def open_window(self, participants, kind):
        with self.lock:
            self.trace("window %s opens on %s" % (kind, " ".join(participants)))
            now = time.monotonic()
            windows = []
            for participant in participants:
                window = [now, None, kind]
                self.agents[participant].windows.append(window)
                windows.append(window)
            return windows

    def close_window(self, windows, recovery_s):
        with self.lock:
            self.trace("windows close in %.1f s" % recovery_s)
            end = time.monotonic() + recovery_s
            for window in windows:
                window[1] = end

    def intend_manual(self, participant, manual):
        with self.lock:
            self.agents[participant].intended_manual = manual

    # After the run

    def check_lost(self, end):
        """Every expected state held for LOST_MIN_SEGMENT_S outside any window
        must show on every node's stream that was up all along."""
        for participant, view in self.agents.items():
            for i, e in enumerate(view.expected):
                if e.ghost or e.t == 0.0:
                    continue
                t1 = view.expected[i + 1].t if i + 1 < len(view.expected) else end
                horizon = t1 + CHANGE_DUE_S
                if t1 - e.t < LOST_MIN_SEGMENT_S:
                    continue
                if horizon > end:
                    # The last state: checked if it had its due time before the end.
                    if end - e.t < CHANGE_DUE_S + LOST_MIN_SEGMENT_S:
                        continue
                    horizon = end
                if any(start <= horizon and (stop is None or stop >= e.t)
                       for start, stop, _ in view.windows):
                    continue
                for stream in self.streams:
                    if not any(start <= e.t and (stop is None or stop >= horizon)
                               for start, stop in stream.valid):
                        continue
                    history = stream.history.get(participant, [])
                    shown_before = [s for t, s in history if t <= e.t]
                    if shown_before and shown_before[-1] == e.state:
                        continue
                    if not any(e.t <= t <= horizon and s == e.state
                               for t, s in history):
                        self.violation("lost", participant, stream.node.name,
                                       "%s held %.1f s from t=%.1f never on the stream"
                                       % (e.state, t1 - e.t, e.t - self.t0), fault=e.fault)
