/**
 * How the session reaches the sidecar. The Kubernetes port-forward that a target alone would
 * use comes with the cluster support; until then a command's stdio or a URL is required.
 */
import type WebSocket from 'ws';
import type { Settings } from '../config/resolve';
import { CliError, USAGE_EXIT } from '../errors';
import { connectThroughCommand, signalGroup, type CommandTransport } from './command';
import { connectToUrl } from './url';

export interface Transport {
  socket: WebSocket;
  /** For messages: "the agent command `…`" or the URL. */
  description: string;
  /**
   * What the transport saw go wrong, when it knows better than the socket's error (a write
   * to a command that exited fails with EPIPE; its exit status and stderr say why).
   */
  explain(waitForExit: boolean): Promise<string | undefined>;
  hint: string;
  close(): void;
}

export interface AgentChoice {
  command?: string;
  url?: string;
}

export function openTransport(agent: AgentChoice, target: Settings['target']): Transport {
  if (agent.command !== undefined) {
    const transport = connectThroughCommand(agent.command);
    return {
      socket: transport.socket,
      description: `the agent command \`${agent.command}\``,
      explain: (waitForExit) => explainCommand(transport, waitForExit),
      hint: "the command must connect its stdin/stdout to the sidecar's port, e.g. `ip netns exec POD socat - TCP:127.0.0.1:61234`; check that it works and that the sidecar runs",
      close: () => signalGroup(transport.child, 'SIGTERM'),
    };
  }
  if (agent.url !== undefined) {
    const socket = connectToUrl(agent.url);
    return {
      socket,
      description: agent.url,
      explain: async () => undefined,
      hint: "check that the sidecar's port is forwarded there, e.g. `kubectl port-forward pod/NAME 61234`",
      close: () => socket.terminate(),
    };
  }
  if (target) {
    throw new CliError(
      `cannot reach ${target.path}: the cluster transport (Kubernetes port-forward) isn't available yet`,
      'reach the sidecar with --agent-cmd CMD (e.g. `kubectl exec`/`ip netns exec … socat - TCP:127.0.0.1:61234`) or --agent-url ws://HOST:PORT',
      USAGE_EXIT,
    );
  }
  throw new CliError('nothing to attach to: no target and no agent', 'mirrord attach --agent-cmd CMD -- CMD ARGS, or --agent-url ws://HOST:PORT', USAGE_EXIT);
}

const EXIT_WAIT_MS = 500;

async function explainCommand({ child, stderr }: CommandTransport, waitForExit: boolean): Promise<string | undefined> {
  if (waitForExit && child.exitCode === null && child.signalCode === null) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, EXIT_WAIT_MS);
      child.once('exit', () => resolve(clearTimeout(timer)));
    });
  }
  const output = stderr().trim();
  if (child.exitCode !== null || child.signalCode !== null) {
    return `the command exited (${child.signalCode ?? `code ${child.exitCode}`})${output ? `: ${output}` : ' without output'}`;
  }
  return output || undefined;
}
