import { appHttpProbes } from './app-probes';

describe("the app's HTTP probes", () => {
  it('takes each distinct port and path of the httpGet probes of scheme HTTP, named ports resolved', () => {
    expect(
      appHttpProbes({
        name: 'app',
        ports: [{ name: 'http', containerPort: 8080 }],
        livenessProbe: { httpGet: { path: '/healthz', port: 'http' } },
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        startupProbe: { httpGet: { path: 'started?full=1', port: '9090', scheme: 'HTTP' } },
      }),
    ).toEqual([
      { port: 8080, path: '/healthz' },
      { port: 9090, path: '/started?full=1' },
    ]);
  });

  it('leaves out HTTPS, exec and tcpSocket probes, and a port name the container lacks', () => {
    expect(
      appHttpProbes({
        name: 'app',
        livenessProbe: { httpGet: { path: '/', port: 8443, scheme: 'HTTPS' } },
        readinessProbe: { exec: { command: ['true'] } },
        startupProbe: { httpGet: { port: 'missing' } },
      }),
    ).toEqual([]);
    expect(appHttpProbes({ name: 'app', livenessProbe: { tcpSocket: { port: 8080 } } })).toEqual([]);
  });
});
