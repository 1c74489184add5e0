#!/usr/bin/python3
"""The Debian packages as a distribution builds them: tools/package from a copy
of the checkout, then lintian on the result.

  test_build.py build     tools/package into PRES_PACKAGE_DIR; the checkout untouched
  test_build.py lintian   lintian on the .changes: no error, no warning
"""

import glob
import os
import re
import shutil
import subprocess
import sys

SOURCE_ROOT = os.environ["PRES_SOURCE_ROOT"]
PACKAGE_DIR = os.environ["PRES_PACKAGE_DIR"]
SKIP = 77

# What dpkg-buildpackage and debhelper leave in a tree they build in.
BUILD_PRODUCTS = ["debian/files", "debian/.debhelper", "debian/tmp", "debian/debhelper-build-stamp",
                  "debian/presence-agent", "debian/presence-server",
                  "debian/presence-agent.substvars", "debian/presence-server.substvars"]


def skip(reason):
    print("SKIP: " + reason)
    sys.exit(SKIP)


def fail(message):
    print("FAIL: " + message)
    sys.exit(1)


def meson_version():
    with open(os.path.join(SOURCE_ROOT, "meson.build")) as f:
        return re.search(r"version:\s*'([^']+)'", f.read()).group(1)


def checkout_status():
    """What git sees in the checkout (ignored build trees aside), or None outside git."""
    result = subprocess.run(["git", "-C", SOURCE_ROOT, "status", "--porcelain"],
                            capture_output=True, text=True)
    return result.stdout if result.returncode == 0 else None


def build():
    if shutil.which("dpkg-buildpackage") is None:
        skip("dpkg-buildpackage is not installed (tools/install-deps installs it)")
    before = checkout_status()
    shutil.rmtree(PACKAGE_DIR, ignore_errors=True)
    # As a distribution builds it: with its build-time tests, whatever the caller's options.
    env = dict(os.environ)
    env.pop("DEB_BUILD_OPTIONS", None)
    result = subprocess.run([os.path.join(SOURCE_ROOT, "tools", "package"),
                             "--output", PACKAGE_DIR],
                            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    # The whole build log is long: its end and its error lines here, all of it beside.
    log = PACKAGE_DIR + ".log"
    with open(log, "w") as f:
        f.write(result.stdout)
    print(result.stdout[-20000:])
    if result.returncode != 0:
        errors = [line for line in result.stdout.splitlines()
                  if re.search(r"Bail out!|ERROR|error:", line)]
        fail("tools/package exited with %d; the whole log is %s; its errors:\n%s"
             % (result.returncode, log, "\n".join(errors[-40:])))

    version = subprocess.run(["dpkg-parsechangelog", "-l",
                              os.path.join(SOURCE_ROOT, "debian", "changelog"), "-S", "Version"],
                             check=True, capture_output=True, text=True).stdout.strip()
    if version.rsplit("-", 1)[0] != meson_version():
        fail("debian/changelog is at %s, meson.build at %s" % (version, meson_version()))
    for package in ("presence-agent", "presence-server"):
        debs = glob.glob(os.path.join(PACKAGE_DIR, "%s_%s_*.deb" % (package, version)))
        if len(debs) != 1:
            fail("expected one %s %s package in %s, found %s" % (package, version, PACKAGE_DIR,
                                                                  debs))
    if "Ok:" not in result.stdout or re.search(r"^Fail:\s+[1-9]", result.stdout, re.M):
        fail("the build-time tests (dh_auto_test) did not run or failed")

    left = [path for path in BUILD_PRODUCTS + glob.glob(os.path.join(SOURCE_ROOT, "obj-*"))
            if os.path.lexists(os.path.join(SOURCE_ROOT, path))]
    if left:
        fail("the build left files in the checkout: %s" % left)
    if checkout_status() != before:
        fail("the checkout changed:\n%s\nwas:\n%s" % (checkout_status(), before))
    print("built: %s" % sorted(os.listdir(PACKAGE_DIR)))


def lintian():
    for tool in ("dpkg-buildpackage", "lintian"):
        if shutil.which(tool) is None:
            skip("%s is not installed (tools/install-deps installs it)" % tool)
    changes = glob.glob(os.path.join(PACKAGE_DIR, "*.changes"))
    if len(changes) != 1:
        fail("no single .changes in %s (%s): run package/build first" % (PACKAGE_DIR, changes))
    # --pedantic and --display-info show every tag; only errors and warnings fail.
    # Overridden tags are listed too, so the log shows what each override hides.
    result = subprocess.run(["lintian", "--pedantic", "--display-info", "--show-overrides",
                             "--fail-on", "none", changes[0]],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True)
    print(result.stdout + result.stderr)
    if result.returncode != 0:
        fail("lintian exited with %d" % result.returncode)
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EW]: ", line)]
    if tags:
        fail("lintian errors and warnings:\n" + "\n".join(tags))


if __name__ == "__main__":
    cases = {"build": build, "lintian": lintian}
    if len(sys.argv) != 2 or sys.argv[1] not in cases:
        sys.exit("usage: test_build.py build|lintian")
    cases[sys.argv[1]]()
