# make_tokenizer_json_seeds.py — writes the tokenizer_json fuzz target's seeds: each fixture tokenizer.json with its vocabulary cut to a few dozen tokens.
"""Seeds for tests/fuzz/fuzz_tokenizer_json.c.

Run from the repository root (Debian's python3; json only):

    python3 tests/fuzz/make_tokenizer_json_seeds.py

Every tokenizer.json under tests/fixtures/tokjson/ (and MiniLM's) is
written to tests/fuzz/corpus/tokenizer_json/<name>.json with its model's
vocabulary cut to the first KEEP ids (BPE merges kept only where both
parts and the result survive), so that each seed is a few KB: libFuzzer
mutates small inputs far faster, and every component of the fixtures is
still there to mutate.
"""
import json
import os

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus", "tokenizer_json")
KEEP = 60


def shrink(tok):
    model = tok["model"]
    vocab = model.get("vocab")
    if isinstance(vocab, dict):
        kept = {t: i for t, i in vocab.items() if i < KEEP}
        # Byte-level and fallback pieces the model needs to cover a text.
        for t, i in vocab.items():
            if t.startswith("<0x") or len(t) == 1 and i < 400:
                kept[t] = i
        model["vocab"] = kept
        if "merges" in model:
            def parts(m):
                return m.split(" ", 1) if isinstance(m, str) else m
            model["merges"] = [m for m in model["merges"]
                               if all(p in kept for p in parts(m))
                               and "".join(parts(m)) in kept][:KEEP]
    elif isinstance(vocab, list):
        model["vocab"] = vocab[:KEEP] + [v for v in vocab[KEEP:] if v[0].startswith("<0x")]
        if model.get("unk_id") is not None and model["unk_id"] >= len(model["vocab"]):
            model["unk_id"] = 0
    return tok


def main():
    os.makedirs(OUT, exist_ok=True)
    sources = [("minilm", os.path.join(FIXTURES, "minilm_tokenizer.json"))]
    base = os.path.join(FIXTURES, "tokjson")
    for name in sorted(os.listdir(base)):
        path = os.path.join(base, name, "tokenizer.json")
        if os.path.isfile(path):
            sources.append((name, path))
    for name, path in sources:
        with open(path, encoding="utf-8") as f:
            tok = shrink(json.load(f))
        with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as f:
            json.dump(tok, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


if __name__ == "__main__":
    main()
