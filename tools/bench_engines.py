# bench_engines.py — the peers of bench_peers.py: PyTorch, ONNX Runtime on the transformer-optimised export (fp32 and int8), OpenVINO, and MLAS's GEMM.
"""The peer engines of tools/bench_peers.py (see its docstring for the method).

- PyTorch runs the transformers model as a user would (its default attention).
- The ONNX export is traced from the same model with eager attention, so that
  the attention is MatMul/Softmax that ONNX Runtime's transformer optimiser
  fuses (the SDPA path traces to a graph it does not fuse). ONNX Runtime runs
  the optimised graph; the bench refuses to time it when the fusions are
  missing. OpenVINO compiles the plain export: its own frontend fuses.
- ONNX Runtime int8 is its dynamic quantisation (quantize_dynamic) of that
  same optimised graph, as its users deploy BERT models on CPUs: per-channel
  s8 weights, u8 activations quantised per tensor at run time.
- MLAS is ONNX Runtime running one MatMul with a constant weight.
"""
import collections, hashlib, json, os, statistics, sys, time, warnings

import numpy as np

ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17
EXPORTER = "torch.onnx.export (TorchScript, dynamo=False), eager attention"
# Fused operator kinds of ONNX Runtime's BERT optimiser, and the ops that count as each.
FUSED = {"attention": ("Attention", "MultiHeadAttention"),
         "skip_layer_norm": ("SkipLayerNormalization",),
         "gelu": ("BiasGelu", "FastGelu", "Gelu", "GemmFastGelu"),
         "embed_layer_norm": ("EmbedLayerNormalization",)}
UNFUSED = ("Softmax", "LayerNormalization", "Erf")  # left over when a fusion failed


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# -------------------------------------------------------------- PyTorch
def make_wrapper(model_dir, attn_implementation=None):
    """BertModel, then the mean over the attention mask, then L2 normalisation
    (as clenc's CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE; in the graph for the ONNX peers)."""
    import torch
    from transformers import AutoModel

    class MeanPooled(torch.nn.Module):
        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state
            m = attention_mask.unsqueeze(-1).to(h.dtype)
            pooled = (h * m).sum(dim=1) / m.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    kw = {"attn_implementation": attn_implementation} if attn_implementation else {}
    return MeanPooled(AutoModel.from_pretrained(model_dir, **kw)).eval()


# ----------------------------------------------------------- the export
def export_onnx(model_dir, path):
    """Exports once; again when the weights are newer or the recipe (exporter,
    versions) differs from the one recorded beside the file: an export cached
    by an older bench traced SDPA attention, which does not fuse."""
    import torch, transformers
    recipe = {"exporter": EXPORTER, "opset": OPSET, "torch": torch.__version__,
              "transformers": transformers.__version__}
    stamp = path + ".json"
    weights = os.path.join(model_dir, "model.safetensors")
    try:
        with open(stamp) as f:
            fresh = (json.load(f) == recipe and
                     os.path.getmtime(path) >= os.path.getmtime(weights))
    except (OSError, ValueError):
        fresh = False
    if fresh:
        log(f"onnx: using cached {path}")
        return recipe
    os.makedirs(os.path.dirname(path), exist_ok=True)
    wrapper = make_wrapper(model_dir, "eager")
    # A sample with padding, so that the traced graph keeps the mask path.
    ids = torch.full((2, 16), 1000, dtype=torch.long)
    mask = torch.ones_like(ids)
    mask[1, 9:] = 0
    axes = {name: {0: "batch", 1: "seq"} for name in ONNX_INPUTS}
    axes["embeddings"] = {0: "batch"}
    tmp = path + ".tmp"
    log(f"onnx: exporting {model_dir} to {path} (opset {OPSET}, {EXPORTER})")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (ids, mask, torch.zeros_like(ids)), tmp,
                          input_names=list(ONNX_INPUTS), output_names=["embeddings"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
    import onnx
    onnx.checker.check_model(tmp)
    os.replace(tmp, path)
    with open(stamp, "w") as f:
        json.dump(recipe, f)
    return recipe


def optimize_onnx(path, opt_path, config):
    """ONNX Runtime's transformer optimiser on the export, saved to opt_path;
    returns the fused counts read back from the saved file and the fusions
    missing from it (a message each; empty when the graph is fully fused)."""
    import onnx
    from onnxruntime.transformers.optimizer import optimize_model
    heads, hidden = config["num_attention_heads"], config["hidden_size"]
    layers = config["num_hidden_layers"]
    log(f"onnxruntime: optimize_model(model_type='bert', num_heads={heads}, hidden_size={hidden})")
    optimize_model(path, model_type="bert", num_heads=heads,
                   hidden_size=hidden).save_model_to_file(opt_path)
    ops = collections.Counter(n.op_type for n in onnx.load(opt_path).graph.node)
    fused = {kind: sum(ops[op] for op in names) for kind, names in FUSED.items()}
    # What a fully fused BERT has: per layer one attention, two skip
    # LayerNorms (after attention and after the FFN), one gelu; one embedding LayerNorm.
    want = {"attention": layers, "skip_layer_norm": 2 * layers, "gelu": layers,
            "embed_layer_norm": 1}
    missing = [f"{kind} ({'/'.join(FUSED[kind])}): {fused[kind]} in the graph, "
               f"a fully fused {layers}-layer BERT has {n}"
               for kind, n in want.items() if fused[kind] != n]
    missing += [f"{ops[op]} unfused {op} left" for op in UNFUSED if ops[op]]
    return {"fused": fused, "by_op": {op: ops[op] for names in FUSED.values()
                                      for op in names if ops[op]}}, missing


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


# ------------------------------------------------------- ONNX Runtime int8
INT8_QUANTISED = {"QAttention": 1, "MatMulInteger": 3}  # per layer: QKV; attention out, FFN up, down


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def ort_int8_settings(reduce_range=None):
    """The quantize_dynamic settings of the ORT int8 peer. reduce_range
    (7-bit weights) is what ONNX Runtime's quantisation guide prescribes for
    its u8 x s8 kernels on AVX2/AVX-512 CPUs without VNNI, whose vpmaddubsw
    saturates 16-bit pair sums of full-range values; with VNNI (vpdpbusd
    accumulates in 32 bits) it only costs accuracy. None: that rule on this
    CPU's flags."""
    vnni = bool(cpu_flags() & {"avx512_vnni", "avx_vnni", "amx_int8"})
    if reduce_range is None:
        reduce_range = not vnni
    return {"per_channel": True, "weight_type": "QInt8", "reduce_range": bool(reduce_range),
            "activations": "QUInt8, one scale and zero point per tensor, computed at run time "
                           "(DynamicQuantizeLinear)",
            "cpu_vnni": vnni,
            "pre_process": "quant_pre_process (symbolic and ONNX shape inference, ORT's basic "
                           "optimisation): quantize_dynamic cannot type the outputs of the "
                           "optimiser's contrib ops (Attention, ...) without it"}


def int8_path(opt_path, settings):
    tail = ".int8-rr.onnx" if settings["reduce_range"] else ".int8.onnx"
    return os.path.splitext(opt_path)[0] + tail


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def quantize_int8(opt_path, settings, layers):
    """ONNX Runtime's quantize_dynamic on the optimised graph opt_path (after
    quant_pre_process), cached beside it (int8_path) and redone when the
    optimised graph's content, the settings or onnxruntime's version differ
    from the record beside the file. Returns its path, the quantised op
    counts, and what is missing from a fully quantised graph (a message each)."""
    import onnx, onnxruntime
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic
    path = int8_path(opt_path, settings)
    recipe = dict(settings, onnxruntime=onnxruntime.__version__, source=os.path.basename(opt_path),
                  source_sha256=file_sha256(opt_path))
    stamp = path + ".json"
    try:
        with open(stamp) as f:
            fresh = json.load(f) == recipe and os.path.exists(path)
    except (OSError, ValueError):
        fresh = False
    if fresh:
        log(f"onnxruntime int8: using cached {path}")
    else:
        log(f"onnxruntime int8: quant_pre_process + quantize_dynamic(per_channel=True, "
            f"weight_type=QInt8, reduce_range={settings['reduce_range']}) -> {path}")
        pre, tmp = path + ".pre.onnx", path + ".tmp"
        try:
            quant_pre_process(opt_path, pre)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                quantize_dynamic(pre, tmp, per_channel=True, weight_type=QuantType.QInt8,
                                 reduce_range=settings["reduce_range"])
            os.replace(tmp, path)
        finally:
            for leftover in (pre, tmp):
                if os.path.exists(leftover):
                    os.remove(leftover)
        with open(stamp, "w") as f:
            json.dump(recipe, f)
    ops = collections.Counter(n.op_type for n in onnx.load(path).graph.node)
    missing = [f"{op}: {ops[op]} in the graph, a fully quantised {layers}-layer BERT has {n * layers}"
               for op, n in INT8_QUANTISED.items() if ops[op] != n * layers]
    missing += [f"{ops[op]} float {op} left" for op in ("MatMul", "Attention") if ops[op]]
    counts = {op: ops[op] for op in ("QAttention", "MatMulInteger", "DynamicQuantizeLinear",
                                     "QEmbedLayerNormalization", "EmbedLayerNormalization") if ops[op]}
    return path, counts, missing


# ------------------------------------------------------------- OpenVINO
class OpenVino:
    """OpenVINO's CPU plugin on the plain export, f32, T threads, compiled per
    cell for the cell's static shape (clenc also makes a session per shape;
    static was 7-10% faster than dynamic shapes here) under each hint.
    LATENCY runs one request. THROUGHPUT makes several streams that share the
    T threads; one request would use one stream only, so the batch is split
    into that many equal parts run as concurrent requests, as a throughput
    user would (batch 1 cannot be split: one request)."""
    HINTS = ("LATENCY", "THROUGHPUT")

    def __init__(self, path, threads):
        import openvino
        self.core, self.path, self.threads = openvino.Core(), path, threads
        self.version = openvino.__version__.split("-")[0]
        self.config = {"INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads}
        self.runners, self.info = {}, {}

    def _compile(self, hint, batch, seq):
        model = self.core.read_model(self.path)
        model.reshape({name: [batch, seq] for name in ONNX_INPUTS})
        return self.core.compile_model(model, "CPU", dict(self.config, PERFORMANCE_HINT=hint))

    def prepare(self, batch, seq):
        """Compiles both hints for (batch, seq); self.runners[hint](feed) -> embeddings."""
        self.runners, self.info = {}, {}
        for hint in self.HINTS:
            compiled = self._compile(hint, batch, seq)
            parts = int(compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS"))
            if hint == "THROUGHPUT" and parts > 1 and batch % parts == 0:
                compiled = self._compile(hint, batch // parts, seq)
            else:
                parts = 1
            self.info[hint] = {"streams": int(compiled.get_property("NUM_STREAMS")),
                               "requests": parts,
                               "threads": int(compiled.get_property("INFERENCE_NUM_THREADS")),
                               "precision": compiled.get_property(
                                   "INFERENCE_PRECISION_HINT").get_type_name()}
            reqs = [compiled.create_infer_request() for _ in range(parts)]
            self.runners[hint] = self._runner(reqs, batch // parts)

    @staticmethod
    def _runner(reqs, rows):
        if len(reqs) == 1:
            return lambda feed: np.array(reqs[0].infer(feed)[0], copy=True)

        def run(feed):
            for i, r in enumerate(reqs):
                r.start_async({k: v[i * rows:(i + 1) * rows] for k, v in feed.items()})
            for r in reqs:
                r.wait()
            return np.concatenate([r.get_output_tensor(0).data for r in reqs])
        return run


# ----------------------------------------------------------------- MLAS
def gemm_operands(m, n, k):
    """tools/bench-gemm.c's A [m,k] and W [n,k] (the same values); W returned as Wᵀ [k,n]."""
    a = ((np.arange(m * k, dtype=np.uint64) * 2654435761) % 1000).astype(np.float32) / 1000 - 0.5
    w = ((np.arange(n * k, dtype=np.uint64) * 40503) % 1000).astype(np.float32) / 1000 - 0.5
    return a.reshape(m, k), np.ascontiguousarray(w.reshape(n, k).T)


def mlas_gemm(m, n, k, threads, runs):
    """GFLOP/s of ONNX Runtime's MatMul (MLAS's SGEMM, weight prepacked) on
    A [m,k] × constant W [k,n], timed as clenc-bench-gemm times its own: runs
    of a chain of calls (about 20 ms at 200 GFLOP/s), median after one
    untimed run. Also whether sampled rows match a float64 reference."""
    import onnx, onnxruntime as ort
    from onnx import helper, numpy_helper, TensorProto
    a, w = gemm_operands(m, n, k)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "W"], ["Y"])], "mlas_gemm",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(w, "W")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    sess = ort_session(model.SerializeToString(), threads)
    y = np.full((m, n), np.nan, dtype=np.float32)
    bind = sess.io_binding()  # no per-call allocation or copy of the output
    bind.bind_cpu_input("A", a)
    bind.bind_output("Y", "cpu", 0, np.float32, list(y.shape), y.ctypes.data)
    flop = 2.0 * m * n * k
    chain = min(256, max(1, int(4e9 / flop)))
    times = []
    for i in range(-1, runs):
        t0 = time.perf_counter()
        for _ in range(chain):
            sess.run_with_iobinding(bind)
        if i >= 0:
            times.append((time.perf_counter() - t0) / chain)
    rows = np.unique(np.linspace(0, m - 1, 8).astype(int))
    ref = a[rows].astype(np.float64) @ w.astype(np.float64)
    scale = np.abs(a[rows]).astype(np.float64) @ np.abs(w).astype(np.float64)
    ok = bool(np.all(np.abs(y[rows] - ref) <= 1e-4 * scale + 1e-6))
    return flop / statistics.median(times) / 1e9, ok
