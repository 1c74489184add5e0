#!/usr/bin/python3
"""The tray icons must stand out on the panels they are drawn on: on light
and dark panels and on waybar's default background, some colour of each
icon (its only one, or the outline of a two-tone icon) reaches 3:1, the
WCAG 2 contrast for graphical objects.

Run as: test_icon_contrast.py ICON_DIR STATE...   (one meson test per state)

The colours are read from the SVG files themselves, so the figure cannot
drift from what is shipped.
"""

import os
import re
import sys

MINIMUM = 3.0

# What the icons sit on. waybar's default style: rgba(43, 48, 59, 0.5) over
# the output's background; both the colour itself and the colour over a black
# background (sway's default) are checked.
PANELS = {
    "light panel (white)": (255, 255, 255),
    "light panel (Adwaita #f6f5f4)": (246, 245, 244),
    "dark panel (GNOME Shell top bar, black)": (0, 0, 0),
    "dark panel (#303030)": (48, 48, 48),
    "waybar default (#2b303b)": (43, 48, 59),
    "waybar default over black": (22, 24, 30),
}


def luminance(rgb):
    def linear(c):
        c /= 255.0
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (linear(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a, b):
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def colours(path):
    with open(path) as f:
        svg = f.read()
    found = re.findall(r'(?:fill|stroke)="#([0-9a-fA-F]{6})"', svg)
    return [tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in found]


def main():
    icon_dir, states = sys.argv[1], sys.argv[2:]
    failures = []
    for state in states:
        path = os.path.join(icon_dir, "org.presence.Agent-%s.svg" % state)
        found = colours(path)
        if not found:
            failures.append("%s: no colours found" % path)
        for panel, background in PANELS.items():
            ratio, colour = max((contrast(c, background), c) for c in found)
            print("%s on %s: %.2f:1 (#%02x%02x%02x)" % ((state, panel, ratio) + colour))
            if ratio < MINIMUM:
                failures.append("%s on %s: at best %.2f:1 (#%02x%02x%02x), under %.0f:1"
                                % ((state, panel, ratio) + colour + (MINIMUM,)))
    for failure in failures:
        print("FAIL: " + failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
