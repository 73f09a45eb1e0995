#!/usr/bin/env node
// models_vs_ort.js: end-to-end images/s of every reference model at batch 1 and 64 — lowbit int8
// (the integer runtime), lowbit FP32, ONNX Runtime FP32, and ONNX Runtime running lowbit's QDQ
// file of the same QuantizedModel — measured side by side in one run, with the same threads,
// warm-up and timing protocol (runtime/timing.h = tools/ort/ort_bench.js), and one table of
// ratios.
//
// usage: models_vs_ort.js LOWBIT_BINARY WORK_DIR [--threads N] [--seconds S] [--models a,b]
// WORK_DIR receives the int8 models (lowbit quantize --recipe int8, 1000 calibration images).
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const usage = 'usage: models_vs_ort.js LOWBIT_BINARY WORK_DIR [--threads N] [--seconds S] [--models lenet,resnet8,...]';

function parse_args(argv) {
  const o = { threads: 1, seconds: 2, models: ['lenet', 'resnet8', 'mobilenet', 'mlp'], pos: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--threads') o.threads = Number(argv[++i]);
    else if (a === '--seconds') o.seconds = Number(argv[++i]);
    else if (a === '--models') o.models = String(argv[++i]).split(',');
    else if (a.startsWith('-')) throw new Error(`unknown option '${a}' (${usage})`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 2 || !(o.threads >= 1) || !(o.seconds > 0)) throw new Error(usage);
  return o;
}

// FP32 speed needs OpenBLAS's own kernel choice: drop the workplace's pins (scripts/bench.sh).
function fp32_env() {
  const env = { ...process.env };
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

// Runs a command that prints one JSON object per line; returns them keyed by batch.
function json_lines(cmd, args, env) {
  const out = execFileSync(cmd, args, { env: env || process.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const by_batch = {};
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const j = JSON.parse(line);
    by_batch[j.batch] = j;
  }
  return by_batch;
}

function main() {
  const o = parse_args(process.argv.slice(2));
  const [lowbit, work] = o.pos;
  fs.mkdirSync(work, { recursive: true });
  const ort_bench = path.join(root, 'tools', 'ort', 'ort_bench.js');
  const timing = ['--batch', '1,64', '--seconds', String(o.seconds), '--json'];
  const lb = (file) => ['--threads', String(o.threads), 'bench', file, ...timing];
  const ort = (file) => [ort_bench, file, '--threads', String(o.threads), ...timing];
  const rows = [];
  for (const m of o.models) {
    const fp32 = path.join(root, 'models', `${m}.onnx`);
    const int8 = path.join(work, `${m}-int8.onnx`);
    if (fs.existsSync(int8)) fs.unlinkSync(int8);
    execFileSync(lowbit, ['quantize', fp32, '--recipe', 'int8', '-o', int8], { stdio: ['ignore', 'ignore', 'inherit'] });
    process.stderr.write(`timing ${m} ...\n`);
    const r = {
      lowbit_int8: json_lines(lowbit, lb(int8)),
      lowbit_fp32: json_lines(lowbit, lb(fp32), fp32_env()),
      ort_fp32: json_lines('node', ort(fp32), fp32_env()),
      ort_int8: json_lines('node', ort(int8), fp32_env()),
    };
    for (const b of [1, 64]) rows.push({ model: m, batch: b, r });
  }
  const f = (v) => v.toFixed(0).padStart(9);
  const x = (a, b) => `${(a / b).toFixed(2)}x`.padStart(8);
  console.log(`images/s, ${o.threads} thread(s), ${o.seconds} s per cell; ratios are lowbit int8 over the column named`);
  console.log(`${'model'.padEnd(10)} ${'batch'.padStart(5)} ${'lb int8'.padStart(9)} ${'lb fp32'.padStart(9)} ${'ort fp32'.padStart(9)} ${'ort int8'.padStart(9)} ${'/lb fp32'.padStart(8)} ${'/ort fp32'.padStart(9)} ${'/ort int8'.padStart(9)} ${'int8 p50 ms'.padStart(11)} ${'ort8 p50 ms'.padStart(11)}`);
  for (const { model, batch, r } of rows) {
    const li = r.lowbit_int8[batch].images_per_s, lf = r.lowbit_fp32[batch].images_per_s;
    const of = r.ort_fp32[batch].images_per_s, oi = r.ort_int8[batch].images_per_s;
    console.log(`${model.padEnd(10)} ${String(batch).padStart(5)} ${f(li)} ${f(lf)} ${f(of)} ${f(oi)} ${x(li, lf)} ${x(li, of).padStart(9)} ${x(li, oi).padStart(9)} ${r.lowbit_int8[batch].p50_ms.toFixed(3).padStart(11)} ${r.ort_int8[batch].p50_ms.toFixed(3).padStart(11)}`);
  }
}

try {
  main();
} catch (e) {
  process.stderr.write(`models_vs_ort: ${e.message}\n`);
  process.exit(2);
}
