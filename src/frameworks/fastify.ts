// wasm-session/fastify: the session plugin for Fastify 5.
//
// `app.register(fastifySession, { dataDir: './sessions', secret })`: every
// request gets `request.session`, the opened Session (onRequest), saved
// before the reply is sent (onSend), its lock released when the response is
// done (onSend after the save, and onResponse / onRequestAbort in any case).
//
// Fastify writes its headers with writeHead(status, headers), which would
// replace a Set-Cookie set on reply.raw: the Session is given an adapter
// over the reply instead, so our cookie goes through the reply's own
// headers, next to any other (@fastify/cookie's reply.setCookie included).

import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Session, type SessionResponse } from '../session/session.js';
import { pathMatches, pathOf, resolveFrameworkOptions, sessionRequest, type FrameworkOptions, type MyghtyConfig } from './common.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The request's session, opened by wasm-session/fastify (null outside the cookie path). */
    session: Session;
  }
}

/** Options of the plugin: every Session option, plus lock, autoSave and proxy (or Myghty's session_ config). */
export type FastifySessionOptions = FrameworkOptions<FastifyRequest> | MyghtyConfig;

/** What the plugin keeps for a request. */
interface RequestState {
  readonly session: Session;
  readonly adapter: ReplyAdapter;
  locked: boolean;
}

type ReplyAdapter = SessionResponse & { end(done?: () => void): unknown };

/** Fastify's own options of register(), not ours. */
const REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'];

/**
 * The response as the Session sees it: the reply's headers (Set-Cookie
 * replaced as a whole, since reply.header() appends to it), its raw
 * response's state and 'close' event, and an end() the plugin calls once
 * the reply is about to go, through which the Session stores a pending
 * access time.
 */
function replyAdapter(reply: FastifyReply): ReplyAdapter {
  return {
    getHeader: (name: string) => reply.getHeader(name) as ReturnType<SessionResponse['getHeader']>,
    setHeader(name: string, value: number | string | readonly string[]) {
      if (name.toLowerCase() === 'set-cookie') reply.removeHeader('set-cookie');
      reply.header(name, value);
      return this as never;
    },
    get headersSent() {
      return reply.raw.headersSent;
    },
    once: (event: 'close', listener: () => void) => reply.raw.once(event, listener),
    end(done?: () => void) {
      done?.();
      return this;
    },
  };
}

const sessionPlugin: FastifyPluginAsync<FastifySessionOptions> = async (fastify, options) => {
  const given = { ...(options as Record<string, unknown>) };
  for (const name of REGISTER_OPTIONS) delete given[name];
  const resolved = resolveFrameworkOptions<FastifyRequest>(given, 'fastifySession');
  const states = new WeakMap<FastifyRequest, RequestState>();
  if (!fastify.hasRequestDecorator('session')) fastify.decorateRequest('session', null as unknown as Session);

  const release = async (request: FastifyRequest): Promise<void> => {
    const state = states.get(request);
    if (state === undefined || !state.locked) return;
    state.locked = false;
    await state.session.unlock();
  };

  fastify.addHook('onRequest', async (request, reply) => {
    // Opened already (this plugin registered twice, another session plugin), or outside the cookie path: left alone.
    if (request.session != null || !pathMatches(pathOf(request.raw.url), resolved.path)) return;
    const lock = resolved.lock(request);
    const adapter = replyAdapter(reply);
    const session = await Session.open(sessionRequest(request.raw, resolved, request.protocol === 'https'), adapter, resolved.session);
    // A lock that times out fails the request before anything is saved.
    if (lock) await session.lock();
    states.set(request, { session, adapter, locked: lock });
    request.session = session;
  });

  fastify.addHook('onSend', async (request, _reply, payload) => {
    const state = states.get(request);
    if (state === undefined) return payload;
    try {
      if (resolved.autoSave) await state.session.save();
      // The Session's end hook: stores the access time if no save did.
      await new Promise<void>((resolve) => state.adapter.end(resolve));
    } finally {
      await release(request);
    }
    return payload;
  });

  fastify.addHook('onResponse', async (request) => release(request));
  fastify.addHook('onRequestAbort', async (request) => release(request));
};

/** The Fastify plugin (built with fastify-plugin, so `request.session` is seen by every route of the app). */
export const fastifySession = fp(sessionPlugin, { fastify: '5.x', name: 'wasm-session' });

export default fastifySession;
