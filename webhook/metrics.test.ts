import { Metrics } from './metrics';

it('renders counters by label and a cumulative latency histogram', () => {
  const metrics = new Metrics();
  metrics.request(200);
  metrics.request(200);
  metrics.request(400);
  metrics.injected();
  metrics.skipped('opted-out');
  metrics.error('invalid-request');
  metrics.observeLatency(0.003);
  metrics.observeLatency(0.2);
  const text = metrics.render();
  expect(text).toContain('mirrord_webhook_requests_total{code="200"} 2\n');
  expect(text).toContain('mirrord_webhook_requests_total{code="400"} 1\n');
  expect(text).toContain('mirrord_webhook_injections_total 1\n');
  expect(text).toContain('mirrord_webhook_skips_total{reason="opted-out"} 1\n');
  expect(text).toContain('mirrord_webhook_errors_total{kind="invalid-request"} 1\n');
  expect(text).toContain('mirrord_webhook_admission_duration_seconds_bucket{le="0.0025"} 0\n');
  expect(text).toContain('mirrord_webhook_admission_duration_seconds_bucket{le="0.005"} 1\n');
  expect(text).toContain('mirrord_webhook_admission_duration_seconds_bucket{le="0.25"} 2\n');
  expect(text).toContain('mirrord_webhook_admission_duration_seconds_bucket{le="+Inf"} 2\n');
  expect(text).toContain('mirrord_webhook_admission_duration_seconds_count 2\n');
  expect(text).toMatch(/# TYPE mirrord_webhook_admission_duration_seconds histogram/);
});
