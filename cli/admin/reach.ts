/** API failures of the cluster commands, as one line saying what to do. */
import { CliError } from '../errors';
import { statusOf, type Kube } from '../kube/cluster';

export async function explainUnreachable<T>(kube: Kube, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CliError) throw error;
    const status = statusOf(error);
    if (status === 401 || status === 403) {
      throw new CliError(`the API server refused (HTTP ${status}): ${firstLine(error)}`, 'check your credentials and RBAC: kubectl auth can-i --list');
    }
    const server = kube.config.getCurrentCluster()?.server ?? 'the API server';
    if (status !== undefined)
      throw new CliError(`the API server at ${server} answered HTTP ${status}: ${firstLine(error)}`, 'mirrord doctor checks the usual causes');
    throw new CliError(
      `cannot reach the Kubernetes API at ${server}: ${firstLine(error)}`,
      'check the context (kubectl config current-context) and that the cluster is up',
    );
  }
}

function firstLine(error: unknown): string {
  const body = (error as { body?: unknown }).body;
  const message = typeof body === 'string' ? (/"message":"([^"]+)"/.exec(body)?.[1] ?? body) : (error as Error).message;
  return String(message).split('\n')[0].slice(0, 300);
}
