/**
 * Connection reuse for @kubernetes/client-node: it makes a new https.Agent for every request, so
 * every API call pays a TCP and TLS handshake (tens of ms on a loaded node). One keep-alive
 * agent per server and client certificate lets calls share connections. The client's agent
 * factory is private, so it is replaced on the instance; only types come from the library (an ES
 * module jest can't load), and a library without that factory is left as it is.
 */
import type { KubeConfig } from './kube-client';
import { Agent, type AgentOptions } from 'node:https';

type AgentFactory = (cluster: { server?: string; proxyUrl?: string } | null, options: AgentOptions) => unknown;

export function reuseConnections(config: KubeConfig): KubeConfig {
  const target = config as unknown as { createAgent?: AgentFactory };
  const original = target.createAgent?.bind(config);
  if (!original) return config;
  const agents = new Map<string, unknown>();
  target.createAgent = (cluster, options) => {
    // Through a proxy the library's own agent types are needed: left to it.
    if (!cluster?.server?.startsWith('https:') || cluster.proxyUrl) return original(cluster, options);
    const key = [cluster.server, options.ca, options.cert, options.key, options.pfx, options.rejectUnauthorized].map(String).join('\0');
    let agent = agents.get(key);
    if (!agent) agents.set(key, (agent = new Agent({ ...options, keepAlive: true, maxFreeSockets: 4 })));
    return agent;
  };
  return config;
}
