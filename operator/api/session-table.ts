/**
 * `kubectl get mirrordsessions` asks for a Table (`Accept: application/json;as=Table;…`): the
 * columns kubectl prints, one row per session, with each session's metadata for `-A`'s
 * NAMESPACE column and for `-o name`.
 */
import { age } from '../../common/age';
import type { MirrordSession } from '../../protocol/operator-api';

/** Whether the request asks for a Table (kubectl does; clients that want the objects don't). */
export function wantsTable(accept: string | undefined): boolean {
  return /as=Table/.test(accept ?? '');
}

const describePorts = (session: MirrordSession) =>
  session.spec.ports.map(({ port, mode, filter }) => `${port}/${mode}${filter ? '(filtered)' : ''}`).join(',') || '<none>';

export function sessionTable(sessions: readonly MirrordSession[], now = new Date()): object {
  const column = (name: string, description: string, format = '') => ({ name, type: 'string', format, description, priority: 0 });
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: {},
    columnDefinitions: [
      column('Name', 'The session id', 'name'),
      column('User', 'Who attached, as the API server authenticated them'),
      column('Pod', 'The pod whose sidecar holds the session'),
      column('Ports', 'Subscribed ports and modes'),
      column('Client', 'What attached'),
      column('Age', 'Since the session started'),
    ],
    rows: sessions.map((session) => ({
      cells: [
        session.metadata.name,
        session.spec.user ?? '<none>',
        session.spec.pod,
        describePorts(session),
        session.spec.client,
        age(session.metadata.creationTimestamp, now),
      ],
      object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: session.metadata },
    })),
  };
}
