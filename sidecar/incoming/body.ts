/**
 * A request's body read before the request is routed, for filters that look at it (a JSON body
 * filter): at most MAX_FILTERED_BODY bytes, waited for at most BODY_WAIT_MS. A larger or slower
 * body is not read whole (the filter then doesn't match) and nothing of it is lost: what was read
 * is sent on first, then the rest as it comes.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { RequestMatcher } from './filter';

export const MAX_FILTERED_BODY = 1 << 20;
export const BODY_WAIT_MS = 1000;

export interface ReadBody {
  /** The whole body, when it came within the bounds. */
  body?: Buffer;
  /** The body to send on, in place of the source. */
  replay: Readable;
}

export function readBodyForFilter(source: Readable, max = MAX_FILTERED_BODY, waitMs = BODY_WAIT_MS): Promise<ReadBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (complete: boolean) => {
      clearTimeout(timer);
      source.off('data', onData);
      source.off('end', onEnd);
      source.off('error', onEnd);
      source.pause();
      const replay = new PassThrough();
      for (const chunk of chunks) replay.write(chunk);
      if (complete) replay.end();
      else {
        source.pipe(replay);
        source.resume();
      }
      resolve({ body: complete ? Buffer.concat(chunks) : undefined, replay });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size > max) finish(false);
    };
    const onEnd = () => finish(true);
    const timer = setTimeout(() => finish(false), waitMs);
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onEnd);
  });
}

/**
 * Hands a request on to `route` once the filters can judge it: when its body is JSON (`json`) and
 * a filter of `subscribers` looks at bodies, after the body is read (`body`, and `replay` to send
 * on in place of `source`); else at once, without them.
 */
export function whenFilterable(
  source: Readable,
  json: boolean,
  subscribers: readonly { matches?: RequestMatcher }[],
  route: (body?: Buffer, replay?: Readable) => void,
): void {
  if (!json || !subscribers.some((s) => s.matches?.needsBody)) return route();
  void readBodyForFilter(source).then(({ body, replay }) => route(body, replay));
}

/**
 * Whether a request with these header lines has a body a JSON body filter could look at;
 * `bodyFollows` for an HTTP/2 request whose stream isn't over (it needs no length header).
 */
export function hasJsonBody(rawHeaders: string[], bodyFollows = false): boolean {
  let json = false;
  let body = false;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!.toLowerCase();
    const value = rawHeaders[i + 1]!;
    if (name === 'content-type') json = /json/i.test(value);
    else if (name === 'content-length') body = Number(value) > 0;
    else if (name === 'transfer-encoding') body = true;
  }
  return json && (body || bodyFollows);
}
