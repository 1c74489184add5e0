#!/usr/bin/python3
"""Idle detection of the built agent against real peers.

- GNOME: a real headless Mutter on the private session bus, with real input
  through a RemoteDesktop session (rd-input.py).
- logind: python-dbusmock's logind template on a private system bus, whose
  IdleHint the test sets.
- Nothing at all: no display, no Mutter, no logind.

The agent never sees the host's buses or display: DBUS_SYSTEM_BUS_ADDRESS
points at a socket that does not exist unless a case starts a system bus.
A peer that cannot run here skips its case (exit 77) with the reason.
Waits are on conditions with deadlines; only process groups this file
started are killed.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import unittest

from gi.repository import Gio, GLib

from testbed import AgentTestCase, Process, wait_until

SKIP = 77
PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
RD_INPUT = os.path.join(HERE, "rd-input.py")
MUTTER_NAME = "org.gnome.Mutter.IdleMonitor"
MUTTER_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
LOGIND = "org.freedesktop.login1"
SESSION_PATH = "/org/freedesktop/login1/session/c1"
TIMEOUT = 10  # IdleTimeout under test, seconds
SLACK = 1.0   # the acceptance tolerance


class PipedProcess(Process):
    """A child in its own process group that the test talks to on stdin."""

    def __init__(self, argv, env):
        self.argv = argv
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def skip(reason):
    """unittest would take SystemExit for an error: the reason travels as
    a SkipTest, and main() turns a skipped case into exit 77."""
    print("SKIP: " + reason, flush=True)
    raise unittest.SkipTest(reason)


class IdleTestCase(AgentTestCase):

    def setUp(self):
        super().setUp()
        for name in ("XDG_SESSION_TYPE", "XDG_SESSION_ID", "XDG_CURRENT_DESKTOP"):
            self.env.pop(name, None)
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = "unix:path=" + os.path.join(self.tmp.name,
                                                                          "no-system-bus")
        self.mutter = None
        self.input = None
        self.sysbus = None

    def tearDown(self):
        if self.input is not None:
            self.input.stdin.close()
        if self.sysbus is not None:
            self.sysbus.close_sync(None)
        super().tearDown()

    # Mutter

    def start_mutter(self):
        if shutil.which("mutter") is None:
            skip("mutter is not installed (apt-get install mutter)")
        # Its own runtime directory: the agent's tray must not become a
        # client of this compositor, or it would die with it.
        runtime = os.path.join(self.tmp.name, "mutter-runtime")
        os.makedirs(runtime, mode=0o700, exist_ok=True)
        env = dict(self.env, MUTTER_DEBUG_RESET_IDLETIME="1", XDG_RUNTIME_DIR=runtime)
        log = open(os.path.join(self.tmp.name, "mutter.log"), "a")
        self.mutter = Process(["mutter", "--headless", "--wayland", "--no-x11",
                               "--virtual-monitor", "1280x720"], env,
                              stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.processes.append(self.mutter)
        waited = subprocess.run(["gdbus", "wait", "--session", "--timeout", "30", MUTTER_NAME],
                                env=self.env, capture_output=True, text=True, timeout=40)
        if waited.returncode != 0:
            with open(os.path.join(self.tmp.name, "mutter.log")) as f:
                output = f.read()
            if self.mutter.proc.poll() is not None:
                skip("mutter cannot run headless here:\n" + output[-2000:])
            self.fail("Mutter's idle monitor never came on the bus:\n" + output[-2000:])

    def kill_mutter(self):
        self.mutter.signal(signal.SIGKILL)
        self.mutter.wait(timeout=10)
        self.input = None
        wait_until(lambda: self.owner(MUTTER_NAME) is None, message="Mutter gone from the bus")

    def start_input(self):
        """A helper that holds a RemoteDesktop session for as long as it runs."""
        helper = PipedProcess([PYTHON, RD_INPUT], self.env)
        self.processes.append(helper)
        self.assertEqual(helper.proc.stdout.readline().strip(), "ready",
                         "rd-input.py could not open a RemoteDesktop session")
        self.input = helper.proc

    def inject(self, what="motion"):
        """Injects input; returns the monotonic time it reached Mutter."""
        self.input.stdin.write(what + "\n")
        self.input.stdin.flush()
        reply = self.input.stdout.readline().split()
        self.assertEqual(reply[:1], ["ok"], "rd-input.py failed: %r" % reply)
        # The same CLOCK_MONOTONIC in both processes.
        return float(reply[1])

    def mutter_idle_ms(self):
        reply = self.bus.call_sync(MUTTER_NAME, MUTTER_PATH, MUTTER_NAME, "GetIdletime", None,
                                   GLib.VariantType("(t)"), Gio.DBusCallFlags.NONE, 5000, None)
        return reply.unpack()[0]

    # The bus

    def owner(self, name):
        try:
            reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetNameOwner",
                                       GLib.Variant("(s)", (name,)), None,
                                       Gio.DBusCallFlags.NONE, 5000, None)
            return reply.unpack()[0]
        except GLib.Error:
            return None

    def set_idle_timeout(self, seconds):
        self.bus.call_sync("org.presence.Agent", "/org/presence/Agent",
                           "org.freedesktop.DBus.Properties", "Set",
                           GLib.Variant("(ssv)", ("org.presence.Agent", "IdleTimeout",
                                                  GLib.Variant("u", seconds))),
                           None, Gio.DBusCallFlags.NONE, 5000, None)
        wait_until(lambda: self.get("IdleTimeout") == seconds, message="IdleTimeout set")

    def assert_stays(self, prop, value, seconds=1.5):
        """That nothing changes can only be watched for a while."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.assertEqual(self.get(prop), value)
            time.sleep(0.1)

    def wait_state(self, state, timeout, since=None):
        wait_until(lambda: self.get("State") == state, timeout=timeout,
                   message="State %s" % state)
        return time.monotonic() - since if since is not None else None

    # X11

    def start_xvfb(self):
        """A real X server; returns its DISPLAY."""
        if shutil.which("Xvfb") is None:
            skip("Xvfb is not installed (apt-get install xvfb)")
        read_end, write_end = os.pipe()
        # -noreset: otherwise the server, and its idle counter, reset
        # whenever its last client leaves.
        self.spawn(["Xvfb", "-displayfd", str(write_end), "-noreset", "-nolisten", "tcp"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, pass_fds=(write_end,))
        os.close(write_end)
        with os.fdopen(read_end) as f:
            number = f.readline().strip()
        self.assertTrue(number, "Xvfb announced no display")
        return ":" + number

    # logind

    def start_logind(self):
        try:
            import dbusmock  # noqa: F401  (only its presence matters)
        except ImportError as e:
            skip("python3-dbusmock is missing (%s); apt-get install python3-dbusmock" % e)
        socket = os.path.join(self.tmp.name, "system_bus_socket")
        address = "unix:path=" + socket
        self.spawn(["dbus-daemon", "--session", "--nofork", "--address=" + address],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(socket), message="the private system bus")
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        self.spawn([PYTHON, "-m", "dbusmock", "--system", "--template", "logind"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        waited = subprocess.run(["gdbus", "wait", "--system", "--timeout", "30", LOGIND],
                                env=self.env, capture_output=True, timeout=40)
        self.assertEqual(waited.returncode, 0, "the logind mock never came on the bus")
        self.sysbus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.sysbus.call_sync(LOGIND, "/org/freedesktop/login1", "org.freedesktop.DBus.Mock",
                              "AddSession", GLib.Variant("(ssusb)", ("c1", "seat0", os.getuid(),
                                                                     "tester", True)),
                              None, Gio.DBusCallFlags.NONE, 5000, None)
        self.env["XDG_SESSION_ID"] = "c1"

    def set_idle_hint(self, idle):
        props = {"IdleHint": GLib.Variant("b", idle),
                 "IdleSinceHintMonotonic": GLib.Variant("t", int(time.monotonic() * 1e6))}
        self.sysbus.call_sync(LOGIND, SESSION_PATH, "org.freedesktop.DBus.Mock",
                              "UpdateProperties",
                              GLib.Variant("(sa{sv})", ("org.freedesktop.login1.Session", props)),
                              None, Gio.DBusCallFlags.NONE, 5000, None)


class TestMutter(IdleTestCase):

    def setUp(self):
        super().setUp()
        self.start_mutter()

    def start_idle_agent(self):
        self.start_agent()
        wait_until(lambda: self.get("IdleSource") == "mutter", message="IdleSource mutter")
        self.set_idle_timeout(TIMEOUT)
        self.start_input()

    def assert_idle_at_timeout(self):
        injected = self.inject()
        self.assertEqual(self.get("State"), "online")
        elapsed = self.wait_state("idle", TIMEOUT + 5, since=injected)
        self.assertGreaterEqual(elapsed, TIMEOUT - SLACK)
        self.assertLessEqual(elapsed, TIMEOUT + SLACK)

    def assert_online_on_input(self):
        injected = self.inject()
        elapsed = self.wait_state("online", 5, since=injected)
        self.assertLessEqual(elapsed, SLACK)

    def test_idle_at_timeout(self):
        self.start_idle_agent()
        self.assert_idle_at_timeout()
        self.assertIn("idle source: mutter", self.call("Explain")[0])

    def test_input_goes_online(self):
        self.start_idle_agent()
        self.assert_idle_at_timeout()
        self.assert_online_on_input()
        # The user-active watch fires once: it is armed again for the next
        # idle period, and keys count as input too.
        self.assert_idle_at_timeout()
        injected = self.inject("key")
        self.assertLessEqual(self.wait_state("online", 5, since=injected), SLACK)

    def test_mutter_restart(self):
        self.start_idle_agent()
        self.assert_idle_at_timeout()
        self.kill_mutter()
        self.start_mutter()
        self.start_input()
        self.assertEqual(self.get("IdleSource"), "mutter")
        # A new Mutter starts with fresh idle time: the watches were added
        # again when it appeared.
        self.assert_online_on_input()
        self.assert_idle_at_timeout()
        self.assert_online_on_input()

    def test_idle_time_matches_mutter(self):
        self.start_idle_agent()
        self.inject()
        # Some idle time to compare, past a whole second.
        time.sleep(2.5)
        for _ in range(3):
            mutter_s = self.mutter_idle_ms() / 1000.0
            agent_s = self.call("GetIdleTime")[0]
            self.assertLessEqual(abs(agent_s - mutter_s), 1.0,
                                 "agent %d s, Mutter %.3f s" % (agent_s, mutter_s))
            time.sleep(0.7)

    def test_timeout_change_rearms(self):
        self.start_idle_agent()
        injected = self.inject()
        # Raised before the first threshold: no idle at 10 s, only at 14 s.
        self.set_idle_timeout(14)
        elapsed = self.wait_state("idle", 20, since=injected)
        self.assertGreaterEqual(elapsed, 14 - SLACK)
        self.assertLessEqual(elapsed, 14 + SLACK)


class TestChoice(IdleTestCase):

    def test_nothing_available(self):
        self.start_agent()
        wait_until(lambda: "idle source: none" in self.call("Explain")[0],
                   message="Explain names no idle source")
        self.assert_stays("IdleSource", "none")
        explain = self.call("Explain")[0]
        self.assertIn("no way to see input idleness", explain)
        self.assertIn("never becomes idle by itself", explain)
        with self.assertRaises(GLib.Error) as raised:
            self.call("GetIdleTime")
        self.assertIn("NotSupported", raised.exception.message)
        self.assertEqual(self.get("State"), "online")

    def test_x11_session(self):
        self.env["DISPLAY"] = self.start_xvfb()
        self.start_agent()
        wait_until(lambda: self.get("IdleSource") == "x11-sync", message="IdleSource x11-sync")

    def test_xwayland_is_not_x11(self):
        # An X server is there, but so is a Wayland session: its Xwayland
        # never sees the input that goes to Wayland clients.
        self.env["DISPLAY"] = self.start_xvfb()
        self.env["WAYLAND_DISPLAY"] = "wayland-none"
        for session_type in ("wayland", "x11", None):
            with self.subTest(XDG_SESSION_TYPE=session_type):
                if session_type is None:
                    self.env.pop("XDG_SESSION_TYPE", None)
                else:
                    self.env["XDG_SESSION_TYPE"] = session_type
                agent = self.start_agent()
                self.assert_stays("IdleSource", "none")
                agent.stop()
                wait_until(lambda: self.name_owner() is None, message="the agent gone")

    def test_mutter_appears_later(self):
        self.start_agent()
        wait_until(lambda: "idle source: none" in self.call("Explain")[0],
                   message="no idle source at first")
        self.start_mutter()
        wait_until(lambda: self.get("IdleSource") == "mutter", timeout=5,
                   message="IdleSource mutter once Mutter is up")
        self.assertIsInstance(self.call("GetIdleTime")[0], int)

    def test_logind_idle_hint(self):
        self.start_logind()
        self.start_agent()
        wait_until(lambda: self.get("IdleSource") == "logind", message="IdleSource logind")
        self.set_idle_timeout(TIMEOUT)
        self.set_idle_hint(True)
        started = time.monotonic()
        self.assertLessEqual(self.wait_state("idle", 5, since=started), SLACK)
        self.assertIn("idle source: logind; input idle (coarse", self.call("Explain")[0])
        time.sleep(1.2)
        self.assertGreaterEqual(self.call("GetIdleTime")[0], 1)
        self.set_idle_hint(False)
        started = time.monotonic()
        self.assertLessEqual(self.wait_state("online", 5, since=started), SLACK)
        self.assertEqual(self.call("GetIdleTime")[0], 0)

    def test_logind_session_of_our_pid(self):
        # Without XDG_SESSION_ID (the agent started by D-Bus activation or
        # systemd --user), the session is looked up by our PID.
        self.start_logind()
        del self.env["XDG_SESSION_ID"]
        self.sysbus.call_sync(LOGIND, "/org/freedesktop/login1", "org.freedesktop.DBus.Mock",
                              "AddMethod",
                              GLib.Variant("(sssss)", ("org.freedesktop.login1.Manager",
                                                       "GetSessionByPID", "u", "o",
                                                       "ret = '%s'" % SESSION_PATH)),
                              None, Gio.DBusCallFlags.NONE, 5000, None)
        self.start_agent()
        wait_until(lambda: self.get("IdleSource") == "logind", message="IdleSource logind")
        self.set_idle_hint(True)
        self.wait_state("idle", 5)

    def test_mutter_preferred_over_logind(self):
        self.start_logind()
        self.start_mutter()
        self.start_agent()
        wait_until(lambda: self.get("IdleSource") == "mutter", message="IdleSource mutter")
        # And it stays there: logind is only the last resort.
        self.assert_stays("IdleSource", "mutter")

    def test_logind_then_mutter(self):
        self.start_logind()
        self.start_agent()
        wait_until(lambda: self.get("IdleSource") == "logind", message="IdleSource logind")
        self.start_mutter()
        wait_until(lambda: self.get("IdleSource") == "mutter", timeout=5,
                   message="the choice moves to Mutter")


def main():
    result = unittest.main(argv=sys.argv, verbosity=2, exit=False).result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped and len(result.skipped) == result.testsRun:
        sys.exit(SKIP)


if __name__ == "__main__":
    main()
