"""Helpers for the presence-server integration tests: the real binary on
127.0.0.1 port 0, HTTP requests, and a minimal WebSocket client (RFC 6455,
text frames), standard library only.  Waits are on conditions with
deadlines."""

import base64
import http.client
import json
import os
import select
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

TOKENS = """\
# token participant flags
tok-lena lena
tok-bob bob
tok-bot claude-bot always-online
tok-ops ops admin
"""


class Fail(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Fail(what)


def wait_for(predicate, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Fail("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


class Server:
    def __init__(self, binary, *args, tokens=TOKENS):
        self.tmp = tempfile.TemporaryDirectory(prefix="pres-server-test-")
        cmd = [binary, "--listen", "127.0.0.1:0"]
        if tokens is not None:
            path = os.path.join(self.tmp.name, "tokens")
            # The server refuses a tokens file that others may read.
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(tokens)
            cmd += ["--tokens", path]
        cmd += list(args)
        wrapper = os.environ.get("PRES_TEST_WRAPPER")
        if wrapper:
            cmd = shlex.split(wrapper) + cmd
        self.stderr = open(os.path.join(self.tmp.name, "stderr"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr,
                                     start_new_session=True)
        self.port = self._read_port(timeout=30 if wrapper else 10)

    def _read_port(self, timeout):
        deadline = time.monotonic() + timeout
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                raise Fail("server did not print its port: %r %s" % (line, self.errors()))
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    continue
                line += chunk
        text = line.decode()
        check(text.startswith("listening on http://127.0.0.1:"), "unexpected first line %r" % text)
        return int(text.rstrip().rstrip("/").rsplit(":", 1)[1])

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read()

    def request(self, method, path, body=None, token=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return resp.status, dict(resp.getheaders()), data

    def json(self, method, path, body=None, token=None, headers=None):
        status, hdrs, data = self.request(method, path, body, token, headers)
        try:
            parsed = json.loads(data)
        except ValueError:
            raise Fail("%s %s → %d with a non-JSON body %r" % (method, path, status, data))
        return status, hdrs, parsed

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            raise Fail("server did not exit within %d s of signal %d" % (timeout, sig))


def heartbeat(state, session="s1", seq=1, **extra):
    body = {"state": state, "session": session, "seq": seq}
    body.update(extra)
    return body


def snapshot(server):
    """Everything a rejection must leave as it was, read back over HTTP."""
    status, _, own = server.json("GET", "/v1/instances", token="tok-ops")
    check(status == 200, "reading back failed: %d %r" % (status, own))
    # ts and expires_at_ms are read off the monotonic clock as wall time:
    # they may differ by a millisecond between two reads of the same state.
    for inst in own["instances"]:
        inst.pop("ts", None)
        inst.pop("expires_at_ms", None)
    return sorted(own["instances"], key=lambda i: (i["participant_id"], i["instance_id"]))


def expect_rejected(server, method, path, body, token, status, code, raw=None, headers=None):
    before = snapshot(server)
    if raw is not None:
        got, hdrs, data = server.request(method, path, raw, token, headers)
        err = json.loads(data)
    else:
        got, hdrs, err = server.json(method, path, body, token, headers)
    check(got == status, "%s %s: status %d, wanted %d (%r)" % (method, path, got, status, err))
    check(hdrs.get("Content-Type", "").startswith("application/json"), "error is not JSON")
    check(isinstance(err.get("error"), dict), "no error object in %r" % err)
    check(err["error"].get("code") == code, "code %r, wanted %r" % (err["error"].get("code"), code))
    check(isinstance(err["error"].get("message"), str) and err["error"]["message"],
          "no message in %r" % err)
    check(snapshot(server) == before, "store changed after a rejected %s %s" % (method, path))
    return hdrs, err


def seed(server):
    status, _, reply = server.json("PUT", "/v1/instances/laptop", heartbeat("busy", seq=5),
                                   token="tok-lena")
    check(status == 200 and reply["state"] == "busy", "seed failed: %r" % reply)


# --- WebSocket client (RFC 6455, text frames only) --------------------------

class WebSocket:
    def __init__(self, port, token, path="/v1/stream", protocols=None):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                   "Sec-WebSocket-Version: 13\r\n" % (path, port, key))
        if token is not None:
            request += "Authorization: Bearer %s\r\n" % token
        if protocols is not None:
            request += "Sec-WebSocket-Protocol: %s\r\n" % protocols
        self.sock.sendall((request + "\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(head.split(b" ")[1]) if head else 0
        self.headers = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()

    def send(self, obj):
        payload = json.dumps(obj).encode()
        mask = os.urandom(4)
        header = bytes([0x81])
        if len(payload) < 126:
            header += bytes([0x80 | len(payload)])
        elif len(payload) < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", len(payload))
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _need(self, n, deadline):
        while len(self.buf) < n:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            if not chunk:
                raise Fail("WebSocket closed by the server")
            self.buf += chunk
        return True

    def recv(self, timeout=5.0):
        """The next text message as JSON, or None when none came in time."""
        deadline = time.monotonic() + timeout
        while True:
            if not self._need(2, deadline):
                return None
            opcode = self.buf[0] & 0x0F
            length = self.buf[1] & 0x7F
            offset = 2
            if length == 126:
                if not self._need(4, deadline):
                    return None
                length = struct.unpack("!H", self.buf[2:4])[0]
                offset = 4
            elif length == 127:
                if not self._need(10, deadline):
                    return None
                length = struct.unpack("!Q", self.buf[2:10])[0]
                offset = 10
            if not self._need(offset + length, deadline):
                return None
            payload = self.buf[offset:offset + length]
            self.buf = self.buf[offset + length:]
            if opcode == 0x1:
                return json.loads(payload)
            if opcode == 0x8:
                raise Fail("WebSocket closed by the server: %r" % payload)

    def close(self):
        self.sock.close()


def run_case(cases):
    """The main of a case file: CASES maps each case's name to its function,
    which takes the presence-server binary; argv is BINARY CASE."""
    if len(sys.argv) < 3 or sys.argv[2] not in cases:
        print("usage: %s PRESENCE_SERVER CASE\ncases: %s" % (sys.argv[0], " ".join(cases)))
        return 2
    try:
        cases[sys.argv[2]](sys.argv[1])
    except Fail as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS: %s" % sys.argv[2])
    return 0


def cases_of(namespace):
    """The case_* functions of a module's globals, named as meson names them."""
    return {name[len("case_"):].replace("_", "-"): fn
            for name, fn in namespace.items() if name.startswith("case_")}
