/**
 * Users of the test cluster as a team has them: each with a client certificate signed by the
 * cluster's CA (through the CertificateSigningRequest API, so kind and the assembled cluster
 * alike), in groups, with a kubeconfig of their own. What they may do is RBAC's business.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kubectl } from './cluster';
import { eventually } from './mirrord';

export interface TestUser {
  name: string;
  kubeconfig: string;
}

export async function makeUser(name: string, groups: string[]): Promise<TestUser> {
  const dir = mkdtempSync(join(tmpdir(), `mirrord-user-${name}-`));
  const subject = `/CN=${name}${groups.map((group) => `/O=${group}`).join('')}`;
  execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-subj', subject, '-out', join(dir, 'csr.pem')], {
    stdio: 'ignore',
  });
  const csrName = `${name}-${process.pid}`;
  await kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'certificates.k8s.io/v1',
      kind: 'CertificateSigningRequest',
      metadata: { name: csrName },
      spec: {
        request: readFileSync(join(dir, 'csr.pem')).toString('base64'),
        signerName: 'kubernetes.io/kube-apiserver-client',
        expirationSeconds: 3600,
        usages: ['client auth'],
      },
    }),
  });
  await kubectl(['certificate', 'approve', csrName]);
  const certificate = await eventually(async () => {
    const issued = (await kubectl(['get', 'csr', csrName, '-o', 'jsonpath={.status.certificate}'])).trim();
    if (!issued) throw new Error(`CSR ${csrName} has no certificate yet`);
    return issued;
  }, 60_000);
  await kubectl(['delete', 'csr', csrName, '--ignore-not-found']);
  const admin = JSON.parse(await kubectl(['config', 'view', '--raw', '--minify', '-o', 'json'])) as {
    clusters: { name: string; cluster: { server: string; 'certificate-authority-data': string } }[];
  };
  const { server, 'certificate-authority-data': ca } = admin.clusters[0].cluster;
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority-data': ca } }],
      users: [{ name, user: { 'client-certificate-data': certificate, 'client-key-data': readFileSync(join(dir, 'key.pem')).toString('base64') } }],
      contexts: [{ name, context: { cluster: 'test', user: name } }],
      'current-context': name,
    }),
  );
  return { name, kubeconfig };
}
