# precision_accuracy.py — accuracy of clenc's fp32, fp16 and int8 and of ONNX Runtime's int8 against the fp32 reference (sentence-transformers) on all-MiniLM-L6-v2, for `make accuracy`; prints a Markdown table, writes build/accuracy.json.
"""Reduced-precision accuracy of `make accuracy` (issue 14).

usage: python tools/precision_accuracy.py [--model DIR] [--lib SO] [--threads T]
           [--precisions fp32,fp16,int8] [--onnx FILE] [--out FILE]

Two sets of texts: the parity texts of tests/fixtures/minilm_parity.json
(42, pairs included: the ones clenc's end-to-end parity test uses) and the
twenty varied texts below (lengths from one token to past the 256-token
truncation, ten languages, punctuation, numbers, code, two paraphrase pairs).
The reference is sentence-transformers' encode of the fp32 model
(normalised). Every engine is fed the ids that sentence-transformers'
preprocessing makes, so that only the arithmetic differs; for the parity
texts those ids, and the reference embeddings, are checked against the
fixture (its float64 reference).

Engines:
- clenc at fp32, fp16 and int8 through libclenc.so (one context, one model
  per precision: clenc_model_load_as), each set encoded as one packed batch
  (a sequence's result does not depend on the others);
- ONNX Runtime fp32 on the transformer-optimised graph (the bench's peer: a
  check that the graph itself agrees), and ONNX Runtime int8: quantize_dynamic
  of that optimised graph after quant_pre_process, per-channel s8 weights, u8
  activations per tensor, reduce_range as ONNX Runtime's guide prescribes for
  this CPU (tools/bench_engines.py: ort_int8_settings), and the other
  reduce_range for comparison (no floor). ONNX Runtime runs one text at a
  time: its activation scale is per tensor, so padding and the other texts of
  a batch would change a text's result.

Per engine and set: minimum and mean cosine to the reference, max |diff| of
the normalised embeddings, and Spearman's rho between the engine's and the
reference's similarity matrices over all off-diagonal pairs (i < j).

Floors, per set: fp16 min cosine >= 0.99999 when the weights are stored as
half and computed in float, >= 0.9999 when it computes in half; int8 min
cosine >= 0.99 and >= ONNX Runtime int8's (the prescribed settings).

Exit status: 0; 1 a floor is broken; 2 a precision asked for could not be
measured (the library refused it: named on stderr); 3 the reference does not
match the parity fixture (ids or embeddings).
"""
import argparse, json, os, platform, sys

import numpy as np

sys.dont_write_bytecode = True  # no tools/__pycache__ in the tree
import bench_engines as peers  # tools/, the script's folder
from bench_peers import Clenc, cpu_info, cpu_label

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PARITY = os.path.join(ROOT, "tests", "fixtures", "minilm_parity.json")
PARITY_ST = os.path.join(ROOT, "tests", "fixtures", "minilm_parity.safetensors")
MAX_LEN = 256
FLOOR_FP16_STORAGE = 0.99999
FLOOR_FP16_COMPUTE = 0.9999
FLOOR_INT8 = 0.99
# The reference (encode of the fp32 model, batched and padded) against the
# fixture's float64 one: measured 2e-7 (float32 rounding); far above that,
# the reference or the ids are not the fixture's.
REFERENCE_TOLERANCE = 1e-5

# The second set: twenty varied texts (issue 14's "twenty varied texts").
# Two paraphrase pairs (1-2, 19-20) give the similarity matrix pairs whose
# rank must stay on top.
_LONG = (
    "Photosynthesis is the process by which green plants, algae and some bacteria turn light "
    "into chemical energy. In the chloroplasts, chlorophyll absorbs mostly blue and red light; "
    "the energy splits water into oxygen, protons and electrons, and the electrons pass along a "
    "transport chain that makes ATP and NADPH. The Calvin cycle then uses them to fix carbon "
    "dioxide into three-carbon sugars, about six turns of the cycle for one molecule of glucose. "
    "Roughly 1-2% of the sunlight that reaches a leaf ends up stored this way, yet it feeds almost "
    "every food chain on Earth and, over 2.4 billion years, filled the atmosphere with oxygen.")
_TRUNCATED = " ".join([
    "Section 4.2 (Limitation of Liability). To the maximum extent permitted by applicable law,",
    "in no event shall the Licensor, its affiliates, officers, directors, employees or agents be",
    "liable for any indirect, incidental, special, consequential or punitive damages, including",
    "without limitation loss of profits, data, use, goodwill, or other intangible losses,",
    "resulting from (i) your access to or use of or inability to access or use the Service;",
    "(ii) any conduct or content of any third party on the Service; (iii) any content obtained",
    "from the Service; and (iv) unauthorised access, use or alteration of your transmissions or",
    "content, whether based on warranty, contract, tort (including negligence) or any other",
    "legal theory, whether or not the Licensor has been informed of the possibility of such",
    "damage, and even if a remedy set forth herein is found to have failed of its essential",
    "purpose. The aggregate liability shall not exceed the greater of one hundred euros (EUR 100)",
    "or the amounts paid by you in the twelve (12) months preceding the claim. Some",
    "jurisdictions do not allow the exclusion of certain warranties or the limitation of",
    "liability for consequential damages, so the limitations above may not apply to you; in",
    "such jurisdictions, liability is limited to the smallest extent permitted by law."])
TWENTY = [
    ("short English", "The quick brown fox jumps over the lazy dog."),
    ("paraphrase of the previous", "A fast brown fox leaps over a sleepy dog."),
    ("numbers and currency", "Revenue rose 12.5% year-on-year to €4.2 billion in Q3 2023, "
                             "beating the consensus of €4.05 bn."),
    ("Spanish", "¿Dónde está la biblioteca? Necesito devolver tres libros antes del viernes."),
    ("German", "Die Bundesregierung hat am Mittwoch ein neues Klimaschutzgesetz beschlossen, das "
               "bis 2045 Treibhausgasneutralität vorsieht."),
    ("French", "Le chat dort sur le canapé depuis ce matin ; il n'a même pas touché à ses "
               "croquettes !"),
    ("one word", "ok"),
    ("punctuation only", "!!!???...;;;---***"),
    ("numbers only", "3.14159 2.71828 1.41421 1.73205 0.57721 1.61803"),
    ("long paragraph", _LONG),
    ("legal text past 256 tokens, truncated", _TRUNCATED),
    ("Russian", "Поезд отправляется в 7:45 с третьего пути; билеты можно купить онлайн."),
    ("Chinese", "机器学习模型在移动设备上运行时需要考虑内存和功耗。"),
    ("Japanese", "明日の会議は午後三時からに変更になりました。資料を忘れずに持ってきてください。"),
    ("Turkish", "Yarın sabah erkenden İstanbul'a uçuyorum, akşam döneceğim."),
    ("code", "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }  // dot product"),
    ("clinical note", "Patient presents with a 3-day history of fever (38.9 °C), productive "
                      "cough and SpO2 of 94% on room air."),
    ("social media", "@alex lol that was sooo good 😂😂 #weekend #tbt https://t.co/xyz123"),
    ("question", "How many grams of flour do I need for twelve pancakes?"),
    ("paraphrase of the previous", "What amount of flour makes a dozen pancakes?"),
]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ------------------------------------------------------------- the texts
def load_sets(st):
    """[(set name, [(label, text, pair)], ids, type_ids)]; ids from
    sentence-transformers' preprocessing (checked against the fixture's)."""
    with open(PARITY, encoding="utf-8") as f:
        parity = json.load(f)
    sets = [("parity", [(t["category"], t["text"], t["pair"]) for t in parity["texts"]]),
            ("twenty", [(label, text, None) for label, text in TWENTY])]
    out = []
    for name, texts in sets:
        ids, types = [], []
        for _, text, pair in texts:
            feats = st[0].preprocess([text if pair is None else (text, pair)])
            ids.append(feats["input_ids"][0].tolist())
            types.append(feats["token_type_ids"][0].tolist())
        out.append((name, texts, ids, types))
    bad = [t["category"] for t, i, ty in zip(parity["texts"], out[0][2], out[0][3])
           if t["ids"] != i or t["type_ids"] != ty]
    return out, bad


def reference(st, texts):
    inputs = [text if pair is None else (text, pair) for _, text, pair in texts]
    return np.asarray(st.encode(inputs, batch_size=16, convert_to_numpy=True,
                                normalize_embeddings=True), dtype=np.float64)


def packed(ids, types):
    """[n, longest] int32 ids and types (padding 0, never read) and lengths."""
    lengths = np.array([len(i) for i in ids], dtype=np.int32)
    a = np.zeros((len(ids), lengths.max()), dtype=np.int32)
    t = np.zeros_like(a)
    for k, (i, ty) in enumerate(zip(ids, types)):
        a[k, :len(i)], t[k, :len(ty)] = i, ty
    return a, t, lengths


# ------------------------------------------------------------- the metrics
def ranks(x):
    """Ranks 1..n, ties averaged (what Spearman's rho needs)."""
    order = np.argsort(x, kind="mergesort")
    r = np.empty(len(x))
    r[order] = np.arange(1, len(x) + 1)
    xs = x[order]
    i = 0
    while i < len(xs):
        j = i
        while j + 1 < len(xs) and xs[j + 1] == xs[i]:
            j += 1
        if j > i:
            r[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    return r


def spearman(a, b):
    try:
        from scipy.stats import spearmanr
        return float(spearmanr(a, b).statistic)
    except ImportError:
        return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def metrics(emb, ref, labels):
    e = np.asarray(emb, dtype=np.float64)
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    cos = (e * ref).sum(1)
    upper = np.triu_indices(len(ref), k=1)
    worst = int(np.argmin(cos))
    return {"min_cosine": float(cos.min()), "mean_cosine": float(cos.mean()),
            "max_abs_diff": float(np.abs(e - ref).max()),
            "spearman": spearman((e @ e.T)[upper], (ref @ ref.T)[upper]),
            "pairs": int(len(upper[0])), "worst": labels[worst],
            "cosines": [float(c) for c in cos]}


# ------------------------------------------------------------- the engines
def ort_embed(sess, ids, types):
    """One text at a time (see the docstring)."""
    out = []
    for i, t in zip(ids, types):
        a = np.array([i], dtype=np.int64)
        feed = dict(zip(peers.ONNX_INPUTS, (a, np.ones_like(a), np.array([t], dtype=np.int64))))
        out.append(sess.run(None, feed)[0][0])
    return np.array(out)


def parse_args():
    ap = argparse.ArgumentParser(
        description="Accuracy of clenc's precisions and ONNX Runtime's int8 against "
                    "sentence-transformers' fp32, on all-MiniLM-L6-v2.",
        epilog="Exit status 1: a floor is broken; 2: a precision could not be measured; "
               "3: the reference does not match the parity fixture.")
    add, here = ap.add_argument, lambda rel: os.path.join(ROOT, rel)
    add("--model", default=here("models/all-MiniLM-L6-v2"), help="model folder (models/all-MiniLM-L6-v2)")
    add("--lib", default=here("build/libclenc.so"), help="libclenc.so (build/libclenc.so)")
    add("--threads", type=int, default=os.cpu_count(), help="ONNX Runtime's threads and PoCL's (all cores)")
    add("--precisions", default="fp32,fp16,int8", help="clenc's precisions to measure (fp32,fp16,int8)")
    add("--onnx", default=here("build/bench/minilm.onnx"),
        help="the export, shared with make bench (build/bench/minilm.onnx)")
    add("--out", default=here("build/accuracy.json"), help="JSON result (build/accuracy.json)")
    args = ap.parse_args()
    args.precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    unknown = [p for p in args.precisions if p not in ("fp32", "fp16", "int8")]
    if unknown or not args.precisions:
        ap.error(f"unknown precisions {unknown}; they are fp32, fp16, int8")
    if not os.path.exists(args.lib):
        ap.error(f"{args.lib} not found: build it with make")
    if not os.path.exists(os.path.join(args.model, "config.json")):
        ap.error(f"no model in {args.model}: fetch it with tools/fetch-model.sh")
    return args


def fmt_row(r):
    m = r["metrics"]
    floor = "" if r.get("floor") is None else (
        f"≥ {r['floor']:.5g}{' and ≥ ORT int8' if r.get('vs_ort') else ''}: "
        f"{'ok' if r['ok'] else '**BROKEN**'}")
    return (f"| {r['set']} ({r['n']}) | {r['engine']} | {r['precision']} | {m['min_cosine']:.7f} | "
            f"{m['mean_cosine']:.7f} | {m['max_abs_diff']:.2e} | {m['spearman']:.6f} | "
            f"{m['worst']} | {floor} |")


def main():
    args = parse_args()
    T = args.threads
    os.environ["POCL_MAX_PTHREAD_COUNT"] = str(T)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with open(os.path.join(args.model, "config.json")) as f:
        config = json.load(f)
    import onnxruntime, sentence_transformers, torch
    from safetensors.numpy import load_file
    torch.set_num_threads(T)

    log(f"reference: sentence-transformers {sentence_transformers.__version__}, fp32, {args.model}")
    st = sentence_transformers.SentenceTransformer(args.model, device="cpu")
    st.max_seq_length = MAX_LEN
    sets, bad_ids = load_sets(st)
    if bad_ids:
        log(f"error: sentence-transformers' ids differ from the parity fixture's for: {bad_ids}")
        return 3
    refs = {name: reference(st, texts) for name, texts, _, _ in sets}
    fixture = load_file(PARITY_ST)["embeddings"].astype(np.float64)
    ref_vs_fixture = float(np.abs(refs["parity"] - fixture).max())
    log(f"reference: parity texts against the fixture's float64 embeddings: max |diff| {ref_vs_fixture:.1e}")
    if not ref_vs_fixture < REFERENCE_TOLERANCE:
        log(f"error: the reference differs from the parity fixture by {ref_vs_fixture:.2e} "
            f"(> {REFERENCE_TOLERANCE:g})")
        return 3

    # ONNX Runtime: the bench's optimised graph, and its int8 quantisations.
    peers.export_onnx(args.model, args.onnx)
    opt_path = os.path.splitext(args.onnx)[0] + ".opt.onnx"
    _, missing = peers.optimize_onnx(args.onnx, opt_path, config)
    if missing:
        log("warning: ONNX Runtime's optimised graph lacks fusions: " + "; ".join(missing))
    prescribed = peers.ort_int8_settings()
    variants = [prescribed, peers.ort_int8_settings(not prescribed["reduce_range"])]
    ort = [("ONNX Runtime", "fp32", peers.ort_session(opt_path, T), None)]
    for s in variants:
        path, ops, q_missing = peers.quantize_int8(opt_path, s, config["num_hidden_layers"])
        s.update(graph=os.path.relpath(path, ROOT), ops=ops)
        if q_missing:
            log(f"warning: {path} is not fully quantised: " + "; ".join(q_missing))
        label = "int8" + ("" if s is prescribed else f" (reduce_range={s['reduce_range']}, no floor)")
        ort.append(("ONNX Runtime", label, peers.ort_session(path, T), s))

    log(f"clenc: {args.lib}, precisions {', '.join(args.precisions)}")
    clenc = Clenc(args.lib, args.model, config["hidden_size"], ["fp32"] + [
        p for p in args.precisions if p != "fp32"])
    device = clenc.device.name.decode()

    rows, unmeasured = [], {p: e for p, e in clenc.errors.items() if p in args.precisions}
    for name, texts, ids, types in sets:
        ref, labels = refs[name], [label for label, _, _ in texts]
        ort_int8_min = None
        for engine, prec, sess, s in ort:
            log(f"{name}: ONNX Runtime {prec}, {len(ids)} texts one at a time")
            m = metrics(ort_embed(sess, ids, types), ref, labels)
            if s is prescribed:
                ort_int8_min = m["min_cosine"]
            rows.append({"set": name, "n": len(ids), "engine": engine, "precision": prec, "metrics": m})
        a, t, lengths = packed(ids, types)
        for p in args.precisions:
            if p not in clenc.models:
                continue
            try:
                clenc.use_session(len(ids), a.shape[1], p)
                emb = clenc.encode(a, lengths, p, type_ids=t)
            except RuntimeError as err:
                unmeasured[p] = str(err)
                log(f"clenc {p}: cannot encode: {err}")
                continue
            info = clenc.info.get(p, {})
            row = {"set": name, "n": len(ids), "engine": "clenc", "precision": p,
                   "metrics": metrics(emb, ref, labels), "model_info": info}
            if p == "fp16":
                half = info.get("fp16_compute", False)
                row["precision"] = "fp16 (half compute)" if half else "fp16 (half storage)"
                row["floor"] = FLOOR_FP16_COMPUTE if half else FLOOR_FP16_STORAGE
            elif p == "int8":
                row["floor"], row["vs_ort"] = FLOOR_INT8, ort_int8_min
            if "floor" in row:
                mc = row["metrics"]["min_cosine"]
                row["ok"] = bool(mc >= row["floor"] and (row.get("vs_ort") is None or mc >= row["vs_ort"]))
            rows.append(row)
    clenc.close()

    cpu = cpu_info()
    doc_labels = {n: [lb for lb, _, _ in t] for n, t, _, _ in sets}
    versions = {"clenc": clenc.version, "onnxruntime": onnxruntime.__version__,
                "sentence_transformers": sentence_transformers.__version__,
                "torch": torch.__version__, "numpy": np.__version__}
    print(f"all-MiniLM-L6-v2 against the fp32 reference (sentence-transformers "
          f"{versions['sentence_transformers']}, torch {versions['torch']}), mean-pooled and normalised; "
          f"CPU: {cpu_label(cpu)}; clenc {clenc.version} on {device}; ONNX Runtime "
          f"{versions['onnxruntime']}, int8 = quantize_dynamic of the optimised graph after "
          f"quant_pre_process, per-channel s8 weights, u8 activations per tensor, "
          f"reduce_range={prescribed['reduce_range']} (CPU VNNI: "
          f"{'yes' if prescribed['cpu_vnni'] else 'no'}), one text at a time.\n")
    print("| texts | engine | precision | min cosine | mean cosine | max \\|Δ\\| | Spearman ρ | "
          "worst text | floor |")
    print("|---|---|---|---:|---:|---:|---:|---|---|")
    for r in rows:
        print(fmt_row(r))
    print(f"\nSpearman ρ: rank agreement of the similarity matrix with the reference's over all "
          f"off-diagonal pairs ({', '.join(f'{n}: {len(i) * (len(i) - 1) // 2}' for n, _, i, _ in sets)}).")
    print("Worst three texts (cosine) of each reduced precision:")
    for r in rows:
        if r["precision"] != "fp32":
            c, labels = r["metrics"]["cosines"], doc_labels[r["set"]]
            worst = sorted(range(len(c)), key=c.__getitem__)[:3]
            print(f"- {r['set']}, {r['engine']} {r['precision']}: " +
                  ", ".join(f"{labels[i]} {c[i]:.7f}" for i in worst))
    for p, why in unmeasured.items():
        print(f"clenc {p}: NOT MEASURED: {why}")

    doc = {"machine": f"{platform.node()}: {cpu['model_name']}", "cpu": cpu, "threads": T,
           "device": device, "versions": versions, "reference_vs_fixture_max_abs_diff": ref_vs_fixture,
           "onnxruntime_int8": variants, "texts": doc_labels,
           "rows": rows, "not_measured": unmeasured}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=1, default=str)
        f.write("\n")
    log(f"wrote {args.out}")

    broken = [r for r in rows if r.get("ok") is False]
    for r in broken:
        mc = r["metrics"]["min_cosine"]
        why = ([f"its floor {r['floor']:g}"] if mc < r["floor"] else []) + (
            [f"ONNX Runtime int8's {r['vs_ort']:.7f}"] if r.get("vs_ort") and mc < r["vs_ort"] else [])
        log(f"error: {r['set']}: clenc {r['precision']}: min cosine {mc:.7f} is below " + " and ".join(why))
    for p, why in unmeasured.items():
        log(f"error: clenc {p} not measured: {why}")
    return 1 if broken else 2 if unmeasured else 0


if __name__ == "__main__":
    sys.exit(main())
