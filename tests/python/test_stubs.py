# SPDX-License-Identifier: Apache-2.0
"""libkube.pyi names exactly what the module has: every class, method,
property and function, with the parameter names of the docstrings."""
import ast
import os

import libkube

STUBS = os.environ.get("LIBKUBE_STUBS", os.path.join(
    os.path.dirname(__file__), "..", "..", "bindings", "python",
    "libkube.pyi"))


def split_params(text):
    """Top-level comma-separated parts (commas inside [] do not split)."""
    parts, depth, cur = [], 0, ""
    for ch in text:
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return parts + [cur]


def stub_tree():
    with open(STUBS) as f:
        return ast.parse(f.read())


def public(names):
    return {n for n in names if not n.startswith("_")}


def test_module_level_names():
    tree = stub_tree()
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            declared.add(node.target.id)
        elif isinstance(node, ast.Assign):
            declared |= {t.id for t in node.targets}
    declared = public(declared)
    module = public(dir(libkube))
    # Type aliases of the stub (Object, PathLike, FileArg) are not runtime names.
    assert module - declared == set()
    assert declared - module <= {"Object", "PathLike", "FileArg"}


def test_class_members():
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(libkube, node.name)
        declared = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
        declared |= {n.target.id for n in node.body
                     if isinstance(n, ast.AnnAssign)}
        own = {n for n in vars(cls) if not n.startswith("_")}
        assert own - declared == set(), node.name
        assert public(declared) - set(dir(cls)) == set(), node.name


def test_signatures_match_docstrings():
    """Each method's docstring starts with its signature: the stub's
    parameter names appear there in the same order."""
    for node in stub_tree().body:
        if not isinstance(node, ast.ClassDef):
            continue
        cls = getattr(libkube, node.name)
        for fn in node.body:
            if not isinstance(fn, ast.FunctionDef) or fn.name.startswith("_"):
                continue
            if any(isinstance(d, ast.Name) and d.id == "property"
                   for d in fn.decorator_list):
                continue
            doc = getattr(cls, fn.name).__doc__ or ""
            first = doc.split("\n")[0]
            assert first.startswith(fn.name + "("), (node.name, first)
            inside = first[len(fn.name) + 1:first.index(")")]
            documented = [p.split("=")[0].split(":")[0].strip()
                          for p in split_params(inside)]
            documented = [p for p in documented if p and p != "*"]
            params = [a.arg for a in fn.args.args[1:] + fn.args.kwonlyargs]
            assert documented == params, (node.name, fn.name)
