#!/usr/bin/python3
"""The roster page's part of the real presence-server: its routes and
headers, what it reads (/healthz, who a token is), and the stream's second
way to authenticate, the bearer subprotocol a browser can send.

Usage: roster-integration.py PRESENCE_SERVER CASE
"""

import http.client
import sys

from presence_testlib import Server, WebSocket, cases_of, check, heartbeat, run_case

PAGE_PATHS = {
    "/": "text/html; charset=utf-8",
    "/roster": "text/html; charset=utf-8",
    "/roster/roster.css": "text/css; charset=utf-8",
    "/roster/roster.js": "text/javascript; charset=utf-8",
}
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def subscribers(server):
    _, _, data = server.request("GET", "/metrics")
    for line in data.decode().splitlines():
        if line.startswith("presence_stream_subscribers "):
            return int(line.split()[1])
    raise AssertionError("no presence_stream_subscribers in /metrics")


# --- cases -------------------------------------------------------------------

def case_page_routes(binary):
    server = Server(binary)
    try:
        for path, content_type in PAGE_PATHS.items():
            status, headers, body = server.request("GET", path)
            check(status == 200, "GET %s → %d" % (path, status))
            check(headers["Content-Type"] == content_type, "%s: %r" % (path, headers))
            check(headers["Content-Security-Policy"] == CSP, "%s CSP %r" % (path, headers))
            check(headers["X-Content-Type-Options"] == "nosniff", "%s nosniff" % path)
            check(headers["Referrer-Policy"] == "no-referrer", "%s referrer" % path)
            check(headers["Cache-Control"] == "no-cache", "%s cache %r" % (path, headers))
            check(int(headers["Content-Length"]) == len(body) > 0, "%s length" % path)
            # HEAD: the same head, no body.
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conn.request("HEAD", path)
            head = conn.getresponse()
            check(head.status == 200 and head.read() == b"", "HEAD %s" % path)
            check(int(head.getheader("Content-Length")) == len(body), "HEAD %s length" % path)
            conn.close()
            for method in ("POST", "PUT", "DELETE"):
                status, headers, _ = server.request(method, path, body="{}")
                check(status == 405 and headers.get("Allow") == "GET, HEAD",
                      "%s %s → %d %r" % (method, path, status, headers))
        _, _, page = server.request("GET", "/")
        check(b"<script type=\"module\" src=\"/roster/roster.js\">" in page, "the module")
        check(b"style=" not in page and b"<style" not in page, "inline style in the page")
        for path in ("/roster/", "/roster/other.js", "/rosterx", "/index.html"):
            status, _, _ = server.request("GET", path)
            check(status == 404, "GET %s → %d" % (path, status))
        # The API's routes are untouched by the page's "/".
        status, _, _ = server.request("GET", "/v1/nowhere")
        check(status == 404, "GET /v1/nowhere → %d" % status)
    finally:
        server.stop()


def case_reader_facts(binary):
    server = Server(binary, "--ttl", "9", "--interval", "3")
    try:
        status, _, health = server.json("GET", "/healthz")
        check(status == 200 and health == {"status": "ok", "ttl_ms": 9000, "interval_ms": 3000},
              "healthz %r" % health)
        # Who a token is, before it has any instance.
        status, _, own = server.json("GET", "/v1/instances", token="tok-bob")
        check(status == 200 and own == {"participant_id": "bob", "instances": []}, "own %r" % own)
        server.json("PUT", "/v1/instances/laptop", heartbeat("online", host="lena-laptop"),
                    token="tok-lena")
        _, _, everyone = server.json("GET", "/v1/instances", token="tok-ops")
        check(everyone["participant_id"] == "ops", "admin %r" % everyone)
        check([i["host"] for i in everyone["instances"]] == ["lena-laptop"], "admin %r" % everyone)
    finally:
        server.stop()


def case_ws_subprotocol_auth(binary):
    server = Server(binary)
    try:
        ws = WebSocket(server.port, None, protocols="presence.v1, bearer.tok-bob")
        check(ws.status == 101, "handshake status %d" % ws.status)
        check(ws.headers.get("sec-websocket-protocol") == "presence.v1",
              "answered protocol %r" % ws.headers)
        ws.send({"op": "sub", "ids": ["lena"]})
        msg = ws.recv()
        check(msg and msg["op"] == "snapshot" and msg["states"] == {"lena": "offline"},
              "snapshot %r" % msg)
        ws.close()
        # With the header, a client offering presence.v1 gets it answered.
        ws = WebSocket(server.port, "tok-bob", protocols="presence.v1")
        check(ws.status == 101 and ws.headers.get("sec-websocket-protocol") == "presence.v1",
              "header auth with the protocol: %d %r" % (ws.status, ws.headers))
        ws.close()
    finally:
        server.stop()


def case_ws_subprotocol_refused(binary):
    server = Server(binary)
    try:
        # One stream that is let in, so the gauge is seen counting.
        good = WebSocket(server.port, None, protocols="presence.v1, bearer.tok-lena")
        check(good.status == 101 and subscribers(server) == 1, "the stream let in")
        for offered in ("presence.v1, bearer.tok-nobody", "bearer.tok-bob", "presence.v1",
                        "presence.v1, bearer."):
            ws = WebSocket(server.port, None, protocols=offered)
            check(ws.status == 401, "%r: handshake status %d" % (offered, ws.status))
            check("sec-websocket-protocol" not in ws.headers, "%r: %r" % (offered, ws.headers))
            check(b"bearer.<token>" in ws.buf, "%r: the error says how: %r" % (offered, ws.buf))
            check(b"tok-" not in ws.buf, "%r: the token echoed: %r" % (offered, ws.buf))
            ws.close()
        check(subscribers(server) == 1, "a refused handshake subscribed")
        good.close()
    finally:
        server.stop()


CASES = cases_of(globals())

if __name__ == "__main__":
    sys.exit(run_case(CASES))
