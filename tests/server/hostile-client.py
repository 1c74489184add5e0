#!/usr/bin/python3
"""What a hostile client tries against the real presence-server binary on
127.0.0.1: each case reproduces one hole that a hand-made attack run found,
and checks that it stays closed.

Usage: hostile-client.py PRESENCE_SERVER CASE
"""

import os
import socket
import subprocess
import sys
import tempfile
import time

from presence_testlib import (Fail, Server, cases_of, check, expect_rejected, heartbeat, run_case,
                              seed, snapshot)

# presence-server's fixed time for a request head and body from its first byte.
REQUEST_TIMEOUT_S = 10


def raw_exchange(server, data, timeout=10):
    """Sends data on a fresh connection and reads until the server closes."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=timeout)
    try:
        sock.sendall(data)
        reply = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return reply
            reply += chunk
    finally:
        sock.close()


def status_of(reply):
    check(reply.startswith(b"HTTP/1.1 "), "not an HTTP answer: %r" % reply[:80])
    return int(reply.split(b" ", 2)[1])


# --- cases -------------------------------------------------------------------

def case_lowercase_method(binary):
    """Methods are case-sensitive: "get" is not GET."""
    server = Server(binary)
    try:
        for method in [b"get", b"Get", b"put"]:
            reply = raw_exchange(server, method + b" /healthz HTTP/1.1\r\nHost: x\r\n"
                                 b"Connection: close\r\n\r\n")
            check(status_of(reply) == 400, "%s /healthz: %r" % (method, reply[:60]))
            check(b'"bad_request"' in reply and b"case-sensitive" in reply,
                  "no clear error: %r" % reply)
        reply = raw_exchange(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(status_of(reply) == 200, "GET /healthz: %r" % reply[:60])
    finally:
        server.stop()


def case_two_authorizations(binary):
    """Two credentials: the server must not pick one."""
    server = Server(binary)
    try:
        seed(server)
        before = snapshot(server)
        body = b'{"state":"online","session":"s1","seq":9}'
        for second in [b"Bearer tok-bob", b"Bearer tok-lena"]:
            request = (b"PUT /v1/instances/laptop HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                       b"Authorization: Bearer tok-lena\r\nAuthorization: " + second +
                       b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            reply = raw_exchange(server, request)
            check(status_of(reply) == 400, "two Authorizations: %r" % reply[:60])
            check(b"Authorization" in reply, "no clear error: %r" % reply)
        check(snapshot(server) == before, "a refused request changed the store")
    finally:
        server.stop()


def case_method_not_allowed(binary):
    """Every route answers a method it does not take with 405 and Allow."""
    server = Server(binary)
    try:
        seed(server)
        routes = [
            ("POST", "/healthz", None, "GET, HEAD"),
            ("PUT", "/healthz", None, "GET, HEAD"),
            ("DELETE", "/metrics", None, "GET, HEAD"),
            ("POST", "/v1/presence?ids=lena", "tok-bob", "GET"),
            ("POST", "/v1/instances", "tok-bob", "GET"),
            ("GET", "/v1/instances/laptop", "tok-lena", "PUT, DELETE"),
            ("POST", "/v1/stream", "tok-bob", "GET"),
            ("POST", "/", None, "GET, HEAD"),
            ("PUT", "/roster", None, "GET, HEAD"),
            ("DELETE", "/roster/roster.js", None, "GET, HEAD"),
        ]
        for method, path, token, allow in routes:
            hdrs, _ = expect_rejected(server, method, path, None, token, 405, "method_not_allowed",
                                      raw="")
            check(hdrs.get("Allow") == allow,
                  "%s %s: Allow %r, wanted %r" % (method, path, hdrs.get("Allow"), allow))
        status, _, body = server.json("GET", "/healthz")
        check(status == 200 and body.get("status") == "ok", "GET /healthz: %r" % body)
        status, _, _ = server.request("HEAD", "/healthz")
        check(status == 200, "HEAD /healthz: %d" % status)
    finally:
        server.stop()


def case_slowloris(binary):
    """A head trickling in a byte a second is cut off at a fixed time from its
    first byte, although each byte comes well within the idle timeout."""
    server = Server(binary)
    try:
        # A byte, then half a second waiting for an answer, again and again.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=0.5)
        request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        started = time.monotonic()
        reply = b""
        sent = 0
        # The idle timeout is TTL + 5 s = 80 s: without a request deadline the
        # connection would still be open when this gives up.
        while time.monotonic() - started < REQUEST_TIMEOUT_S + 8:
            try:
                sock.sendall(request[sent:sent + 1])
                sent += 1
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                chunk = None
            if chunk == b"":
                break
            if chunk:
                reply += chunk
                if b"\r\n\r\n" in reply:
                    break
        sock.close()
        check(reply, "still no answer %.1f s after the first byte (%d bytes sent)" %
              (time.monotonic() - started, sent))
        check(status_of(reply) == 408 and b'"request_timeout"' in reply,
              "trickled head answered %r" % reply[:120])
        status, _, _ = server.json("GET", "/healthz")
        check(status == 200, "server unwell after a slow client: %d" % status)
    finally:
        server.stop()


def case_tokens_open_to_others(binary):
    """A tokens file others may read is refused at start, with the fix."""
    with tempfile.TemporaryDirectory(prefix="pres-tokens-") as tmp:
        path = os.path.join(tmp, "tokens")
        with open(path, "w") as f:
            f.write("tok-lena lena\n")
        for mode in [0o644, 0o640, 0o604]:
            os.chmod(path, mode)
            proc = subprocess.Popen([binary, "--listen", "127.0.0.1:0", "--tokens", path],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    start_new_session=True)
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.communicate()
                raise Fail("started and kept running with a tokens file of mode %o" % mode)
            err = err.decode()
            check(proc.returncode != 0, "exit status 0 with a tokens file of mode %o" % mode)
            check(b"listening" not in out, "listened with mode %o" % mode)
            check("too open" in err and "chmod 600" in err and path in err,
                  "mode %o: unclear message %r" % (mode, err))
    server = Server(binary)  # writes its tokens file 0600
    try:
        status, _, _ = server.json("GET", "/healthz")
        check(status == 200, "a private tokens file: %d" % status)
    finally:
        server.stop()


def case_status_text_multibyte(binary):
    """140 characters of three-byte text are accepted whole and read back;
    141 are refused with a clear 400 that changes nothing."""
    server = Server(binary)
    try:
        text = "日" * 140
        status, _, reply = server.json("PUT", "/v1/instances/laptop",
                                       heartbeat("online", status_text=text), token="tok-lena")
        check(status == 200, "140 × 日 (420 bytes) refused: %d %r" % (status, reply))
        _, _, own = server.json("GET", "/v1/instances", token="tok-lena")
        check(own["instances"][0].get("status_text") == text, "read back %r" % own)
        four_bytes = "😀" * 140
        status, _, reply = server.json("PUT", "/v1/instances/laptop",
                                       heartbeat("online", seq=2, status_text=four_bytes),
                                       token="tok-lena")
        check(status == 200, "140 × 😀 (560 bytes) refused: %d %r" % (status, reply))
        _, err = expect_rejected(server, "PUT", "/v1/instances/laptop",
                                 heartbeat("online", seq=3, status_text="日" * 141), "tok-lena",
                                 400, "invalid_field")
        check("status_text" in err["error"]["message"] and "140 characters" in
              err["error"]["message"], "unclear message %r" % err)
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(run_case(cases_of(globals())))
