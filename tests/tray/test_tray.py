#!/usr/bin/python3
"""The built agent's tray icon as a tray host sees it: a StatusNotifierItem on
a private session bus, its menu over com.canonical.dbusmenu, under Xvfb.

Each test has its own bus, Xvfb, presence-server (dev mode, token "lena") and
state directory. The tray host is tests/tray/sni-watcher.py; notifications go
to python-dbusmock's notification daemon. Waits are on conditions with
deadlines; every process is killed by the process group this file started.
A missing peer makes the test exit 77 with the reason.
"""

import os
import re
import select
import shlex
import shutil
import subprocess
import sys
import time
import unittest

from gi.repository import Gio, GLib

from testbed import AGENT, BUILDDIR, AgentTestCase, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
WATCHER = os.path.join(HERE, "sni-watcher.py")
SERVER = os.path.join(BUILDDIR, "src", "server", "presence-server")
SOURCE_ICONS = os.path.join(HERE, "..", "..", "data", "icons", "hicolor", "scalable", "status")
ITEM_INTERFACE = "org.kde.StatusNotifierItem"
MENU_INTERFACE = "com.canonical.dbusmenu"
NOTIFICATIONS_PATH = "/org/freedesktop/Notifications"
ICON = "org.presence.Agent-"


class Missing(Exception):
    """A peer this test needs cannot run here."""


class TrayTestCase(AgentTestCase):

    def setUp(self):
        super().setUp()
        self.env["NO_AT_BRIDGE"] = "1"
        self.env["PRESENCE_TOKEN"] = "lena"
        self.server_url = self.start_server()

    # Peers

    def start_display(self):
        if shutil.which("Xvfb") is None:
            raise Missing("Xvfb is not installed (package xvfb)")
        read_fd, write_fd = os.pipe()
        self.spawn(["Xvfb", "-displayfd", str(write_fd), "-noreset", "-nolisten", "tcp",
                    "-screen", "0", "1024x768x24"],
                   pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        self.assertTrue(number, "Xvfb gave no display number")
        self.env["DISPLAY"] = ":" + number

    def start_server(self):
        if not os.path.exists(SERVER):
            self.fail("presence-server is not built at %s" % SERVER)
        server = self.spawn([SERVER, "--listen", "127.0.0.1:0", "--dev"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.proc.stdout.readline().strip()
        self.assertTrue(line.startswith("listening on "), "presence-server said %r" % line)
        return "http://127.0.0.1:%s" % line.rstrip("/").rsplit(":", 1)[1]

    def start_watcher(self, host=True):
        watcher = self.spawn(["/usr/bin/python3", WATCHER] + (["--host"] if host else []),
                             stdout=subprocess.PIPE, text=True)
        self.assertEqual(watcher.proc.stdout.readline().strip(), "ready")
        return watcher

    def start_notification_daemon(self):
        try:
            import dbusmock  # noqa: F401
        except ImportError:
            raise Missing("python3-dbusmock is not installed")
        self.spawn(["/usr/bin/python3", "-m", "dbusmock", "--session", "-t",
                    "notification_daemon"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.owner("org.freedesktop.Notifications"), timeout=15,
                   message="the notification daemon on the bus")

    def start_tray_agent(self):
        # A log file, not a pipe: nobody reads the debug output while it runs.
        self.agent_log = os.path.join(self.tmp.name, "agent.log")
        with open(self.agent_log, "w") as log:
            wrapper = shlex.split(os.environ.get("PRES_TEST_WRAPPER", ""))
            self.started = time.time()
            agent = self.spawn(wrapper + [AGENT, "-v", "--server", self.server_url], stdout=log,
                               stderr=subprocess.STDOUT)
        wait_until(lambda: agent.proc.poll() is None and self.get("State") not in (None, "offline"),
                   timeout=30, message="presence-agent on the bus")
        return agent

    def agent_output(self):
        with open(self.agent_log) as log:
            return log.read()

    # D-Bus

    def owner(self, name):
        try:
            reply = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "GetNameOwner",
                                       GLib.Variant("(s)", (name,)), None,
                                       Gio.DBusCallFlags.NONE, 5000, None)
            return reply.unpack()[0]
        except GLib.Error:
            return None

    def call_on(self, name, path, interface, method, params=None):
        reply = self.bus.call_sync(name, path, interface, method, params, None,
                                   Gio.DBusCallFlags.NO_AUTO_START, 10000, None)
        return reply.unpack()

    def items(self):
        try:
            (items,) = self.call_on("org.kde.StatusNotifierWatcher", "/StatusNotifierWatcher",
                                    "org.freedesktop.DBus.Properties", "Get",
                                    GLib.Variant("(ss)", ("org.kde.StatusNotifierWatcher",
                                                          "RegisteredStatusNotifierItems")))
            return items
        except GLib.Error:
            return []

    def wait_for_item(self, timeout=20):
        (item,) = wait_until(self.items, timeout=timeout, message="the item registered")
        name, _, path = item.partition("/")
        self.item = (name, "/" + path)
        return self.item

    def item_property(self, prop):
        name, path = self.item
        (value,) = self.call_on(name, path, "org.freedesktop.DBus.Properties", "Get",
                                GLib.Variant("(ss)", (ITEM_INTERFACE, prop)))
        return value

    def layout(self):
        name, _ = self.item
        _, root = self.call_on(name, self.item_property("Menu"), MENU_INTERFACE, "GetLayout",
                               GLib.Variant("(iias)", (0, -1, [])))
        return root

    def find(self, *labels):
        """The (id, properties) of the entry at this path of labels."""
        node = self.layout()
        for label in labels:
            children = [child for child in node[2] if child[1].get("label") == label]
            self.assertEqual(len(children), 1, "one entry “%s” in %r" % (label, node))
            node = children[0]
        return node[0], node[1]

    def click(self, *labels):
        """Clicks the entry; the layout may change between reading it and the
        click (a status line updated), which makes the id stale: read again."""
        def clicked():
            entry_id, _ = self.find(*labels)
            name, _ = self.item
            try:
                self.call_on(name, self.item_property("Menu"), MENU_INTERFACE, "Event",
                             GLib.Variant("(isvu)", (entry_id, "clicked", GLib.Variant("i", 0),
                                                     0)))
            except GLib.Error as error:
                if "does not refer to a menu item" in error.message:
                    return False
                raise
            return True
        wait_until(clicked, message="a click on %s" % " → ".join(labels))

    def notifications(self):
        (calls,) = self.call_on("org.freedesktop.Notifications", NOTIFICATIONS_PATH,
                                "org.freedesktop.DBus.Mock", "GetCalls")
        return [args for _, method, args in calls if method == "Notify"]


class TestTray(TrayTestCase):

    def test_item_registers(self):
        self.start_display()
        self.start_watcher()
        self.start_tray_agent()
        self.wait_for_item()
        wait_until(lambda: self.item_property("IconName") == ICON + "online",
                   message="the online icon once connected")
        self.assertEqual(self.item_property("Id"), "org.presence.Agent")
        self.assertEqual(self.item_property("Status"), "Active")
        # Since the agent started: its minute, or the next if one began meanwhile.
        since = self.item_property("IconAccessibleDesc")
        self.assertIn(since, {time.strftime("Online since %H:%M", time.localtime(t))
                              for t in (self.started, time.time())})
        self.assertEqual(self.item_property("Title"), "Presence: " + since)
        # Run from the build tree, the icons come from the source tree.
        theme_path = self.item_property("IconThemePath")
        self.assertEqual(os.path.realpath(theme_path), os.path.realpath(SOURCE_ICONS))
        for state in ("online", "idle", "busy", "appear-offline", "offline", "disconnected"):
            self.assertTrue(os.path.exists(os.path.join(theme_path, ICON + state + ".svg")))

    def test_menu_layout(self):
        self.start_display()
        self.start_watcher()
        self.start_tray_agent()
        self.wait_for_item()
        top_labels = lambda: [child[1].get("label") for child in self.layout()[2]]  # noqa: E731
        wait_until(lambda: "Connected to 127.0.0.1" in top_labels(), message="the connection line")
        self.assertIs(self.find("Connected to 127.0.0.1")[1].get("enabled"), False)
        root = self.layout()
        labels = [child[1].get("label") for child in root[2]
                  if child[1].get("type") != "separator"]
        # Xvfb is no X11 session: which idle source works depends on the machine.
        no_idle = (["Auto-idle unavailable on this desktop"]
                   if self.get("IdleSource") == "none" else [])
        self.assertRegex(labels[0], r"^Online since \d\d:\d\d$")
        self.assertEqual(labels[1:], ["Connected to 127.0.0.1"] + no_idle
                         + ["Automatic", "Busy", "Appear offline", "Busy for…",
                            "Appear offline for…", "Reconnect", "Quit"])
        durations = ["30 minutes", "1 hour", "2 hours", "Until tomorrow 09:00",
                     "Until I change it"]
        for submenu in ("Busy for…", "Appear offline for…"):
            _, props = self.find(submenu)
            self.assertEqual(props.get("children-display"), "submenu")
            node = [c for c in self.layout()[2] if c[1].get("label") == submenu][0]
            self.assertEqual([c[1].get("label") for c in node[2]], durations)
        # Choices are radio items, the rest plain entries (no check boxes).
        for label, state in (("Automatic", 1), ("Busy", 0), ("Appear offline", 0)):
            _, props = self.find(label)
            self.assertEqual(props.get("toggle-type"), "radio", label)
            self.assertEqual(props.get("toggle-state"), state, label)
        for label in (labels[0], "Busy for…", "Reconnect", "Quit"):
            self.assertNotIn("toggle-type", self.find(label)[1], label)
        self.assertEqual(len([c for c in root[2] if c[1].get("type") == "separator"]), 2)

    def test_busy_for_an_hour(self):
        self.start_display()
        self.start_watcher()
        self.start_tray_agent()
        self.wait_for_item()
        started = time.time()
        self.click("Busy for…", "1 hour")
        wait_until(lambda: self.get("State") == "busy", message="State busy")
        until = self.get("ManualUntil")
        self.assertGreaterEqual(until, int(started) + 3600 - 1)
        self.assertLessEqual(until, int(time.time()) + 3600 + 1)
        wait_until(lambda: self.item_property("IconName") == ICON + "busy", message="busy icon")
        expected = time.strftime("Busy until %H:%M", time.localtime(until))
        if time.localtime(until).tm_yday != time.localtime().tm_yday:
            expected = time.strftime("Busy until tomorrow %H:%M", time.localtime(until))
        wait_until(lambda: self.item_property("IconAccessibleDesc") == expected,
                   message="“%s” said in words" % expected)
        self.assertEqual(self.item_property("Title"), "Presence: " + expected)
        wait_until(lambda: self.find("Busy")[1].get("toggle-state") == 1,
                   message="the Busy radio item on")
        self.assertEqual(self.find("Automatic")[1].get("toggle-state"), 0)
        self.assertEqual(self.find(expected)[1].get("enabled"), False)

    def test_icon_follows_state(self):
        self.start_display()
        self.start_watcher()
        self.start_tray_agent()
        self.wait_for_item()
        wait_until(lambda: self.item_property("IconName") == ICON + "online",
                   message="online icon")
        for method, args, icon in (("SetAppearOffline", 0, "appear-offline"),
                                   ("SetBusy", 0, "busy"), ("SetAuto", None, "online")):
            if args is None:
                self.call(method)
            else:
                self.call(method, "u", args)
            wait_until(lambda: self.item_property("IconName") == ICON + icon,
                       message="the %s icon" % icon)
        self.click("Appear offline")
        wait_until(lambda: self.get("State") == "appear_offline", message="appear_offline")
        self.assertEqual(self.get("ManualUntil"), 0)
        self.click("Automatic")
        wait_until(lambda: self.get("State") == "online", message="online again")

    def test_quit_from_menu(self):
        self.start_display()
        self.start_watcher()
        agent = self.start_tray_agent()
        self.wait_for_item()
        self.click("Quit")
        self.assertEqual(agent.wait(timeout=15), 0)

    def read_line(self, process, timeout):
        """The next line process prints, waiting at most timeout seconds."""
        ready, _, _ = select.select([process.proc.stdout], [], [], timeout)
        self.assertTrue(ready, "nothing printed within %d s; the agent said:\n%s"
                        % (timeout, self.agent_output()))
        return process.proc.stdout.readline().strip()

    def test_watcher_appears_later(self):
        self.start_display()
        self.start_tray_agent()
        time.sleep(3)  # the scenario itself: a panel that starts 3 s after the agent
        self.assertEqual(self.items(), [])
        watcher = self.start_watcher()
        # Timed by the watcher itself, from owning its name to the item's
        # registration, so that this process's own pace does not count.
        line = self.read_line(watcher, timeout=10)
        word, _, delay = line.partition(" ")
        self.assertEqual(word, "registered", line)
        self.assertLess(float(delay), 1.0, "the agent said:\n" + self.agent_output())
        self.wait_for_item()
        # Past the grace, once the icon is seen there is nothing to advise.
        wait_until(lambda: self.get("TrayHint") == "", message="no TrayHint with a tray")

    def test_watcher_restarted(self):
        self.start_display()
        watcher = self.start_watcher()
        self.start_tray_agent()
        self.wait_for_item()
        watcher.stop()
        wait_until(lambda: self.owner("org.kde.StatusNotifierWatcher") is None,
                   message="the watcher gone")
        self.start_watcher()
        self.wait_for_item(timeout=5)
        self.assertEqual(self.item_property("Status"), "Active")

    def test_watcher_away_for_a_while(self):
        # Away longer than the indicator library's wait before its XEmbed
        # fallback (100 ms), whose code crashed the agent: the agent waits
        # for a watcher instead, answers on the bus, and registers again.
        self.start_display()
        watcher = self.start_watcher()
        agent = self.start_tray_agent()
        self.wait_for_item()
        watcher.stop()
        wait_until(lambda: "waiting for one, no XEmbed icon" in self.agent_output(), timeout=10,
                   message="the agent waiting for a watcher")
        self.call("SetBusy", "u", 60)
        wait_until(lambda: self.get("State") == "busy", message="busy over D-Bus")
        self.assertIsNone(agent.proc.poll())
        self.start_watcher()
        self.wait_for_item(timeout=5)
        self.assertEqual(self.item_property("Status"), "Active")

    def assert_one_notification(self):
        wait_until(self.notifications, timeout=15, message="a notification")
        # The agent keeps running and answers on the bus.
        self.call("SetBusy", "u", 60)
        wait_until(lambda: self.get("State") == "busy", message="busy over D-Bus")
        (args,) = self.notifications()
        app_name, replaces, icon, summary, body = args[:5]
        self.assertEqual(summary, "Presence is running without a tray icon")
        self.assertIn("presencectl busy", body)
        self.assertIn("presencectl auto", body)
        self.assertEqual(icon, "org.presence.Agent")
        return body

    def test_no_watcher_notifies_once(self):
        self.start_display()
        self.start_notification_daemon()
        self.start_tray_agent()
        self.assert_one_notification()

    def own_gnome_shell_name(self):
        """What the agent knows GNOME Shell by: its name on the session bus
        (the real shell with its tray is in test_gnome_shell.py)."""
        owner = self.spawn(["/usr/bin/python3", "-c", """
import sys
from gi.repository import Gio, GLib
loop = GLib.MainLoop()
Gio.bus_own_name(Gio.BusType.SESSION, "org.gnome.Shell", Gio.BusNameOwnerFlags.NONE, None,
                 lambda *a: print("ready", flush=True), lambda *a: sys.exit(1))
loop.run()
"""], stdout=subprocess.PIPE, text=True)
        self.assertEqual(owner.proc.stdout.readline().strip(), "ready")

    def data_dirs_with(self, extension=None):
        data = os.path.join(self.tmp.name, "share")
        os.makedirs(data, exist_ok=True)
        if extension is not None:
            directory = os.path.join(data, "gnome-shell", "extensions", extension)
            os.makedirs(directory)
            with open(os.path.join(directory, "metadata.json"), "w") as f:
                f.write('{"uuid": "%s"}\n' % extension)
        # Only these data dirs, so the machine's own extensions do not count;
        # GIO's GNOME proxy resolver would look for its schema there.
        self.env["XDG_DATA_DIRS"] = data
        self.env["XDG_DATA_HOME"] = os.path.join(self.tmp.name, "user-share")
        self.env["GIO_USE_PROXY_RESOLVER"] = "dummy"

    def assert_gnome_hint(self, *words):
        body = self.assert_one_notification()
        hint = self.get("TrayHint")
        for word in words:
            self.assertIn(word, body)
            self.assertIn(word, hint)
        self.assertIn("Tray: " + hint, self.call("Explain")[0])
        ctl = subprocess.run([os.path.join(BUILDDIR, "src", "ctl", "presencectl"), "status"],
                             env=self.env, capture_output=True, text=True, timeout=30)
        self.assertRegex(ctl.stdout, r"(?m)^Tray: +" + re.escape(hint) + "$")

    def test_gnome_shell_without_extension(self):
        self.start_display()
        self.start_notification_daemon()
        self.own_gnome_shell_name()
        self.data_dirs_with(None)
        self.start_tray_agent()
        self.assert_gnome_hint("GNOME Shell shows tray icons only with the AppIndicator extension",
                               "Debian package gnome-shell-extension-appindicator",
                               "gnome-extensions enable ubuntu-appindicators@ubuntu.com",
                               "gnome-extensions enable appindicatorsupport@rgcjonas.gmail.com")

    def test_gnome_shell_extension_not_enabled(self):
        self.start_display()
        self.start_notification_daemon()
        self.own_gnome_shell_name()
        self.data_dirs_with("ubuntu-appindicators@ubuntu.com")
        self.start_tray_agent()
        self.assert_gnome_hint("installed but not running",
                               "gnome-extensions enable ubuntu-appindicators@ubuntu.com")
        self.assertNotIn("Debian package", self.get("TrayHint"))

    def test_no_display_notifies_once(self):
        self.env.pop("DISPLAY", None)
        self.start_notification_daemon()
        agent = self.start_tray_agent()
        self.assert_one_notification()
        self.assertIn("no display", self.get("TrayHint"))
        agent.stop()
        log = self.agent_output()
        self.assertEqual(log.count("No display: running without a tray icon"), 1, log)
        self.assertNotIn("No tray icon", log)  # one line for the one fact

    def test_watcher_without_host_notifies(self):
        self.start_display()
        self.start_notification_daemon()
        self.start_watcher(host=False)
        self.start_tray_agent()
        self.wait_for_item()
        self.assert_one_notification()


def main():
    result = unittest.TextTestRunner(verbosity=2).run(
        unittest.defaultTestLoader.loadTestsFromName(sys.argv[1], sys.modules[__name__]))
    for _, reason in result.skipped:
        print("SKIP:", reason)
    sys.exit(77 if result.skipped else 0 if result.wasSuccessful() else 1)


def skip_missing(method):
    def wrapper(self):
        try:
            method(self)
        except Missing as missing:
            self.skipTest(str(missing))
    return wrapper


for _name in dir(TestTray):
    if _name.startswith("test_"):
        setattr(TestTray, _name, skip_missing(getattr(TestTray, _name)))

if __name__ == "__main__":
    main()
