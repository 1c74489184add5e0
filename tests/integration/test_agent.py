#!/usr/bin/python3
"""The built presence-agent on a private session bus: the D-Bus API from the
outside, single instance, persistence across restarts."""

import os
import signal
import subprocess
import sys
import time
import unittest

from testbed import AgentTestCase, wait_until


class TestAgent(AgentTestCase):

    def assert_busy_for_an_hour(self, started):
        wait_until(lambda: self.get("State") == "busy", message="State busy")
        self.assertEqual(self.get("ManualState"), "busy")
        until = self.get("ManualUntil")
        self.assertGreaterEqual(until, int(started) + 3600 - 1)
        self.assertLessEqual(until, int(time.time()) + 3600 + 1)

    def test_busy_with_presencectl(self):
        self.start_agent()
        started = time.time()
        result = self.presencectl("busy", "--for", "1h")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_busy_for_an_hour(started)

    def test_busy_with_busctl(self):
        self.start_agent()
        started = time.time()
        result = self.run_tool(["busctl", "--user", "call", "org.presence.Agent",
                                "/org/presence/Agent", "org.presence.Agent", "SetBusy", "u",
                                "3600"])
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_busy_for_an_hour(started)
        result = self.run_tool(["busctl", "--user", "get-property", "org.presence.Agent",
                                "/org/presence/Agent", "org.presence.Agent", "State"])
        self.assertEqual(result.stdout.strip(), 's "busy"')

    def test_auto_with_presencectl(self):
        self.start_agent()
        self.call("SetAppearOffline", "u", 0)
        wait_until(lambda: self.get("State") == "appear_offline", message="appear_offline")
        result = self.presencectl("auto")
        self.assertEqual(result.returncode, 0, result.stderr)
        wait_until(lambda: self.get("State") == "online", message="State online")
        self.assertEqual(self.get("ManualState"), "")
        self.assertEqual(self.get("ManualUntil"), 0)

    def test_second_agent_exits_0(self):
        first = self.start_agent()
        owner = self.name_owner()
        second = self.start_agent(wait=False)
        self.assertEqual(second.wait(timeout=30), 0)
        self.assertIn("already running", second.proc.stdout.read())
        self.assertIsNone(first.proc.poll())
        self.assertEqual(self.name_owner(), owner)
        self.assertEqual(self.get("State"), "online")

    def test_replace(self):
        first = self.start_agent()
        owner = self.name_owner()
        self.call("SetBusy", "u", 0)
        self.start_agent("--replace", wait=False)
        self.assertEqual(first.wait(timeout=30), 0)
        wait_until(lambda: self.name_owner() not in (None, owner), message="new owner")
        # The newcomer restored the choice the first one saved.
        wait_until(lambda: self.get("State") == "busy", message="busy after --replace")

    def test_restart_keeps_manual_state(self):
        agent = self.start_agent()
        self.call("SetBusy", "u", 3600)
        self.call("SetStatusText", "s", "Deep work")
        wait_until(lambda: self.get("State") == "busy", message="busy")
        until = self.get("ManualUntil")
        instance_id = self.get("InstanceId")
        # Written before the reply (test_kill_right_after_change_keeps_manual_state).
        self.assertIn(b"Deep work", self.state_file_contents())

        agent.signal(signal.SIGKILL)
        agent.wait(timeout=10)
        wait_until(lambda: self.name_owner() is None, message="name released")

        self.start_agent()
        self.assertEqual(self.get("State"), "busy")
        self.assertEqual(self.get("ManualUntil"), until)
        self.assertEqual(self.get("StatusText"), "Deep work")
        self.assertEqual(self.get("InstanceId"), instance_id)

    def test_kill_right_after_change_keeps_manual_state(self):
        # The reply to a change means it is kept: a kill -9 the moment the
        # caller hears it must not lose it.
        agent = self.start_agent()
        for manual, method in (("busy", "SetBusy"), ("appear_offline", "SetAppearOffline"),
                               ("", None)):
            if method is None:
                self.call("SetAuto")
            else:
                self.call(method, "u", 0)
            agent.signal(signal.SIGKILL)
            agent.wait(timeout=10)
            wait_until(lambda: self.name_owner() is None, message="name released")
            agent = self.start_agent()
            self.assertEqual(self.get("ManualState"), manual)

    def test_instance_id_format(self):
        self.start_agent()
        instance_id = self.get("InstanceId")
        self.assertRegex(instance_id,
                         r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        with open("/etc/machine-id") as f:
            machine_id = f.read().strip()
        self.assertNotIn(machine_id[:8], instance_id.replace("-", ""))

    def state_file_contents(self):
        try:
            with open(self.state_file(), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def write_state_file(self, contents):
        os.makedirs(os.path.dirname(self.state_file()), exist_ok=True)
        with open(self.state_file(), "wb") as f:
            f.write(contents)

    def test_corrupt_state_file(self):
        self.write_state_file(b"\x00\xff garbage [Manual\nstate=busy")
        agent = self.start_agent()
        self.assertEqual(self.get("State"), "online")
        self.assertEqual(self.get("ManualState"), "")
        # The agent keeps working and saves over the bad file (once the
        # change is out, so after the state is visible).
        self.call("SetBusy", "u", 60)
        wait_until(lambda: self.get("State") == "busy", message="busy")
        wait_until(lambda: b"state=busy" in self.state_file_contents(),
                   message="the state file rewritten")
        agent.stop()
        self.assertIn("Ignoring the saved state", agent.proc.stdout.read())

    def test_expired_on_restore(self):
        past = int(time.time()) - 60
        self.write_state_file(b"[Manual]\nstate=busy\nuntil=%d\nstatus-text=Lunch\n" % past)
        self.start_agent()
        self.assertEqual(self.get("State"), "online")
        self.assertEqual(self.get("ManualState"), "")
        self.assertEqual(self.get("ManualUntil"), 0)
        self.assertEqual(self.get("StatusText"), "Lunch")

    def test_invalid_arguments_change_nothing(self):
        self.start_agent()
        self.call("SetBusy", "u", 600)
        until = self.get("ManualUntil")
        for method, signature, value in [("SetBusy", "u", 31536001),
                                         ("SetAppearOffline", "u", 4000000000),
                                         ("SetStatusText", "s", "x" * 141),
                                         ("SetStatusText", "s", "bell\a")]:
            with self.assertRaises(Exception) as caught:
                self.call(method, signature, value)
            self.assertIn("org.presence.Agent.Error.InvalidArgs", str(caught.exception))
        self.assertEqual(self.get("State"), "busy")
        self.assertEqual(self.get("ManualUntil"), until)
        self.assertEqual(self.get("StatusText"), "")

    def test_sigterm_exits_cleanly(self):
        agent = self.start_agent()
        agent.signal(signal.SIGTERM)
        self.assertEqual(agent.wait(timeout=30), 0)


if __name__ == "__main__":
    unittest.main(argv=sys.argv, verbosity=2)
