#!/usr/bin/python3
"""A minimal org.kde.StatusNotifierWatcher for the tray tests, on the session
bus of DBUS_SESSION_BUS_ADDRESS. With --host it also registers itself as a
tray host, like a panel would. Prints "ready" once it owns the name, then
"registered SECONDS" for each new item: how long after owning the name its
registration arrived, on this process's monotonic clock.

Only what an item and the agent use: RegisterStatusNotifierItem,
RegisterStatusNotifierHost, RegisteredStatusNotifierItems,
IsStatusNotifierHostRegistered and the registration signals. Items are
dropped when their owner leaves the bus.
"""

import os
import sys
import time

from gi.repository import Gio, GLib

NAME = "org.kde.StatusNotifierWatcher"
PATH = "/StatusNotifierWatcher"
XML = """
<node>
  <interface name="org.kde.StatusNotifierWatcher">
    <method name="RegisterStatusNotifierItem"><arg type="s" direction="in"/></method>
    <method name="RegisterStatusNotifierHost"><arg type="s" direction="in"/></method>
    <property name="RegisteredStatusNotifierItems" type="as" access="read"/>
    <property name="IsStatusNotifierHostRegistered" type="b" access="read"/>
    <property name="ProtocolVersion" type="i" access="read"/>
    <signal name="StatusNotifierItemRegistered"><arg type="s"/></signal>
    <signal name="StatusNotifierItemUnregistered"><arg type="s"/></signal>
    <signal name="StatusNotifierHostRegistered"/>
    <signal name="StatusNotifierHostUnregistered"/>
  </interface>
</node>
"""


class Watcher:
    def __init__(self, bus, with_host):
        self.bus = bus
        self.items = []
        self.hosts = ["org.kde.StatusNotifierHost-%d" % os.getpid()] if with_host else []
        self.acquired = None
        info = Gio.DBusNodeInfo.new_for_xml(XML).interfaces[0]
        bus.register_object(PATH, info, self.on_call, self.on_get, None)
        bus.signal_subscribe("org.freedesktop.DBus", "org.freedesktop.DBus", "NameOwnerChanged",
                             "/org/freedesktop/DBus", None, Gio.DBusSignalFlags.NONE,
                             self.on_name_owner_changed)

    def emit(self, signal, *args):
        params = GLib.Variant("(s)", args) if args else None
        self.bus.emit_signal(None, PATH, NAME, signal, params)

    def on_call(self, bus, sender, path, interface, method, params, invocation):
        (arg,) = params.unpack()
        if method == "RegisterStatusNotifierItem":
            # An item may pass its bus name or its object path.
            item = sender + arg if arg.startswith("/") else arg
            if item not in self.items:
                self.items.append(item)
                self.emit("StatusNotifierItemRegistered", item)
                print("registered %.3f" % (time.monotonic() - self.acquired), flush=True)
        else:
            self.hosts.append(arg)
            self.emit("StatusNotifierHostRegistered")
        invocation.return_value(None)

    def on_get(self, bus, sender, path, interface, prop):
        if prop == "RegisteredStatusNotifierItems":
            return GLib.Variant("as", self.items)
        if prop == "IsStatusNotifierHostRegistered":
            return GLib.Variant("b", bool(self.hosts))
        return GLib.Variant("i", 0)

    def on_name_owner_changed(self, bus, sender, path, interface, signal, params):
        name, old, new = params.unpack()
        if new:
            return
        for item in [i for i in self.items if i == name or i.startswith(name + "/")]:
            self.items.remove(item)
            self.emit("StatusNotifierItemUnregistered", item)


def main():
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    loop = GLib.MainLoop()
    watcher = Watcher(bus, "--host" in sys.argv)
    if watcher.hosts:
        Gio.bus_own_name_on_connection(bus, watcher.hosts[0], Gio.BusNameOwnerFlags.NONE,
                                       None, None)

    def acquired(*args):
        watcher.acquired = time.monotonic()
        print("ready", flush=True)

    def lost(*args):
        print("lost the watcher name", file=sys.stderr)
        loop.quit()

    Gio.bus_own_name_on_connection(bus, NAME, Gio.BusNameOwnerFlags.NONE, acquired, lost)
    loop.run()


if __name__ == "__main__":
    main()
