import net from 'node:net';
import type { Subscription } from '../../protocol/messages';
import { createLogger } from '../../common/log';
import type { MirrorCapture } from './capture';
import type { Redirector } from './redirector';
import { IncomingRegistry } from './registry';
import type { IncomingSink } from './subscriber';

/** Records what the registry asks of the nat rules; fails `redirect` while `failing` is set. */
class FakeRedirector implements Redirector {
  readonly calls: string[] = [];
  /** port → the listener's port, for each REDIRECT in place */
  readonly redirects = new Map<number, number>();
  failing?: string;

  async removeStale(): Promise<void> {
    this.calls.push('removeStale');
  }

  async redirect(port: number, toPort: number): Promise<void> {
    if (this.failing) throw new Error(this.failing);
    this.calls.push(`redirect ${port}`);
    this.redirects.set(port, toPort);
  }

  async unredirect(port: number): Promise<void> {
    this.calls.push(`unredirect ${port}`);
    this.redirects.delete(port);
  }

  track(): void {}

  meshedPod = false;

  async meshed(): Promise<boolean> {
    return this.meshedPod;
  }

  async removeAll(): Promise<void> {
    this.calls.push('removeAll');
    this.redirects.clear();
  }
}

const sink = (id: string): IncomingSink => ({ id, answering: true, openIncoming: () => undefined, notice: () => undefined });

const PORT = 8080;
const AGENT_PORT = 61234;
const mirror: Subscription = { port: PORT, mode: 'mirror' };
const filteredMirror: Subscription = { port: PORT, mode: 'mirror', filter: { header: '^x-user: me$' } };
const filtered = (path: string): Subscription => ({ port: PORT, mode: 'steal', filter: { path } });
const unfiltered: Subscription = { port: PORT, mode: 'steal' };

/** Whether a TCP port on this machine is taken (by a listener of the registry's). */
async function listening(port: number): Promise<boolean> {
  const probe = net.createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(true));
    probe.listen(port, '0.0.0.0', () => probe.close(() => resolve(false)));
  });
}

describe('IncomingRegistry', () => {
  let redirector: FakeRedirector;
  let registry: IncomingRegistry;
  const sinks: IncomingSink[] = [];
  const session = (id: string) => {
    const created = sink(id);
    sinks.push(created);
    return created;
  };

  beforeEach(() => {
    redirector = new FakeRedirector();
    registry = new IncomingRegistry(
      redirector,
      createLogger('error', {}, () => true),
      [AGENT_PORT],
    );
  });
  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => registry.release(s)));
  });

  describe('port sharing, as the table of docs/protocol.md', () => {
    const already: Record<string, Subscription[]> = {
      nothing: [],
      mirrors: [mirror, filteredMirror],
      'filtered steals': [filtered('^/a'), filtered('^/b')],
      'an unfiltered steal': [unfiltered],
    };
    const wanted: Record<string, Subscription> = {
      mirror,
      'mirror with filter': filteredMirror,
      'steal with filter': filtered('^/c'),
      'steal without filter': unfiltered,
    };
    const table: [string, string, 'ok' | RegExp][] = [
      ['nothing', 'mirror', 'ok'],
      ['nothing', 'mirror with filter', 'ok'],
      ['nothing', 'steal with filter', 'ok'],
      ['nothing', 'steal without filter', 'ok'],
      ['mirrors', 'mirror', 'ok'],
      ['mirrors', 'mirror with filter', 'ok'],
      ['mirrors', 'steal with filter', /^port 8080 is mirrored by session held-0; a port is either mirrored or stolen, not both$/],
      ['mirrors', 'steal without filter', /^port 8080 is mirrored by session held-0; a port is either mirrored or stolen/],
      ['filtered steals', 'mirror', /^port 8080 is stolen by session held-0; a port is either mirrored or stolen/],
      ['filtered steals', 'mirror with filter', /^port 8080 is stolen by session held-0; a port is either mirrored or stolen/],
      ['filtered steals', 'steal with filter', 'ok'],
      ['filtered steals', 'steal without filter', /^port 8080 is stolen with HTTP filters by session held-0; an unfiltered steal would take its traffic/],
      ['an unfiltered steal', 'mirror', /^port 8080 is stolen by session held-0; a port is either mirrored or stolen/],
      ['an unfiltered steal', 'mirror with filter', /^port 8080 is stolen by session held-0; a port is either mirrored or stolen/],
      ['an unfiltered steal', 'steal with filter', /^port 8080 is already stolen without a filter by session held-0; an unfiltered steal is exclusive/],
      ['an unfiltered steal', 'steal without filter', /^port 8080 is already stolen without a filter by session held-0/],
    ];

    it.each(table)('%s on the port, then %s', async (row, column, verdict) => {
      const holders = already[row].map((subscription, i) => ({ sink: session(`held-${i}`), subscription }));
      for (const { sink: holder, subscription } of holders) await registry.subscribe(holder, subscription);
      const newcomer = session('newcomer');
      const subscribing = registry.subscribe(newcomer, wanted[column]);
      if (verdict === 'ok') {
        await subscribing;
        expect(registry.subscriptionsOf(newcomer)).toEqual([wanted[column]]);
      } else {
        await expect(subscribing).rejects.toMatchObject({ code: 'EPORTCONFLICT', message: expect.stringMatching(verdict) });
        expect(registry.subscriptionsOf(newcomer)).toEqual([]);
      }
      // Refused or not, the holders keep the port, and it is redirected once.
      for (const { sink: holder, subscription } of holders) expect(registry.subscriptionsOf(holder)).toEqual([subscription]);
      expect(redirector.calls).toEqual([`redirect ${PORT}`]);
    });
  });

  it('lets a session subscribe a port once, in whatever mode, until it unsubscribes', async () => {
    const one = session('one');
    await registry.subscribe(one, filtered('^/a'));
    for (const again of [filtered('^/b'), unfiltered, mirror]) {
      await expect(registry.subscribe(one, again)).rejects.toMatchObject({
        code: 'EPORTCONFLICT',
        message: 'this session already subscribed port 8080; unsubscribe it first',
      });
    }
    expect(registry.subscriptionsOf(one)).toEqual([filtered('^/a')]);
    expect(await registry.unsubscribe(one, PORT)).toBe(true);
    await registry.subscribe(one, mirror);
    expect(registry.subscriptionsOf(one)).toEqual([mirror]);
  });

  it('adds the REDIRECT with the first subscriber and removes it, and the listener, with the last', async () => {
    const [first, second] = [session('first'), session('second')];
    await registry.subscribe(first, mirror);
    expect(redirector.calls).toEqual([`redirect ${PORT}`]);
    const toPort = redirector.redirects.get(PORT)!;
    expect(await listening(toPort)).toBe(true);
    await registry.subscribe(second, mirror);
    expect(await registry.unsubscribe(first, PORT)).toBe(true);
    expect(redirector.calls).toEqual([`redirect ${PORT}`]);
    expect(await registry.unsubscribe(second, PORT)).toBe(true);
    expect(redirector.calls).toEqual([`redirect ${PORT}`, `unredirect ${PORT}`]);
    expect(await listening(toPort)).toBe(false);
    // The next first subscriber redirects the port again.
    await registry.subscribe(first, unfiltered);
    expect(redirector.calls).toEqual([`redirect ${PORT}`, `unredirect ${PORT}`, `redirect ${PORT}`]);
  });

  it('answers false to unsubscribing a port the session has not subscribed, and changes nothing', async () => {
    const [holder, other] = [session('holder'), session('other')];
    expect(await registry.unsubscribe(other, PORT)).toBe(false);
    await registry.subscribe(holder, mirror);
    expect(await registry.unsubscribe(other, PORT)).toBe(false);
    expect(await registry.unsubscribe(other, PORT + 1)).toBe(false);
    expect(registry.subscriptionsOf(holder)).toHaveLength(1);
    expect(redirector.calls).toEqual([`redirect ${PORT}`]);
  });

  it("releases every port of an ended session, and only that session's", async () => {
    const [leaving, staying] = [session('leaving'), session('staying')];
    await registry.subscribe(leaving, mirror);
    await registry.subscribe(leaving, { port: PORT + 1, mode: 'steal' });
    await registry.subscribe(staying, mirror);
    await registry.release(leaving);
    expect(registry.subscriptionsOf(leaving)).toEqual([]);
    expect(registry.subscriptionsOf(staying)).toHaveLength(1);
    expect(redirector.calls.sort()).toEqual([`redirect ${PORT}`, `redirect ${PORT + 1}`, `unredirect ${PORT + 1}`]);
  });

  it('refuses what no session may subscribe with EINVAL, touching no rule', async () => {
    const one = session('one');
    const invalid: [Subscription, RegExp][] = [
      [{ port: AGENT_PORT, mode: 'steal' }, /agent's own port/],
      [{ port: PORT, mode: 'mirror', filter: { header: '(?=x)' } }, /invalid header filter/],
      [filtered('('), /invalid path filter/],
    ];
    for (const [subscription, why] of invalid) {
      await expect(registry.subscribe(one, subscription)).rejects.toMatchObject({ code: 'EINVAL', message: expect.stringMatching(why) });
    }
    expect(redirector.calls).toEqual([]);
  });

  it('reports a REDIRECT that fails as EINTERNAL and leaves the port free for the next try', async () => {
    const one = session('one');
    redirector.failing = 'iptables: no chain';
    await expect(registry.subscribe(one, mirror)).rejects.toMatchObject({
      code: 'EINTERNAL',
      message: 'could not intercept port 8080: iptables: no chain',
    });
    expect(registry.subscriptionsOf(one)).toEqual([]);
    redirector.failing = undefined;
    await registry.subscribe(one, mirror);
    expect(redirector.calls).toEqual([`redirect ${PORT}`]);
  });

  it('clears stale rules at start and every rule at stop, through the redirector', async () => {
    await registry.start();
    await registry.stop();
    expect(redirector.calls).toEqual(['removeStale', 'removeAll']);
  });
});

/** Records what the registry asks of the capture; refuses every port while `failing` is set. */
class FakeCapture implements MirrorCapture {
  readonly calls: string[] = [];
  failing?: string;

  watch(port: number, loopbackOnly: boolean): void {
    if (this.failing) throw new Error(this.failing);
    this.calls.push(`watch ${port}${loopbackOnly ? ' loopback' : ''}`);
  }

  unwatch(port: number): void {
    this.calls.push(`unwatch ${port}`);
  }
}

describe('IncomingRegistry with a packet capture', () => {
  let redirector: FakeRedirector;
  let capture: FakeCapture;
  let registry: IncomingRegistry;
  const one = sink('one');
  const two = sink('two');

  beforeEach(() => {
    redirector = new FakeRedirector();
    capture = new FakeCapture();
    registry = new IncomingRegistry(
      redirector,
      createLogger('error', {}, () => true),
      [AGENT_PORT],
      new Map(),
      undefined,
      capture,
    );
  });
  afterEach(async () => {
    await registry.release(one);
    await registry.release(two);
  });

  it('copies a mirrored port by capture, with no REDIRECT, until its last mirror goes', async () => {
    await registry.subscribe(one, mirror);
    await registry.subscribe(two, filteredMirror);
    expect(capture.calls).toEqual([`watch ${PORT}`]);
    expect(redirector.calls).toEqual([]);
    await registry.unsubscribe(one, PORT);
    expect(capture.calls).toEqual([`watch ${PORT}`]);
    await registry.unsubscribe(two, PORT);
    expect(capture.calls).toEqual([`watch ${PORT}`, `unwatch ${PORT}`]);
    expect(redirector.calls).toEqual([]);
  });

  it('still redirects a stolen port', async () => {
    await registry.subscribe(one, unfiltered);
    expect(redirector.calls).toEqual([`redirect ${PORT}`]);
    expect(capture.calls).toEqual([]);
  });

  it("captures what a mesh's proxy hands the app over loopback in a pod with a mesh", async () => {
    redirector.meshedPod = true;
    await registry.subscribe(one, mirror);
    expect(capture.calls).toEqual([`watch ${PORT} loopback`]);
  });

  it('mirrors through the sidecar (a REDIRECT) where the pod allows no capture', async () => {
    capture.failing = 'socket(AF_PACKET): Operation not permitted';
    await registry.subscribe(one, mirror);
    expect(redirector.calls).toEqual([`redirect ${PORT}`]);
    await registry.unsubscribe(one, PORT);
    expect(redirector.calls).toEqual([`redirect ${PORT}`, `unredirect ${PORT}`]);
    expect(capture.calls).toEqual([]);
  });
});
