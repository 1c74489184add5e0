#!/usr/bin/python3
"""The built presence-agent against the real presence-server on loopback.

Each test gets a private session bus, its own state directory and its own
presence-server on 127.0.0.1 port 0. The agent's token is "lena" (the
server runs in dev mode: a token is its participant id); "bob" is another
participant. Waits are on conditions with deadlines; processes are killed
by the process groups this file started.
"""

import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

from gi.repository import GLib

from testbed import AGENT, BUILDDIR, AgentTestCase, wait_until

SERVER = os.path.join(BUILDDIR, "src", "server", "presence-server")

# pres-backoff.h: attempt k waits [max(1, 0.8·n), 1.2·n] s, n = min(3, 2^k).
BACKOFF_BOUNDS = [(1.0, 1.2), (1.6, 2.4), (2.4, 3.6), (2.4, 3.6)]
# The promise to a user: connected again this soon after the server is back.
RECOVERY_S = 5.0


def http_get(port, path, token):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Authorization": "Bearer " + token})
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


class RecordingProxy:
    """Forwards to the server and keeps every request the agent made."""

    def __init__(self, upstream_port):
        self.requests = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.requests.append((self.command, self.path, body))
                upstream = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=5)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("authorization", "content-type")}
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                response = upstream.getresponse()
                data = response.read()
                upstream.close()
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_PUT = do_DELETE = do_GET = forward

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ClosingListener:
    """Takes over a stopped server's port and counts connection attempts."""

    def __init__(self, port):
        self.accepts = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepts.append(time.monotonic())
            conn.close()

    def attempts(self):
        """Accepts closer than 0.3 s apart are one attempt (a client retry)."""
        grouped = []
        for when in self.accepts:
            if not grouped or when - grouped[-1] > 0.3:
                grouped.append(when)
        return grouped

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class BadServer:
    """Listens on a loopback port and either never answers or answers
    garbage (200 with an HTML body), until closed."""

    def __init__(self, garbage):
        self.garbage = garbage
        self.held = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            if self.garbage:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                             b"Content-Length: 11\r\nConnection: close\r\n\r\n<h1>hi</h1>")
                conn.close()
            else:
                self.held.append(conn)

    def close(self):
        # shutdown() wakes the thread blocked in accept(); close() alone
        # would leave the port bound until it returned.
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self.held:
            conn.close()


class TransportTestCase(AgentTestCase):

    def setUp(self):
        super().setUp()
        self.port = None
        self.server = None

    def start_server(self, port=0, ttl=None, interval=None):
        argv = [SERVER, "--listen", "127.0.0.1:%d" % port, "--dev", "--rate-limit", "1000",
                "--rate-burst", "1000"]
        if ttl is not None:
            argv += ["--ttl", str(ttl)]
        if interval is not None:
            argv += ["--interval", str(interval)]
        server = self.spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = server.proc.stdout.readline().strip()
        self.assertTrue(line.startswith("listening on "), "presence-server said %r" % line)
        self.port = int(line.rstrip("/").rsplit(":", 1)[1])
        self.server = server
        return server

    def stop_server(self):
        self.server.stop()
        self.server = None

    def start_agent_on(self, port, token="lena"):
        self.env["PRESENCE_TOKEN"] = token
        log = open(os.path.join(self.tmp.name, "agent.log"), "a")
        agent = self.spawn([AGENT, "-v", "--server", "http://127.0.0.1:%d" % port],
                           stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(lambda: self.get("Connection") == "connected", timeout=10,
                   message="the agent connected")
        return agent

    def presence(self, participant="lena", token=None):
        status, body = http_get(self.port, "/v1/presence?ids=" + participant, token or participant)
        self.assertEqual(status, 200, body)
        return json.loads(body)[participant]

    def wait_presence(self, state, timeout=2.0, token=None):
        wait_until(lambda: self.presence(token=token) == state, timeout=timeout,
                   message="the server saying %s" % state)

    def agent_log(self):
        with open(os.path.join(self.tmp.name, "agent.log")) as f:
            return f.read()

    # The cases

    def test_busy_and_auto(self):
        self.start_server()
        self.start_agent_on(self.port)
        self.wait_presence("online")
        self.call("SetBusy", "u", 0)
        self.wait_presence("busy")
        self.call("SetAuto")
        self.wait_presence("online")
        self.assertEqual(self.get("LastError"), "")
        self.assertGreater(self.get("LastHeartbeat"), 0)

    def test_status_text_multibyte(self):
        # 140 characters of three bytes each: accepted by the agent, sent
        # whole, accepted by the server and read back whole.
        self.start_server()
        self.start_agent_on(self.port)
        self.wait_presence("online")
        text = "日" * 140
        self.call("SetStatusText", "s", text)
        # The text goes with the next heartbeat: a state change sends one now.
        self.call("SetBusy", "u", 0)

        def stored():
            status, body = http_get(self.port, "/v1/instances", "lena")
            self.assertEqual(status, 200, body)
            return [i.get("status_text") for i in json.loads(body)["instances"]] == [text]
        wait_until(stored, timeout=5, message="the server reading back 140 × 日")
        self.assertEqual(self.get("StatusText"), text)
        self.assertEqual(self.get("Connection"), "connected")
        self.assertEqual(self.get("LastError"), "")
        # 141 are refused by the agent and change nothing.
        with self.assertRaises(GLib.Error) as refused:
            self.call("SetStatusText", "s", "日" * 141)
        self.assertIn("InvalidArgs", refused.exception.message)
        self.assertIn("140 characters", refused.exception.message)
        self.assertEqual(self.get("StatusText"), text)

    def test_appear_offline_privacy(self):
        self.start_server()
        proxy = RecordingProxy(self.port)
        self.addCleanup(proxy.close)
        self.start_agent_on(proxy.port)
        self.wait_presence("online")
        self.call("SetAppearOffline", "u", 0)
        wait_until(lambda: self.presence(token="lena") == "appear_offline", timeout=2,
                   message="the own token reading appear_offline")
        self.assertEqual(self.presence(token="bob"), "offline")

        # What the server stores for the device does not keep earlier details.
        status, body = http_get(self.port, "/v1/instances", "lena")
        self.assertEqual(status, 200, body)
        for instance in json.loads(body)["instances"]:
            self.assertEqual(instance["state"], "appear_offline")
            self.assertNotIn("host", instance)
            self.assertNotIn("last_input_seconds", instance)

        puts = [json.loads(body) for method, _, body in proxy.requests if method == "PUT"]
        hidden = [body for body in puts if body["state"] == "appear_offline"]
        shown = [body for body in puts if body["state"] == "online"]
        self.assertTrue(hidden and shown, puts)
        for body in hidden:
            for field in ("last_input_seconds", "host", "model_identifier", "device_family"):
                self.assertNotIn(field, body)
        # The capture does see host details when they may be shared
        # (unless this machine has no meaningful host name).
        if socket.gethostname() not in ("", "localhost"):
            self.assertIn("host", shown[0])

    def test_backoff_when_server_stopped(self):
        self.start_server()
        self.start_agent_on(self.port)
        port = self.port
        self.stop_server()
        listener = ClosingListener(port)
        self.addCleanup(listener.close)
        wait_until(lambda: len(listener.attempts()) >= len(BACKOFF_BOUNDS) + 1, timeout=30,
                   message="%d attempts" % (len(BACKOFF_BOUNDS) + 1))
        attempts = listener.attempts()
        gaps = [b - a for a, b in zip(attempts, attempts[1:])]
        print("retry gaps: %s s" % ", ".join("%.2f" % gap for gap in gaps))
        for gap, (low, high) in zip(gaps, BACKOFF_BOUNDS):
            self.assertGreaterEqual(gap, low - 0.1, gaps)
            self.assertLessEqual(gap, high + 0.4, gaps)
        self.assertEqual(self.get("Connection"), "error")
        self.assertNotEqual(self.get("LastError"), "")

    def recover_after_outage(self, failed_attempts):
        """Stops the server, lets the agent fail FAILED_ATTEMPTS times (the
        outage's length, counted by the agent itself), starts the server on
        the same port and measures until the agent is connected."""
        self.start_server()
        self.start_agent_on(self.port)
        port = self.port
        stopped = time.monotonic()
        self.stop_server()
        wait_until(lambda: "attempt %d," % (failed_attempts + 1) in self.get("LastError"),
                   timeout=5 * failed_attempts, message="%d failed attempts" % failed_attempts)
        error = self.get("LastError")
        self.assertIn("then every 2.4–3.6 s until the server answers", error)
        self.start_server(port=port)
        returned = time.monotonic()
        wait_until(lambda: self.get("Connection") == "connected", timeout=RECOVERY_S,
                   message="connected within %.0f s of the server's return" % RECOVERY_S)
        print("outage %.1f s (%r): connected %.2f s after the server returned"
              % (returned - stopped, error, time.monotonic() - returned))
        self.assertEqual(self.get("LastError"), "")
        self.wait_presence("online")

    def test_recovery_short_outage(self):
        self.recover_after_outage(1)

    def test_recovery_outage_past_the_cap(self):
        self.recover_after_outage(4)

    def test_recovery_long_outage(self):
        self.recover_after_outage(10)

    def recover_from(self, garbage, words):
        bad = BadServer(garbage)
        self.addCleanup(bad.close)
        self.env["PRESENCE_TOKEN"] = "lena"
        log = open(os.path.join(self.tmp.name, "agent.log"), "a")
        self.spawn([AGENT, "-v", "--server", "http://127.0.0.1:%d" % bad.port],
                   stdout=log, stderr=subprocess.STDOUT)
        log.close()
        started = time.monotonic()
        # A hanging server is given up on after the request's deadline
        # (PRES_HTTP_REQUEST_TIMEOUT_S, 9 s), counted from the agent's
        # first request: its start-up comes on top, seconds on a loaded
        # machine under ASan.
        wait_until(lambda: words in (self.get("LastError") or ""), timeout=9 + 15,
                   message="LastError saying %r" % words)
        print("LastError %r after %.2f s" % (self.get("LastError"), time.monotonic() - started))
        self.assertEqual(self.get("Connection"), "error")
        bad.close()
        self.start_server(port=bad.port)
        wait_until(lambda: self.get("Connection") == "connected", timeout=10,
                   message="recovery once a good server is back")
        self.assertEqual(self.get("LastError"), "")
        self.wait_presence("online")

    def test_hanging_server_then_good(self):
        self.recover_from(garbage=False, words="did not answer")

    def test_garbage_server_then_good(self):
        self.recover_from(garbage=True, words="not a presence reply")

    def test_server_restarted_empty(self):
        self.start_server()
        self.start_agent_on(self.port)
        self.call("SetBusy", "u", 0)
        self.wait_presence("busy")
        port = self.port
        self.stop_server()
        self.start_server(port=port)
        returned = time.monotonic()
        self.wait_presence("busy", timeout=2.0)
        print("state back %.2f s after the server returned" % (time.monotonic() - returned))

    def test_kill_agent(self):
        ttl = 3
        self.start_server(ttl=ttl, interval=1)
        agent = self.start_agent_on(self.port)
        self.wait_presence("online")
        agent.signal(signal.SIGKILL)
        killed = time.monotonic()
        self.wait_presence("offline", timeout=ttl + 1)
        print("offline %.2f s after kill -9" % (time.monotonic() - killed))

    def test_sigterm_leaves(self):
        self.start_server()
        agent = self.start_agent_on(self.port)
        self.wait_presence("online")
        agent.signal(signal.SIGTERM)
        self.wait_presence("offline", timeout=1.0)
        self.assertEqual(agent.wait(timeout=3), 0)
        self.assertIn("Leave (quit)", self.agent_log())

    def test_reconnect(self):
        self.start_server()
        self.start_agent_on(self.port)
        before = self.get("LastHeartbeat")
        wait_until(lambda: int(time.time() * 1000) > before, timeout=1)
        self.call("Reconnect")
        wait_until(lambda: self.get("LastHeartbeat") > before, timeout=2,
                   message="a heartbeat after Reconnect")
        self.assertEqual(self.get("Connection"), "connected")

    def test_token_never_logged(self):
        self.start_server()
        self.start_agent_on(self.port, token="lena-secret-token")
        self.call("SetBusy", "u", 0)
        wait_until(lambda: self.presence("lena-secret-token") == "busy", timeout=2)
        agent_log = self.agent_log()
        self.assertIn("Heartbeat", agent_log)
        self.assertNotIn("lena-secret-token", agent_log)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1] + sys.argv[1:], verbosity=2)
