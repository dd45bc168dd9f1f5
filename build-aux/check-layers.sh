#!/bin/sh
# check-layers.sh — make lint's include rule: runtime's layers include only downwards, and tools and examples only the public headers.
#
# Layers are the folders of runtime/:  base <- cl <- ops <- engine, and
# base <- text <- formats <- engine (text: the tokenizers). A file of a layer may include the
# public headers (include/: clenc.h, clenc_cl.h) and headers of its own
# layer or of the layers below it, named with their folder ("cl/cl.h");
# tools/ and examples/ may include the public headers and their own.
# Tests are white-box and may include anything. Prints every violation
# and exits 1 if there is one. Usage: build-aux/check-layers.sh [ROOT]
set -u
root=${1:-.}
cd "$root" || exit 2

allowed() { # layer -> the layers it may include
    case $1 in
    base) echo "base" ;;
    cl) echo "base cl" ;;
    text) echo "base text" ;;
    formats) echo "base text formats" ;;
    ops) echo "base cl ops" ;;
    engine) echo "base cl text formats ops engine" ;;
    *) echo "" ;;
    esac
}

bad=0
say() { echo "check-layers: $*"; bad=1; }

for f in runtime/*.c runtime/*.h; do
    [ -e "$f" ] && say "$f: every runtime file belongs to a layer folder"
done

for f in runtime/*/*.c runtime/*/*.h; do
    [ -e "$f" ] || continue
    layer=$(basename "$(dirname "$f")")
    ok=$(allowed "$layer")
    [ -n "$ok" ] || { say "$f: '$layer' is not a layer (base cl text formats ops engine)"; continue; }
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
    while IFS= read -r line; do
        n=${line%%:*}
        inc=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
        [ -e "include/$inc" ] && continue
        case $inc in
        */*) to=${inc%%/*} ;;
        *) echo "check-layers: $f:$n: \"$inc\" names no layer (write \"LAYER/$inc\")"; continue ;;
        esac
        case " $ok " in
        *" $to "*) ;;
        *) echo "check-layers: $f:$n: $layer includes \"$inc\", from $to, which is not below it" ;;
        esac
    done
done > "${TMPDIR:-/tmp}/check-layers.$$"

for f in tools/*.c tools/*.h tools/*/*.c tools/*/*.h examples/*.c examples/*.h; do
    [ -e "$f" ] || continue
    dir=$(dirname "$f")
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f" |
    while IFS= read -r line; do
        n=${line%%:*}
        inc=$(printf '%s\n' "$line" | sed 's/.*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/')
        [ -e "include/$inc" ] || [ -e "$dir/$inc" ] ||
            echo "check-layers: $f:$n: $dir/ includes \"$inc\": it uses the public headers (include/) only"
    done
done >> "${TMPDIR:-/tmp}/check-layers.$$"

if [ -s "${TMPDIR:-/tmp}/check-layers.$$" ]; then
    cat "${TMPDIR:-/tmp}/check-layers.$$"
    bad=1
fi
rm -f "${TMPDIR:-/tmp}/check-layers.$$"
[ $bad = 0 ] && echo "check-layers: every include goes down"
exit $bad
