/** What `mirrord sessions` shows: each sidecar's sessions, as a table or as JSON. Pure. */
import type { Result } from '../../protocol/messages';
import type { MirrordSessionList } from '../../protocol/operator-api';
import { age } from '../../common/age';
import { renderTable } from '../table';

export type SidecarSession = Result<'sessions'>['sessions'][number];

export interface PodSessions {
  namespace: string;
  pod: string;
  /** The sessions on this pod's sidecar, or why they could not be listed. */
  sessions?: SidecarSession[];
  error?: string;
}

/** A subscription as one word: `80/steal`, `80/steal[path=^/api]`, `8080/mirror`. */
export function describeSubscription(s: SidecarSession['subscriptions'][number]): string {
  const filter = s.filter
    ? `[${Object.entries(s.filter)
        .map(([k, v]) => `${k}=${v}`)
        .join(',')}]`
    : '';
  return `${s.port}/${s.mode}${filter}`;
}

export { age };

/**
 * `self` is the listing's own session (it is one too); it is left out, since it ends with the
 * command. The mode column says what the session takes: steal, mirror, both, or none.
 */
export function formatSessions(pods: PodSessions[], now: Date, self: Set<string> = new Set()): string {
  const rows: string[][] = [];
  const problems: string[] = [];
  // A USER column where the sidecars know (they require the operator's tickets).
  const withUser = pods.some((p) => p.sessions?.some((s) => s.user !== undefined));
  for (const p of pods) {
    if (p.error) problems.push(`pod ${p.namespace}/${p.pod}: ${p.error}\n`);
    for (const s of (p.sessions ?? []).filter((s) => !self.has(s.id))) {
      const modes = [...new Set(s.subscriptions.map((x) => x.mode))];
      rows.push([
        s.id,
        `${p.namespace}/${p.pod}`,
        ...(withUser ? [s.user ?? '-'] : []),
        s.client || '-',
        s.subscriptions.map(describeSubscription).join(' ') || '-',
        modes.length ? modes.join('+') : '-',
        `${s.since} (${age(s.since, now)})`,
      ]);
    }
  }
  const table = rows.length ? renderTable(['ID', 'POD', ...(withUser ? ['USER'] : []), 'CLIENT', 'PORTS', 'MODE', 'SINCE'], rows) : 'no active sessions\n';
  return table + problems.join('');
}

export function sessionsJson(pods: PodSessions[], self: Set<string> = new Set()): string {
  const out = pods.map((p) => ({ ...p, ...(p.sessions ? { sessions: p.sessions.filter((s) => !self.has(s.id)) } : {}) }));
  return JSON.stringify({ pods: out }, null, 2) + '\n';
}

/** The operator's list as the listing's pods: one entry per pod with sessions, and one per pod it could not ask. */
export function fromSessionList(list: MirrordSessionList): PodSessions[] {
  const pods = new Map<string, PodSessions>();
  for (const item of list.items) {
    const key = `${item.metadata.namespace}/${item.spec.pod}`;
    const entry = pods.get(key) ?? { namespace: item.metadata.namespace, pod: item.spec.pod, sessions: [] };
    entry.sessions!.push({
      id: item.metadata.name,
      client: item.spec.client,
      ...(item.spec.user !== undefined && { user: item.spec.user }),
      since: item.metadata.creationTimestamp,
      subscriptions: item.spec.ports,
    });
    pods.set(key, entry);
  }
  return [...pods.values(), ...(list.unreachable ?? []).map(({ namespace, pod, reason }) => ({ namespace, pod, error: reason }))];
}
