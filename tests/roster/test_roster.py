#!/usr/bin/python3
"""The roster page in a real browser against real servers and agents.

Each case is its own meson test (suite 'roster'); all skip (exit 77) with
the reason when chromium, node or playwright-core is missing. The page is
read off its DOM: the words, marks and rows a user sees.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

from rosterbed import SKIP, Page, RosterTestCase, wait_for

TOKENS = """\
tok-lena lena
tok-bob bob
tok-ops ops admin
"""


def member_of(roster, participant):
    members = roster.get(participant, {}).get("members", [])
    return members[0] if len(members) == 1 else None


class RosterTest(RosterTestCase):

    def test_page_loads_clean(self):
        server = self.start_server()
        page = Page(self.browser, server.url)
        self.assertEqual(page.eval("() => document.querySelector('h1').textContent"),
                         "Presence roster")
        self.assertTrue(page.visible("#signin"), "no sign-in form")
        self.assertNoProblems(page)
        page.sign_in("lena")
        roster = page.wait(lambda r: r.get("lena", {}).get("state") == "offline", 10,
                           "lena offline, without devices")
        self.assertEqual(roster["lena"]["label"], "Offline")
        # The token is in this tab's sessionStorage, nowhere else.
        self.assertEqual(page.eval("() => sessionStorage.getItem('presence.token')"), "lena")
        self.assertEqual(page.eval("() => localStorage.length"), 0)
        self.assertNotIn("lena", page.eval("() => location.href"))
        self.assertEqual(page.eval("() => document.cookie"), "")
        # The stream answered: no banner; the structure a screen reader uses.
        self.assertFalse(page.visible("#banner"))
        self.assertEqual(page.eval("() => document.querySelectorAll('h2').length"), 2)
        self.assertEqual(page.eval("() => document.getElementById('live').getAttribute('aria-live')"),
                         "polite")
        self.assertNoProblems(page)

    def test_bad_token(self):
        server = self.start_server(tokens=TOKENS)
        page = Page(self.browser, server.url)
        page.sign_in("tok-nobody")
        message = wait_for(lambda: page.visible("#signin-error"), 10, "the sign-in error")
        self.assertIn("not accepted", message)
        self.assertIn("401", message)
        self.assertFalse(page.visible("#roster"), "the roster shows for a bad token")
        self.assertIsNone(page.eval("() => sessionStorage.getItem('presence.token')"))
        # The refused read is the only thing the browser complains about.
        problems = [p for p in page.problems() if "status of 401" not in p]
        self.assertEqual(problems, [])
        # A good token afterwards works in the same tab.
        page.sign_in("tok-lena")
        page.wait(lambda r: "lena" in r, 10, "lena's roster")

    def test_two_agents_with_devices(self):
        server = self.start_server(tokens=TOKENS)
        self.start_agent("lena", server, "tok-lena")
        self.start_agent("bob", server, "tok-bob")
        host = socket.gethostname()
        # An admin sees everyone's devices with their hosts.
        admin = self.open_page(server, "tok-ops")
        roster = admin.wait(lambda r: member_of(r, "lena") and member_of(r, "bob"), 10,
                            "both agents' devices")
        for name in ("lena", "bob"):
            self.assertEqual(roster[name]["state"], "online")
            self.assertEqual(member_of(roster, name)["label"], "Online")
            self.assertTrue(member_of(roster, name)["device"].startswith(host + " ("),
                            roster[name])
        # lena sees her own host; bob's device, which only bob and admins may
        # read the details of, by its instance id; at 200 % zoom (half the
        # width) nothing needs a horizontal scroll.
        lena = self.open_page(server, "tok-lena", viewport={"width": 640, "height": 900})
        self.browser.call("fill", page=lena.id, selector="#watch-id", value="bob")
        self.browser.call("press", page=lena.id, key="Enter")
        roster = lena.wait(lambda r: member_of(r, "lena") and member_of(r, "bob"), 10,
                           "lena's and bob's devices on lena's page")
        self.assertTrue(member_of(roster, "lena")["device"].startswith(host + " ("))
        bob = member_of(roster, "bob")
        self.assertEqual(bob["device"], bob["instance"])
        self.assertTrue(lena.eval("() => document.documentElement.scrollWidth"
                                  " <= document.documentElement.clientWidth"))
        self.assertNoProblems(admin)
        self.assertNoProblems(lena)

    def test_busy_within_a_second(self):
        server = self.start_server()
        agent = self.start_agent("lena", server)
        page = self.open_page(server, "bob")
        self.browser.call("fill", page=page.id, selector="#watch-id", value="lena")
        self.browser.call("press", page=page.id, key="Enter")
        page.wait(lambda r: r.get("lena", {}).get("state") == "online", 10, "lena online")
        self.presencectl(agent, "busy")
        began = time.monotonic()
        roster = page.wait(lambda r: r["lena"]["state"] == "busy", 5, "lena busy")
        took = time.monotonic() - began
        self.assertLess(took, 1.0, "busy showed after %.2f s" % took)
        self.assertEqual(roster["lena"]["label"], "Busy")
        self.assertEqual(member_of(roster, "lena")["state"], "busy")
        self.assertIn("busy", page.eval("() => document.getElementById('live').textContent"))
        print("busy on the page %.0f ms after presencectl returned" % (took * 1000))

    def test_kill_agent_stale_then_gone(self):
        ttl_s, interval_s = 8, 2
        server = self.start_server("--ttl", str(ttl_s), "--interval", str(interval_s))
        self.start_agent("bob", server)
        agent = self.start_agent("lena", server)
        page = self.open_page(server, "bob")
        self.browser.call("fill", page=page.id, selector="#watch-id", value="lena")
        self.browser.call("press", page=page.id, key="Enter")
        page.wait(lambda r: member_of(r, "lena") and member_of(r, "lena")["marks"] == "", 10,
                  "lena's live device")
        agent.signal(signal.SIGKILL)
        killed = time.monotonic()
        roster = page.wait(lambda r: "stale" in member_of(r, "lena")["marks"], ttl_s,
                           "lena's device stale")
        stale_after = time.monotonic() - killed
        self.assertIn("Stale", member_of(roster, "lena")["note"])
        roster = page.wait(lambda r: "gone" in member_of(r, "lena")["marks"], ttl_s + 5,
                           "lena's device gone at its TTL")
        gone_after = time.monotonic() - killed
        self.assertGreater(gone_after, ttl_s - interval_s - 0.5, "gone before its TTL")
        self.assertIn("expired", member_of(roster, "lena")["note"])
        self.assertEqual(roster["lena"]["state"], "offline")
        page.wait(lambda r: r["lena"]["members"] == [], 15, "lena's row removed")
        # bob, alive, stayed as he was.
        self.assertEqual(page.roster()["bob"]["state"], "online")
        print("stale %.1f s, gone %.1f s after kill -9 (TTL %d s, interval %d s)"
              % (stale_after, gone_after, ttl_s, interval_s))

    def test_leave_reason(self):
        server = self.start_server()
        agent = self.start_agent("lena", server)
        page = self.open_page(server, "bob")
        self.browser.call("fill", page=page.id, selector="#watch-id", value="lena")
        self.browser.call("press", page=page.id, key="Enter")
        page.wait(lambda r: member_of(r, "lena"), 10, "lena's device")
        agent.stop()  # SIGTERM: the agent leaves with the reason "quit"
        roster = page.wait(lambda r: member_of(r, "lena") and
                           "gone" in member_of(r, "lena")["marks"], 10, "lena's leave")
        shown = time.monotonic()
        self.assertEqual(member_of(roster, "lena")["note"], "Gone (left: quit)")
        self.assertEqual(roster["lena"]["state"], "offline")
        # The reason stays long enough to be read, then the row goes.
        page.wait(lambda r: r["lena"]["members"] == [], 15, "lena's row removed")
        self.assertGreater(time.monotonic() - shown, 5.0, "the leave's reason went at once")

    def test_server_restart(self):
        server = self.start_server()
        port = server.port
        agent = self.start_agent("lena", server)
        page = self.open_page(server, "lena")
        page.wait(lambda r: member_of(r, "lena"), 10, "lena's device")
        self.presencectl(agent, "busy")
        page.wait(lambda r: r["lena"]["state"] == "busy", 5, "lena busy")
        server.stop()
        wait_for(lambda: page.visible("#banner"), 10, "the reconnecting banner")
        self.assertIn("Reconnecting", page.visible("#banner"))
        self.start_server(port=port)
        roster = page.wait(lambda r: r["lena"]["state"] == "busy" and member_of(r, "lena")
                           and member_of(r, "lena")["marks"] == "", 20,
                           "lena busy again on the restarted server")
        self.assertEqual(member_of(roster, "lena")["state"], "busy")
        wait_for(lambda: not page.visible("#banner"), 10, "the banner gone")
        # Later changes still arrive.
        self.presencectl(agent, "auto")
        page.wait(lambda r: r["lena"]["state"] == "online", 5, "lena online after the restart")

    def test_appear_offline_per_viewer(self):
        server = self.start_server()
        agent = self.start_agent("lena", server)
        self.presencectl(agent, "appear-offline")
        wait_for(lambda: self.read(server, "/v1/presence?ids=lena", "lena")[1]["lena"]
                 == "appear_offline", 5, "lena appearing offline on the server")
        own = self.open_page(server, "lena")
        roster = own.wait(lambda r: r["lena"]["state"] == "appear_offline" and
                          member_of(r, "lena"), 10, "lena's own view")
        self.assertEqual(roster["lena"]["label"], "Appearing offline")
        other = self.open_page(server, "bob")
        self.browser.call("fill", page=other.id, selector="#watch-id", value="lena")
        self.browser.call("press", page=other.id, key="Enter")
        roster = other.wait(lambda r: r.get("lena", {}).get("state") == "offline", 10,
                            "lena offline to bob")
        self.assertEqual(roster["lena"]["members"], [], "bob sees lena's devices")
        self.assertEqual(roster["lena"]["label"], "Offline")
        # Back: both see it, live.
        self.presencectl(agent, "auto")
        other.wait(lambda r: r["lena"]["state"] == "online" and member_of(r, "lena"), 5,
                   "lena back for bob")
        own.wait(lambda r: r["lena"]["state"] == "online", 5, "lena back for herself")

    def test_appear_offline_conversation(self):
        # The 24-hour exception (here 8 s): bob talked with lena, so bob's page
        # shows her real state and devices from the moment it is recorded
        # until the window ends.
        window_s = 8
        server = self.start_server("--interval", "4", "--conversation-window", str(window_s),
                                   tokens=TOKENS)
        agent = self.start_agent("lena", server, "tok-lena")
        self.presencectl(agent, "appear-offline")
        page = self.open_page(server, "tok-bob")
        self.browser.call("fill", page=page.id, selector="#watch-id", value="lena")
        self.browser.call("press", page=page.id, key="Enter")
        roster = page.wait(lambda r: r.get("lena", {}).get("state") == "offline", 10,
                           "lena offline to bob")
        self.assertEqual(roster["lena"]["members"], [])
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        conn.request("POST", "/v1/conversations", body=json.dumps({"a": "lena", "b": "bob"}),
                     headers={"Authorization": "Bearer tok-ops"})
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        granted = time.monotonic()
        # Her state at once; her device from the next member read (no event
        # says it: it did not change).
        roster = page.wait(lambda r: r["lena"]["state"] == "appear_offline" and
                           member_of(r, "lena"), 4, "lena's real state and device for bob")
        self.assertEqual(roster["lena"]["label"], "Appearing offline")
        self.assertLess(time.monotonic() - granted, window_s - 2, "too slow to test the end")
        # The window ends: offline again for bob, her device gone with it.
        roster = page.wait(lambda r: r["lena"]["state"] == "offline" and
                           r["lena"]["members"] == [], window_s + 5, "the grant's end")
        self.assertGreater(time.monotonic() - granted, window_s - 1, "the grant ended early")

    def test_redis_two_nodes(self):
        if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
            self.skipTest("redis-server is not installed (apt-get install redis-server)")
        sock = os.path.join(self.tmp.name, "redis.sock")
        redis = self.spawn(["redis-server", "--port", "0", "--unixsocket", sock, "--save", "",
                            "--appendonly", "no", "--dir", self.tmp.name],
                           stdout=subprocess.DEVNULL)
        wait_for(lambda: subprocess.run(["redis-cli", "-s", sock, "PING"], capture_output=True,
                                        text=True).stdout.strip() == "PONG", 10, "redis")
        self.assertIsNone(redis.proc.poll())
        node_a = self.start_server("--store", "unix:" + sock)
        node_b = self.start_server("--store", "unix:" + sock)
        agent = self.start_agent("lena", node_a)
        page = self.open_page(node_b, "bob")
        self.browser.call("fill", page=page.id, selector="#watch-id", value="lena")
        self.browser.call("press", page=page.id, key="Enter")
        page.wait(lambda r: r.get("lena", {}).get("state") == "online" and member_of(r, "lena"),
                  10, "lena, beating through node A, on node B's page")
        self.presencectl(agent, "busy")
        page.wait(lambda r: r["lena"]["state"] == "busy", 5, "node A's busy on node B's page")
        # Node B goes away; what changes meanwhile through A shows once the
        # page is back on B, resumed by cursor (a delta, or a snapshot that
        # replaces what the page showed).
        self.assertNoProblems(page)
        port_b = node_b.port
        node_b.stop()
        wait_for(lambda: page.visible("#banner"), 10, "the reconnecting banner")
        self.presencectl(agent, "auto")
        wait_for(lambda: self.read(node_a, "/v1/presence?ids=lena", "bob")[1]["lena"] == "online",
                 5, "lena online through node A")
        self.start_server("--store", "unix:" + sock, port=port_b)
        page.wait(lambda r: r["lena"]["state"] == "online" and member_of(r, "lena")
                  and member_of(r, "lena")["state"] == "online", 20,
                  "the outage's change on the page, back on node B")
        wait_for(lambda: not page.visible("#banner"), 10, "the banner gone")


if __name__ == "__main__":
    if SKIP:
        print("SKIP: " + SKIP)
        sys.exit(77)
    result = unittest.main(argv=sys.argv[:1] + sys.argv[1:], exit=False).result
    if result.skipped and result.testsRun == len(result.skipped) and result.wasSuccessful():
        for _, reason in result.skipped:
            print("SKIP: " + reason)
        sys.exit(77)
    sys.exit(0 if result.wasSuccessful() else 1)
