#!/usr/bin/python3
"""A real tray host draws the agent's icon: waybar's tray in headless sway.

The agent, waybar and sway run as sway's user on one private session bus;
grim takes a screenshot of the bar, which stays in the meson log directory
(tray-waybar-*.png). The icon is found by its colour in the bar: the green
disc while online, the red busy disc after `presencectl busy`. A missing
peer makes the test exit 77 with the reason.
"""

import os
import shlex
import subprocess
import sys
import unittest

import gi

gi.require_version("GdkPixbuf", "2.0")
from gi.repository import GdkPixbuf, Gio  # noqa: E402

from display_testbed import (STARTUP, Skip, WaylandUser, need_program,  # noqa: E402
                             private_session_bus_config, start_sway)
from testbed import AGENT, BUILDDIR, PRESENCECTL, AgentTestCase, wait_until  # noqa: E402

SERVER = os.path.join(BUILDDIR, "src", "server", "presence-server")
LOG_DIR = os.path.join(BUILDDIR, "meson-logs")
BAR_HEIGHT = 32
ONLINE_GREEN = (0x2E, 0xC2, 0x7E)
BUSY_RED = (0xE0, 0x1B, 0x24)


def count_pixels(path, colour, height):
    """Pixels within a small distance of COLOUR in the top HEIGHT rows."""
    pixbuf = GdkPixbuf.Pixbuf.new_from_file(path)
    data = pixbuf.get_pixels()
    stride, channels = pixbuf.get_rowstride(), pixbuf.get_n_channels()
    found = 0
    for y in range(min(height, pixbuf.get_height())):
        row = y * stride
        for x in range(pixbuf.get_width()):
            r, g, b = data[row + x * channels:row + x * channels + 3]
            if abs(r - colour[0]) + abs(g - colour[1]) + abs(b - colour[2]) < 40:
                found += 1
    return found


class WaybarTest(AgentTestCase):

    def start_bus(self):
        # Root runs the test, sway's user the desktop: one bus for both.
        config = private_session_bus_config(self.tmp.name)
        bus = self.spawn(["dbus-daemon", "--config-file=" + config, "--nofork",
                          "--print-address=1"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.proc.stdout.readline().strip()
        self.bus = Gio.DBusConnection.new_for_address_sync(
            self.env["DBUS_SESSION_BUS_ADDRESS"],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)

    def setUp(self):
        super().setUp()
        try:
            for program in ("sway", "waybar", "grim"):
                need_program(program)
            self.user = WaylandUser()
            self.client_env = start_sway(
                self.spawn, self.user, self.tmp.name,
                ["output HEADLESS-1 resolution 640x200 bg #3d3846 solid_color",
                 "default_border none",
                 "exec " + self.write_bar_launcher()])
        except Skip as skip:
            self.skipTest(str(skip))
        self.client_env["DBUS_SESSION_BUS_ADDRESS"] = self.env["DBUS_SESSION_BUS_ADDRESS"]
        try:
            wait_until(lambda: self.owner("org.kde.StatusNotifierWatcher"), timeout=30,
                       message="waybar's StatusNotifierWatcher")
        except AssertionError:
            with open(os.path.join(self.tmp.name, "sway.log")) as log:
                print(log.read()[-3000:])
            raise
        self.start_agent_with_server()

    def write_bar_launcher(self):
        """A script that starts waybar on our bus (sway's config language
        would split the bus address at its commas)."""
        config = os.path.join(self.tmp.name, "waybar.json")
        style = os.path.join(self.tmp.name, "waybar.css")
        launcher = os.path.join(self.tmp.name, "waybar.sh")
        with open(config, "w") as f:
            f.write('{"layer": "top", "position": "top", "height": %d,'
                    ' "modules-right": ["tray"], "tray": {"icon-size": 22}}' % BAR_HEIGHT)
        with open(style, "w") as f:
            f.write("window#waybar { background: #241f31; }\n")
        with open(launcher, "w") as f:
            f.write("#!/bin/sh\nexport DBUS_SESSION_BUS_ADDRESS=%s\nexec waybar -c %s -s %s\n"
                    % (shlex.quote(self.env["DBUS_SESSION_BUS_ADDRESS"]), config, style))
        for path in (config, style):
            os.chmod(path, 0o644)
        os.chmod(launcher, 0o755)
        return launcher

    def owner(self, name):
        try:
            return self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "GetNameOwner",
                                      gi.repository.GLib.Variant("(s)", (name,)), None,
                                      Gio.DBusCallFlags.NONE, 2000, None).unpack()[0]
        except gi.repository.GLib.Error:
            return None

    def start_agent_with_server(self):
        port_file = os.path.join(self.tmp.name, "port")
        self.spawn([SERVER, "--dev", "--listen", "127.0.0.1:0", "--port-file", port_file],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(port_file) and open(port_file).read().strip(),
                   message="presence-server's port")
        port = open(port_file).read().strip()
        home = self.client_env["XDG_RUNTIME_DIR"]
        env = dict(self.client_env)
        env.update({
            "XDG_SESSION_TYPE": "wayland",
            "GDK_BACKEND": "wayland",
            "XDG_STATE_HOME": self.user.make_dir(home, "state"),
            "XDG_CONFIG_HOME": self.user.make_dir(home, "config"),
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(BUILDDIR, "data"),
            "PRESENCE_TOKEN": "lena",
            "LC_ALL": "C.UTF-8",
            "NO_AT_BRIDGE": "1",
        })
        wrapper = shlex.split(os.environ.get("PRES_TEST_WRAPPER", ""))
        self.agent = self.spawn(self.user.argv(env, wrapper + [
            AGENT, "-v", "--server", "http://127.0.0.1:%s" % port]),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.get("Connection") == "connected", timeout=STARTUP * 6,
                   message="the agent connected")

    def screenshot(self, name):
        # Written where sway's user may write, then kept in the log directory.
        path = os.path.join(self.client_env["XDG_RUNTIME_DIR"], name)
        subprocess.run(self.user.argv(self.client_env, ["grim", path]), check=True,
                       timeout=30, stdin=subprocess.DEVNULL)
        os.makedirs(LOG_DIR, exist_ok=True)
        kept = os.path.join(LOG_DIR, "tray-waybar-" + name)
        with open(path, "rb") as src, open(kept, "wb") as dst:
            dst.write(src.read())
        return kept

    def wait_for_colour(self, name, colour):
        def drawn():
            shot = self.screenshot(name)
            return count_pixels(shot, colour, BAR_HEIGHT) > 40 and shot
        return wait_until(drawn, timeout=STARTUP * 6,
                          message="the tray icon in %s drawn by waybar" % name)

    def test_icon_drawn_and_follows_state(self):
        shot = self.wait_for_colour("online.png", ONLINE_GREEN)
        self.assertLess(count_pixels(shot, BUSY_RED, BAR_HEIGHT), 10)

        result = self.run_tool([PRESENCECTL, "busy", "--for", "1h"])
        self.assertEqual(result.returncode, 0, result.stderr)
        shot = self.wait_for_colour("busy.png", BUSY_RED)
        self.assertLess(count_pixels(shot, ONLINE_GREEN, BAR_HEIGHT), 10)


if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:], sys.modules[__name__])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if result.skipped and len(result.skipped) == result.testsRun:
        for test, reason in result.skipped:
            print("SKIP %s: %s" % (test.id(), reason))
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
