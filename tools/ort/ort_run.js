#!/usr/bin/env node
// ort_run.js: runs an ONNX model under ONNX Runtime on a whole .npy (in batches) and writes its first output as float32 .npy.
'use strict';

const fs = require('fs');
const path = require('path');
const npy = require('./npy.js');

const kUsage = 'usage: ort_run.js MODEL.onnx INPUT.npy OUTPUT.npy [--threads N] [--batch B]';

// An error meant for the user: printed as one line, exit code 2.
class UsageError extends Error {}

// One line: ORT's messages can span lines and carry a "[ErrorCode:...]" prefix we keep.
function one_line(msg) {
  return String(msg).replace(/\s*\n\s*/g, ' ').trim();
}

function die(tool, err) {
  const msg = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${tool}: ${one_line(msg)}\n`);
  process.exit(2);
}

function parse_positive_int(flag, text, max = 1 << 20) {
  if (text === undefined) throw new UsageError(`${flag} needs a value`);
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    throw new UsageError(`${flag} wants an integer in [1, ${max}], got '${text}'`);
  }
  return Number(text);
}

// Finds onnxruntime-node: $LOWBIT_ORT_DIR (the BUILD_DIR/ort that scripts/ort_setup.sh fills) if set,
// else Node's usual lookup (NODE_PATH), else REPO/build/ort, then REPO/build-*/ort.
function load_ort() {
  const pkg = 'onnxruntime-node';
  const from_dir = (dir) => require(require.resolve(pkg, { paths: [dir] }));
  const env = process.env.LOWBIT_ORT_DIR;
  if (env) {
    try {
      return from_dir(path.resolve(env));
    } catch (e) {
      throw new UsageError(`cannot load ${pkg} from LOWBIT_ORT_DIR=${env} (${one_line(e.message)}); run scripts/ort_setup.sh BUILD_DIR`);
    }
  }
  try {
    return require(pkg);
  } catch (_) { /* not on the default path */ }
  const repo = path.resolve(__dirname, '..', '..');
  let builds = [];
  try {
    builds = fs.readdirSync(repo).filter((d) => d.startsWith('build-')).sort();
  } catch (_) { /* unreadable repo root: only build/ is tried */ }
  for (const b of ['build', ...builds]) {
    const dir = path.join(repo, b, 'ort');
    if (!fs.existsSync(path.join(dir, 'node_modules', pkg))) continue;
    try {
      return from_dir(dir);
    } catch (_) { /* broken install: try the next one */ }
  }
  throw new UsageError(`cannot find ${pkg}; run scripts/ort_setup.sh BUILD_DIR and set LOWBIT_ORT_DIR=BUILD_DIR/ort`);
}

// A CPU session: intra-op threads as asked, one inter-op thread, all graph optimizations, quiet logs.
async function make_session(ort, model, threads) {
  let st;
  try {
    st = fs.statSync(model);
  } catch (e) {
    throw new UsageError(`${model}: cannot read (${e.code || e.message})`);
  }
  if (!st.isFile()) throw new UsageError(`${model}: not a regular file`);
  try {
    return await ort.InferenceSession.create(model, {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      logSeverityLevel: 3,
    });
  } catch (e) {
    throw new UsageError(`${model}: ONNX Runtime cannot load it: ${one_line(e.message)}`);
  }
}

// The first input's metadata {name, type, shape} when this onnxruntime-node has inputMetadata
// (1.22 and later); shape entries are numbers or symbolic names. Null when unavailable.
function first_input_meta(session) {
  const meta = session.inputMetadata;
  if (!meta) return null;
  const m = Array.isArray(meta) ? meta[0] : meta[session.inputNames[0]];
  if (!m || m.isTensor === false || !Array.isArray(m.shape)) return null;
  return m;
}

// IEEE half -> float, for models whose output is float16.
function half_to_float(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

// Copies an output tensor's data into `dst` at `at` as float32.
function put_float32(tensor, dst, at) {
  const d = tensor.data;
  switch (tensor.type) {
    case 'float32':
      dst.set(d, at);
      return;
    case 'float16':
      // Raw IEEE halves in a Uint16Array, or numbers where the runtime has Float16Array.
      if (d instanceof Uint16Array) for (let i = 0; i < d.length; ++i) dst[at + i] = half_to_float(d[i]);
      else dst.set(d, at);
      return;
    case 'int64': case 'uint64':
      for (let i = 0; i < d.length; ++i) dst[at + i] = Number(d[i]);
      return;
    case 'float64': case 'int8': case 'uint8': case 'int16': case 'uint16': case 'int32': case 'uint32':
      dst.set(d, at);
      return;
    case 'bool':
      for (let i = 0; i < d.length; ++i) dst[at + i] = d[i] ? 1 : 0;
      return;
    default:
      throw new UsageError(`first output has type ${tensor.type}, which cannot be written as float32`);
  }
}

function parse_args(argv) {
  const o = { threads: 1, batch: 256, pos: [] };
  for (let i = 0; i < argv.length; ++i) {
    const a = argv[i];
    if (a === '--threads') o.threads = parse_positive_int(a, argv[++i], 1024);
    else if (a === '--batch') o.batch = parse_positive_int(a, argv[++i]);
    else if (a === '-h' || a === '--help') { process.stdout.write(`${kUsage}\n`); process.exit(0); }
    else if (a.startsWith('-')) throw new UsageError(`unknown option '${a}' (${kUsage})`);
    else o.pos.push(a);
  }
  if (o.pos.length !== 3) throw new UsageError(kUsage);
  return o;
}

function same_file(a, b) {
  try {
    return fs.realpathSync(a) === fs.realpathSync(b);
  } catch (_) {
    return false; // b does not exist yet
  }
}

async function main() {
  const o = parse_args(process.argv.slice(2));
  const [model, input, output] = o.pos;
  if (same_file(input, output) || same_file(model, output)) throw new UsageError(`${output}: refusing to overwrite an input`);
  const x = npy.read_npy(input);
  if (x.shape.length === 0) throw new UsageError(`${input}: a 0-d array has no batch dimension`);
  const n = x.shape[0];
  if (n === 0) throw new UsageError(`${input}: the batch dimension is 0`);
  const ort = load_ort();
  const session = await make_session(ort, model, o.threads);
  const meta = first_input_meta(session);
  if (meta) {
    if (meta.type !== x.dtype) throw new UsageError(`${input}: dtype ${x.dtype}, but model input '${meta.name}' wants ${meta.type}`);
    if (meta.shape.length !== x.shape.length) {
      throw new UsageError(`${input}: rank ${x.shape.length}, but model input '${meta.name}' has rank ${meta.shape.length} [${meta.shape.join(',')}]`);
    }
  }
  const in_name = session.inputNames[0];
  const out_name = session.outputNames[0];
  const row = x.data.length / n; // elements per sample
  let out = null;
  let out_shape = null;
  let out_row = 0;
  for (let b0 = 0; b0 < n; b0 += o.batch) {
    const b = Math.min(o.batch, n - b0);
    const dims = [b, ...x.shape.slice(1)];
    const feed = new ort.Tensor(x.dtype, x.data.slice(b0 * row, (b0 + b) * row), dims);
    let result;
    try {
      result = await session.run({ [in_name]: feed });
    } catch (e) {
      throw new UsageError(`${model}: run failed on rows ${b0}..${b0 + b - 1}: ${one_line(e.message)}`);
    }
    const y = result[out_name];
    if (out === null) {
      if (n > b && (y.dims.length === 0 || y.dims[0] !== b)) {
        throw new UsageError(`first output '${out_name}' has shape [${y.dims.join(',')}], not batch-major; use --batch ${n} to run in one go`);
      }
      out_shape = n > b ? [n, ...y.dims.slice(1)] : [...y.dims];
      out_row = n > b ? y.data.length / b : 0;
      out = new Float32Array(out_shape.reduce((p, d) => p * d, 1));
    } else if (y.dims.length !== out_shape.length || y.dims[0] !== b || y.dims.slice(1).join(',') !== out_shape.slice(1).join(',')) {
      throw new UsageError(`first output '${out_name}' changed shape between batches ([${y.dims.join(',')}])`);
    }
    put_float32(y, out, b0 * out_row);
  }
  npy.write_npy(output, 'float32', out_shape, out);
}

module.exports = { UsageError, one_line, die, parse_positive_int, load_ort, make_session, first_input_meta };

if (require.main === module) {
  main().catch((e) => die('ort_run', e));
}
