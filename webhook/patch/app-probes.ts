/**
 * The app container's HTTP probes, for the sidecar: kubelet's liveness, readiness and startup
 * requests must always reach the app, or a stolen port (a breakpoint, a slow laptop) would get
 * the pod restarted or taken out of its Service.
 */
import type { V1Container, V1Probe } from '../../common/kube-client';

export interface HttpProbe {
  port: number;
  /** The request's path as kubelet sends it (with its query, if the probe has one). */
  path: string;
}

/** Each distinct port and path of the app's `httpGet` probes of scheme HTTP (HTTPS ones can't be told apart from other requests). */
export function appHttpProbes(app: V1Container): HttpProbe[] {
  const probes: HttpProbe[] = [];
  for (const probe of [app.livenessProbe, app.readinessProbe, app.startupProbe]) {
    const found = httpProbe(app, probe);
    if (found && !probes.some((p) => p.port === found.port && p.path === found.path)) probes.push(found);
  }
  return probes;
}

function httpProbe(app: V1Container, probe: V1Probe | undefined): HttpProbe | undefined {
  const get = probe?.httpGet;
  if (!get || (get.scheme ?? 'HTTP').toUpperCase() !== 'HTTP') return undefined;
  const named = String(get.port);
  // A named port is one of the container's; a number may come as a string.
  const port = /^\d+$/.test(named) ? Number(named) : app.ports?.find((p) => p.name === named)?.containerPort;
  if (port === undefined) return undefined;
  const path = get.path || '/';
  return { port, path: path.startsWith('/') ? path : `/${path}` };
}
