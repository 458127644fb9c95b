// wasi_node.js: the reference the WASI program tests compare wasmslot with: runs a WASI
// command under node's own WASI (node:wasi, preview1) with this process's stdin, stdout and
// stderr, and exits with the program's exit code.
//
// Usage: node --stack-size=7000 wasi_node.js MODULE.wasm ARGV0 ARGS...
'use strict';
const { WASI } = require('node:wasi');
const fs = require('fs');

const [path, ...argv] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', args: argv, env: {}, returnOnExit: true });
const wasmModule = new WebAssembly.Module(fs.readFileSync(path));
const instance = new WebAssembly.Instance(wasmModule, wasi.getImportObject());
process.exitCode = wasi.start(instance);
