/**
 * Files: the session's fs mode capped by the applying policies' `fs` patterns. A pattern that
 * matches every path caps the ticket's `allow.fs` (`readOnly` at `read`; `local` and `notFound` at
 * `none`: the pod's files are never served); the others become the ticket's path rules
 * (`allow.fsPaths`), which the sidecar checks on every file request.
 */
import type { TicketFsPaths } from '../../protocol/fs-paths';
import { re2Finds } from '../../protocol/re2';
import type { TicketAllow } from '../../protocol/ticket';
import type { NamedPolicy, SessionRequest } from './spec';

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

export function fsAllow(policies: readonly NamedPolicy[], requested: SessionRequest['fs']): { fs: TicketAllow['fs']; fsPaths: TicketFsPaths } {
  let fs: TicketAllow['fs'] = requested === 'local' ? 'none' : requested;
  const fsPaths: TicketFsPaths = { readOnly: [], local: [], notFound: [] };
  for (const { name, spec } of policies) {
    for (const field of ['readOnly', 'local', 'notFound'] as const) {
      for (const pattern of spec.fs?.[field] ?? []) {
        if (matchesEveryPath(pattern)) fs = lower(fs, field === 'readOnly' ? 'read' : 'none');
        else if (!fsPaths[field].some((rule) => rule.pattern === pattern)) fsPaths[field].push({ pattern, policy: name });
      }
    }
  }
  return { fs, fsPaths };
}
