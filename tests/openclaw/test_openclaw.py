#!/usr/bin/python3
"""The built presence-agent against a real OpenClaw gateway (openclaw_bed.py).

Each case starts its own gateway on loopback inside a network namespace with
only lo, a private session bus, Xvfb for a real idle source, and the agent
with --transport openclaw; it reads the result back the way the macOS app
does, through system-presence and node.list on a second operator
connection. Run one case as `test_openclaw.py Class.test_name`; a gateway
that cannot be installed or started in a namespace makes the case skip
(exit 77) with the reason.
"""

import base64
import fcntl
import hashlib
import os
import subprocess
import sys
import time
import unittest

import openclaw_bed as bed

try:
    # Installing needs the network; the namespace has none, so first this.
    os.makedirs(bed.cache_dir(), exist_ok=True)
    with open(os.path.join(bed.cache_dir(), ".install-lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # cases running at once install once
        ROOT = bed.ensure_installed()
    SKIP = None
except bed.Skip as e:
    SKIP = str(e)

from display_testbed import Skip as DisplaySkip, start_xvfb, xdotool  # noqa: E402
from gi.repository import Gio, GLib  # noqa: E402
from testbed import AgentTestCase, wait_until  # noqa: E402

TOKEN = "presence-test-token-0123456789"


def own_gateway(why):
    """Marks a case that needs a gateway of its own, saying why: the others
    share one gateway (a start costs 20-30 s), each isolated by the device
    identity of its own agent and readers."""
    def mark(case):
        case.own_gateway = why
        return case
    return mark


def unique(name):
    """A reader's instance id (and so its device) of this case alone."""
    return "%s-%d" % (name, os.getpid())


class OpenclawTestCase(AgentTestCase):
    REMOTE_ADDRESS = None

    def setUp(self):
        if SKIP:
            self.skipTest(SKIP)
        super().setUp()
        try:
            self.display = start_xvfb(self.spawn)
        except DisplaySkip as e:
            self.skipTest(str(e))
        self.env["DISPLAY"] = self.display
        self.env["XDG_SESSION_TYPE"] = "x11"
        if self.REMOTE_ADDRESS:
            # An address of this test's own namespace that is not loopback:
            # the gateway sees a client there as another computer.
            subprocess.run(["ip", "addr", "replace", self.REMOTE_ADDRESS + "/32", "dev", "lo"],
                           check=True)
        shared = bed.shared_lease_info()
        self.reader = None
        if shared:
            self.gateway = bed.SharedGateway(shared)
        else:
            self.gateway = bed.Gateway(ROOT, self.tmp.name, TOKEN,
                                       custom_host=self.REMOTE_ADDRESS)
        try:
            if not shared:
                print("gateway ready in %.1f s" % self.gateway.start_ready())
            self.reader = bed.Operator(self.gateway.port, TOKEN, unique("presence-test-reader"))
        except BaseException:
            self.tearDown()  # unittest skips it when setUp fails
            raise

    def tearDown(self):
        # Before the temporary directory goes: the gateway writes into it.
        if getattr(self, "reader", None) is not None:
            self.reader.close()
        if getattr(self, "admin", None) is not None:
            self.admin.close()
        if getattr(self, "gateway", None) is not None:
            self.gateway.stop()
        super().tearDown()

    def use_settings(self, **keys):
        """A keyfile backend: settings that must hold before the agent starts."""
        settings = os.path.join(self.env["XDG_CONFIG_HOME"], "glib-2.0", "settings")
        os.makedirs(settings, exist_ok=True)
        with open(os.path.join(settings, "keyfile"), "w") as f:
            f.write("[org/presence/Agent]\n")
            for key, value in keys.items():
                f.write("%s=%s\n" % (key.replace("_", "-"), value))
        self.env["GSETTINGS_BACKEND"] = "keyfile"

    def agent_argv(self, token=TOKEN, env=None, host="127.0.0.1"):
        env = env or self.env
        token_file = os.path.join(env["XDG_RUNTIME_DIR"], "token")
        with open(token_file, "w") as f:
            f.write(token + "\n")
        os.chmod(token_file, 0o600)
        wrapper = os.environ.get("PRES_TEST_WRAPPER", "").split()
        return wrapper + [
            bed_agent(), "-v", "--no-tray", "--transport", "openclaw",
            "--server", "ws://%s:%d" % (host, self.gateway.port), "--token-file", token_file]

    def start_openclaw_agent(self, token=TOKEN, host="127.0.0.1"):
        self.log_path = os.path.join(self.tmp.name, "agent.log")
        log = open(self.log_path, "a")
        self.agent = self.spawn(self.agent_argv(token, host=host), stdout=log, stderr=log)
        log.close()
        self.wait_for_agent(self.agent)
        self.instance_id = self.get("InstanceId")
        self.device_id = device_id_of(self.state_home)

    def agent_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def our_rows(self, device_id=None):
        device_id = device_id or self.device_id
        return [row for row in self.reader.presence()
                if device_id in (row.get("deviceId"), row.get("instanceId"))]

    def beacon_row(self, newer_than_ms=0):
        """Our desktop's row once a beacon reached it, if any."""
        for row in self.our_rows():
            if "app presence-agent" in row.get("text", "") and row.get("ts", 0) > newer_than_ms:
                return row
        return None

    def approve(self, device_id=None, permissions={"accessibility": True}):
        """Approves our node's pending pairing as `openclaw nodes approve`
        does, once it declares PERMISSIONS (an operator approves what they
        see); returns the request id."""
        device_id = device_id or self.device_id
        if getattr(self, "admin", None) is None:
            self.admin = bed.Operator(self.gateway.port, TOKEN, unique("presence-test-admin"),
                                      scopes=["operator.read", "operator.pairing"])

        def pending():
            for entry in self.admin.request("node.pair.list", {})["pending"]:
                if entry.get("nodeId") == device_id and entry.get("permissions") == permissions:
                    return entry
            return None
        entry = wait_until(pending, timeout=30, message="a pending node pairing of ours")
        self.admin.request("node.pair.approve", {"requestId": entry["requestId"]})
        return entry["requestId"]

    def node_entry(self, device_id=None):
        device_id = device_id or self.device_id
        listing = self.reader.request("node.list", {})
        for node in listing["nodes"]:
            if node.get("nodeId") == device_id:
                return dict(node, activeNodeId=listing.get("activeNodeId"))
        return None

    def wait_connected_node(self, timeout=60):
        try:
            wait_until(lambda: self.get("Connection") == "connected", timeout=timeout,
                       message="Connection connected with the node approved")
        except AssertionError as e:
            raise AssertionError("%s (%s: %s)\nagent log:\n%s"
                                 % (e, self.get("Connection"), self.get("LastError"),
                                    self.agent_log()[-3000:]))

    def wait_beacon(self, check, timeout, message):
        def found():
            row = self.beacon_row()
            return row if row is not None and check(row) else None
        try:
            return wait_until(found, timeout=timeout, message=message)
        except AssertionError:
            raise AssertionError("%s\nrow: %s\nagent log:\n%s"
                                 % (message, self.beacon_row(), self.agent_log()[-3000:]))


def bed_agent():
    from testbed import AGENT
    return AGENT


def device_id_of(state_home):
    """The gateway's device id for the key the agent keeps."""
    path = os.path.join(state_home, "presence-agent", "openclaw-device.key")
    wait_until(lambda: os.path.exists(path), timeout=10, message="the device key")
    with open(path) as f:
        seed = base64.b64decode(f.read().strip())
    return hashlib.sha256(bed.ed25519_public(seed)).hexdigest()


class OpenclawTest(OpenclawTestCase):

    def test_instance_appears_with_real_idle_time(self):
        self.start_openclaw_agent()
        first = self.wait_beacon(lambda row: True, 20, "a beacon row for our instance")
        # One row: the node connection's, with the beacon's fields in it.
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())
        self.assertEqual(first["mode"], "node")
        self.assertEqual(first["instanceId"], self.device_id)
        self.assertEqual(first["clientId"], "openclaw-linux")
        self.assertEqual(first["roles"], ["node"])
        self.assertTrue(first["text"].startswith("Node:"), first["text"])
        self.assertIn("lastInputSeconds", first)

        # Input now; a later beacon (the periodic one, at most ~33 s away)
        # must count the seconds since. The row's ts is no beacon time (the
        # node's pongs renew it), so the beacon is timed as it shows.
        before = first["lastInputSeconds"]
        xdotool(self.display, "mousemove_relative", "5", "5")
        moved = time.monotonic()
        row = self.wait_beacon(
            lambda row: row["lastInputSeconds"] >= 3 and row["lastInputSeconds"] != before, 45,
            "a beacon 3 s or more after the input")
        expected = time.monotonic() - moved
        self.assertLessEqual(abs(row["lastInputSeconds"] - expected), 2.5,
                             "lastInputSeconds %s, %.1f s since the input"
                             % (row["lastInputSeconds"], expected))
        self.assertEqual(row["reason"], "periodic")

    def test_state_change_shows_within_2s(self):
        self.start_openclaw_agent()
        self.wait_beacon(lambda row: True, 20, "a beacon row for our instance")
        # The gateway files this desktop under its device id, and says so.
        destination, = self.get("Destinations")
        self.assertEqual(destination["Kind"], "openclaw")
        self.assertEqual(destination["KnownAs"], self.device_id)
        self.assertNotEqual(destination["KnownAs"], self.get("InstanceId"))

        began = time.monotonic()
        self.call("SetBusy", "u", 0)
        row = self.wait_beacon(lambda row: "state busy" in row["text"], 2, "busy within 2 s")
        print("busy shown after %.2f s" % (time.monotonic() - began))
        self.assertEqual(row["reason"], "manual")
        self.assertIn("lastInputSeconds", row)

        self.call("SetStatusText", "s", "In a meeting")
        row = self.wait_beacon(lambda row: "status In a meeting" in row["text"], 2,
                               "a new status text while busy within 2 s")
        self.assertEqual(row["reason"], "status-text")

        self.call("SetAppearOffline", "u", 0)
        row = self.wait_beacon(lambda row: "lastInputSeconds" not in row, 2,
                               "appear offline takes back the input time within 2 s")
        self.assertNotIn("state", row["text"].split(" · reason")[0].split("mode node")[1])

        began = time.monotonic()
        self.call("SetAuto")
        row = self.wait_beacon(lambda row: "state online" in row["text"], 2, "online within 2 s")
        self.assertIn("lastInputSeconds", row)
        self.assertEqual(row["reason"], "auto")

    @own_gateway("it stops and restarts the gateway")
    def test_back_after_gateway_restart(self):
        self.start_openclaw_agent()
        self.wait_beacon(lambda row: True, 20, "a beacon row for our instance")
        self.reader.close()
        self.gateway.stop()
        wait_until(lambda: self.get("Connection") == "error", timeout=10,
                   message="Connection error once the gateway is gone")
        self.assertTrue(self.get("LastError"), "no LastError while the gateway is down")

        self.gateway.start_ready()
        ready = time.monotonic()
        self.reader = bed.Operator(self.gateway.port, TOKEN, unique("presence-test-reader"))
        self.wait_beacon(lambda row: True, 10, "our instance back within 10 s of ready")
        print("back %.1f s after the gateway was ready" % (time.monotonic() - ready))
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())

    def test_wrong_token_is_unauthorized_without_a_hot_loop(self):
        self.start_openclaw_agent(token="not-the-gateway-token-42")
        wait_until(lambda: self.get("Connection") == "unauthorized", timeout=30,
                   message="Connection unauthorized")
        error = self.get("LastError")
        self.assertIn("refused the token", error)
        self.assertIn("--token-file", error)
        self.assertNotIn("not-the-gateway-token-42", self.agent_log())
        # One attempt, then nothing for minutes: watch a while.
        time.sleep(15)
        self.assertEqual(self.agent_log().count("Opening ws://"), 1, self.agent_log()[-3000:])
        retry = int(error.rsplit("retrying in ", 1)[1].split()[0])
        self.assertGreaterEqual(retry, 60, error)
        self.assertIsNone(self.beacon_row(), "a beacon row despite the wrong token")

    def test_quit_closes_the_connection(self):
        self.start_openclaw_agent()
        self.wait_beacon(lambda row: True, 20, "a beacon row for our instance")
        self.agent.signal(15)
        self.assertEqual(self.agent.wait(10), 0, self.agent_log()[-2000:])

        def disconnected():
            return [row for row in self.our_rows() if row.get("reason") == "disconnect"]
        wait_until(disconnected, timeout=5, message="our row says disconnect")
        self.assertIn("The node connection closed for the leave", self.agent_log())
        self.assertIn("The operator connection closed for the leave", self.agent_log())


class OpenclawNodeTest(OpenclawTestCase):
    """The agent as the gateway's node: its pairing, and the active computer."""

    @own_gateway("it asserts the gateway's one active node, which another case's node could be")
    def test_pending_pairing_names_the_approve_command(self):
        self.start_openclaw_agent()
        wait_until(lambda: self.get("Connection") == "unauthorized", timeout=30,
                   message="Connection unauthorized while the node pairing waits")
        pending = [entry for entry in
                   bed.Operator(self.gateway.port, TOKEN, unique("presence-test-lister"),
                                scopes=["operator.pairing"]).request("node.pair.list", {})["pending"]
                   if entry.get("nodeId") == self.device_id]
        self.assertEqual(len(pending), 1, pending)
        # The node asks for nothing but the permission its activity needs.
        self.assertEqual(pending[0]["permissions"], {"accessibility": True})
        self.assertEqual(pending[0]["commands"], [])
        self.assertEqual(pending[0]["caps"], [])
        error = self.get("LastError")
        self.assertIn("“openclaw nodes approve %s”" % pending[0]["requestId"], error)
        # Meanwhile the desktop is on the roster, as one row.
        self.wait_beacon(lambda row: True, 20, "a beacon row while the pairing waits")
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())

        self.approve()
        approved = time.monotonic()
        self.wait_connected_node(timeout=60)
        print("connected %.1f s after the approval" % (time.monotonic() - approved))
        self.assertIsNone(self.agent.proc.poll(), "the agent restarted")
        self.assertEqual(self.get("LastError"), "")
        node = wait_until(lambda: (self.node_entry() or {}).get("lastActiveAtMs") and
                          self.node_entry(), timeout=20, message="our first activity report")
        self.assertEqual(node["permissions"], {"accessibility": True})
        self.assertEqual(node["commands"], [])
        self.assertEqual(node["activeNodeId"], self.device_id)

        # The leave withdraws the activity, then closes; a clean exit (under
        # valgrind: nothing lost on the way).
        self.agent.signal(15)
        self.assertEqual(self.agent.wait(30), 0, self.agent_log()[-2000:])
        self.assertIn("Activity: withdrawn", self.agent_log())
        wait_until(lambda: not (self.node_entry() or {}).get("connected"), timeout=5,
                   message="the node disconnected")

    def test_idle_source_none_declares_and_reports_nothing(self):
        self.env.pop("DISPLAY")
        self.env["XDG_SESSION_TYPE"] = "tty"
        self.start_openclaw_agent()
        self.assertEqual(self.get("IdleSource"), "none")
        self.approve(permissions=None)
        self.wait_connected_node()
        self.assertIn("reports no activity to the gateway", self.agent_log())
        node = self.node_entry()
        self.assertNotIn("accessibility", node.get("permissions") or {})
        self.wait_beacon(lambda row: True, 20, "a beacon row")
        self.assertIsNone(self.node_entry().get("lastActiveAtMs"), self.node_entry())

    def test_without_the_node_beacons_make_the_one_row(self):
        self.use_settings(openclaw_active_computer="false")
        self.start_openclaw_agent()
        wait_until(lambda: self.get("Connection") == "connected", timeout=30,
                   message="connected as the operator alone")
        row = self.wait_beacon(lambda row: True, 20, "a beacon row")
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())
        self.assertEqual(row["mode"], "ui")
        self.assertNotIn("roles", row)
        self.assertIsNone(self.node_entry())
        self.assertNotIn(" as node", self.agent_log())

    @own_gateway("it restarts the gateway")
    def test_one_row_across_restarts_and_three_minutes(self):
        self.start_openclaw_agent()
        self.approve()
        self.wait_connected_node()
        self.wait_beacon(lambda row: True, 20, "a beacon row")
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())

        self.agent.signal(15)
        self.assertEqual(self.agent.wait(10), 0)
        restarted = len(self.agent_log())
        self.start_openclaw_agent()
        # The pairing and the device token were kept: no new approval.
        self.wait_connected_node(timeout=30)
        wait_until(lambda: "Beacon " in self.agent_log()[restarted:], timeout=20,
                   message="a beacon after the restart")
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())

        self.reader.close()
        self.gateway.stop()
        self.gateway.start_ready()
        self.reader = bed.Operator(self.gateway.port, TOKEN, unique("presence-test-reader"))
        self.wait_connected_node(timeout=30)
        self.wait_beacon(lambda row: True, 20, "a beacon after the gateway restart")
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())

        # Three minutes of periodic beacons, watched: the roster is read on
        # every presence event the gateway pushes and must hold one row.
        end = time.monotonic() + 180
        beacons = set()
        events = 0
        while time.monotonic() < end:
            try:
                self.reader.wait_event("presence", max(0.5, end - time.monotonic()))
            except TimeoutError:
                break
            events += 1
            rows = self.our_rows()
            self.assertEqual(len(rows), 1, rows)
            beacons.add(rows[0].get("lastInputSeconds"))
        print("%d presence events, %d distinct input times" % (events, len(beacons)))
        self.assertGreaterEqual(len(beacons), 4, "too few beacons: %s" % beacons)

    def second_agent(self):
        """Another desktop: its own state, session bus and X display."""
        home = os.path.join(self.tmp.name, "second")
        os.makedirs(home)
        env = dict(self.env)
        env.update({"XDG_STATE_HOME": os.path.join(home, "state"),
                    "XDG_CONFIG_HOME": os.path.join(home, "config"),
                    "XDG_RUNTIME_DIR": home})
        env.pop("XDG_SESSION_ID", None)
        env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True, start_new_session=True)
        self.addCleanup(lambda: (bus.terminate(), bus.wait()))
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        env["DISPLAY"] = start_xvfb(self.spawn)
        self.second_log = os.path.join(home, "agent.log")
        log = open(self.second_log, "w")
        process = subprocess.Popen(self.agent_argv(env=env), env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.addCleanup(lambda: (os.killpg(process.pid, 15), process.wait()))
        return env["DISPLAY"], device_id_of(env["XDG_STATE_HOME"])

    def start_logind(self):
        """A logind for the first agent, so that it can be locked."""
        try:
            import dbusmock  # noqa: F401
        except ImportError:
            self.skipTest("python3-dbusmock is missing")
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = bus.proc.stdout.readline().strip()
        self.env["XDG_SESSION_ID"] = "c1"
        self.sysbus = Gio.DBusConnection.new_for_address_sync(
            self.env["DBUS_SYSTEM_BUS_ADDRESS"],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.spawn(["/usr/bin/python3", "-m", "dbusmock", "--system", "--template", "logind"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def owned():
            return self.sysbus.call_sync(
                "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                "NameHasOwner", GLib.Variant("(s)", ("org.freedesktop.login1",)), None,
                Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
        wait_until(owned, timeout=15, message="the logind mock")
        self.logind("/org/freedesktop/login1", "org.freedesktop.DBus.Mock", "AddSession",
                    GLib.Variant("(ssusb)", ("c1", "seat0", os.getuid(), "tester", True)))

    def logind(self, path, iface, method, params=None):
        self.sysbus.call_sync("org.freedesktop.login1", path, iface, method, params, None,
                              Gio.DBusCallFlags.NONE, 5000, None)

    def wait_active(self, device_id, within, what):
        began = time.monotonic()
        try:
            wait_until(lambda: (self.node_entry(device_id) or {}).get("activeNodeId") == device_id,
                       timeout=within, message=what)
        except AssertionError:
            raise AssertionError("%s\nnodes: %s" % (what, self.reader.request("node.list", {})))
        took = time.monotonic() - began
        print("%s after %.1f s" % (what, took))
        return took

    @own_gateway("the gateway's one active node is what it tests")
    def test_active_computer_follows_input_lock_and_appear_offline(self):
        self.start_logind()
        self.start_openclaw_agent()
        first = self.device_id
        other_display, other = self.second_agent()
        self.approve(first)
        self.approve(other)
        for node in (first, other):
            try:
                wait_until(lambda: (self.node_entry(node) or {}).get("lastActiveAtMs"), timeout=60,
                           message="activity from both desktops")
            except AssertionError:
                with open(self.second_log, errors="replace") as f:
                    second = f.read()
                raise AssertionError("no activity from %s\nnodes: %s\nfirst agent:\n%s\n"
                                     "second agent:\n%s"
                                     % ("the first" if node == first else "the second",
                                        self.reader.request("node.list", {}),
                                        self.agent_log()[-3000:], second[-3000:]))

        # Input into the one that is not active makes it active, then the
        # same the other way round: two real changes, the first one last.
        displays = {first: self.display, other: other_display}
        active = self.node_entry(first)["activeNodeId"]
        self.assertIn(active, displays)
        order = [node for node in (other, first) if node != active] + [active]
        if order[-1] != first:
            order.append(first)
        for node in order:
            self.assertNotEqual(self.node_entry(node)["activeNodeId"], node)
            xdotool(displays[node], "mousemove_relative", "5", "5")
            self.wait_active(node, 20, "input into %s makes it active"
                             % ("the first" if node == first else "the second"))

        session = "/org/freedesktop/login1/session/c1"
        self.logind(session, "org.freedesktop.login1.Session", "Lock")
        self.wait_active(other, 5, "locking the first leaves the second active")
        self.assertNotIn("lastActiveAtMs", self.node_entry(first))
        self.logind(session, "org.freedesktop.login1.Session", "Unlock")
        self.wait_active(first, 20, "unlocked, the first is active again")

        self.call("SetAppearOffline", "u", 0)
        self.wait_active(other, 5, "appearing offline leaves the second active")
        self.assertNotIn("lastActiveAtMs", self.node_entry(first))


class OpenclawRemoteTest(OpenclawTestCase):
    """A desktop the gateway does not pair silently: it comes from an
    address that is not loopback (inside the test's own namespace)."""

    REMOTE_ADDRESS = "10.77.0.1"

    def pending_approval(self):
        """The approve command LastError names, as (kind, request id)."""
        error = self.get("LastError") or ""
        for kind in ("devices", "nodes"):
            mark = "“openclaw %s approve " % kind
            if mark in error:
                return kind, error.split(mark, 1)[1].split("”", 1)[0]
        return None

    @own_gateway("the gateway listens on an address of the case's own namespace")
    def test_remote_pairing_names_the_approve_command_and_connects(self):
        self.use_settings(allow_insecure="true")
        self.start_openclaw_agent(host=self.REMOTE_ADDRESS)
        admin = bed.Operator(self.gateway.port, TOKEN, unique("presence-test-admin"),
                             scopes=["operator.read", "operator.pairing", "operator.admin"])
        self.addCleanup(admin.close)
        began = time.monotonic()
        approvals = []
        # Each approval the agent asks for is given as the operator would;
        # each must bring the next step within 60 s, with no restart.
        while self.get("Connection") != "connected":
            self.assertLess(time.monotonic() - began, 300, "not connected after 5 minutes")
            wanted = wait_until(lambda: self.get("Connection") == "connected"
                                or self.pending_approval(), timeout=60,
                                message="a pairing to approve, or connected")
            if wanted is True:
                break
            kind, request_id = wanted
            self.assertEqual(self.get("Connection"), "unauthorized")
            listing = admin.request("device.pair.list" if kind == "devices" else "node.pair.list",
                                    {})
            ours = [entry for entry in listing["pending"] if entry["requestId"] == request_id]
            self.assertEqual(len(ours), 1, listing)
            self.assertEqual(ours[0].get("deviceId", ours[0].get("nodeId")), self.device_id)
            admin.request("device.pair.approve" if kind == "devices" else "node.pair.approve",
                          {"requestId": request_id})
            approved = time.monotonic()
            approvals.append(kind)
            wait_until(lambda: self.get("Connection") == "connected"
                       or self.pending_approval() not in (None, (kind, request_id)),
                       timeout=60, message="the next step within 60 s of approving %s %s"
                       % (kind, request_id))
            print("approved %s %s: next step after %.1f s"
                  % (kind, request_id, time.monotonic() - approved))
        self.assertIsNone(self.agent.proc.poll(), "the agent restarted")
        self.assertEqual(approvals[0], "devices", approvals)
        print("approvals: %s" % approvals)
        self.wait_beacon(lambda row: True, 30, "a beacon row")
        self.assertEqual(len(self.our_rows()), 1, self.our_rows())
        self.assertEqual(self.our_rows()[0].get("ip"), self.REMOTE_ADDRESS)


def enter_gateway_netns(case_name):
    """Into the namespace of the gateway that CASE_NAME (Class.test_name) runs against."""
    if bed.in_netns():
        bed.enter_netns()
        return
    cls, method = case_name.split(".")
    if getattr(getattr(globals()[cls], method), "own_gateway", None):
        bed.enter_netns()
    else:
        bed.enter_netns(bed.lease_shared_gateway(ROOT, TOKEN))


if __name__ == "__main__":
    if not SKIP:
        try:
            enter_gateway_netns(sys.argv[1])
        except bed.Skip as e:
            SKIP = str(e)
    if SKIP:
        print("SKIP: " + SKIP)
        sys.exit(77)
    result = unittest.main(argv=sys.argv[:1] + sys.argv[1:], exit=False).result
    if result.skipped and not result.failures and not result.errors and result.testsRun == len(
            result.skipped):
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
