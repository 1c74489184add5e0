#!/usr/bin/python3
"""Several destinations side by side: the built agent against real
presence-servers on loopback, one of them at times replaced by a port that
hangs or refuses.

The destinations come from a keyfile settings backend written before the
agent starts, as a user's dconf would hold them. Each case costs 3–25 s
(the black-holed one waits for the agent's 9 s request deadline, under
ASan on a loaded machine).
"""

import json
import os
import signal
import socket
import subprocess
import time
import unittest

from testbed import AGENT, AgentTestCase, wait_until
from test_transport_e2e import SERVER, BadServer, http_get

# The promise: a change reaches every working destination this soon, whatever
# the others do.
CHANGE_S = 1.0


def closed_port():
    """A loopback port nothing listens on: connecting is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


class DestinationsTestCase(AgentTestCase):

    def start_server(self):
        argv = [SERVER, "--listen", "127.0.0.1:0", "--dev", "--rate-limit", "1000",
                "--rate-burst", "1000"]
        server = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.proc.stdout.readline().strip()
        self.assertTrue(line.startswith("listening on "), "presence-server said %r" % line)
        return int(line.rstrip("/").rsplit(":", 1)[1])

    def use_destinations(self, *named):
        """NAMED: (name, url) pairs, of kind http, in this order."""
        listed = "[%s]" % ", ".join("'%s'" % name for name, _ in named)
        self.write_settings({"destinations": listed},
                            {name: {"kind": "'http'", "url": "'%s'" % url}
                             for name, url in named})

    def start(self):
        self.env["PRESENCE_TOKEN"] = "lena"
        self.log_path = os.path.join(self.tmp.name, "agent.log")
        log = open(self.log_path, "a")
        agent = self.spawn([AGENT, "-v"], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(lambda: self.get("Destinations") is not None, timeout=30,
                   message="the agent on the bus")
        return agent

    def destinations(self):
        return {d["Name"]: d for d in self.get("Destinations")}

    def wait_connection(self, name, connection, timeout=10):
        wait_until(lambda: self.destinations()[name]["Connection"] == connection,
                   timeout=timeout, message="%s %s" % (name, connection))

    def presence(self, port, participant="lena", token=None):
        status, body = http_get(port, "/v1/presence?ids=" + participant, token or participant)
        self.assertEqual(status, 200, body)
        return json.loads(body)[participant]

    def wait_everywhere(self, ports, state, timeout=CHANGE_S):
        """Every server in PORTS says STATE within TIMEOUT of now."""
        began = time.monotonic()
        wait_until(lambda: all(self.presence(port) == state for port in ports),
                   timeout=timeout, message="%s on %s" % (state, ports))
        return time.monotonic() - began

    def changes_reach(self, ports):
        """Busy, appear offline, then automatic again: each reaches every
        server in PORTS within CHANGE_S; returns the slowest."""
        slowest = 0.0
        for call, args, state in (("SetBusy", ("u", 0), "busy"),
                                  ("SetAppearOffline", ("u", 0), "appear_offline"),
                                  ("SetAuto", (), "online")):
            self.call(call, *args)
            slowest = max(slowest, self.wait_everywhere(ports, state))
        return slowest

    # The cases

    def test_upgrade_keeps_transport_and_server_url(self):
        # What the release before destinations wrote: no `destinations` key.
        port = self.start_server()
        url = "http://127.0.0.1:%d" % port
        self.write_settings({"transport": "'http'", "server-url": "'%s'" % url})
        self.start()
        self.wait_connection("default", "connected")
        self.assertEqual(list(self.destinations()), ["default"])
        default = self.destinations()["default"]
        self.assertEqual(default["Kind"], "http")
        self.assertEqual(default["Url"], url)
        self.assertEqual(default["LastError"], "")
        self.assertGreater(default["LastDelivered"], 0)
        self.assertEqual(default["KnownAs"], self.get("InstanceId"))
        # The properties of one destination describe it, as before.
        self.assertEqual(self.get("Server"), url)
        self.assertEqual(self.get("Connection"), "connected")
        self.wait_everywhere([port], "online", timeout=5)

    def test_two_servers_get_every_change(self):
        team, home = self.start_server(), self.start_server()
        self.use_destinations(("team", "http://127.0.0.1:%d" % team),
                              ("home", "http://127.0.0.1:%d" % home))
        self.start()
        self.wait_connection("team", "connected")
        self.wait_connection("home", "connected")
        self.assertEqual(list(self.destinations()), ["team", "home"])
        self.wait_everywhere([team, home], "online", timeout=5)
        print("slowest change: %.2f s" % self.changes_reach([team, home]))
        for destination in self.destinations().values():
            self.assertEqual(destination["LastError"], "")
            self.assertEqual(destination["KnownAs"], self.get("InstanceId"))
        # The first destination is what the old properties show.
        self.assertEqual(self.get("Server"), "http://127.0.0.1:%d" % team)

        listing = self.presencectl("destinations")
        self.assertEqual(listing.returncode, 0, listing.stderr)
        self.assertIn("team (http, http://127.0.0.1:%d)" % team, listing.stdout)
        self.assertIn("home (http, http://127.0.0.1:%d)" % home, listing.stdout)
        self.assertEqual(listing.stdout.count("Connection:     connected"), 2, listing.stdout)
        as_json = self.presencectl("destinations", "--json")
        self.assertEqual(as_json.returncode, 0, as_json.stderr)
        self.assertEqual([d["Name"] for d in json.loads(as_json.stdout)], ["team", "home"])

    def test_black_holed_destination_holds_up_no_other(self):
        # First in the list, so that it is also what Connection describes.
        hole = BadServer(garbage=False)
        self.addCleanup(hole.close)
        good = self.start_server()
        self.use_destinations(("hole", "http://127.0.0.1:%d" % hole.port),
                              ("good", "http://127.0.0.1:%d" % good))
        self.start()
        self.wait_connection("good", "connected")
        print("slowest change beside a black hole: %.2f s" % self.changes_reach([good]))
        # The hole is given up on after the request deadline (9 s), counted
        # from the agent's first request, on a loaded machine under ASan.
        wait_until(lambda: "did not answer" in self.destinations()["hole"]["LastError"],
                   timeout=9 + 15, message="the hole's error")
        hole_now = self.destinations()["hole"]
        self.assertEqual(hole_now["Connection"], "error")
        self.assertEqual(hole_now["LastDelivered"], 0)
        self.assertEqual(self.get("Connection"), "error")
        self.assertEqual(self.get("LastError"), hole_now["LastError"])
        # Still every change, in time, once the hole has failed too.
        print("slowest change after the hole failed: %.2f s" % self.changes_reach([good]))
        self.assertEqual(self.destinations()["good"]["Connection"], "connected")
        listing = self.presencectl("destinations")
        self.assertIn("did not answer", listing.stdout)
        explained = self.presencectl("explain").stdout
        self.assertIn("Destination hole (http): http://127.0.0.1:%d (error)" % hole.port, explained)
        self.assertIn("Destination good (http): http://127.0.0.1:%d (connected)" % good, explained)
        self.assertIn("did not answer", explained)

    def test_refusing_destination_holds_up_no_other(self):
        refused = closed_port()
        good = self.start_server()
        self.use_destinations(("good", "http://127.0.0.1:%d" % good),
                              ("gone", "http://127.0.0.1:%d" % refused))
        self.start()
        self.wait_connection("good", "connected")
        wait_until(lambda: self.destinations()["gone"]["LastError"] != "", timeout=10,
                   message="the refusing destination's error")
        self.assertEqual(self.destinations()["gone"]["Connection"], "error")
        print("the refusing one says: %s" % self.destinations()["gone"]["LastError"])
        print("slowest change: %.2f s" % self.changes_reach([good]))
        # The first destination is fine, and the old properties say so.
        self.assertEqual(self.get("Connection"), "connected")
        self.assertEqual(self.get("LastError"), "")

    def test_destinations_that_cannot_run_are_shown_with_why(self):
        good = self.start_server()
        self.write_settings(
            {"destinations": "['pigeon', 'good', 'no-url', 'good', 'bad/name']"},
            {"pigeon": {"kind": "'carrier-pigeon'", "url": "'http://127.0.0.1:1'"},
             "good": {"kind": "'http'", "url": "'http://127.0.0.1:%d'" % good},
             "no-url": {"kind": "'http'"}})
        self.start()
        self.wait_connection("good", "connected")
        listed = self.get("Destinations")
        self.assertEqual([d["Name"] for d in listed], ["pigeon", "good", "no-url", "bad/name"])
        shown = self.destinations()
        self.assertIn("Unknown transport “carrier-pigeon”", shown["pigeon"]["LastError"])
        self.assertIn("cannot name a destination", shown["bad/name"]["LastError"])
        self.assertEqual(shown["pigeon"]["Connection"], "error")
        self.assertNotEqual(shown["no-url"]["LastError"], "")
        self.assertEqual(shown["no-url"]["Connection"], "error")
        self.wait_everywhere([good], "online", timeout=5)
        self.call("SetBusy", "u", 0)
        self.wait_everywhere([good], "busy")
        with open(self.log_path) as f:
            self.assertIn("listed twice", f.read())

    def test_quit_leaves_every_destination(self):
        team, home = self.start_server(), self.start_server()
        self.use_destinations(("team", "http://127.0.0.1:%d" % team),
                              ("home", "http://127.0.0.1:%d" % home))
        agent = self.start()
        self.wait_everywhere([team, home], "online", timeout=10)
        agent.signal(signal.SIGTERM)
        try:
            self.wait_everywhere([team, home], "offline", timeout=1.0)
        finally:
            print({port: self.presence(port) for port in (team, home)})
            with open(self.log_path) as f:
                print(f.read()[-4000:])
        self.assertEqual(agent.wait(timeout=3), 0)


if __name__ == "__main__":
    unittest.main()
