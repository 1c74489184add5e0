#!/usr/bin/python3
"""Prints Class.test_name for each test in a unittest file, so meson can
register every case as its own test."""

import ast
import sys

with open(sys.argv[1]) as f:
    tree = ast.parse(f.read())
for node in tree.body:
    if isinstance(node, ast.ClassDef):
        for item in node.body:
            if isinstance(item, ast.FunctionDef) and item.name.startswith("test_"):
                print("%s.%s" % (node.name, item.name))
