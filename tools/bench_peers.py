# bench_peers.py — times clenc against ONNX Runtime, OpenVINO and PyTorch on CPU (all-MiniLM-L6-v2), its fp16 and int8 against its fp32 and ONNX Runtime's int8, and its GEMM against OpenBLAS, oneDNN and MLAS, for `make bench`; writes build/bench.json.
"""Peer benchmark of `make bench`.

usage: python tools/bench_peers.py [--model DIR] [--lib SO] [--threads T]
           [--runs N] [--warmup N] [--cells a,b,...|none] [--quick]
           [--precision-cells a,b,...|none] [--precisions fp16,int8]
           [--gemm-bench PROG] [--gemm-m LIST] [--onnx FILE] [--out FILE]

The same model runs on four engines with T threads each, all returning
mean-pooled, L2-normalised embeddings (inside the graph for the ONNX peers):
- clenc through its Python package (python/clenc from the source tree, on
  --lib's libclenc.so): Encoder.encode_ids, whose attention mask becomes
  clenc_encode's lengths (PoCL follows POCL_MAX_PTHREAD_COUNT, set here to
  T); the Encoder's session (32 x 256 tokens for MiniLM) serves the cells it
  holds, and one grown to the largest of the others (8 x 512) the rest;
- ONNX Runtime's CPU provider (intra-op T, ORT_ENABLE_ALL) on the transformer-
  optimised graph: the model is exported with eager attention (TorchScript
  exporter) to build/bench/minilm.onnx, then onnxruntime.transformers'
  optimize_model(model_type="bert") writes build/bench/minilm.opt.onnx. The
  fused operators in it are printed and recorded; when a fusion is missing
  (Attention, SkipLayerNormalization, the gelu, EmbedLayerNormalization) the
  bench names it and exits with status 2 before timing anything;
- OpenVINO's CPU plugin on the plain export, f32, T threads, compiled for each
  cell's static shape under the LATENCY and the THROUGHPUT hint (the latter
  splitting the batch over its streams' requests); both are timed, and the
  cell reports the faster one and which it was;
- PyTorch (transformers, default attention, torch.inference_mode).
The outputs are compared per cell. Timing runs from ids in host memory (numpy)
to embeddings in host memory (numpy). Runs are interleaved run by run (clenc,
ort, openvino ×2, torch, clenc, ...) so that all engines see the same machine
state. Each timed run comes after a 0.1 s pause, in which the previous engine's
idle threads stop spinning (ONNX Runtime's spin for about 40 ms after a run,
PyTorch's OpenMP ones for about 10 ms), then untimed runs of the same engine
for at least 0.2 s (one at least), which bring its threads and the machine's
idle states back to a steady stream of requests to that engine alone.

Cells: b1_s16, b1_s128, b32_s128, b8_s512 (batch x seq, every sequence full)
and mixed_8_128 (32 sequences of 8..128 tokens: every engine gets the batch
padded to the longest with an attention mask, whose row sums are clenc's
lengths: it spends no work on the padding). For the mixed cell clenc also
runs a uniform batch of about the same token count (32 x round(tokens /
32)); extra.cells.mixed_8_128 records time(mixed)/time(uniform).

Precision cells (issue 14), timed after those in the same way on the same
ids: b1_s16 clenc fp16 against clenc fp32; b1_s128 clenc fp32, fp16 and
int8, ONNX Runtime fp32 and int8; b32_s128 clenc fp32 and int8, ONNX Runtime
fp32 and int8. clenc loads one Encoder per precision (clenc.Encoder(dtype=
...): a context and a model each). ONNX Runtime int8 is quantize_dynamic
(per-channel s8 weights, u8 activations per tensor, reduce_range only on a
CPU without VNNI, as ONNX Runtime's guide says) of the optimised graph after
quant_pre_process, cached as build/bench/minilm.opt.int8.onnx. An engine
that cannot run (a precision the library refuses, a graph not fully
quantised) is reported NOT MEASURED with its reason, on stdout and as a
warning, and the others are still timed. Each reduced-precision output is compared with its engine's
fp32 (min cosine, max |diff|): a check on random ids, not the accuracy,
which tools/precision_accuracy.py measures on real texts.

The GEMM table comes from `PROG --json --threads T` (default
build/bin/clenc-bench-gemm: clenc, OpenBLAS on its CPU's kernels, oneDNN),
plus MLAS timed here the same way (ONNX Runtime running one MatMul with a
constant weight, a chain of calls of about 20 ms per run, median of the runs).
Without that program "gemm" is [].

Progress goes to stderr, the tables to stdout. Exit status 1 when the
engines' outputs disagree by more than 1e-4 (or MLAS's GEMM result is wrong),
2 when ONNX Runtime's graph is not fully fused; 1 too when a reduced-precision
output is not finite.
"""
import argparse, json, os, platform, statistics, subprocess, sys, time, zlib
from types import SimpleNamespace

import numpy as np

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
# clenc is the source tree's Python package (python/clenc), bound to --lib
# with clenc.use_library.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
import clenc  # noqa: E402
import bench_engines as peers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CELLS = {"b1_s16": (1, 16), "b1_s128": (1, 128), "b32_s128": (32, 128),
         "b8_s512": (8, 512), "mixed_8_128": (32, None)}
MIXED_RANGE = (8, 128)
SEED = 20240611
TOLERANCE = 1e-4
SETTLE_S = 0.1  # pause before each timed run, so that other engines' threads stop spinning
REWARM_S = 0.2  # then untimed runs of the engine for this long, so that it runs hot
PEERS = ("onnxruntime", "openvino", "pytorch")
ENGINES = ("clenc",) + PEERS
OV_ENGINES = {"openvino_" + h.lower(): h for h in peers.OpenVino.HINTS}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------- clenc
def load_clenc(model_dir, precisions):
    """One clenc.Encoder per precision: ({precision: Encoder}, {precision:
    why the library refused it}); fp32 must load."""
    encoders, errors = {}, {}
    for precision in precisions:
        try:
            encoders[precision] = clenc.Encoder(model_dir, dtype=precision)
        except clenc.Error as err:
            if precision == "fp32":
                raise
            errors[precision] = str(err)
            log(f"clenc {precision}: cannot load: {err}")
    return encoders, errors


def clenc_info(encoder):
    """weight_bytes, the precision the model reports and (fp16) whether it computes in half."""
    info = encoder.info
    return {"weight_bytes": info["weight_bytes"], "precision": info["dtype"],
            "fp16_compute": info["fp16_compute"]}


def clenc_engine(encoder, ids, mask):
    """A run of clenc: mean-pooled and normalised, as the peers' graphs pool."""
    return lambda: encoder.encode_ids(ids, mask, pooling="mean", normalize_embeddings=True)


class Clenc:
    """What tools/precision_accuracy.py imports from here (the interface of
    the ctypes class this file had), on load_clenc's Encoders: models,
    errors, info, version, device.name, encode(ids, lengths, precision,
    type_ids). To go when that script uses clenc.Encoder itself."""

    def __init__(self, lib_path, model_dir, hidden, precisions=("fp32",)):
        del hidden  # the Encoder knows it
        clenc.use_library(lib_path)
        self.models, self.errors = load_clenc(model_dir, precisions)
        self.info = {p: clenc_info(e) for p, e in self.models.items()}
        self.version = clenc.library_version()
        self.device = SimpleNamespace(name=self.models["fp32"].info["device"]["name"].encode())

    def use_session(self, batch, seq, precision="fp32"):
        """Nothing: encode_ids makes the session it needs."""

    def encode(self, ids, lengths, precision="fp32", type_ids=None):
        mask = np.arange(ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
        try:
            return self.models[precision].encode_ids(ids, mask, type_ids, pooling="mean",
                                                     normalize_embeddings=True)
        except clenc.Error as err:  # the caller catches RuntimeError, as the class raised
            raise RuntimeError(f"clenc_encode ({precision}): {err}") from err

    def close(self):
        for encoder in self.models.values():
            encoder.close()


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


def time_interleaved(engines, warmup, runs, failed=None):
    """Per engine: the times of its timed runs, and its last output. With a
    dict `failed`, an engine that raises is dropped from the runs and its
    error kept there (the precision cells: an engine that cannot run is
    reported, not timed); without, the error propagates."""
    engines = dict(engines)

    def call(e):
        try:
            return engines[e]()
        except Exception as err:  # noqa: BLE001 (clenc, onnxruntime: any failure is reported)
            if failed is None:
                raise
            failed[e] = f"{type(err).__name__}: {err}"
            log(f"  {e}: failed, left out of this cell: {failed[e]}")
            del engines[e]
            return None
    for _ in range(warmup):
        for e in list(engines):
            call(e)
    times, outs = {e: [] for e in engines}, {}
    for r in range(runs):
        for e in list(engines):
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            call(e)
            while e in engines and time.perf_counter() - t0 < REWARM_S:
                call(e)
            if e not in engines:
                continue
            t0 = time.perf_counter()
            out = call(e)
            if e in engines:
                outs[e] = out
                times[e].append(time.perf_counter() - t0)
        log(f"  run {r + 1}/{runs}: " + ", ".join(f"{e} {times[e][-1] * 1e3:.1f} ms" for e in engines))
    return {e: t for e, t in times.items() if e in engines}, outs


def run_cell(name, encoder, ort_sess, ov, torch_model, warmup, runs):
    import torch
    ids, lengths, mask = make_cell(name)
    batch, seq = ids.shape
    ids64, mask64 = ids.astype(np.int64), mask.astype(np.int64)
    types64 = np.zeros_like(ids64)
    feed = dict(zip(peers.ONNX_INPUTS, (ids64, mask64, types64)))

    def run_torch():
        with torch.inference_mode():
            return torch_model(torch.from_numpy(ids64), torch.from_numpy(mask64),
                               torch.from_numpy(types64)).numpy()

    ov.prepare(batch, seq)
    engines = {"clenc": clenc_engine(encoder, ids, mask),
               "onnxruntime": lambda: ort_sess.run(None, feed)[0]}
    engines.update({e: (lambda f=ov.runners[h]: f(feed)) for e, h in OV_ENGINES.items()})
    engines["pytorch"] = run_torch
    uniform = None
    if CELLS[name][1] is None:  # clenc only: a uniform batch of the same token count
        useq = max(1, round(int(lengths.sum()) / batch))
        uids, _, umask = token_batch(np.random.default_rng([SEED, 1]), np.full(batch, useq))
        uniform = (batch, useq)
        engines["clenc_uniform"] = clenc_engine(encoder, uids, umask)

    log(f"{name}: batch {batch}, seq {seq}, {int(lengths.sum())} tokens; "
        f"{warmup} warm-up + {runs} timed runs per engine")
    times, outs = time_interleaved(engines, warmup, runs)

    cell = {"name": name, "batch": batch, "seq": None if uniform else seq}
    for e in engines:
        cell[e] = stats(batch, times[e])
    ov_engine = min(OV_ENGINES, key=lambda e: cell[e]["latency_ms"])
    cell["openvino"], cell["openvino_hint"] = cell[ov_engine], OV_ENGINES[ov_engine]
    outs["openvino"] = outs[ov_engine]
    ov_cell = {OV_ENGINES[e]: dict(cell.pop(e), **ov.info[OV_ENGINES[e]]) for e in OV_ENGINES}
    cell["ratio"] = {p: cell["clenc"]["sequences_per_s"] / cell[p]["sequences_per_s"] for p in PEERS}
    cell["best_peer"] = min(PEERS, key=lambda p: cell["ratio"][p])
    cell["ratio_best_peer"] = cell["ratio"][cell["best_peer"]]
    pairs = [("clenc", p) for p in PEERS + tuple(OV_ENGINES)] + [("onnxruntime", "pytorch")]
    agree = {f"{a}_vs_{b}": float(np.abs(outs[a] - outs[b]).max()) for a, b in pairs}
    extra = {"agreement_max_abs_diff": agree, "tokens": int(lengths.sum()), "openvino": ov_cell}
    if uniform:
        extra["uniform_equivalent"] = {"batch": uniform[0], "seq": uniform[1],
                                       "clenc": cell.pop("clenc_uniform")}
        extra["clenc_time_ratio_mixed_over_uniform"] = (
            cell["clenc"]["latency_ms"] / extra["uniform_equivalent"]["clenc"]["latency_ms"])
    return cell, extra


# ------------------------------------------------------------ precision
# Reduced precision (issue 14), in the same run as the fp32 cells and on the
# same ids: per cell, its engines timed interleaved as above. "clenc" and
# "onnxruntime" are the fp32 engines, timed again here so that every ratio
# comes from one interleaved series.
PRECISION_CELLS = {
    "b1_s16": ("clenc", "clenc_fp16"),
    "b1_s128": ("clenc", "clenc_fp16", "clenc_int8", "onnxruntime", "onnxruntime_int8"),
    "b32_s128": ("clenc", "clenc_int8", "onnxruntime", "onnxruntime_int8"),
}
# Speed ratios reported per cell (first over second, in sequences/s), where both ran.
PRECISION_RATIOS = (("clenc_fp16", "clenc"), ("clenc_int8", "clenc"),
                    ("clenc_int8", "onnxruntime_int8"), ("onnxruntime_int8", "onnxruntime"))
# Each reduced-precision engine's output is compared with its own fp32.
FP32_OF = {"clenc_fp16": "clenc", "clenc_int8": "clenc", "onnxruntime_int8": "onnxruntime"}


def engine_precision(e):
    return e.rsplit("_", 1)[1] if e.endswith(("_fp16", "_int8")) else "fp32"


def engine_label(e):
    """clenc_int8 -> "clenc int8", clenc -> "clenc fp32"."""
    return e.split("_")[0] + " " + engine_precision(e)


def run_precision_cell(name, encoders, errors, ort_sess, ort_int8, precisions, warmup, runs):
    """encoders, errors: load_clenc's. ort_int8: (session, None) or (None, why
    there is none). Engines of a precision not in `precisions` are left out;
    one that cannot run is in the cell's not_measured with its reason."""
    ids, _, mask = make_cell(name)
    batch, seq = ids.shape
    ids64, mask64 = ids.astype(np.int64), mask.astype(np.int64)
    feed = dict(zip(peers.ONNX_INPUTS, (ids64, mask64, np.zeros_like(ids64))))
    engines, not_measured = {}, {}
    for e in PRECISION_CELLS[name]:
        p = engine_precision(e)
        if p != "fp32" and p not in precisions:
            continue
        if e.startswith("clenc"):
            if p in errors:
                not_measured[e] = errors[p]
                continue
            engines[e] = clenc_engine(encoders[p], ids, mask)
        elif e == "onnxruntime":
            engines[e] = lambda: ort_sess.run(None, feed)[0]
        elif ort_int8[0] is None:
            not_measured[e] = ort_int8[1]
        else:
            engines[e] = lambda: ort_int8[0].run(None, feed)[0]
    log(f"precision {name}: batch {batch}, seq {seq}; {', '.join(engines)}; "
        f"{warmup} warm-up + {runs} timed runs per engine")
    for e, why in not_measured.items():
        log(f"  {e}: NOT MEASURED: {why}")
    times, outs = time_interleaved(engines, warmup, runs, failed=not_measured)
    cell = {"name": name, "batch": batch, "seq": seq,
            "engines": {e: stats(batch, t) for e, t in times.items()},
            "not_measured": not_measured, "ratio": {}, "vs_fp32": {}}
    for a, b in PRECISION_RATIOS:
        if a in times and b in times:
            cell["ratio"][f"{a}/{b}"] = (cell["engines"][a]["sequences_per_s"] /
                                         cell["engines"][b]["sequences_per_s"])
    for e, ref in FP32_OF.items():
        if e in outs and ref in outs:
            x, r = outs[e].astype(np.float64), outs[ref].astype(np.float64)
            cos = (x * r).sum(1) / (np.linalg.norm(x, axis=1) * np.linalg.norm(r, axis=1))
            cell["vs_fp32"][e] = {"max_abs_diff": float(np.abs(x - r).max()),
                                  "min_cosine": float(cos.min())}
    return cell


def print_precision(doc):
    pr = doc.get("precision")
    if not pr or not pr["cells"]:
        return
    s = pr["settings"]
    print(f"\nReduced precision (median of {doc['extra']['runs']} interleaved runs, {doc['threads']} threads; "
          f"random ids as above, so the cosines are a check, not the accuracy: see tools/precision_accuracy.py)")
    for p, info in s["clenc"].items():
        if "error" in info:
            print(f"clenc {p}: not loaded: {info['error']}")
        elif info:
            mode = ("; fp16 compute (half activations)" if info.get("fp16_compute") else
                    "; weights stored as half, computed in float" if p == "fp16" else "")
            ratio = f" ({info['weight_bytes_vs_fp32']:.3f} x fp32)" if "weight_bytes_vs_fp32" in info else ""
            print(f"clenc {p}: weight bytes {info['weight_bytes']}{ratio}{mode}")
    q = s.get("onnxruntime_int8", {})
    if "error" in q:
        print(f"onnxruntime int8: none: {q['error']}")
    elif q:
        ops = ", ".join(f"{op} {n}" for op, n in q["ops"].items())
        print(f"onnxruntime int8: quantize_dynamic(per_channel=True, weight_type=QInt8, "
              f"reduce_range={q['reduce_range']}) on the optimised graph after quant_pre_process "
              f"({ops}); activations u8 per tensor; CPU VNNI {'yes' if q['cpu_vnni'] else 'no'}")
    print(f"{'cell':<9} {'batch':>5} {'seq':>4}  {'engine':<17} {'median ms':>9}  {'[min – max]':<19} "
          f"{'seq/s':>8}  {'vs fp32: min cos':>16}  {'max |Δ|':>8}")
    for cell in pr["cells"]:
        first = True
        for e in PRECISION_CELLS[cell["name"]]:
            head = f"{cell['name']:<9} {cell['batch']:>5} {cell['seq']:>4}" if first else " " * 20
            label = engine_label(e)
            if e in cell["engines"]:
                st, v = cell["engines"][e], cell["vs_fp32"].get(e)
                agree = f"{v['min_cosine']:16.7f}  {v['max_abs_diff']:8.1e}" if v else ""
                print(f"{head}  {label:<17} {st['latency_ms']:9.2f}  [{st['latency_ms_min']:7.2f} – "
                      f"{st['latency_ms_max']:7.2f}] {st['sequences_per_s']:8.1f}  {agree}".rstrip())
            elif e in cell["not_measured"]:
                print(f"{head}  {label:<17} NOT MEASURED: {cell['not_measured'][e]}")
            else:
                continue
            first = False
        for pair, x in cell["ratio"].items():
            a, b = (engine_label(t) for t in pair.split("/"))
            print(f"{'':20}  {a} over {b}: {x:.2f}x")
    print("a over b = a's sequences/s over b's (above 1: a is faster)")


# ----------------------------------------------------------------- gemm
def run_gemm_bench(prog, threads, runs, m_list):
    """The program's JSON (its keys read with .get: older ones emit fewer), {} without it."""
    if not os.path.exists(prog):
        log(f"warning: {prog} not found; no GEMM comparison (\"gemm\": [])")
        return {}
    cmd = [prog, "--json", "--threads", str(threads), "--runs", str(runs)]
    cmd += ["--m", m_list] if m_list else []
    log("gemm: " + " ".join(cmd))
    try:
        doc = json.loads(subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout)
        doc["gemm"] = [r for r in doc.get("gemm", [])
                       if all(isinstance(r.get(key), (int, float)) for key in ("m", "n", "k", "clenc_gflops"))]
        return doc
    except (subprocess.CalledProcessError, ValueError, AttributeError, TypeError) as err:
        log(f"warning: {prog} failed ({err}); no GEMM comparison")
        return {}


def add_mlas(rows, threads, runs):
    """mlas_gflops and mlas_ok on each row; ratio_best_peer = clenc over the
    fastest of OpenBLAS, oneDNN and MLAS, leaving out a peer whose result was wrong."""
    for i, row in enumerate(rows):
        log(f"gemm: MLAS {i + 1}/{len(rows)} (m {row['m']}, n {row['n']}, k {row['k']})")
        row["mlas_gflops"], row["mlas_ok"] = peers.mlas_gemm(row["m"], row["n"], row["k"], threads, runs)
        best = max([row.get(p + "_gflops") or 0 for p in ("openblas", "onednn", "mlas")
                    if row.get(p + "_ok") is not False])
        row["ratio_mlas"] = row["clenc_gflops"] / row["mlas_gflops"]
        row["ratio_best_peer"] = row["clenc_gflops"] / best if best else None


# --------------------------------------------------------------- output
def cpu_info():
    """The first processor of /proc/cpuinfo: model name, family, model, AVX2/AVX-512."""
    info = {"model_name": platform.processor() or platform.machine(), "family": None,
            "model": None, "avx2": False, "avx512": False, "cores": os.cpu_count()}
    try:
        with open("/proc/cpuinfo") as f:
            fields = dict(line.split(":", 1) for line in f.read().split("\n\n")[0].splitlines() if ":" in line)
        fields = {k.strip(): v.strip() for k, v in fields.items()}
        flags = fields.get("flags", "").split()
        info.update(model_name=fields.get("model name", info["model_name"]),
                    family=fields.get("cpu family"), model=fields.get("model"),
                    avx2="avx2" in flags, avx512="avx512f" in flags)
    except OSError:
        pass
    return info


def cpu_label(c):
    isa = ("AVX-512" if c["avx512"] else "AVX2, no AVX-512" if c["avx2"] else "no AVX2")
    return f"{c['model_name']} (family {c['family']}, model {c['model']}; {isa})"


def print_header(doc, extra):
    v, s, T = doc["versions"], doc["settings"], doc["threads"]
    fused = ", ".join(f"{op} {n}" for op, n in s["onnxruntime"]["by_op"].items())
    hints = ", ".join(f"{c['name']} {c['openvino_hint'].lower()}" for c in doc["cells"])
    print(f"\n{doc['machine']}\nCPU: {cpu_label(doc['cpu'])}, {doc['cpu']['cores']} cores, {T} threads per engine")
    print(f"clenc {v['clenc']} on {extra['clenc_device']} (POCL_MAX_PTHREAD_COUNT={T})")
    print(f"onnxruntime {v['onnxruntime']}: transformer-optimised graph ({fused}), "
          f"ORT_ENABLE_ALL, intra-op threads {T}")
    print(f"openvino {v['openvino']}: CPU plugin, f32, {T} threads, static shape per cell; "
          f"faster hint per cell: {hints}")
    print(f"pytorch {v['torch']}: transformers {v['transformers']}, {s['pytorch']['attention']} attention, "
          f"torch.set_num_threads({T}), inference_mode")
    print(f"median of {extra['runs']} interleaved runs\n")


def print_cells(doc, extra):
    if not doc["cells"]:
        return
    print(f"{'cell':<12} {'batch':>5} {'seq':>4}  {'engine':<13} {'median ms':>9}  {'[min – max]':<19}"
          f" {'seq/s':>8}  {'clenc ×':>7}  {'max |Δ| vs clenc':>16}  {'clenc × best peer':>17}")
    for cell in doc["cells"]:
        x = extra["cells"][cell["name"]]
        seq = "var" if cell["seq"] is None else cell["seq"]
        for i, e in enumerate(ENGINES):
            s = cell[e]
            head = f"{cell['name']:<12} {cell['batch']:>5} {seq:>4}" if i == 0 else " " * 23
            label = f"openvino {cell['openvino_hint'][:3].lower()}" if e == "openvino" else e
            ratio = f"{cell['ratio'][e]:7.2f}" if e in PEERS else " " * 7
            diff = f"{x['agreement_max_abs_diff']['clenc_vs_' + e]:16.1e}" if e in PEERS else " " * 16
            best = f"{cell['ratio_best_peer']:6.2f} ({cell['best_peer']})" if e == "clenc" else ""
            print(f"{head}  {label:<13} {s['latency_ms']:9.2f}  [{s['latency_ms_min']:7.2f} – "
                  f"{s['latency_ms_max']:7.2f}] {s['sequences_per_s']:8.1f}  {ratio}  {diff}  {best:>17}".rstrip())
        if "uniform_equivalent" in x:
            u = x["uniform_equivalent"]
            print(f"{'':23}  clenc, uniform {u['batch']}×{u['seq']} ({x['tokens']} tokens → "
                  f"{u['batch'] * u['seq']}): {u['clenc']['latency_ms']:.2f} ms; "
                  f"mixed/uniform time {x['clenc_time_ratio_mixed_over_uniform']:.2f}")
    print("\nclenc × = clenc's sequences/s over the peer's (above 1: clenc is faster); "
          "openvino lat/thr = its faster hint in that cell (LATENCY/THROUGHPUT)")


def print_gemm(doc, g):
    v, forced = doc["versions"], g.get("openblas_core_forced")
    core = f"core {v['openblas_core']}" if v["openblas_core"] else "core not reported"
    core += (f", forced with OPENBLAS_CORETYPE={forced}" if isinstance(forced, str) and forced
             else ", forced with OPENBLAS_CORETYPE" if forced is True else "")
    onednn = f"oneDNN {v['onednn']}" if v["onednn"] else "oneDNN (not reported by the GEMM program)"
    print(f"\nGEMM (GFLOP/s, C = A·Wᵀ, {doc['threads']} threads): clenc ({g.get('clenc_gemm', '?')}) "
          f"against {v['openblas']} ({core}), {onednn}, MLAS (onnxruntime {v['onnxruntime']} MatMul, "
          f"timed after the others, same method)")
    if not doc["gemm"]:
        print("  (no GEMM figures: the GEMM benchmark program is missing or failed)")
        return

    def cell(row, peer):
        val = row.get(peer + "_gflops")
        return "-" if val is None else f"{val:.1f}" + (" ✗" if row.get(peer + "_ok") is False else "")
    print(f"{'m':>6} {'n':>6} {'k':>6}  {'clenc':>8}  {'OpenBLAS':>9}  {'oneDNN':>9}  {'MLAS':>9}  {'clenc/best':>10}")
    for r in doc["gemm"]:
        best = "-" if r.get("ratio_best_peer") is None else f"{r['ratio_best_peer']:.2f}"
        print(f"{r['m']:>6} {r['n']:>6} {r['k']:>6}  {r['clenc_gflops']:8.1f}  {cell(r, 'openblas'):>9}  "
              f"{cell(r, 'onednn'):>9}  {cell(r, 'mlas'):>9}  {best:>10}")
    print("clenc/best = clenc over the fastest of OpenBLAS, oneDNN and MLAS; ✗: that peer's result was "
          "wrong (left out of best)")


def machine_name(threads):
    return f"{platform.node()}: {cpu_info()['model_name']}, {os.cpu_count()} cores ({threads} threads used)"


def parse_args():
    ap = argparse.ArgumentParser(
        description="clenc against ONNX Runtime (transformer-optimised graph), OpenVINO and PyTorch "
                    "on CPU, and clenc's GEMM against OpenBLAS, oneDNN and MLAS.",
        epilog="Exit status 1: the engines' outputs disagree by more than 1e-4 (or MLAS's GEMM "
               "result is wrong); "
               "2: ONNX Runtime's optimised graph lacks a fusion (named on stderr).")
    add, here = ap.add_argument, lambda rel: os.path.join(ROOT, rel)
    add("--model", default=here("models/all-MiniLM-L6-v2"), help="model folder (models/all-MiniLM-L6-v2)")
    add("--lib", default=here("build/libclenc.so"), help="libclenc.so (build/libclenc.so)")
    add("--threads", type=int, default=os.cpu_count(), help="threads of every engine (all cores)")
    add("--runs", type=int, default=7, help="timed runs per engine and cell (7)")
    add("--warmup", type=int, default=2, help="warm-up runs per engine and cell (2)")
    add("--cells", default=",".join(CELLS),
        help="comma list of cells (all), or none: " + ", ".join(CELLS))
    add("--precision-cells", default=",".join(PRECISION_CELLS),
        help="comma list of reduced-precision cells (all), or none: " + ", ".join(
            f"{c} ({' '.join(e for e in es if e.endswith(('_fp16', '_int8')))})"
            for c, es in PRECISION_CELLS.items()))
    add("--precisions", default="fp16,int8",
        help="reduced precisions of those cells (fp16,int8); the fp32 engines are always there")
    add("--quick", action="store_true",
        help="for testing: runs=3, warmup=1, GEMM runs 3 and --gemm-m 16,512 unless given")
    add("--gemm-bench", default=here("build/bin/clenc-bench-gemm"),
        help="GEMM comparison program (build/bin/clenc-bench-gemm)")
    add("--gemm-m", help="M values of the GEMM table, comma list (the program's: 16,128,512,4096)")
    add("--onnx", default=here("build/bench/minilm.onnx"),
        help="the export (build/bench/minilm.onnx); the optimised graph goes beside it as .opt.onnx")
    add("--out", default=here("build/bench.json"), help="JSON result (build/bench.json)")
    args = ap.parse_args()
    args.gemm_runs = 5
    if args.quick:
        args.runs, args.warmup, args.gemm_runs = 3, 1, 3
        args.gemm_m = args.gemm_m or "16,512"
    def names(text):
        return [] if text.strip() == "none" else [c.strip() for c in text.split(",") if c.strip()]
    args.cells, args.precision_cells = names(args.cells), names(args.precision_cells)
    args.precisions = names(args.precisions)
    unknown = [c for c in args.cells if c not in CELLS]
    if unknown or not (args.cells or args.precision_cells):
        ap.error(f"unknown cells {unknown}; the cells are {', '.join(CELLS)} (or none, "
                 "with precision cells)")
    unknown = [c for c in args.precision_cells if c not in PRECISION_CELLS]
    if unknown:
        ap.error(f"unknown precision cells {unknown}; they are {', '.join(PRECISION_CELLS)}")
    unknown = [p for p in args.precisions if p not in ("fp16", "int8")]
    if unknown:
        ap.error(f"unknown precisions {unknown}; they are fp16, int8")
    if not args.precisions:
        args.precision_cells = []
    if args.runs < 1 or args.warmup < 0 or args.threads < 1:
        ap.error("--runs and --threads must be at least 1, --warmup at least 0")
    if not os.path.exists(args.lib):
        ap.error(f"{args.lib} not found: build it with make")
    if not os.path.exists(os.path.join(args.model, "config.json")):
        ap.error(f"no model in {args.model}: fetch it with tools/fetch-model.sh")
    return args


def main():
    args = parse_args()
    T = args.threads
    # PoCL's CPU device takes its thread count from here, read when it starts.
    os.environ["POCL_MAX_PTHREAD_COUNT"] = str(T)
    log(f"threads: {T} (POCL_MAX_PTHREAD_COUNT={T}, ORT intra-op {T}, OpenVINO {T}, "
        f"torch.set_num_threads({T}))")
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)

    import onnxruntime, torch, transformers
    torch.set_num_threads(T)
    recipe = peers.export_onnx(args.model, args.onnx)
    opt_path = os.path.splitext(args.onnx)[0] + ".opt.onnx"
    ort_graph, missing = peers.optimize_onnx(args.onnx, opt_path, config)
    log(f"onnxruntime: {opt_path}: fused {ort_graph['fused']}")
    for msg in missing:
        log(f"error: ONNX Runtime's transformer optimiser left the graph unfused: {msg}")
    if missing:
        log("error: not timing an unfused graph (see bench_engines.export_onnx / optimize_onnx)")
        return 2

    precisions = args.precisions if args.precision_cells else []
    log(f"clenc: loading {args.lib} and {args.model} ({', '.join(['fp32'] + precisions)})")
    clenc.use_library(args.lib)
    encoders, clenc_errors = load_clenc(args.model, ["fp32"] + precisions)
    version, device = clenc.library_version(), encoders["fp32"].info["device"]
    log(f"clenc: {version} on {device['name']} ({device['compute_units']} compute units)")
    ort_int8, int8_settings = (None, "not asked for (--precisions)"), {}
    if "int8" in precisions:
        int8_settings = peers.ort_int8_settings()
        try:
            q_path, q_ops, q_missing = peers.quantize_int8(opt_path, int8_settings,
                                                           config["num_hidden_layers"])
            int8_settings.update(graph=os.path.relpath(q_path, ROOT), ops=q_ops)
            if q_missing:
                ort_int8 = (None, "not timing a graph that is not fully quantised: " + "; ".join(q_missing))
            else:
                ort_int8 = (peers.ort_session(q_path, T), None)
                log(f"onnxruntime int8: {q_path}: {q_ops}")
        except Exception as err:  # noqa: BLE001 (onnxruntime.quantization raises many kinds)
            ort_int8 = (None, f"quantize_dynamic failed: {type(err).__name__}: {err}")
        if ort_int8[0] is None:
            int8_settings["error"] = ort_int8[1]
            log(f"onnxruntime int8: {ort_int8[1]}")
    log(f"pytorch: loading {args.model} with transformers {transformers.__version__}")
    wrapper = peers.make_wrapper(args.model)
    ort_sess = peers.ort_session(opt_path, T)
    ov = peers.OpenVino(args.onnx, T)

    rel = lambda p: os.path.relpath(p, ROOT)
    doc = {"machine": machine_name(T), "cpu": cpu_info(), "threads": T,
           "versions": {"clenc": version, "onnxruntime": onnxruntime.__version__,
                        "openvino": ov.version, "torch": torch.__version__,
                        "transformers": transformers.__version__, "numpy": np.__version__,
                        "openblas": "unknown", "openblas_core": None, "onednn": None},
           "settings": {
               "clenc": {"pocl_max_pthread_count": T, "session": (
                   "clenc.Encoder.encode_ids: the Encoder's session where the cell fits, else "
                   "one grown to the largest such cell")},
               "onnxruntime": dict(ort_graph, graph=rel(opt_path), optimizer=(
                   f"optimize_model(model_type='bert', num_heads={config['num_attention_heads']}, "
                   f"hidden_size={config['hidden_size']})"), graph_optimization_level="ORT_ENABLE_ALL",
                   intra_op_threads=T, inter_op_threads=1),
               "openvino": {"model": rel(args.onnx), "device": "CPU", "precision": "f32", "threads": T,
                            "shapes": "static, reshaped to each cell's shape",
                            "hints": list(peers.OpenVino.HINTS), "hint_per_cell": {}},
               "pytorch": {"threads": T, "attention": wrapper.bert.config._attn_implementation,
                           "mode": "torch.inference_mode"}},
           "cells": [], "gemm": []}
    extra = {"clenc_device": device["name"],
             "clenc_driver": device["driver_version"],
             "clenc_compute_units": device["compute_units"],
             "pocl_max_pthread_count": T, "runs": args.runs, "warmup": args.warmup,
             "method": f"interleaved; each timed run after a {SETTLE_S} s pause, then untimed "
                       f"runs of the same engine for at least {REWARM_S} s",
             "transformers": transformers.__version__, "numpy": np.__version__,
             "onnx_model": dict(recipe, path=rel(args.onnx), optimised=rel(opt_path)),
             "tolerance": TOLERANCE, "cells": {}}
    for name in args.cells:
        cell, cell_extra = run_cell(name, encoders["fp32"], ort_sess, ov, wrapper, args.warmup,
                                    args.runs)
        doc["cells"].append(cell)
        doc["settings"]["openvino"]["hint_per_cell"][name] = cell["openvino_hint"]
        extra["cells"][name] = cell_extra
    if args.precision_cells:
        fp32_bytes = encoders["fp32"].info["weight_bytes"]
        clenc_settings = {}
        for p in ["fp32"] + precisions:
            info = clenc_info(encoders[p]) if p in encoders else {"error": clenc_errors.get(p)}
            if fp32_bytes and info.get("weight_bytes"):
                info["weight_bytes_vs_fp32"] = info["weight_bytes"] / fp32_bytes
            clenc_settings[p] = info
        doc["precision"] = {"settings": {"clenc": clenc_settings, "precisions": precisions}, "cells": []}
        if "int8" in precisions:
            doc["precision"]["settings"]["onnxruntime_int8"] = int8_settings
        for name in args.precision_cells:
            doc["precision"]["cells"].append(run_precision_cell(
                name, encoders, clenc_errors, ort_sess, ort_int8, precisions, args.warmup,
                args.runs))
    for encoder in encoders.values():
        encoder.close()

    g = run_gemm_bench(args.gemm_bench, T, args.gemm_runs, args.gemm_m)
    doc["gemm"] = g.get("gemm", [])
    add_mlas(doc["gemm"], T, args.gemm_runs)
    doc["versions"].update(openblas=str(g.get("openblas", "unknown")),
                           openblas_core=g.get("openblas_core"), onednn=g.get("onednn"))
    doc["gemm_bench"] = {k: g.get(k) for k in ("cpu", "openblas_core_forced", "clenc_gemm")}
    doc["extra"] = extra

    print_header(doc, extra)
    print_cells(doc, extra)
    print_precision(doc)
    print_gemm(doc, g)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    log(f"wrote {args.out}")
    bad = [(c, k, v) for c, x in extra["cells"].items()
           for k, v in x["agreement_max_abs_diff"].items() if not v < TOLERANCE]
    for c, k, v in bad:
        log(f"error: {c}: {k} max |diff| {v:.2e} exceeds {TOLERANCE:g}: outputs disagree")
    wrong = [r for r in doc["gemm"] if not r["mlas_ok"]]
    for r in wrong:
        log(f"error: gemm m {r['m']} n {r['n']} k {r['k']}: MLAS's result differs from the float64 reference")
    pcells = doc.get("precision", {}).get("cells", [])
    for c in pcells:
        for e, why in c["not_measured"].items():
            log(f"warning: precision cell {c['name']}: {e} not measured: {why}")
    broken = [(c["name"], e) for c in pcells for e, v in c["vs_fp32"].items()
              if not np.isfinite(v["min_cosine"])]
    for c, e in broken:
        log(f"error: precision cell {c}: {e}'s output is not finite")
    return 1 if bad or wrong or broken else 0


if __name__ == "__main__":
    sys.exit(main())
