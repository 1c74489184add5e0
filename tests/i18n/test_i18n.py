#!/usr/bin/python3
"""German end to end: presencectl against the real agent on a private bus,
and the desktop file and metainfo merged from the translations.

presencectl binds its text domain to LOCALEDIR, the install prefix's locale
directory, and has no override. So the test installs the build into a
DESTDIR and runs the installed presencectl in a private user and mount
namespace in which the DESTDIR's tree is bind-mounted over the real one: the
installed program finds the installed catalog at the very path compiled in.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

from testbed import AgentTestCase, BUILDDIR

SRCDIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DIRS = {key: os.environ.get("PRES_INSTALL_" + key.upper(), "")
        for key in ("bindir", "localedir")}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# The labels of `presencectl status`, English and German.
LABELS = {
    "en": ["State:", "Manual:", "Auto state:", "Idle source:", "Connection:", "Agent version:"],
    "de": ["Status:", "Manuell:", "Automatischer Status:", "Untätigkeitsquelle:", "Verbindung:",
           "Version des Agenten:"],
}


def po_translations(path):
    """msgid -> msgstr of the singular, translated, non-fuzzy entries of a PO file."""
    result = subprocess.run(["msgattrib", "--no-wrap", "--no-fuzzy", "--translated", "--no-obsolete",
                             path], check=True,
                            capture_output=True, text=True).stdout
    entries = {}
    for block in result.split("\n\n"):
        msgid = re.search(r'^msgid "(.*)"$', block, re.M)
        msgstr = re.search(r'^msgstr "(.*)"$', block, re.M)
        if msgid and msgstr and msgstr.group(1) and "msgid_plural" not in block:
            entries[msgid.group(1).encode().decode("unicode_escape").encode("latin-1")
                    .decode()] = (msgstr.group(1).encode().decode("unicode_escape")
                                  .encode("latin-1").decode())
    return entries


class TestStatus(AgentTestCase):
    """`presencectl status` from the installed tree against the built agent."""

    def setUp(self):
        super().setUp()
        if shutil.which("unshare") is None or subprocess.run(
                ["unshare", "--user", "--map-current-user", "--mount", "true"],
                capture_output=True).returncode != 0:
            self.skipTest("no user and mount namespaces here: cannot put the installed "
                          "catalog at LOCALEDIR without writing outside the test's directory")
        self.destdir = os.path.join(self.tmp.name, "destdir")
        result = subprocess.run(["meson", "install", "-C", BUILDDIR, "--no-rebuild",
                                 "--quiet", "--destdir", self.destdir],
                                capture_output=True, text=True, timeout=300)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        catalog = self.destdir + os.path.join(DIRS["localedir"], "de", "LC_MESSAGES",
                                              "presence-agent.mo")
        self.assertTrue(os.path.isfile(catalog), "no German catalog installed at " + catalog)
        # The deepest existing directory on the way to LOCALEDIR is the mount point.
        self.mount_point = DIRS["localedir"]
        while not os.path.isdir(self.mount_point):
            self.mount_point = os.path.dirname(self.mount_point)
        self.assertNotEqual(self.mount_point, "/", "LOCALEDIR has no directory to mount over")
        self.start_agent()

    def installed_presencectl(self, *args, env=None):
        program = self.destdir + os.path.join(DIRS["bindir"], "presencectl")
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        argv = ["unshare", "--user", "--map-current-user", "--mount", "sh", "-c", script, "sh",
                self.destdir + self.mount_point, self.mount_point, program, *args]
        return subprocess.run(argv, env=env or self.env, capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)

    def de_locale(self):
        """LANG=de_DE.UTF-8 from a locale compiled into the test's directory
        (LOCPATH), so no system locale needs generating."""
        source = "/usr/share/i18n/locales/de_DE"
        self.assertTrue(os.path.exists(source) and shutil.which("localedef"),
                        "the de_DE locale source is missing: install `locales` (tools/install-deps)")
        locpath = os.path.join(self.tmp.name, "locales")
        os.makedirs(locpath)
        result = subprocess.run(["localedef", "-i", "de_DE", "-f", "UTF-8",
                                 os.path.join(locpath, "de_DE.UTF-8")],
                                capture_output=True, text=True)
        # localedef exits 1 on warnings, yet writes the locale.
        self.assertTrue(os.path.exists(os.path.join(locpath, "de_DE.UTF-8", "LC_MESSAGES")),
                        result.stdout + result.stderr)
        env = dict(self.env)
        env.pop("LC_ALL", None)
        env.update({"LOCPATH": locpath, "LANG": "de_DE.UTF-8", "LANGUAGE": "de"})
        return env

    def assert_labels(self, out, lang):
        lines = out.splitlines()
        for label in LABELS[lang]:
            self.assertTrue(any(line.startswith(label) for line in lines),
                            "%r missing in:\n%s" % (label, out))
        other = LABELS["de" if lang == "en" else "en"]
        for label in other:
            if label not in LABELS[lang]:
                self.assertFalse(any(line.startswith(label) for line in lines),
                                 "%r in:\n%s" % (label, out))

    def test_status_english_without_language(self):
        env = dict(self.env, LC_ALL="C.UTF-8")
        env.pop("LANGUAGE", None)
        result = self.installed_presencectl("status", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_labels(result.stdout, "en")
        self.assertIn("none (automatic)", result.stdout)

    def test_status_german_language_c_utf8(self):
        env = dict(self.env, LC_ALL="C.UTF-8", LANGUAGE="de")
        result = self.installed_presencectl("status", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_labels(result.stdout, "de")
        self.assertIn("keiner (automatisch)", result.stdout)

    def test_status_german_de_locale(self):
        env = self.de_locale()
        result = self.installed_presencectl("status", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_labels(result.stdout, "de")
        self.assertIn("keiner (automatisch)", result.stdout)
        # LANG alone picks German too, which only a loaded de_DE locale does.
        del env["LANGUAGE"]
        result = self.installed_presencectl("status", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assert_labels(result.stdout, "de")

    def test_busy_until_german(self):
        env = dict(self.env, LC_ALL="C.UTF-8", LANGUAGE="de")
        result = self.installed_presencectl("busy", "--for", "1h", env=env)
        self.assertEqual(result.returncode, 0, result.stderr)
        # The confirmation and the status speak German, state names too
        # (scripts read --json); an hour ahead may be tomorrow already.
        self.assertRegex(result.stdout, r"^beschäftigt bis (morgen )?\d\d:\d\d \(in 1 h\)\n$")
        result = self.installed_presencectl("status", env=env)
        self.assertRegex(result.stdout, r"(?m)^Manuell: +beschäftigt bis (morgen )?\d\d:\d\d "
                                        r"\(in (59 min \d+ s|1 h)\)$")
        result = self.installed_presencectl("busy", "--for", "0s", env=env)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("„0s“: Die Dauer muss mindestens eine Sekunde betragen.", result.stderr)


class TestMergedData(unittest.TestCase):
    """The desktop file and metainfo the build merged carry the German strings
    of po/de.po. (i18n.merge_file does not depend on the .po files: after a
    translation changes, an old merge fails here until it is rebuilt.)"""

    def setUp(self):
        self.de = po_translations(os.path.join(SRCDIR, "po", "de.po"))

    def test_desktop_file(self):
        path = os.path.join(BUILDDIR, "data", "org.presence.Agent.desktop")
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
        for key in ("Name", "Comment"):
            english = [line.split("=", 1)[1] for line in lines if line.startswith(key + "=")]
            self.assertEqual(len(english), 1, key)
            self.assertIn("%s[de]=%s" % (key, self.de[english[0]]), lines)

    def test_metainfo(self):
        path = os.path.join(BUILDDIR, "data", "org.presence.Agent.metainfo.xml")
        root = ET.parse(path).getroot()
        checked = 0
        for parent in root.iter():
            children = list(parent)
            for i, child in enumerate(children):
                if child.get(XML_LANG) is not None or not (child.text or "").strip():
                    continue
                text = " ".join(child.text.split())
                if text not in self.de:
                    continue
                # The translations follow their element, up to the next untranslated one.
                german = []
                for sibling in children[i + 1:]:
                    if sibling.get(XML_LANG) is None:
                        break
                    if sibling.tag == child.tag and sibling.get(XML_LANG) == "de":
                        german.append(sibling)
                self.assertEqual([" ".join(c.text.split()) for c in german], [self.de[text]],
                                 "<%s> %r" % (child.tag, text))
                checked += 1
        # name, summary, two description paragraphs, developer name
        self.assertGreaterEqual(checked, 5)


class TestPotfiles(unittest.TestCase):
    """Every C file that marks strings for translation is in po/POTFILES.in,
    which is sorted and lists only files that exist."""

    MARK = re.compile(r"\b(_|N_|C_|NC_|Q_|ngettext|g_dngettext|g_dpgettext2?|g_dgettext)\s*\(")

    def test_potfiles_complete(self):
        with open(os.path.join(SRCDIR, "po", "POTFILES.in"), encoding="utf-8") as f:
            listed = [line.strip() for line in f
                      if line.strip() and not line.startswith("#")]
        self.assertEqual(listed, sorted(listed), "POTFILES.in is not sorted")
        for path in listed:
            self.assertTrue(os.path.exists(os.path.join(SRCDIR, path)), path + " does not exist")
        marked = []
        for root, _dirs, files in os.walk(os.path.join(SRCDIR, "src")):
            for name in files:
                if not name.endswith(".c"):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    if self.MARK.search(f.read()):
                        marked.append(os.path.relpath(path, SRCDIR))
        self.assertEqual(sorted(set(marked) - set(listed)), [], "not in po/POTFILES.in")


if __name__ == "__main__":
    sys.exit(unittest.main())
