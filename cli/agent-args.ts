/** The flags that reach a sidecar directly, rather than through the target's pod: attach's and port-forward's. */
import { CliError, USAGE_EXIT } from './errors';

export const AGENT_OPTIONS = {
  'agent-cmd': { type: 'string' },
  'agent-url': { type: 'string' },
  'agent-netns': { type: 'string' },
} as const;

/** How to reach the sidecar: a command, a URL, a network namespace, or (none) the target's pod, `pod` picking one. */
export interface AgentChoice {
  command?: string;
  url?: string;
  /** `NAME[:PORT]`: the sidecar in a network namespace of this machine (cli/transport/netns.ts). */
  netns?: string;
  /** With a target: this pod of the workload rather than the one chosen. */
  pod?: string;
}

export function agentChoice(values: { 'agent-cmd'?: string; 'agent-url'?: string; 'agent-netns'?: string }, pod: string | undefined): AgentChoice {
  const given = (['agent-cmd', 'agent-url', 'agent-netns'] as const).filter((flag) => values[flag] !== undefined);
  if (given.length > 1) throw new CliError(`--${given.join(' and --')} exclude each other`, 'choose one way to reach the agent', USAGE_EXIT);
  return { command: values['agent-cmd'], url: values['agent-url'], netns: values['agent-netns'], pod };
}

/** Whether the sidecar is given directly: no cluster, so no operator, profiles or workload. */
export function agentGiven(agent: AgentChoice): boolean {
  return agent.command !== undefined || agent.url !== undefined || agent.netns !== undefined;
}
