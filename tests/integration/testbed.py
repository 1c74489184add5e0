"""A private session bus and the built presence-agent on it, for integration tests.

Every process a test starts runs in its own process group and is killed by
group at the end; nothing is ever killed by name.
"""

import os
import shlex
import signal
import subprocess
import tempfile
import time
import unittest

from gi.repository import Gio, GLib

BUS_NAME = "org.presence.Agent"
OBJECT_PATH = "/org/presence/Agent"
INTERFACE = "org.presence.Agent"

BUILDDIR = os.environ.get("PRES_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", "..", "build"))
AGENT = os.path.join(BUILDDIR, "src", "agent", "presence-agent")
PRESENCECTL = os.path.join(BUILDDIR, "src", "ctl", "presencectl")


def wait_until(condition, timeout=10.0, message="condition"):
    """Waits for condition() to hold, checking as events come, with a deadline."""
    deadline = time.monotonic() + timeout
    context = GLib.MainContext.default()
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1f s waiting for %s" % (timeout, message))
        # Let D-Bus signals in; the short timeout bounds the wait for
        # conditions outside this process (a child's exit).
        context.iteration(False) or time.sleep(0.02)


class Process:
    """A child in its own process group."""

    def __init__(self, argv, env, **kwargs):
        self.argv = argv
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True,
                                     stdin=subprocess.DEVNULL, **kwargs)

    @property
    def pid(self):
        return self.proc.pid

    def signal(self, signum):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()


class AgentTestCase(unittest.TestCase):
    """Each test gets a fresh bus, state directory and settings."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pres-it-")
        self.state_home = os.path.join(self.tmp.name, "state")
        self.processes = []
        self.env = dict(os.environ)
        self.env.update({
            "XDG_STATE_HOME": self.state_home,
            "XDG_CONFIG_HOME": os.path.join(self.tmp.name, "config"),
            "XDG_RUNTIME_DIR": self.tmp.name,
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(BUILDDIR, "data"),
            "G_DEBUG": "fatal-criticals",
            "LC_ALL": "C.UTF-8",
        })
        self.env.pop("DISPLAY", None)
        self.env.pop("WAYLAND_DISPLAY", None)
        self.start_bus()

    def tearDown(self):
        if getattr(self, "bus", None) is not None:
            self.bus.close_sync(None)
        for process in reversed(self.processes):
            process.stop()
        self.tmp.cleanup()

    def spawn(self, argv, **kwargs):
        process = Process(argv, self.env, **kwargs)
        self.processes.append(process)
        return process

    def start_bus(self):
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = bus.proc.stdout.readline().strip()
        self.assertTrue(address, "dbus-daemon printed no address")
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        self.bus = Gio.DBusConnection.new_for_address_sync(
            address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)

    # The agent

    def start_agent(self, *args, wait=True):
        wrapper = shlex.split(os.environ.get("PRES_TEST_WRAPPER", ""))
        agent = self.spawn(wrapper + [AGENT, "-v", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if wait:
            self.wait_for_agent(agent)
        return agent

    def wait_for_agent(self, agent):
        def answering():
            if agent.proc.poll() is not None:
                raise AssertionError("presence-agent exited with %d:\n%s"
                                     % (agent.proc.returncode, agent.proc.stdout.read()))
            return self.name_owner() is not None and self.get("State") not in (None, "offline")
        wait_until(answering, timeout=30, message="presence-agent on the bus")

    def name_owner(self):
        try:
            reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetNameOwner",
                                       GLib.Variant("(s)", (BUS_NAME,)), None,
                                       Gio.DBusCallFlags.NONE, 5000, None)
            return reply.unpack()[0]
        except GLib.Error:
            return None

    def get(self, prop):
        try:
            reply = self.bus.call_sync(BUS_NAME, OBJECT_PATH, "org.freedesktop.DBus.Properties",
                                       "Get", GLib.Variant("(ss)", (INTERFACE, prop)), None,
                                       Gio.DBusCallFlags.NO_AUTO_START, 5000, None)
        except GLib.Error:
            return None
        return reply.unpack()[0]

    def call(self, method, signature=None, *args):
        params = GLib.Variant("(%s)" % signature, args) if signature else None
        reply = self.bus.call_sync(BUS_NAME, OBJECT_PATH, INTERFACE, method, params, None,
                                   Gio.DBusCallFlags.NO_AUTO_START, 10000, None)
        return reply.unpack()

    def write_settings(self, agent_keys, destinations=None):
        """A keyfile backend, as a user's dconf would hold the settings
        before the agent starts: AGENT_KEYS for org.presence.Agent,
        DESTINATIONS name → {key: value} for each destination's own."""
        settings = os.path.join(self.env["XDG_CONFIG_HOME"], "glib-2.0", "settings")
        os.makedirs(settings, exist_ok=True)
        with open(os.path.join(settings, "keyfile"), "w") as f:
            f.write("[org/presence/Agent]\n")
            for key, value in agent_keys.items():
                f.write("%s=%s\n" % (key, value))
            for name, keys in (destinations or {}).items():
                f.write("\n[org/presence/Agent/destinations/%s]\n" % name)
                for key, value in keys.items():
                    f.write("%s=%s\n" % (key, value))
        self.env["GSETTINGS_BACKEND"] = "keyfile"

    def state_file(self):
        return os.path.join(self.state_home, "presence-agent", "state")

    # Command-line tools on the test bus

    def run_tool(self, argv, timeout=30):
        return subprocess.run(argv, env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)

    def presencectl(self, *args):
        if not os.path.exists(PRESENCECTL):
            self.fail("presencectl is not built at %s" % PRESENCECTL)
        return self.run_tool([PRESENCECTL, *args])
