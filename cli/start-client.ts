/** Opens the session over a transport, failing fast and explaining why when the agent isn't there. */
import { Client, type ClientOptions } from '../protocol/client';
import { CliError } from './errors';
import type { Transport } from './transport';

export const CONNECT_TIMEOUT_MS = 5000;

/** `hello`: the session's name in `sessions` listings, and what it may do to the pod's files. */
export async function startClient(
  transport: Omit<Transport, 'reopen'>,
  hello: Pick<ClientOptions, 'client' | 'fs' | 'ticket'>,
  timeoutMs = CONNECT_TIMEOUT_MS,
): Promise<Client> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const started = Client.start(transport.socket, hello);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new Error(`no answer within ${timeoutMs / 1000}s`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([started, timeout]);
  } catch (error) {
    // The losing attempt may still fail later; that is already reported here.
    started.then(
      (client) => client.close(),
      () => undefined,
    );
    const reason = (error as Error).message;
    const explanation = await transport.explain(!timedOut);
    transport.socket.terminate();
    transport.close();
    // A timeout is the real story even when the command printed something; an EPIPE is not.
    const text = timedOut ? [reason, explanation].filter(Boolean).join(': ') : (explanation ?? reason);
    throw new CliError(`could not reach the agent through ${transport.description}: ${oneLine(text)}`, transport.hint);
  } finally {
    clearTimeout(timer);
  }
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' | ').trim();
}
