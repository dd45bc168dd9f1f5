"""test_mpi.py — clenc-run --input --output FILE.npy under mpirun (make test-mpi): byte for byte a single process's file, rows equal to --json's, a failing rank named and no file left.

Two ranks (three where a rank is to get no line) on this 2-core machine:
--oversubscribe, and PoCL's threads per rank set to one, so that the ranks
do not oversubscribe the cores. CI runs as root, which Open MPI refuses
without its two variables; in sandboxes its shared-memory transport cannot
use single-copy (CMA). The model is a fixture: 32 wide, two layers, 40
positions, so that the whole file takes seconds.
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUN = os.environ.get("CLENC_RUN", os.path.join(ROOT, "build", "bin", "clenc-run"))
MODEL = os.path.join(ROOT, "tests", "fixtures", "models", "distilbert")
MPIRUN = shutil.which("mpirun")

ENV = dict(os.environ,
           OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl_vader_single_copy_mechanism="none",
           POCL_MAX_PTHREAD_COUNT="1", CLENC_TUNE="off")


@pytest.fixture(scope="module", autouse=True)
def mpi_build():
    assert MPIRUN, "make test-mpi needs mpirun (openmpi-bin)"
    out = subprocess.run(["nm", RUN], capture_output=True, text=True).stdout
    assert " U MPI_Init" in out, f"{RUN} is built without MPI"


def single(args):
    return subprocess.run([RUN, "--model", MODEL] + args, env=ENV,
                          capture_output=True, text=True, timeout=300)


def ranks(n, args):
    return subprocess.run([MPIRUN, "-np", str(n), "--oversubscribe", RUN,
                           "--model", MODEL] + args, env=ENV,
                          capture_output=True, text=True, timeout=300)


def corpus_text(lines, last_newline=True):
    return "\n".join(lines) + ("\n" if last_newline else "")


def mixed_lines(count):
    """Empty lines, lines of many kilobytes, CRLF, plain lines."""
    lines = []
    for i in range(count):
        if i % 7 == 3:
            lines.append("")
        elif i % 97 == 11:
            lines.append(" ".join(f"word{i}x{k}" for k in range(3000)))
        elif i % 5 == 1:
            lines.append(f"line {i}, with a carriage return\r")
        else:
            lines.append(f"line {i} of the corpus")
    return lines


def files_in(folder):
    return sorted(os.listdir(folder))


def check_same(tmp_path, name, text, n):
    path = tmp_path / f"{name}.txt"
    path.write_bytes(text.encode())
    one, many = tmp_path / f"{name}.1.npy", tmp_path / f"{name}.{n}.npy"
    r = single(["--input", str(path), "--output", str(one)])
    assert r.returncode == 0, r.stderr
    r = ranks(n, ["--input", str(path), "--output", str(many)])
    assert r.returncode == 0, r.stderr
    assert one.read_bytes() == many.read_bytes()
    return np.load(many)


def test_two_ranks_write_the_single_process_file(tmp_path):
    # 1001 lines: the two byte ranges hold different counts, and the split
    # falls inside a 38 KB line (line 497), which rank 0 reads to its end.
    text = corpus_text(mixed_lines(1001), last_newline=False)
    rows = check_same(tmp_path, "mixed", text, 2)
    assert rows.shape == (1001, 32) and rows.dtype == np.float32
    assert files_in(tmp_path) == ["mixed.1.npy", "mixed.2.npy", "mixed.txt"]


def test_rows_equal_clenc_run_json(tmp_path):
    lines = mixed_lines(150)
    path = tmp_path / "c.txt"
    path.write_bytes(corpus_text(lines).encode())
    out = tmp_path / "c.npy"
    r = ranks(2, ["--input", str(path), "--output", str(out)])
    assert r.returncode == 0, r.stderr
    rows = np.load(out)
    r = single(["--json", "--input", str(path)])
    assert r.returncode == 0, r.stderr
    want = np.array(json.loads(r.stdout)["embeddings"], dtype=np.float32)
    assert rows.shape == want.shape == (150, 32)
    assert np.array_equal(rows, want)  # %.9g reads back exactly
    raw = out.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little")
    assert raw[:8] == b"\x93NUMPY\x01\x00" and (10 + header_len) % 64 == 0


def test_a_line_longer_than_a_share_and_ranks_without_lines(tmp_path):
    # With three ranks the middle byte range lies inside the long line:
    # that rank starts no line and writes nothing.
    lines = ["short", "x " * 60000, "after the long one", ""]
    rows = check_same(tmp_path, "long", corpus_text(lines), 3)
    assert rows.shape == (4, 32)
    # A split exactly at a line's start: "aaaa\n" is the first half.
    check_same(tmp_path, "even", "aaaa\nbbbb\n", 2)
    # Fewer bytes than ranks, and no line at all.
    check_same(tmp_path, "tiny", "a", 3)
    assert check_same(tmp_path, "empty", "", 2).shape == (0, 32)


def test_a_failing_rank_is_named_and_no_file_is_left(tmp_path):
    lines = [f"line {i}" for i in range(40)]
    lines[33] = "bad \udcff line"  # byte 0xFF: not UTF-8, in rank 1's half
    path = tmp_path / "bad.txt"
    path.write_bytes(corpus_text(lines).encode("utf-8", "surrogateescape"))
    out = tmp_path / "bad.npy"
    r = ranks(2, ["--input", str(path), "--output", str(out)])
    assert r.returncode == 1
    assert f"clenc-run: rank 1: {path}:34: CLENC_ERR_INVALID_ARG" in r.stderr
    assert "UTF-8" in r.stderr
    assert f"rank 1 failed: '{out}' not written" in r.stderr
    assert files_in(tmp_path) == ["bad.txt"]


def test_several_ranks_need_input_and_output(tmp_path):
    r = ranks(2, ["hello"])
    assert r.returncode == 2
    assert "--input FILE" in r.stderr and "--output" in r.stderr
