#!/usr/bin/python3
"""Real input for Mutter: holds a RemoteDesktop session on the session bus.

A RemoteDesktop session lives as long as the D-Bus connection that created
it, so this process stays up and injects on request: each line on stdin
("motion" or "key") becomes the matching Notify* call, answered by a line
"ok <monotonic seconds after the call returned>" on stdout.
"""

import sys
import time

from gi.repository import Gio, GLib

RD_NAME = "org.gnome.Mutter.RemoteDesktop"
RD_PATH = "/org/gnome/Mutter/RemoteDesktop"
KEY_LEFTSHIFT = 42


def call(bus, path, iface, method, args=None, reply=None):
    return bus.call_sync(RD_NAME, path, iface, method, args,
                         GLib.VariantType(reply) if reply else None,
                         Gio.DBusCallFlags.NONE, 5000, None)


def main():
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    session = call(bus, RD_PATH, RD_NAME, "CreateSession", reply="(o)").unpack()[0]
    # Relative motion and keys need no ScreenCast stream.
    call(bus, session, RD_NAME + ".Session", "Start")
    print("ready", flush=True)
    for line in sys.stdin:
        what = line.strip()
        if what == "motion":
            call(bus, session, RD_NAME + ".Session", "NotifyPointerMotionRelative",
                 GLib.Variant("(dd)", (3.0, 3.0)))
        elif what == "key":
            for pressed in (True, False):
                call(bus, session, RD_NAME + ".Session", "NotifyKeyboardKeycode",
                     GLib.Variant("(ub)", (KEY_LEFTSHIFT, pressed)))
        else:
            print("unknown %r" % what, flush=True)
            continue
        print("ok %.3f" % time.monotonic(), flush=True)


if __name__ == "__main__":
    main()
