// What an in-process request cycle hands a session: a request with a Cookie
// header and a response with node:http's header API. BenchResponse offers
// what ServerResponse offers a session (setHeader/getHeader/end,
// headersSent false until end), and nothing is sent anywhere.

export class BenchResponse {
  statusCode = 200;
  headersSent = false;
  body = undefined;
  #headers = new Map();
  #ended = false;
  #onEnd = null;

  setHeader(name, value) {
    if (this.headersSent) throw new Error(`BenchResponse: headers already sent, cannot set ${name}`);
    this.#headers.set(name.toLowerCase(), value);
    return this;
  }

  getHeader(name) {
    return this.#headers.get(name.toLowerCase());
  }

  hasHeader(name) {
    return this.#headers.has(name.toLowerCase());
  }

  end(body) {
    if (this.#ended) return this;
    this.#ended = true;
    this.headersSent = true;
    this.body = body;
    if (this.#onEnd !== null) this.#onEnd();
    return this;
  }

  /**
   * Resolves once end() really ran. A session wraps res.end to store the
   * access time first, so the original end() can run a few ticks after the
   * handler called it: a request is over only then.
   */
  whenEnded() {
    if (this.#ended) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onEnd = resolve;
    });
  }
}

/** A request as a session reads it: headers (a Cookie header when given). */
export function benchRequest(cookie) {
  return { headers: cookie === undefined ? {} : { cookie } };
}

/** The `name=value` part of the first Set-Cookie line a response got (for the next request's Cookie header). */
export function cookieFrom(res) {
  const header = res.getHeader('set-cookie');
  const line = Array.isArray(header) ? header[0] : header;
  if (typeof line !== 'string') throw new Error('no Set-Cookie on the response');
  return line.slice(0, line.indexOf(';') === -1 ? line.length : line.indexOf(';'));
}
