#!/usr/bin/python3
"""The roster page with 1,000 members: the time to apply 100 member events.

    bench/roster-render.py --builddir BUILD [--runs 15] [--participants 100 --devices 10]

presence-server --dev on loopback, 100 participants of 10 devices each
(1,000 rows), a page of Debian's chromium (headless, playwright-core, as
tests/roster drives it) watching them all. Each run sends 100 heartbeats
that change the state of 100 random members, pipelined on one keep-alive
connection; the stream brings them as update events in a few coalesced
deltas. Per run, from the page's own performance measures:

  apply    main-thread time of the page's message handlers for those deltas
           (parse, model, DOM), summed
  painted  from the first of those deltas to the first animation frame
           callback that finds every row in its new state (the page's own
           frames, watched in the page): what a user waits for

and, while the page is at rest, the once-a-second tick that moves "12 s
ago" on and re-checks staleness over every row. Median and p95 over the
runs (p95 of a few runs is close to their maximum).
"""

import argparse
import json
import os
import random
import socket
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STATES = ("online", "busy")

# The page's measures since a moment of its clock, and when the last one ended.
MEASURES_JS = """() => {
  const since = window.__benchSince || 0;
  const apply = performance.getEntriesByName('roster-apply').filter((e) => e.startTime >= since);
  return { apply: apply.map((e) => e.duration), first: apply.length ? apply[0].startTime : null };
}"""


# The first animation frame at which the page shows that many busy rows.
FRAME_JS = """() => new Promise((done) => {
  const check = () => document.querySelectorAll('tr[data-state=busy]').length === %d
    ? done(performance.now()) : requestAnimationFrame(check);
  requestAnimationFrame(check);
})"""


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--builddir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    os.environ["PRES_BUILDDIR"] = os.path.abspath(args.builddir)
    sys.path.insert(0, os.path.join(ROOT, "tests", "roster"))
    import rosterbed

    if rosterbed.SKIP:
        sys.exit("roster-render: " + rosterbed.SKIP)
    ids = ["p%03d" % i for i in range(args.participants)]
    members = [(p, "d%d" % d) for p in ids for d in range(args.devices)]
    state = {m: "online" for m in members}
    seq = {m: 0 for m in members}

    server = rosterbed.Group([rosterbed.SERVER, "--dev", "--listen", "127.0.0.1:0",
                              "--rate-limit", "100000", "--rate-burst", "100000"],
                             stdout=rosterbed.subprocess.PIPE, text=True)
    log = tempfile.TemporaryFile("w+")
    browser = None
    try:
        port = int(server.proc.stdout.readline().strip().rstrip("/").rsplit(":", 1)[1])
        sock = socket.create_connection(("127.0.0.1", port))

        def beat(chosen):
            """Heartbeats pipelined on one connection: the run's events come
            as fast as the server takes them, not one round trip apart."""
            out = b""
            for member in chosen:
                seq[member] += 1
                body = json.dumps({"state": state[member], "session": "s", "seq": seq[member],
                                   "host": "host-" + member[1]}).encode()
                out += (b"PUT /v1/instances/%s HTTP/1.1\r\nHost: bench\r\n"
                        b"Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n"
                        % (member[1].encode(), member[0].encode(), len(body))) + body
            sock.sendall(out)
            data, answered = b"", 0
            while answered < len(chosen):
                head_end = data.find(b"\r\n\r\n")
                if head_end >= 0:
                    head = data[:head_end].decode()
                    length = int(head.lower().split("content-length:")[1].split("\r\n")[0])
                    if len(data) >= head_end + 4 + length:
                        if not head.startswith("HTTP/1.1 200"):
                            sys.exit("heartbeat → " + head.splitlines()[0])
                        data = data[head_end + 4 + length:]
                        answered += 1
                        continue
                data += sock.recv(65536)

        for i in range(0, len(members), 100):
            beat(members[i:i + 100])
        browser = rosterbed.Browser(log)
        page = rosterbed.Page(browser, "http://127.0.0.1:%d/" % port,
                              viewport={"width": 1280, "height": 900})
        page.eval("() => sessionStorage.setItem('presence.watch', %s)" % json.dumps(json.dumps(ids)))
        page.sign_in("viewer")
        rows = "() => document.querySelectorAll('tbody tr').length"
        rosterbed.wait_for(lambda: page.eval(rows) == len(members), 30, "1,000 rows")
        print("%d rows on the page (chromium %s)" % (page.eval(rows), browser.call("eval",
              page=page.id, js="() => navigator.userAgent.match(/Chrome\\/([\\d.]+)/)[1]")))

        applied, painted, deltas = [], [], []
        rng = random.Random(17)
        for _ in range(args.runs):
            page.eval("() => { window.__benchSince = performance.now(); }")
            chosen = rng.sample(members, args.events)
            for member in chosen:
                state[member] = STATES[1 - STATES.index(state[member])]
            busy = sum(1 for m in members if state[m] == "busy")
            # The page watches its own frames; the beats go out meanwhile.
            browser.send("eval", page=page.id, js=FRAME_JS % busy)
            beat(chosen)
            frame = browser.receive(timeout=10)
            measures = page.eval(MEASURES_JS)
            applied.append(sum(measures["apply"]))
            deltas.append(len(measures["apply"]))
            painted.append(frame - measures["first"])
            time.sleep(0.3)  # a quiet period between runs, so each starts a fresh delta

        ticks = page.eval("() => performance.getEntriesByName('roster-tick')"
                          ".slice(-10).map((e) => e.duration)")
        print("%d runs of %d events on %d rows:" % (args.runs, args.events, len(members)))
        for name, values in (("apply", applied), ("painted", painted), ("tick", ticks)):
            print("  %-8s median %6.1f ms   p95 %6.1f ms   (n=%d)"
                  % (name, statistics.median(values), percentile(values, 95), len(values)))
        print("  deltas per run: median %d, max %d" % (statistics.median(deltas), max(deltas)))
    finally:
        if browser is not None:
            browser.stop()
        server.stop()
        log.close()


if __name__ == "__main__":
    main()
