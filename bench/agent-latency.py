#!/usr/bin/python3
"""bench/agent-latency: how long a D-Bus SetBusy/SetAuto takes to be visible
on presence-server, measured end to end over loopback.

Starts a private session bus, presence-server --dev on 127.0.0.1 port 0 and
the built presence-agent, then makes N changes (alternating busy and auto).
Each sample runs from just before the D-Bus call to the first
GET /v1/presence that shows the new state, polled over one keep-alive
connection. Changes are spaced by --gap (default 0.3 s) because the agent
merges changes that come within 250 ms of the previous one.

    bench/agent-latency.py [--builddir build] [--count 1000] [--gap 0.3] [--state-dir DIR]

The figures are split: the D-Bus call (which includes the agent saving the
manual state to disk) and the rest (transport + server).
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib


def percentile(sorted_values, fraction):
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


class Bed:
    def __init__(self, builddir, state_dir=None):
        self.tmp = tempfile.TemporaryDirectory(prefix="pres-bench-")
        self.children = []
        self.env = dict(os.environ)
        self.env.update({
            "XDG_STATE_HOME": state_dir or os.path.join(self.tmp.name, "state"),
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(builddir, "data"),
            "PRESENCE_TOKEN": "bench",
        })
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                         stdout=subprocess.PIPE, text=True)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        server = self.spawn([os.path.join(builddir, "src", "server", "presence-server"),
                             "--listen", "127.0.0.1:0", "--dev", "--rate-limit", "10000",
                             "--rate-burst", "10000"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.port = int(server.stdout.readline().strip().rstrip("/").rsplit(":", 1)[1])
        self.spawn([os.path.join(builddir, "src", "agent", "presence-agent"),
                    "--server", "http://127.0.0.1:%d" % self.port],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.bus = Gio.DBusConnection.new_for_address_sync(
            self.env["DBUS_SESSION_BUS_ADDRESS"],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)
        self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)

    def spawn(self, argv, **kwargs):
        child = subprocess.Popen(argv, env=self.env, start_new_session=True,
                                 stdin=subprocess.DEVNULL, **kwargs)
        self.children.append(child)
        return child

    def close(self):
        self.http.close()
        self.bus.close_sync(None)
        for child in reversed(self.children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                child.wait(timeout=10)
        self.tmp.cleanup()

    def call(self, method, params=None):
        self.bus.call_sync("org.presence.Agent", "/org/presence/Agent", "org.presence.Agent",
                           method, params, None, Gio.DBusCallFlags.NONE, 5000, None)

    def server_state(self):
        self.http.request("GET", "/v1/presence?ids=bench",
                          headers={"Authorization": "Bearer bench"})
        response = self.http.getresponse()
        return json.loads(response.read())["bench"]

    def wait_state(self, state, timeout=5.0):
        deadline = time.monotonic() + timeout
        while self.server_state() != state:
            if time.monotonic() > deadline:
                raise RuntimeError("the server never showed %s" % state)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builddir", default=os.environ.get("PRES_BUILDDIR", "build"))
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--gap", type=float, default=0.3)
    parser.add_argument("--state-dir", help="XDG_STATE_HOME for the agent (default: a temporary "
                        "directory under $TMPDIR)")
    args = parser.parse_args()

    bed = Bed(os.path.abspath(args.builddir), args.state_dir)
    try:
        bed.wait_state("online", timeout=10)
        # The gap is the agent's fixed coalescing window, not a guess; the
        # connect heartbeat counts as the first message in it.
        time.sleep(args.gap)
        total, call, after = [], [], []
        for i in range(args.count):
            busy = i % 2 == 0
            next_change = time.monotonic() + args.gap
            start = time.perf_counter()
            if busy:
                bed.call("SetBusy", GLib.Variant("(u)", (0,)))
            else:
                bed.call("SetAuto")
            returned = time.perf_counter()
            bed.wait_state("busy" if busy else "online")
            end = time.perf_counter()
            total.append((end - start) * 1000)
            call.append((returned - start) * 1000)
            after.append((end - returned) * 1000)
            while time.monotonic() < next_change:
                time.sleep(next_change - time.monotonic())
        print("agent-latency: %d changes (busy/auto), D-Bus call → visible on presence-server"
              % args.count)
        for name, samples in (("end to end", total), ("D-Bus call", call),
                              ("call return → visible", after)):
            samples.sort()
            print("  %-22s p50 %7.2f ms  p99 %7.2f ms  max %7.2f ms"
                  % (name, percentile(samples, 0.50), percentile(samples, 0.99), samples[-1]))
    finally:
        bed.close()


if __name__ == "__main__":
    sys.exit(main())
