#!/usr/bin/python3
"""Real input for Mutter: holds a RemoteDesktop session on the session bus.

A RemoteDesktop session lives as long as the D-Bus connection that created
it, so this process stays up and injects on request: each line on stdin
("motion" or "key") becomes the matching Notify* call, answered by a line
"ok <monotonic seconds>" on stdout once Mutter's idle time shows the input.
A fresh Mutter creates its virtual input devices in the background and
drops what comes before, so input that did not arrive is sent again.
"""

import sys
import time

from gi.repository import Gio, GLib

RD_NAME = "org.gnome.Mutter.RemoteDesktop"
RD_PATH = "/org/gnome/Mutter/RemoteDesktop"
IM_NAME = "org.gnome.Mutter.IdleMonitor"
IM_PATH = "/org/gnome/Mutter/IdleMonitor/Core"
KEY_LEFTSHIFT = 42
SEEN_MS = 250      # idle time below this after the call: the input arrived
ATTEMPTS = 50


def call(bus, path, iface, method, args=None, reply=None):
    return bus.call_sync(RD_NAME, path, iface, method, args,
                         GLib.VariantType(reply) if reply else None,
                         Gio.DBusCallFlags.NONE, 5000, None)


def idle_ms(bus):
    return bus.call_sync(IM_NAME, IM_PATH, IM_NAME, "GetIdletime", None,
                         GLib.VariantType("(t)"), Gio.DBusCallFlags.NONE, 5000,
                         None).unpack()[0]


def inject(bus, session, what):
    if what == "motion":
        call(bus, session, RD_NAME + ".Session", "NotifyPointerMotionRelative",
             GLib.Variant("(dd)", (3.0, 3.0)))
    else:
        for pressed in (True, False):
            call(bus, session, RD_NAME + ".Session", "NotifyKeyboardKeycode",
                 GLib.Variant("(ub)", (KEY_LEFTSHIFT, pressed)))


def main():
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    session = call(bus, RD_PATH, RD_NAME, "CreateSession", reply="(o)").unpack()[0]
    # Relative motion and keys need no ScreenCast stream.
    call(bus, session, RD_NAME + ".Session", "Start")
    print("ready", flush=True)
    for line in sys.stdin:
        what = line.strip()
        if what not in ("motion", "key"):
            print("unknown %r" % what, flush=True)
            continue
        for _ in range(ATTEMPTS):
            sent = time.monotonic()
            inject(bus, session, what)
            if idle_ms(bus) < SEEN_MS:
                print("ok %.3f" % sent, flush=True)
                break
            time.sleep(0.1)
        else:
            print("lost: Mutter never saw the input", flush=True)


if __name__ == "__main__":
    main()
