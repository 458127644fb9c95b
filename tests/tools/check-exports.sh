#!/bin/sh
# check-exports.sh: libwasmslot.so exports exactly the functions wasmslot.h marks WASMSLOT_API,
# and nothing else (the library is built with -fvisibility=hidden and linked with
# lib/wasmslot.map).
set -eu
builddir=${WASMSLOT_BUILDDIR:-.}
srcdir=${WASMSLOT_SRCDIR:-.}
so=$builddir/lib/.libs/libwasmslot.so
if [ ! -e "$so" ]; then
    echo "check-exports: $so was not built (configure --disable-shared?); skipping"
    exit 77
fi
tmp=${TMPDIR:-/tmp}/check-exports.$$
trap 'rm -f "$tmp".*' EXIT

# Every defined dynamic symbol counts: lib/wasmslot.map keeps even the linker's own
# (__bss_start, _edata, _end) out.
nm -D --defined-only "$so" | awk '{print $NF}' | sed 's/@.*//' | sort -u >"$tmp.exported"
# A declaration runs from a line starting WASMSLOT_API to its ';'; the exported name is the
# identifier right before its first '('.
awk '/^WASMSLOT_API/ { d = "" } /^WASMSLOT_API/, /;/ { d = d " " $0 }
     /;/ && d != "" { sub(/\(.*/, "", d); n = split(d, w, /[ *]+/); print w[n]; d = "" }' \
    "$srcdir/lib/wasmslot.h" | sort -u >"$tmp.declared"

status=0
if grep -v '^wasmslot_' "$tmp.exported" >"$tmp.foreign"; then
    echo "check-exports: libwasmslot.so exports names outside the wasmslot_ prefix:"
    sed 's/^/  /' "$tmp.foreign"
    status=1
fi
if ! comm -3 "$tmp.declared" "$tmp.exported" >"$tmp.diff" || [ -s "$tmp.diff" ]; then
    echo "check-exports: wasmslot.h's WASMSLOT_API declarations (left) and the exports (right) differ:"
    sed 's/^/  /' "$tmp.diff"
    status=1
fi
n=$(wc -l <"$tmp.exported")
[ $status -eq 0 ] && echo "check-exports: $n exported functions, all declared WASMSLOT_API in wasmslot.h"
exit $status
