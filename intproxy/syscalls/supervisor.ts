/**
 * The syscall mode's supervisor: each call a program started under the launcher traps
 * (layer/syscall/trapped.h) comes here, is decided with the same handlers that answer the
 * preload layer (a connect from the pod, a pod file, a subscribed port), and is answered: run
 * as the program made it (`continue`), returned (`value`, or `errno`), or returned as a
 * descriptor put into the program (`fd`: a socket or a copy of a pod file). A call that fails
 * to be decided runs as the program made it, as the layer does with a request that fails.
 */
import { closeSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import type { Notification, SyscallNative } from '../../layer/syscall/native';
import type { Logger } from '../../common/log';
import type { ChannelHandlers } from '../channel';
import { CONTINUE, type Answer, type CallHandler } from './answer';
import { FileCalls } from './files';
import { hostnameCalls, hostnameFiles } from './hostname';
import { PodResolver, RESOLVER_ADDRESS, resolverFiles } from './resolver';
import { SocketCalls } from './sockets';
import { WrittenCopies } from './written-copies';

/** What the supervisor decides with: the local proxy's handlers, and where it may keep files. */
export interface SyscallServices {
  handlers: ChannelHandlers;
  /** feature.network.dns: a program's own resolver asks the pod (resolver.ts). */
  dns: boolean;
  /** A directory of the proxy's, removed with it. */
  dir: string;
  /** The pod's host name, when the program is to see it (feature.hostname). */
  hostname?: string;
}

export class SyscallSupervisor {
  private readonly byNumber = new Map<number, CallHandler>();
  private readonly written: WrittenCopies;
  private notifyFd = -1;

  private constructor(
    private readonly native: SyscallNative,
    services: SyscallServices,
    private readonly resolver: PodResolver | undefined,
    private readonly log: Logger,
  ) {
    // The files the program reads instead of this machine's: the resolver's, the host name's.
    const files = mkdtempSync(join(services.dir, 'syscalls-'));
    this.written = new WrittenCopies(native, services.handlers.flush);
    const replacements = new Map([...(resolver ? resolverFiles(files) : []), ...hostnameFiles(files, services.hostname)]);
    const nameServer = resolver && { address: RESOLVER_ADDRESS, udpPort: resolver.udpPort, tcpPort: resolver.tcpPort };
    const handlers: Record<string, CallHandler> = {
      ...new SocketCalls(native, services.handlers, nameServer).calls(),
      ...new FileCalls(native, services.handlers, this.written, replacements).calls(),
      ...(services.hostname !== undefined && hostnameCalls(native, services.hostname)),
    };
    for (const [name, handle] of Object.entries(handlers)) {
      const number = native.calls[name];
      if (number !== undefined) this.byNumber.set(number, handle);
    }
  }

  static async start(native: SyscallNative, services: SyscallServices, log: Logger): Promise<SyscallSupervisor> {
    const resolver = services.dns ? await PodResolver.start(services.handlers.resolve) : undefined;
    return new SyscallSupervisor(native, services, resolver, log);
  }

  /** Takes the notification descriptor `fd` of the launcher `pid`; throws when it can't. */
  supervise(pid: number, fd: number): void {
    const taken = this.native.supervise(pid, fd, (call) => {
      if (call) return void this.answer(call);
      closeSync(this.notifyFd);
      // Answers decided later (a wait that ends after the program) go nowhere, not to a reused number.
      this.notifyFd = -1;
      this.resolver?.close();
    });
    if (taken < 0) throw new Error(`could not take the program's seccomp descriptor: errno ${-taken}`);
    this.notifyFd = taken;
  }

  /** Once the program has ended: its writes to pod files are back in the pod. */
  settle(): Promise<void> {
    return this.written.settle();
  }

  private async answer(call: Notification): Promise<void> {
    const handle = this.byNumber.get(call.nr);
    let answer = CONTINUE;
    try {
      if (handle) answer = await handle(call);
    } catch (error) {
      this.log.error(`system call ${call.nr} of process ${call.pid} could not be decided; it runs as made: ${(error as Error).message}`);
    }
    this.send(call, answer);
  }

  private send(call: Notification, answer: Answer): void {
    const { native, notifyFd } = this;
    if (notifyFd < 0) {
      if (answer.kind === 'fd') closeSync(answer.fd);
      return;
    }
    if (answer.kind === 'fd') {
      const result = native.addFd(notifyFd, call.id, answer.fd, answer.cloexec);
      closeSync(answer.fd);
      if (result >= 0 || result === -2 /* ENOENT: the caller is gone */) return;
      return void native.respond(notifyFd, call.id, 0, result, false);
    }
    if (answer.kind === 'continue') native.respond(notifyFd, call.id, 0, 0, true);
    else if (answer.kind === 'value') native.respond(notifyFd, call.id, answer.value, 0, false);
    else native.respond(notifyFd, call.id, 0, -answer.errno, false);
  }
}
