/**
 * Files: the session's fs mode capped by the applying policies' `fs` patterns. The ticket's
 * `allow.fs` is one of `write`, `read`, `none` for every path, so a pattern that matches every
 * path becomes that mode (`readOnly` caps it at `read`; `local` and `notFound` at `none`: the pod's
 * files are never served), and the other patterns are returned for a ticket that can carry them.
 */
import type { TicketAllow } from '../../protocol/ticket';
import { re2Finds } from '../../protocol/ticket';
import type { NamedPolicy, SessionRequest } from './spec';

/** Patterns the ticket's `allow.fs` can't express, each list the union over the applying policies. */
export interface FsPatterns {
  readOnly: string[];
  local: string[];
  notFound: string[];
}

/**
 * Paths of every shape a pattern might single out. A pattern that matches all of them is taken to
 * match every path; one that singles out exactly these may be over-applied, never under-applied.
 */
const PROBES = [
  '/',
  '/etc/passwd',
  '/app/config/settings.yaml',
  '/var/run/secrets/kubernetes.io/serviceaccount/token',
  '/tmp/x',
  '/home/user/.cache/a b',
  '/proc/self/environ',
  '/Z9',
];

export function matchesEveryPath(pattern: string): boolean {
  return PROBES.every((path) => re2Finds(pattern, path));
}

const RANK = { none: 0, read: 1, write: 2 } as const;
const lower = (a: TicketAllow['fs'], b: TicketAllow['fs']) => (RANK[a] <= RANK[b] ? a : b);

export function fsAllow(policies: readonly NamedPolicy[], requested: SessionRequest['fs']): { fs: TicketAllow['fs']; fsPatterns: FsPatterns } {
  let fs: TicketAllow['fs'] = requested === 'local' ? 'none' : requested;
  const fsPatterns: FsPatterns = { readOnly: [], local: [], notFound: [] };
  for (const { spec } of policies) {
    for (const field of ['readOnly', 'local', 'notFound'] as const) {
      for (const pattern of spec.fs?.[field] ?? []) {
        if (matchesEveryPath(pattern)) fs = lower(fs, field === 'readOnly' ? 'read' : 'none');
        else if (!fsPatterns[field].includes(pattern)) fsPatterns[field].push(pattern);
      }
    }
  }
  return { fs, fsPatterns };
}
