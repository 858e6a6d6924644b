import { age, describeSubscription, formatSessions, fromSessionList, sessionsJson, type PodSessions } from './sessions-view';

const now = new Date('2026-06-01T12:00:00Z');
const pods: PodSessions[] = [
  {
    namespace: 'shop',
    pod: 'web-1',
    sessions: [
      {
        id: 'a1b2c3d4',
        client: 'mirrord attach (ana@laptop, pid 7)',
        since: '2026-06-01T11:57:00.000Z',
        subscriptions: [
          { port: 80, mode: 'steal', filter: { path: '^/api' } },
          { port: 9090, mode: 'mirror' },
        ],
      },
      { id: 'self0000', client: 'mirrord sessions', since: '2026-06-01T12:00:00.000Z', subscriptions: [] },
    ],
  },
  { namespace: 'shop', pod: 'web-2', sessions: [{ id: 'e5f6a7b8', client: '', since: '2026-06-01T11:59:30.000Z', subscriptions: [] }] },
  { namespace: 'shop', pod: 'web-3', error: 'cannot port-forward to pod shop/web-3: 403' },
];

describe('sessions', () => {
  it('describes subscriptions and ages', () => {
    expect(describeSubscription({ port: 80, mode: 'steal', filter: { header: '^x-user: a$', method: 'GET' } })).toBe('80/steal[header=^x-user: a$,method=GET]');
    expect(describeSubscription({ port: 8080, mode: 'mirror' })).toBe('8080/mirror');
    expect([age('2026-06-01T11:59:58Z', now), age('2026-06-01T11:50:00Z', now), age('2026-06-01T09:30:00Z', now), age('2026-05-29T12:00:00Z', now)]).toEqual([
      '2s',
      '10m',
      '2h30m',
      '3d',
    ]);
  });

  it('prints one row per session, leaving out its own, and the pods it could not ask', () => {
    expect(formatSessions(pods, now, new Set(['self0000']))).toBe(
      'ID        POD         CLIENT                              PORTS                             MODE          SINCE\n' +
        'a1b2c3d4  shop/web-1  mirrord attach (ana@laptop, pid 7)  80/steal[path=^/api] 9090/mirror  steal+mirror  2026-06-01T11:57:00.000Z (3m)\n' +
        'e5f6a7b8  shop/web-2  -                                   -                                 -             2026-06-01T11:59:30.000Z (30s)\n' +
        'pod shop/web-3: cannot port-forward to pod shop/web-3: 403\n',
    );
    expect(formatSessions([{ namespace: 'shop', pod: 'web-1', sessions: [] }], now)).toBe('no active sessions\n');
  });

  it("shows who attached where the sidecars know (they require the operator's tickets)", () => {
    const withUsers: PodSessions[] = [
      {
        namespace: 'shop',
        pod: 'web-1',
        sessions: [
          { id: 'a1b2c3d4', user: 'ana@example.com', client: 'mirrord attach', since: '2026-06-01T11:57:00.000Z', subscriptions: [] },
          { id: 'b2c3d4e5', client: 'old', since: '2026-06-01T11:58:00.000Z', subscriptions: [] },
        ],
      },
    ];
    expect(formatSessions(withUsers, now)).toBe(
      'ID        POD         USER             CLIENT          PORTS  MODE  SINCE\n' +
        'a1b2c3d4  shop/web-1  ana@example.com  mirrord attach  -      -     2026-06-01T11:57:00.000Z (3m)\n' +
        'b2c3d4e5  shop/web-1  -                old             -      -     2026-06-01T11:58:00.000Z (2m)\n',
    );
  });

  it('JSON keeps the structure, without its own session', () => {
    const parsed = JSON.parse(sessionsJson(pods, new Set(['self0000'])));
    expect(parsed.pods).toHaveLength(3);
    expect(parsed.pods[0].sessions.map((s: { id: string }) => s.id)).toEqual(['a1b2c3d4']);
    expect(parsed.pods[0].sessions[0].subscriptions[0]).toEqual({ port: 80, mode: 'steal', filter: { path: '^/api' } });
    expect(parsed.pods[2]).toEqual({ namespace: 'shop', pod: 'web-3', error: 'cannot port-forward to pod shop/web-3: 403' });
  });

  it("groups the operator's list by pod, and keeps the pods it could not ask", () => {
    const item = (name: string, pod: string) => ({
      apiVersion: 'operator.mirrord.dev/v1' as const,
      kind: 'MirrordSession' as const,
      metadata: { name, namespace: 'shop', creationTimestamp: '2026-06-01T11:57:00.000Z' },
      spec: { pod, user: 'ana', client: 'mirrord attach', ports: [{ port: 80, mode: 'steal' as const }] },
    });
    expect(
      fromSessionList({
        apiVersion: 'operator.mirrord.dev/v1',
        kind: 'MirrordSessionList',
        metadata: {},
        items: [item('a1', 'web-1'), item('b2', 'web-2'), item('c3', 'web-1')],
        unreachable: [{ namespace: 'shop', pod: 'web-3', reason: 'did not answer within 5 s' }],
      }),
    ).toEqual([
      {
        namespace: 'shop',
        pod: 'web-1',
        sessions: ['a1', 'c3'].map((id) => ({
          id,
          user: 'ana',
          client: 'mirrord attach',
          since: '2026-06-01T11:57:00.000Z',
          subscriptions: [{ port: 80, mode: 'steal' }],
        })),
      },
      {
        namespace: 'shop',
        pod: 'web-2',
        sessions: [{ id: 'b2', user: 'ana', client: 'mirrord attach', since: '2026-06-01T11:57:00.000Z', subscriptions: [{ port: 80, mode: 'steal' }] }],
      },
      { namespace: 'shop', pod: 'web-3', error: 'did not answer within 5 s' },
    ]);
  });
});
