// Session shapes shared by every suite. A shape is
//   { name, title, keys, counter, make(i) }
// where make(i) is session number i's data as a plain object (the same
// object for every contender: what a store persists is its own business),
// `keys` are the keys a handler reads (all of them), and `counter` is the
// number key a request changes.
//
// - express: what an express-session app stores: 10 keys, ~1.1 KiB as JSON
//   (cookie, user, CSRF token, a 5-item cart, flash messages, a return URL,
//   two timestamps, two counters).
// - flat20: 20 flat keys, ~1 KiB (a user name, a counter, 18 strings).
// - mixed20: the dbm suite's 20 keys of mixed types, ~1 KiB as msgpack
//   (Dates, nested objects and arrays, booleans, null).

import { prng, randomHex } from './random.js';

/** The cookie lifetime every store and cookie uses, in seconds. */
export const MAX_AGE = 86_400;
/** A fixed clock origin for the shapes' timestamps (2026-01-01T00:00:00Z). */
const T0 = 1_767_225_600_000;

const PRODUCTS = [
  ['SKU-10042', 'Wireless mouse, graphite', 19.99],
  ['SKU-20077', 'Mechanical keyboard, brown switches', 149.5],
  ['SKU-30011', 'USB-C cable, braided, 2 m', 9.95],
  ['SKU-40999', '27-inch monitor arm, single', 89],
  ['SKU-51234', 'Laptop stand, aluminium', 45.25],
  ['SKU-61000', 'Noise-cancelling headphones', 229],
  ['SKU-70707', 'Webcam, 1080p with privacy shutter', 59.9],
];

/** express-session's stored cookie (Cookie#toJSON: expires as an ISO string once stored as JSON). */
export function expressCookie(i, now = T0) {
  return {
    originalMaxAge: MAX_AGE * 1000,
    expires: new Date(now + MAX_AGE * 1000 + i).toISOString(),
    httpOnly: true,
    path: '/',
    secure: false,
    sameSite: 'lax',
  };
}

export const express = {
  name: 'express',
  title: 'express-session-like, 10 keys',
  keys: ['cookie', 'user', 'csrfToken', 'cart', 'flash', 'returnTo', 'createdAt', 'lastSeenAt', 'visits', 'pageViews'],
  counter: 'visits',
  make(i) {
    const rand = prng(0xe59 + i);
    const cart = [];
    for (let k = 0; k < 5; k++) {
      const [sku, title, price] = PRODUCTS[(i + k) % PRODUCTS.length];
      cart.push({ sku, qty: 1 + ((i + k) % 3), price, title });
    }
    return {
      cookie: expressCookie(i),
      user: {
        id: 100_000 + i,
        name: `Example User ${i}`,
        email: `user${i}@mail.example.com`,
        roles: ['user', i % 7 === 0 ? 'admin' : 'editor', 'billing-viewer', 'support'],
      },
      csrfToken: randomHex(rand, 32),
      cart,
      flash: {
        info: ['Your profile was updated.', 'We sent a confirmation to your new e-mail address.'],
        warning: ['Your card on file expires next month; please update your billing details.'],
        error: [],
      },
      returnTo: `/account/orders?page=${1 + (i % 9)}&sort=date-desc&filter=shipped&since=2025-10-01`,
      createdAt: T0 - 3_600_000 + i,
      lastSeenAt: T0 + i,
      visits: i % 500,
      pageViews: (i * 7) % 5000,
    };
  },
};

export const flat20 = {
  name: 'flat20',
  title: 'flat, 20 keys',
  keys: ['user', 'visits', ...Array.from({ length: 18 }, (_, k) => `key${String(k + 2).padStart(2, '0')}`)],
  counter: 'visits',
  make(i) {
    const data = { user: `user-${String(i).padStart(6, '0')}`, visits: 0 };
    for (let k = 2; k < 20; k++) data[`key${String(k).padStart(2, '0')}`] = `value ${k} of session ${i} `.padEnd(44, '.');
    return data;
  },
};

export const mixed20 = {
  name: 'mixed20',
  title: 'mixed types, 20 keys',
  keys: [
    'cookie',
    'userId',
    'username',
    'email',
    'displayName',
    'roles',
    'locale',
    'timezone',
    'csrfToken',
    'loggedInAt',
    'lastSeen',
    'visits',
    'isAdmin',
    'mfaVerified',
    'cart',
    'preferences',
    'flash',
    'returnTo',
    'recentlyViewed',
    'userAgent',
  ],
  counter: 'visits',
  make(i) {
    const hex = (n) => ((i * 2654435761 + n * 40503) >>> 0).toString(16).padStart(8, '0');
    return {
      cookie: { originalMaxAge: 86_400_000, expires: new Date(T0 + i * 1000), secure: true, httpOnly: true, path: '/', sameSite: 'lax' },
      userId: 100_000 + i,
      username: `user${i}`,
      email: `user${i}@example.com`,
      displayName: `Example User ${i}`,
      roles: ['user', i % 7 === 0 ? 'admin' : 'editor', 'billing-viewer'],
      locale: 'en-GB',
      timezone: 'Europe/Amsterdam',
      csrfToken: hex(1) + hex(2) + hex(3) + hex(4),
      loggedInAt: new Date(1_767_200_000_000 + i * 997),
      lastSeen: T0 + i,
      visits: i % 500,
      isAdmin: i % 7 === 0,
      mfaVerified: true,
      cart: {
        currency: 'EUR',
        items: [
          { sku: 'SKU-10042', name: 'Wireless mouse', qty: 2, price: 19.99 },
          { sku: 'SKU-20077', name: 'Mechanical keyboard', qty: 1, price: 149.5 },
          { sku: 'SKU-30011', name: 'USB-C cable, 2 m', qty: 3, price: 9.95 },
        ],
        coupon: null,
      },
      preferences: { newsletter: false, itemsPerPage: 25, compactView: true, notifications: { email: true, push: false } },
      flash: { info: ['Your profile was updated.'], warning: ['Your card on file expires next month; please update your billing details.'] },
      returnTo: '/account/orders?page=2&sort=date-desc',
      recentlyViewed: [10042, 20077, 30011, 40999, 51234, 61000, 70707, 80808],
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    };
  },
};

/** The shapes the session suites run, in order. */
export const SESSION_SHAPES = [express, flat20];

/** One line describing a shape's size: keys, JSON bytes and msgpack bytes of session 0. */
export function describeShape(shape, packr) {
  const s = shape.make(0);
  return `${shape.title}: ${Object.keys(s).length} keys, ${Buffer.byteLength(JSON.stringify(s))} bytes as JSON, ${packr.pack(s).length} as one msgpack map`;
}
