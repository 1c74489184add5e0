#!/usr/bin/python3
"""tools/try as a newcomer runs it, on a machine that already has a session
bus with an agent on it (the test bed's, standing in for the user's).

Run as: try-integration.py CASE   (one meson test per case)

The try must keep to its own bus and files, refuse a taken PORT, pick a
free port when 8787 is taken, and print only what a newcomer needs. It is
stopped with SIGTERM to its process group, as Ctrl-C would stop it, so its
own cleanup ends what it started; waits are on its output, with deadlines.
"""

import itertools
import os
import re
import signal
import socket
import subprocess
import sys

from ctlbed import AGENT, CTL, SKIP, Failure, LineReader, TestBed, check, wait_for

SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TRY = os.path.join(SOURCE_ROOT, 'tools', 'try')
BUILDDIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(CTL))))


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Try:
    def __init__(self, bed, port=None):
        # Every process the try starts inherits it: how leftovers are found.
        self.mark = 'PRES_TRY_TEST_MARK=%d.%d' % (os.getpid(), next(Try.count))
        env = dict(bed.env, PRES_TRY_BUILT='1', BUILDDIR=BUILDDIR, PRESENCE_TOKEN='newcomer')
        env.update([self.mark.split('=', 1)])
        env.pop('PORT', None)
        if port is not None:
            env['PORT'] = str(port)
        self.proc = subprocess.Popen([TRY], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, start_new_session=True)
        bed.procs.append(self.proc)
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.out = LineReader(self.proc)

    count = itertools.count()

    def leftovers(self):
        """Processes the try started that still run: "PID COMMAND"."""
        found = []
        for entry in os.listdir('/proc'):
            if not entry.isdigit():
                continue
            try:
                with open('/proc/%s/environ' % entry, 'rb') as f:
                    if self.mark.encode() not in f.read().split(b'\0'):
                        continue
                with open('/proc/%s/cmdline' % entry, 'rb') as f:
                    found.append('%s %s' % (entry, f.read().replace(b'\0', b' ').decode()))
            except OSError:
                pass
        return found

    def kill_leftovers(self):
        for process in self.leftovers():
            try:
                os.kill(int(process.split()[0]), signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        """Ctrl-C: the try's own trap stops what it started, and only then
        does the try exit."""
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill_leftovers()
            raise Failure('the try was still running 20 s after SIGTERM')
        self.check_no_leftovers()

    def check_no_leftovers(self):
        try:
            wait_for(lambda: self.leftovers() == [], 'the try\'s processes to end', 5)
        except Failure:
            left = self.leftovers()
            self.kill_leftovers()
            raise Failure('these outlived the try: %s' % left)


def case_try_isolated(bed):
    # The "user's" agent, on the bus a desktop session would have.
    bed.start_agent()
    home_before = sorted(os.listdir(bed.path('home')))
    t = Try(bed, port=free_port())
    line = t.out.wait_line(lambda l: 'DBUS_SESSION_BUS_ADDRESS=' in l, 'the try\'s bus address',
                           30)
    address = re.search(r"DBUS_SESSION_BUS_ADDRESS='([^']+)'", line).group(1)
    check(address != bed.env['DBUS_SESSION_BUS_ADDRESS'], 'the try has its own bus')
    t.out.wait_line(lambda l: 'presence-agent is running, state online' in l,
                    'the try\'s agent running')
    r = subprocess.run([CTL, 'busy'], env=dict(bed.env, DBUS_SESSION_BUS_ADDRESS=address),
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, 'busy on the try\'s bus')
    t.out.wait_line(lambda l: l.endswith('busy (was online, reason: manual)'),
                    'the busy change in the watch')
    t.stop()
    # Everything the try printed: a newcomer reads each fact once, and no
    # log lines.
    t.out.poll()
    stdout = '\n'.join(t.out.transcript)
    stderr = t.proc.stderr.read().decode()
    print('try stderr: %r' % stderr)
    check(stderr == '', 'nothing on stderr')
    check(stdout.count('state online') + stdout.count(' online (was') == 1,
          'the first state once, not twice')
    check(not re.search(r'pres-\w+|WARNING|DEBUG|No tray', stdout), 'no log lines')
    check(bed.prop('State') == 'online', 'the user\'s agent was never touched')
    check(not os.path.exists(os.path.join(bed.env['XDG_STATE_HOME'], 'presence-agent', 'state')),
          'no state in the user\'s XDG_STATE_HOME')
    check(sorted(os.listdir(bed.path('home'))) == home_before, 'nothing new in HOME')


def case_try_port_taken(bed):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        s.listen()
        port = s.getsockname()[1]
        t = Try(bed, port=port)
        t.proc.wait(timeout=30)
    stderr = t.proc.stderr.read().decode()
    print('try stderr: %r' % stderr)
    check(t.proc.returncode == 1, 'a taken PORT stops the try with exit 1')
    check('port %d on 127.0.0.1 is taken' % port in stderr, 'and says which port')
    check('PORT' in stderr, 'and what to do')
    t.check_no_leftovers()


def case_try_default_port_taken(bed):
    holder = socket.socket()
    try:
        holder.bind(('127.0.0.1', 8787))
        holder.listen()
    except OSError:
        pass  # taken by someone else: as good for this case
    try:
        t = Try(bed)
        line = t.out.wait_line(lambda l: 'Port 8787 is taken' in l, 'the try saying so', 30)
        port = int(re.search(r'using port (\d+) instead', line).group(1))
        check(port != 8787, 'another port')
        t.out.wait_line(lambda l: ':%d' % port in l, 'the server on that port')
        t.stop()
    finally:
        holder.close()


def case_try_stopped_while_starting(bed):
    # Ctrl-C at each step of the start: before the bus is up, once it is,
    # and as the watch begins.
    milestones = [None, lambda l: 'DBUS_SESSION_BUS_ADDRESS=' in l,
                  lambda l: l.startswith('State changes')]
    for milestone in milestones:
        t = Try(bed, port=free_port())
        if milestone is not None:
            t.out.wait_line(milestone, 'the try\'s next step', 30)
        t.stop()


CASES = {name[len('case_'):].replace('_', '-'): fn
         for name, fn in globals().items() if name.startswith('case_')}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print('usage: %s CASE\ncases: %s' % (sys.argv[0], ' '.join(sorted(CASES))))
        return 2
    if not os.access(AGENT, os.X_OK):
        print('SKIP: the agent binary is missing (%r)' % AGENT)
        return SKIP
    bed = TestBed()
    try:
        CASES[sys.argv[1]](bed)
    except Failure as e:
        print('FAIL: %s' % e)
        return 1
    finally:
        bed.close()
    print('PASS: %s' % sys.argv[1])
    return 0


if __name__ == '__main__':
    sys.exit(main())
