#!/usr/bin/python3
"""bench/destinations-idle: what a second destination costs while the user is away.

Two built agents side by side, each on its own session bus, both idle (the
IdleHint of python-dbusmock's logind, one private system bus): one sends to
presence-server alone, the other to the same presence-server and to a
Mosquitto broker (kind mqtt). Over the chosen minutes: each agent's wakeups
(context switches of its main thread, which every timer and socket of the
main loop wakes) and CPU time per minute, and the messages the broker
received from the second agent, as a rate per hour (paho subscribed to
everything; the keepalive pings are not messages).

    bench/destinations-idle.py [--builddir build] [--minutes 5]
"""

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import threading
import time

from gi.repository import Gio, GLib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "mqtt"))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

_spec = importlib.util.spec_from_file_location("idle_cost", os.path.join(HERE, "idle-cost.py"))
idle_cost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(idle_cost)

from mqtt_bed import Broker, Observer  # noqa: E402

INTERVAL = 30


class Spawner:
    def __init__(self):
        self.processes = []

    def __call__(self, argv, **kwargs):
        process = Process(argv, **kwargs)
        self.processes.append(process)
        return process

    def stop_all(self):
        for process in reversed(self.processes):
            process.stop()


class Process:
    def __init__(self, argv, env=None, **kwargs):
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True, **kwargs)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()


def bus(spawn, env):
    daemon = spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env=env,
                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return daemon.proc.stdout.readline().strip()


def connect(address):
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)


def get(connection, prop):
    try:
        return connection.call_sync("org.presence.Agent", "/org/presence/Agent",
                                    "org.freedesktop.DBus.Properties", "Get",
                                    GLib.Variant("(ss)", ("org.presence.Agent", prop)), None,
                                    Gio.DBusCallFlags.NONE, 5000, None).unpack()[0]
    except GLib.Error:
        return None


def wait(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--builddir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--minutes", type=float, default=5)
    args = parser.parse_args()
    agent = os.path.join(args.builddir, "src", "agent", "presence-agent")
    server = os.path.join(args.builddir, "src", "server", "presence-server")
    tmp = tempfile.TemporaryDirectory(prefix="pres-bench-dest-")
    spawn = Spawner()
    try:
        base = dict(os.environ, GSETTINGS_SCHEMA_DIR=os.path.join(args.builddir, "data"),
                    XDG_SESSION_ID="c1", PRESENCE_TOKEN="bench", LC_ALL="C.UTF-8")
        for key in ("DISPLAY", "WAYLAND_DISPLAY"):
            base.pop(key, None)
        system = bus(spawn, base)
        base["DBUS_SYSTEM_BUS_ADDRESS"] = system
        spawn([sys.executable, "-m", "dbusmock", "--system", "--template", "logind"], env=base,
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sysbus = connect(system)
        wait(lambda: sysbus.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                      "org.freedesktop.DBus", "NameHasOwner",
                                      GLib.Variant("(s)", ("org.freedesktop.login1",)), None,
                                      Gio.DBusCallFlags.NONE, 5000, None).unpack()[0],
             15, "the logind mock")
        mock = ("org.freedesktop.login1", "/org/freedesktop/login1", "org.freedesktop.DBus.Mock")
        sysbus.call_sync(*mock, "AddSession",
                         GLib.Variant("(ssusb)", ("c1", "seat0", os.getuid(), "tester", True)),
                         None, Gio.DBusCallFlags.NONE, 5000, None)
        sysbus.call_sync("org.freedesktop.login1", "/org/freedesktop/login1/session/c1",
                         "org.freedesktop.DBus.Mock", "UpdateProperties",
                         GLib.Variant("(sa{sv})", ("org.freedesktop.login1.Session",
                                                   {"IdleHint": GLib.Variant("b", True)})),
                         None, Gio.DBusCallFlags.NONE, 5000, None)

        srv = spawn([server, "--dev", "--listen", "127.0.0.1:0", "--interval", str(INTERVAL)],
                    env=base, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        server_url = srv.proc.stdout.readline().strip().split("listening on ", 1)[1].rstrip("/")
        broker = Broker(spawn, os.path.join(tmp.name, "broker"))
        observer = Observer(broker)

        agents = {}
        for name, destinations in (("one", {"team": ("http", server_url)}),
                                   ("two", {"team": ("http", server_url),
                                            "home": ("mqtt", broker.url())})):
            env = dict(base, XDG_CONFIG_HOME=os.path.join(tmp.name, name, "config"),
                       XDG_STATE_HOME=os.path.join(tmp.name, name, "state"),
                       XDG_RUNTIME_DIR=os.path.join(tmp.name, name), GSETTINGS_BACKEND="keyfile")
            settings = os.path.join(env["XDG_CONFIG_HOME"], "glib-2.0", "settings")
            os.makedirs(settings)
            with open(os.path.join(settings, "keyfile"), "w") as f:
                f.write("[org/presence/Agent]\ndestinations=[%s]\n"
                        % ", ".join("'%s'" % n for n in destinations))
                for dest, (kind, url) in destinations.items():
                    f.write("[org/presence/Agent/destinations/%s]\nkind='%s'\nurl='%s'\n"
                            % (dest, kind, url))
            env["DBUS_SESSION_BUS_ADDRESS"] = bus(spawn, env)
            process = spawn([agent, "--no-tray"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
            connection = connect(env["DBUS_SESSION_BUS_ADDRESS"])
            wait(lambda: get(connection, "State") == "idle"
                 and all(d["Connection"] == "connected"
                         for d in get(connection, "Destinations") or [{}]), 30,
                 "agent %s idle and connected" % name)
            agents[name] = process.proc.pid

        time.sleep(2)  # the start-up messages are not what is measured
        before = {name: (idle_cost.read_status(pid)[0], idle_cost.read_cpu_ns(pid))
                  for name, pid in agents.items()}
        start = time.monotonic()
        time.sleep(args.minutes * 60)
        minutes = (time.monotonic() - start) / 60
        after = {name: (idle_cost.read_status(pid)[0], idle_cost.read_cpu_ns(pid))
                 for name, pid in agents.items()}
        messages = [m for m in observer.since(start) if not m.topic.startswith("homeassistant/status")]
        observer.close()

        print("%.1f minutes idle, side by side:" % minutes)
        print("%-34s %14s %14s %10s" % ("agent", "main wakeups/min", "CPU ms/min", "CPU %"))
        for name, label in (("one", "presence-server"), ("two", "presence-server + MQTT")):
            wakeups = (after[name][0] - before[name][0]) / minutes
            cpu_ms = (after[name][1] - before[name][1]) / 1e6 / minutes
            print("%-34s %14.1f %14.2f %10.4f" % (label, wakeups, cpu_ms, cpu_ms / 600))
        print("messages to the broker while idle: %d in %.1f min = %.1f per hour"
              % (len(messages), minutes, len(messages) / minutes * 60))
    finally:
        spawn.stop_all()
        tmp.cleanup()


if __name__ == "__main__":
    main()
