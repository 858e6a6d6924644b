/**
 * The sidecar: an HTTP server on the pod's loopback answering the liveness probe, whose
 * WebSocket upgrades are sessions (sidecar/session-host.ts, loaded with the first of them). At
 * start it removes rules a crashed predecessor left; at stop it ends every session and removes
 * its own.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SidecarConfig } from './config';
import { healthListener, type Health } from './health';
import { DualStackIptables } from './incoming/dual-stack';
import { podHasIpv6 } from './incoming/pod-ipv6';
import type { Logger } from '../common/log';
import { LIMITS } from './limits';
import { MemoryReclaimer } from './memory';
import type { SessionHost } from './session-host';
import { Watchdog } from './watchdog';

export class Sidecar {
  private host?: Promise<SessionHost>;
  private loaded?: SessionHost;

  private constructor(
    private readonly config: SidecarConfig,
    private readonly log: Logger,
    private readonly server: http.Server,
    private readonly iptables: DualStackIptables,
    private readonly watchdog: Watchdog,
    private readonly memory: MemoryReclaimer,
    readonly port: number,
  ) {}

  static async start(config: SidecarConfig, log: Logger): Promise<Sidecar> {
    const iptables = new DualStackIptables(
      {
        chain: config.chain,
        log: log.child({ component: 'iptables' }),
        binary: config.iptables,
        keepClientAddress: config.keepClientAddress,
        mesh: config.mesh,
      },
      podHasIpv6(),
    );
    const watchdog = new Watchdog({
      stallMs: config.watchdogMs,
      onRecovered: () => restoreJump(iptables, log),
    });
    iptables.onJump = (exists) => (exists ? watchdog.arm(iptables.jumpRemovals()) : watchdog.disarm());
    await iptables.removeStale();
    const memory = new MemoryReclaimer(log.child({ component: 'memory' }));
    let sidecar: Sidecar | undefined;
    // Connections that never complete a request (nor upgrade) must not linger: a few seconds for the headers.
    const server = http.createServer(
      { headersTimeout: LIMITS.helloTimeoutMs, requestTimeout: LIMITS.helloTimeoutMs },
      healthListener(() => sidecar!.health()),
    );
    server.listen(config.agentPort, '127.0.0.1');
    try {
      await Promise.race([once(server, 'listening'), once(server, 'error').then(([error]) => Promise.reject(error))]);
    } catch (error) {
      watchdog.disarm();
      memory.stop();
      throw error;
    }
    const port = (server.address() as AddressInfo).port;
    sidecar = new Sidecar(config, log, server, iptables, watchdog, memory, port);
    server.on('upgrade', (request: http.IncomingMessage, socket: Duplex, head: Buffer) => sidecar!.upgrade(request, socket, head));
    log.info('sidecar listening', {
      address: `127.0.0.1:${port}`,
      appRoot: config.appRoot,
      mounts: config.appMounts,
      wholeRoot: config.wholeRoot,
      wholeContainer: config.wholeContainer,
      chain: config.chain,
      auth: config.auth.mode,
    });
    return sidecar;
  }

  /** Ends every session, removes every rule, stops listening. */
  async stop(reason = 'sidecar shutting down'): Promise<void> {
    const host = await this.host?.catch(() => undefined);
    await (host ? host.stop(reason) : this.iptables.removeAll());
    this.watchdog.disarm();
    this.memory.stop();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private health(): Health {
    return { sessions: this.loaded?.count ?? 0, opened: this.loaded?.opened ?? 0, loopDelayMs: this.watchdog.takeWorstDelayMs() };
  }

  private upgrade(request: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    this.host ??= import('./session-host').then(({ SessionHost }) => (this.loaded = new SessionHost(this.config, this.log, this.iptables, this.memory)));
    this.host.then(
      (host) => host.upgrade(request, socket, head),
      (error: Error) => {
        this.log.error(`sessions can't start: ${error.message}`);
        socket.destroy();
      },
    );
  }
}

/** Puts back the jump after a stall, trying again each second until it is back or no longer wanted. */
function restoreJump(iptables: DualStackIptables, log: Logger): void {
  iptables.restoreJump().catch((error: Error) => {
    log.error(`could not restore the jump after a stall (trying again in 1 s): ${error.message}`);
    setTimeout(() => restoreJump(iptables, log), 1000).unref();
  });
}
