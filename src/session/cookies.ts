// The session cookie: reading our id out of a Cookie header, building the
// Set-Cookie line, and adding it to a response without disturbing the other
// Set-Cookie headers already there.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifySetCookie } from 'cookie';
import { SessionError } from './errors.js';

/**
 * Values of every cookie named `name`, in header order, at most `limit`.
 * cookie@1's parse keeps only the first of several same-named cookies, but a
 * client may send several (e.g. one per path) and the first one need not be
 * valid, so this scans for our name alone. One pass over the header, linear
 * in its length whatever it holds (a search for '=' that ran past the
 * current cookie made a header of many '='-less cookies quadratic), and no
 * string is made for a cookie that is not ours.
 */
export function readCookieValues(header: string | string[] | undefined, name: string, limit = 8): string[] {
  if (header === undefined) return [];
  const text = Array.isArray(header) ? header.join('; ') : header;
  const found: string[] = [];
  const length = text.length;
  let pos = 0;
  while (pos < length && found.length < limit) {
    let end = text.indexOf(';', pos);
    if (end === -1) end = length;
    let eq = pos;
    while (eq < end && text.charCodeAt(eq) !== 0x3d) eq++;
    if (eq < end && isNamed(text, pos, eq, name)) found.push(decodeValue(text.slice(eq + 1, end).trim()));
    pos = end + 1;
  }
  return found;
}

/** Whether text[start, end), without surrounding spaces and tabs, is `name`. */
function isNamed(text: string, start: number, end: number, name: string): boolean {
  let from = start;
  let to = end;
  while (from < to && isBlank(text.charCodeAt(from))) from++;
  while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
  return to - from === name.length && text.startsWith(name, from);
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

/** RFC 6265 allows a quoted value; %-escapes are decoded as cookie@1 does. */
function decodeValue(raw: string): string {
  let value = raw;
  if (value.length >= 2 && value.charCodeAt(0) === 0x22 && value.charCodeAt(value.length - 1) === 0x22) value = value.slice(1, -1);
  if (value.indexOf('%') === -1) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export interface CookieAttributes {
  path: string;
  domain: string | undefined;
  secure: boolean;
  httpOnly: boolean;
  sameSite: 'lax' | 'strict' | 'none' | false;
  /** Absolute expiry; undefined = a browser-session cookie. */
  expires: Date | undefined;
  /** Max-Age in seconds, sent with `expires` when the lifetime is relative. */
  maxAge: number | undefined;
}

/**
 * The Set-Cookie line for `value`, exactly as cookie@1's stringifySetCookie
 * writes it (same attribute order; pinned by a test against it). The
 * attributes were validated with the options and our values are hex, so the
 * per-request work is string concatenation: cookie@1's general-purpose
 * checks cost more than the rest of a memory-store request cycle's cookie work.
 */
export function serializeCookie(name: string, value: string, a: CookieAttributes): string {
  let line = `${name}=${value}`;
  if (a.maxAge !== undefined) line += `; Max-Age=${a.maxAge}`;
  if (a.domain) line += `; Domain=${a.domain}`;
  if (a.path) line += `; Path=${a.path}`;
  if (a.expires) line += `; Expires=${httpDate(a.expires.getTime())}`;
  if (a.httpOnly) line += '; HttpOnly';
  if (a.secure) line += '; Secure';
  if (a.sameSite) line += a.sameSite === 'lax' ? '; SameSite=Lax' : a.sameSite === 'strict' ? '; SameSite=Strict' : '; SameSite=None';
  return line;
}

let lastSecond = Number.NaN;
let lastDate = '';

/** An HTTP date (Date#toUTCString), remembered for the current second: rolling cookies format one per save. */
function httpDate(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastDate = new Date(second * 1000).toUTCString();
  }
  return lastDate;
}

/** Validates the attributes once (with cookie@1, which throws on anything it would not write). */
export function checkCookieAttributes(name: string, a: CookieAttributes): void {
  stringifySetCookie(name, 'x', {
    path: a.path,
    domain: a.domain,
    secure: a.secure,
    httpOnly: a.httpOnly,
    sameSite: a.sameSite === false ? undefined : a.sameSite,
    expires: a.expires,
    maxAge: a.maxAge,
  });
}

/** A Set-Cookie line that makes the browser drop the cookie now. */
export function serializeExpiredCookie(name: string, a: CookieAttributes): string {
  return serializeCookie(name, '', { ...a, expires: new Date(0), maxAge: 0 });
}

/** True when the request arrived over TLS (for `secure: 'auto'`). */
export function isTlsRequest(req: IncomingMessage | undefined): boolean {
  return (req?.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
}

/** What each response got from us, so a later line replaces only our own. */
const ourCookies = new WeakMap<object, Map<string, string>>();

export type CookieResponse = Pick<ServerResponse, 'getHeader' | 'setHeader' | 'headersSent'>;

/**
 * Adds `line` as a Set-Cookie header. Headers set by others are kept; a line
 * this module set earlier on the same response for the same cookie name is
 * replaced, so a response never tells the browser two things about our cookie.
 */
export function appendSetCookie(res: CookieResponse, name: string, line: string): void {
  if (res.headersSent) {
    throw new SessionError(
      `wasm-session: cannot send the session cookie '${name}': the response headers were already sent (call save(), regenerateId(), invalidate() or delete() before writing the response body)`,
      'ERR_SESSION_HEADERS_SENT',
    );
  }
  let ours = ourCookies.get(res);
  if (ours === undefined) {
    ours = new Map();
    ourCookies.set(res, ours);
  }
  const previous = ours.get(name);
  const current = res.getHeader('set-cookie');
  const lines: string[] = current === undefined ? [] : Array.isArray(current) ? current.slice() : [String(current)];
  if (previous !== undefined) {
    const at = lines.indexOf(previous);
    if (at !== -1) lines.splice(at, 1);
  }
  lines.push(line);
  res.setHeader('set-cookie', lines);
  ours.set(name, line);
}
