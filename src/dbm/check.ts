// check(): walks the whole file from disk (not from the handle's cache) and
// verifies every invariant of FORMAT.md. Every page below pageCount must be
// exactly one of: meta slot, DIR, bucket, overflow, free-list page, or free.

import * as w from '../wasm.js';
import { DbmCorruptError } from '../errors.js';
import type { FileIO } from './io.js';
import { Pager } from './pager.js';
import type { MetaState } from './meta.js';
import { reservedNotZero } from './meta.js';
import { FreePages } from './freeset.js';
import { Snapshot } from './tree.js';
import { M, MODE_INLINE, MAX_DEPTH, PAGE_TYPE } from './format.js';
import { pageAux, pageCount, pageNext, pageUsed, payloadOf, recKeyLen, recValueLen, recIsOverflow, recKey, recOverflowPage } from './layout.js';

export interface CheckReport {
  ok: true;
  txid: number;
  keys: number;
  pageCount: number;
  pages: { meta: number; dir: number; bucket: number; overflow: number; freelist: number; free: number };
  depth: number;
  /**
   * State of each meta slot: 'current', 'stale' (older txid, left by an
   * interrupted commit), 'invalid', or 'absent' (a zero-length file, which
   * a read-only handle sees as an empty database).
   */
  metaSlots: [string, string];
  fileBytes: number;
}

export interface CheckContext {
  path: string;
  pager: Pager;
  pageSize: number;
  meta: number;
  state: MetaState;
  io: FileIO;
  fd: number;
}

const KIND = { unused: 0, meta: 1, dir: 2, bucket: 3, overflow: 4, freelist: 5, free: 6 } as const;
const KIND_NAME = ['unused', 'meta', 'dir', 'bucket', 'overflow', 'freelist', 'free'];
const MAX_PROBLEMS = 50;

export function checkDatabase(ctx: CheckContext): CheckReport {
  const { path, pageSize: P, state: s } = ctx;
  // txid 0 is the state a read-only handle gives a zero-length file: there
  // is nothing to walk, as long as the file is still empty.
  if (s.txid === 0) {
    const fileBytes = ctx.io.size(ctx.fd);
    if (fileBytes !== 0) throw new DbmCorruptError(path, 0, 'the file has no meta page but is not empty');
    const pages = { meta: 0, dir: 0, bucket: 0, overflow: 0, freelist: 0, free: 0 };
    return { ok: true, txid: 0, keys: 0, pageCount: 0, pages, depth: 0, metaSlots: ['absent', 'absent'], fileBytes };
  }
  const problems: { page: number; reason: string }[] = [];
  const problem = (page: number, reason: string): void => {
    if (problems.length < MAX_PROBLEMS) problems.push({ page, reason });
  };
  // A private pager with a tiny cache, so every page is read from the file.
  const pager = new Pager(ctx.io, ctx.fd, path, P, 8 * P);
  pager.seedLo = s.seedLo;
  pager.seedHi = s.seedHi;
  const usage = new Uint8Array(s.pageCount);
  usage[0] = usage[1] = KIND.meta;
  const counts = { meta: 2, dir: 0, bucket: 0, overflow: 0, freelist: 0, free: 0 };
  const mark = (no: number, kind: number, from: string): boolean => {
    if (!(no >= 2 && no < s.pageCount)) {
      problem(no, `${from} points outside the file's ${s.pageCount} pages`);
      return false;
    }
    const prev = usage[no]!; // in range: 2 <= no < s.pageCount = usage.length, checked above
    if (prev !== KIND.unused) {
      problem(no, `page is used twice: as ${KIND_NAME[prev]} and as ${KIND_NAME[kind]} (${from})`);
      return false;
    }
    usage[no] = kind;
    counts[KIND_NAME[kind] as keyof typeof counts]++;
    return true;
  };
  const guard = (page: number, fn: () => void): void => {
    try {
      fn();
    } catch (err) {
      if (err instanceof DbmCorruptError) problem(err.page >= 0 ? err.page : page, err.reason);
      else throw err;
    }
  };

  const metaSlots = checkMetaSlots(ctx, problem);
  let keys = 0;
  const payload = P - w.PAGE_HEADER;

  const checkRecords = (base: number, used: number, count: number, depth: number, prefix: number, where: number): void => {
    const bad = w.recCheckHashes(base, used, depth, prefix, s.seedLo, s.seedHi);
    if (bad > 0) problem(where, `record ${bad} has a wrong hash or sits in the wrong bucket`);
    const index = w.alloc(16 * Math.max(1, count));
    try {
      const n = w.recIndex(base, used, index, count);
      const seen = new Set<string>();
      for (let i = 0; i < n; i++) {
        const rec = base + w.u32(index + 16 * i);
        const keyLen = recKeyLen(rec);
        const key = w.copyOut(recKey(rec), keyLen).toString('latin1');
        if (seen.has(key)) problem(where, 'the same key is stored twice');
        seen.add(key);
        keys++;
        if (recIsOverflow(rec)) {
          const first = recOverflowPage(rec, keyLen);
          const len = recValueLen(rec);
          const pages = Math.ceil(len / payload);
          let ok = first >= 2 && first + pages <= s.pageCount;
          if (!ok) problem(where, `overflow run of ${pages} pages at ${first} is outside the file's ${s.pageCount} pages`);
          for (let k = 0; ok && k < pages; k++) ok = mark(first + k, KIND.overflow, `overflow value in page ${where}`);
          if (ok) {
            guard(first, () => {
              const run = pager.readRun(first, pages, PAGE_TYPE.overflow, s.txid, s.pageCount);
              try {
                let total = 0;
                for (let k = 0; k < pages; k++) total += pageCount(run + k * P);
                if (total !== len) problem(first, `overflow run holds ${total} bytes, record says ${len}`);
              } finally {
                w.dealloc(run);
              }
            });
          }
        }
      }
    } finally {
      w.dealloc(index);
    }
  };

  if (s.mode === MODE_INLINE) {
    checkRecords(ctx.meta + w.META_HEADER, s.mainUsed, s.mainCount, 0, 0, 0);
  } else {
    guard(0, () => {
      // The directory as the file holds it, through the private pager.
      const tree = new Snapshot(pager, P, s);
      tree.metaPtr = ctx.meta;
      const entries = tree.readDirectory((no) => mark(no, KIND.dir, 'directory'));
      const d = s.depth;
      for (let i = 0; i < entries.length; ) {
        const no = entries[i]!; // i < entries.length (the loop condition)
        let width = 1;
        guard(no, () => {
          if (!mark(no, KIND.bucket, `directory entry ${i}`)) return;
          let ptr = pager.getPage(no, PAGE_TYPE.bucket, s.txid, s.pageCount);
          const ld = pageAux(ptr);
          if (ld > d) {
            problem(no, `bucket local depth ${ld} exceeds global depth ${d}`);
            return;
          }
          width = 2 ** (d - ld);
          if (i % width !== 0) problem(no, `bucket of depth ${ld} starts at misaligned directory entry ${i}`);
          for (let k = i; k < i + width && k < entries.length; k++) {
            if (entries[k] !== no) {
              problem(no, `directory entries ${i}..${i + width - 1} should all point to this bucket; entry ${k} does not`);
              break;
            }
          }
          const prefix = Math.floor(i / width);
          let pageNo = no;
          for (let steps = 0; ; steps++) {
            checkRecords(payloadOf(ptr), pageUsed(ptr), pageCount(ptr), ld, prefix, pageNo);
            const next = pageNext(ptr);
            if (next === 0) break;
            if (ld !== MAX_DEPTH) {
              problem(pageNo, 'bucket chain below maximum depth');
              break;
            }
            if (steps > s.pageCount || !mark(next, KIND.bucket, `chain of bucket ${no}`)) break;
            pageNo = next;
            ptr = pager.getPage(next, PAGE_TYPE.bucket, s.txid, s.pageCount);
            if (pageAux(ptr) !== MAX_DEPTH) problem(next, 'chained bucket not at maximum depth');
          }
        });
        i += width;
      }
    });
  }
  if (keys !== s.keyCount) problem(0, `meta counts ${s.keyCount} keys, the pages hold ${keys}`);

  guard(s.freelistPage, () => {
    const free = FreePages.decode(pager, ctx.meta, s);
    try {
      for (const no of free.spillPages) mark(no, KIND.freelist, 'spilled free list');
      free.pages.forEach((no) => {
        mark(no, KIND.free, 'free list');
      });
    } finally {
      free.pages.dispose();
    }
  });
  for (let no = 2; no < s.pageCount; no++) {
    if (usage[no] === KIND.unused) problem(no, 'page is neither in use nor free (leaked)');
  }
  const fileBytes = ctx.io.size(ctx.fd);
  if (fileBytes < s.pageCount * P) problem(Math.floor(fileBytes / P), `the file ends at ${fileBytes} bytes, before the last of its ${s.pageCount} pages`);
  pager.close();
  const first = problems[0];
  if (first !== undefined) {
    const err = new DbmCorruptError(path, first.page, `${problems.length}${problems.length >= MAX_PROBLEMS ? '+' : ''} problem(s); first: ${first.reason}`);
    (err as DbmCorruptError & { problems: typeof problems }).problems = problems;
    throw err;
  }
  return { ok: true, txid: s.txid, keys, pageCount: s.pageCount, pages: counts, depth: s.depth, metaSlots, fileBytes };
}

/** Reads both meta slots from disk and says what each holds. */
function checkMetaSlots(ctx: CheckContext, problem: (page: number, reason: string) => void): [string, string] {
  const P = ctx.pageSize;
  const buf = w.alloc(2 * P);
  try {
    const view = w.view(buf, 2 * P);
    let len = 0;
    while (len < 2 * P) {
      const n = ctx.io.pread(ctx.fd, view, len, 2 * P - len, len);
      if (n === 0) break;
      len += n;
    }
    const slots: [string, string] = ['invalid', 'invalid'];
    for (let k = 0; k < 2; k++) {
      if (len >= (k + 1) * P && w.metaVerify(buf + k * P, P) === 0) {
        const reserved = reservedNotZero(buf + k * P);
        if (reserved !== null) problem(k, reserved);
        const txid = w.u64(buf + k * P + M.txid);
        slots[k] = txid === ctx.state.txid ? 'current' : txid < ctx.state.txid ? 'stale' : 'newer';
      }
    }
    if (!slots.includes('current')) problem(0, 'no meta slot on disk holds the current state');
    if (slots.includes('newer')) problem(0, 'a meta slot on disk is newer than the state being checked');
    return slots;
  } finally {
    w.dealloc(buf);
  }
}
