"""The soak's faults and their seeded schedule.

One fault at a time: applied, held, recovered, and then the observer must
see every node agree with every agent again (the convergence time). Between
faults the schedule sets manual states, so that every fault meets agents
that are busy or appear offline. Each kind's recovery allowance is the
bound the agent and server document for it, not a measured figure:

  node-kill     the agent's back-off (1 s doubling, ±20 %): the retry due
                after an outage of D seconds comes at most 1.2 D after it
  redis-kill    Retry-After (5 s) + the node's reconnect back-off (≤ 5 s) +
                one heartbeat interval (an empty Redis is restored by it)
  redis-flush   one heartbeat interval (+20 % jitter)
  net-loss      as node-kill: the agent's back-off
"""

import random
import threading
import time

from bed import Control

KINDS = ["node-kill", "redis-kill", "redis-flush", "agent-kill", "net-loss", "suspend",
         "suspend-twice", "lock", "clock-jump", "tray-restart"]
MANUAL_STATES = ["busy", "appear_offline", ""]


class Schedule:
    def __init__(self, bed, observer, seed, minutes, log, kinds=None, manual_grace_s=0.0,
                 overlap=False):
        self.bed = bed
        self.observer = observer
        self.rng = random.Random(seed)
        self.deadline = time.monotonic() + minutes * 60
        self.log = log
        self.kinds = kinds or KINDS
        self.manual_grace_s = manual_grace_s
        self.overlap = overlap
        self.applied = {k: 0 for k in KINDS}
        self.converge = {k: [] for k in KINDS}
        self.controls = {}
        self.error = None
        self.after_convergence = None
        self.manual_set = 0
        self.done = threading.Event()

    # Helpers

    def control(self, agent):
        if agent.participant not in self.controls:
            self.controls[agent.participant] = Control(agent)
        return self.controls[agent.participant]

    def wait(self, predicate, timeout):
        """Waits on the observer's condition; True when predicate held in time."""
        deadline = time.monotonic() + timeout
        with self.observer.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.observer.changed.wait(min(remaining, 0.2))
        return True

    def some_agents(self, most=3):
        agents = list(self.bed.agents)
        return self.rng.sample(agents, self.rng.randint(1, min(most, len(agents))))

    def hold(self, low, high, changes=False, outage=False):
        """The fault's duration; with changes, manual states change halfway
        through, so that what recovery delivers must be the latest state.
        With --overlap an outage also meets a lock or a sleep of one agent,
        from a quarter to three quarters of it: a leave, a resume heartbeat,
        an idle heartbeat that cannot go out, or go out to a dead node."""
        seconds = self.rng.uniform(low, high)
        if not changes:
            time.sleep(seconds)
            return seconds
        session = None
        if outage and self.overlap:
            agent = self.rng.choice(self.bed.agents)
            session = (self.control(agent), self.rng.choice(["lock", "sleep"]))
        time.sleep(seconds / 4)
        if session is not None:
            self.session_fault(*session, True)
        time.sleep(seconds / 4)
        self.manual_changes()
        time.sleep(seconds / 4)
        if session is not None:
            self.session_fault(*session, False)
        time.sleep(seconds / 4)
        return seconds

    def session_fault(self, control, kind, start):
        if kind == "lock":
            control.lock(start)
        else:
            control.prepare_for_sleep(start)

    def start_agent(self, agent):
        view = self.observer.agents[agent.participant]
        agent.start_agent()
        if not self.wait(lambda: view.alive, 30):
            raise RuntimeError("%s did not come back on its bus" % agent.participant)

    def converge_after(self, kind, recovered, limit):
        ok = self.wait(lambda: self.observer.converged(recovered), limit)
        took = time.monotonic() - recovered
        if ok:
            self.converge[kind].append(took)
        else:
            self.observer.violation("converge", None, None,
                                    "no agreement %.0f s after %s" % (limit, kind), fault=kind)
            self.converge[kind].append(float("inf"))
        return took

    def set_manual(self, agent, manual):
        self.manual_set += 1
        self.observer.intend_manual(agent.participant, manual)
        try:
            self.control(agent).set_manual(manual)
        except Exception as e:  # a GLib.Error: the call must not fail
            self.observer.violation("manual", agent.participant, None,
                                    "setting %r failed: %s" % (manual, e))

    def manual_changes(self):
        for agent in self.some_agents(2):
            if self.observer.agents[agent.participant].alive:
                self.set_manual(agent, self.rng.choice(MANUAL_STATES))

    # The faults. Each returns the monotonic time of its recovery.

    def node_kill(self):
        node = self.rng.choice(self.bed.nodes)
        cut_off = [a.participant for a in self.bed.agents if a.node is node]
        windows = self.observer.open_window(cut_off, "node-kill")
        node.kill()
        down = self.hold(2, 5, changes=True, outage=True)
        node.start()
        recovered = time.monotonic()
        self.observer.close_window(windows, 1.2 * down + 1.0)
        return recovered

    def redis_kill(self):
        windows = self.observer.open_window(self.observer.ids, "redis-kill")
        self.bed.redis.kill()
        self.hold(2, 4, changes=True, outage=True)
        self.bed.redis.start()
        recovered = time.monotonic()
        self.observer.close_window(windows, 5.0 + 5.0 + 1.2 * self.bed.interval)
        return recovered

    def redis_flush(self):
        windows = self.observer.open_window(self.observer.ids, "redis-flush")
        self.bed.redis.flushall()
        recovered = time.monotonic()
        self.observer.close_window(windows, 1.2 * self.bed.interval + 0.5)
        return recovered

    def agent_kill(self):
        victims = self.some_agents(2)
        for agent in victims:
            view = self.observer.agents[agent.participant]
            with self.observer.lock:
                view.killing = True
            if self.rng.random() < 0.5:
                # A manual change the moment before the kill: its reply
                # means it is kept.
                self.set_manual(agent, self.rng.choice(MANUAL_STATES))
                time.sleep(self.manual_grace_s)
            agent.kill_agent()
        # Long enough for the ghost check to bite (TTL + 1 s) before the restart.
        time.sleep(self.bed.ttl + 2.0)
        for agent in victims:
            self.start_agent(agent)
        return time.monotonic()

    def net_loss(self):
        victims = self.some_agents(2)
        windows = self.observer.open_window([a.participant for a in victims], "net-loss")
        for agent in victims:
            agent.set_link(False)
        down = self.hold(3, 8, changes=True, outage=True)
        for agent in victims:
            agent.set_link(True)
        recovered = time.monotonic()
        self.observer.close_window(windows, 1.2 * down + 1.0)
        return recovered

    def suspend(self, twice=False):
        victims = self.some_agents(3)
        doubled = twice and self.rng.random() < 0.5
        cycles = 2 if twice and not doubled else 1
        for cycle in range(cycles):
            for agent in victims:
                for _ in range(2 if doubled else 1):
                    self.control(agent).prepare_for_sleep(True)
            self.hold(1.5, 3, changes=True) if cycle == cycles - 1 else time.sleep(0.3)
            for agent in victims:
                for _ in range(2 if doubled else 1):
                    self.control(agent).prepare_for_sleep(False)
            if cycle < cycles - 1:
                time.sleep(0.3)
        return time.monotonic()

    def lock(self):
        victims = self.some_agents(3)
        for agent in victims:
            self.control(agent).lock(True)
        self.hold(1, 3, changes=True)
        for agent in victims:
            self.control(agent).lock(False)
        return time.monotonic()

    def clock_jump(self):
        victims = self.some_agents(3)
        for agent in victims:
            target = self.rng.choice([3600, -3600]) if agent.clock_offset == 0 else 0
            agent.set_clock_offset(target)
        self.after_convergence = lambda: self.check_clocks(victims)
        return time.monotonic()

    def check_clocks(self, victims):
        """The agent's next heartbeat must carry the jumped clock; else the
        jump never reached it and the soak proves nothing about it."""
        time.sleep(1.3 * self.bed.interval + 1.5)
        for agent in victims:
            last = self.control(agent).agent_property("LastHeartbeat")
            if last is None or abs(last / 1000 - time.time() - agent.clock_offset) > 5:
                self.observer.violation("clock", agent.participant, None,
                                        "LastHeartbeat %r does not show the offset %+d s"
                                        % (last, agent.clock_offset), fault="clock-jump")

    def tray_restart(self):
        victims = self.some_agents(3)
        for agent in victims:
            agent.children["tray"].kill()
        time.sleep(self.rng.uniform(0.3, 1.5))
        restarted = time.monotonic()
        for agent in victims:
            self.bed.start_tray(agent)
        if not self.wait(lambda: all(self.bed.tray_registered.get(a.participant, 0) > restarted
                                     for a in victims), 10):
            self.observer.violation("tray", None, None,
                                    "an item not registered again within 10 s",
                                    fault="tray-restart")
        return restarted

    def apply(self, kind):
        with self.observer.lock:
            self.observer.current_fault = kind
        self.log("fault %s" % kind)
        if kind == "node-kill":
            recovered = self.node_kill()
        elif kind == "redis-kill":
            recovered = self.redis_kill()
        elif kind == "redis-flush":
            recovered = self.redis_flush()
        elif kind == "agent-kill":
            recovered = self.agent_kill()
        elif kind == "net-loss":
            recovered = self.net_loss()
        elif kind in ("suspend", "suspend-twice"):
            recovered = self.suspend(twice=kind == "suspend-twice")
        elif kind == "lock":
            recovered = self.lock()
        elif kind == "clock-jump":
            recovered = self.clock_jump()
        else:
            recovered = self.tray_restart()
        self.applied[kind] += 1
        limit = 3 * self.bed.ttl + 30
        took = self.converge_after(kind, recovered, limit)
        self.log("  converged in %.2f s" % took)
        if self.after_convergence is not None:
            self.after_convergence()
            self.after_convergence = None
        with self.observer.lock:
            self.observer.current_fault = "between faults"

    def run(self):
        try:
            with self.observer.lock:
                self.observer.current_fault = "start-up"
            for agent in self.bed.agents:
                self.start_agent(agent)
            self.converge_after_start()
            while time.monotonic() < self.deadline:
                kinds = list(self.kinds)
                self.rng.shuffle(kinds)
                for kind in kinds:
                    if time.monotonic() >= self.deadline:
                        break
                    self.manual_changes()
                    time.sleep(self.rng.uniform(0.3, 1.0))
                    self.apply(kind)
        except Exception as e:
            self.error = e
            import traceback
            traceback.print_exc()
        finally:
            self.done.set()

    def converge_after_start(self):
        started = time.monotonic()
        if not self.wait(lambda: self.observer.converged(started), 60):
            raise RuntimeError("the agents and nodes never agreed at start-up")
        self.log("start-up converged in %.2f s" % (time.monotonic() - started))
