#!/usr/bin/python3
"""Runs a test with the wall clock at a chosen moment, in a chosen zone.

  at-moment.py "YYYY-MM-DD HH:MM[:SS]" ZONE COMMAND...

The moment is local time in ZONE (an Olson name, e.g. Europe/Berlin); where
it is ambiguous (the repeated hour of a DST change) it is the first, summer
time one. The binaries the test starts through PRES_TEST_WRAPPER (the agent,
presencectl) see the wall clock moved by that offset through libfaketime,
and the test's own Python clock (time.time, localtime, strftime) by the same
offset, so they agree, and it runs on from the moment as real time does; TZ
is ZONE for all. The monotonic clock is left alone: the agent's timers
depend on it. The
moment is in PRES_TEST_MOMENT, for cases that check what it implies. Exits
77 (skip) when libfaketime is not installed.
"""

import calendar
import datetime
import os
import sys
import time
import zoneinfo

LIBRARIES = ["/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
             "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
             "/usr/lib/faketime/libfaketime.so.1"]


def main():
    moment, zone, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    library = next((path for path in LIBRARIES if os.path.exists(path)), None)
    if library is None:
        print("SKIP: libfaketime is not installed (tools/install-deps installs it)")
        sys.exit(77)
    local = datetime.datetime.fromisoformat(moment).replace(tzinfo=zoneinfo.ZoneInfo(zone))
    target = calendar.timegm(local.utctimetuple())
    offset = target - int(time.time())
    env = dict(os.environ)
    # Only the binaries under test: libfaketime breaks Python's sleeps, so
    # the test's own clock follows through sitecustomize.py beside this file.
    faked = ["env", "LD_PRELOAD=" + library, "FAKETIME=%+d" % offset,
             "DONT_FAKE_MONOTONIC=1", "FAKETIME_DONT_RESET=1"]
    env.update({
        "PRES_TEST_WRAPPER": " ".join(faked + [env.get("PRES_TEST_WRAPPER", "")]).strip(),
        "PRES_TEST_CLOCK_OFFSET": str(offset),
        "PYTHONPATH": os.pathsep.join(filter(None, [
            os.path.join(os.path.dirname(os.path.abspath(__file__)), "moment"),
            env.get("PYTHONPATH")])),
        "TZ": zone,
        "PRES_TEST_MOMENT": "%s %s" % (moment, zone),
    })
    print("wall clock at %s %s (%+d s), monotonic clock untouched" % (moment, zone, offset),
          flush=True)
    os.execvpe(command[0], command, env)


if __name__ == "__main__":
    main()
