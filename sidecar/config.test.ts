import { loadConfig } from './config';

describe("the sidecar's files settings", () => {
  it('serves the listed mounts only, unless the whole root is opted in', () => {
    expect(loadConfig({ MIRRORD_APP_MOUNTS: '/etc/config, /data' })).toMatchObject({ appMounts: ['/etc/config', '/data'], wholeRoot: false });
    expect(loadConfig({ MIRRORD_SERVE_WHOLE_ROOT: 'true' })).toMatchObject({ appMounts: [], wholeRoot: true });
    expect(loadConfig({ MIRRORD_SERVE_WHOLE_ROOT: 'false' }).wholeRoot).toBe(false);
    // The whole-container opt-in serves the whole root, the app container's own.
    expect(loadConfig({ MIRRORD_WHOLE_CONTAINER: 'true' })).toMatchObject({ wholeRoot: true, wholeContainer: true });
    expect(loadConfig({})).toMatchObject({ wholeRoot: false, wholeContainer: false });
  });

  it('stops at a mount it could not match paths against, or an opt-in it does not understand', () => {
    expect(() => loadConfig({ MIRRORD_APP_MOUNTS: '/etc/config,data' })).toThrow('MIRRORD_APP_MOUNTS: "data" is not an absolute path');
    expect(() => loadConfig({ MIRRORD_SERVE_WHOLE_ROOT: 'yes' })).toThrow('MIRRORD_SERVE_WHOLE_ROOT="yes" must be true or false');
  });
});

describe("the sidecar's auth settings", () => {
  it('is open by default, and requires tickets with a key set and the pod UID when asked', () => {
    expect(loadConfig({}).auth).toEqual({ mode: 'none' });
    expect(loadConfig({ MIRRORD_AUTH: 'none', MIRRORD_AUTH_KEYS_FILE: '/keys/jwks.json' }).auth).toEqual({ mode: 'none' });
    expect(loadConfig({ MIRRORD_AUTH: 'required', MIRRORD_AUTH_KEYS_FILE: '/keys/jwks.json', MIRRORD_POD_UID: 'u-1' }).auth).toEqual({
      mode: 'required',
      keysFile: '/keys/jwks.json',
      podUid: 'u-1',
    });
  });

  it('stops at a mode it does not know, or a required mode it cannot enforce', () => {
    expect(() => loadConfig({ MIRRORD_AUTH: 'optional' })).toThrow('MIRRORD_AUTH="optional" must be none or required');
    expect(() => loadConfig({ MIRRORD_AUTH: 'required', MIRRORD_POD_UID: 'u-1' })).toThrow(/needs MIRRORD_AUTH_KEYS_FILE/);
    expect(() => loadConfig({ MIRRORD_AUTH: 'required', MIRRORD_AUTH_KEYS_FILE: 'jwks.json', MIRRORD_POD_UID: 'u-1' })).toThrow(/absolute path/);
    expect(() => loadConfig({ MIRRORD_AUTH: 'required', MIRRORD_AUTH_KEYS_FILE: '/keys/jwks.json' })).toThrow(/needs MIRRORD_POD_UID/);
  });
});

describe("the app's probes", () => {
  it('reads the ports and paths the webhook found, and stops at a list it cannot use', () => {
    expect(loadConfig({}).probes).toEqual([]);
    expect(loadConfig({ MIRRORD_PROBES: '[{"port":8080,"path":"/healthz"}]' }).probes).toEqual([{ port: 8080, path: '/healthz' }]);
    expect(() => loadConfig({ MIRRORD_PROBES: '8080:/healthz' })).toThrow(/MIRRORD_PROBES is not JSON/);
    expect(() => loadConfig({ MIRRORD_PROBES: '[{"port":0,"path":"/"}]' })).toThrow(/MIRRORD_PROBES must be a JSON list/);
  });
});

describe("the client's address", () => {
  it('is kept unless turned off, and a value that is neither true nor false stops the sidecar', () => {
    expect(loadConfig({}).keepClientAddress).toBe(true);
    expect(loadConfig({ MIRRORD_KEEP_CLIENT_ADDRESS: 'false' }).keepClientAddress).toBe(false);
    expect(loadConfig({ MIRRORD_KEEP_CLIENT_ADDRESS: 'true' }).keepClientAddress).toBe(true);
    expect(() => loadConfig({ MIRRORD_KEEP_CLIENT_ADDRESS: 'no' })).toThrow('MIRRORD_KEEP_CLIENT_ADDRESS="no" must be true or false');
  });
});

describe('the service mesh setting', () => {
  it('looks by default, and is forced on or off when told; anything else stops the sidecar', () => {
    expect(loadConfig({}).mesh).toBe('auto');
    expect(loadConfig({ MIRRORD_MESH: 'auto' }).mesh).toBe('auto');
    expect(loadConfig({ MIRRORD_MESH: 'true' }).mesh).toBe('on');
    expect(loadConfig({ MIRRORD_MESH: 'false' }).mesh).toBe('off');
    expect(() => loadConfig({ MIRRORD_MESH: 'istio' })).toThrow('MIRRORD_MESH="istio" must be auto, true or false');
  });
});
