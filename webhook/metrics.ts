/**
 * The webhook's Prometheus metrics, rendered in the text exposition format (0.0.4). Few and
 * fixed, so a small registry here is simpler than a dependency.
 */
export type Outcome = 'injected' | 'skipped' | 'invalid' | 'error';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export class Metrics {
  private readonly requests = new Map<string, number>();
  private injections = 0;
  private readonly skips = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly bucketCounts = LATENCY_BUCKETS.map(() => 0);
  private latencyCount = 0;
  private latencySum = 0;

  /** One answered HTTP request to /mutate, by status code. */
  request(code: number): void {
    increment(this.requests, String(code));
  }

  injected(): void {
    this.injections++;
  }

  skipped(reason: string): void {
    increment(this.skips, reason);
  }

  /** kind: "invalid-request" (the caller's fault) or "internal" (ours). */
  error(kind: 'invalid-request' | 'internal' | 'certificates'): void {
    increment(this.errors, kind);
  }

  observeLatency(seconds: number): void {
    this.latencyCount++;
    this.latencySum += seconds;
    LATENCY_BUCKETS.forEach((bound, index) => {
      if (seconds <= bound) this.bucketCounts[index]++;
    });
  }

  render(): string {
    const lines: string[] = [];
    family(lines, 'mirrord_webhook_requests_total', 'counter', 'Admission requests answered, by HTTP status code.');
    for (const [code, value] of sorted(this.requests)) lines.push(`mirrord_webhook_requests_total{code="${code}"} ${value}`);
    family(lines, 'mirrord_webhook_injections_total', 'counter', 'Pods that got the mirrord sidecar.');
    lines.push(`mirrord_webhook_injections_total ${this.injections}`);
    family(lines, 'mirrord_webhook_skips_total', 'counter', 'Pods left unchanged, by reason.');
    for (const [reason, value] of sorted(this.skips)) lines.push(`mirrord_webhook_skips_total{reason="${escapeLabel(reason)}"} ${value}`);
    family(lines, 'mirrord_webhook_errors_total', 'counter', 'Errors, by kind.');
    for (const [kind, value] of sorted(this.errors)) lines.push(`mirrord_webhook_errors_total{kind="${kind}"} ${value}`);
    family(lines, 'mirrord_webhook_admission_duration_seconds', 'histogram', 'Time to answer an admission request.');
    LATENCY_BUCKETS.forEach((bound, index) => {
      lines.push(`mirrord_webhook_admission_duration_seconds_bucket{le="${bound}"} ${this.bucketCounts[index]}`);
    });
    lines.push(`mirrord_webhook_admission_duration_seconds_bucket{le="+Inf"} ${this.latencyCount}`);
    lines.push(`mirrord_webhook_admission_duration_seconds_sum ${this.latencySum}`);
    lines.push(`mirrord_webhook_admission_duration_seconds_count ${this.latencyCount}`);
    return `${lines.join('\n')}\n`;
  }
}

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function increment(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

function sorted(map: Map<string, number>): [string, number][] {
  return [...map.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function family(lines: string[], name: string, type: string, help: string): void {
  lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
