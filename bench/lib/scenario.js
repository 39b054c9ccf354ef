// Scenarios: a table whose rows are one case key (e.g. 'load') of every
// contender, each contender's variants ('load:touch') right after it.
// Every row gets its own rotation over the same seeded order of sessions.

import { finishGroup, measureOnly, runGroup } from './harness.js';
import { rotation } from './random.js';

export const MIN_TIME = Number(process.env.BENCH_MIN_TIME ?? 1);

/** Sets up each available contender; skipped ones come back as { skipped: reason }. */
export async function setupAll(contenders, ctxFor) {
  const out = [];
  for (const contender of contenders) {
    const available = contender.available ? contender.available() : true;
    if (available !== true) {
      out.push({ contender, name: contender.name, skipped: available });
      continue;
    }
    const t0 = performance.now();
    const instance = await contender.setup(ctxFor(contender));
    out.push({ contender, name: contender.name, ...instance, setupMs: performance.now() - t0 });
  }
  return out;
}

export async function teardownAll(instances) {
  for (const inst of instances) if (!inst.skipped) await inst.teardown?.();
}

/** The case keys of `inst` that a table of `key` shows: key itself, then key:variant. */
export function caseKeys(inst, key, { variants = true } = {}) {
  if (inst.skipped) return [];
  const keys = Object.keys(inst.cases);
  return [...keys.filter((k) => k === key), ...(variants ? keys.filter((k) => k.startsWith(`${key}:`)) : [])];
}

/** A no-argument function running case `key` of `inst` over its own rotation of `count` sessions. */
export function bound(inst, key, count) {
  const c = inst.cases[key];
  if (!c) throw new Error(`${inst.name} has no case ${key}`);
  const next = rotation(count);
  return () => c.fn(next());
}

/** Runs `fn` until `calls` calls or `ms` milliseconds have passed (JIT, caches, allocator). */
export async function warmUp(fn, { calls = 2000, ms = 300 * MIN_TIME } = {}) {
  const end = performance.now() + ms;
  for (let n = 0; n < calls && performance.now() < end; n++) await fn();
}

/** `fn` `batch` times per call (sync, or awaited one after the other). */
function batched(fn, batch, sync) {
  if (batch === 1) return fn;
  if (sync) {
    return () => {
      for (let n = 0; n < batch; n++) fn();
    };
  }
  return async () => {
    for (let n = 0; n < batch; n++) await fn();
  };
}

/**
 * A table: `rows` are [inst, caseKey, extra?] (extra: { baseline, batch }:
 * a row with `batch` N does N operations per call and reports per
 * operation; opts.batch sets it for every row). Returns
 * a Map from `${inst.name}/${caseKey}` to the row's result { hz, rme, ratio }.
 * Skipped contenders become a note under the table.
 */
export async function runTable({ title, rows, count, notes = [], opts = {} }) {
  const cases = [];
  const ids = [];
  const skipped = [];
  for (const [inst, key, extra = {}] of rows) {
    if (inst.skipped) {
      if (!skipped.includes(inst)) skipped.push(inst);
      continue;
    }
    const c = inst.cases[key];
    const one = bound(inst, key, count);
    await warmUp(one, c.slow ? { calls: 30 } : {});
    const batch = extra.batch ?? c.batch ?? opts.batch ?? 1;
    cases.push({ name: c.label, fn: batched(one, batch, c.sync), opsPerCycle: batch, defer: !c.sync, baseline: !!extra.baseline, slow: c.slow });
    ids.push(`${inst.name}/${key}`);
  }
  const slowOpts = { minTime: opts.minTime, maxTime: Math.min(opts.maxTime ?? 2.5 * MIN_TIME, 1.5 * MIN_TIME) };
  const allNotes = [...notes, ...skipped.map((s) => `${s.name}: ${s.skipped}`)];
  // benchmark.js runs a group's cases with one setting; slow cases get their own, shorter, run and join the table.
  const fast = cases.filter((c) => !c.slow);
  const slow = cases.filter((c) => c.slow);
  let results;
  if (slow.length === 0) {
    results = await runGroup({ title, showTime: true, cases, notes: allNotes }, opts);
  } else {
    const a = await measureOnly(fast, opts);
    const b = await measureOnly(slow, slowOpts);
    results = cases.map((c) => (c.slow ? b[slow.indexOf(c)] : a[fast.indexOf(c)]));
    finishGroup({ title, showTime: true, cases, notes: allNotes }, results);
  }
  const map = new Map();
  results.forEach((r, i) => {
    map.set(ids[i], r);
  });
  return map;
}
