#!/usr/bin/python3
"""The built packages on this machine, as a user's login meets them: installed with
apt-get, checked, and purged again, whatever happened, leaving the machine as it was.

Prints TAP: one line per check. Skips when it cannot install (not root, no apt-get, no
packages built because dpkg-buildpackage is missing) and when presence-agent or
presence-server is already on this machine, installed by someone else.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

PACKAGE_DIR = os.environ["PRES_PACKAGE_DIR"]
PACKAGES = ["presence-agent", "presence-server"]
# Written before installing and removed after purging: a later run that finds our
# packages and this file knows it was one of its own that was cut short.
MARKER = os.path.join(PACKAGE_DIR, "installed-by-test")
AGENT = "/usr/libexec/presence-agent"
SERVER = "/usr/bin/presence-server"
AUTOSTART = "/etc/xdg/autostart/org.presence.Agent.desktop"
USER_UNIT = "/usr/lib/systemd/user/presence-agent.service"
SYSTEM_UNIT = "/lib/systemd/system/presence-server.service"
PARTICIPANT = "pkgtest-user"
# Where maintainer scripts leave state: compared before and after, recursively.
STATE_DIRS = ["/etc/systemd", "/var/lib/systemd/deb-systemd-helper-enabled",
              "/var/lib/systemd/deb-systemd-user-helper-enabled",
              "/var/lib/systemd/deb-systemd-helper-masked", "/etc/presence-server"]
APT = ["apt-get", "-y", "-q", "-o", "DPkg::Lock::Timeout=600"]


class Skip(Exception):
    pass


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = False

    def check(self, name, function, *args):
        """Runs one check; its AssertionError or other failure becomes "not ok"."""
        self.count += 1
        started = time.monotonic()
        try:
            function(*args)
        except Skip as reason:
            print("ok %d - %s # SKIP %s" % (self.count, name, reason), flush=True)
            return True
        except BaseException as error:  # every failure is reported; a signal's stops the run
            self.failed = True
            print("not ok %d - %s" % (self.count, name))
            print("# %.1f s" % (time.monotonic() - started))
            for line in ("%s: %s" % (type(error).__name__, error)).splitlines():
                print("# " + line)
            sys.stdout.flush()
            if not isinstance(error, Exception):
                raise
            return False
        print("ok %d - %s" % (self.count, name))
        print("# %.1f s" % (time.monotonic() - started), flush=True)
        return True


def run(argv, env=None, check=True, timeout=600):
    result = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError("%s exited with %d:\n%s%s" % (" ".join(argv), result.returncode,
                                                           result.stdout, result.stderr))
    return result


def wait_until(condition, timeout, message):
    """Checks condition() until it holds, with a deadline on the monotonic clock."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s" % (timeout, message))
        time.sleep(0.05)


def package_status(package):
    result = run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev}", package], check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def installed_packages():
    lines = run(["dpkg-query", "-W", "-f", "${binary:Package} ${Version} ${db:Status-Abbrev}\n"])
    return set(lines.stdout.splitlines())


def deb_paths(deb):
    """The paths a .deb lays down, from its data archive."""
    paths = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
    return {os.path.normpath("/" + line.split(None, 5)[5].split(" -> ")[0]) for line in paths}


def snapshot(paths):
    """The entries of every existing folder among paths and their parents, and of the
    folders maintainer scripts write to, recursively."""
    folders = set()
    for path in paths:
        while path != "/":
            path = os.path.dirname(path)
            folders.add(path)
    folders |= {p for p in paths if os.path.isdir(p) and not os.path.islink(p)}
    state = {}
    for folder in sorted(folders):
        if os.path.isdir(folder):
            state[folder] = sorted(os.listdir(folder))
    for top in STATE_DIRS:
        for root, dirs, files in os.walk(top):
            state[root] = sorted(dirs + files)
    state["/var/lib/dpkg/info"] = sorted(
        name for name in os.listdir("/var/lib/dpkg/info")
        if name.split(".")[0].split(":")[0] in PACKAGES)
    return state


class Session:
    """A login's environment without a desktop: its own home, runtime folder and session
    bus from the installed standard configuration, no schema folder of ours."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.processes = []
        home = os.path.join(tmp, "home")
        runtime = os.path.join(tmp, "runtime")
        os.makedirs(home)
        os.makedirs(runtime, mode=0o700)
        self.env = {key: value for key, value in os.environ.items()
                    if not key.startswith(("XDG_", "GSETTINGS_", "DBUS_", "PRES"))
                    and key not in ("DISPLAY", "WAYLAND_DISPLAY", "G_DEBUG")}
        self.env.update({
            "HOME": home,
            "XDG_RUNTIME_DIR": runtime,
            "XDG_CONFIG_HOME": os.path.join(home, ".config"),
            "XDG_DATA_HOME": os.path.join(home, ".local", "share"),
            "XDG_STATE_HOME": os.path.join(home, ".local", "state"),
            "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            # A settings file in this home, so that the server's address set below
            # reaches the agent whatever GSettings backend the machine has.
            "GSETTINGS_BACKEND": "keyfile",
            "PRESENCE_TOKEN": PARTICIPANT,
            "LC_ALL": "C.UTF-8",
        })
        self.server_url = None

    def spawn(self, argv, log_name):
        with open(os.path.join(self.tmp, log_name), "w") as log:
            process = subprocess.Popen(argv, env=self.env, start_new_session=True,
                                       stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def log(self, log_name):
        return self.read(os.path.join(self.tmp, log_name))

    @staticmethod
    def read(path):
        try:
            with open(path) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stop(self):
        """Ends the process groups started here, and any process a bus activated that
        left its group: those are found by this session's own runtime folder."""
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        marker = ("XDG_RUNTIME_DIR=%s" % self.env["XDG_RUNTIME_DIR"]).encode()
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open("/proc/%s/environ" % pid, "rb") as f:
                    if marker in f.read().split(b"\0"):
                        os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass

    def busctl(self, *args):
        return run(["busctl", "--user", *args], env=self.env, timeout=60)

    def http_get(self, path, token=None):
        request = urllib.request.Request(self.server_url + path)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())


class InstalledChecks:
    def __init__(self, debs, tmp):
        self.debs = debs
        self.session = Session(tmp)
        self.paths = set().union(*(deb_paths(deb) for deb in debs))
        self.before_packages = installed_packages()
        self.before_state = snapshot(self.paths)
        self.existed = {p for p in self.paths if os.path.lexists(p)}
        self.pulled_in = set()
        self.file_lists = {}
        self.activated = False

    # Install and remove

    def install(self):
        with open(MARKER, "w") as f:
            f.write("%d\n" % os.getpid())
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        run(APT + ["install", "--no-install-recommends"] + ["./" + os.path.relpath(d)
                                                             for d in self.debs], env=env)
        for package in PACKAGES:
            if package_status(package) != "ii":
                raise AssertionError("%s is %r after apt-get install"
                                     % (package, package_status(package)))
            self.file_lists[package] = {os.path.normpath(path) for path in
                                        run(["dpkg", "-L", package]).stdout.splitlines()}
        listed = set().union(*self.file_lists.values())
        missing = sorted(p for p in self.paths if p != "/" and p not in listed)
        if missing:
            raise AssertionError("dpkg -L does not list: %s" % missing)
        after = installed_packages()
        self.pulled_in = {line.split()[0] for line in after - self.before_packages
                          if line.split()[0].split(":")[0] not in PACKAGES}
        if self.pulled_in:
            print("# apt-get also installed: %s" % " ".join(sorted(self.pulled_in)))

    def purge(self):
        self.session.stop()
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        # apt-get refuses a name it has never seen, as when the install failed early.
        known = [p for p in PACKAGES if package_status(p) not in ("", "un")]
        if known or self.pulled_in:
            run(APT + ["purge"] + known + sorted(self.pulled_in), env=env)
        if os.path.exists(MARKER):
            os.unlink(MARKER)
        for package in PACKAGES:
            if package_status(package) not in ("", "un", "pn"):
                raise AssertionError("%s is %r after apt-get purge"
                                     % (package, package_status(package)))

    def nothing_left(self):
        listed = set().union(*self.file_lists.values()) if self.file_lists else self.paths
        left = sorted(p for p in listed if os.path.lexists(p) and p not in self.existed)
        if left:
            raise AssertionError("left after purge: %s" % left)
        schemas = run(["gsettings", "list-schemas"], env=self.session.env, check=False)
        if "org.presence.Agent" in schemas.stdout.split():
            raise AssertionError("the compiled schemas still hold org.presence.Agent")

    def machine_as_before(self):
        packages = installed_packages()
        if packages != self.before_packages:
            raise AssertionError("packages changed: now also %s; gone %s"
                                 % (sorted(packages - self.before_packages),
                                    sorted(self.before_packages - packages)))
        state = snapshot(self.paths)
        changes = []
        for folder in sorted(set(state) | set(self.before_state)):
            now, then = set(state.get(folder, [])), set(self.before_state.get(folder, []))
            if folder not in self.before_state:
                changes.append("%s: a new folder" % folder)
            elif folder not in state:
                changes.append("%s: gone" % folder)
            elif now != then:
                changes.append("%s: added %s, removed %s"
                               % (folder, sorted(now - then), sorted(then - now)))
        if changes:
            raise AssertionError("\n".join(changes))

    # What a login meets

    def schema(self):
        session = self.session
        keys = run(["gsettings", "list-keys", "org.presence.Agent"], env=session.env)
        if "server-url" not in keys.stdout.split():
            raise AssertionError("no server-url key in: " + keys.stdout)
        value = run(["gsettings", "get", "org.presence.Agent", "idle-timeout"], env=session.env)
        if value.stdout.strip() != "uint32 300":
            raise AssertionError("idle-timeout is %r, not the schema's default" % value.stdout)

    def server(self):
        session = self.session
        port_file = os.path.join(session.tmp, "server.port")
        server = session.spawn([SERVER, "--dev", "--listen", "127.0.0.1:0",
                                "--port-file", port_file], "server.log")
        port = wait_until(lambda: server.poll() is None and session.read(port_file).strip(),
                          30, "the server's port file")
        if server.poll() is not None:
            raise AssertionError("presence-server exited:\n" + session.log("server.log"))
        session.server_url = "http://127.0.0.1:%s" % port
        status, body = session.http_get("/healthz")
        if status != 200 or not isinstance(body, dict) or body.get("status") != "ok":
            raise AssertionError("/healthz answered %d %r" % (status, body))
        if os.readlink("/proc/%d/exe" % server.pid) != SERVER:
            raise AssertionError("the server running is not the packaged one")

    def activation(self):
        session = self.session
        if session.server_url is None:
            raise AssertionError("presence-server from the package is not running")
        run(["gsettings", "set", "org.presence.Agent", "server-url", session.server_url],
            env=session.env)
        bus = session.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                            "bus.log")
        # The address is the line of its own among the daemon's warnings.
        address = wait_until(lambda: bus.poll() is None and next(
            (line for line in session.log("bus.log").splitlines()
             if line.startswith("unix:")), None), 30, "the session bus's address")
        session.env["DBUS_SESSION_BUS_ADDRESS"] = address

        activatable = session.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                     "org.freedesktop.DBus", "ListActivatableNames")
        if '"org.presence.Agent"' not in activatable.stdout:
            raise AssertionError("org.presence.Agent is not activatable: " + activatable.stdout)
        if session.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "NameHasOwner", "s",
                          "org.presence.Agent").stdout.strip() != "b false":
            raise AssertionError("an agent was on the fresh bus before the call")

        session.busctl("call", "org.presence.Agent", "/org/presence/Agent",
                       "org.presence.Agent", "SetBusy", "u", "60")
        pid = session.busctl("call", "org.freedesktop.DBus", "/org/freedesktop/DBus",
                             "org.freedesktop.DBus", "GetConnectionUnixProcessID", "s",
                             "org.presence.Agent").stdout.split()[1]
        if os.readlink("/proc/%s/exe" % pid) != AGENT:
            raise AssertionError("the bus started %s, not %s"
                                 % (os.readlink("/proc/%s/exe" % pid), AGENT))
        state = session.busctl("get-property", "org.presence.Agent", "/org/presence/Agent",
                               "org.presence.Agent", "State").stdout.strip()
        if state != 's "busy"':
            raise AssertionError("State is %s after SetBusy" % state)
        self.activated = True

    def busy_reaches_server(self):
        session = self.session
        if not self.activated:
            raise AssertionError("no agent was activated")
        query = "/v1/presence?ids=" + PARTICIPANT
        try:
            wait_until(lambda: session.http_get(query, "pkgtest-viewer")[1].get(PARTICIPANT)
                       == "busy", 30, "%s busy on the server" % PARTICIPANT)
        except AssertionError as error:
            raise AssertionError("%s\nbus and agent log:\n%s" % (error, session.log("bus.log")))

    def user_unit(self):
        if shutil.which("systemd-analyze") is None:
            raise Skip("systemd-analyze is not installed")
        run(["systemd-analyze", "--user", "verify", USER_UNIT], env=self.session.env)

    def system_unit(self):
        if shutil.which("systemd-analyze") is None:
            raise Skip("systemd-analyze is not installed")
        run(["systemd-analyze", "verify", SYSTEM_UNIT])
        enabled = glob.glob("/etc/systemd/system/*/presence-server.service")
        if enabled:
            raise AssertionError("presence-server.service is enabled: %s" % enabled)
        if shutil.which("systemctl"):
            state = run(["systemctl", "is-enabled", "presence-server.service"], check=False)
            if state.stdout.strip() != "disabled":
                raise AssertionError("systemctl is-enabled says %r" % state.stdout.strip())

    def autostart(self):
        run(["desktop-file-validate", AUTOSTART])

    def autostart_at_login(self):
        """What a systemd user session makes of the entry at login, and that the way the
        README gives to turn it off for one user does."""
        generator = "/usr/lib/systemd/user-generators/systemd-xdg-autostart-generator"
        if not os.path.exists(generator):
            raise Skip("systemd's XDG autostart generator is not installed")
        unit = "xdg-desktop-autostart.target.wants/app-org.presence.Agent@autostart.service"

        def generate(name):
            out = os.path.join(self.session.tmp, name)
            os.makedirs(out)
            run([generator, out, out, out], env=self.session.env)
            return out
        out = generate("generated")
        if not os.path.exists(os.path.join(out, unit)):
            raise AssertionError("no %s in %s" % (unit, sorted(os.listdir(out))))
        with open(os.path.join(out, unit)) as f:
            if "ExecStart=:" + AGENT not in f.read().split():
                raise AssertionError("the generated unit does not start " + AGENT)

        override = os.path.join(self.session.env["XDG_CONFIG_HOME"], "autostart",
                                os.path.basename(AUTOSTART))
        os.makedirs(os.path.dirname(override))
        with open(override, "w") as f:
            f.write("[Desktop Entry]\nHidden=true\n")
        out = generate("generated-hidden")
        if os.path.lexists(os.path.join(out, unit)):
            raise AssertionError("Hidden=true in %s did not turn autostart off" % override)

    def manual_pages(self):
        for section, page in (("1", "presencectl"), ("1", "presence-agent"),
                              ("8", "presence-server")):
            env = dict(self.session.env, MANPAGER="cat", MANWIDTH="80")
            text = run(["man", section, page], env=env).stdout
            if page.upper() not in text or "NAME" not in text:
                raise AssertionError("man %s %s shows:\n%s" % (section, page, text[:500]))

    def bash_completion(self):
        loader = "/usr/share/bash-completion/bash_completion"
        if not os.path.exists(loader):
            raise Skip("bash-completion is not installed")
        result = run(["bash", "-c", ". %s; _completion_loader presencectl; complete -p presencectl"
                      % loader], env=self.session.env)
        if "presencectl" not in result.stdout:
            raise AssertionError("no completion for presencectl: " + result.stdout)


def find_debs():
    debs = []
    for package in PACKAGES:
        found = glob.glob(os.path.join(PACKAGE_DIR, package + "_*.deb"))
        if len(found) != 1:
            raise AssertionError("expected one %s .deb in %s, found %s: run package/build first"
                                 % (package, PACKAGE_DIR, found))
        debs += found
    return debs


def preconditions():
    if os.geteuid() != 0:
        raise Skip("installing packages needs root")
    for tool in ("apt-get", "dpkg-buildpackage"):
        if shutil.which(tool) is None:
            raise Skip("%s is not installed (tools/install-deps installs it)" % tool)
    present = {p: package_status(p) for p in PACKAGES if package_status(p) not in ("", "un")}
    if present and not os.path.exists(MARKER):
        raise Skip("already on this machine (%s), installed by someone else; this test "
                   "installs and purges its own packages: run apt-get purge %s first"
                   % (", ".join("%s %s" % item for item in present.items()), " ".join(PACKAGES)))
    if present:
        print("# purging the packages an earlier run of this test left behind")
        run(APT + ["purge"] + PACKAGES, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        os.unlink(MARKER)


def main():
    try:
        preconditions()
    except Skip as reason:
        print("1..0 # SKIP %s" % reason)
        return 0
    tap = Tap()

    # A test run cut short by a timeout still purges.
    def terminate(signum, frame):
        raise SystemExit("stopped by signal %d" % signum)
    signal.signal(signal.SIGTERM, terminate)

    with tempfile.TemporaryDirectory(prefix="pres-package-") as tmp:
        try:
            checks = InstalledChecks(find_debs(), tmp)
        except AssertionError as error:
            print("1..1\nnot ok 1 - the packages are built and readable")
            print("\n".join("# " + line for line in str(error).splitlines()))
            return 1
        os.chdir(PACKAGE_DIR)
        try:
            if tap.check("apt-get install ./presence-agent_*.deb ./presence-server_*.deb",
                         checks.install):
                tap.check("the installed schema is found without GSETTINGS_SCHEMA_DIR",
                          checks.schema)
                tap.check("presence-server --dev from the package answers on loopback",
                          checks.server)
                tap.check("a fresh session bus activates the agent on busctl --user call "
                          "... SetBusy u 60", checks.activation)
                tap.check("the activated agent's busy reaches the packaged server",
                          checks.busy_reaches_server)
                tap.check("systemd-analyze --user verify presence-agent.service",
                          checks.user_unit)
                tap.check("systemd-analyze verify presence-server.service; not enabled",
                          checks.system_unit)
                tap.check("desktop-file-validate the autostart entry", checks.autostart)
                tap.check("a systemd login starts the agent from the autostart entry; "
                          "Hidden=true in ~/.config/autostart turns that off",
                          checks.autostart_at_login)
                tap.check("man presencectl, man presence-agent, man 8 presence-server",
                          checks.manual_pages)
                tap.check("bash completes presencectl", checks.bash_completion)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            tap.check("apt-get purge presence-agent presence-server", checks.purge)
            tap.check("no file of the packages' lists is left", checks.nothing_left)
            tap.check("the machine's packages and folders are as before",
                      checks.machine_as_before)
    print("1..%d" % tap.count)
    return 1 if tap.failed else 0


if __name__ == "__main__":
    sys.exit(main())
