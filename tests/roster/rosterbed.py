"""The roster page's test bed: real presence-server processes, real
presence-agent processes (each on a private bus of its own), and Debian's
chromium driven headless by playwright-core (browser.mjs) to look at the
page as a user would.

SKIP is the reason the browser cannot run here, or None. Every process
runs in a process group of its own and is stopped by group at the end;
nothing is killed by name. Waits are on conditions with deadlines.
"""

import http.client
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "server"))
from presence_testlib import wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUILDDIR = os.environ.get("PRES_BUILDDIR") or os.path.join(HERE, "..", "..", "build")
SERVER = os.path.join(BUILDDIR, "src", "server", "presence-server")
AGENT = os.path.join(BUILDDIR, "src", "agent", "presence-agent")
PRESENCECTL = os.path.join(BUILDDIR, "src", "ctl", "presencectl")
BROWSER_DEPS = os.path.join(BUILDDIR, "browser-deps")
CHROMIUM = os.environ.get("PRES_CHROMIUM", "/usr/bin/chromium")

# What the page shows, read off its DOM: the test sees the words and
# marks a user sees, not the module's variables.
ROSTER_JS = """() => [...document.querySelectorAll('article.participant')].map((a) => ({
  id: a.dataset.id,
  state: a.dataset.state,
  label: a.querySelector('h3 .state-label').textContent,
  status: (a.querySelector('.status-text') || {}).textContent || '',
  members: [...a.querySelectorAll('tbody tr')].map((tr) => ({
    instance: tr.dataset.instance,
    state: tr.dataset.state,
    marks: tr.className,
    device: tr.cells[0].textContent,
    label: tr.cells[1].textContent.trim(),
    seen: tr.cells[2].textContent,
    note: tr.cells[3].textContent,
  })),
}))"""


def skip_reason():
    if not os.access(CHROMIUM, os.X_OK):
        return "%s is not installed (tools/install-deps installs chromium)" % CHROMIUM
    if shutil.which("node") is None:
        return "node is not installed"
    if not os.path.exists(os.path.join(BROWSER_DEPS, "node_modules", "playwright-core")):
        return "playwright-core is not in %s (run tools/browser-deps)" % BROWSER_DEPS
    return None


SKIP = skip_reason()


class Group:
    """A child in a process group of its own."""

    def __init__(self, argv, env=None, **kwargs):
        self.proc = subprocess.Popen(argv, env=env, start_new_session=True, **kwargs)

    def signal(self, signum):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)

    def stop(self):
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait()
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


class Browser(Group):
    """browser.mjs: one command a line, one answer a line."""

    def __init__(self, log):
        super().__init__(["node", os.path.join(HERE, "browser.mjs"), BROWSER_DEPS],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                         text=True)
        ready = self._answer(60)
        if "ready" not in ready:
            raise AssertionError("the browser did not start: %r" % ready)

    def _answer(self, timeout):
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            raise AssertionError("no answer from the browser within %d s" % timeout)
        return json.loads(line)

    def send(self, op, **args):
        """A command whose answer receive() waits for: meanwhile the caller
        may act (the answer of a promise that waits for what it does)."""
        self.proc.stdin.write(json.dumps(dict(op=op, **args)) + "\n")
        self.proc.stdin.flush()

    def receive(self, timeout=30):
        answer = self._answer(timeout)
        if not answer["ok"]:
            raise AssertionError("browser: %s" % answer["error"])
        return answer["value"]

    def call(self, op, timeout=30, **args):
        self.send(op, **args)
        return self.receive(timeout)


class Page:
    """One viewer: a tab with a context (and sessionStorage) of its own."""

    def __init__(self, browser, url, viewport=None, color_scheme=None):
        self.browser = browser
        self.id = browser.call("open", url=url, viewport=viewport, colorScheme=color_scheme)

    def eval(self, js):
        return self.browser.call("eval", page=self.id, js=js)

    def sign_in(self, token):
        self.browser.call("fill", page=self.id, selector="#token", value=token)
        self.browser.call("press", page=self.id, key="Enter")

    def roster(self):
        return {p["id"]: p for p in self.eval(ROSTER_JS)}

    def wait(self, predicate, timeout, what):
        """Waits until predicate(roster) holds; returns the roster then."""
        def holds():
            roster = self.roster()
            return roster if predicate(roster) else None
        try:
            return wait_for(holds, timeout, what)
        except AssertionError as e:
            raise AssertionError("%s; the page shows %s" % (e, json.dumps(self.roster())))

    def visible(self, selector):
        return self.eval("() => { const el = document.querySelector(%s);"
                         " return !!el && !el.hidden && el.textContent.trim(); }"
                         % json.dumps(selector))

    def problems(self):
        return self.browser.call("problems", page=self.id)


class RosterTestCase(unittest.TestCase):
    """Servers, agents and a browser per test, all gone after it."""

    def setUp(self):
        if SKIP:
            self.skipTest(SKIP)
        self.tmp = tempfile.TemporaryDirectory(prefix="pres-roster-")
        self.groups = []
        self.log = open(os.path.join(self.tmp.name, "log"), "a+")
        self.browser = Browser(self.log)
        self.groups.append(self.browser)

    def tearDown(self):
        for group in reversed(self.groups):
            if group is self.browser:
                try:
                    group.call("close", timeout=10)
                except (AssertionError, OSError):
                    pass
            group.stop()
        # meson shows it only when the case fails.
        self.log.seek(0)
        print(self.log.read()[-6000:])
        self.log.close()
        self.tmp.cleanup()

    def spawn(self, argv, env=None, **kwargs):
        group = Group(argv, env, stdin=subprocess.DEVNULL, **kwargs)
        self.groups.append(group)
        return group

    # presence-server

    def start_server(self, *args, port=0, tokens=None):
        argv = [SERVER, "--listen", "127.0.0.1:%d" % port, "--rate-limit", "1000",
                "--rate-burst", "1000"]
        if tokens is None:
            argv.append("--dev")
        else:
            path = os.path.join(self.tmp.name, "tokens")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write(tokens)
            argv += ["--tokens", path]
        server = self.spawn(argv + list(args), stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = server.proc.stdout.readline().strip()
        self.assertTrue(line.startswith("listening on "), "presence-server said %r" % line)
        server.port = int(line.rstrip("/").rsplit(":", 1)[1])
        server.url = "http://127.0.0.1:%d/" % server.port
        return server

    def read(self, server, path, token):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request("GET", path, headers={"Authorization": "Bearer " + token})
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            conn.close()

    # presence-agent, each on a bus of its own

    def start_agent(self, name, server, token=None):
        home = os.path.join(self.tmp.name, name)
        os.makedirs(home)
        env = dict(os.environ)
        for var in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS"):
            env.pop(var, None)
        env.update({
            "XDG_STATE_HOME": os.path.join(home, "state"),
            "XDG_CONFIG_HOME": os.path.join(home, "config"),
            "XDG_RUNTIME_DIR": home,
            "GSETTINGS_BACKEND": "memory",
            "GSETTINGS_SCHEMA_DIR": os.path.join(BUILDDIR, "data"),
            "LC_ALL": "C.UTF-8",
            "PRESENCE_TOKEN": token or name,
        })
        bus = self.spawn(["dbus-daemon", "--session", "--nofork", "--print-address=1"], env,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        env["DBUS_SESSION_BUS_ADDRESS"] = bus.proc.stdout.readline().strip()
        agent = self.spawn([AGENT, "-v", "--server", server.url.rstrip("/")], env,
                           stdout=self.log, stderr=subprocess.STDOUT)
        agent.env = env
        agent.participant = name
        wait_for(lambda: self.read(server, "/v1/instances", token or name)[1]["instances"],
                 20, "%s's agent to beat" % name)
        return agent

    def presencectl(self, agent, *args):
        result = subprocess.run([PRESENCECTL, *args], env=agent.env, capture_output=True,
                                text=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 0, "presencectl %s: %s" % (args, result.stderr))
        return result.stdout

    # the page

    def open_page(self, server, token, viewport=None):
        page = Page(self.browser, server.url, viewport)
        page.sign_in(token)
        page.wait(lambda r: r, 10, "the roster after signing in as %s" % token)
        return page

    def assertNoProblems(self, page):
        self.assertEqual(page.problems(), [], "the page reported problems")
