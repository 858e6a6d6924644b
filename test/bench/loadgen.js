// HTTP load generator for the benchmark. It runs inside a network namespace (the other
// workload), so its traffic takes the same path as a real client's: through the pod's nat
// rules. Keep-alive connections, `concurrency` requests in flight, a warm-up that is not
// counted, then a measured phase bounded by both time and request count.
//
//   node loadgen.js <url> [--concurrency N] [--duration ms] [--warmup ms] [--max-requests N]
//                         [--header "name: value"]... [--raw] [--h2] [--new-connections]
//
// With --h2, HTTP/2 with prior knowledge (h2c) over one connection, `concurrency` streams in flight.
// With --new-connections, a new connection for each request (`Connection: close`), so its cost is measured.
//
// Prints one JSON object: counts (measured and warm-up), req/s, latency percentiles (ms), how
// many answers each `x-served-by` value accounted for (so the caller can check who answered),
// and with --raw every measured latency (ms, to the µs), so runs can be merged.
'use strict';
const http = require('node:http');
const http2 = require('node:http2');
const net = require('node:net');

function parseArgs(argv) {
  const options = { url: '', concurrency: 1, duration: 3000, warmup: 500, maxRequests: 1_000_000, headers: {}, raw: false, h2: false, newConnections: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--concurrency') options.concurrency = Number(value());
    else if (arg === '--duration') options.duration = Number(value());
    else if (arg === '--warmup') options.warmup = Number(value());
    else if (arg === '--max-requests') options.maxRequests = Number(value());
    else if (arg === '--raw') options.raw = true;
    else if (arg === '--h2') options.h2 = true;
    else if (arg === '--new-connections') options.newConnections = true;
    else if (arg === '--header') {
      const line = value();
      const colon = line.indexOf(':');
      if (colon <= 0) throw new Error(`--header wants "name: value", got "${line}"`);
      options.headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    } else if (!arg.startsWith('--') && !options.url) options.url = arg;
    else throw new Error(`unknown argument ${arg}`);
  }
  if (!options.url) throw new Error('usage: loadgen.js <url> [--concurrency N] [--duration ms] [--warmup ms] [--max-requests N] [--header "k: v"] [--raw]');
  for (const key of ['concurrency', 'duration', 'warmup', 'maxRequests']) {
    if (!Number.isFinite(options[key]) || options[key] < 0) throw new Error(`--${key} must be a non-negative number`);
  }
  // Hard bounds, whatever the caller asks: a benchmark step never runs away.
  options.concurrency = Math.min(Math.max(1, Math.floor(options.concurrency)), 256);
  options.duration = Math.min(options.duration, 30_000);
  options.warmup = Math.min(options.warmup, 10_000);
  return options;
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

function once(agent, url, headers) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const req = http.request(url, { agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        resolve({ ok: res.statusCode === 200, ms, servedBy: String(res.headers['x-served-by'] ?? 'none') });
      });
      res.on('error', (error) => resolve({ ok: false, ms: 0, servedBy: 'error', error: error.message }));
    });
    req.setTimeout(5000, () => req.destroy(new Error('request timed out after 5 s')));
    req.on('error', (error) => resolve({ ok: false, ms: 0, servedBy: 'error', error: error.message }));
    req.end();
  });
}

/** One request on the HTTP/2 session, as once() answers. */
function onceH2(session, path, headers) {
  return new Promise((resolve) => {
    const started = process.hrtime.bigint();
    const stream = session.request({ ':path': path, ...headers });
    let answer = { ok: false, servedBy: 'none' };
    stream.on('response', (h) => (answer = { ok: h[':status'] === 200, servedBy: String(h['x-served-by'] ?? 'none') }));
    stream.on('data', () => undefined);
    stream.on('error', (error) => (answer = { ok: false, servedBy: 'error', error: error.message }));
    stream.on('close', () => resolve({ ...answer, ms: Number(process.hrtime.bigint() - started) / 1e6 }));
    stream.setTimeout(5000, () => stream.close(http2.constants.NGHTTP2_CANCEL));
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  const agent = new http.Agent({ keepAlive: !options.newConnections, maxSockets: options.concurrency });
  const url = new URL(options.url);
  const session = options.h2
    ? http2.connect(url.origin, { createConnection: () => net.connect({ host: url.hostname, port: Number(url.port), noDelay: true }) })
    : undefined;
  session?.on('error', () => undefined);
  const request = session ? () => onceH2(session, url.pathname + url.search, options.headers) : () => once(agent, options.url, options.headers);
  const latencies = [];
  const servedBy = {};
  let errors = 0;
  let firstError;
  let completed = 0;
  let warmupRequests = 0;
  let measuring = false;
  let measureStart = 0n;
  const start = process.hrtime.bigint();
  const warmupEnd = start + BigInt(Math.round(options.warmup * 1e6));
  const end = warmupEnd + BigInt(Math.round(options.duration * 1e6));

  async function worker() {
    for (;;) {
      const now = process.hrtime.bigint();
      if (now >= end || completed >= options.maxRequests) return;
      if (!measuring && now >= warmupEnd) {
        measuring = true;
        measureStart = now;
      }
      const counted = measuring;
      const answer = await request();
      if (!counted) {
        warmupRequests++;
        continue;
      }
      completed++;
      servedBy[answer.servedBy] = (servedBy[answer.servedBy] ?? 0) + 1;
      if (answer.ok) latencies.push(answer.ms);
      else {
        errors++;
        firstError ??= answer.error ?? `unexpected answer (${answer.servedBy})`;
      }
    }
  }

  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const seconds = measuring ? Number(process.hrtime.bigint() - measureStart) / 1e9 : 0;
  agent.destroy();
  session?.close();
  latencies.sort((a, b) => a - b);
  const mean = latencies.reduce((sum, ms) => sum + ms, 0) / (latencies.length || 1);
  const result = {
    url: options.url,
    concurrency: options.concurrency,
    requests: completed,
    warmupRequests,
    errors,
    firstError,
    seconds,
    rps: seconds > 0 ? latencies.length / seconds : 0,
    latencyMs: {
      mean,
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies.length ? latencies[latencies.length - 1] : 0,
    },
    servedBy,
  };
  if (options.raw) result.latencies = latencies.map((ms) => Math.round(ms * 1000) / 1000);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error) => {
  process.stderr.write(`loadgen: ${error.message}\n`);
  process.exit(2);
});
