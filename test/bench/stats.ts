/** Number formatting and plain-text tables for the benchmark's report. */

/** What test/bench/loadgen.js prints. */
export interface LoadResult {
  url: string;
  concurrency: number;
  requests: number;
  /** Requests completed during the warm-up, not counted in the figures. */
  warmupRequests: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rps: number;
  latencyMs: { mean: number; p50: number; p90: number; p99: number; max: number };
  servedBy: Record<string, number>;
  /** Every measured latency, ms (loadgen.js --raw). */
  latencies?: number[];
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Several runs of the same step as one: requests and time add up, percentiles over all latencies. */
export function mergeLoads(results: LoadResult[]): LoadResult {
  const latencies = results.flatMap((result) => result.latencies ?? []).sort((a, b) => a - b);
  if (!results.length || latencies.length !== results.reduce((sum, result) => sum + result.requests - result.errors, 0)) {
    throw new Error('mergeLoads needs the raw latencies of every run (loadgen.js --raw)');
  }
  const seconds = results.reduce((sum, result) => sum + result.seconds, 0);
  const servedBy: Record<string, number> = {};
  for (const result of results) for (const [by, n] of Object.entries(result.servedBy)) servedBy[by] = (servedBy[by] ?? 0) + n;
  return {
    url: results[0]!.url,
    concurrency: results[0]!.concurrency,
    requests: results.reduce((sum, result) => sum + result.requests, 0),
    warmupRequests: results.reduce((sum, result) => sum + result.warmupRequests, 0),
    errors: results.reduce((sum, result) => sum + result.errors, 0),
    seconds,
    rps: latencies.length / seconds,
    latencyMs: {
      mean: mean(latencies),
      p50: percentile(latencies, 50),
      p90: percentile(latencies, 90),
      p99: percentile(latencies, 99),
      max: latencies[latencies.length - 1]!,
    },
    servedBy,
    latencies,
  };
}

export function median(values: number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

export function mean(values: number[]): number {
  return values.length ? values.reduce((sum, value) => sum + value, 0) / values.length : NaN;
}

/** `digits` decimals, or a dash for a missing value. */
export function fixed(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '—' : value.toFixed(digits);
}

export function signedMs(value: number): string {
  return `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(2)} ms`;
}

export function percent(ratio: number, digits = 0): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(digits)}%` : '—';
}

export function count(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

export function mib(kib: number): string {
  return Number.isFinite(kib) ? `${(kib / 1024).toFixed(1)} MiB` : '—';
}

/** The figures every load table shows first: requests, req/s, p50 and p99 ms. */
export function loadCells(result: LoadResult): string[] {
  return [count(result.requests), count(result.rps), fixed(result.latencyMs.p50, 3), fixed(result.latencyMs.p99, 3)];
}

/** A plain-text table: first column left-aligned, the others right-aligned. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** "met" / "MISSED" for a target line. */
export function verdict(ok: boolean): string {
  return ok ? 'met' : 'MISSED';
}
