# test_layers.py — make lint's include rule (build-aux/check-layers.sh) passes on the tree and fails on a planted upward include.
import os
import shutil
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "build-aux", "check-layers.sh")


def check(root):
    return subprocess.run(["sh", SCRIPT, root], capture_output=True, text=True)


def copy_tree(tmp_path):
    for part in ("runtime", "tools", "include", "examples"):
        shutil.copytree(os.path.join(ROOT, part), tmp_path / part)
    return tmp_path


def plant(path, include):
    text = path.read_text()
    path.write_text(f'#include "{include}"\n' + text)


def test_the_tree_keeps_the_rule():
    r = check(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


def test_an_upward_include_fails(tmp_path):
    root = copy_tree(tmp_path)
    plant(root / "runtime" / "ops" / "pool.c", "engine/engine.h")
    r = check(str(root))
    assert r.returncode == 1
    assert "runtime/ops/pool.c:1: ops includes \"engine/engine.h\"" in r.stdout


def test_formats_may_not_reach_opencl(tmp_path):
    root = copy_tree(tmp_path)
    plant(root / "runtime" / "formats" / "json.c", "cl/cl.h")
    r = check(str(root))
    assert r.returncode == 1
    assert "formats includes \"cl/cl.h\"" in r.stdout


def test_a_tool_with_an_internal_header_fails(tmp_path):
    root = copy_tree(tmp_path)
    plant(root / "tools" / "clenc-run.c", "ops/ops.h")
    r = check(str(root))
    assert r.returncode == 1
    assert "tools/ includes \"ops/ops.h\": it uses the public headers" in r.stdout


def test_an_example_with_an_internal_header_fails(tmp_path):
    root = copy_tree(tmp_path)
    plant(root / "examples" / "interop.c", "engine/engine.h")
    r = check(str(root))
    assert r.returncode == 1
    assert "examples/ includes \"engine/engine.h\"" in r.stdout


def test_the_public_headers_are_allowed_everywhere(tmp_path):
    root = copy_tree(tmp_path)
    plant(root / "tools" / "clenc-run.c", "clenc_cl.h")
    plant(root / "runtime" / "base" / "util.c", "clenc_cl.h")
    r = check(str(root))
    assert r.returncode == 0, r.stdout


def test_a_loose_runtime_file_fails(tmp_path):
    root = copy_tree(tmp_path)
    (root / "runtime" / "loose.c").write_text("int x;\n")
    r = check(str(root))
    assert r.returncode == 1
    assert "belongs to a layer folder" in r.stdout
