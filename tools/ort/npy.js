// npy.js: a small .npy reader and writer (float32, uint8, int32, int64; little-endian, C order; format 1.0-3.0).
'use strict';

const fs = require('fs');
const path = require('path');

const kMagic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"
const kAlign = 64; // numpy pads the header so the data starts on a 64-byte boundary
const kMaxHeaderBytes = 1 << 20; // a real header is a few hundred bytes; refuse silly ones

// dtype name -> {descr as written, typed array, bytes per element}.
const kTypes = {
  float32: { descr: '<f4', array: Float32Array, size: 4 },
  uint8: { descr: '|u1', array: Uint8Array, size: 1 },
  int32: { descr: '<i4', array: Int32Array, size: 4 },
  int64: { descr: '<i8', array: BigInt64Array, size: 8 },
};
// Every spelling numpy (or a hand-written file) may use for those dtypes on a little-endian file.
const kDescrs = {
  '<f4': 'float32', 'f4': 'float32', '<f': 'float32',
  '|u1': 'uint8', '<u1': 'uint8', 'u1': 'uint8', '|B': 'uint8', 'B': 'uint8',
  '<i4': 'int32', 'i4': 'int32',
  '<i8': 'int64', 'i8': 'int64',
};

class NpyError extends Error {}

// Parses the Python-literal header dict, e.g. {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
function parse_header(text, where) {
  const fail = (what) => { throw new NpyError(`${where}: ${what}`); };
  const body = text.trim();
  if (!body.startsWith('{') || !body.endsWith('}')) fail('header is not a dict');
  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(body);
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(body);
  const shape = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(body);
  if (!descr) fail("header has no 'descr' string (structured dtypes are not supported)");
  if (!fortran) fail("header has no 'fortran_order'");
  if (!shape) fail("header has no 'shape' tuple");
  const dtype = kDescrs[descr[1]];
  if (!dtype) fail(`unsupported dtype '${descr[1]}' (want float32, uint8, int32 or int64, little-endian)`);
  if (fortran[1] === 'True') fail('Fortran-order arrays are not supported (save with C order)');
  const dims = [];
  for (const part of shape[1].split(',')) {
    const s = part.trim().replace(/L$/, ''); // Python 2 wrote longs as 3L
    if (s === '') continue;
    if (!/^\d+$/.test(s)) fail(`bad shape entry '${s}'`);
    const d = Number(s);
    if (!Number.isSafeInteger(d)) fail(`shape entry ${s} is too large`);
    dims.push(d);
  }
  return { dtype, shape: dims };
}

// Number of elements, refusing products past 2^53 (no file that big can be read anyway).
function element_count(shape, where) {
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (!Number.isSafeInteger(n)) throw new NpyError(`${where}: shape (${shape.join(', ')}) is too large`);
  }
  return n;
}

// Decodes a whole .npy file held in `buf`; returns {dtype, shape, data} with data a fresh typed array.
function decode(buf, where = '.npy') {
  const fail = (what) => { throw new NpyError(`${where}: ${what}`); };
  if (buf.length < 10 || !buf.subarray(0, 6).equals(kMagic)) fail('not a .npy file (bad magic)');
  const major = buf[6];
  const minor = buf[7];
  if (major < 1 || major > 3 || minor !== 0) fail(`unsupported .npy format version ${major}.${minor}`);
  let header_len;
  let start;
  if (major === 1) {
    header_len = buf.readUInt16LE(8);
    start = 10;
  } else {
    if (buf.length < 12) fail('truncated header');
    header_len = buf.readUInt32LE(8);
    start = 12;
  }
  if (header_len > kMaxHeaderBytes) fail(`header length ${header_len} is implausible`);
  if (start + header_len > buf.length) fail('truncated header');
  // 1.0 and 2.0 headers are latin1; 3.0 allows utf8.
  const text = buf.toString(major === 3 ? 'utf8' : 'latin1', start, start + header_len);
  const { dtype, shape } = parse_header(text, where);
  const t = kTypes[dtype];
  const count = element_count(shape, where);
  const offset = start + header_len;
  const want = count * t.size;
  const have = buf.length - offset;
  if (have < want) fail(`data is truncated: shape (${shape.join(', ')}) needs ${want} bytes, file has ${have}`);
  if (have > want) fail(`${have - want} trailing bytes after the data`);
  // Copy into an aligned buffer: the data offset need not be a multiple of the element size.
  const data = new t.array(count);
  Buffer.from(data.buffer, data.byteOffset, want).set(buf.subarray(offset, offset + want));
  return { dtype, shape, data };
}

function read_npy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new NpyError(`${file}: cannot read (${e.code || e.message})`);
  }
  return decode(buf, file);
}

// Python's tuple spelling: (), (5,), (2, 3).
function shape_literal(shape) {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(', ')})`;
}

// Encodes {dtype, shape, data} as .npy bytes: version 1.0 when the header fits, else 2.0.
function encode(dtype, shape, data) {
  const t = kTypes[dtype];
  if (!t) throw new NpyError(`cannot write dtype '${dtype}'`);
  if (!(data instanceof t.array)) throw new NpyError(`data for dtype ${dtype} must be a ${t.array.name}`);
  const count = element_count(shape, 'npy write');
  if (count !== data.length) throw new NpyError(`shape (${shape.join(', ')}) has ${count} elements, data has ${data.length}`);
  const dict = `{'descr': '${t.descr}', 'fortran_order': False, 'shape': ${shape_literal(shape)}, }`;
  let major = 1;
  let prefix = 10;
  let total = Math.ceil((prefix + dict.length + 1) / kAlign) * kAlign;
  if (total - prefix > 0xffff) {
    major = 2;
    prefix = 12;
    total = Math.ceil((prefix + dict.length + 1) / kAlign) * kAlign;
  }
  const header_len = total - prefix;
  const head = Buffer.alloc(total, 0x20); // spaces, then a final newline
  kMagic.copy(head, 0);
  head[6] = major;
  head[7] = 0;
  if (major === 1) head.writeUInt16LE(header_len, 8);
  else head.writeUInt32LE(header_len, 8);
  head.write(dict, prefix, 'latin1');
  head[total - 1] = 0x0a;
  // Typed arrays are in host order; every platform ORT's npm package ships for is little-endian.
  return Buffer.concat([head, Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

// Writes to a temporary file next to `file` and renames it into place, so a failure never
// leaves a partial output behind.
function write_npy(file, dtype, shape, data) {
  const bytes = encode(dtype, shape, data);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
  } catch (e) {
    try { fs.unlinkSync(tmp); } catch (_) { /* nothing to clean */ }
    throw new NpyError(`${file}: cannot write (${e.code || e.message})`);
  }
}

module.exports = { NpyError, decode, encode, read_npy, write_npy, kTypes };
