"""A real Mosquitto on loopback, and a real client that watches it.

Each broker is Debian's mosquitto with a throwaway configuration in the
test's own directory: anonymous, or with a password file and the ACL that
the README documents, or a TLS listener with a CA made for the test. The
observer is python3-paho-mqtt subscribed to everything; it keeps each
message with the monotonic time it arrived, so that a test can say how
soon a change reached the broker and count what arrived in a quiet while.
"""

import json
import os
import pwd
import socket
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from testbed import wait_until

MOSQUITTO = "/usr/sbin/mosquitto"

# The ACL of README.md's "Home Assistant" section: each desktop user only
# their own topics and their own device's discovery topic (the agent's
# client id), Home Assistant's user all of them.
README_ACL = """\
pattern readwrite presence/%u/#
pattern write homeassistant/device/%c/config
pattern read homeassistant/status
user homeassistant
topic read presence/#
topic write presence/+/+/set
topic readwrite homeassistant/#
"""


def free_port():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def make_test_ca(directory):
    """A CA and a server certificate for 127.0.0.1, both valid for a day."""
    def openssl(*args):
        subprocess.run(["openssl", *args], cwd=directory, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.crt", "-days", "1",
            "-subj", "/CN=presence-agent test CA")
    openssl("req", *curve, "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1")
    with open(os.path.join(directory, "san.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.ext")
    return os.path.join(directory, "ca.crt")


class Broker:
    """mosquitto on 127.0.0.1. users: {name: password} for a password file
    (and the README's ACL); tls: a listener with a test CA (self.cafile)."""

    def __init__(self, spawn, directory, users=None, tls=False):
        self.spawn = spawn
        self.directory = directory
        self.users = users
        self.tls = tls
        self.process = None
        self.port = free_port()
        os.makedirs(directory, exist_ok=True)
        self.cafile = make_test_ca(directory) if tls else None
        self.conf = os.path.join(directory, "mosquitto.conf")
        # Run by root, mosquitto turns into user mosquitto unless told not
        # to, and then cannot read its files in the test's private directory.
        lines = ["listener %d 127.0.0.1" % self.port, "persistence false",
                 "user " + pwd.getpwuid(os.getuid()).pw_name]
        if users:
            passwords = os.path.join(directory, "passwords")
            open(passwords, "w").close()
            for name, password in users.items():
                subprocess.run(["mosquitto_passwd", "-b", passwords, name, password],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            acl = os.path.join(directory, "acl")
            with open(acl, "w") as f:
                f.write(README_ACL)
            lines += ["allow_anonymous false", "password_file " + passwords, "acl_file " + acl]
        else:
            lines += ["allow_anonymous true"]
        if tls:
            lines += ["cafile " + self.cafile,
                      "certfile " + os.path.join(directory, "server.crt"),
                      "keyfile " + os.path.join(directory, "server.key")]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.start()

    def start(self):
        log = open(os.path.join(self.directory, "mosquitto.log"), "a")
        self.process = self.spawn([MOSQUITTO, "-c", self.conf], stdout=log,
                                  stderr=subprocess.STDOUT)
        log.close()

        def listening():
            if self.process.proc.poll() is not None:
                raise AssertionError("mosquitto exited with %d" % self.process.proc.returncode)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                return False
        wait_until(listening, timeout=10, message="mosquitto listening on %d" % self.port)

    def stop(self):
        self.process.stop()
        self.process = None

    def url(self, user=None, **options):
        scheme = "mqtts" if self.tls else "mqtt"
        query = "&".join("%s=%s" % item for item in options.items())
        return "%s://%s127.0.0.1:%d%s" % (scheme, user + "@" if user else "", self.port,
                                          "?" + query if query else "")


class Message:
    def __init__(self, msg):
        self.topic = msg.topic
        self.payload = bytes(msg.payload)
        self.retain = bool(msg.retain)
        self.at = time.monotonic()

    def text(self):
        return self.payload.decode()

    def json(self):
        return json.loads(self.payload)

    def __repr__(self):
        return "%s%s %r" % (self.topic, " (retained)" if self.retain else "", self.payload[:120])


class Observer:
    """A paho client subscribed to '#', as a user's Home Assistant would be."""

    def __init__(self, broker, user=None, password=None, client_id="presence-test-observer"):
        self.messages = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(client_id=client_id, protocol=mqtt.MQTTv311)
        if user is not None:
            self.client.username_pw_set(user, password)
        if broker.tls:
            self.client.tls_set(ca_certs=broker.cafile)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port, keepalive=60)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise AssertionError("the observer could not connect to the broker")

    def _on_connect(self, client, userdata, flags, rc):
        if rc == 0:
            client.subscribe("#", qos=1)
            self.connected.set()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append(Message(msg))

    def publish(self, topic, payload, retain=False):
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish()

    def since(self, start=0.0, topic=None):
        with self.lock:
            return [m for m in self.messages
                    if m.at >= start and (topic is None or m.topic == topic)]

    def last(self, topic):
        found = self.since(topic=topic)
        return found[-1] if found else None

    def wait(self, topic, test=lambda m: True, start=0.0, timeout=5.0, message=None):
        """The first message on TOPIC since START for which TEST holds."""
        def found():
            for m in self.since(start, topic):
                if test(m):
                    return m
            return None
        return wait_until(found, timeout=timeout, message=message or "a message on " + topic)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def retained(broker, topic, user=None, password=None, timeout=5.0):
    """What the broker keeps for TOPIC now, read by a fresh client."""
    got = []
    done = threading.Event()
    client = mqtt.Client(client_id="presence-test-retained-%d" % os.getpid(),
                         protocol=mqtt.MQTTv311)
    if user is not None:
        client.username_pw_set(user, password)
    if broker.tls:
        client.tls_set(ca_certs=broker.cafile)

    def on_connect(c, userdata, flags, rc):
        c.subscribe(topic, qos=1)

    def on_message(c, userdata, msg):
        if msg.retain:
            got.append(bytes(msg.payload))
            done.set()

    client.on_connect = on_connect
    client.on_message = on_message
    client.connect("127.0.0.1", broker.port, keepalive=60)
    client.loop_start()
    done.wait(timeout)
    client.loop_stop()
    client.disconnect()
    return got[0].decode() if got else None
