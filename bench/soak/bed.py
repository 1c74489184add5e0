"""The soak's test bed: one redis-server, two presence-server nodes over it, and
N agents, each with its own session bus, system bus (python-dbusmock's logind
template), tray host, XDG directories, token, network namespace and clock.

Every child runs in its own process group and is stopped by group; nothing is
ever killed by name.
"""

import os
import signal
import subprocess
import time

PYTHON = "/usr/bin/python3"
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
SNI_WATCHER = os.path.join(SOURCE_ROOT, "tests", "tray", "sni-watcher.py")
FORWARD = os.path.join(HERE, "forward.py")
FAKETIME_LIBS = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                 "/usr/lib/faketime/libfaketime.so.1"]

LOGIND = "org.freedesktop.login1"
SESSION_ID = "c1"
# The agent's address of its server, inside its own namespace.
AGENT_SIDE_PORT = 8787


class BedError(Exception):
    pass


def wait_for(predicate, timeout, what, interval=0.02):
    """Waits on a condition outside this process (a file, a child), with a deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise BedError("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def faketime_library():
    for path in FAKETIME_LIBS:
        if os.path.exists(path):
            return path
    return None


class Child:
    """A child in its own process group."""

    def __init__(self, argv, env=None, log=None, stdout=None, pass_fds=()):
        out = stdout
        self.log = None
        if log is not None:
            self.log = open(log, "a")
            out = self.log
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True,
                                     stdin=subprocess.DEVNULL, stdout=out,
                                     stderr=subprocess.STDOUT if self.log is not None
                                     else subprocess.DEVNULL if out is not None else None,
                                     text=True, pass_fds=pass_fds)

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def kill(self, signum=signal.SIGKILL):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signum)
            except ProcessLookupError:
                pass
        self.proc.wait()
        if self.log is not None:
            self.log.close()
            self.log = None

    def stop(self, timeout=10):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            except ProcessLookupError:
                pass
        self.kill()


class Redis:
    """A private redis-server on a Unix socket, restartable on the same path."""

    def __init__(self, workdir):
        self.dir = workdir
        self.socket = os.path.join(workdir, "redis.sock")
        self.address = "unix:" + self.socket
        self.child = None

    def start(self):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        self.child = Child(["redis-server", "--port", "0", "--unixsocket", self.socket,
                            "--save", "", "--appendonly", "no", "--dir", self.dir,
                            "--maxmemory-policy", "noeviction",
                            "--logfile", os.path.join(self.dir, "redis.log")])
        wait_for(lambda: self.cli("PING") == "PONG", 10, "redis-server to answer")

    def cli(self, *args):
        try:
            out = subprocess.run(["redis-cli", "-s", self.socket, *map(str, args)],
                                 capture_output=True, text=True, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    def kill(self):
        self.child.kill(signal.SIGKILL)

    def flushall(self):
        if self.cli("FLUSHALL") != "OK":
            raise BedError("FLUSHALL failed")

    def stop(self):
        if self.child is not None:
            self.child.stop()


class Node:
    """A presence-server node on a fixed loopback port once the first run chose it."""

    def __init__(self, binary, workdir, name, redis, tokens, ttl, interval):
        self.binary = binary
        self.name = name
        self.dir = workdir
        self.redis = redis
        self.tokens = tokens
        self.ttl = ttl
        self.interval = interval
        self.port = 0
        self.child = None

    def start(self):
        port_file = os.path.join(self.dir, "%s.port" % self.name)
        if os.path.exists(port_file):
            os.unlink(port_file)
        self.child = Child([self.binary, "--listen", "127.0.0.1:%d" % self.port,
                            "--tokens", self.tokens, "--store", self.redis.address,
                            "--ttl", str(self.ttl), "--interval", str(self.interval),
                            "--rate-limit", "1000", "--rate-burst", "1000",
                            "--port-file", port_file, "-v"],
                           log=os.path.join(self.dir, "%s.log" % self.name))

        def port_written():
            if not self.child.alive():
                raise BedError("presence-server %s exited with %s"
                               % (self.name, self.child.proc.returncode))
            try:
                with open(port_file) as f:
                    return int(f.read().strip() or 0)
            except (OSError, ValueError):
                return 0
        self.port = wait_for(port_written, 10, "presence-server %s's port" % self.name)

    def kill(self):
        self.child.kill(signal.SIGKILL)

    def stop(self):
        if self.child is not None:
            self.child.stop()


def bus_daemon(address_path, log):
    child = Child(["dbus-daemon", "--session", "--nofork", "--print-address=1",
                   "--address=unix:path=" + address_path], stdout=subprocess.PIPE)
    address = child.proc.stdout.readline().strip()
    child.proc.stdout.close()
    if not address:
        raise BedError("dbus-daemon printed no address")
    return child, address


class Agent:
    """One presence-agent and everything private to it."""

    def __init__(self, index, builddir, workdir, node, token):
        self.index = index
        self.participant = "agent-%02d" % index
        self.node = node
        self.dir = os.path.join(workdir, self.participant)
        os.makedirs(self.dir)
        self.binary = os.path.join(builddir, "src", "agent", "presence-agent")
        self.builddir = builddir
        self.token_file = os.path.join(self.dir, "token")
        with open(os.open(self.token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(token + "\n")
        self.uplink = os.path.join(self.dir, "uplink.sock")
        self.clock_file = os.path.join(self.dir, "clock-offset")
        self.clock_offset = 0
        self.set_clock_offset(0)
        self.children = {}
        self.session_address = None
        self.system_address = None
        self.display = None

    # The environment every process of this agent shares

    def env(self):
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DBUS_", "XDG_", "DISPLAY", "WAYLAND_", "LD_PRELOAD"))}
        env.update({
            "DBUS_SESSION_BUS_ADDRESS": self.session_address,
            "DBUS_SYSTEM_BUS_ADDRESS": self.system_address,
            "XDG_STATE_HOME": os.path.join(self.dir, "state"),
            "XDG_CONFIG_HOME": os.path.join(self.dir, "config"),
            "XDG_CACHE_HOME": os.path.join(self.dir, "cache"),
            "XDG_RUNTIME_DIR": self.dir,
            "XDG_SESSION_ID": SESSION_ID,
            "XDG_SESSION_TYPE": "tty",
            "DISPLAY": self.display,
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(self.builddir, "data"),
            "LC_ALL": "C.UTF-8",
            "NO_AT_BRIDGE": "1",
        })
        return {k: v for k, v in env.items() if v is not None}

    def set_clock_offset(self, seconds):
        """The agent's wall clock, through libfaketime: re-read once a second."""
        self.clock_offset = seconds
        tmp = self.clock_file + ".new"
        with open(tmp, "w") as f:
            f.write("%+d\n" % seconds)
        os.replace(tmp, self.clock_file)

    # Start-up

    def start_buses(self):
        self.children["session-bus"], self.session_address = bus_daemon(
            os.path.join(self.dir, "session.sock"), None)
        self.children["system-bus"], self.system_address = bus_daemon(
            os.path.join(self.dir, "system.sock"), None)

    def start_logind(self):
        self.children["logind"] = Child([PYTHON, "-m", "dbusmock", "--system", "--template",
                                         "logind"], env=self.env(),
                                        log=os.path.join(self.dir, "logind.log"))

    def start_tray_host(self):
        child = Child([PYTHON, SNI_WATCHER, "--host"], env=self.env(), stdout=subprocess.PIPE)
        self.children["tray"] = child
        return child

    def start_namespace(self):
        """A network namespace with only lo, a default route on it (so the agent's
        network monitor sees a network), and the forwarder to the uplink socket."""
        self.children["netns"] = Child(
            ["unshare", "--net", "--", "sh", "-c",
             "ip link set lo up && ip route add default dev lo && exec %s %s "
             "tcp:127.0.0.1:%d=unix:%s" % (PYTHON, FORWARD, AGENT_SIDE_PORT, self.uplink)],
            log=os.path.join(self.dir, "netns.log"))

        def ready():
            if not self.children["netns"].alive():
                raise BedError("%s: the network namespace's forwarder exited" % self.participant)
            with open(os.path.join(self.dir, "netns.log")) as f:
                return "ready" in f.read()
        wait_for(ready, 10, "%s's namespace" % self.participant)

    def start_display(self):
        """An X server for the tray icon (GTK needs a display), inside the
        namespace: the agent reaches it on its abstract socket there, which
        nothing outside can remove. The idle source stays logind's
        (XDG_SESSION_TYPE=tty)."""
        read_fd, write_fd = os.pipe()
        self.children["display"] = Child(
            self.in_namespace("Xvfb", "-displayfd", str(write_fd), "-noreset", "-nolisten",
                              "tcp", "-screen", "0", "320x240x24"),
            pass_fds=(write_fd,), log=os.path.join(self.dir, "xvfb.log"))
        os.close(write_fd)
        with os.fdopen(read_fd) as f:
            number = f.readline().strip()
        if not number:
            raise BedError("%s: Xvfb gave no display number" % self.participant)
        self.display = ":" + number

    def in_namespace(self, *argv):
        return ["nsenter", "--net=/proc/%d/ns/net" % self.children["netns"].pid, "--", *argv]

    def set_link(self, up):
        commands = [["ip", "link", "set", "lo", "up" if up else "down"]]
        if up:
            commands.append(["ip", "route", "replace", "default", "dev", "lo"])
        for command in commands:
            subprocess.run(self.in_namespace(*command), check=True, timeout=10)

    def start_agent(self):
        env = self.env()
        library = faketime_library()
        if library is not None:
            env.update({"LD_PRELOAD": library, "FAKETIME_TIMESTAMP_FILE": self.clock_file,
                        "FAKETIME_CACHE_DURATION": "1", "DONT_FAKE_MONOTONIC": "1"})
        self.children["agent"] = Child(
            self.in_namespace(self.binary, "-v", "--server",
                              "http://127.0.0.1:%d" % AGENT_SIDE_PORT,
                              "--token-file", self.token_file),
            env=env, log=os.path.join(self.dir, "agent.log"))
        return self.children["agent"]

    def kill_agent(self):
        self.children["agent"].kill(signal.SIGKILL)

    def agent_alive(self):
        child = self.children.get("agent")
        return child is not None and child.alive()

    def stop(self):
        for name in ("agent", "tray", "logind", "display", "netns", "system-bus",
                     "session-bus"):
            child = self.children.pop(name, None)
            if child is not None:
                child.stop()


# D-Bus calls the schedule makes (from its own thread, on its own connections)

def _connect(address):
    from gi.repository import Gio
    return Gio.DBusConnection.new_for_address_sync(
        address, Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT
        | Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, None, None)


class Control:
    """Calls on one agent's buses: its logind mock and the agent itself."""

    SESSION_PATH = "/org/freedesktop/login1/session/" + SESSION_ID
    MOCK = "org.freedesktop.DBus.Mock"

    def __init__(self, agent):
        self.agent = agent
        self.system = _connect(agent.system_address)
        self.session = _connect(agent.session_address)

    def _call(self, bus, name, path, iface, method, signature=None, args=(), timeout_ms=10000):
        from gi.repository import Gio, GLib
        params = GLib.Variant(signature, args) if signature else None
        return bus.call_sync(name, path, iface, method, params, None,
                             Gio.DBusCallFlags.NO_AUTO_START, timeout_ms, None).unpack()

    def has_owner(self, bus, name):
        return self._call(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "NameHasOwner", "(s)", (name,))[0]

    def add_session(self):
        wait_for(lambda: self.has_owner(self.system, LOGIND), 20,
                 "%s's logind mock" % self.agent.participant)
        self._call(self.system, LOGIND, "/org/freedesktop/login1", self.MOCK, "AddSession",
                   "(ssusb)", (SESSION_ID, "seat0", os.getuid(), "soak", True))

    def prepare_for_sleep(self, going_down):
        from gi.repository import GLib
        self._call(self.system, LOGIND, "/org/freedesktop/login1", self.MOCK, "EmitSignal",
                   "(sssav)", (LOGIND + ".Manager", "PrepareForSleep", "b",
                               [GLib.Variant("b", going_down)]))

    def lock(self, locked):
        self._call(self.system, LOGIND, self.SESSION_PATH, LOGIND + ".Session",
                   "Lock" if locked else "Unlock")

    def agent_call(self, method, signature=None, args=()):
        return self._call(self.session, "org.presence.Agent", "/org/presence/Agent",
                          "org.presence.Agent", method, signature, args)

    def agent_property(self, name):
        from gi.repository import GLib
        try:
            return self._call(self.session, "org.presence.Agent", "/org/presence/Agent",
                              "org.freedesktop.DBus.Properties", "Get", "(ss)",
                              ("org.presence.Agent", name), timeout_ms=5000)[0]
        except GLib.Error:
            return None

    def set_manual(self, manual):
        if manual == "busy":
            self.agent_call("SetBusy", "(u)", (0,))
        elif manual == "appear_offline":
            self.agent_call("SetAppearOffline", "(u)", (0,))
        else:
            self.agent_call("SetAuto")
