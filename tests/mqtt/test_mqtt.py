#!/usr/bin/python3
"""Home Assistant over MQTT: the built agent against Debian's mosquitto.

Each case starts its own broker on a free loopback port with a throwaway
configuration (mqtt_bed.Broker) and watches it with python3-paho-mqtt
subscribed to everything, as Home Assistant would be. Lock, idle (logind's
IdleHint), sleep and the delay inhibitor come from python-dbusmock's logind
on a private system bus (the session bed of tests/sensors-session); a
presence-server runs beside the broker for the cases with two destinations.

Cost: most cases 2-6 s under ASan; the quiet minute 65 s and the outage
40 s, as their length is what they test.
"""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

try:
    import paho.mqtt.client  # noqa: F401
except ImportError as e:
    print("SKIP: python3-paho-mqtt is missing (%s)" % e)
    sys.exit(77)

from gi.repository import GLib

from mqtt_bed import Broker, Observer, retained
from test_session import LOGIND, SESSION_PATH, MOCK_IFACE, SessionTestCase
from testbed import AGENT, wait_until

# The promise: a change is on the broker this soon.
CHANGE_S = 1.0
KEEPALIVE_S = 5
PASSWORD = "s3cret-broker-password"


class MqttTestCase(SessionTestCase):

    def setUp(self):
        super().setUp()
        # Only the cases that log in give a password.
        self.env.pop("PRESENCE_TOKEN", None)
        self.observer = None

    def tearDown(self):
        if self.observer is not None:
            self.observer.close()
        super().tearDown()

    def start_broker(self, **kwargs):
        broker = Broker(self.spawn, os.path.join(self.tmp.name, "broker-%d" % time.monotonic_ns()),
                        **kwargs)
        return broker

    def watch(self, broker, **kwargs):
        self.observer = Observer(broker, **kwargs)
        return self.observer

    def start_mqtt_agent(self, url, *extra, settings=None, destinations=None, wait=True):
        """The agent with the one destination URL (kind mqtt), or with
        DESTINATIONS (name → (kind, url)) from the settings."""
        keys = dict(settings or {})
        if destinations:
            keys["destinations"] = "[%s]" % ", ".join("'%s'" % n for n in destinations)
            self.write_settings(keys, {name: {"kind": "'%s'" % kind, "url": "'%s'" % url}
                                       for name, (kind, url) in destinations.items()})
            argv = [AGENT, "-v", *extra]
        else:
            self.write_settings(keys)
            argv = [AGENT, "-v", "--transport", "mqtt", "--server", url, *extra]
        self.agent_log_path = os.path.join(self.tmp.name, "agent.log")
        with open(self.agent_log_path, "a") as log:
            self.agent = self.spawn(argv, stdout=log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_connected()
        return self.agent

    def wait_connected(self, name=None, timeout=30):
        def connected():
            if self.agent.proc.poll() is not None:
                raise AssertionError("presence-agent exited with %d:\n%s"
                                     % (self.agent.proc.returncode, self.agent_log()))
            found = [d for d in self.get("Destinations") or []
                     if d["Kind"] == "mqtt" and (name is None or d["Name"] == name)]
            return found and found[0]["Connection"] == "connected"
        wait_until(connected, timeout=timeout, message="the agent connected to the broker")

    def mqtt_destination(self):
        return [d for d in self.get("Destinations") if d["Kind"] == "mqtt"][0]

    def topics(self):
        """The agent's topics, from its discovery message."""
        discovery = self.observer.wait("homeassistant/device/%s/config"
                                       % self.mqtt_destination()["KnownAs"])
        config = discovery.json()
        base = config["state_topic"].rsplit("/", 1)[0]
        return {"discovery": discovery.topic, "state": config["state_topic"],
                "availability": config["availability_topic"], "command": base + "/set",
                "config": config}

    def wait_state(self, topics, test, start, what, timeout=CHANGE_S):
        message = self.observer.wait(topics["state"], lambda m: test(m.json()), start=start,
                                     timeout=timeout, message=what)
        return message.at - start

    # The cases

    def test_discovery_and_states_after_start(self):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        config = topics["config"]
        object_id = self.mqtt_destination()["KnownAs"]
        self.assertTrue(object_id.startswith("presence_"), object_id)
        self.assertEqual(topics["discovery"], "homeassistant/device/%s/config" % object_id)

        # The device block and the origin, as Home Assistant documents them.
        device = config["dev"]
        self.assertEqual(device["ids"], [object_id])
        self.assertTrue(device["name"])
        self.assertEqual(device["mf"], "presence-agent")
        self.assertTrue(device["mdl"])
        self.assertEqual(device["sw"], self.get("Version"))
        self.assertEqual(config["o"]["name"], "presence-agent")
        self.assertEqual(config["o"]["sw"], self.get("Version"))
        self.assertEqual(config["qos"], 1)
        user = os.environ.get("USER") or __import__("pwd").getpwuid(os.getuid()).pw_name
        self.assertTrue(topics["state"].startswith("presence/%s/" % user), topics["state"])

        components = config["cmps"]
        expected = {
            "presence": ("sensor", "enum"),
            "active": ("binary_sensor", "occupancy"),
            "screen_lock": ("binary_sensor", "lock"),
            "last_input": ("sensor", "timestamp"),
            "status_text": ("sensor", None),
            "dnd": ("binary_sensor", None),
            "manual": ("select", None),
        }
        self.assertEqual(set(components), set(expected))
        unique_ids = set()
        for key, (platform, device_class) in expected.items():
            component = components[key]
            self.assertEqual(component["p"], platform, key)
            self.assertEqual(component.get("device_class"), device_class, key)
            self.assertTrue(component["name"], key)
            self.assertTrue(component["value_template"].startswith("{{"), key)
            self.assertTrue(component["unique_id"].startswith(object_id), key)
            unique_ids.add(component["unique_id"])
        self.assertEqual(len(unique_ids), len(expected), "unique ids repeat")
        self.assertEqual(components["presence"]["options"],
                         ["offline", "online", "idle", "busy", "appear_offline"])
        self.assertEqual(components["manual"]["options"], ["automatic", "busy", "appear_offline"])
        self.assertEqual(components["manual"]["command_topic"], topics["command"])
        # Home Assistant's lock class reads on as unlocked.
        self.assertIn("'OFF' if value_json.locked", components["screen_lock"]["value_template"])

        # Every state topic, retained, as a fresh client finds them.
        self.assertEqual(retained(broker, topics["availability"]), "online")
        state = json.loads(retained(broker, topics["state"]))
        self.assertEqual(state, {"state": "online", "manual": "automatic", "manual_until": None,
                                 "active": True, "locked": False, "dnd": False,
                                 "last_input": state["last_input"], "status_text": ""})
        self.assertRegex(state["last_input"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        self.assertIsNotNone(retained(broker, topics["discovery"]))
        destination = self.mqtt_destination()
        self.assertEqual(destination["LastError"], "")
        self.assertGreater(destination["LastDelivered"], 0)

    def test_changes_reach_the_broker_within_1s(self):
        self.start_logind()
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        wait_until(lambda: self.get("IdleSource") == "logind", timeout=10,
                   message="the logind idle source")
        took = {}

        start = time.monotonic()
        self.logind(SESSION_PATH, LOGIND + ".Session", "Lock")
        took["lock"] = self.wait_state(topics, lambda s: s["locked"] and s["state"] == "idle",
                                       start, "locked on the broker")
        start = time.monotonic()
        self.logind(SESSION_PATH, LOGIND + ".Session", "Unlock")
        took["unlock"] = self.wait_state(topics, lambda s: not s["locked"]
                                         and s["state"] == "online", start, "unlocked")
        start = time.monotonic()
        self.logind(SESSION_PATH, MOCK_IFACE, "UpdateProperties", "(sa{sv})",
                    (LOGIND + ".Session",
                     {"IdleHint": GLib.Variant("b", True),
                      "IdleSinceHintMonotonic": GLib.Variant("t", int(time.monotonic() * 1e6))}))
        took["idle"] = self.wait_state(topics, lambda s: s["state"] == "idle" and not s["active"],
                                       start, "idle on the broker")
        self.logind(SESSION_PATH, MOCK_IFACE, "UpdateProperties", "(sa{sv})",
                    (LOGIND + ".Session", {"IdleHint": GLib.Variant("b", False)}))
        self.wait_state(topics, lambda s: s["state"] == "online", time.monotonic() - 0.01,
                        "active again")
        for name, call, args, state in (("busy", "SetBusy", ("u", 0), "busy"),
                                        ("appear offline", "SetAppearOffline", ("u", 0),
                                         "appear_offline"),
                                        ("auto", "SetAuto", (), "online")):
            start = time.monotonic()
            self.call(call, *args)
            took[name] = self.wait_state(topics, lambda s: s["state"] == state, start,
                                         "%s on the broker" % name)
        start = time.monotonic()
        self.call("SetStatusText", "s", "At the dentist")
        took["status text"] = self.wait_state(topics, lambda s: s["status_text"]
                                              == "At the dentist", start, "the status text")
        print("on the broker after: %s" % ", ".join("%s %.3f s" % item for item in took.items()))
        # One message per change: busy is not also sent half-made.
        states = [m.json() for m in self.observer.since(topic=topics["state"])]
        self.assertFalse([s for s in states if s["manual"] == "busy" and s["state"] != "busy"],
                         states)

    def test_quiet_minute_sends_nothing(self):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url(keepalive=KEEPALIVE_S))
        self.topics()
        self.call("SetBusy", "u", 0)
        self.observer.wait(self.topics()["state"], lambda m: m.json()["state"] == "busy")
        start = time.monotonic()
        time.sleep(60)  # the quiet minute is what is measured
        sent = self.observer.since(start)
        print("messages in a quiet minute: %d" % len(sent))
        self.assertEqual(sent, [])
        self.assertEqual(self.mqtt_destination()["Connection"], "connected")

    def test_kill_9_leaves_the_will(self):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url(keepalive=KEEPALIVE_S))
        topics = self.topics()
        self.assertEqual(retained(broker, topics["availability"]), "online")
        self.agent.signal(signal.SIGKILL)
        killed = time.monotonic()
        message = self.observer.wait(topics["availability"], lambda m: m.text() == "offline",
                                     start=killed, timeout=1.5 * KEEPALIVE_S,
                                     message="the will within 1.5 × the keepalive")
        print("offline %.2f s after kill -9" % (message.at - killed))
        self.assertEqual(retained(broker, topics["availability"]), "offline")

    def test_sleep_says_offline_before_the_inhibitor_goes(self):
        self.start_logind()
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        wait_until(lambda: len(self.inhibitors()) == 1, timeout=5,
                   message="the agent's delay inhibitor")
        self.emit_manager("PrepareForSleep", True)
        wait_until(lambda: not self.inhibitors(), timeout=3, message="the inhibitor released")
        # Released: the broker already keeps offline.
        self.assertEqual(retained(broker, topics["availability"]), "offline")
        self.assertEqual(json.loads(retained(broker, topics["state"]))["state"], "offline")
        resumed = time.monotonic()
        self.emit_manager("PrepareForSleep", False)
        self.observer.wait(topics["availability"], lambda m: m.text() == "online",
                           start=resumed, timeout=5, message="online within 5 s of resume")
        message = self.observer.wait(topics["state"], lambda m: m.json()["state"] == "online",
                                     start=resumed, timeout=5, message="the state after resume")
        self.observer.wait(topics["discovery"], start=resumed, timeout=5,
                           message="discovery after resume")
        print("everything back %.2f s after resume" % (message.at - resumed))

    def back_after(self, outage_s):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        self.call("SetBusy", "u", 0)
        self.observer.wait(topics["state"], lambda m: m.json()["state"] == "busy")
        self.observer.close()
        broker.stop()
        wait_until(lambda: self.mqtt_destination()["Connection"] == "error", timeout=10,
                   message="the agent noticing the broker gone")
        self.assertIn("retrying in", self.mqtt_destination()["LastError"])
        time.sleep(outage_s)  # the outage's length is the input
        broker.start()
        back = time.monotonic()
        self.watch(broker)
        # A broker without persistence forgot everything: all of it again.
        for topic, test in ((topics["discovery"], lambda m: True),
                            (topics["availability"], lambda m: m.text() == "online"),
                            (topics["state"], lambda m: m.json()["state"] == "busy")):
            message = self.observer.wait(topic, test, timeout=5,
                                         message="%s within 5 s of the broker's return" % topic)
        print("after a %d s outage: republished %.2f s after the broker's return"
              % (outage_s, message.at - back))

    def test_broker_restart(self):
        self.back_after(0)

    def test_broker_outage_30s(self):
        self.back_after(30)

    def test_home_assistant_back_online_gets_everything(self):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        self.observer.publish("homeassistant/status", "offline")
        start = time.monotonic()
        self.observer.publish("homeassistant/status", "online")
        for topic in (topics["discovery"], topics["availability"], topics["state"]):
            self.observer.wait(topic, start=start, timeout=3, message="%s re-sent" % topic)
        # A retained "online", left by Home Assistant long ago, comes with
        # every new subscription: it is not Home Assistant coming back, and
        # a reconnection announces once, not twice.
        self.observer.publish("homeassistant/status", "online", retain=True)
        self.observer.wait(topics["state"], start=time.monotonic(), timeout=3,
                           message="the live announcement")
        time.sleep(2)  # the spread of an announcement (0.2–1.5 s) is over
        start = time.monotonic()
        self.call("Reconnect")
        self.observer.wait(topics["state"], start=start, timeout=3, message="the reconnection")
        time.sleep(2)  # a second announcement would come within 1.5 s
        self.assertEqual(len(self.observer.since(start, topics["discovery"])), 1,
                         self.observer.since(start))

    def test_command_sets_busy_for_its_duration_and_survives_restart(self):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        start = time.monotonic()
        self.observer.publish(topics["command"], json.dumps({"state": "busy", "seconds": 3600}))
        self.wait_state(topics, lambda s: s["state"] == "busy" and s["manual_until"], start,
                        "busy for an hour")
        self.assertEqual(self.get("ManualState"), "busy")
        until = self.get("ManualUntil")
        self.assertAlmostEqual(until, time.time() + 3600, delta=30)
        # The same rules as the tray: it survives a restart of the agent.
        self.agent.signal(signal.SIGTERM)
        self.assertEqual(self.agent.wait(timeout=10), 0)
        self.start_mqtt_agent(broker.url())
        self.assertEqual(self.get("ManualState"), "busy")
        self.assertEqual(self.get("ManualUntil"), until)
        start = time.monotonic()
        self.observer.publish(topics["command"], "automatic")
        self.wait_state(topics, lambda s: s["state"] == "online" and s["manual"] == "automatic",
                        start, "automatic again")

    def test_bad_commands_change_nothing(self):
        broker = self.start_broker()
        self.watch(broker)
        self.start_mqtt_agent(broker.url())
        topics = self.topics()
        self.call("SetBusy", "u", 0)
        self.observer.wait(topics["state"], lambda m: m.json()["state"] == "busy")
        bad = [b"garbage", b"x" * 100000, b"", b"\xff\xfe", b"online",
               b'{"state": "busy", "seconds": -5}', b'{"state": "busy", "seconds": "1h"}',
               b'{"state": "busy", "colour": "red"}', b'{"state": "automatic", "seconds": 60}',
               b"[1, 2, 3]", b'{"state": ' * 5000]
        for payload in bad:
            self.observer.publish(topics["command"], payload)

        def log_text():
            with open(self.agent_log_path) as f:
                return f.read()
        # Stopped only once it has read them: on a loaded machine the broker
        # can still be delivering them when the test would stop the agent.
        wait_until(lambda: "(later ones are not logged)" in log_text(), timeout=10,
                   message="the bad commands refused in the log")
        self.agent.signal(signal.SIGTERM)
        self.assertEqual(self.agent.wait(timeout=10), 0)
        # A retained command (left by an earlier session) is not a wish of
        # now: the broker hands it over on subscribing, flagged retained.
        self.observer.publish(topics["command"], b"appear_offline", retain=True)
        first_run = log_text()
        seen = first_run.count("a retained command")
        self.start_mqtt_agent(broker.url())
        wait_until(lambda: log_text().count("a retained command") > seen, timeout=10,
                   message="the retained command refused")
        self.observer.publish(topics["command"], b"", retain=True)  # and clear it again
        self.assertEqual(self.get("ManualState"), "busy")
        self.assertEqual(self.get("ManualUntil"), 0)
        # Said once, however many came.
        self.assertEqual(first_run.count("(later ones are not logged)"), 1, first_run[-3000:])

    def test_two_destinations_one_black_holed(self):
        # presence-server behind the session bed's proxy, and the broker;
        # then each of them fails in turn while the other keeps up.
        broker = self.start_broker()
        self.watch(broker)
        self.env["PRESENCE_TOKEN"] = "some-id"
        hole = __import__("test_transport_e2e").BadServer(garbage=False)
        self.addCleanup(hole.close)
        self.start_mqtt_agent(None, destinations={
            "team": ("http", "http://127.0.0.1:%d" % self.proxy.port),
            "home": ("mqtt", broker.url()),
            "hole": ("http", "http://127.0.0.1:%d" % hole.port)})
        topics = self.topics()
        wait_until(lambda: self.destinations()["team"]["Connection"] == "connected",
                   timeout=10, message="presence-server connected")
        for call, args, state in (("SetBusy", ("u", 0), "busy"),
                                  ("SetAppearOffline", ("u", 0), "appear_offline"),
                                  ("SetAuto", (), "online")):
            start = time.monotonic()
            self.call(call, *args)
            self.wait_state(topics, lambda s: s["state"] == state, start, state + " on MQTT")
            self.wait_presence(state, timeout=max(0.1, CHANGE_S - (time.monotonic() - start)))
        wait_until(lambda: "did not answer" in self.destinations()["hole"]["LastError"],
                   timeout=24, message="the black hole's error")
        listing = self.presencectl("destinations")
        self.assertIn("hole (http", listing.stdout)
        self.assertIn("did not answer", listing.stdout)
        # The broker refuses from now on; presence-server still gets each change.
        self.observer.close()
        self.observer = None
        broker.stop()
        wait_until(lambda: self.destinations()["home"]["Connection"] == "error", timeout=10,
                   message="the broker's error")
        start = time.monotonic()
        self.call("SetBusy", "u", 0)
        self.wait_presence("busy", timeout=CHANGE_S)
        print("presence-server busy %.2f s after, beside a refusing broker and a black hole"
              % (time.monotonic() - start))

    def destinations(self):
        return {d["Name"]: d for d in self.get("Destinations")}

    def test_password_acl_and_tls(self):
        user = "lena"
        broker = self.start_broker(users={user: PASSWORD, "homeassistant": "ha-password"},
                                   tls=True)
        self.watch(broker, user="homeassistant", password="ha-password")
        token_file = os.path.join(self.tmp.name, "broker-password")
        with open(token_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(token_file, 0o600)
        self.start_mqtt_agent(broker.url(user, cafile=broker.cafile), "--token-file", token_file)
        topics = self.topics()
        self.assertTrue(topics["state"].startswith("presence/lena/"), topics["state"])
        start = time.monotonic()
        self.call("SetBusy", "u", 0)
        self.wait_state(topics, lambda s: s["state"] == "busy", start, "busy over TLS")
        # Home Assistant's select reaches the agent through the ACL too.
        start = time.monotonic()
        self.observer.publish(topics["command"], "appear_offline")
        self.wait_state(topics, lambda s: s["state"] == "appear_offline", start,
                        "appear offline from Home Assistant's user")
        with open(self.agent_log_path) as f:
            self.assertNotIn(PASSWORD, f.read())
        self.assertNotIn(PASSWORD, json.dumps(self.get("Destinations")))

    def test_wrong_password_is_unauthorized(self):
        broker = self.start_broker(users={"lena": PASSWORD})
        token_file = os.path.join(self.tmp.name, "broker-password")
        with open(token_file, "w") as f:
            f.write("not-the-password\n")
        os.chmod(token_file, 0o600)
        self.start_mqtt_agent(broker.url("lena"), "--token-file", token_file, wait=False)
        wait_until(lambda: (self.get("Destinations") or [{}])[0].get("Connection")
                   == "unauthorized", timeout=15, message="unauthorized")
        error = self.mqtt_destination()["LastError"]
        print("LastError: %s" % error)
        self.assertIn("refused", error)

    def test_wrong_ca_is_an_error_and_changes_nothing(self):
        broker = self.start_broker(tls=True)
        other = os.path.join(self.tmp.name, "other-ca")
        os.makedirs(other)
        other_ca = __import__("mqtt_bed").make_test_ca(other)
        self.start_mqtt_agent(broker.url(cafile=other_ca), wait=False)
        wait_until(lambda: (self.get("Destinations") or [{}])[0].get("LastError"), timeout=15,
                   message="an error")
        destination = self.mqtt_destination()
        print("LastError: %s" % destination["LastError"])
        self.assertEqual(destination["Connection"], "error")


if __name__ == "__main__":
    unittest.main()
