#!/usr/bin/python3
"""presencectl against the real presence-agent on a private session bus.

Run as: ctl-integration.py CASE   (one meson test per case)

Environment: PRES_CTL and PRES_AGENT name the built binaries; the meson
test environment provides GSETTINGS_* and PRES_TEST_WRAPPER (valgrind).
Exits 77 (skipped) when the agent binary is missing. Every wait is on a
condition with a deadline; every process started here runs in its own
process group and is killed by that group.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from ctlbed import (AGENT, CTL, SKIP, SLOW, BUS_NAME, Failure, LineReader,
                    TestBed, check, login_on_tty, secret_items, wait_for)
from gi.repository import Gio, GLib


# -- the cases -------------------------------------------------------------

def case_busy_for(bed):
    bed.start_agent()
    before = int(time.time())
    r = bed.ctl('busy', '--for', '1h')
    after = int(time.time())
    check(r.returncode == 0, 'busy --for 1h exits 0')
    check(bed.prop('State') == 'busy', 'State is busy')
    check(bed.prop('ManualState') == 'busy', 'ManualState is busy')
    until = bed.prop('ManualUntil')
    check(before + 3600 - 2 <= until <= after + 3600 + 2,
          'ManualUntil %d is now+3600 (%d..%d)' % (until, before + 3600, after + 3600))


def case_busy_until(bed):
    bed.start_agent()
    target = time.localtime(time.time() + 2 * 3600)
    clock = '%02d:%02d' % (target.tm_hour, target.tm_min)
    r = bed.ctl('appear-offline', '--for', 'until', clock)
    check(r.returncode == 0, 'appear-offline --for until HH:MM exits 0')
    check(bed.prop('State') == 'appear_offline', 'State is appear_offline')
    # The API takes relative seconds, rounded up by presencectl: the expiry
    # lands on the minute plus at most the latency of the call.
    # That is two hours ahead, unless the clock shows it twice (the hour
    # repeated when summer time ends): then the first showing.
    expected = min(
        instant for instant in (time.mktime(target[:5] + (0, 0, 0, dst)) for dst in (0, 1))
        if instant > time.time() - 60 and time.localtime(instant)[:5] == target[:5])
    until = bed.prop('ManualUntil')
    check(0 <= until - expected <= 2 * SLOW,
          'ManualUntil %d is at %s local time (%d)' % (until, clock, expected))


def case_auto(bed):
    bed.start_agent()
    check(bed.ctl('busy').returncode == 0, 'busy exits 0')
    check(bed.prop('State') == 'busy' and bed.prop('ManualUntil') == 0,
          'busy until auto')
    check(bed.ctl('auto').returncode == 0, 'auto exits 0')
    check(bed.prop('State') == 'online', 'State is online again')
    check(bed.prop('ManualState') == '', 'no manual state')


def case_bad_duration(bed):
    bed.start_agent()
    for bad in (['--for', 'garbage'], ['--for', '0s'], ['--for', '-5m'], ['--for', '366d'],
                ['--for', '5']):
        r = bed.ctl('busy', *bad)
        check(r.returncode == 2, 'busy %s exits 2' % ' '.join(bad))
        check('presencectl busy --help' in r.stderr, 'the error gives a hint')
        check(r.stdout == '', 'nothing on stdout')
    check(bed.prop('State') == 'online', 'State unchanged')
    check(bed.prop('ManualState') == '', 'ManualState unchanged')


def case_text_too_long(bed):
    bed.start_agent()
    check(bed.ctl('text', 'lunch').returncode == 0, 'text exits 0')
    check(bed.prop('StatusText') == 'lunch', 'StatusText set')
    r = bed.ctl('text', 'x' * 141)
    check(r.returncode == 2, '141 characters exit 2')
    check('140' in r.stderr, "the agent's message says what is allowed")
    check(bed.prop('StatusText') == 'lunch', 'StatusText unchanged')
    check(bed.ctl('text', 'é' * 140).returncode == 0, '140 characters are fine')
    check(bed.ctl('text').stdout == 'é' * 140 + '\n', 'text prints it back')
    check(bed.ctl('text', '--', '-1', 'dash').returncode == 0, 'text -- -1 dash exits 0')
    check(bed.prop('StatusText') == '-1 dash', 'words after -- are the text')
    check(bed.ctl('text', '--clear').returncode == 0, 'text --clear exits 0')
    check(bed.prop('StatusText') == '', 'StatusText cleared')


def case_not_running(bed):
    for args in (['status'], ['busy', '--for', '1h'], ['auto'], ['status', '--json']):
        r = bed.ctl(*args)
        check(r.returncode == 1, '%s exits 1 without an agent' % args[0])
        check('presence-agent is not running' in r.stderr, 'says the agent is not running')
        # Run from the build tree: the agent built beside it, not an
        # installed path that does not exist.
        check(AGENT + ' &' in r.stderr, 'names the build tree\'s agent')
        check('/libexec/' not in r.stderr and 'systemctl' not in r.stderr,
              'no installed paths from a build tree')
    r = bed.ctl('version')
    check(r.returncode == 0 and 'presence-agent: not running' in r.stdout,
          'version works without an agent')


def case_usage(bed):
    r = bed.ctl('frobnicate')
    check(r.returncode == 2 and 'unknown command' in r.stderr, 'unknown command exits 2')
    r = bed.ctl('status', '--bogus')
    check(r.returncode == 2 and 'presencectl status --help' in r.stderr,
          'unknown option exits 2 with a hint')
    r = bed.ctl('auto', 'extra')
    check(r.returncode == 2, 'extra argument exits 2')
    r = bed.ctl('--help')
    check(r.returncode == 0 and 'watch' in r.stdout, '--help lists the commands')


def case_status_json(bed):
    bed.start_agent()
    check(bed.ctl('busy', '--for', '30m').returncode == 0, 'busy exits 0')
    r = bed.ctl('status', '--json')
    check(r.returncode == 0, 'status --json exits 0')
    data = json.loads(r.stdout)
    check(data['State'] == 'busy', 'State in the JSON')
    check(isinstance(data['ManualUntil'], int) and data['ManualUntil'] > time.time(),
          'ManualUntil is a number in the future')
    check(isinstance(data['Locked'], bool), 'Locked is a boolean')
    check(isinstance(data['IdleTimeout'], int), 'IdleTimeout is a number')
    check(data['InstanceId'] == bed.prop('InstanceId'), 'InstanceId matches')
    check(data['Version'] == bed.prop('Version'), 'Version matches')
    check(set(data) >= {'State', 'AutoState', 'ManualState', 'ManualUntil', 'StatusText',
                        'IdleTimeout', 'IdleSource', 'Locked', 'Connection', 'LastError',
                        'LastHeartbeat', 'InstanceId', 'Server', 'Version'},
          'every property is there')
    r = bed.ctl('status')
    check(r.returncode == 0 and 'busy until' in r.stdout, 'status shows the expiry')


def case_watch(bed):
    bed.start_agent()
    watch = bed.spawn_ctl('watch')
    lines = LineReader(watch)
    lines.wait_line(lambda l: 'presence-agent is running' in l, 'the first line of watch')
    check(bed.ctl('busy').returncode == 0, 'busy exits 0')
    lines.wait_line(lambda l: 'busy (was online, reason: manual)' in l, 'watch to print busy')
    check(bed.ctl('auto').returncode == 0, 'auto exits 0')
    lines.wait_line(lambda l: 'online (was busy, reason: auto)' in l, 'watch to print online')
    watch.send_signal(signal.SIGINT)
    check(watch.wait(timeout=10 * SLOW) == 0, 'watch exits 0 on SIGINT')


def case_watch_restart(bed):
    bed.start_agent()
    watch = bed.spawn_ctl('watch', '--json')
    lines = LineReader(watch)

    def event(name):
        return lambda l: json.loads(l).get('event') == name

    lines.wait_line(event('agent-running'), 'watch to see the agent')
    bed.stop_agent()
    lines.wait_line(event('agent-stopped'), 'watch to see the agent stop')
    check(watch.poll() is None, 'watch survives the agent going away')
    bed.start_agent()
    lines.wait_line(event('agent-running'), 'watch to see the agent again')
    check(bed.ctl('busy').returncode == 0, 'busy exits 0')
    # The new agent's own startup change may come first; wait for busy.
    line = lines.wait_line(lambda l: json.loads(l).get('state') == 'busy' and
                           json.loads(l)['event'] == 'state-changed',
                           'the change to busy from the new agent')
    check(json.loads(line)['reason'] == 'manual', 'the reason is manual')
    watch.send_signal(signal.SIGTERM)
    check(watch.wait(timeout=10 * SLOW) == 0, 'watch exits 0 on SIGTERM')


# Busy and back, as fast as the agent answers, until killed.
CHANGES_FOREVER = """
from gi.repository import Gio
bus = Gio.bus_get_sync(Gio.BusType.SESSION)
agent = Gio.DBusProxy.new_sync(bus, Gio.DBusProxyFlags.DO_NOT_LOAD_PROPERTIES, None,
                               'org.presence.Agent', '/org/presence/Agent',
                               'org.presence.Agent')
agent.SetBusy('(u)', 0)
print('changing', flush=True)
while True:
    agent.SetAuto()
    agent.SetBusy('(u)', 0)
"""


def case_watch_starts_amid_changes(bed):
    # Changes that reach watch before it knows who owns the name wait for
    # the "running" line, as those during its first read of the state do.
    bed.start_agent()
    changes = subprocess.Popen(['/usr/bin/python3', '-c', CHANGES_FOREVER], env=bed.env,
                               stdout=subprocess.PIPE, start_new_session=True)
    bed.procs.append(changes)
    os.set_blocking(changes.stdout.fileno(), False)
    LineReader(changes).wait_line(lambda l: l == 'changing', 'the changes to begin')
    for attempt in range(10):
        watch = bed.spawn_ctl('watch')
        lines = LineReader(watch)
        first = lines.wait_line(lambda l: True, 'the first line of watch')
        check('presence-agent is running, state ' in first,
              'watch begins with the running agent, not with a change (%r)' % first)
        watch.send_signal(signal.SIGTERM)
        check(watch.wait(timeout=10 * SLOW) == 0, 'watch exits 0 on SIGTERM')
    check(changes.poll() is None, 'the agent took every change')


def case_watch_waits(bed):
    # Started before the agent: says so, waits, and picks the agent up.
    watch = bed.spawn_ctl('watch')
    lines = LineReader(watch)
    lines.wait_line(lambda l: 'presence-agent is not running' in l, 'watch to see no agent')
    check(watch.poll() is None, 'watch keeps running without an agent')
    bed.start_agent()
    lines.wait_line(lambda l: 'presence-agent is running, state online' in l,
                    'watch to see the agent start')
    check(bed.ctl('appear-offline', '--for', '10m').returncode == 0, 'appear-offline exits 0')
    lines.wait_line(lambda l: 'appear_offline (was online, reason: manual)' in l,
                    'watch to print appear_offline')
    watch.send_signal(signal.SIGINT)
    check(watch.wait(timeout=10 * SLOW) == 0, 'watch exits 0 on SIGINT')


def case_idle_time(bed):
    # No display in the bed: the agent has no idle source.
    bed.start_agent()
    check(bed.prop('IdleSource') == 'none', 'no idle source without a display')
    r = bed.ctl('idle-time')
    check(r.returncode == 0, 'idle-time exits 0 where there is no idle source')
    check(r.stdout.startswith('unknown ('), 'and prints unknown, saying why')
    check('presencectl:' not in r.stderr, 'with nothing on stderr')
    r = bed.ctl('idle-time', '--json')
    check(r.returncode == 0, 'idle-time --json exits 0')
    check(json.loads(r.stdout) == {'seconds': None, 'estimate': False, 'source': 'none'},
          'the JSON says the figure is unknown')


def case_idle_timeout(bed):
    bed.start_agent()
    check(bed.ctl('idle-timeout', '2m').returncode == 0, 'idle-timeout 2m exits 0')
    check(bed.prop('IdleTimeout') == 120, 'IdleTimeout is 120')
    check(bed.ctl('idle-timeout').stdout == '120\n', 'idle-timeout prints it')
    r = bed.ctl('idle-timeout', '5')
    check(r.returncode == 2 and '10' in r.stderr, 'idle-timeout 5 exits 2')
    check(bed.prop('IdleTimeout') == 120, 'IdleTimeout unchanged')


def case_confirmations(bed):
    bed.start_agent()
    now = time.localtime()
    target = time.localtime(time.time() + 2 * 3600 + 51 * 60)
    clock = '%02d:%02d' % (target.tm_hour, target.tm_min)
    # Late in the evening the time is tomorrow's, and the line says so.
    day = '' if target.tm_yday == now.tm_yday else 'tomorrow '
    expected = {
        ('busy',): 'busy until you run “presencectl auto”',
        ('busy', '--for', '1h30'): 'busy until ',
        ('busy', '--until', clock): 'busy until %s%s (in ' % (day, clock),
        ('appear-offline',): 'appear offline until you run “presencectl auto”',
        ('auto',): 'automatic: online, following the desktop’s idle and lock',
        ('text', 'In a meeting'): 'status text: “In a meeting”',
        ('text', '--clear'): 'status text cleared',
        ('idle-timeout', '10m'): 'idle after 10 min without input',
        ('reconnect',): 'reconnecting: the full state goes to http://127.0.0.1:9 now',
    }
    for args, line in expected.items():
        r = bed.ctl(*args)
        check(r.returncode == 0, '%s exits 0' % ' '.join(args))
        check(r.stdout.count('\n') == 1 and line in r.stdout,
              '%s confirms in one line: %r' % (' '.join(args), line))
        check('appear_offline' not in r.stdout, 'in words, not the wire name')
        r = bed.ctl(*args, '--quiet')
        check(r.returncode == 0 and r.stdout == '', '%s --quiet prints nothing' % ' '.join(args))
    check(bed.prop('IdleTimeout') == 600, 'the changes were made')


# Run at the moments of a DST change (tests/ctl/meson.build): what the
# product says of a time in the skipped hour and in the repeated one. "Until
# the next time the clock shows it": a time the clock skips ends the state
# when the clock passes it, at the end of the gap (02:30 that never shows is
# 03:00 summer time); a time it shows twice ends it at the first.
DST_UNTIL = {
    '2027-03-28 01:30:00 Europe/Berlin': [
        ('02:30', 'busy until 03:00 (in 30 min)'), ('03:30', 'busy until 03:30 (in 1 h)'),
        ('04:00', 'busy until 04:00 (in 1 h 30 min)')],
    '2027-10-31 01:30:00 Europe/Berlin': [
        ('02:30', 'busy until 02:30 (in 1 h)'), ('03:30', 'busy until 03:30 (in 3 h)')],
    '2027-03-14 01:30:00 America/New_York': [
        ('02:30', 'busy until 03:00 (in 30 min)'), ('03:00', 'busy until 03:00 (in 30 min)')],
    '2027-11-07 00:30:00 America/New_York': [
        ('01:30', 'busy until 01:30 (in 1 h)'), ('02:00', 'busy until 02:00 (in 2 h 30 min)')],
}


def case_until_across_dst(bed):
    moment = os.environ.get('PRES_TEST_MOMENT')
    if moment not in DST_UNTIL:
        print('SKIP: only at a DST moment (tests/lib/at-moment.py), not at %r' % moment)
        return SKIP
    bed.start_agent()
    for clock, line in DST_UNTIL[moment]:
        r = bed.ctl('busy', '--until', clock)
        check(r.returncode == 0, 'busy --until %s exits 0' % clock)
        shown = r.stdout.strip()
        until, span = line.split(' (in ')
        check(shown.startswith(until + ' (in '), 'busy --until %s says %r: %r'
              % (clock, until, shown))
        # The calls take a moment: up to a minute less is still right.
        left = span_seconds(shown.split(' (in ', 1)[1].rstrip(')'))
        check(0 <= span_seconds(span.rstrip(')')) - left <= 60,
              'busy --until %s is %s away: %r' % (clock, span, shown))


def span_seconds(span):
    """Seconds in a span as presencectl words it: "2 h 30 min", "59 s"."""
    units = {'d': 86400, 'h': 3600, 'min': 60, 's': 1}
    words = span.split()
    return sum(int(n) * units[unit] for n, unit in zip(words[::2], words[1::2]))


def case_durations(bed):
    bed.start_agent()
    before = int(time.time())
    check(bed.ctl('busy', '--for', '1h30').returncode == 0, 'busy --for 1h30 exits 0')
    check(abs(bed.prop('ManualUntil') - before - 5400) <= 2 * SLOW, '1h30 is 90 minutes')
    check(bed.ctl('idle-timeout', '1h30').returncode == 0, 'idle-timeout 1h30 exits 0')
    check(bed.prop('IdleTimeout') == 5400, 'the idle timeout is 90 minutes')
    check(bed.ctl('idle-timeout', '300').returncode == 0, 'idle-timeout takes plain seconds')
    check(bed.prop('IdleTimeout') == 300, 'IdleTimeout is 300')
    for bad in ('abc', 'until 17:00'):
        r = bed.ctl('idle-timeout', bad)
        check(r.returncode == 2, 'idle-timeout %s exits 2' % bad)
        check('seconds (300)' in r.stderr and 'a time like' not in r.stderr,
              'the hint is about lengths of time, not times of day')
    check(bed.prop('IdleTimeout') == 300, 'IdleTimeout unchanged')


def case_start_without_service(bed):
    r = bed.ctl('status', '--start')
    check(r.returncode == 1, '--start without a service file exits 1')
    check('D-Bus service file' in r.stderr and 'build tree' in r.stderr,
          'says why --start cannot work here')
    check(AGENT + ' &' in r.stderr, 'and how to start the agent by hand')


def case_help_readme(bed):
    """Every command and option of presencectl is in the README, and the
    README's presencectl section lists nothing the binary does not have."""
    readme_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                               'README.md')
    with open(readme_path) as f:
        readme = f.read()
    section = readme.split('\n## presencectl\n', 1)[1].split('\n## ', 1)[0]
    r = bed.ctl('--help')
    check(r.returncode == 0, '--help exits 0')
    commands = re.findall(r'^  ([a-z-]+) ', r.stdout.split('Commands:', 1)[1], re.M)
    check(len(commands) >= 10, 'the help lists the commands')
    for command in commands:
        check(re.search(r'presencectl %s\b' % re.escape(command), section),
              'README lists presencectl %s' % command)
        help_text = bed.ctl(command, '--help').stdout
        for option in set(re.findall(r'^ +(?:-\w, )?(--[a-z-]+)', help_text, re.M)) - {'--help'}:
            check(re.search(r'presencectl %s\b[^\n]*%s\b' % (re.escape(command), option),
                            section) or option in ('--start', '--quiet') and option in section,
                  'README gives presencectl %s %s' % (command, option))
    for command in re.findall(r'^presencectl ([a-z-]+)', section, re.M):
        check(command in commands, 'README\'s presencectl %s exists' % command)


def check_not_stored(bed):
    r = bed.ctl('idle-timeout', '10')
    check(r.returncode == 1, 'idle-timeout 10 exits 1 when it cannot be stored')
    check('cannot be stored' in r.stderr and 'settings backend' in r.stderr,
          'the error gives the backend\'s reason')
    check(bed.prop('IdleTimeout') == 300, 'IdleTimeout unchanged')
    check(bed.ctl('idle-timeout').stdout == '300\n', 'idle-timeout still prints 300')


def case_settings_read_only_keyfile(bed):
    bed.env['GSETTINGS_BACKEND'] = 'keyfile'
    bed.start_agent(prefix=bed.read_only(bed.path('config')))
    check_not_stored(bed)


def case_settings_read_only_dconf(bed):
    # As on a desktop whose session bus activates dconf with a HOME it
    # cannot write: the write is accepted, and lost a moment later.
    service = shutil.which('dconf-service') or '/usr/libexec/dconf-service'
    if not os.access(service, os.X_OK):
        print('SKIP: no dconf-service (Debian package dconf-service)')
        return SKIP
    script = bed.path('dconf-service.sh')
    with open(script, 'w') as f:
        f.write('#!/bin/sh\nexec %s %s\n' % (
            ' '.join("'%s'" % a for a in bed.read_only(bed.path('config'))), service))
    os.chmod(script, 0o755)
    with open(os.path.join(bed.services, 'ca.desrt.dconf.service'), 'w') as f:
        f.write('[D-BUS Service]\nName=ca.desrt.dconf\nExec=%s\n' % script)
    bed.env['GSETTINGS_BACKEND'] = 'dconf'
    bed.start_agent()
    check_not_stored(bed)


def case_explain_version(bed):
    bed.start_agent()
    r = bed.ctl('explain')
    check(r.returncode == 0 and r.stdout.strip() != '', 'explain prints something')
    r = bed.ctl('version')
    check(r.returncode == 0, 'version exits 0')
    check('presence-agent: %s' % bed.prop('Version') in r.stdout, 'version shows the agent')
    check(bed.ctl('reconnect').returncode == 0, 'reconnect exits 0')


def case_login_no_keyring(bed):
    # No Secret Service on the private bus: a clear failure, not a hang,
    # and never "the agent is not running".
    r = bed.ctl('login', '--server', 'http://127.0.0.1:8787', stdin='s3cret-token\n')
    check(r.returncode == 1, 'login without a keyring exits 1')
    check('keyring' in r.stderr and '--token-file' in r.stderr, 'says what to do instead')
    check('s3cret-token' not in r.stderr + r.stdout, 'the token is never printed')
    r = bed.ctl('login', '--server', 'http://127.0.0.1:8787', stdin='')
    check(r.returncode == 2, 'login with no token exits 2')
    r = bed.ctl('login', '--server', 'http://127.0.0.1:8787', stdin='two words\n')
    check(r.returncode == 2 and 'two' not in r.stderr, 'a malformed token exits 2, unquoted')


def case_auto_start(bed):
    service = os.path.join(bed.services, 'org.presence.Agent.service')
    with open(service, 'w') as f:
        # Not under valgrind even in the valgrind setup: the bus gives an
        # activated service 25 s, too short for a loaded machine.
        f.write('[D-BUS Service]\nName=%s\nExec=%s --server http://127.0.0.1:9\n' % (
            BUS_NAME, AGENT))
    for args in (['status'], ['busy']):
        r = bed.ctl(*args)
        check(r.returncode == 1 and 'not running' in r.stderr,
              '%s does not start the agent by itself' % args[0])
        check(not bed.has_owner(), 'nobody owns %s after %s' % (BUS_NAME, args[0]))
    r = bed.ctl('status', '--start')
    check(r.returncode == 0 and 'State:' in r.stdout, 'status --start starts the agent')
    check(bed.has_owner(), 'the agent runs')
    check(bed.ctl('busy').returncode == 0, 'busy then reaches it')
    bed.stop_agent_by_name()
    r = bed.ctl('--start')
    check(r.returncode == 0 and 'State:' in r.stdout, '--start before the command works too')


def case_auto_start_fails(bed):
    service = os.path.join(bed.services, 'org.presence.Agent.service')
    with open(service, 'w') as f:
        f.write('[D-BUS Service]\nName=%s\nExec=/bin/false\n' % BUS_NAME)
    r = bed.ctl('status', '--start')
    check(r.returncode == 1, 'a failed activation exits 1')
    check('Could not start presence-agent' in r.stderr and 'presence-agent &' in r.stderr,
          'says so and how to start it by hand')


def case_login_keyring(bed):
    keyring = shutil.which('gnome-keyring-daemon')
    if keyring is None:
        print('SKIP: gnome-keyring-daemon is not installed (apt-get install gnome-keyring)')
        return SKIP
    # A real keyring, unlocked with a password as at login.
    proc = subprocess.Popen([keyring, '--foreground', '--components=secrets', '--unlock'],
                            env=bed.env, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    bed.procs.append(proc)
    proc.stdin.write(b'test-password')
    proc.stdin.close()

    def secrets_owned():
        return bed.conn.call_sync(
            'org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus',
            'NameHasOwner', GLib.Variant('(s)', ('org.freedesktop.secrets',)),
            GLib.VariantType('(b)'), Gio.DBusCallFlags.NONE, -1, None).unpack()[0]
    wait_for(secrets_owned, 'the keyring on the bus', 20)

    server = 'http://presence.example:8787'
    r = bed.ctl('login', '--server', server + '/', stdin='tok-1\n')
    check(r.returncode == 0, 'login exits 0')
    check('tok-1' not in r.stdout + r.stderr, 'the token is never printed')
    check(secret_items(bed, server) == ['tok-1'], 'the token is in the keyring')
    r = bed.ctl('login', '--server', server, stdin='  tok-2  \n')
    check(r.returncode == 0, 'a second login exits 0')
    check(secret_items(bed, server) == ['tok-2'], 'the second login replaced the token')
    check(secret_items(bed, 'http://other.example') == [], 'other servers have none')
    r = bed.ctl('logout', '--server', server)
    check(r.returncode == 0 and 'removed' in r.stdout, 'logout removes it')
    check(secret_items(bed, server) == [], 'the keyring holds no token')
    r = bed.ctl('logout', '--server', server)
    check(r.returncode == 0 and 'No token' in r.stdout, 'a second logout says there was none')

    # On a terminal: a prompt, and the token is not echoed.
    output = login_on_tty(bed, server, b'tok-tty\n')
    check('Token for %s:' % server in output, 'login prompts on a terminal')
    check('tok-tty' not in output, 'the token typed is not echoed')
    check(secret_items(bed, server) == ['tok-tty'], 'the typed token is in the keyring')

    if os.access(AGENT, os.X_OK):
        # Without --server: the server of the running agent.
        bed.start_agent()
        r = bed.ctl('login', stdin='tok-3\n')
        check(r.returncode == 0 and 'http://127.0.0.1:9' in r.stdout,
              'login uses the agent\'s server')
        check(secret_items(bed, 'http://127.0.0.1:9') == ['tok-3'], 'stored for that server')


CASES = {name[len('case_'):].replace('_', '-'): fn
         for name, fn in globals().items() if name.startswith('case_')}
NEEDS_NO_AGENT = {'not-running', 'usage', 'login-no-keyring', 'login-keyring',
                  'auto-start-fails', 'start-without-service', 'help-readme'}


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in CASES:
        print('usage: %s CASE\ncases: %s' % (sys.argv[0], ' '.join(sorted(CASES))))
        return 2
    case = sys.argv[1]
    if not os.access(CTL, os.X_OK):
        print('presencectl not built at %r' % CTL)
        return 1
    if case not in NEEDS_NO_AGENT and not os.access(AGENT, os.X_OK):
        print('SKIP: the agent binary is missing (%r)' % AGENT)
        return SKIP

    bed = TestBed()
    try:
        if CASES[case](bed) == SKIP:
            return SKIP
    except Failure as e:
        print('FAIL: %s' % e)
        for n in range(1, bed.agent_runs + 1):
            path = os.path.join(bed.tmp.name, 'agent-%d.log' % n)
            with open(path, errors='replace') as f:
                print('--- agent log %d ---\n%s' % (n, f.read()[-4000:]))
        return 1
    finally:
        bed.close()
    print('PASS: %s' % case)
    return 0


if __name__ == '__main__':
    sys.exit(main())
