#!/usr/bin/python3
"""Fault-matrix soak: N presence-agents against two presence-server nodes over
one redis-server, under a seeded schedule of faults, watched by an
independent observer. Prints a table of faults applied, invariant violations
and the worst time to converge per kind; exits 1 on any violation, 77 when a
peer it needs is not installed (the test suite's skip).

    bench/soak/run --minutes 30 --agents 10 [--seed N] [--builddir build]
"""

import argparse
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gi.repository import GLib  # noqa: E402

import bed  # noqa: E402
from faults import KINDS, Schedule  # noqa: E402
from observer import Observer  # noqa: E402

INVARIANTS = ["ghost", "stuck", "lost", "duplicate", "manual", "converge", "agent", "tray",
              "clock", "stream", "read"]


class Bed:
    """Every process of one soak run."""

    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        self.ttl = args.ttl
        self.interval = args.interval
        self.tray_registered = {}
        self.observer = None
        builddir = os.path.abspath(args.builddir)
        server = os.path.join(builddir, "src", "server", "presence-server")
        self.observer_token = "obs-" + secrets.token_hex(8)
        tokens = {"agent-%02d" % i: "tok-%02d-%s" % (i, secrets.token_hex(8))
                  for i in range(args.agents)}
        tokens_file = os.path.join(workdir, "tokens")
        with open(os.open(tokens_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write("%s observer\n" % self.observer_token)
            for participant, token in tokens.items():
                f.write("%s %s\n" % (token, participant))
        self.redis = bed.Redis(workdir)
        self.nodes = [bed.Node(server, workdir, name, self.redis, tokens_file, args.ttl,
                               args.interval) for name in ("node-a", "node-b")]
        self.agents = [bed.Agent(i, builddir, workdir, self.nodes[i % 2],
                                 tokens["agent-%02d" % i]) for i in range(args.agents)]
        self.uplinks = None

    def start(self):
        self.redis.start()
        for node in self.nodes:
            node.start()
        # One forwarder outside every namespace: agent i's uplink to its node.
        self.uplinks = bed.Child(
            [bed.PYTHON, bed.FORWARD] + ["unix:%s=tcp:127.0.0.1:%d" % (a.uplink, a.node.port)
                                         for a in self.agents],
            log=os.path.join(self.dir, "uplinks.log"))
        bed.wait_for(lambda: "ready" in open(os.path.join(self.dir, "uplinks.log")).read(),
                     10, "the uplink forwarder")
        for agent in self.agents:
            agent.start_buses()
            agent.start_logind()
            agent.start_namespace()
            agent.start_display()
        for agent in self.agents:
            bed.Control(agent).add_session()
            self.start_tray(agent)

    def start_tray(self, agent):
        child = agent.start_tray_host()

        def read():
            for line in child.proc.stdout:
                if line.startswith("registered"):
                    with self.observer.lock:
                        self.tray_registered[agent.participant] = time.monotonic()
                        self.observer.changed.notify_all()
        threading.Thread(target=read, daemon=True).start()

    def stop(self):
        for agent in self.agents:
            agent.stop()
        if self.uplinks is not None:
            self.uplinks.stop()
        for node in self.nodes:
            node.stop()
        self.redis.stop()


def missing_peers():
    needed = ["redis-server", "redis-cli", "dbus-daemon", "unshare", "nsenter", "ip", "Xvfb"]
    missing = [p for p in needed if shutil.which(p) is None]
    try:
        import dbusmock  # noqa: F401
    except ImportError:
        missing.append("python3-dbusmock")
    if bed.faketime_library() is None:
        missing.append("libfaketime")
    if os.geteuid() != 0:
        missing.append("root (network namespaces)")
    return missing


def worst(values):
    if not values:
        return "-"
    top = max(values)
    return "never" if top == float("inf") else "%.2f" % top


def report(schedule, observer, args, elapsed):
    by_kind = {}
    for v in observer.violations:
        by_kind[v["fault"]] = by_kind.get(v["fault"], 0) + 1
    lines = ["", "soak: %d agents, 2 nodes, 1 Redis, TTL %.1f s, interval %.1f s, seed %d, "
             "%.1f min" % (args.agents, args.ttl, args.interval, args.seed, elapsed / 60), ""]
    lines.append("| fault | applied | violations | worst converge (s) | median (s) |")
    lines.append("|---|---:|---:|---:|---:|")
    for kind in KINDS:
        values = sorted(schedule.converge[kind])
        median = "%.2f" % values[len(values) // 2] if values else "-"
        if median == "inf":
            median = "never"
        lines.append("| %s | %d | %d | %s | %s |" % (kind, schedule.applied[kind],
                                                     by_kind.get(kind, 0), worst(values), median))
    others = sum(n for k, n in by_kind.items() if k not in KINDS)
    lines.append("| (between faults, start-up) | - | %d | - | - |" % others)
    lines.append("")
    lines.append("| invariant | violations |")
    lines.append("|---|---:|")
    counts = {i: 0 for i in INVARIANTS}
    for v in observer.violations:
        counts[v["invariant"]] = counts.get(v["invariant"], 0) + 1
    for invariant, n in counts.items():
        lines.append("| %s | %d |" % (invariant, n))
    lines.append("")
    if observer.ghost_offline_s:
        lines.append("dead agents offline on the streams after %.2f s at worst (TTL %.1f s), "
                     "%d seen" % (max(observer.ghost_offline_s), args.ttl,
                                  len(observer.ghost_offline_s)))
    lines.append("observed: %s; manual states set: %d" % (
        ", ".join("%d %s" % (n, what) for what, n in observer.counts.items()),
        schedule.manual_set))
    lines.append("faults applied: %d; violations: %d" % (sum(schedule.applied.values()),
                                                         len(observer.violations)))
    print("\n".join(lines), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builddir", default="build")
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--ttl", type=float, default=4.0)
    parser.add_argument("--interval", type=float, default=1.5)
    parser.add_argument("--kinds", type=lambda text: text.split(","), default=None,
                        help="only these fault kinds, comma-separated (%s)" % ",".join(KINDS))
    parser.add_argument("--manual-grace", type=float, default=0.0, metavar="SECONDS",
                        help="between the reply to a manual change and an agent's kill -9 "
                        "(default 0)")
    parser.add_argument("--overlap", action="store_true",
                        help="outages (node, Redis, link) also meet a lock or a sleep of an agent")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--require-all-kinds", action="store_true",
                        help="fail unless every fault kind was applied at least once")
    args = parser.parse_args()
    unknown = set(args.kinds or []) - set(KINDS)
    if unknown:
        parser.error("unknown fault kinds: %s" % ", ".join(sorted(unknown)))
    if args.seed is None:
        args.seed = int.from_bytes(os.urandom(2), "big")
    missing = missing_peers()
    if missing:
        print("SKIP: the soak needs %s" % ", ".join(missing))
        return 77

    workdir = tempfile.mkdtemp(prefix="pres-soak-")
    print("soak: seed %d, work directory %s" % (args.seed, workdir), flush=True)
    started = time.monotonic()
    testbed = Bed(args, workdir)
    loop = GLib.MainLoop()
    status = 1
    try:
        testbed.start()
        observer = Observer(testbed.agents, testbed.nodes, args.ttl, args.interval,
                            testbed.observer_token, os.path.join(workdir, "trace.log"),
                            started)
        testbed.observer = observer
        for view in observer.agents.values():
            observer.attach_agent(view)
        for stream in observer.streams:
            observer.connect_stream(stream)
            threading.Thread(target=observer.batch_reader, args=(stream,), daemon=True).start()
        GLib.timeout_add(100, observer.tick)

        def log(text):
            observer.trace(text)
            print("%7.1f %s" % (time.monotonic() - started, text), flush=True)
        schedule = Schedule(testbed, observer, args.seed, args.minutes, log, args.kinds,
                            args.manual_grace, args.overlap)
        thread = threading.Thread(target=schedule.run, daemon=True)
        thread.start()
        GLib.timeout_add(200, lambda: (loop.quit() if schedule.done.is_set() else True))
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, lambda: loop.quit() or True)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM, lambda: loop.quit() or True)
        loop.run()
        with observer.lock:
            observer.stopping = True
            observer.judge_pending(float("inf"))
            observer.check_lost(time.monotonic())
        report(schedule, observer, args, time.monotonic() - started)
        if schedule.error is not None:
            print("soak: the schedule failed: %s" % schedule.error)
        elif args.require_all_kinds and not all(schedule.applied[k] for k in schedule.kinds):
            print("soak: not every fault kind was applied; give it more --minutes")
        else:
            status = 1 if observer.violations else 0
    finally:
        testbed.stop()
        if args.keep or status != 0:
            print("soak: logs kept in %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
