#!/usr/bin/python3
"""bench/reconnect: how long agents stay stale after presence-server comes
back from an outage, for the built tree and an older one, side by side.

Builds REV (default: main) from git into a temporary directory, starts the
real presence-server --dev on a loopback port and N agents of each tree
(each with its own session bus and state), all against that one server.
Then, for each outage length, stops the server, waits the outage, starts it
again on the same port and times, per agent, from the server's "listening"
line to the first GET /v1/presence that shows the agent online again (the
restarted server is empty, so only a fresh heartbeat makes it online).
Both trees live through the same outages at the same moments.

    bench/reconnect.py [--builddir build] [--old main] [--agents 8]
                       [--outages 5,30,120] [--rounds 1]

Prints p50/p95/max per tree and outage. About 3 minutes with the defaults,
plus the old tree's build.
"""

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time


def percentile(sorted_values, fraction):
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_old(source_root, rev, workdir):
    src = os.path.join(workdir, "old-src")
    build = os.path.join(workdir, "old-build")
    os.makedirs(src)
    archive = subprocess.Popen(["git", "-C", source_root, "archive", rev], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", src], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        sys.exit("git archive %s failed" % rev)
    print("building %s in %s" % (rev, build), flush=True)
    subprocess.run(["meson", "setup", build, src, "-Dtests=false", "-Dtray=disabled",
                    "-Dredis=disabled"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["meson", "compile", "-C", build], check=True, stdout=subprocess.DEVNULL)
    return build


class Bed:
    def __init__(self, workdir):
        self.workdir = workdir
        self.groups = []
        self.port = free_port()
        self.server = None

    def spawn(self, argv, env, **kwargs):
        proc = subprocess.Popen(argv, env=env, start_new_session=True, **kwargs)
        self.groups.append(proc)
        return proc

    def start_server(self, server_binary):
        self.server = self.spawn([server_binary, "--listen", "127.0.0.1:%d" % self.port, "--dev",
                                  "--rate-limit", "1000", "--rate-burst", "1000"],
                                 dict(os.environ), stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, text=True)
        line = self.server.stdout.readline()
        if not line.startswith("listening on "):
            sys.exit("presence-server said %r" % line)
        return time.monotonic()

    def stop_server(self):
        os.killpg(self.server.pid, signal.SIGKILL)
        self.server.wait()
        self.server.stdout.close()

    def start_agent(self, builddir, name):
        home = os.path.join(self.workdir, name)
        env = dict(os.environ)
        env.update({
            "XDG_STATE_HOME": os.path.join(home, "state"),
            "XDG_CONFIG_HOME": os.path.join(home, "config"),
            "XDG_CACHE_HOME": os.path.join(home, "cache"),
            "XDG_RUNTIME_DIR": home,
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(builddir, "data"),
            "PRESENCE_TOKEN": name,
            "LC_ALL": "C.UTF-8",
        })
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(var, None)
        os.makedirs(home, mode=0o700)
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
        self.spawn([os.path.join(builddir, "src", "agent", "presence-agent"), "--server",
                    "http://127.0.0.1:%d" % self.port], env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)

    def presence(self, conn, names):
        conn.request("GET", "/v1/presence?ids=" + ",".join(names),
                     headers={"Authorization": "Bearer bench"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise OSError("HTTP %d" % response.status)
        return json.loads(body)

    def wait_online(self, names, since, deadline_s):
        """Seconds from SINCE until each name is online, polled every 10 ms."""
        found = {}
        conn = None
        while len(found) < len(names):
            if time.monotonic() - since > deadline_s:
                sys.exit("not online after %d s: %s" % (deadline_s, sorted(set(names) - set(found))))
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                states = self.presence(conn, names)
            except (OSError, http.client.HTTPException):
                conn = None
                time.sleep(0.01)
                continue
            now = time.monotonic()
            for name in names:
                if name not in found and states.get(name) == "online":
                    found[name] = now - since
            time.sleep(0.01)
        conn.close()
        return found

    def close(self):
        for proc in reversed(self.groups):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--builddir", default=os.path.join(here, "..", "build"))
    parser.add_argument("--old", default="main", help="git revision to compare with")
    parser.add_argument("--agents", type=int, default=8, help="agents per tree")
    parser.add_argument("--outages", default="5,30,120", help="outage lengths in seconds")
    parser.add_argument("--rounds", type=int, default=1, help="times each outage is repeated")
    args = parser.parse_args()
    builddir = os.path.abspath(args.builddir)
    outages = [float(x) for x in args.outages.split(",")]

    with tempfile.TemporaryDirectory(prefix="pres-reconnect-") as workdir:
        trees = {"old (%s)" % args.old: build_old(os.path.join(here, ".."), args.old, workdir),
                 "new": builddir}
        bed = Bed(workdir)
        try:
            server = os.path.join(builddir, "src", "server", "presence-server")
            started = bed.start_server(server)
            names = {}
            for label, tree in trees.items():
                prefix = "old" if label.startswith("old") else "new"
                names[label] = ["%s-%d" % (prefix, i) for i in range(args.agents)]
                for name in names[label]:
                    bed.start_agent(tree, name)
            everyone = [n for group in names.values() for n in group]
            bed.wait_online(everyone, started, 30)
            print("%d agents per tree online on port %d" % (args.agents, bed.port), flush=True)

            samples = {(label, outage): [] for label in trees for outage in outages}
            for _ in range(args.rounds):
                for outage in outages:
                    bed.stop_server()
                    time.sleep(outage)  # the outage itself, not a wait for anything
                    back = bed.start_server(server)
                    found = bed.wait_online(everyone, back, 180)
                    for label in trees:
                        samples[(label, outage)] += [found[n] for n in names[label]]
                    print("outage %.0f s done" % outage, flush=True)
        finally:
            bed.close()

    print("\nreconnect after the server is back (s), %d agents × %d round(s) per cell"
          % (args.agents, args.rounds))
    print("%-16s %8s %8s %8s %8s" % ("tree", "outage", "p50", "p95", "max"))
    for (label, outage), values in samples.items():
        values.sort()
        print("%-16s %7.0fs %8.2f %8.2f %8.2f" % (label, outage, percentile(values, 0.5),
                                                  percentile(values, 0.95), values[-1]))


if __name__ == "__main__":
    main()
