import { atLeast, incompatibility, parseVersion, PROTOCOL_VERSION } from './version';

describe('protocol version', () => {
  it('is MAJOR.MINOR', () => {
    expect(parseVersion(PROTOCOL_VERSION)).toEqual({ major: 1, minor: 7 });
  });

  it('parses MAJOR.MINOR and nothing else', () => {
    expect(parseVersion('1.12')).toEqual({ major: 1, minor: 12 });
    expect(parseVersion('0.0')).toEqual({ major: 0, minor: 0 });
    for (const text of ['', '1', '1.', '.1', '1.2.3', 'v1.0', '1.0 ', ' 1.0', '-1.0', '1.-1', '1.x', '12345.0', '1,0', '１.０']) {
      expect(parseVersion(text)).toBeUndefined();
    }
  });

  it('accepts the same version and any minor of the same major', () => {
    expect(incompatibility('1.0', '1.0')).toBeUndefined();
    expect(incompatibility('1.1', '1.0')).toBeUndefined();
    expect(incompatibility('1.0', '1.9')).toBeUndefined();
    expect(incompatibility('1.42')).toBeUndefined();
  });

  it('refuses a different major, naming both versions', () => {
    const why = incompatibility('2.0', '1.4');
    expect(why).toBe('protocol 2.0 is not supported: this sidecar speaks 1.x; use a mirrord CLI of the same major version as the sidecar');
    expect(incompatibility('0.9', '1.0')).toMatch(/^protocol 0\.9 is not supported: this sidecar speaks 1\.x/);
  });

  it('refuses garbage, quoting it', () => {
    expect(incompatibility('latest')).toBe('protocol version "latest" is not of the form MAJOR.MINOR');
    expect(incompatibility('')).toBe('protocol version "" is not of the form MAJOR.MINOR');
    expect(incompatibility('1.0.0')).toBe('protocol version "1.0.0" is not of the form MAJOR.MINOR');
  });
});

describe('atLeast', () => {
  it('compares major, then minor', () => {
    expect(atLeast('1.4', '1.4')).toBe(true);
    expect(atLeast('1.10', '1.4')).toBe(true);
    expect(atLeast('1.3', '1.4')).toBe(false);
    expect(atLeast('2.0', '1.4')).toBe(true);
    expect(atLeast('0.9', '1.4')).toBe(false);
    expect(atLeast('junk', '1.4')).toBe(false);
  });
});
