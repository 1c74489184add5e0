#!/usr/bin/python3
"""The roster page as presence-server serves it weighs under 30 KB: HTML,
CSS and JS uncompressed, read from the running binary (what the browser
gets), not from the source tree.

Usage: page-weight.py PRESENCE_SERVER
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "server"))
from presence_testlib import Server  # noqa: E402

LIMIT_BYTES = 30000  # "under 30 KB", in round decimal bytes
PARTS = ["/", "/roster/roster.css", "/roster/roster.js"]


def main():
    server = Server(sys.argv[1], "--dev", tokens=None)
    try:
        sizes = {}
        for path in PARTS:
            status, _, body = server.request("GET", path)
            if status != 200:
                print("FAIL: GET %s → %d" % (path, status))
                return 1
            sizes[path] = len(body)
    finally:
        server.stop()
    total = sum(sizes.values())
    for path, size in sizes.items():
        print("%-20s %6d B" % (path, size))
    print("%-20s %6d B of %d" % ("total", total, LIMIT_BYTES))
    if total >= LIMIT_BYTES:
        print("FAIL: the page weighs %d B, the limit is %d" % (total, LIMIT_BYTES))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
