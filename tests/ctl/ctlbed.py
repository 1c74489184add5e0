"""The test bed of presencectl's integration tests: a private session bus
with nothing activatable but what a test puts there, the built agent, the
built presencectl, and waits on conditions with deadlines.

Every process started here runs in its own process group and is killed by
that group when the test ends.
"""

import os
import pty
import select
import shlex
import signal
import subprocess
import tempfile
import time

import gi

gi.require_version('Gio', '2.0')
from gi.repository import Gio, GLib  # noqa: E402

SKIP = 77
BUS_NAME = 'org.presence.Agent'
PATH = '/org/presence/Agent'
IFACE = 'org.presence.Agent'

CTL = os.environ.get('PRES_CTL', '')
AGENT = os.environ.get('PRES_AGENT', '')
WRAPPER = shlex.split(os.environ.get('PRES_TEST_WRAPPER', ''))
# Everything is slower under valgrind.
SLOW = 10 if WRAPPER else 1


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def wait_for(cond, what, timeout=10.0):
    """Polls cond() until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failure('timed out waiting for ' + what)
        time.sleep(0.02)


def kill_group(proc, sig=signal.SIGKILL):
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


class TestBed:
    """A private dbus-daemon, optionally the agent, and presencectl."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix='presencectl-test-')
        self.procs = []
        self.agent = None
        self.agent_runs = 0

        home = self.path('home')
        runtime = self.path('run')
        services = self.path('services')
        for d in (home, runtime, services):
            os.makedirs(d, mode=0o700)
        self.services = services
        self.env = dict(os.environ)
        self.env.update({
            'HOME': home,
            'XDG_RUNTIME_DIR': runtime,
            'XDG_STATE_HOME': self.path('state'),
            'XDG_CONFIG_HOME': self.path('config'),
            'XDG_DATA_HOME': self.path('data'),
            'XDG_CACHE_HOME': self.path('cache'),
            'GSETTINGS_BACKEND': 'memory',
            'LC_ALL': 'C.UTF-8',
        })
        for name in ('DBUS_SYSTEM_BUS_ADDRESS', 'DBUS_SESSION_BUS_ADDRESS', 'DISPLAY',
                     'WAYLAND_DISPLAY', 'PRESENCE_TOKEN'):
            self.env.pop(name, None)

        # Only the services of this test can be activated: none of the
        # system's (an installed keyring would start on its own otherwise).
        config = self.path('bus.conf')
        with open(config, 'w') as f:
            f.write("""<!DOCTYPE busconfig PUBLIC
 "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <servicedir>%s</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""" % (runtime, services))

        self.bus = subprocess.Popen(
            ['dbus-daemon', '--config-file=' + config, '--nofork', '--print-address=1'],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=self.env,
            start_new_session=True)
        self.procs.append(self.bus)
        address = self._read_line(self.bus.stdout, 'the bus address').strip()
        self.env['DBUS_SESSION_BUS_ADDRESS'] = address
        self.conn = Gio.DBusConnection.new_for_address_sync(
            address,
            Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
            Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
            None, None)

    def path(self, *parts):
        return os.path.join(self.tmp.name, *parts)

    def _read_line(self, stream, what):
        line = wait_for(lambda: stream.readline(), what)
        return line.decode()

    # -- the agent --------------------------------------------------------

    def has_owner(self):
        reply = self.conn.call_sync(
            'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
            'NameHasOwner', GLib.Variant('(s)', (BUS_NAME,)), GLib.VariantType('(b)'),
            Gio.DBusCallFlags.NONE, -1, None)
        return reply.unpack()[0]

    def read_only(self, directory):
        """Makes directory read-only for the command the returned prefix
        runs. Root writes through file modes, so for root the directory is
        bound read-only in a mount namespace of that command alone."""
        os.makedirs(directory, exist_ok=True)
        if os.geteuid() != 0:
            os.chmod(directory, 0o555)
            return []
        return ['unshare', '--mount', 'sh', '-c',
                'mount --bind -o ro "$0" "$0" && exec "$@"', directory]

    def start_agent(self, prefix=()):
        self.agent_runs += 1
        log = open(os.path.join(self.tmp.name, 'agent-%d.log' % self.agent_runs), 'wb')
        # A port nothing listens on: the agent's transport stays out of the way.
        self.agent = subprocess.Popen(
            list(prefix) + WRAPPER + [AGENT, '-v', '--server', 'http://127.0.0.1:9'],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        self.procs.append(self.agent)
        try:
            wait_for(self.has_owner, 'the agent to own ' + BUS_NAME, 20)
        except Failure as failure:
            raise Failure('%s\n%s' % (failure, self.stacks(self.agent.pid))) from None
        wait_for(lambda: self.try_prop('State'), 'the agent to answer', 20)

    @staticmethod
    def stacks(pid):
        """Every thread's stack of a process that is stuck, so that a rare
        hang names where it waits (one start of the agent with the dconf
        backend in 1,330 runs under load never got to own its name)."""
        try:
            return subprocess.run(['gdb', '-batch', '-p', str(pid), '-ex',
                                   'thread apply all bt'], capture_output=True, text=True,
                                  timeout=120).stdout[-12000:]
        except (OSError, subprocess.TimeoutExpired) as error:
            return 'no stacks: %s' % error

    def stop_agent(self):
        kill_group(self.agent, signal.SIGTERM)
        try:
            self.agent.wait(timeout=10 * SLOW)
        except subprocess.TimeoutExpired:
            kill_group(self.agent)
            self.agent.wait()
        wait_for(lambda: not self.has_owner(), 'the agent to leave the bus')

    def stop_agent_by_name(self):
        """Stops an agent this test did not start itself (D-Bus activated)."""
        reply = self.conn.call_sync(
            'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
            'GetConnectionUnixProcessID', GLib.Variant('(s)', (BUS_NAME,)),
            GLib.VariantType('(u)'), Gio.DBusCallFlags.NONE, -1, None)
        os.kill(reply.unpack()[0], signal.SIGTERM)
        wait_for(lambda: not self.has_owner(), 'the agent to leave the bus')

    def prop(self, name):
        reply = self.conn.call_sync(
            BUS_NAME, PATH, 'org.freedesktop.DBus.Properties', 'Get',
            GLib.Variant('(ss)', (IFACE, name)), GLib.VariantType('(v)'),
            Gio.DBusCallFlags.NO_AUTO_START, 5000 * SLOW, None)
        return reply.unpack()[0]

    def try_prop(self, name):
        try:
            return (self.prop(name),)
        except GLib.Error:
            return None

    # -- presencectl ------------------------------------------------------

    def ctl(self, *args, stdin=None):
        proc = subprocess.run(WRAPPER + [CTL] + list(args), env=self.env,
                              input=stdin, capture_output=True, text=True,
                              timeout=30 * SLOW, start_new_session=True)
        print('$ presencectl %s  -> %d' % (' '.join(shlex.quote(a) for a in args),
                                           proc.returncode))
        if proc.stdout:
            print('  stdout: ' + proc.stdout.rstrip().replace('\n', '\n          '))
        if proc.stderr:
            print('  stderr: ' + proc.stderr.rstrip().replace('\n', '\n          '))
        return proc

    def spawn_ctl(self, *args):
        proc = subprocess.Popen(WRAPPER + [CTL] + list(args), env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        self.procs.append(proc)
        os.set_blocking(proc.stdout.fileno(), False)
        return proc

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                kill_group(proc)
                proc.wait()
        for proc in self.procs:
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()
        self.tmp.cleanup()


class LineReader:
    """Lines from a running process's stdout, without blocking."""

    def __init__(self, proc):
        self.proc = proc
        self.buf = b''
        self.lines = []
        self.transcript = []  # every line, also those wait_line() consumed

    def poll(self):
        try:
            chunk = self.proc.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            self.buf += chunk
            *done, self.buf = self.buf.split(b'\n')
            for line in done:
                print('  watch: ' + line.decode())
                self.lines.append(line.decode())
                self.transcript.append(line.decode())
        return self.lines

    def wait_line(self, predicate, what, timeout=10.0):
        def found():
            for i, line in enumerate(self.poll()):
                if predicate(line):
                    del self.lines[:i + 1]
                    return line
            return None
        return wait_for(found, what, timeout)


def secret_items(bed, server):
    """The items of presencectl's schema for server, and their secrets,
    read over the Secret Service D-Bus API."""
    svc = ('org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service')

    def call(method, args, reply_type):
        return bed.conn.call_sync(svc[0], svc[1], svc[2], method, args,
                                  GLib.VariantType(reply_type), Gio.DBusCallFlags.NONE,
                                  10000 * SLOW, None).unpack()

    unlocked, locked = call('SearchItems', GLib.Variant(
        '(a{ss})', ({'xdg:schema': 'org.presence.Agent.Token', 'server': server},)), '(aoao)')
    check(not locked, 'no locked items')
    _, session = call('OpenSession', GLib.Variant('(sv)', ('plain', GLib.Variant('s', ''))),
                      '(vo)')
    secrets = call('GetSecrets', GLib.Variant('(aoo)', (unlocked, session)),
                   '(a{o(oayays)})')[0]
    return sorted(bytes(v[2]).decode() for v in secrets.values())


def login_on_tty(bed, server, typed):
    pid, fd = pty.fork()
    if pid == 0:
        argv = WRAPPER + [CTL, 'login', '--server', server]
        os.execve(argv[0], argv, bed.env)
    output = b''
    try:
        deadline = time.monotonic() + 20 * SLOW
        while b'Token for' not in output:
            check(time.monotonic() < deadline, 'timed out waiting for the prompt')
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                output += os.read(fd, 4096)
        os.write(fd, typed)
        while True:
            check(time.monotonic() < deadline, 'timed out waiting for login to finish')
            ready, _, _ = select.select([fd], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: the other side closed
                break
            if not chunk:
                break
            output += chunk
        _, status = os.waitpid(pid, 0)
        pid = 0
    finally:
        if pid:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        os.close(fd)
    text = output.decode(errors='replace')
    print('  tty: ' + text.rstrip().replace('\n', '\n       '))
    check(os.waitstatus_to_exitcode(status) == 0, 'login on a terminal exits 0')
    return text
