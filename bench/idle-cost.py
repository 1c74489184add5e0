#!/usr/bin/python3
"""bench/idle-cost: what watching idleness costs the agent while nobody types.

Starts a private session bus, a headless Mutter (the idle source), the real
presence-server (--dev, heartbeat interval 30 s) and the built
presence-agent, waits until the agent reports the user idle, then watches
it for the chosen duration with no input at all. Side by side, bench
idle-poll asks Mutter for the idle time every second, as polling clients do.

For each process: wakeups (voluntary + involuntary context switches, of the
main thread and of all threads), CPU time (scheduler run time of all
threads) per minute and as a share of one core, and wake episodes: the
half-second slots in which the process ran at all. One heartbeat costs a
burst of switches between the main loop and the D-Bus, resolver and HTTP
threads, so the agent's episodes, set against the heartbeats it sent (its
LastHeartbeat changes), show whether anything but heartbeats woke it. The
poller wakes every second.

    bench/idle-cost.py [--builddir build] [--minutes 10] [--seconds N]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from gi.repository import Gio, GLib

INTERVAL = 30
IDLE_TIMEOUT = 10


def read_status(pid):
    """Context switches of the main thread and of every live thread."""
    main = 0
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        switches = 0
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
        total += switches
        if int(tid) == pid:
            main = switches
    return main, total


def read_cpu_ns(pid):
    """CPU time of the whole process: threads gone are in utime+stime
    (ticks), live ones in schedstat (ns); the finer of the two is used
    when no thread has exited."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks_ns = (int(fields[11]) + int(fields[12])) * 1e9 / os.sysconf("SC_CLK_TCK")
    run_ns = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                run_ns += int(f.read().split()[0])
        except FileNotFoundError:
            pass
    return run_ns if run_ns > 0 else ticks_ns


SLOT = 0.5


class Episodes:
    """Counts the slots in which a process ran, from /proc alone: reading
    it wakes nobody."""

    def __init__(self, pid):
        self.pid = pid
        self.last = read_status(pid)[1]
        self.count = 0

    def slot(self):
        total = read_status(self.pid)[1]
        if total != self.last:
            self.count += 1
        self.last = total


class Sample:
    def __init__(self, pid):
        self.main, self.total = read_status(pid)
        self.cpu_ns = read_cpu_ns(pid)
        self.time = time.monotonic()


class Bed:
    def __init__(self, builddir):
        self.tmp = tempfile.TemporaryDirectory(prefix="pres-idle-cost-")
        self.children = []
        runtime = os.path.join(self.tmp.name, "runtime")
        os.makedirs(runtime, mode=0o700)
        self.env = dict(os.environ)
        for name in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE", "XDG_SESSION_ID"):
            self.env.pop(name, None)
        self.env.update({
            "XDG_STATE_HOME": os.path.join(self.tmp.name, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.tmp.name, "config"),
            "XDG_RUNTIME_DIR": runtime,
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(builddir, "data"),
            "PRESENCE_TOKEN": "bench",
            # No logind or other system services: only the idle source counts.
            "DBUS_SYSTEM_BUS_ADDRESS": "unix:path=" + os.path.join(self.tmp.name, "none"),
        })
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                         stdout=subprocess.PIPE, text=True)
        self.env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        self.bus = Gio.DBusConnection.new_for_address_sync(
            self.env["DBUS_SESSION_BUS_ADDRESS"],
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
            | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)

        # Its own runtime directory, so the agent's tray stays off its display.
        mutter_runtime = os.path.join(self.tmp.name, "mutter")
        os.makedirs(mutter_runtime, mode=0o700)
        self.spawn(["mutter", "--headless", "--wayland", "--no-x11", "--virtual-monitor",
                    "1280x720"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(self.env, XDG_RUNTIME_DIR=mutter_runtime))
        subprocess.run(["gdbus", "wait", "--session", "--timeout", "30",
                        "org.gnome.Mutter.IdleMonitor"], env=self.env, check=True)

        port_file = os.path.join(self.tmp.name, "port")
        self.spawn([os.path.join(builddir, "src", "server", "presence-server"), "--dev",
                    "--listen", "127.0.0.1:0", "--port-file", port_file,
                    "--interval", str(INTERVAL)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.wait(lambda: os.path.exists(port_file) and open(port_file).read().strip(),
                  "the server's port")
        port = int(open(port_file).read().strip())

        agent = os.path.join(builddir, "src", "agent", "presence-agent")
        help_text = subprocess.run([agent, "--help"], capture_output=True, text=True).stdout
        extra = ["--no-tray"] if "--no-tray" in help_text else []
        self.agent = self.spawn([agent, "--server", "http://127.0.0.1:%d" % port, *extra],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.poller = self.spawn([os.path.join(builddir, "bench", "idle-poll"), "1000"],
                                 stdout=subprocess.DEVNULL)

    def spawn(self, argv, env=None, **kwargs):
        child = subprocess.Popen(argv, env=env or self.env, start_new_session=True,
                                 stdin=subprocess.DEVNULL, **kwargs)
        self.children.append(child)
        return child

    def wait(self, condition, what, timeout=30):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                sys.exit("idle-cost: timed out waiting for %s" % what)
            time.sleep(0.1)

    def agent_call(self, iface, method, args):
        try:
            return self.bus.call_sync("org.presence.Agent", "/org/presence/Agent", iface, method,
                                      args, None, Gio.DBusCallFlags.NO_AUTO_START, 5000,
                                      None).unpack()
        except GLib.Error:
            return None

    def get(self, prop):
        reply = self.agent_call("org.freedesktop.DBus.Properties", "Get",
                                GLib.Variant("(ss)", ("org.presence.Agent", prop)))
        return reply[0] if reply else None

    def close(self):
        for child in reversed(self.children):
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
                try:
                    child.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(child.pid, signal.SIGKILL)
                    child.wait()
        self.tmp.cleanup()


def watch(bed, duration):
    """Waits DURATION, counting the agent's heartbeats and both processes'
    wake episodes."""
    heartbeats = []

    def on_changed(bus, sender, path, iface, signal, params):
        if "LastHeartbeat" in params.unpack()[1]:
            heartbeats.append(time.monotonic())

    subscription = bed.bus.signal_subscribe(None, "org.freedesktop.DBus.Properties",
                                            "PropertiesChanged", "/org/presence/Agent", None,
                                            Gio.DBusSignalFlags.NONE, on_changed)
    agent, poller = Episodes(bed.agent.pid), Episodes(bed.poller.pid)
    context = GLib.MainContext.default()
    end = time.monotonic() + duration
    next_slot = time.monotonic() + SLOT
    while time.monotonic() < end:
        while context.pending():
            context.iteration(False)
        if time.monotonic() >= next_slot:
            agent.slot()
            poller.slot()
            next_slot += SLOT
        time.sleep(0.05)
    bed.bus.signal_unsubscribe(subscription)
    return len(heartbeats), agent.count, poller.count


def report(name, before, after, episodes):
    seconds = after.time - before.time
    wakeups = after.total - before.total
    main = after.main - before.main
    cpu_s = (after.cpu_ns - before.cpu_ns) / 1e9
    print("%-18s %8d %12d %8.1f %9d %9.4f %9.4f %%" % (
        name, wakeups, main, wakeups * 60 / seconds, episodes, cpu_s, 100 * cpu_s / seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builddir", default="build")
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seconds", type=float, help="shorter runs: overrides --minutes")
    args = parser.parse_args()
    duration = args.seconds if args.seconds else args.minutes * 60
    if shutil.which("mutter") is None:
        sys.exit("idle-cost: needs mutter (apt-get install mutter)")
    builddir = os.path.abspath(args.builddir)

    bed = Bed(builddir)
    try:
        bed.wait(lambda: bed.get("IdleSource") == "mutter", "IdleSource mutter")
        bed.agent_call("org.freedesktop.DBus.Properties", "Set",
                       GLib.Variant("(ssv)", ("org.presence.Agent", "IdleTimeout",
                                              GLib.Variant("u", IDLE_TIMEOUT))))
        bed.wait(lambda: bed.get("State") == "idle", "State idle", timeout=IDLE_TIMEOUT + 30)
        # Let the heartbeat for the idle change go out before measuring.
        time.sleep(2)
        agent_before, poller_before = Sample(bed.agent.pid), Sample(bed.poller.pid)
        heartbeats, agent_slots, poller_slots = watch(bed, duration)
        agent_after, poller_after = Sample(bed.agent.pid), Sample(bed.poller.pid)
        state, source = bed.get("State"), bed.get("IdleSource")
    finally:
        bed.close()

    print("idle-cost: %.0f s with no input; agent State %s, IdleSource %s; heartbeat interval "
          "%d s; heartbeats acknowledged in the window: %d" % (duration, state, source, INTERVAL,
                                                               heartbeats))
    print("%-18s %8s %12s %8s %9s %9s %11s" % ("process", "wakeups", "(main thread)", "per min",
                                             "episodes", "CPU s", "CPU/core"))
    report("presence-agent", agent_before, agent_after, agent_slots)
    report("idle-poll (1 s)", poller_before, poller_after, poller_slots)
    print("episodes: %.1f s slots in which the process ran at all" % SLOT)


if __name__ == "__main__":
    main()
