/**
 * The local proxy: runs inside the mirrord CLI, holds the one session to the sidecar, and
 * answers the layer loaded into the user's process and all its children: a handler per operation
 * of the channel (channel.ts). See docs/intproxy.md for this folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientApi } from '../protocol/client';
import type { Logger } from '../common/log';
import { layerLibrary } from '../layer/library';
import { connectFromPod } from './outgoing';
import { isLoopback, isUnspecified } from './address-filter';
import { compileDnsFilter, type DnsFilter } from './dns-filter';
import { compileOutgoingFilter, filterNames, type OutgoingFilter } from './outgoing-filter';
import { eaiCode } from './errno';
import type { ChannelHandlers } from './channel';
import type { SyscallServices } from './syscalls/supervisor';
import { serveChannel } from './channel-server';
import { fileHandlers } from './file-requests';
import { RemoteFiles } from './files';
import { FsPolicy, type FsOptions } from './fs-policy';
import { IncomingPorts, type IncomingOptions } from './incoming';
import { ResolvedNames } from './resolved-names';

export interface LayerOptions {
  incoming: IncomingOptions;
  /** ignoreLocalhost: connections to loopback stay on this machine (mirrord's default is false: they reach the pod's). */
  outgoing: { tcp: boolean; udp: boolean; filter?: OutgoingFilter; ignoreLocalhost?: boolean };
  dns: boolean;
  /** Which names are resolved in the pod when `dns` is on (dns-filter.ts); absent: all of them. */
  dnsFilter?: DnsFilter;
  fs: FsOptions;
  /** The program sees the pod's host name (mirrord's feature.hostname, on by default). */
  hostname?: boolean;
}

export interface LayerProxy {
  /** Variables to add to the user's process environment (the preload layer's). */
  env: Record<string, string>;
  /** What the syscall mode's supervisor decides with: the same handlers the layer is answered by. */
  syscalls: SyscallServices;
  close(): Promise<void>;
}

/** Loopback, or unspecified (which connect() takes for this host). */
function isThisHost(address: string): boolean {
  return isLoopback(address) || isUnspecified(address);
}

export async function startLayerProxy(client: ClientApi, options: LayerOptions, log: Logger): Promise<LayerProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-'));
  const socketPath = join(dir, 'layer.sock');
  const goesRemote = compileOutgoingFilter(options.outgoing.filter);
  const resolvesInPod = options.dns ? compileDnsFilter(options.dnsFilter) : () => false;
  const names = new ResolvedNames();
  await names.learn(filterNames(options.outgoing.filter), resolvesInPod, async (name) => (await client.resolve(name)).map((a) => a.address));
  const incoming = new IncomingPorts(client, options.incoming, log);
  const files = new RemoteFiles(client, join(dir, 'files'), (text) => log.warn(text));
  const fs = new FsPolicy(options.fs, client.info.mounts, client.info.fsPaths);
  for (const pattern of fs.unanchored()) {
    log.warn(
      `feature.fs pattern "${pattern}" does not start with ^/…: every file the program opens is checked against it, which costs a round trip to this process; anchor it (e.g. "^/data/") to check only the paths it can match`,
    );
  }

  const handlers: ChannelHandlers = {
    connect: async ({ protocol, address, port }) => {
      if (isThisHost(address)) {
        // The program reaching a port it listens on itself: its real local port.
        const listener = protocol === 'tcp' ? incoming.listener(port) : undefined;
        if (listener !== undefined) return { kind: 'listener', localPort: listener };
        if (options.outgoing.ignoreLocalhost || !(protocol === 'tcp' ? options.outgoing.tcp : options.outgoing.udp)) return { kind: 'local' };
      }
      if (!goesRemote(protocol, address, port, names.namesOf(address))) return { kind: 'local' };
      return connectFromPod(client, protocol, address, port);
    },
    resolve: async ({ host, family }) => {
      if (!resolvesInPod(host)) return { kind: 'local' };
      try {
        const addresses = (await client.resolve(host, family)).map((a) => a.address);
        names.record(host, addresses);
        return addresses.length ? { kind: 'ok', addresses } : { kind: 'error', code: eaiCode('ENOTFOUND') };
      } catch (error) {
        return { kind: 'error', code: eaiCode((error as { code?: string }).code) };
      }
    },
    bind: ({ address, port }) => (incoming.intercepts(address, port) ? { kind: 'intercept' } : { kind: 'local' }),
    listen: ({ port, localPort }) => incoming.listen(port, localPort),
    peer: ({ localPort }) => incoming.peer(localPort),
    closed: ({ port }) => incoming.closed(port),
    flush: ({ copy }) => files.flush(copy),
    ...fileHandlers(files, fs),
  };
  const server = await serveChannel(socketPath, handlers, {
    unknown: (op) => log.warn(`the layer asked for "${op}", which this proxy does not know; the process does it locally`),
    failed: (error) => log.error(`layer request failed: ${error.message}`),
  });

  const preload = [layerLibrary(), process.env.LD_PRELOAD].filter(Boolean).join(':');
  const env: Record<string, string> = {
    LD_PRELOAD: preload,
    MIRRORD_LAYER_SOCKET: socketPath,
    MIRRORD_LAYER_INCOMING: options.incoming.mode === 'off' ? '0' : '1',
    MIRRORD_LAYER_OUTGOING_TCP: options.outgoing.tcp ? '1' : '0',
    MIRRORD_LAYER_OUTGOING_UDP: options.outgoing.udp ? '1' : '0',
    MIRRORD_LAYER_DNS: options.dns ? '1' : '0',
    MIRRORD_LAYER_IGNORE_LOCALHOST: options.outgoing.ignoreLocalhost ? '1' : '0',
    MIRRORD_LAYER_FS: options.fs.mode,
    MIRRORD_LAYER_REMOTE_PATHS: fs.layerPrefixes().join(':'),
  };
  // An older sidecar doesn't say; the program then keeps this machine's name.
  const hostname = options.hostname !== false ? client.info.hostname : undefined;
  if (hostname) env.MIRRORD_LAYER_HOSTNAME = hostname;
  return {
    env,
    syscalls: { handlers, dns: options.dns, dir, ...(hostname && { hostname }) },
    close: async () => {
      incoming.stop();
      await server.close();
      files.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
