"""test_abi.py — every ctypes mirror of a public struct has the C compiler's layout: the same fields, in order, at the same offsets, with the same sizes; every function that takes a struct takes its size, and the bindings call only those.

The layout comes from the compiler, not from a hand-kept table: the test
parses include/clenc.h for each `typedef struct X { ... } X;` and its field
names, compiles a small program printing sizeof and offsetof for each, and
compares every ctypes.Structure of the project's bindings (each names the
struct it mirrors in `_c_name_`) against it. A binding that lacks a field
(bench_peers.py's clenc_options once lacked `tune`, and clenc_options_init
wrote past its buffer) fails here.

Structs grow between releases (include/clenc.h, "Structs that grow"), so
every function that takes one is the exported `_sized` symbol with a size
after each struct pointer, behind a macro of the familiar name; the tests
here check that of the header, check the table of minimum sizes
(runtime/base/base.h) against the compiler's layouts, and check that no
binding binds a familiar name, which is no symbol at all.
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
BASE_H = os.path.join(ROOT, "runtime", "base", "base.h")


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
    fields (as few as change its size), as bench_peers.py had it before
    `tune`."""
    [options] = [c for c in bindings() if getattr(c, "_c_name_", None) == "clenc_options"]
    drop = 1
    while ctypes.sizeof(type("T", (ctypes.Structure,),
                             {"_fields_": options._fields_[:-drop]})) == ctypes.sizeof(options):
        drop += 1

    class Truncated(ctypes.Structure):
        _c_name_ = "clenc_options"
        _fields_ = options._fields_[:-drop]
    problems = layout_problems(Truncated, c_layouts)
    assert any("fields" in p for p in problems)
    assert any("sizeof" in p for p in problems)


# ------------------------------------------------------ structs that grow

def header_text():
    with open(HEADER, encoding="utf-8") as f:
        return f.read()


def struct_functions(text):
    """{name: [parameter declarations]} of every CLENC_API function taking a
    pointer to a public struct."""
    structs = set(parse_structs(text))
    flat = strip_comments(text).replace("\\\n", " ")
    found = {}
    for m in re.finditer(r"CLENC_API\s[^;(]*?\b(clenc_\w+)\s*\(([^)]*)\)\s*;", flat):
        name, params = m.group(1), [p.strip() for p in m.group(2).split(",")]
        if any(re.match(r"(const\s+)?(\w+)\s*\*", p) and
               re.match(r"(const\s+)?(\w+)", p).group(2) in structs for p in params):
            found[name] = params
    return found


def sized_problems(text):
    """What breaks the rule: a struct-taking function without the suffix,
    a struct pointer not followed by a size, a _sized symbol without its
    macro."""
    structs = set(parse_structs(text))
    flat = strip_comments(text).replace("\\\n", " ")
    macros = dict(re.findall(r"#define\s+(clenc_\w+)\s*\([^)]*\)\s*(clenc_\w+)\s*\(", flat))
    problems = []
    for name, params in struct_functions(text).items():
        if not name.endswith("_sized"):
            problems.append(f"{name} takes a struct but is not a _sized symbol")
            continue
        for i, p in enumerate(params):
            m = re.match(r"(const\s+)?(\w+)\s*\*", p)
            if m and m.group(2) in structs and not (
                    i + 1 < len(params) and re.match(r"size_t\s+\w+_size$", params[i + 1])):
                problems.append(f"{name}: '{p}' is not followed by its size (size_t *_size)")
        if macros.get(name[:-len("_sized")]) != name:
            problems.append(f"{name}: no macro {name[:-len('_sized')]}(...) calling it")
    return problems


def test_every_struct_taking_function_is_sized():
    text = header_text()
    functions = struct_functions(text)
    # The list the library had in 0.2.0; a new one is found, not listed.
    assert {"clenc_model_create_sized", "clenc_device_list_sized",
            "clenc_options_init_sized", "clenc_profile_kernels_sized"} <= set(functions)
    assert sized_problems(text) == []


def test_an_unsized_struct_function_fails():
    """The check itself can fail: a declaration without sizes, and one whose
    struct pointer lacks its size."""
    text = header_text() + """
        CLENC_API clenc_status clenc_thing_get(const clenc_model *m, clenc_model_info *out);
        CLENC_API clenc_status clenc_other_sized(clenc_session_info *out, int flags);
    """
    problems = sized_problems(text)
    assert any("clenc_thing_get takes a struct" in p for p in problems)
    assert any("clenc_other_sized: 'clenc_session_info *out' is not followed" in p
               for p in problems)
    assert any("clenc_other_sized: no macro" in p for p in problems)


def minimum_table():
    """[(struct, minimum size, last field in 0.2.0)] of runtime/base/base.h."""
    with open(BASE_H, encoding="utf-8") as f:
        text = f.read()
    body = re.search(r"#define CLENC__STRUCTS\(X\)(.*?)\n\s*\n", text, re.S)
    assert body, "runtime/base/base.h has no CLENC__STRUCTS table"
    return [(n, int(size), last) for n, size, last in
            re.findall(r"X\((\w+),\s*(\d+),\s*(\w+)\)", body.group(1))]


def minimum_problems(table, layouts, version):
    problems = []
    names = [n for n, _, _ in table]
    if sorted(names) != sorted(layouts):
        problems.append(f"minimum sizes for {sorted(names)}, structs {sorted(layouts)}")
    for name, minimum, last in table:
        if name not in layouts:
            continue
        size, fields = layouts[name]
        offsets = {f: (o, s) for f, o, s in fields}
        if minimum > size:
            problems.append(f"{name}: minimum {minimum} > sizeof {size}")
        if version[:2] == (0, 2) and minimum != size:
            problems.append(f"{name}: minimum {minimum}, but 0.2's size is {size}")
        if last not in offsets:
            problems.append(f"{name}: no field {last}")
            continue
        if sum(offsets[last]) > minimum:
            problems.append(f"{name}.{last} ends at {sum(offsets[last])}, past the minimum {minimum}")
        added = [f for f, _, _ in fields][[f for f, _, _ in fields].index(last) + 1:]
        for f in added:
            # An explicit pad field over the old trailing padding (base.h):
            # never read, it may sit inside the minimum, no further.
            if f.startswith("pad_") and sum(offsets[f]) <= minimum:
                continue
            if offsets[f][0] < minimum:
                problems.append(f"{name}.{f}, added after {last}, starts at {offsets[f][0]}, "
                                f"inside the {minimum} bytes an older caller passes")
    return problems


def header_version():
    text = header_text()
    return tuple(int(re.search(rf"#define CLENC_VERSION_{part} (\d+)", text).group(1))
                 for part in ("MAJOR", "MINOR", "PATCH"))


def test_minimum_sizes_match_the_structs(c_layouts):
    assert minimum_problems(minimum_table(), c_layouts, header_version()) == []


def test_a_field_added_inside_the_minimum_fails(c_layouts):
    """The check itself can fail: clenc_options as 0.3 would have it with
    an int added after `tune`, in 0.2's trailing padding (offset 52 < 56)."""
    size, fields = c_layouts["clenc_options"]
    grown = dict(c_layouts, clenc_options=(size, fields + [("precision", 52, 4)]))
    problems = minimum_problems(minimum_table(), grown, (0, 3, 0))
    assert any("clenc_options.precision" in p and "starts at 52" in p for p in problems)
    shrunk = dict(c_layouts, clenc_options=(48, fields))
    assert any("minimum 56 > sizeof 48" in p
               for p in minimum_problems(minimum_table(), shrunk, (0, 3, 0)))


# ------------------------------------------ the bindings call _sized only

def binding_sources():
    """Every Python file of tools/ and python/ that uses ctypes."""
    paths = []
    for folder in (os.path.join(ROOT, "tools"), PACKAGE_ROOT):
        for base, _, files in os.walk(folder):
            paths += [os.path.join(base, f) for f in sorted(files) if f.endswith(".py")]
    sources = {}
    for path in paths:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if "ctypes" in text:
            sources[os.path.relpath(path, ROOT)] = text
    return sources


def unsized_uses(source, unsized):
    """Familiar names (macros in C, no symbol in the library) a binding
    names: as clenc_X anywhere, or as "X" in quotes (a prefix added later)."""
    used = set(re.findall(r"\b(clenc_\w+)", source)) & unsized
    quoted = set(re.findall(r"[\"']([a-z_0-9]+)[\"']", source))
    used |= {"clenc_" + q for q in quoted if "clenc_" + q in unsized}
    return sorted(used)


def test_bindings_call_sized_symbols():
    unsized = {name[:-len("_sized")] for name in struct_functions(header_text())}
    sources = binding_sources()
    # The package's bindings (tools/bench_peers.py uses them, binding none).
    assert "python/clenc/_library.py" in sources and "tools/clenc_ctypes.py" in sources
    problems = {path: unsized_uses(text, unsized) for path, text in sources.items()}
    assert {path: names for path, names in problems.items() if names} == {}


def test_a_binding_of_an_unsized_name_fails():
    """The check itself can fail: bench_peers.py as it was before 0.2.0,
    binding "clenc_" + a short name, and a direct call."""
    unsized = {name[:-len("_sized")] for name in struct_functions(header_text())}
    old = '''for name, res, args in [("options_init", None, [P]), ("context_create", I, [P, P])]:
            fn = getattr(lib, "clenc_" + name)
        lib.clenc_context_device(self.ctx, ctypes.byref(self.device))'''
    assert unsized_uses(old, unsized) == ["clenc_context_create", "clenc_context_device",
                                          "clenc_options_init"]
