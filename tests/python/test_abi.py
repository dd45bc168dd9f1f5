"""test_abi.py — every ctypes mirror of a public struct has the C compiler's layout: the same fields, in order, at the same offsets, with the same sizes.

The layout comes from the compiler, not from a hand-kept table: the test
parses include/clenc.h for each `typedef struct X { ... } X;` and its field
names, compiles a small program printing sizeof and offsetof for each, and
compares every ctypes.Structure of the project's bindings (each names the
struct it mirrors in `_c_name_`) against it. A binding that lacks a field
(bench_peers.py's clenc_options once lacked `tune`, and clenc_options_init
wrote past its buffer) fails here.
"""
import ctypes
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEADER = os.path.join(ROOT, "include", "clenc.h")
# Modules holding ctypes bindings: tools/clenc_ctypes.py, and any module of
# the python/ package that declares a ctypes.Structure.
BINDING_FILES = [os.path.join(ROOT, "tools", "clenc_ctypes.py")]
PACKAGE_ROOT = os.path.join(ROOT, "python")


# ------------------------------------------------------------ the header

def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return re.sub(r"//[^\n]*", " ", text)


def parse_structs(text):
    """{struct name: [field names in order]} for every typedef'd struct."""
    text = strip_comments(text)
    structs = {}
    for m in re.finditer(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*(\w+)\s*;", text, re.S):
        tag, body, name = m.groups()
        assert tag == name, f"typedef struct {tag} {{...}} {name}: tag and name differ"
        fields = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            assert "(" not in decl and "{" not in decl, \
                f"{name}: cannot parse the declaration '{decl}' (function pointer or nested type)"
            first, *more = [p.strip() for p in decl.split(",")]
            m1 = re.fullmatch(r"[\w\s]+?[\s\*]+(\w+)\s*(\[[^\]]+\])?", first)
            assert m1, f"{name}: cannot parse the declaration '{decl}'"
            fields.append(m1.group(1))
            for p in more:  # `const float *a, *b`, `unsigned x, y`
                m2 = re.fullmatch(r"\**\s*(\w+)\s*(\[[^\]]+\])?", p)
                assert m2, f"{name}: cannot parse '{p}' in '{decl}'"
                fields.append(m2.group(1))
        structs[name] = fields
    return structs


@pytest.fixture(scope="module")
def c_layouts(tmp_path_factory):
    """{struct: (sizeof, [(field, offsetof, sizeof)])} as the C compiler lays them out."""
    with open(HEADER, encoding="utf-8") as f:
        text = f.read()
    structs = parse_structs(text)
    declared = re.findall(r"typedef\s+struct\s+\w+\s*\{", strip_comments(text))
    assert len(structs) == len(declared), "a typedef'd struct was not parsed"
    lines = ["#include <stddef.h>", "#include <stdio.h>", '#include "clenc.h"',
             "int main(void)", "{"]
    for name, fields in structs.items():
        lines.append(f'    printf("S {name} %zu\\n", sizeof({name}));')
        for fld in fields:
            lines.append(f'    printf("F {name} {fld} %zu %zu\\n", offsetof({name}, {fld}), '
                         f"sizeof((({name} *)0)->{fld}));")
    lines += ["    return 0;", "}"]
    work = tmp_path_factory.mktemp("abi")
    src, exe = work / "layout.c", work / "layout"
    src.write_text("\n".join(lines) + "\n")
    cc = os.environ.get("CC") or shutil.which("cc") or "cc"
    subprocess.run([cc, "-std=c11", "-Wall", "-Werror", "-I" + os.path.join(ROOT, "include"),
                    str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    layouts = {}
    for line in out.splitlines():
        kind, name, *rest = line.split()
        if kind == "S":
            layouts[name] = (int(rest[0]), [])
        else:
            layouts[name][1].append((rest[0], int(rest[1]), int(rest[2])))
    return layouts


# ---------------------------------------------------------- the bindings

def binding_modules():
    modules = []
    for path in BINDING_FILES:
        spec = importlib.util.spec_from_file_location(
            "clenc_binding_" + os.path.basename(path)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        modules.append(module)
    if os.path.isdir(PACKAGE_ROOT):
        sys.path.insert(0, PACKAGE_ROOT)
        for folder, _, files in os.walk(PACKAGE_ROOT):
            for f in sorted(files):
                path = os.path.join(folder, f)
                if not f.endswith(".py"):
                    continue
                with open(path, encoding="utf-8") as src:
                    if "Structure" not in src.read():
                        continue
                rel = os.path.relpath(path, PACKAGE_ROOT)[:-3].split(os.sep)
                if rel[-1] == "__init__":
                    rel = rel[:-1]
                modules.append(importlib.import_module(".".join(rel)))
    return modules


def bindings():
    """Every ctypes.Structure the binding modules define, once each."""
    seen = {}
    for module in binding_modules():
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, ctypes.Structure)
                    and value.__module__ == module.__name__):
                seen[id(value)] = value
    return list(seen.values())


def layout_problems(cls, layouts):
    """What differs between a ctypes Structure and the struct it mirrors."""
    name = getattr(cls, "_c_name_", None)
    if name not in layouts:
        return [f"{cls.__name__}: _c_name_ {name!r} is no struct of include/clenc.h"]
    size, fields = layouts[name]
    problems = []
    ours = [f[0] for f in cls._fields_]
    theirs = [f[0] for f in fields]
    if ours != theirs:
        problems.append(f"{cls.__name__} fields {ours} != {name}'s {theirs}")
    for fld, offset, fsize in fields:
        desc = getattr(cls, fld, None)
        if desc is None:
            continue
        if (desc.offset, desc.size) != (offset, fsize):
            problems.append(f"{cls.__name__}.{fld} at {desc.offset}, {desc.size} bytes; "
                            f"{name}.{fld} at {offset}, {fsize} bytes")
    if ctypes.sizeof(cls) != size:
        problems.append(f"sizeof {cls.__name__} {ctypes.sizeof(cls)} != sizeof {name} {size}")
    return problems


# ------------------------------------------------------------------ tests

def test_header_parser_handles_every_declaration_form():
    structs = parse_structs("""
        typedef struct a { const float *p, *q; /* c */ char name[256];
                           unsigned x, y; uint64_t big; enum_t e; } a;
    """)
    assert structs == {"a": ["p", "q", "name", "x", "y", "big", "e"]}


def test_bindings_are_found():
    names = {getattr(c, "_c_name_", None) for c in bindings()}
    assert {"clenc_options", "clenc_device_info"} <= names


@pytest.mark.parametrize("cls", bindings(), ids=lambda c: c.__name__)
def test_binding_matches_c_layout(cls, c_layouts):
    assert layout_problems(cls, c_layouts) == []


def test_a_binding_lacking_a_field_fails(c_layouts):
    """The check itself can fail: the clenc_options mirror less its last
    field, as bench_peers.py had it before `tune`."""
    [options] = [c for c in bindings() if getattr(c, "_c_name_", None) == "clenc_options"]

    class Truncated(ctypes.Structure):
        _c_name_ = "clenc_options"
        _fields_ = options._fields_[:-1]
    problems = layout_problems(Truncated, c_layouts)
    assert any("fields" in p for p in problems)
    assert any("sizeof" in p for p in problems)
