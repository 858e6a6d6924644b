/**
 * The request-header (front-proxy) settings the API server publishes for aggregated API servers,
 * in the `extension-apiserver-authentication` ConfigMap of `kube-system` (k8s.io/apiserver's
 * RequestHeaderAuthenticationOptions read the same keys).
 */
import { X509Certificate } from 'node:crypto';

export interface RequestHeaderConfig {
  /** The CAs that sign the front proxy's client certificates, PEM. */
  caPem: string;
  /** Common names a front-proxy certificate may carry; empty means any certificate of those CAs. */
  allowedNames: string[];
  usernameHeaders: string[];
  groupHeaders: string[];
  extraHeaderPrefixes: string[];
}

const CA_KEY = 'requestheader-client-ca-file';

/**
 * The ConfigMap's data as a RequestHeaderConfig; throws an Error naming the key at fault. A list
 * that is absent, empty or `null` is empty; `requestheader-uid-headers` is not read: nothing
 * here identifies a user by uid.
 */
export function parseRequestHeaderConfig(data: Record<string, string> | undefined): RequestHeaderConfig {
  const caPem = data?.[CA_KEY];
  if (caPem === undefined || caPem.trim() === '') throw new Error(`${CA_KEY} is missing: the request-header CA is what makes the headers trustworthy`);
  checkCertificates(caPem);
  return {
    caPem,
    allowedNames: stringArray(data, 'requestheader-allowed-names'),
    usernameHeaders: stringArray(data, 'requestheader-username-headers'),
    groupHeaders: stringArray(data, 'requestheader-group-headers'),
    extraHeaderPrefixes: stringArray(data, 'requestheader-extra-headers-prefix'),
  };
}

/** A CA bundle Node can't read would refuse every front-proxy call; better to say why now. */
function checkCertificates(pem: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${CA_KEY} holds no PEM certificate`);
  blocks.forEach((block, index) => {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new Error(`${CA_KEY}: certificate ${index + 1} does not parse: ${(error as Error).message}`);
    }
  });
}

function stringArray(data: Record<string, string> | undefined, key: string): string[] {
  const raw = data?.[key];
  // The API server serializes a list no flag set as Go's nil slice, `null` (and reads "" as empty).
  if (raw === undefined || raw.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new Error(`${key} is not JSON: ${JSON.stringify(raw)}`);
  }
  if (value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw new Error(`${key} is not a JSON array of strings: ${raw}`);
  return value;
}
