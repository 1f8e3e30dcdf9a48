// SPDX-License-Identifier: Apache-2.0
// edgewhisk Node.js launcher (actionloop side of runtimes/proxy/ewproxy.c).
// Started once by the proxy after /init, in /action, with:
//   EW_ACTION_FILE  plain-text action source (empty for a zip action)
//   EW_ACTION_DIR   unpacked zip (package.json "main" or index.js)
//   EW_ACTION_MAIN  name of the function to call (default "main")
//   __OW_WAIT_FOR_ACK  when set, write {"ok":true} on fd 3 once loaded
// Then: one JSON request per stdin line -> exactly one JSON line on fd 3.
// console output goes to stdout/stderr (the container log) and is flushed
// before the result is written, so the proxy's sentinels follow it.
'use strict';

const fs = require('fs');
const path = require('path');
const Module = require('module');
const readline = require('readline');

const RESULT_FD = 3;
const mainName = process.env.EW_ACTION_MAIN || 'main';
const wantAck = !!process.env.__OW_WAIT_FOR_ACK;
const actionFile = process.env.EW_ACTION_FILE;
const actionDir = process.env.EW_ACTION_DIR || '/action';
// The EW_ACTION_* names are for this launcher only: the action's
// environment is what the spec lists (section 10), nothing more.
for (const k of Object.keys(process.env)) {
  if (k.startsWith('EW_ACTION_')) delete process.env[k];
}

function writeResult(obj) {
  let line;
  try {
    line = JSON.stringify(obj);
    if (line === undefined) line = 'null';
  } catch (e) {
    line = JSON.stringify({ error: 'The action returned a value that cannot be serialized to JSON: ' + e.message });
  }
  // JSON.stringify escapes newlines inside strings, so this is one line.
  fs.writeSync(RESULT_FD, line + '\n');
}

function errorText(e) {
  if (e instanceof Error) return e.message ? `${e.name}: ${e.message}` : e.name;
  return String(e);
}

// Plain code: compile it as a CommonJS module whose wrapper also captures a
// top-level `function main` (OpenWhisk's convention), so both styles work:
//   function main(params) {...}      and      exports.main = ...
function loadPlain(file) {
  if (!/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(mainName)) {
    throw new Error(`Action entrypoint '${mainName}' is not a valid identifier.`);
  }
  const first = mainName.split('.')[0];
  const code = fs.readFileSync(file, 'utf8');
  const m = new Module(file, null);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  const capture = `\n;module.__ewMain = (typeof ${first} !== 'undefined') ? ${mainName} : undefined;\n`;
  m._compile(code + capture, file);
  let fn = m.__ewMain;
  if (typeof fn !== 'function') fn = lookup(m.exports);
  return fn;
}

function lookup(exp) {
  if (exp == null) return undefined;
  let v = exp;
  for (const part of mainName.split('.')) {
    v = v == null ? undefined : v[part];
  }
  if (typeof v === 'function') return v;
  if (mainName === 'main' && typeof exp === 'function') return exp;
  if (exp.default && typeof exp.default[mainName] === 'function') return exp.default[mainName];
  return undefined;
}

async function loadZip(dir) {
  if (!fs.existsSync(path.join(dir, 'package.json')) && !fs.existsSync(path.join(dir, 'index.js'))) {
    throw new Error('Zipped actions must contain either package.json or index.js at the root.');
  }
  try {
    return lookup(require(dir));
  } catch (e) {
    if (e.code !== 'ERR_REQUIRE_ESM') throw e;
    // An ES module package ("type": "module" or .mjs main).
    const entry = require.resolve(dir);
    const url = require('url').pathToFileURL(entry).href;
    return lookup(await import(url));
  }
}

async function load() {
  const fn = actionFile ? loadPlain(actionFile) : await loadZip(actionDir);
  if (typeof fn !== 'function') {
    throw new Error(`Action entrypoint '${mainName}' is not a function.`);
  }
  return fn;
}

function flush(stream) {
  return new Promise((resolve) => {
    if (!stream.write('', () => resolve())) stream.once('drain', resolve);
  });
}

// The run in progress, so an asynchronous crash inside the action completes
// it with an error instead of killing the container.
let current = null;

process.on('uncaughtException', (e) => {
  console.error(e && e.stack ? e.stack : e);
  if (current) current(e);
});
process.on('unhandledRejection', (e) => {
  console.error('Unhandled promise rejection:', e && e.stack ? e.stack : e);
});

let owKeys = [];

function setRunEnv(msg) {
  const keys = [];
  for (const [k, v] of Object.entries(msg)) {
    if (k === 'value') continue;
    const name = '__OW_' + k.toUpperCase();
    process.env[name] = typeof v === 'string' ? v : JSON.stringify(v);
    keys.push(name);
  }
  for (const k of owKeys) if (!keys.includes(k)) delete process.env[k];
  owKeys = keys;
}

async function runOne(fn, line) {
  let msg;
  try {
    msg = JSON.parse(line);
  } catch (e) {
    return { error: 'The launcher received a request that is not JSON: ' + e.message };
  }
  if (msg === null || typeof msg !== 'object') msg = {};
  setRunEnv(msg);
  const value = msg.value === undefined ? {} : msg.value;
  try {
    const result = await new Promise((resolve, reject) => {
      current = reject;
      Promise.resolve().then(() => fn(value)).then(resolve, reject);
    });
    return result === undefined ? {} : result;
  } catch (e) {
    if (e instanceof Error) console.error(e.stack || errorText(e));
    if (e === undefined || e === null) return { error: {} };
    return { error: e instanceof Error ? errorText(e) : e };
  } finally {
    current = null;
  }
}

async function mainLoop() {
  let fn;
  try {
    fn = await load();
  } catch (e) {
    const text = 'Initialization has failed due to: ' + (e && e.stack ? e.stack : errorText(e));
    console.error(text);
    await flush(process.stderr);
    if (wantAck) writeResult({ ok: false, error: 'Initialization has failed due to: ' + errorText(e) });
    process.exit(1);
  }
  if (wantAck) writeResult({ ok: true });

  const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  for await (const line of rl) {
    if (!line.trim()) continue;
    const result = await runOne(fn, line);
    await flush(process.stdout);
    await flush(process.stderr);
    writeResult(result);
  }
  process.exit(0);
}

mainLoop();
