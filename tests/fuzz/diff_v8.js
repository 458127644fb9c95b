// diff_v8.js: one oracle of the differential tester (diff_exec.py): runs a module under node's V8
// the way binaryen's --fuzz-exec runs it, and prints what happened in the tester's line format.
//
// Usage: node diff_v8.js MODULE.wasm
//
// Every exported function is called in export order, on one instance, with zero arguments; the
// export "hangLimitInitializer", when there is one, is called before each (so the hang limit of
// binaryen's generated modules is reset as binaryen resets it). Function imports log their
// arguments. Lines:
//   call NAME            before each export
//   log V...             an imported function was called with these values
//   result V...          the export returned these values (none: "result")
//   trap MESSAGE         the export trapped
//   exhausted            the native stack ran out (no wasm trap: a limit, not a result)
//   instantiate-trap     instantiation trapped (an active segment out of bounds, start)
// A value is i32:U, i64:U (unsigned decimal), f32:0xBITS, f64:0xBITS or f32:nan / f64:nan (the
// spec lets NaN payloads vary), ref:null or ref:func / ref:extern.
'use strict';
const fs = require('fs');

const bytes = fs.readFileSync(process.argv[2]);
let pos = 0;

function u8() { return bytes[pos++]; }
function leb() {
    let r = 0, shift = 0, b;
    do {
        b = bytes[pos++];
        r += (b & 0x7f) * 2 ** shift;
        shift += 7;
    } while (b & 0x80);
    return r;
}
function name() {
    const n = leb();
    const s = bytes.toString('utf8', pos, pos + n);
    pos += n;
    return s;
}
function limits() {
    const flags = u8();
    leb();
    if (flags & 1) leb();
}

// Only what calling the exports needs: function types, and which function has which type.
const types = [], funcTypes = [], funcImports = [], exportList = [];
pos = 8;
while (pos < bytes.length) {
    const id = u8(), size = leb(), end = pos + size;
    if (id === 1) {
        for (let n = leb(); n > 0; n--) {
            if (u8() !== 0x60) throw new Error('unsupported type form');
            const params = [], results = [];
            for (let k = leb(); k > 0; k--) params.push(u8());
            for (let k = leb(); k > 0; k--) results.push(u8());
            types.push({ params, results });
        }
    } else if (id === 2) {
        for (let n = leb(); n > 0; n--) {
            const mod = name(), nm = name(), kind = u8();
            if (kind === 0) {
                funcTypes.push(leb());
                funcImports.push({ module: mod, name: nm, type: funcTypes[funcTypes.length - 1] });
            }
            else if (kind === 1) { u8(); limits(); }
            else if (kind === 2) limits();
            else { u8(); u8(); }
        }
    } else if (id === 3) {
        for (let n = leb(); n > 0; n--) funcTypes.push(leb());
    } else if (id === 7) {
        for (let n = leb(); n > 0; n--) {
            const nm = name(), kind = u8(), idx = leb();
            exportList.push({ name: nm, kind, idx });
        }
    }
    pos = end;
}

const buf = new ArrayBuffer(8);
const f32 = new Float32Array(buf), u32 = new Uint32Array(buf);
const f64 = new Float64Array(buf), u64 = new BigUint64Array(buf);

function fmt(t, v) {
    switch (t) {
    case 0x7f: return 'i32:' + (v >>> 0);
    case 0x7e: return 'i64:' + BigInt.asUintN(64, v);
    case 0x7d:
        if (Number.isNaN(v)) return 'f32:nan';
        f32[0] = v;
        return 'f32:0x' + u32[0].toString(16).padStart(8, '0');
    case 0x7c:
        if (Number.isNaN(v)) return 'f64:nan';
        f64[0] = v;
        return 'f64:0x' + u64[0].toString(16).padStart(16, '0');
    case 0x70: return v === null ? 'ref:null' : 'ref:func';
    default: return v === null ? 'ref:null' : 'ref:extern';
    }
}
function zero(t) {
    if (t === 0x7e) return 0n;
    if (t === 0x70 || t === 0x6f) return null;
    return 0;
}

const out = [];
// Every function import logs; binaryen's generated modules import only fuzzing-support's log-*.
const imports = {};
let wasmModule;
try {
    wasmModule = new WebAssembly.Module(bytes);
} catch (e) {
    process.stdout.write('compile-error ' + e.message + '\n');
    process.exit(0);
}
for (const imp of WebAssembly.Module.imports(wasmModule)) {
    if (imp.kind !== 'function') {
        process.stdout.write('unsupported-import ' + imp.module + ' ' + imp.name + '\n');
        process.exit(0);
    }
}
for (const imp of funcImports) {
    const ty = types[imp.type];
    imports[imp.module] = imports[imp.module] || {};
    imports[imp.module][imp.name] = (...args) => {
        out.push(['log'].concat(ty.params.map((t, i) => fmt(t, args[i]))).join(' '));
    };
}

let instance;
try {
    instance = new WebAssembly.Instance(wasmModule, imports);
} catch (e) {
    out.push(e instanceof WebAssembly.RuntimeError ? 'instantiate-trap' : 'error ' + e.message);
    process.stdout.write(out.join('\n') + '\n');
    process.exit(0);
}
const hang = instance.exports.hangLimitInitializer;
for (const ex of exportList) {
    if (ex.kind !== 0) continue;
    const ty = types[funcTypes[ex.idx]];
    out.push('call ' + ex.name);
    try {
        if (hang) hang();
        const r = instance.exports[ex.name](...ty.params.map(zero));
        const rs = ty.results.length === 1 ? [r] : ty.results.length ? Array.from(r) : [];
        out.push(['result'].concat(ty.results.map((t, i) => fmt(t, rs[i]))).join(' '));
    } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) out.push('trap ' + e.message);
        else if (e instanceof RangeError) out.push('exhausted');
        else out.push('error ' + e.message);
    }
}
process.stdout.write(out.join('\n') + '\n');
