#!/usr/bin/python3
"""`meson install` into a temporary DESTDIR: the installed files are exactly the
expected ones, and the installed D-Bus activation file starts the installed agent."""

import configparser
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from testbed import AgentTestCase, BUILDDIR, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DIRS = {key: os.environ["PRES_INSTALL_" + key.upper()] for key in (
    "bindir", "libexecdir", "sysconfdir", "datadir", "mandir", "localedir",
    "systemd_user_unit_dir", "systemd_system_unit_dir", "dbus_service_dir")}


def expected_files():
    with open(os.path.join(HERE, "expected-files.txt")) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            for key, value in DIRS.items():
                line = line.replace("@%s@" % key, value)
            yield os.path.normpath(line)


class TestInstall(AgentTestCase):

    def setUp(self):
        super().setUp()
        self.destdir = os.path.join(self.tmp.name, "destdir")
        result = subprocess.run(["meson", "install", "-C", BUILDDIR, "--no-rebuild",
                                 "--quiet", "--destdir", self.destdir],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)

    def installed_files(self):
        found = set()
        for root, _dirs, files in os.walk(self.destdir):
            for name in files:
                path = os.path.join(root, name)
                found.add("/" + os.path.relpath(path, self.destdir))
        return found

    def test_file_list(self):
        expected = set(expected_files())
        installed = self.installed_files()
        self.assertEqual(sorted(installed - expected), [], "installed but not expected")
        self.assertEqual(sorted(expected - installed), [], "expected but not installed")

    def test_not_running_hint(self):
        """An installed presencectl names the installed agent, never the build tree."""
        program = self.destdir + os.path.join(DIRS["bindir"], "presencectl")
        result = subprocess.run([program, "status"], env=self.env, capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(result.returncode, 1, result.stderr)
        self.assertIn(os.path.join(DIRS["libexecdir"], "presence-agent") + " &", result.stderr)
        self.assertIn("systemctl --user start presence-agent", result.stderr)
        self.assertNotIn(BUILDDIR, result.stderr)

    def test_dbus_activation(self):
        service_file = self.destdir + os.path.join(DIRS["dbus_service_dir"],
                                                   "org.presence.Agent.service")
        service = configparser.ConfigParser(interpolation=None)
        service.optionxform = str
        service.read(service_file)
        entry = service["D-BUS Service"]
        self.assertEqual(entry["Name"], "org.presence.Agent")
        self.assertEqual(entry["Exec"], os.path.join(DIRS["libexecdir"], "presence-agent"))
        self.assertEqual(entry["SystemdService"], "presence-agent.service")

        # The files sit under DESTDIR, not at their final paths: relocate
        # the Exec line the same way and give the bus that service directory.
        services = os.path.join(self.tmp.name, "services")
        os.makedirs(services)
        entry["Exec"] = self.destdir + entry["Exec"]
        with open(os.path.join(services, "org.presence.Agent.service"), "w") as f:
            service.write(f, space_around_delimiters=False)
        schemas = self.destdir + os.path.join(DIRS["datadir"], "glib-2.0", "schemas")
        subprocess.run(["glib-compile-schemas", schemas], check=True)
        config = os.path.join(self.tmp.name, "bus.conf")
        with open(config, "w") as f:
            f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=%s</listen>
  <servicedir>%s</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""" % (self.tmp.name, services))
        self.bus.close_sync(None)
        self.env["GSETTINGS_SCHEMA_DIR"] = schemas
        bus = self.spawn(["dbus-daemon", "--config-file=" + config, "--nofork",
                          "--print-address=1"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
        address = bus.proc.stdout.readline().strip()
        self.env["DBUS_SESSION_BUS_ADDRESS"] = address
        from gi.repository import Gio
        self.bus = Gio.DBusConnection.new_for_address_sync(
            address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

        self.assertIsNone(self.name_owner())
        # A plain call, auto-start allowed: the bus starts the installed agent.
        from gi.repository import GLib
        reply = self.bus.call_sync("org.presence.Agent", "/org/presence/Agent",
                                   "org.freedesktop.DBus.Properties", "Get",
                                   GLib.Variant("(ss)", ("org.presence.Agent", "Version")),
                                   None, Gio.DBusCallFlags.NONE, 30000, None)
        self.assertTrue(reply.unpack()[0])
        owner = self.name_owner()
        self.assertIsNotNone(owner)
        pid = self.bus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "GetConnectionUnixProcessID",
                                 GLib.Variant("(s)", (owner,)), None, Gio.DBusCallFlags.NONE,
                                 5000, None).unpack()[0]
        exe = os.readlink("/proc/%d/exe" % pid)
        self.assertEqual(exe, entry["Exec"])
        wait_until(lambda: self.get("State") == "online", message="activated agent online")
        os.kill(pid, 15)


if __name__ == "__main__":
    unittest.main(argv=sys.argv, verbosity=2)
