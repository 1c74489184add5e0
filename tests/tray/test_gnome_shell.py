#!/usr/bin/python3
"""The agent's tray icon on the real GNOME Shell, headless, with Debian's
AppIndicator extension enabled: the extension's StatusNotifierWatcher must
list the agent's item and the item's menu must be exported.

gnome-shell 43 runs as tests/sensors-gnome runs Mutter (headless Wayland,
a virtual monitor) and needs logind on the system bus: python-dbusmock's
logind template on a private one. The extension is enabled the way a user's
settings would (org.gnome.shell enabled-extensions, in a keyfile of this
test's own). Without gnome-shell or the extension the test skips, naming the
Debian packages. Waits are on conditions with deadlines; every process runs
in its own process group and is killed by it.
"""

import os
import subprocess
import sys
import unittest

from gi.repository import Gio, GLib

from testbed import wait_until
from test_tray import ICON, Missing, TrayTestCase, skip_missing

PYTHON = "/usr/bin/python3"
LOGIND = "org.freedesktop.login1"
WATCHER = "org.kde.StatusNotifierWatcher"
# Debian 12's gnome-shell-extension-appindicator installs it under this UUID.
EXTENSION = "ubuntu-appindicators@ubuntu.com"
EXTENSION_DIRS = ["/usr/share/gnome-shell/extensions", "/usr/local/share/gnome-shell/extensions"]
WAYLAND_DISPLAY = "wayland-pres-tray"


class GnomeShellTray(TrayTestCase):

    def start_system_bus_with_logind(self):
        try:
            import dbusmock  # noqa: F401  (only its presence matters)
        except ImportError:
            raise Missing("python3-dbusmock is not installed")
        socket = os.path.join(self.tmp.name, "system_bus_socket")
        address = "unix:path=" + socket
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1",
                          "--address=" + address],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.assertTrue(bus.proc.stdout.readline().strip(), "the private system bus")
        self.env["DBUS_SYSTEM_BUS_ADDRESS"] = address
        self.spawn([PYTHON, "-m", "dbusmock", "--system", "--template", "logind"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        waited = subprocess.run(["gdbus", "wait", "--system", "--timeout", "30", LOGIND],
                                env=self.env, capture_output=True, timeout=40)
        self.assertEqual(waited.returncode, 0, "the logind mock never came on the bus")
        sysbus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        sysbus.call_sync(LOGIND, "/org/freedesktop/login1", "org.freedesktop.DBus.Mock",
                         "AddSession", GLib.Variant("(ssusb)", ("c1", "seat0", os.getuid(),
                                                                "tester", True)),
                         None, Gio.DBusCallFlags.NONE, 5000, None)
        sysbus.close_sync(None)

    def start_gnome_shell(self):
        if not os.path.exists("/usr/bin/gnome-shell"):
            raise Missing("gnome-shell is not installed (Debian package gnome-shell)")
        if not any(os.path.exists(os.path.join(d, EXTENSION, "metadata.json"))
                   for d in EXTENSION_DIRS):
            raise Missing("the AppIndicator extension is not installed (Debian package "
                          "gnome-shell-extension-appindicator)")
        self.start_system_bus_with_logind()
        config = os.path.join(self.tmp.name, "shell-config")
        os.makedirs(os.path.join(config, "glib-2.0", "settings"))
        with open(os.path.join(config, "glib-2.0", "settings", "keyfile"), "w") as f:
            f.write("[org/gnome/shell]\nenabled-extensions=['%s']\n"
                    "disable-user-extensions=false\n" % EXTENSION)
        runtime = os.path.join(self.tmp.name, "shell-runtime")
        os.makedirs(runtime, mode=0o700)
        env = dict(self.env, XDG_CONFIG_HOME=config, XDG_RUNTIME_DIR=runtime,
                   GSETTINGS_BACKEND="keyfile", XDG_SESSION_ID="c1",
                   XDG_CURRENT_DESKTOP="GNOME", HOME=self.tmp.name)
        env.pop("GSETTINGS_SCHEMA_DIR", None)
        env.pop("DISPLAY", None)
        self.shell_log = os.path.join(self.tmp.name, "gnome-shell.log")
        with open(self.shell_log, "w") as log:
            self.shell = self.spawn(["gnome-shell", "--headless", "--wayland", "--no-x11",
                                     "--virtual-monitor", "1280x720",
                                     "--wayland-display", WAYLAND_DISPLAY],
                                    env=env, stdout=log, stderr=subprocess.STDOUT)

        def host_ready():
            if self.shell.proc.poll() is not None:
                raise Missing("gnome-shell cannot run headless here:\n" + self.shell_output())
            try:
                (registered,) = self.call_on(WATCHER, "/StatusNotifierWatcher",
                                             "org.freedesktop.DBus.Properties", "Get",
                                             GLib.Variant("(ss)", (WATCHER,
                                                                   "IsStatusNotifierHostRegistered")))
                return registered
            except GLib.Error:
                return False
        wait_until(host_ready, timeout=60,
                   message="the extension's StatusNotifierWatcher with a host")
        # The agent's GTK draws on the shell's Wayland display.
        self.env["WAYLAND_DISPLAY"] = os.path.join(runtime, WAYLAND_DISPLAY)
        self.env["GDK_BACKEND"] = "wayland"
        self.env.pop("DISPLAY", None)

    def shell_output(self):
        with open(self.shell_log, errors="replace") as f:
            return f.read()[-4000:]

    def spawn(self, argv, env=None, **kwargs):
        if env is None:
            return super().spawn(argv, **kwargs)
        saved, self.env = self.env, env
        try:
            return super().spawn(argv, **kwargs)
        finally:
            self.env = saved

    def wait_for_item(self, timeout=20):
        # The extension lists items as "NAME@/PATH" where other watchers
        # write "NAME/PATH".
        (item,) = wait_until(self.items, timeout=timeout, message="the item registered")
        name, _, path = item.replace("@/", "/", 1).partition("/")
        self.item = (name, "/" + path)
        return self.item

    def test_item_on_gnome_shell(self):
        self.start_gnome_shell()
        (pid,) = self.call_on("org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                              GLib.Variant("(s)", (WATCHER,)))
        self.assertEqual(pid, self.shell.pid, "the watcher is gnome-shell's own")
        self.start_tray_agent()
        name, path = self.wait_for_item(timeout=30)
        self.assertEqual(name, self.owner("org.presence.Agent"), "the item is the agent's")
        wait_until(lambda: self.item_property("IconName") == ICON + "online",
                   message="the online icon")
        labels = lambda: [c[1].get("label") for c in self.layout()[2]]  # noqa: E731
        wait_until(lambda: "Automatic" in labels(), message="the menu exported")
        self.assertTrue(labels()[0].startswith("Online"), labels())
        self.assertIn("Tray icon created", self.agent_output())
        self.assertEqual(self.get("TrayHint"), "")


for _name in dir(GnomeShellTray):
    if _name.startswith("test_"):
        setattr(GnomeShellTray, _name, skip_missing(getattr(GnomeShellTray, _name)))


def main():
    result = unittest.TextTestRunner(verbosity=2).run(
        unittest.defaultTestLoader.loadTestsFromName(sys.argv[1], sys.modules[__name__]))
    for _, reason in result.skipped:
        print("SKIP:", reason)
    sys.exit(77 if result.skipped else 0 if result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
