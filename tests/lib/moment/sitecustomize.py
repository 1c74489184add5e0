"""Loaded by every Python process started under tests/lib/at-moment.py: the
test's wall clock moves by the same offset as the faked binaries'."""

import os
import time

_offset = int(os.environ.get("PRES_TEST_CLOCK_OFFSET", "0"))
if _offset:
    _time, _time_ns = time.time, time.time_ns
    _localtime, _gmtime, _strftime, _ctime = time.localtime, time.gmtime, time.strftime, time.ctime

    time.time = lambda: _time() + _offset
    time.time_ns = lambda: _time_ns() + _offset * 1_000_000_000
    time.localtime = lambda seconds=None: _localtime(time.time() if seconds is None else seconds)
    time.gmtime = lambda seconds=None: _gmtime(time.time() if seconds is None else seconds)
    time.strftime = lambda fmt, t=None: _strftime(fmt, time.localtime() if t is None else t)
    time.ctime = lambda seconds=None: _ctime(time.time() if seconds is None else seconds)
