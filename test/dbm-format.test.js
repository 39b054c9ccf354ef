// The byte layouts three places spell out must agree: FORMAT.md's tables
// (the specification), the wasm core's constants (assembly/page.ts,
// meta.ts, records.ts: the code that verifies and seals pages) and
// src/dbm/format.ts (the offsets the TypeScript side reads through
// src/dbm/layout.ts).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as w from '../dist/wasm.js';
import { H, M, R, PAGE_TYPE, META_MAGIC, FORMAT_VERSION, MODE_INLINE, MODE_HASHED, MAX_DEPTH, REC_OVERFLOW } from '../dist/dbm/format.js';
import { ROOT } from './helpers/index.js';

const FORMAT = fs.readFileSync(`${ROOT}/FORMAT.md`, 'utf8');

/** Rows [offset, size, field] of the first table after the heading that starts with `heading`. */
function fieldTable(heading) {
  const at = FORMAT.split('\n').findIndex((line) => line.startsWith(`## ${heading}`));
  assert.ok(at >= 0, `FORMAT.md has no section "${heading}"`);
  const rows = [];
  const lines = FORMAT.split('\n').slice(at + 1);
  let inTable = false;
  for (const line of lines) {
    if (line.startsWith('## ')) break;
    if (!line.startsWith('|')) {
      if (inTable) break;
      continue;
    }
    inTable = true;
    const cells = line
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim());
    if (!/^\d+$/.test(cells[0])) continue; // header and separator rows
    rows.push([Number(cells[0]), cells[1], cells[2]]);
  }
  assert.ok(rows.length > 0, `no field table under "${heading}"`);
  return rows;
}

/** Field name in FORMAT.md -> [name in format.ts, wasm constant, offset]: several for a row that holds two fields. */
function expand(field, offset, prefix) {
  if (field === 'seed')
    return [
      ['seedLo', `${prefix}_SEEDLO`, offset],
      ['seedHi', `${prefix}_SEEDHI`, offset + 4],
    ];
  if (field === 'user2, user3')
    return [
      ['user2', `${prefix}_USER2`, offset],
      ['user3', `${prefix}_USER3`, offset + 8],
    ];
  return [[field, `${prefix}_${field.toUpperCase()}`, offset]];
}

function checkTable(heading, prefix, constants, headerBytes, headerConst) {
  const seen = new Set();
  for (const [offset, , field] of fieldTable(heading)) {
    if (field === 'reserved') continue;
    if (field === 'payload' || field === 'key') {
      assert.equal(offset, headerBytes, `${heading}: ${field} starts after the ${headerConst}`);
      continue;
    }
    for (const [name, wasmName, at] of expand(field, offset, prefix)) {
      assert.equal(constants[name], at, `format.ts ${prefix}.${name} vs FORMAT.md "${heading}" (${field} at ${offset})`);
      assert.equal(w.coreConstant(wasmName), at, `wasm ${wasmName} vs FORMAT.md "${heading}"`);
      seen.add(name);
    }
  }
  assert.deepEqual([...seen].sort(), Object.keys(constants).sort(), `every ${prefix} field of format.ts is in FORMAT.md's "${heading}" table`);
}

describe('dbm file format: FORMAT.md, the wasm core and format.ts agree', () => {
  it('data page header fields', () => {
    checkTable('Data page header', 'H', H, w.PAGE_HEADER, 'PAGE_HEADER');
    assert.equal(w.PAGE_HEADER, 32);
  });

  it('meta page fields', () => {
    checkTable('Meta page', 'M', M, w.META_HEADER, 'META_HEADER');
    assert.equal(w.META_HEADER, 128);
  });

  it('record fields', () => {
    checkTable('Records', 'R', R, w.REC_HEADER, 'REC_HEADER');
    assert.equal(w.REC_HEADER, 12);
  });

  it('page types, modes, magic, version, limits', () => {
    const typeRow = fieldTable('Data page header').find(([, , field]) => field === 'type');
    const typeLine = FORMAT.split('\n').find((l) => l.includes('| type ') && l.includes('BUCKET'));
    for (const [name, code] of Object.entries(PAGE_TYPE)) {
      assert.ok(new RegExp(`\\b${code} ${name.toUpperCase()}\\b`).test(typeLine), `FORMAT.md names type ${code} ${name.toUpperCase()}`);
      assert.equal(w.coreConstant(`TYPE_${name.toUpperCase()}`), code);
    }
    assert.ok(typeRow);
    assert.equal(w.coreConstant('META_MAGIC') >>> 0, META_MAGIC);
    assert.ok(FORMAT.includes(`\`0x${META_MAGIC.toString(16)}\``), 'FORMAT.md gives the magic number');
    assert.equal(w.coreConstant('FORMAT_VERSION'), FORMAT_VERSION);
    assert.equal(w.coreConstant('MODE_INLINE'), MODE_INLINE);
    assert.equal(w.coreConstant('MODE_HASHED'), MODE_HASHED);
    assert.equal(w.coreConstant('MAX_DEPTH'), MAX_DEPTH);
    assert.equal(w.coreConstant('REC_OVERFLOW'), REC_OVERFLOW);
    assert.ok(FORMAT.includes(`${MODE_INLINE} INLINE, ${MODE_HASHED} HASHED`), 'FORMAT.md gives the mode values');
  });
});
