/**
 * Front-proxy (request-header) authentication, as Kubernetes' aggregated API servers do it: the
 * API server authenticates the user, then calls us over TLS with its front-proxy client
 * certificate and names the user in headers. The headers are worth exactly as much as that
 * certificate, so they are read only once it chains to the request-header CA and, when the
 * allowed-names list is not empty, carries one of those common names.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, RequestListener } from 'node:http';
import https from 'node:https';
import { TLSSocket, type SecureContextOptions } from 'node:tls';
import type { RequestHeaderConfig } from './request-header';
import type { ServingPair } from '../../common/certs/tls-material';

export type FrontProxyAuthentication =
  { ok: true; user: string; groups: string[]; extra: Record<string, string[]> } | { ok: false; status: 401; reason: string };

/** What authentication reads of a request: the connection and the headers, each repeat kept apart. */
export type FrontProxyRequest = Pick<IncomingMessage, 'socket' | 'headersDistinct'>;

/**
 * The TLS options that make the server ask for a client certificate and check it against the
 * request-header CA without failing the handshake: kubelet probes (`/healthz`) come without one,
 * so whether a caller is trusted is decided per request, by authenticate().
 */
export function frontProxyTlsOptions(config: RequestHeaderConfig): { ca: string; requestCert: true; rejectUnauthorized: false } {
  return { ca: config.caPem, requestCert: true, rejectUnauthorized: false };
}

/** The one place the serving pair and the request-header CA are combined, at creation and on every rotation. */
export function frontProxyServerOptions(serving: ServingPair, config: RequestHeaderConfig): SecureContextOptions & ReturnType<typeof frontProxyTlsOptions> {
  return { key: serving.keyPem, cert: serving.certPem, ...frontProxyTlsOptions(config) };
}

/**
 * Who the front proxy says is calling, or why it is not believed. Header names are matched
 * case-insensitively; a repeated header gives one value per occurrence (never split on commas,
 * a group name may hold one); extra keys are the rest of the header name after the prefix,
 * lowercased and percent-decoded, as k8s.io/apiserver reads them.
 */
export function authenticate(request: FrontProxyRequest, config: RequestHeaderConfig): FrontProxyAuthentication {
  const untrusted = certificateProblem(request.socket, config);
  if (untrusted !== undefined) return refused(untrusted);
  const headers = request.headersDistinct;
  const user = headerValues(headers, config.usernameHeaders).find((value) => value !== '');
  if (user === undefined) return refused(`no user header (${config.usernameHeaders.join(', ') || 'none configured'})`);
  const groups = headerValues(headers, config.groupHeaders).filter((value) => value !== '');
  return { ok: true, user, groups, extra: extraValues(headers, config.extraHeaderPrefixes) };
}

function refused(reason: string): FrontProxyAuthentication {
  return { ok: false, status: 401, reason };
}

function certificateProblem(socket: IncomingMessage['socket'], config: RequestHeaderConfig): string | undefined {
  if (!(socket instanceof TLSSocket)) return 'not a TLS connection: the front proxy always presents a client certificate';
  if (!socket.authorized) return `the client certificate is missing or not signed by the request-header CA (${String(socket.authorizationError)})`;
  // The handshake checked the CA in force when the connection opened; a keep-alive connection
  // may outlive a rotation, so the chain must also reach a CA trusted now (k8s verifies per request).
  if (!chainsToCurrentCa(socket, config)) return 'the client certificate is not signed by a request-header CA trusted now (rotated out)';
  if (config.allowedNames.length === 0) return undefined;
  const commonName = socket.getPeerCertificate().subject?.CN;
  if (typeof commonName !== 'string' || !config.allowedNames.includes(commonName)) {
    return `the client certificate's common name ${JSON.stringify(commonName)} is not one of the allowed names (${config.allowedNames.join(', ')})`;
  }
  return undefined;
}

function chainsToCurrentCa(socket: TLSSocket, config: RequestHeaderConfig): boolean {
  const cas = caCertificates(config);
  const seen = new Set<string>();
  // The chain OpenSSL verified, leaf first; a resumed session may give only the leaf.
  for (let cert = socket.getPeerCertificate(true); cert?.raw !== undefined && !seen.has(cert.fingerprint256); cert = cert.issuerCertificate) {
    seen.add(cert.fingerprint256);
    const link = new X509Certificate(cert.raw);
    if (cas.some((ca) => ca.fingerprint256 === link.fingerprint256 || (link.checkIssued(ca) && link.verify(ca.publicKey)))) return true;
  }
  return false;
}

const parsedCas = new WeakMap<RequestHeaderConfig, X509Certificate[]>();

/** Parsed once per config: a config is replaced, never changed, on rotation. */
function caCertificates(config: RequestHeaderConfig): X509Certificate[] {
  let cas = parsedCas.get(config);
  if (cas === undefined) {
    cas = (config.caPem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map((pem) => new X509Certificate(pem));
    parsedCas.set(config, cas);
  }
  return cas;
}

function headerValues(headers: FrontProxyRequest['headersDistinct'], names: string[]): string[] {
  return names.flatMap((name) => headers[name.toLowerCase()] ?? []);
}

function extraValues(headers: FrontProxyRequest['headersDistinct'], prefixes: string[]): Record<string, string[]> {
  const extra: Record<string, string[]> = {};
  for (const prefix of prefixes.map((p) => p.toLowerCase())) {
    for (const [name, values] of Object.entries(headers)) {
      if (!name.startsWith(prefix) || values === undefined) continue;
      const key = unescapeExtraKey(name.slice(prefix.length));
      extra[key] = [...(extra[key] ?? []), ...values];
    }
  }
  return extra;
}

/** Header names can't hold every character of an extra key, so the API server percent-encodes it; a bad escape is kept as sent, as Go's PathUnescape fallback does. */
function unescapeExtraKey(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    return encoded;
  }
}

/**
 * The operator's HTTPS server and the request-header config it trusts now. The serving pair and
 * the CA rotate independently (cert renewal, the ConfigMap changing); either change rebuilds the
 * secure context from both, so one never drops the other. New connections use the new context;
 * requests on older connections are checked against the new CA by authenticate().
 */
export class FrontProxyTrust {
  readonly server: https.Server;

  constructor(
    private serving: ServingPair,
    private current: RequestHeaderConfig,
    listener?: RequestListener,
  ) {
    // requestCert and rejectUnauthorized are read only here: setSecureContext() ignores them.
    this.server = https.createServer(frontProxyServerOptions(serving, current), listener);
  }

  get config(): RequestHeaderConfig {
    return this.current;
  }

  authenticate(request: FrontProxyRequest): FrontProxyAuthentication {
    return authenticate(request, this.current);
  }

  /** A new request-header config, e.g. the ConfigMap after a CA rotation. */
  update(config: RequestHeaderConfig): void {
    this.current = config;
    this.server.setSecureContext(frontProxyServerOptions(this.serving, this.current));
  }

  /** A renewed serving certificate and key. */
  updateServing(serving: ServingPair): void {
    this.serving = serving;
    this.server.setSecureContext(frontProxyServerOptions(this.serving, this.current));
  }
}
