# bench_peers.py — times clenc against ONNX Runtime and PyTorch on CPU (all-MiniLM-L6-v2) for `make bench`; writes build/bench.json.
"""Peer benchmark of `make bench`.

usage: python tools/bench_peers.py [--model DIR] [--lib SO] [--threads T]
           [--runs N] [--warmup N] [--cells a,b,...] [--quick]
           [--gemm-bench PROG] [--out FILE]

The same model is run three ways with T threads each: clenc through ctypes on
libclenc.so (PoCL follows POCL_MAX_PTHREAD_COUNT, set here to T), ONNX Runtime's
CPU provider on an export of the model cached in build/bench/minilm.onnx, and
PyTorch. All three return mean-pooled, L2-normalised embeddings; their
agreement is checked per cell. Timing runs from ids in host memory (numpy) to
embeddings in host memory (numpy). Runs are interleaved run by run (clenc,
ort, torch, clenc, ...) so that all engines see the same machine state. Each
timed run comes after a 0.1 s pause, in which the previous engine's idle
threads stop spinning (ONNX Runtime's spin for about 40 ms after a run,
PyTorch's OpenMP ones for about 10 ms), then untimed runs of the same engine
for at least 0.2 s (one at least), which bring its threads and the machine's
idle states back to a steady stream of requests to that engine alone.

Cells: b1_s16, b1_s128, b32_s128, b8_s512 (batch x seq, every sequence full)
and mixed_8_128 (32 sequences of 8..128 tokens: clenc gets the lengths, the
peers the batch padded to the longest with an attention mask). For the mixed
cell clenc also runs a uniform batch of about the same token count (32 x
round(tokens / 32)); extra.cells.mixed_8_128 records time(mixed)/time(uniform).

The GEMM table comes from `PROG --json --threads T` (default
build/bin/clenc-bench-gemm); without that program "gemm" is [].
Progress goes to stderr, the tables to stdout. Exit status 1 when the
engines' outputs disagree by more than 1e-4.
"""
import argparse, ctypes, json, os, platform, statistics, subprocess, sys, time, warnings, zlib

import numpy as np

from clenc_ctypes import ClencDeviceInfo, ClencOptions  # tools/, the script's folder

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = {"b1_s16": (1, 16), "b1_s128": (1, 128), "b32_s128": (32, 128),
         "b8_s512": (8, 512), "mixed_8_128": (32, None)}
MIXED_RANGE = (8, 128)
SEED = 20240611
TOLERANCE = 1e-4
SETTLE_S = 0.1  # pause before each timed run, so that other engines' threads stop spinning
REWARM_S = 0.2  # then untimed runs of the engine for this long, so that it runs hot
POOL_MEAN_NORMALIZE = 0x1 | 0x100  # CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE
PEERS = ("onnxruntime", "pytorch")
ENGINES = ("clenc",) + PEERS


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------- clenc
class Clenc:
    """libclenc.so through ctypes: one context, one model, one session per shape."""

    def __init__(self, lib_path, model_dir, hidden):
        P, I, U = ctypes.c_void_p, ctypes.c_int, ctypes.c_uint
        self.lib = lib = ctypes.CDLL(lib_path)
        S, Z = ctypes.c_char_p, ctypes.c_size_t
        # Functions that take a struct are the _sized symbols: each struct
        # pointer is followed by our mirror's size (include/clenc.h, "Structs
        # that grow"); tests/python/test_abi.py checks that we bind no other.
        for name, res, args in [
                ("clenc_version", S, []), ("clenc_last_error", S, []),
                ("clenc_status_name", S, [I]),
                ("clenc_options_init_sized", I, [P, Z]),
                ("clenc_context_create_sized", I, [P, Z, P]),
                ("clenc_context_device_sized", I, [P, P, Z]),
                ("clenc_context_destroy", None, [P]),
                ("clenc_model_load", I, [P, S, P]), ("clenc_model_destroy", None, [P]),
                ("clenc_session_create", I, [P, U, U, P]), ("clenc_session_destroy", None, [P]),
                ("clenc_encode", I, [P, P, P, P, U, U, I, P])]:  # ids, type_ids, lengths, B, S, pooling, out
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = res, args
        self.hidden = hidden
        self.version = lib.clenc_version().decode()
        opt = ClencOptions()
        self._check(lib.clenc_options_init_sized(ctypes.byref(opt), ctypes.sizeof(opt)),
                    "clenc_options_init_sized")
        self.ctx, self.model, self.session = P(), P(), P()
        self._check(lib.clenc_context_create_sized(ctypes.byref(opt), ctypes.sizeof(opt),
                                                   ctypes.byref(self.ctx)),
                    "clenc_context_create_sized")
        self.device = ClencDeviceInfo()
        self._check(lib.clenc_context_device_sized(self.ctx, ctypes.byref(self.device),
                                                   ctypes.sizeof(self.device)),
                    "clenc_context_device_sized")
        self._check(lib.clenc_model_load(self.ctx, model_dir.encode(), ctypes.byref(self.model)),
                    "clenc_model_load")
        self.shape = None

    def _check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: {self.lib.clenc_status_name(status).decode()}: "
                               f"{self.lib.clenc_last_error().decode(errors='replace')}")

    def use_session(self, batch, seq):
        if self.shape == (batch, seq):
            return
        self.lib.clenc_session_destroy(self.session)
        self.session, self.shape = ctypes.c_void_p(), None
        self._check(self.lib.clenc_session_create(self.model, batch, seq,
                                                  ctypes.byref(self.session)),
                    "clenc_session_create")
        self.shape = (batch, seq)

    def encode(self, ids, lengths):
        batch, seq = ids.shape
        out = np.empty((batch, self.hidden), dtype=np.float32)
        self._check(self.lib.clenc_encode(self.session, ids.ctypes.data, None, lengths.ctypes.data,
                                          batch, seq, POOL_MEAN_NORMALIZE, out.ctypes.data),
                    "clenc_encode")
        return out

    def close(self):
        self.lib.clenc_session_destroy(self.session)
        self.lib.clenc_model_destroy(self.model)
        self.lib.clenc_context_destroy(self.ctx)


# ------------------------------------------------------------ the peers
def make_wrapper(model_dir):
    import torch
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        """BertModel, then the mean over the attention mask, then L2 normalisation."""

        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return MeanPooled(AutoModel.from_pretrained(model_dir)).eval()


ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def export_onnx(wrapper, model_dir, path):
    """Exports once; re-exports when the weights are newer than the file."""
    import torch
    weights = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(weights):
        log(f"onnx: using cached {path}")
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # A sample with padding, so that the traced graph keeps the mask path.
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    axes = {name: {0: "batch", 1: "seq"} for name in ONNX_INPUTS}
    axes["embeddings"] = {0: "batch"}
    tmp = path + ".tmp"
    log(f"onnx: exporting {model_dir} to {path} (opset {OPSET}, TorchScript exporter)")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (ids, mask, torch.zeros_like(ids)), tmp,
                          input_names=list(ONNX_INPUTS), output_names=["embeddings"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    import onnx
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


# ---------------------------------------------------------------- cells
def make_cell(name):
    """Random ids 1000..29999 with [CLS] 101 first and [SEP] 102 last, types 0, padding 0."""
    batch, seq = CELLS[name]
    rng = np.random.default_rng([SEED, zlib.crc32(name.encode())])
    if seq is None:
        lengths = rng.integers(MIXED_RANGE[0], MIXED_RANGE[1] + 1, size=batch)
    else:
        lengths = np.full(batch, seq)
    return token_batch(rng, lengths)


def token_batch(rng, lengths):
    lengths = np.asarray(lengths, dtype=np.int32)
    batch, seq = len(lengths), int(lengths.max())
    ids = rng.integers(1000, 30000, size=(batch, seq)).astype(np.int32)
    mask = (np.arange(seq)[None, :] < lengths[:, None]).astype(np.int32)
    ids[:, 0] = 101
    ids[np.arange(batch), lengths - 1] = 102
    ids *= mask
    return ids, lengths, mask


def stats(batch, times):
    med = statistics.median(times)
    return {"sequences_per_s": batch / med, "latency_ms": med * 1e3,
            "latency_ms_min": min(times) * 1e3, "latency_ms_max": max(times) * 1e3}


def run_cell(name, clenc, ort_sess, torch_model, warmup, runs):
    import torch
    ids, lengths, mask = make_cell(name)
    batch, seq = ids.shape
    ids64, mask64 = ids.astype(np.int64), mask.astype(np.int64)
    types64 = np.zeros_like(ids64)
    feed = dict(zip(ONNX_INPUTS, (ids64, mask64, types64)))

    def run_torch():
        with torch.inference_mode():
            return torch_model(torch.from_numpy(ids64), torch.from_numpy(mask64),
                               torch.from_numpy(types64)).numpy()

    engines = {"clenc": lambda: clenc.encode(ids, lengths),
               "onnxruntime": lambda: ort_sess.run(None, feed)[0],
               "pytorch": run_torch}
    uniform = None
    if CELLS[name][1] is None:  # clenc only: a uniform batch of the same token count
        useq = max(1, round(int(lengths.sum()) / batch))
        uids, ulens, _ = token_batch(np.random.default_rng([SEED, 1]), np.full(batch, useq))
        uniform = (batch, useq)
        engines["clenc_uniform"] = lambda: clenc.encode(uids, ulens)
    clenc.use_session(batch, seq)

    log(f"{name}: batch {batch}, seq {seq}, {int(lengths.sum())} tokens; "
        f"{warmup} warm-up + {runs} timed runs per engine")
    for _ in range(warmup):
        for fn in engines.values():
            fn()
    times = {e: [] for e in engines}
    outs = {}
    for r in range(runs):
        for e, fn in engines.items():
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            fn()
            while time.perf_counter() - t0 < REWARM_S:
                fn()
            t0 = time.perf_counter()
            outs[e] = fn()
            times[e].append(time.perf_counter() - t0)
        log(f"  run {r + 1}/{runs}: " + ", ".join(f"{e} {times[e][-1] * 1e3:.1f} ms" for e in engines))

    cell = {"name": name, "batch": batch, "seq": None if uniform else seq}
    for e in ENGINES:
        cell[e] = stats(batch, times[e])
    cell["ratio"] = {p: cell["clenc"]["sequences_per_s"] / cell[p]["sequences_per_s"] for p in PEERS}
    agree = {f"{a}_vs_{b}": float(np.abs(outs[a] - outs[b]).max())
             for a, b in (("clenc", "onnxruntime"), ("clenc", "pytorch"), ("onnxruntime", "pytorch"))}
    extra = {"agreement_max_abs_diff": agree, "tokens": int(lengths.sum())}
    if uniform:
        extra["uniform_equivalent"] = {"batch": uniform[0], "seq": uniform[1],
                                       "clenc": stats(batch, times["clenc_uniform"])}
        extra["clenc_time_ratio_mixed_over_uniform"] = (
            cell["clenc"]["latency_ms"] / extra["uniform_equivalent"]["clenc"]["latency_ms"])
    return cell, extra


# ----------------------------------------------------------------- gemm
def run_gemm_bench(prog, threads):
    if not os.path.exists(prog):
        log(f"warning: {prog} not found; no GEMM comparison (\"gemm\": [])")
        return [], "unknown"
    log(f"gemm: {prog} --json --threads {threads}")
    try:
        res = subprocess.run([prog, "--json", "--threads", str(threads)], check=True,
                             stdout=subprocess.PIPE, text=True)
        doc = json.loads(res.stdout)
        keys = ("m", "n", "k", "clenc_gflops", "openblas_gflops", "ratio")
        rows = [{k: row[k] for k in keys} for row in doc["gemm"]]
        return rows, str(doc.get("openblas", "unknown"))
    except (subprocess.CalledProcessError, ValueError, KeyError, TypeError) as err:
        log(f"warning: {prog} failed ({err}); no GEMM comparison")
        return [], "unknown"


# --------------------------------------------------------------- output
def machine_name(threads):
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{platform.node()}: {cpu}, {os.cpu_count()} cores ({threads} threads used)"


def print_tables(doc, extra):
    print(f"\n{doc['machine']}")
    v = doc["versions"]
    print(f"clenc {v['clenc']} on {extra['clenc_device']} (POCL_MAX_PTHREAD_COUNT={doc['threads']}), "
          f"onnxruntime {v['onnxruntime']}, torch {v['torch']}; median of {extra['runs']} runs\n")
    print(f"{'cell':<12} {'batch':>5} {'seq':>4}  {'engine':<12} {'median ms':>9}  {'[min – max]':<19}"
          f" {'seq/s':>8}  {'clenc ×':>7}  {'max |Δ| vs clenc':>16}")
    for cell in doc["cells"]:
        agree = extra["cells"][cell["name"]]["agreement_max_abs_diff"]
        seq = "var" if cell["seq"] is None else cell["seq"]
        for i, e in enumerate(ENGINES):
            s = cell[e]
            head = f"{cell['name']:<12} {cell['batch']:>5} {seq:>4}" if i == 0 else " " * 23
            ratio = f"{cell['ratio'][e]:7.2f}" if e in PEERS else " " * 7
            diff = f"{agree['clenc_vs_' + e]:16.1e}" if e in PEERS else ""
            print(f"{head}  {e:<12} {s['latency_ms']:9.2f}  [{s['latency_ms_min']:7.2f} – "
                  f"{s['latency_ms_max']:7.2f}] {s['sequences_per_s']:8.1f}  {ratio}  {diff}")
        x = extra["cells"][cell["name"]]
        if "uniform_equivalent" in x:
            u = x["uniform_equivalent"]
            print(f"{'':23}  clenc, uniform {u['batch']}×{u['seq']} ({x['tokens']} tokens → "
                  f"{u['batch'] * u['seq']}): {u['clenc']['latency_ms']:.2f} ms; "
                  f"mixed/uniform time {x['clenc_time_ratio_mixed_over_uniform']:.2f}")
    print("\nclenc × = clenc's sequences/s over the peer's (above 1: clenc is faster)")
    print(f"\nGEMM: clenc's own kernel against {doc['versions']['openblas']}")
    if not doc["gemm"]:
        print("  (no GEMM figures: the GEMM benchmark program is missing or failed)")
        return
    print(f"{'m':>6} {'n':>6} {'k':>6}  {'clenc GFLOP/s':>13}  {'OpenBLAS GFLOP/s':>16}  {'ratio':>6}")
    for g in doc["gemm"]:
        print(f"{g['m']:>6} {g['n']:>6} {g['k']:>6}  {g['clenc_gflops']:13.1f}  "
              f"{g['openblas_gflops']:16.1f}  {g['ratio']:6.2f}")


def main():
    ap = argparse.ArgumentParser(description="clenc against ONNX Runtime and PyTorch on CPU.")
    add, here = ap.add_argument, lambda rel: os.path.join(ROOT, rel)
    add("--model", default=here("models/all-MiniLM-L6-v2"), help="model folder (models/all-MiniLM-L6-v2)")
    add("--lib", default=here("build/libclenc.so"), help="libclenc.so (build/libclenc.so)")
    add("--threads", type=int, default=os.cpu_count(), help="threads of every engine (all cores)")
    add("--runs", type=int, default=7, help="timed runs per engine and cell (7)")
    add("--warmup", type=int, default=2, help="warm-up runs per engine and cell (2)")
    add("--cells", default=",".join(CELLS), help="comma list of cells (all): " + ", ".join(CELLS))
    add("--quick", action="store_true", help="runs=3, warmup=1, for testing")
    add("--gemm-bench", default=here("build/bin/clenc-bench-gemm"),
        help="GEMM comparison program (build/bin/clenc-bench-gemm)")
    add("--onnx", default=here("build/bench/minilm.onnx"), help="exported model (build/bench/minilm.onnx)")
    add("--out", default=here("build/bench.json"), help="JSON result (build/bench.json)")
    args = ap.parse_args()
    if args.quick:
        args.runs, args.warmup = 3, 1
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = [c for c in cells if c not in CELLS]
    if unknown or not cells:
        ap.error(f"unknown cells {unknown}; the cells are {', '.join(CELLS)}")
    if args.runs < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--runs and --threads must be at least 1, --warmup at least 0")
    if not os.path.exists(args.lib):
        ap.error(f"{args.lib} not found: build it with make")
    if not os.path.exists(os.path.join(args.model, "config.json")):
        ap.error(f"no model in {args.model}: fetch it with tools/fetch-model.sh")
    T = args.threads

    # PoCL's CPU device takes its thread count from here, read when it starts.
    os.environ["POCL_MAX_PTHREAD_COUNT"] = str(T)
    log(f"threads: {T} (POCL_MAX_PTHREAD_COUNT={T}, ORT intra-op {T}, torch.set_num_threads({T}))")
    with open(os.path.join(args.model, "config.json")) as f:
        hidden = json.load(f)["hidden_size"]
    log(f"clenc: loading {args.lib} and {args.model}")
    clenc = Clenc(args.lib, args.model, hidden)
    log(f"clenc: {clenc.version} on {clenc.device.name.decode()} "
        f"({clenc.device.compute_units} compute units)")

    import onnxruntime
    import torch
    import transformers
    torch.set_num_threads(T)
    log(f"pytorch: loading {args.model} with transformers {transformers.__version__}")
    wrapper = make_wrapper(args.model)
    export_onnx(wrapper, args.model, args.onnx)
    ort_sess = ort_session(args.onnx, T)

    doc = {"machine": machine_name(T), "threads": T,
           "versions": {"clenc": clenc.version, "onnxruntime": onnxruntime.__version__,
                        "torch": torch.__version__, "openblas": "unknown"},
           "cells": [], "gemm": []}
    extra = {"clenc_device": clenc.device.name.decode(),
             "clenc_driver": clenc.device.driver_version.decode(),
             "clenc_compute_units": clenc.device.compute_units,
             "pocl_max_pthread_count": T, "runs": args.runs, "warmup": args.warmup,
             "method": f"interleaved; each timed run after a {SETTLE_S} s pause, then untimed "
                       f"runs of the same engine for at least {REWARM_S} s",
             "transformers": transformers.__version__, "numpy": np.__version__,
             "onnx_model": {"path": os.path.relpath(args.onnx, ROOT), "opset": OPSET,
                            "exporter": "torch.onnx.export (TorchScript, dynamo=False)"},
             "tolerance": TOLERANCE, "cells": {}}
    for name in cells:
        cell, cell_extra = run_cell(name, clenc, ort_sess, wrapper, args.warmup, args.runs)
        doc["cells"].append(cell)
        extra["cells"][name] = cell_extra
    clenc.close()
    doc["gemm"], doc["versions"]["openblas"] = run_gemm_bench(args.gemm_bench, T)
    doc["extra"] = extra

    print_tables(doc, extra)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    log(f"wrote {args.out}")
    bad = [(c, k, v) for c, x in extra["cells"].items()
           for k, v in x["agreement_max_abs_diff"].items() if not v < TOLERANCE]
    for c, k, v in bad:
        log(f"error: {c}: {k} max |diff| {v:.2e} exceeds {TOLERANCE:g}: outputs disagree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
