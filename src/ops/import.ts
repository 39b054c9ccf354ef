// Switching stores without logging anyone out: copy the sessions an
// express-session store holds into a WasmSessionStore, under the same ids,
// so the cookies the browsers have keep working. Sources read the other
// store's data as it is laid out by that package (its files or its Redis
// keys), never through the old store's code; sessions that the old store
// would already treat as expired are skipped.

import fs from 'node:fs';
import nodePath from 'node:path';
import { WasmSessionStore } from '../frameworks/express-session.js';
import type { SessionOptions } from '../session/options.js';

/** One session found in the source: its express-session id and data, or why it could not be read. */
export type SourceEntry =
  | { readonly sid: string; readonly session: Record<string, unknown>; readonly expired: boolean }
  | { readonly sid: string; readonly error: Error };

/** Where sessions come from: an async iteration over them, in any order, with bounded memory. */
export interface ImportSource {
  /** What it reads, for messages ("session-file-store /var/sessions"). */
  readonly description: string;
  entries(): AsyncIterable<SourceEntry>;
  /** Releases connections; optional. */
  close?(): Promise<void>;
}

export interface ImportResult {
  /** Sessions written to the target (or, with dryRun, that would be). */
  imported: number;
  /** Sessions the source store already considered expired: not copied. */
  expired: number;
  /** Sessions the target already holds under that id (imported before, or made there since): left alone. A dry run does not look at the target: 0. */
  existing: number;
  /** Entries that could not be read or written, with why (the first 20). */
  failed: number;
  errors: { sid: string; message: string }[];
}

export interface ImportOptions {
  /** Count only; write nothing. */
  dryRun?: boolean;
  /** Called after each entry, for progress output. */
  onProgress?: (result: Readonly<ImportResult>) => void;
}

/** The expiry (ms) of an express-session cookie as a store reads it (expires: ISO string, ms or Date), or null. */
export function cookieExpiry(session: Record<string, unknown>): number | null {
  const cookie = session.cookie as { expires?: unknown } | undefined;
  const expires = cookie?.expires;
  if (expires === undefined || expires === null || expires === false) return null;
  const ms = typeof expires === 'number' ? expires : expires instanceof Date ? expires.getTime() : Date.parse(String(expires));
  return Number.isFinite(ms) ? ms : null;
}

/**
 * Copies every session of `source` into a WasmSessionStore built from
 * `target` (the same options the application gives it: `{ dataDir }`,
 * `{ type: 'redis', redis: {...} }`, ...). A session that the target
 * already holds is left alone (counted as `existing`): an import run again
 * after the switch must not take back what users did on the new store. A
 * session ended on the new store since the switch is not known there any
 * more, so a run after the switch brings it back: import before switching.
 */
export async function importSessions(source: ImportSource, target: SessionOptions, options: ImportOptions = {}): Promise<ImportResult> {
  const result: ImportResult = { imported: 0, expired: 0, existing: 0, failed: 0, errors: [] };
  const store = options.dryRun ? null : new WasmSessionStore(target);
  const fail = (sid: string, err: unknown): void => {
    result.failed++;
    if (result.errors.length < 20) result.errors.push({ sid, message: (err as Error)?.message ?? String(err) });
  };
  try {
    for await (const entry of source.entries()) {
      if ('error' in entry) fail(entry.sid, entry.error);
      else if (entry.expired) result.expired++;
      else if (store === null) result.imported++;
      else {
        try {
          if ((await store.get(entry.sid)) !== null) result.existing++;
          else {
            await store.set(entry.sid, entry.session);
            result.imported++;
          }
        } catch (err) {
          fail(entry.sid, err);
        }
      }
      options.onProgress?.(result);
    }
  } finally {
    await source.close?.();
  }
  return result;
}

export interface SessionFileStoreSourceOptions {
  /** session-file-store's `fileExtension` (default '.json'). */
  fileExtension?: string;
  /** session-file-store's `ttl` in seconds (default 3600): the lifetime of a session whose cookie has no originalMaxAge. */
  ttl?: number;
  /** The clock, ms (default Date.now). */
  now?: () => number;
}

/**
 * session-file-store's directory: one file `<sid><fileExtension>` per
 * session holding express-session's JSON plus `__lastAccess` (ms), which is
 * session-file-store's own bookkeeping and is not copied. Expired as
 * session-file-store decides it: `__lastAccess` + (cookie.originalMaxAge,
 * else ttl) in the past. Encrypted stores (its `secret` option) are not
 * readable here. The directory is read as a stream, and only regular files
 * (never links) are read.
 */
export function sessionFileStoreSource(dir: string, options: SessionFileStoreSourceOptions = {}): ImportSource {
  const extension = options.fileExtension ?? '.json';
  const ttlMs = (options.ttl ?? 3600) * 1000;
  const now = options.now ?? Date.now;
  return {
    description: `session-file-store ${dir}`,
    async *entries(): AsyncIterable<SourceEntry> {
      const handle = await fs.promises.opendir(dir);
      for await (const dirent of handle) {
        if (!dirent.name.endsWith(extension) || dirent.name.length === extension.length) continue;
        const sid = dirent.name.slice(0, dirent.name.length - extension.length);
        if (!dirent.isFile()) {
          if (!dirent.isDirectory()) yield { sid, error: new Error(`${dirent.name} is not a regular file`) };
          continue;
        }
        let session: Record<string, unknown>;
        try {
          const text = await fs.promises.readFile(nodePath.join(dir, dirent.name), { encoding: 'utf8', flag: fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW });
          const parsed: unknown = JSON.parse(text);
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
          session = parsed as Record<string, unknown>;
        } catch (err) {
          yield { sid, error: new Error(`${dirent.name}: ${(err as Error).message}`, { cause: err }) };
          continue;
        }
        const lastAccess = typeof session.__lastAccess === 'number' ? session.__lastAccess : Number.NaN;
        const cookie = session.cookie as { originalMaxAge?: unknown } | undefined;
        const lifetime = typeof cookie?.originalMaxAge === 'number' && cookie.originalMaxAge > 0 ? cookie.originalMaxAge : ttlMs;
        const expired = !(lastAccess + lifetime >= now()) || isPast(cookieExpiry(session), now());
        const { __lastAccess: _bookkeeping, ...data } = session;
        yield { sid, session: data, expired };
      }
    },
  };
}

function isPast(ms: number | null, now: number): boolean {
  return ms !== null && ms <= now;
}

export interface ConnectRedisSourceOptions {
  /** connect-redis's `prefix` (default 'sess:'). */
  prefix?: string;
  /** SCAN batch size (default 100). */
  count?: number;
  /** The clock, ms (default Date.now). */
  now?: () => number;
}

/** A glob pattern matching keys that start with `prefix` exactly (SCAN MATCH treats * ? [ ] \\ specially). */
function globPrefix(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

/**
 * connect-redis's keyspace (versions 7 to 9): one string key
 * `<prefix><sid>` per session holding express-session's JSON, expiring with
 * the session (Redis drops expired ones itself; a cookie.expires in the past
 * is skipped too). Read with SCAN (on every master of a cluster: give the
 * nodes' URLs as an array), in batches, so memory stays bounded.
 */
export function connectRedisSource(url: string | string[], options: ConnectRedisSourceOptions = {}): ImportSource {
  const prefix = options.prefix ?? 'sess:';
  const count = options.count ?? 100;
  const now = options.now ?? Date.now;
  const urls = Array.isArray(url) ? url : [url];
  return {
    description: `connect-redis ${urls.join(',')} prefix ${JSON.stringify(prefix)}`,
    async *entries(): AsyncIterable<SourceEntry> {
      const { createClient, createCluster } = await import('redis');
      type Scanner = { scanIterator(o: { MATCH: string; COUNT: number }): AsyncIterable<string[]>; get(key: string): Promise<string | null> };
      const connections: { close(): Promise<unknown> }[] = [];
      try {
        const scanners: Scanner[] = [];
        if (urls.length === 1) {
          const client = createClient({ url: urls[0] });
          await client.connect();
          connections.push({ close: () => client.close() });
          scanners.push(client as unknown as Scanner);
        } else {
          const cluster = createCluster({ rootNodes: urls.map((u) => ({ url: u })) });
          await cluster.connect();
          connections.push({ close: () => cluster.close() });
          for (const master of cluster.masters) scanners.push((await cluster.nodeClient(master)) as unknown as Scanner);
        }
        for (const scanner of scanners) {
          for await (const keys of scanner.scanIterator({ MATCH: globPrefix(prefix), COUNT: count })) {
            if (keys.length === 0) continue;
            // One GET per key, pipelined by the client (an MGET would fail across a cluster node's slots).
            const values = await Promise.all(keys.map((key) => scanner.get(key)));
            for (let i = 0; i < keys.length; i++) {
              const sid = keys[i]!.slice(prefix.length);
              const raw = values[i];
              if (raw === null || raw === undefined) continue; // expired or removed since the scan saw it
              let session: Record<string, unknown>;
              try {
                const parsed: unknown = JSON.parse(raw);
                if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
                session = parsed as Record<string, unknown>;
              } catch (err) {
                yield { sid, error: new Error(`${keys[i]}: ${(err as Error).message}`, { cause: err }) };
                continue;
              }
              yield { sid, session, expired: isPast(cookieExpiry(session), now()) };
            }
          }
        }
      } finally {
        for (const c of connections) await c.close().catch(() => {});
      }
    },
  };
}
