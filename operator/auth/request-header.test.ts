import { parseRequestHeaderConfig } from './request-header';
import { newAuthority } from './test-certs';

const frontProxyCa = newAuthority('front-proxy-ca').certPem;
const otherCa = newAuthority('front-proxy-ca-next').certPem;
const clusterClientCa = newAuthority('kubernetes').certPem;

/** extension-apiserver-authentication as a kubeadm cluster's API server writes it. */
function kubeadmData(): Record<string, string> {
  return {
    'client-ca-file': clusterClientCa,
    'requestheader-allowed-names': '["front-proxy-client"]',
    'requestheader-client-ca-file': frontProxyCa,
    'requestheader-extra-headers-prefix': '["X-Remote-Extra-"]',
    'requestheader-group-headers': '["X-Remote-Group"]',
    'requestheader-username-headers': '["X-Remote-User"]',
    'requestheader-uid-headers': '["X-Remote-Uid"]',
  };
}

describe('parseRequestHeaderConfig', () => {
  it("reads the request-header keys of kubeadm's ConfigMap, not the cluster's client CA", () => {
    expect(parseRequestHeaderConfig(kubeadmData())).toEqual({
      caPem: frontProxyCa,
      allowedNames: ['front-proxy-client'],
      usernameHeaders: ['X-Remote-User'],
      groupHeaders: ['X-Remote-Group'],
      extraHeaderPrefixes: ['X-Remote-Extra-'],
    });
  });

  it('keeps every CA of a bundle (a rotation in progress)', () => {
    const bundle = `${frontProxyCa}${otherCa}`;
    expect(parseRequestHeaderConfig({ ...kubeadmData(), 'requestheader-client-ca-file': bundle }).caPem).toBe(bundle);
  });

  it('reads absent, empty and null lists (Go writes a nil slice as null) as empty', () => {
    const data = kubeadmData();
    delete (data as Partial<Record<string, string>>)['requestheader-extra-headers-prefix'];
    const config = parseRequestHeaderConfig({ ...data, 'requestheader-allowed-names': 'null', 'requestheader-group-headers': '' });
    expect(config.allowedNames).toEqual([]);
    expect(config.groupHeaders).toEqual([]);
    expect(config.extraHeaderPrefixes).toEqual([]);
    expect(config.usernameHeaders).toEqual(['X-Remote-User']);
  });

  it('refuses a ConfigMap without the request-header CA, naming the key', () => {
    expect(() => parseRequestHeaderConfig(undefined)).toThrow(/requestheader-client-ca-file is missing/);
    const data = kubeadmData();
    delete (data as Partial<Record<string, string>>)['requestheader-client-ca-file'];
    expect(() => parseRequestHeaderConfig(data)).toThrow(/requestheader-client-ca-file is missing/);
    expect(() => parseRequestHeaderConfig({ ...kubeadmData(), 'requestheader-client-ca-file': '  \n' })).toThrow(/requestheader-client-ca-file is missing/);
  });

  it('refuses a CA that is not a PEM certificate', () => {
    expect(() => parseRequestHeaderConfig({ ...kubeadmData(), 'requestheader-client-ca-file': 'not a certificate' })).toThrow(
      /requestheader-client-ca-file holds no PEM certificate/,
    );
    const broken = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    expect(() => parseRequestHeaderConfig({ ...kubeadmData(), 'requestheader-client-ca-file': `${frontProxyCa}${broken}` })).toThrow(
      /requestheader-client-ca-file: certificate 2 does not parse/,
    );
  });

  it.each([
    ['requestheader-allowed-names', 'front-proxy-client', /requestheader-allowed-names is not JSON/],
    ['requestheader-username-headers', '"X-Remote-User"', /requestheader-username-headers is not a JSON array of strings/],
    ['requestheader-group-headers', '["X-Remote-Group", 7]', /requestheader-group-headers is not a JSON array of strings/],
    ['requestheader-extra-headers-prefix', '{"X-Remote-Extra-": true}', /requestheader-extra-headers-prefix is not a JSON array of strings/],
  ])('refuses %s = %s, naming the key', (key, value, message) => {
    expect(() => parseRequestHeaderConfig({ ...kubeadmData(), [key]: value })).toThrow(message);
  });
});
