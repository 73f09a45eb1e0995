#!/usr/bin/env node
// ort_bench.js: times an ONNX model under ONNX Runtime (CPU) on random float32 input, per batch size: p50/p90 latency and images/s.
'use strict';

const { UsageError, die, parse_positive_int, load_ort, make_session, first_input_meta } = require('./ort_run.js');

const kUsage = 'usage: ort_bench.js MODEL.onnx [--batch 1,64] [--threads N] [--warmup 10] [--seconds 3] [--shape 1,28,28] [--json]';
const kDefaultShape = [1, 28, 28]; // the reference models' [C,H,W], used when ORT cannot tell us
const kMinTimedRuns = 3; // so p50/p90 are not one sample

function parse_list(flag, text) {
  if (text === undefined) throw new UsageError(`${flag} needs a value`);
  return text.split(',').map((s) => parse_positive_int(flag, s.trim()));
}

function parse_args(argv) {
  const o = { batches: [1, 64], threads: 1, warmup: 10, seconds: 3, shape: null, json: false, pos: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--batch') o.batches = parse_list(a, argv[++i]);
    else if (a === '--threads') o.threads = parse_positive_int(a, argv[++i], 1024);
    else if (a === '--shape') o.shape = parse_list(a, argv[++i]);
    else if (a === '--json') o.json = true;
    else if (a === '--warmup') {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v) || Number(v) > 1e6) throw new UsageError(`--warmup wants an integer in [0, 1000000], got '${v}'`);
      o.warmup = Number(v);
    } else if (a === '--seconds') {
      const v = argv[++i];
      const s = Number(v);
      if (v === undefined || v.trim() === '' || !Number.isFinite(s) || s <= 0 || s > 3600) {
        throw new UsageError(`--seconds wants a number in (0, 3600], got '${v}'`);
      }
      o.seconds = s;
    } else if (a === '-h' || a === '--help') { process.stdout.write(`${kUsage}\n`); process.exit(0); }
    else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}' (${kUsage})`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 1) throw new UsageError(kUsage);
  return o;
}

// The per-sample shape (everything after the batch dimension): --shape if given, else the
// session's input metadata (onnxruntime-node 1.22+), else the reference models' [1,28,28].
function sample_shape(session, o) {
  if (o.shape) return o.shape;
  const meta = first_input_meta(session);
  if (!meta) return kDefaultShape;
  if (meta.type !== 'float32') throw new UsageError(`model input '${meta.name}' is ${meta.type}; this benchmark feeds float32 only`);
  if (meta.shape.length === 0) throw new UsageError(`model input '${meta.name}' is a scalar; it has no batch dimension`);
  const rest = meta.shape.slice(1);
  if (!rest.every((d) => typeof d === 'number' && d > 0)) {
    throw new UsageError(`model input '${meta.name}' has shape [${meta.shape.join(',')}]; give the non-batch dims with --shape`);
  }
  return rest;
}

// Deterministic uniform [-1, 1) input (mulberry32), so runs are repeatable.
function random_input(count, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(count);
  for (let i = 0; i < count; ++i) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    a[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return a;
}

// Percentile with linear interpolation between order statistics (numpy's default).
function percentile(sorted, p) {
  const pos = (sorted.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function bench_one(ort, session, shape, batch, o) {
  const dims = [batch, ...shape];
  const count = dims.reduce((p, d) => p * d, 1);
  if (!Number.isSafeInteger(count) || count > (1 << 30)) throw new UsageError(`input [${dims.join(',')}] is too large to benchmark`);
  const feed = { [session.inputNames[0]]: new ort.Tensor('float32', random_input(count, 12345 + batch), dims) };
  const run = async () => {
    try {
      await session.run(feed);
    } catch (e) {
      throw new UsageError(`run failed at batch ${batch} with input [${dims.join(',')}]: ${e.message}`);
    }
  };
  for (let i = 0; i < o.warmup; ++i) await run();
  const ms = [];
  const budget = o.seconds * 1e3;
  let total = 0;
  while (total < budget || ms.length < kMinTimedRuns) {
    const t0 = process.hrtime.bigint();
    await run();
    const dt = Number(process.hrtime.bigint() - t0) / 1e6;
    ms.push(dt);
    total += dt;
  }
  ms.sort((x, y) => x - y);
  return {
    batch,
    p50_ms: Number(percentile(ms, 0.5).toFixed(4)),
    p90_ms: Number(percentile(ms, 0.9).toFixed(4)),
    // Throughput over all timed runs: batch x runs / their summed time (= batch / mean latency).
    images_per_s: Number(((batch * ms.length) / (total / 1e3)).toFixed(1)),
    runs: ms.length,
  };
}

async function main() {
  const o = parse_args(process.argv.slice(2));
  const model = o.pos[0];
  const ort = load_ort();
  const session = await make_session(ort, model, o.threads);
  const shape = sample_shape(session, o);
  if (!o.json) {
    const version = (ort.env && ort.env.versions && ort.env.versions.node) || 'unknown';
    process.stdout.write(`onnxruntime-node ${version}  model ${model}  input [B,${shape.join(',')}]  threads ${o.threads}  warmup ${o.warmup}  seconds ${o.seconds}\n`);
    process.stdout.write(`${'batch'.padStart(6)} ${'p50_ms'.padStart(10)} ${'p90_ms'.padStart(10)} ${'images_per_s'.padStart(13)} ${'runs'.padStart(7)}\n`);
  }
  for (const batch of o.batches) {
    const r = await bench_one(ort, session, shape, batch, o);
    if (o.json) {
      // Exactly the fields `lowbit bench --json` prints, one object per line.
      process.stdout.write(`${JSON.stringify({ batch: r.batch, p50_ms: r.p50_ms, p90_ms: r.p90_ms, images_per_s: r.images_per_s })}\n`);
    } else {
      process.stdout.write(`${String(r.batch).padStart(6)} ${r.p50_ms.toFixed(3).padStart(10)} ${r.p90_ms.toFixed(3).padStart(10)} ${r.images_per_s.toFixed(1).padStart(13)} ${String(r.runs).padStart(7)}\n`);
    }
  }
}

if (require.main === module) {
  main().catch((e) => die('ort_bench', e));
}
