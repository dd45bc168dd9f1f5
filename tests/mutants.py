#!/usr/bin/env python3
"""mutants.py — mutation check of every kernel: each broken on purpose, the tests that use it must notice.

For every kernel function of the runtime's table and every probe kernel
(`clenc-tests --list-kernels`), and for each family it is built in (cpu,
gpu; the probes have one, "any"), two mutants are written into a temporary
copy of cl_kernels/, which the library reads instead of its embedded
sources (CLENC_KERNEL_DIR):

  return     `return;` at the start of the body: no output written at all.
  item0      the first work-item (global id 0, 0, 0) returns at once: one
             work-item's share of the output is not written.
  group0     the same for the first work-group, in a family whose kernel
             reaches a barrier (directly, or through the helpers and macros
             it uses): a work-item may not leave alone there, since the
             others would wait at the barrier for it, but a whole group
             leaves together and the barriers stay uniform.

Why these perturbations and not "one element off by 1e-3": an element off
by a small amount is a mutant a correct test may legitimately survive (its
tolerance, or a later LayerNorm, can absorb it), and finding the output
element a work-item writes needs knowledge of each kernel. Output that is
never written can be survived by no test that checks every element it
expects: outputs start as garbage (NaN), never as the answer. The first
work-item or group always has real work (global id 0 is in every launch's
range; the last group may be all padding). Both kinds are valid OpenCL C:
a mutant that does not build is reported as such, never as a kill.

Which tests use which kernel, in which family, is measured: a usage pass
runs the suites that exercise kernels (--suites) once with
`clenc-tests --kernel-usage`, which writes each test's launches from the
runtime's tally, and times each test. A mutant then runs only the tests
that launched its kernel in its family, cheapest first, and stops at the
first one that fails ("first killer"; --all-killers runs them all and
lists every killer, several times slower). A mutant no test fails, or that
no test uses, SURVIVED: the run exits 1.

Where a kernel function is defined: the script reads each kernel file,
blanks comments and strings, follows the `#if VARIANT_GPU / #else /
#endif` structure to know which family each definition belongs to, and
finds the body by matching braces. A definition both families share (pool,
epilogue, embed, layernorm, l2norm: `#if VARIANT_GPU` only inside the
body) gets its mutant wrapped in `#if VARIANT_GPU` or `#if !VARIANT_GPU`,
so a cpu-family mutant changes the cpu family only. A definition under a
condition that mixes VARIANT_GPU with anything else is an error, not a
guess.

Mutants of different kernels run two at a time (--jobs). PoCL compiles each
mutated source once per specialisation and keeps it in its own cache
(~/.cache/pocl, or POCL_CACHE_DIR), shared between processes.

Python 3 from Debian, standard library only (CI installs no pip packages).
"""

import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

# The tests find their fixtures (tests/fixtures/...) from the checkout's root.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAMILIES = ("cpu", "gpu")
BARRIER_RE = re.compile(r"\b(?:barrier|work_group_barrier|work_group_\w+|sub_group_\w+)\b")
STMT = {
    "return": "return;",
    "item0": "if (get_global_id(0) == 0 && get_global_id(1) == 0 && "
             "get_global_id(2) == 0) return;",
    "group0": "if (get_group_id(0) == 0 && get_group_id(1) == 0 && "
              "get_group_id(2) == 0) return;",
}
BUILD_FAILED_RE = re.compile(r"CLENC_ERR_BUILD|CL_BUILD_PROGRAM_FAILURE|build log:")


class Fatal(Exception):
    """A problem of the setup, not of a mutant: the run stops (exit 2)."""


def log(msg):
    print("mutants: " + msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------ kernel sources

def blank(text):
    """The text with comments, strings and character literals replaced by
    spaces (newlines kept), so that offsets and lines stay those of the
    original and no brace or `#if` inside a comment is seen."""
    out = list(text)
    i, n = 0, len(text)

    def wipe(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            wipe(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            wipe(i, j)
            i = j
        elif text[i] in "\"'":
            j = i + 1
            while j < n and text[j] != text[i] and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            wipe(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def family_condition(cond):
    """The families an `#if COND` branch is compiled in: a set, None when the
    condition does not mention VARIANT_GPU, "mixed" when it mixes it with
    anything else (the caller refuses to guess)."""
    c = cond.strip()
    while c.startswith("(") and c.endswith(")"):
        c = c[1:-1].strip()
    if "VARIANT_GPU" not in c:
        return None
    if re.fullmatch(r"VARIANT_GPU(\s*(==|!=)\s*[01])?", c):
        m = re.search(r"(==|!=)\s*([01])", c)
        gpu = not m or (m.group(1) == "==") == (m.group(2) == "1")
        return {"gpu"} if gpu else {"cpu"}
    if re.fullmatch(r"!\s*VARIANT_GPU", c):
        return {"cpu"}
    return "mixed"


def line_families(blanked):
    """For each line, the families it is compiled in (a set) or "mixed";
    the lines of `#if`-like directives get an empty set. `#ifdef`/`#ifndef
    VARIANT_GPU` (a header's guard) concern neither family's definitions
    and count as neutral."""
    stack = []  # per open #if: [families of this branch, of the #if]
    fams = []
    lines = blanked.split("\n")
    k = 0
    while k < len(lines):
        span, rest = 1, lines[k]
        # A directive continues over backslash-newlines.
        while rest.rstrip().endswith("\\") and k + span < len(lines):
            rest = rest.rstrip()[:-1] + " " + lines[k + span]
            span += 1
        m = re.match(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)", rest)
        if m:
            directive, cond = m.group(1), m.group(2)
            if directive == "if":
                f = family_condition(cond)
                stack.append([f, f])
            elif directive in ("ifdef", "ifndef"):
                stack.append([None, None])
            elif directive == "elif":
                first = stack[-1][1]
                both_neutral = first is None and family_condition(cond) is None
                stack[-1][0] = None if both_neutral else "mixed"
            elif directive == "else":
                first = stack[-1][1]
                stack[-1][0] = (set(FAMILIES) - first
                                if isinstance(first, set) else first)
            else:
                stack.pop()
            fams.extend([set()] * span)
            k += span
            continue
        if not re.match(r"\s*#", rest):
            span = 1  # an ordinary line ending in a backslash stays one line
        cur = set(FAMILIES)
        for f, _ in stack:
            if f == "mixed":
                cur = "mixed"
                break
            if f is not None:
                cur = cur & f
        fams.extend([cur] * span)
        k += span
    return fams


def active_text(blanked, fams, family):
    """The blanked text with the lines not compiled in `family` (and the
    `#if` lines) blanked too, offsets kept. Lines under conditions that mix
    VARIANT_GPU with other macros are kept: this serves a conservative
    search for barriers."""
    out = []
    for line, f in zip(blanked.split("\n"), fams):
        keep = f == "mixed" or (f and (family == "any" or family in f))
        out.append(line if keep else " " * len(line))
    return "\n".join(out)


def match_close(text, i, open_ch, close_ch):
    """Index of the bracket closing the one at text[i]."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_ch:
            depth += 1
        elif text[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j
    raise Fatal("unbalanced %s%s from offset %d" % (open_ch, close_ch, i))


def kernel_definitions(blanked, function):
    """(start of the definition, index of the body's `{`, of its `}`) for
    every `__kernel ... void FUNCTION(...) {` in the file."""
    pat = re.compile(r"\b(?:__kernel|kernel)\b[^;{}]*?\bvoid\s+" +
                     re.escape(function) + r"\s*\(")
    found = []
    for m in pat.finditer(blanked):
        close = match_close(blanked, m.end() - 1, "(", ")")
        j = close + 1
        while j < len(blanked) and blanked[j].isspace():
            j += 1
        if j < len(blanked) and blanked[j] == "{":
            found.append((m.start(), j, match_close(blanked, j, "{", "}")))
    return found


class KernelFile:
    """A kernel file, read from the source folder, with what the mutants
    need to know about it."""

    def __init__(self, folder, name):
        self.folder, self.name = folder, name
        with open(os.path.join(folder, name), encoding="utf-8") as f:
            self.text = f.read()
        self.blanked = blank(self.text)
        self.fams = line_families(self.blanked)

    def line_of(self, offset):
        return self.text.count("\n", 0, offset)

    def includes(self):
        return re.findall(r'^\s*#\s*include\s+"([^"]+)"', self.text, re.M)


def helpers_of(files, folder, name, family, seen=None):
    """Function bodies and macro texts compiled in `family`, by name, in
    file `name` and what it includes, for the search for barriers."""
    seen = set() if seen is None else seen
    if name in seen:
        return {}
    seen.add(name)
    if name not in files:
        if not os.path.exists(os.path.join(folder, name)):
            return {}
        files[name] = KernelFile(folder, name)
    kf = files[name]
    text = active_text(kf.blanked, kf.fams, family)
    defs = {}
    for inc in kf.includes():
        defs.update(helpers_of(files, folder, inc, family, seen))
    for m in re.finditer(r"^[ \t]*#[ \t]*define[ \t]+(\w+)((?:.*\\\n)*.*)", text, re.M):
        defs.setdefault(m.group(1), "")
        defs[m.group(1)] += " " + m.group(2)
    depth = 0
    for m in re.finditer(r"[{}]|\b(\w+)\s*\([^;{}()]*(?:\([^;{}()]*\)[^;{}()]*)*\)\s*\{", text):
        if m.group(0) in "{}":
            depth += 1 if m.group(0) == "{" else -1
            continue
        if depth == 0:
            brace = m.end() - 1
            end = match_close(text, brace, "{", "}")
            defs.setdefault(m.group(1), "")
            defs[m.group(1)] += " " + text[brace:end + 1]
        depth += 1  # the body's own brace
    return defs


def reaches_barrier(body, defs):
    """Does `body`, or any helper or macro it names (transitively), name a
    barrier or another work-group collective?"""
    todo, seen = [body], set()
    while todo:
        text = todo.pop()
        if BARRIER_RE.search(text):
            return True
        for ident in set(re.findall(r"\b[A-Za-z_]\w*\b", text)):
            if ident in defs and ident not in seen:
                seen.add(ident)
                todo.append(defs[ident])
    return False


class Mutant:
    def __init__(self, file, function, family, kind, offset, guard):
        self.file, self.function, self.family, self.kind = file, function, family, kind
        self.offset, self.guard = offset, guard  # offset: just after the body's `{`
        self.tests, self.killers, self.missed, self.note = [], [], [], ""
        self.state = "pending"  # killed, SURVIVED, NO TEST, DID NOT BUILD
        self.seconds = 0.0

    @property
    def name(self):
        return "%s:%s" % (self.file, self.function)

    def source(self, text):
        stmt = "    /* clenc mutant: %s */ %s\n" % (self.kind, STMT[self.kind])
        if self.guard:
            stmt = "#if %s\n%s#endif\n" % (self.guard, stmt)
        return text[:self.offset] + "\n" + stmt + text[self.offset:]


def plan_mutants(folder, kernels):
    """Two mutants for every (kernel function, family) of `kernels`."""
    files, mutants = {}, []
    for file, function, families in kernels:
        if file not in files:
            files[file] = KernelFile(folder, file)
        kf = files[file]
        defs = kernel_definitions(kf.blanked, function)
        if not defs:
            raise Fatal("%s: no definition of kernel %s found" % (file, function))
        for family in families:
            mine = []
            for start, brace, end in defs:
                f = kf.fams[kf.line_of(start)]
                if f == "mixed":
                    raise Fatal("%s:%d: kernel %s is defined under a condition "
                                "that mixes VARIANT_GPU with other macros; "
                                "cannot tell its family" %
                                (file, kf.line_of(start) + 1, function))
                if family == "any" or family in f:
                    mine.append((f, brace, end))
            if len(mine) != 1:
                raise Fatal("%s: %d definitions of kernel %s in the %s family, "
                            "expected one" % (file, len(mine), function, family))
            fams, brace, end = mine[0]
            guard = ""
            if family != "any" and len(fams) > 1:
                guard = "VARIANT_GPU" if family == "gpu" else "!VARIANT_GPU"
            body = active_text(kf.blanked, kf.fams,
                               family)[brace:end + 1]
            barrier = reaches_barrier(
                body, helpers_of(files, folder, file, family))
            for kind in ("return", "group0" if barrier else "item0"):
                mutants.append(Mutant(file, function, family, kind, brace + 1, guard))
    return files, mutants


# ------------------------------------------------------------------ the runner

def parse_results(output, segments=None):
    """SUITE/TEST -> "passed" | "FAILED" | "crashed" from clenc-tests' (CUnit's
    verbose) output; a test that started and never finished crashed. Each
    test's own part of the output goes into `segments` if given."""
    results, suite = {}, "?"
    output = output.split("\nRun Summary:")[0]
    marks = list(re.finditer(r"^Suite: (\S+)|^  Test: (\S+) \.\.\.", output, re.M))
    for i, m in enumerate(marks):
        if m.group(1):
            suite = m.group(1)
            continue
        end = marks[i + 1].start() if i + 1 < len(marks) else len(output)
        seg = output[m.end():end]
        name = "%s/%s" % (suite, m.group(2))
        if segments is not None:
            segments[name] = output[m.start():m.end()] + seg
        # CUnit appends the verdict to whatever the test printed last.
        if "FAILED" in seg:
            results[name] = "FAILED"
        elif seg.rstrip().endswith("passed"):
            results[name] = "passed"
        else:
            results[name] = "crashed"
    return results


def run_tests(binary, tests, env, timeout):
    """Runs `binary TESTS...`; (results by test, output, seconds, timed out)."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([binary] + tests, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        out, timed_out = p.stdout.decode("utf-8", "replace"), False
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace")
        timed_out = True
    return parse_results(out), out, time.monotonic() - t0, timed_out


def usage_pass(binary, suites, env, path):
    """Runs the suites once with --kernel-usage: returns the usage
    {(function, family): {test: launches}} and each test's seconds, timed
    as its start line and the next one arrive on the runner's output."""
    cmd = [binary, "--kernel-usage", path] + suites
    log("usage pass: %s" % " ".join(cmd))
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT)
    buf, starts = b"", []  # starts: (time, offset of a "Test:" or summary mark)
    mark = re.compile(rb"\n(?:  Test: |Run Summary:)")
    scanned = 0
    while True:
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk:
            break
        now = time.monotonic()
        buf += chunk
        for m in mark.finditer(buf, max(0, scanned - 16)):
            if not starts or m.start() > starts[-1][1]:
                starts.append((now, m.start()))
        scanned = len(buf)
    p.wait()
    out = buf.decode("utf-8", "replace")
    segments = {}
    results = parse_results(out, segments)
    bad = [t for t, r in results.items() if r != "passed"]
    if p.returncode != 0 or bad or not results:
        sys.stderr.write("".join(segments[t] for t in bad) if bad else out[-4000:])
        raise Fatal("the unmutated kernels fail their tests (%s): a mutant "
                    "can only be judged against a passing suite" %
                    (", ".join(bad) or "exit status %d" % p.returncode))
    seconds = {}
    names = [n for n in results]  # in run order
    for i, name in enumerate(names):
        if i + 1 < len(starts):
            seconds[name] = starts[i + 1][0] - starts[i][0]
    usage = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) == 4:
                usage.setdefault((parts[1], parts[2]), {})[parts[0]] = int(parts[3])
    log("usage pass: %d tests in %.0f s" % (len(results), time.monotonic() - t0))
    return usage, seconds


def run_mutant(m, args, files, work, env):
    """Writes the mutant's kernel folder and runs its tests."""
    folder = os.path.join(work, "%s-%s-%s-%s" % (m.file, m.function, m.family, m.kind))
    copy_kernels(args.kernels, folder)
    with open(os.path.join(folder, m.file), "w", encoding="utf-8") as f:
        f.write(m.source(files[m.file].text))
    menv = dict(env, CLENC_KERNEL_DIR=folder)
    t0 = time.monotonic()
    batches = [m.tests] if args.all_killers else [[t] for t in m.tests]
    for batch in batches:
        results, out, _, timed_out = run_tests(args.tests, batch, menv, args.timeout)
        if BUILD_FAILED_RE.search(out):
            errors = [l.strip() for l in out.splitlines()
                      if re.search(r"\berror\b|failed:", l)]
            m.state, m.note = "DID NOT BUILD", "\n".join(errors[:8])
            break
        for t in batch:
            r = results.get(t)
            if r is None and (timed_out or "crashed" in results.values()):
                continue  # never reached: an earlier test crashed or hung
            if r is None:
                raise Fatal("%s did not run %s (mutant %s %s %s):\n%s" % (
                    args.tests, t, m.name, m.family, m.kind, out[-2000:]))
            if timed_out and r == "crashed":
                r = "timed out"
            if r == "passed":
                m.missed.append(t)
            else:
                m.killers.append(t if r == "FAILED" else "%s (%s)" % (t, r))
        if m.killers and not args.all_killers:
            break
    m.seconds = time.monotonic() - t0
    if m.state == "pending":
        m.state = "killed" if m.killers else "SURVIVED"
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)


def print_missed(mutants):
    """The tests that ran a mutant and still passed: they launch the kernel
    but do not check (all of) what it wrote. Not a failure while another
    test kills the mutant, but where to look when a mutant survives."""
    missed = [m for m in mutants if m.missed]
    if not missed:
        return
    print("\nTests that launched a mutated kernel and still passed:")
    for m in missed:
        print("  %s %s %s: %s" % (m.name, m.family, m.kind, ", ".join(m.missed)))


def print_table(mutants, all_killers):
    """One line a mutant: "users" is how many tests launch its kernel in its
    family, "ran" how many of them ran it (all, with --all-killers; up to
    the first that failed otherwise)."""
    w = max(len(m.name) for m in mutants)
    print("%-*s  %-6s  %-6s  %5s  %3s  %s" % (
        w, "kernel", "family", "mutant", "users", "ran",
        "killed by" if all_killers else "first killer"))
    for m in mutants:
        if m.state == "killed":
            what = ", ".join(m.killers)
        elif m.state == "NO TEST":
            what = "SURVIVED: no test launches it in this family"
        else:
            what = m.state
        print("%-*s  %-6s  %-6s  %5d  %3d  %s" % (
            w, m.name, m.family, m.kind, len(m.tests),
            len(m.killers) + len(m.missed), what))


def parse_args():
    ap = argparse.ArgumentParser(
        description="Mutation check of every kernel: each mutant (a kernel "
        "that returns at once, or whose first work-item or work-group does) "
        "must make a test that uses the kernel fail. Prints the table of "
        "kernel x mutant -> the tests that killed it; exits 1 on any "
        "survivor or mutant that does not build, 2 on a setup problem.",
        epilog="Example: python3 tests/mutants.py --tests build/bin/clenc-tests")
    ap.add_argument("--tests", required=True, metavar="BIN",
                    help="the clenc-tests binary")
    ap.add_argument("--kernels", metavar="DIR",
                    default=os.path.join(ROOT, "cl_kernels"),
                    help="the kernel sources to mutate (default: this "
                    "checkout's cl_kernels/)")
    ap.add_argument("--suites", default="ops,encoder,impl,probe",
                    help="suites of the usage pass, comma-separated (default: "
                    "%(default)s, the kernel tests; the others add minutes)")
    ap.add_argument("--only", action="append", default=[], metavar="FILE:FUNCTION",
                    help="mutate this kernel only (repeatable)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="mutants run at a time (default: %(default)s)")
    ap.add_argument("--all-killers", action="store_true",
                    help="run every test of each mutant, list every killer")
    ap.add_argument("--timeout", type=float, default=300,
                    help="seconds a test run may take (default: %(default)s)")
    ap.add_argument("--list", action="store_true",
                    help="print the mutants (kernel, family, kind, the line "
                    "their statement goes after, its #if guard) and exit")
    ap.add_argument("--keep", action="store_true",
                    help="keep the mutated kernel folders (their path is printed)")
    args = ap.parse_args()
    args.tests = os.path.abspath(args.tests)
    args.kernels = os.path.abspath(args.kernels)
    return args


def copy_kernels(source_dir, folder):
    shutil.copytree(source_dir, folder, ignore=lambda d, names: [
        n for n in names if not n.endswith((".cl", ".h"))])


def selected_kernels(args):
    """(file, function, families) of every kernel the runner lists."""
    listing = subprocess.run([args.tests, "--list-kernels"], check=True,
                             stdout=subprocess.PIPE, text=True).stdout
    kernels = []
    for line in listing.splitlines():
        file, function, families = line.split("\t")
        if not args.only or "%s:%s" % (file, function) in args.only:
            kernels.append((file, function, families.split()))
    if not kernels:
        raise Fatal("no kernel selected (--only %s)" % " ".join(args.only))
    return kernels


def run_all(args, files, mutants, work):
    """The usage pass, then every mutant that has tests, --jobs at a time."""
    # The usage pass reads the unmutated sources from a folder too: the
    # baseline the mutants are judged against goes the same way.
    base = os.path.join(work, "unmutated")
    copy_kernels(args.kernels, base)
    env = dict(os.environ, CLENC_KERNEL_DIR=base)
    usage, seconds = usage_pass(args.tests, args.suites.split(","), env,
                                os.path.join(work, "usage.tsv"))
    for m in mutants:
        users = usage.get((m.function, m.family), {})
        m.tests = sorted(users, key=lambda t: (seconds.get(t, 1e9), t))
        if not m.tests:
            m.state = "NO TEST"
    # The queue is in the table's order by (kind, family), so neighbours,
    # which run together, are mutants of different kernels.
    todo = sorted((m for m in mutants if m.tests),
                  key=lambda m: (m.kind == "return", m.family))
    done, lock = [0], threading.Lock()

    def one(m):
        run_mutant(m, args, files, work, env)
        with lock:
            done[0] += 1
            log("[%d/%d] %s %s %s: %s%s (%.0f s)" % (
                done[0], len(todo), m.name, m.family, m.kind, m.state,
                ": " + m.killers[0] if m.killers else "", m.seconds))

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for f in [pool.submit(one, m) for m in todo]:
            f.result()


def main():
    args = parse_args()
    t0 = time.monotonic()
    try:
        files, mutants = plan_mutants(args.kernels, selected_kernels(args))
        log("%d mutants" % len(mutants))
        if args.list:
            for m in mutants:
                print("%s\t%s\t%s\t%s:%d\t%s" % (
                    m.name, m.family, m.kind, m.file,
                    files[m.file].line_of(m.offset) + 1, m.guard or "-"))
            return 0
        work = tempfile.mkdtemp(prefix="clenc-mutants-")
        try:
            run_all(args, files, mutants, work)
        finally:
            if args.keep:
                log("mutated kernel folders kept in %s" % work)
            else:
                shutil.rmtree(work, ignore_errors=True)
    except (Fatal, subprocess.CalledProcessError, OSError) as e:
        log("error: %s" % e)
        return 2

    print_table(mutants, args.all_killers)
    print_missed(mutants)
    for m in mutants:
        if m.state == "DID NOT BUILD":
            print("\n%s %s %s did not build:\n  %s" % (
                m.name, m.family, m.kind, m.note.replace("\n", "\n  ")))
    bad = [m for m in mutants if m.state != "killed"]
    print("\nmutants: %d, killed %d, survived %d, did not build %d (%.0f s)" % (
        len(mutants), len(mutants) - len(bad),
        sum(m.state in ("SURVIVED", "NO TEST") for m in mutants),
        sum(m.state == "DID NOT BUILD" for m in mutants), time.monotonic() - t0))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
