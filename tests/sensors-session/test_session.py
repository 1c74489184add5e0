#!/usr/bin/python3
"""Lock, sleep, shutdown, session end and network against the built agent.

Peers: a private system bus with python-dbusmock's logind template (and its
NetworkManager template for network changes), fake screensavers on the
private session bus, and the real presence-server on 127.0.0.1 port 0. A
recording proxy in front of the server sees every heartbeat and leave in
the order the agent sent them; it can also hold the reply to a leave, which
shows when the agent lets go of its delay inhibitor.

Waits are on conditions with deadlines; processes are killed by the process
groups this file started.
"""

import http.client
import http.server
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import unittest

try:
    import dbusmock  # noqa: F401  (only its presence is checked here)
    from gi.repository import Gio, GLib
except ImportError as e:
    print("SKIP: python3-dbusmock or python3-gi is missing (%s); "
          "apt-get install python3-dbusmock python3-gi" % e)
    sys.exit(77)

from testbed import AGENT, BUILDDIR, AgentTestCase, wait_until

SERVER = os.path.join(BUILDDIR, "src", "server", "presence-server")
PYTHON = "/usr/bin/python3"
LOGIND = "org.freedesktop.login1"
MANAGER_PATH = "/org/freedesktop/login1"
SESSION_ID = "c1"
SESSION_PATH = "/org/freedesktop/login1/session/" + SESSION_ID
MOCK_IFACE = "org.freedesktop.DBus.Mock"
TOKEN = "some-id"


class RecordingProxy:
    """Forwards to presence-server and records each request in order.

    hold_leaves: a leave is forwarded at once, but its reply waits until
    release_leave() (the server has the leave; the agent does not know yet).
    on_leave(): called when a leave arrives, before it is forwarded.
    failing: requests are recorded and answered 502 Bad Gateway, as
    by a server that is down behind its proxy.
    """

    def __init__(self, upstream_port):
        self.requests = []
        self.hold_leaves = False
        self.leave_released = threading.Event()
        self.leave_forwarded = threading.Event()
        self.on_leave = None
        self.failing = False
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                leave = self.command == "DELETE"
                if leave and proxy.on_leave is not None:
                    proxy.on_leave()
                proxy.requests.append((self.command, self.path, body))
                if proxy.failing:
                    self.send_response(502)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=5)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                if leave:
                    proxy.leave_forwarded.set()
                    if proxy.hold_leaves:
                        proxy.leave_released.wait(timeout=10)
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_DELETE = do_GET = forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def heartbeats(self):
        return [json.loads(body) for method, _, body in list(self.requests) if method == "PUT"]

    def reasons(self):
        return [hb.get("reason") for hb in self.heartbeats()]

    def leaves(self):
        return [path for method, path, _ in list(self.requests) if method == "DELETE"]

    def close(self):
        self.leave_released.set()
        self.server.shutdown()
        self.server.server_close()


class SessionTestCase(AgentTestCase):

    def setUp(self):
        super().setUp()
        self.sysbus = None
        self.proxy = None
        self.agent = None
        self.env["XDG_SESSION_ID"] = SESSION_ID
        self.env["PRESENCE_TOKEN"] = TOKEN
        self.start_server()

    def tearDown(self):
        # SIGTERM must end the agent cleanly (under valgrind: no errors).
        status = None
        if self.agent is not None and self.agent.proc.poll() is None:
            self.agent.signal(signal.SIGTERM)
            status = self.agent.wait(timeout=60)
        if self.sysbus is not None:
            self.sysbus.close_sync(None)
        super().tearDown()
        self.assertIn(status, (None, 0), "presence-agent exited with %s" % status)

    # Peers

    def start_server(self):
        port_file = os.path.join(self.tmp.name, "server.port")
        self.server_log = os.path.join(self.tmp.name, "server.log")
        with open(self.server_log, "w") as log:
            server = self.spawn([SERVER, "--dev", "--listen", "127.0.0.1:0", "--port-file",
                                 port_file, "-v", "--rate-limit", "1000", "--rate-burst", "1000"],
                                stdout=log, stderr=subprocess.STDOUT)

        def port_written():
            if server.proc.poll() is not None:
                raise AssertionError("presence-server exited with %d" % server.proc.returncode)
            try:
                with open(port_file) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_until(port_written, timeout=10, message="presence-server's port")
        self.proxy = RecordingProxy(self.port)
        self.addCleanup(self.proxy.close)

    def start_system_bus(self):
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = bus.proc.stdout.readline().strip()
        bus.proc.stdout.close()
        self.assertTrue(address, "dbus-daemon printed no address")
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        self.sysbus = Gio.DBusConnection.new_for_address_sync(
            address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)

    def has_owner(self, bus, name):
        reply = bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "NameHasOwner", GLib.Variant("(s)", (name,)),
                              None, Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    def start_mock(self, bus, argv, name):
        log = open(os.path.join(self.tmp.name, "mock-%s.log" % name), "w")
        mock = self.spawn([PYTHON, "-m", "dbusmock", *argv], stdout=log, stderr=subprocess.STDOUT)
        log.close()

        def owned():
            if mock.proc.poll() is not None:
                raise AssertionError("dbusmock for %s exited with %d" % (name, mock.proc.returncode))
            return self.has_owner(bus, name)
        wait_until(owned, timeout=15, message="%s on the bus" % name)
        return mock

    def start_logind(self, with_session=True):
        self.start_system_bus()
        self.start_mock(self.sysbus, ["--system", "--template", "logind"], LOGIND)
        if with_session:
            self.logind(MANAGER_PATH, MOCK_IFACE, "AddSession", "(ssusb)",
                        (SESSION_ID, "seat0", os.getuid(), "tester", True))

    def sys_call(self, name, path, iface, method, signature=None, args=()):
        params = GLib.Variant(signature, args) if signature else None
        return self.sysbus.call_sync(name, path, iface, method, params, None,
                                     Gio.DBusCallFlags.NONE, 5000, None).unpack()

    def logind(self, path, iface, method, signature=None, args=()):
        return self.sys_call(LOGIND, path, iface, method, signature, args)

    def emit_manager(self, signal_name, value):
        self.logind(MANAGER_PATH, MOCK_IFACE, "EmitSignal", "(sssav)",
                    (LOGIND + ".Manager", signal_name, "b", [GLib.Variant("b", value)]))

    def session_properties(self, changes):
        self.logind(SESSION_PATH, MOCK_IFACE, "UpdateProperties", "(sa{sv})",
                    (LOGIND + ".Session", changes))

    def inhibitors(self):
        return [i for i in self.logind(MANAGER_PATH, LOGIND + ".Manager", "ListInhibitors")[0]
                if i[1] == "presence-agent"]

    # The agent

    def start_agent_here(self):
        wrapper = shlex.split(os.environ.get("PRES_TEST_WRAPPER", ""))
        self.agent_log_path = os.path.join(self.tmp.name, "agent.log")
        with open(self.agent_log_path, "a") as log:
            self.agent = self.spawn(wrapper + [AGENT, "-v", "--server",
                                               "http://127.0.0.1:%d" % self.proxy.port],
                                    stdout=log, stderr=subprocess.STDOUT)

        def answering():
            if self.agent.proc.poll() is not None:
                raise AssertionError("presence-agent exited with %d:\n%s"
                                     % (self.agent.proc.returncode, self.agent_log()))
            return self.name_owner() is not None and self.get("Connection") == "connected"
        wait_until(answering, timeout=30, message="the agent connected")

    def agent_log(self):
        with open(self.agent_log_path) as f:
            return f.read()

    def presence(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/v1/presence?ids=" + TOKEN,
                         headers={"Authorization": "Bearer " + TOKEN})
            response = conn.getresponse()
            body = response.read().decode()
        finally:
            conn.close()
        self.assertEqual(response.status, 200, body)
        return json.loads(body)[TOKEN]

    def wait_presence(self, state, timeout=2.0):
        start = time.monotonic()
        wait_until(lambda: self.presence() == state, timeout=timeout,
                   message="the server saying %s" % state)
        return time.monotonic() - start

    def wait_state(self, state, timeout=2.0):
        wait_until(lambda: self.get("State") == state, timeout=timeout,
                   message="the agent's State %s" % state)

    def start_all(self):
        self.start_logind()
        self.start_agent_here()
        self.wait_presence("online")
        wait_until(lambda: len(self.inhibitors()) == 1, timeout=5,
                   message="the agent's delay inhibitor")

    # Lock

    def test_lock_signal_idle_then_unlock_online(self):
        self.start_all()
        self.logind(SESSION_PATH, LOGIND + ".Session", "Lock")
        took = self.wait_presence("idle", timeout=1.0)
        self.assertEqual(self.get("State"), "idle")
        print("idle %.2f s after Lock" % took)
        # The none idle source sees no input: unlocking alone is enough.
        self.logind(SESSION_PATH, LOGIND + ".Session", "Unlock")
        self.wait_presence("online", timeout=1.0)

    def test_locked_hint(self):
        self.start_all()
        self.logind(SESSION_PATH, LOGIND + ".Session", "SetLockedHint", "(b)", (True,))
        self.wait_presence("idle", timeout=1.0)
        self.logind(SESSION_PATH, LOGIND + ".Session", "SetLockedHint", "(b)", (False,))
        self.wait_presence("online", timeout=1.0)

    def test_session_inactive_idle(self):
        self.start_all()
        self.session_properties({"Active": GLib.Variant("b", False)})
        self.wait_presence("idle", timeout=1.0)
        self.session_properties({"Active": GLib.Variant("b", True)})
        self.wait_presence("online", timeout=1.0)

    # Sleep and shutdown

    def test_sleep_leave_before_inhibitor_released(self):
        self.start_all()
        at_leave = []
        self.proxy.on_leave = lambda: at_leave.append(len(self.inhibitors()))
        self.proxy.hold_leaves = True

        self.emit_manager("PrepareForSleep", True)
        wait_until(self.proxy.leave_forwarded.is_set, timeout=2, message="the leave")
        # The server has the leave; its reply is held, so the agent cannot
        # know yet, and the inhibitor must still be there.
        self.assertEqual(self.presence(), "offline")
        self.assertEqual(at_leave, [1])
        self.assertEqual(len(self.inhibitors()), 1, "released before the leave was answered")
        self.proxy.leave_released.set()
        wait_until(lambda: not self.inhibitors(), timeout=2,
                   message="the inhibitor released after the leave")
        self.assertIn("reason=sleep", self.proxy.leaves()[-1])

    def test_sleep_slow_server_safety_timeout(self):
        self.start_all()
        self.proxy.hold_leaves = True  # the reply to the leave never comes in time
        self.emit_manager("PrepareForSleep", True)
        wait_until(self.proxy.leave_forwarded.is_set, timeout=2, message="the leave")
        held = time.monotonic()
        # logind would wait 5 s (InhibitDelayMaxSec); the agent lets go first.
        wait_until(lambda: not self.inhibitors(), timeout=4.5,
                   message="the inhibitor released by the safety timeout")
        took = time.monotonic() - held
        self.assertGreater(took, 2.0, "released before the leave was answered")
        print("inhibitor released %.2f s into a stuck leave" % took)
        self.proxy.leave_released.set()

    def test_resume_twice_one_heartbeat(self):
        self.start_all()
        self.emit_manager("PrepareForSleep", True)
        self.wait_presence("offline", timeout=1.0)
        wait_until(lambda: not self.inhibitors(), timeout=2, message="the inhibitor released")

        self.emit_manager("PrepareForSleep", False)
        self.emit_manager("PrepareForSleep", False)
        self.wait_presence("online", timeout=2.0)
        wait_until(lambda: "resume" in self.proxy.reasons(), timeout=2,
                   message="a resume heartbeat")
        wait_until(lambda: len(self.inhibitors()) == 1, timeout=2,
                   message="the inhibitor taken again")
        # A marker after both signals, from the same sender: once its
        # effect is on the wire, both resumes were handled.
        self.logind(SESSION_PATH, LOGIND + ".Session", "Lock")
        wait_until(lambda: any(hb["state"] == "idle" for hb in self.proxy.heartbeats()),
                   timeout=2, message="the idle heartbeat after the marker")
        self.assertEqual(self.proxy.reasons().count("resume"), 1, self.proxy.reasons())
        self.assertEqual(len(self.inhibitors()), 1)

    def test_shutdown_leaves(self):
        self.start_all()
        self.emit_manager("PrepareForShutdown", True)
        took = self.wait_presence("offline", timeout=1.0)
        print("offline %.2f s after PrepareForShutdown" % took)
        self.assertIn("reason=shutdown", self.proxy.leaves()[-1])
        wait_until(lambda: not self.inhibitors(), timeout=2, message="the inhibitor released")

    def test_session_removed_leaves_and_exits(self):
        self.start_all()
        self.logind(MANAGER_PATH, MOCK_IFACE, "EmitSignal", "(sssav)",
                    (LOGIND + ".Manager", "SessionRemoved", "so",
                     [GLib.Variant("s", SESSION_ID), GLib.Variant("o", SESSION_PATH)]))
        self.wait_presence("offline", timeout=1.0)
        self.assertEqual(self.agent.wait(timeout=5), 0)
        self.assertEqual(len(self.proxy.leaves()), 1)
        self.assertIn("reason=logout", self.proxy.leaves()[0])

    # Manual states are sticky

    def test_busy_through_lock_sleep_network(self):
        self.start_system_bus()
        self.start_mock(self.sysbus, ["--system", "--template", "networkmanager"],
                        "org.freedesktop.NetworkManager")
        self.start_mock(self.sysbus, ["--system", "--template", "logind"], LOGIND)
        self.logind(MANAGER_PATH, MOCK_IFACE, "AddSession", "(ssusb)",
                    (SESSION_ID, "seat0", os.getuid(), "tester", True))
        self.start_agent_here()
        self.call("SetBusy", "u", 0)
        self.wait_presence("busy")

        self.logind(SESSION_PATH, LOGIND + ".Session", "Lock")
        wait_until(lambda: self.get("AutoState") == "idle", timeout=1, message="locked")
        self.assertEqual(self.get("State"), "busy")
        self.assertEqual(self.presence(), "busy")
        self.emit_manager("PrepareForSleep", True)
        self.wait_presence("offline", timeout=1.0)
        self.emit_manager("PrepareForSleep", False)
        self.wait_presence("busy", timeout=2.0)
        self.assertEqual(self.get("State"), "busy")

        self.sys_call("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager",
                      MOCK_IFACE, "SetConnectivity", "(u)", (2,))
        wait_until(lambda: "network" in self.proxy.reasons(), timeout=3,
                   message="a heartbeat for the network change")
        self.assertEqual(self.proxy.heartbeats()[-1]["state"], "busy")
        self.assertEqual(self.presence(), "busy")
        self.assertEqual(self.get("State"), "busy")

    # Network

    def test_network_change_one_heartbeat(self):
        self.start_system_bus()
        self.start_mock(self.sysbus, ["--system", "--template", "networkmanager"],
                        "org.freedesktop.NetworkManager")
        self.start_agent_here()
        nm = ("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager", MOCK_IFACE,
              "SetConnectivity", "(u)")
        # A burst of changes makes one reconnect once it settles.
        self.sys_call(*nm, (2,))
        self.sys_call(*nm, (4,))
        sent = time.monotonic()
        wait_until(lambda: "network" in self.proxy.reasons(), timeout=3,
                   message="a heartbeat for the network change")
        took = time.monotonic() - sent
        self.assertGreaterEqual(took, 0.9, "not debounced")
        # Marker: a state change sent after the debounce window.
        self.call("SetBusy", "u", 0)
        wait_until(lambda: any(hb["state"] == "busy" for hb in self.proxy.heartbeats()),
                   timeout=2, message="the busy heartbeat")
        self.assertEqual(self.proxy.reasons().count("network"), 1, self.proxy.reasons())
        print("network heartbeat %.2f s after the change" % took)

    def test_network_up_retries_at_once(self):
        """Deep in the backoff (2.4–3.6 s between attempts), the network
        coming back brings the next attempt forward: it is the one sent for
        the network change, not the timer's."""
        self.start_system_bus()
        self.start_mock(self.sysbus, ["--system", "--template", "networkmanager"],
                        "org.freedesktop.NetworkManager")
        self.start_agent_here()
        self.wait_presence("online")
        self.proxy.failing = True
        self.call("SetBusy", "u", 0)
        sent = len(self.proxy.heartbeats())
        wait_until(lambda: len(self.proxy.heartbeats()) >= sent + 3, timeout=15,
                   message="three failed attempts")
        self.assertIn("then every 2.4–3.6 s", self.get("LastError"))
        self.proxy.failing = False
        before = len(self.proxy.heartbeats())
        # Down and back up: one burst, one retry once it settles.
        for connectivity in (2, 4):
            self.sys_call("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager",
                          MOCK_IFACE, "SetConnectivity", "(u)", (connectivity,))
        wait_until(lambda: self.get("Connection") == "connected", timeout=5,
                   message="connected after the network change")
        self.assertEqual(self.proxy.reasons()[before], "network", self.proxy.reasons())
        self.wait_presence("busy")

    # Without logind

    def test_no_system_bus(self):
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + os.path.join(self.tmp.name, "none")
        self.start_agent_here()
        self.wait_presence("online")
        self.assertEqual(self.get("State"), "online")
        wait_until(lambda: "no lock, sleep or session facts" in self.agent_log(), timeout=5,
                   message="the agent saying logind is unavailable")

    def test_no_logind(self):
        self.start_system_bus()
        self.start_agent_here()
        self.wait_presence("online")
        self.assertEqual(self.get("State"), "online")
        wait_until(lambda: "No logind on the system bus" in self.agent_log(), timeout=5,
                   message="the agent saying logind is unavailable")
        self.assertEqual(self.agent.proc.poll(), None)

    # Screensavers on the session bus

    def start_screensaver(self, name, path, active=False):
        self.start_mock(self.bus, [name, path, name], name)
        self.bus.call_sync(name, path, MOCK_IFACE, "AddMethod",
                           GLib.Variant("(sssss)", (name, "GetActive", "", "b",
                                                    "ret = %s" % active)),
                           None, Gio.DBusCallFlags.NONE, 5000, None)

    def emit_active(self, name, path, active):
        self.bus.call_sync(name, path, MOCK_IFACE, "EmitSignal",
                           GLib.Variant("(sssav)", (name, "ActiveChanged", "b",
                                                    [GLib.Variant("b", active)])),
                           None, Gio.DBusCallFlags.NONE, 5000, None)

    def test_gnome_screensaver(self):
        self.start_logind()
        self.start_screensaver("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver")
        self.start_agent_here()
        self.wait_presence("online")
        self.emit_active("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", True)
        took = self.wait_presence("idle", timeout=1.0)
        print("idle %.2f s after ActiveChanged(true)" % took)
        self.emit_active("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", False)
        self.wait_presence("online", timeout=1.0)

    def test_gnome_screensaver_other_sender_ignored(self):
        # gnome-shell itself sends a copy of each ActiveChanged from its own
        # name; only the org.gnome.ScreenSaver owner's signal counts.
        self.start_screensaver("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver")
        self.start_mock(self.bus, ["org.gnome.Shell", "/org/gnome/ScreenSaver",
                                   "org.gnome.ScreenSaver"], "org.gnome.Shell")
        self.start_agent_here()
        self.wait_presence("online")
        self.bus.call_sync("org.gnome.Shell", "/org/gnome/ScreenSaver", MOCK_IFACE, "EmitSignal",
                           GLib.Variant("(sssav)", ("org.gnome.ScreenSaver", "ActiveChanged", "b",
                                                    [GLib.Variant("b", True)])),
                           None, Gio.DBusCallFlags.NONE, 5000, None)
        # A marker through the same bus: handled after the signal above.
        self.call("SetBusy", "u", 0)
        self.wait_presence("busy", timeout=1.0)
        self.assertEqual(self.get("AutoState"), "online")
        self.emit_active("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", True)
        wait_until(lambda: self.get("AutoState") == "idle", timeout=1.0, message="locked")

    def test_gnome_screensaver_locked_at_start(self):
        self.start_screensaver("org.gnome.ScreenSaver", "/org/gnome/ScreenSaver", active=True)
        self.start_agent_here()
        self.wait_presence("idle", timeout=2.0)

    def test_kde_screensaver_and_logind_combined(self):
        self.start_logind()
        self.start_screensaver("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver")
        self.start_agent_here()
        self.wait_presence("online")
        self.emit_active("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", True)
        self.wait_presence("idle", timeout=1.0)
        # Locked while any source says so.
        self.logind(SESSION_PATH, LOGIND + ".Session", "SetLockedHint", "(b)", (True,))
        self.emit_active("org.freedesktop.ScreenSaver", "/org/freedesktop/ScreenSaver", False)
        self.logind(SESSION_PATH, LOGIND + ".Session", "Lock")
        self.call("SetBusy", "u", 0)
        self.call("SetAuto")
        self.wait_presence("idle", timeout=1.0)
        self.logind(SESSION_PATH, LOGIND + ".Session", "SetLockedHint", "(b)", (False,))
        self.wait_presence("online", timeout=1.0)

    # Do Not Disturb (follow-dnd, off by default)

    def use_keyfile_settings(self, text):
        directory = os.path.join(self.env["XDG_CONFIG_HOME"], "glib-2.0", "settings")
        os.makedirs(directory, exist_ok=True)
        with open(os.path.join(directory, "keyfile"), "w") as f:
            f.write(text)
        self.env["GSETTINGS_BACKEND"] = "keyfile"

    def test_kde_dnd_busy(self):
        self.use_keyfile_settings("[org/presence/Agent]\nfollow-dnd=true\n")
        name = "org.freedesktop.Notifications"
        path = "/org/freedesktop/Notifications"
        self.start_mock(self.bus, [name, path, name], name)
        props = (name, path, MOCK_IFACE)
        self.bus.call_sync(*props, "AddProperty",
                           GLib.Variant("(ssv)", (name, "Inhibited", GLib.Variant("b", False))),
                           None, Gio.DBusCallFlags.NONE, 5000, None)
        self.start_agent_here()
        self.wait_presence("online")
        self.bus.call_sync(*props, "UpdateProperties",
                           GLib.Variant("(sa{sv})", (name, {"Inhibited": GLib.Variant("b", True)})),
                           None, Gio.DBusCallFlags.NONE, 5000, None)
        self.wait_presence("busy", timeout=1.0)
        self.assertEqual(self.get("ManualState"), "")
        self.call("SetAppearOffline", "u", 0)
        self.wait_presence("appear_offline", timeout=1.0)
        self.call("SetAuto")
        self.wait_presence("busy", timeout=1.0)
        self.bus.call_sync(*props, "UpdateProperties",
                           GLib.Variant("(sa{sv})", (name, {"Inhibited": GLib.Variant("b", False)})),
                           None, Gio.DBusCallFlags.NONE, 5000, None)
        self.wait_presence("online", timeout=1.0)

    def test_dnd_ignored_by_default(self):
        self.use_keyfile_settings("[org/gnome/desktop/notifications]\nshow-banners=false\n")
        self.start_agent_here()
        self.wait_presence("online")
        self.assertEqual(self.get("State"), "online")

    def test_gnome_dnd_busy(self):
        source = Gio.SettingsSchemaSource.get_default()
        if source is None or source.lookup("org.gnome.desktop.notifications", True) is None:
            self.skipTest("GNOME's notification settings schema is not installed "
                          "(gsettings-desktop-schemas)")
        self.use_keyfile_settings("[org/presence/Agent]\nfollow-dnd=true\n"
                                  "[org/gnome/desktop/notifications]\nshow-banners=false\n")
        self.start_agent_here()
        self.wait_presence("busy")


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
