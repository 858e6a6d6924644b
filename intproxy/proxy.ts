/**
 * The local proxy: runs inside the mirrord CLI, holds the one session to the sidecar, and
 * answers the layer loaded into the user's process and all its children. See
 * docs/layer.md for the line protocol between the two, and docs/intproxy.md for this folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session } from '../protocol/client';
import type { Logger } from '../sidecar/log';
import { layerLibrary } from '../layer/library';
import { connectTcp, connectUdp } from './outgoing';
import { isLoopback } from './address-filter';
import { compileDnsFilter, type DnsFilter } from './dns-filter';
import { compileOutgoingFilter, filterNames, type OutgoingFilter } from './outgoing-filter';
import { eaiCode } from './errno';
import { answerFileRequest, isFileRequest } from './file-requests';
import { RemoteFiles } from './files';
import { FsPolicy, type FsOptions } from './fs-policy';
import { IncomingPorts, type IncomingOptions } from './incoming';
import { serveLines } from './line-server';
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
  /** Variables to add to the user's process environment. */
  env: Record<string, string>;
  close(): Promise<void>;
}

/** Loopback, or unspecified (which connect() takes for this host). */
function isThisHost(address: string): boolean {
  return isLoopback(address) || address === '0.0.0.0' || address === '::';
}

export async function startLayerProxy(client: Session, options: LayerOptions, log: Logger): Promise<LayerProxy> {
  const dir = mkdtempSync(join(tmpdir(), 'mirrord-'));
  const socketPath = join(dir, 'layer.sock');
  const goesRemote = compileOutgoingFilter(options.outgoing.filter);
  const resolvesInPod = options.dns ? compileDnsFilter(options.dnsFilter) : () => false;
  const names = new ResolvedNames();
  await names.learn(filterNames(options.outgoing.filter), resolvesInPod, async (name) => (await client.resolve(name)).map((a) => a.address));
  const incoming = new IncomingPorts(client, options.incoming, log);
  const files = new RemoteFiles(client, join(dir, 'files'));
  const fs = new FsPolicy(options.fs, client.info.mounts);
  for (const pattern of fs.unanchored()) {
    log.warn(`feature.fs pattern "${pattern}" does not start with ^/…: every file the program opens is checked against it, which costs a round trip to this process; anchor it (e.g. "^/data/") to check only the paths it can match`);
  }

  const handle = async ([op, ...args]: string[]): Promise<string> => {
    if (isFileRequest(op)) return answerFileRequest(op, args, files, fs);
    switch (op) {
      case 'connect': {
        const [protocol, address, portText] = args;
        const port = Number(portText);
        if (isThisHost(address)) {
          // The program reaching a port it listens on itself: its real local port.
          const listener = protocol === 'tcp' ? incoming.listener(port) : undefined;
          if (listener !== undefined) return `listener\t${listener}`;
          if (options.outgoing.ignoreLocalhost || !(protocol === 'tcp' ? options.outgoing.tcp : options.outgoing.udp)) return 'local';
        }
        if (!goesRemote(protocol === 'udp' ? 'udp' : 'tcp', address, port, names.namesOf(address))) return 'local';
        return protocol === 'udp' ? connectUdp(client, address, port) : connectTcp(client, address, port);
      }
      case 'resolve': {
        const [host, family] = args;
        if (!resolvesInPod(host)) return 'local';
        try {
          const addresses = (await client.resolve(host, Number(family) as 0 | 4 | 6)).map((a) => a.address);
          names.record(host, addresses);
          return addresses.length ? `ok\t${addresses.join(',')}` : `error\t${eaiCode('ENOTFOUND')}`;
        } catch (error) {
          return `error\t${eaiCode((error as { code?: string }).code)}`;
        }
      }
      case 'bind':
        return incoming.intercepts(args[0], Number(args[1])) ? 'intercept' : 'local';
      case 'listen':
        return incoming.listen(Number(args[0]), Number(args[1]));
      case 'peer':
        return incoming.peer(Number(args[0]));
      case 'closed':
        return incoming.closed(Number(args[0]));
      case 'flush':
        return files.flush(args[0]);
      default:
        log.warn(`the layer asked for "${op}", which this proxy does not know; the process does it locally`);
        return 'local';
    }
  };
  const server = await serveLines(socketPath, handle, (error) => log.error(`layer request failed: ${error.message}`));

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
  if (options.hostname !== false && client.info.hostname) env.MIRRORD_LAYER_HOSTNAME = client.info.hostname;
  return {
    env,
    close: async () => {
      incoming.stop();
      await server.close();
      files.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
