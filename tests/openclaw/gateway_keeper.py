#!/usr/bin/python3
"""Keeps one OpenClaw gateway for the cases that can share it.

Started by openclaw_bed.lease_shared_gateway() under `unshare --net`, so the
gateway it runs lives in a network namespace with only lo; the cases join
that namespace (nsenter) instead of making their own. A case holds a lease
for as long as it runs: a connection to the keeper's Unix socket, which
answers with one JSON line (port, log). When the last lease has been closed
for IDLE_SECONDS, or the gateway exits, the keeper stops the gateway by
process group and exits: nothing outlives the suite by more than that.

  gateway_keeper.py WORKDIR OPENCLAW_ROOT TOKEN SOCKET
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time

import openclaw_bed as bed

# Longer than the gap between two cases that share the gateway while other
# tests hold the suite's slots, short beside the suite itself.
IDLE_SECONDS = 90


def main():
    workdir, root, token, path = sys.argv[1:5]
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    gateway = bed.Gateway(root, workdir, token)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print("gateway ready in %.1f s on port %d" % (gateway.start_ready(), gateway.port),
              flush=True)
        serve(gateway, path)
        # A clean end leaves nothing behind; a failed one keeps its logs.
        gateway.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        gateway.stop()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def serve(gateway, path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    exited = os.pidfd_open(gateway.proc.pid)
    leases = set()
    idle_since = time.monotonic()
    while True:
        timeout = None if leases else max(0.0, idle_since + IDLE_SECONDS - time.monotonic())
        if timeout == 0.0:
            print("no lease for %d s: stopping" % IDLE_SECONDS, flush=True)
            # Unlinked first: a case that comes now starts a new keeper.
            os.unlink(path)
            listener.close()
            return
        readable, _, _ = select.select([listener, exited, *leases], [], [], timeout)
        if exited in readable:
            print("the gateway exited with %s:\n%s" % (gateway.proc.wait(), gateway.log_tail()),
                  flush=True)
            sys.exit(1)
        for conn in readable:
            if conn is listener:
                lease, _ = listener.accept()
                lease.sendall((json.dumps({"port": gateway.port, "log": gateway.log_path})
                               + "\n").encode())
                leases.add(lease)
            elif conn in leases:
                # A lease says nothing; readable means its holder is gone.
                leases.discard(conn)
                conn.close()
                if not leases:
                    idle_since = time.monotonic()


if __name__ == "__main__":
    main()
