"""Real display servers for the idle-source tests: Xvfb and headless sway.

Xvfb runs with -noreset (otherwise the idle counter restarts whenever its
last client leaves). sway refuses root, so as root it runs as the user
"prestest" (created when missing); its clients must share its uid. A peer
that cannot run makes the test skip with the reason (exit 77 under meson).
Every process is started in its own process group and killed by group.
"""

import os
import pwd
import queue
import shlex
import shutil
import subprocess
import tempfile
import threading
import time

from testbed import BUILDDIR, Process, wait_until

TEST_USER = "prestest"
IDLE_WATCH = os.path.join(BUILDDIR, "tests", "sensors-display", "idle-watch")
# Start-up and replies are slow under valgrind; thresholds are not scaled.
STARTUP = 60 if os.environ.get("PRES_TEST_WRAPPER") else 5


class Skip(Exception):
    """A peer that cannot run here: the test is skipped with this reason."""


def need_program(name):
    path = shutil.which(name)
    if path is None:
        raise Skip("%s is not installed" % name)
    return path


def start_xvfb(spawn):
    """Starts Xvfb on a free display; returns the DISPLAY value."""
    need_program("Xvfb")
    read_fd, write_fd = os.pipe()
    try:
        spawn(["Xvfb", "-displayfd", str(write_fd), "-noreset", "-nolisten", "tcp",
               "-screen", "0", "640x480x24"],
              pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    finally:
        os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    if not number:
        raise AssertionError("Xvfb did not report its display")
    return ":" + number


def xdotool(display, *args):
    need_program("xdotool")
    subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display), check=True,
                   timeout=10, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


class WaylandUser:
    """The user a compositor and its clients run as, and how to run as them."""

    def __init__(self):
        if os.geteuid() != 0:
            self.name = pwd.getpwuid(os.geteuid()).pw_name
            self.uid = os.geteuid()
            self.gid = os.getegid()
            self.prefix = []
            return
        try:
            entry = pwd.getpwnam(TEST_USER)
        except KeyError:
            useradd = shutil.which("useradd") or "/usr/sbin/useradd"
            result = subprocess.run([useradd, "-M", "-s", "/usr/sbin/nologin", TEST_USER],
                                    capture_output=True, text=True)
            if result.returncode != 0 and result.returncode != 9:  # 9: exists already
                raise Skip("cannot create the user %s: %s" % (TEST_USER, result.stderr.strip()))
            entry = pwd.getpwnam(TEST_USER)
        self.name = entry.pw_name
        self.uid = entry.pw_uid
        self.gid = entry.pw_gid
        self.prefix = [need_program("runuser"), "-u", self.name, "--"]

    def make_dir(self, parent, name):
        path = os.path.join(parent, name)
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        return path

    def argv(self, env, argv):
        """argv run as the user with exactly @env."""
        return self.prefix + ["env", "-i"] + ["%s=%s" % item for item in env.items()] + argv


def start_sway(spawn, user, parent_dir, config_lines=()):
    """Starts headless sway as @user; returns its environment for clients."""
    need_program("sway")
    os.chmod(parent_dir, 0o755)
    runtime_dir = user.make_dir(parent_dir, "xdg-sway")
    config = os.path.join(parent_dir, "sway.config")
    with open(config, "w") as f:
        f.write("xwayland disable\n")
        f.writelines(line + "\n" for line in config_lines)
    os.chmod(config, 0o644)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": runtime_dir,
        "XDG_RUNTIME_DIR": runtime_dir,
        "WLR_BACKENDS": "headless",
        "WLR_LIBINPUT_NO_DEVICES": "1",
        "WLR_RENDERER": "pixman",
    }
    log = open(os.path.join(parent_dir, "sway.log"), "w")
    sway = spawn(user.argv(env, ["sway", "-c", config]), stdout=log, stderr=subprocess.STDOUT)

    def socket_ready():
        if sway.proc.poll() is not None:
            with open(log.name) as f:
                raise Skip("sway cannot run here (exit %d): %s"
                           % (sway.proc.returncode, f.read()[-400:]))
        names = [n for n in os.listdir(runtime_dir)
                 if n.startswith("wayland-") and not n.endswith(".lock")]
        return names[0] if names else None

    display = wait_until(socket_ready, timeout=15, message="sway's Wayland socket")
    client_env = {
        "PATH": env["PATH"],
        "HOME": runtime_dir,
        "XDG_RUNTIME_DIR": runtime_dir,
        "WAYLAND_DISPLAY": display,
        "G_DEBUG": "fatal-criticals",
    }
    return client_env


def wtype(user, client_env, text="x"):
    need_program("wtype")
    subprocess.run(user.argv(client_env, ["wtype", text]), check=True, timeout=10,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


class PipedProcess(Process):
    """A child in its own process group that reads commands on stdin."""

    def __init__(self, argv, env, **kwargs):
        self.argv = argv
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True,
                                     stdin=subprocess.PIPE, **kwargs)


class IdleWatch:
    """The idle-watch helper: one idle source, its facts as lines."""

    def __init__(self, test, argv):
        if not os.path.exists(IDLE_WATCH):
            raise AssertionError("idle-watch is not built at %s" % IDLE_WATCH)
        self.process = PipedProcess(argv, test.env, stdout=subprocess.PIPE,
                                    stderr=subprocess.DEVNULL, text=True, bufsize=1)
        test.processes.append(self.process)
        self.lines = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.proc.stdout:
            self.lines.put((time.monotonic(), line.strip()))
        self.lines.put((time.monotonic(), None))

    def expect(self, prefix, timeout, since=0.0):
        """The first line starting with @prefix that came after @since (a
        time.monotonic() value), within @timeout: (time, line)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no '%s' within %.1f s" % (prefix, timeout))
            try:
                at, line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("idle-watch exited before '%s'" % prefix)
            if line.startswith(prefix) and at >= since:
                return at, line

    def send(self, command):
        self.process.proc.stdin.write(command + "\n")
        self.process.proc.stdin.flush()

    def idle_time(self):
        """(seconds, asked, answered): the reply and the monotonic times
        around it, since a slow (valgrind) reply must not look like drift."""
        asked = time.monotonic()
        self.send("idletime")
        answered, line = self.expect("idletime ", STARTUP, since=asked)
        return int(line.split()[1]), asked, answered

    def quit(self):
        self.send("quit")
        return self.process.wait(timeout=30)


def idle_watch_argv(backend, timeout):
    wrapper = shlex.split(os.environ.get("PRES_TEST_WRAPPER", ""))
    return wrapper + [IDLE_WATCH, backend, str(timeout)]


def private_session_bus_config(directory):
    """A session bus every local user may use (sway's clients run as prestest)."""
    path = os.path.join(directory, "bus.conf")
    with open(path, "w") as f:
        f.write("""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
""" % tempfile.gettempdir())
    os.chmod(path, 0o644)
    return path


__all__ = ["Skip", "Process", "start_xvfb", "xdotool", "WaylandUser", "start_sway", "wtype",
           "IdleWatch", "STARTUP", "idle_watch_argv", "private_session_bus_config", "wait_until"]
