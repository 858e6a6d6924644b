import { loadConfig } from './config';

describe("the sidecar's files settings", () => {
  it('serves the listed mounts only, unless the whole root is opted in', () => {
    expect(loadConfig({ MIRRORD_APP_MOUNTS: '/etc/config, /data' })).toMatchObject({ appMounts: ['/etc/config', '/data'], wholeRoot: false });
    expect(loadConfig({ MIRRORD_SERVE_WHOLE_ROOT: 'true' })).toMatchObject({ appMounts: [], wholeRoot: true });
    expect(loadConfig({ MIRRORD_SERVE_WHOLE_ROOT: 'false' }).wholeRoot).toBe(false);
  });

  it('stops at a mount it could not match paths against, or an opt-in it does not understand', () => {
    expect(() => loadConfig({ MIRRORD_APP_MOUNTS: '/etc/config,data' })).toThrow('MIRRORD_APP_MOUNTS: "data" is not an absolute path');
    expect(() => loadConfig({ MIRRORD_SERVE_WHOLE_ROOT: 'yes' })).toThrow('MIRRORD_SERVE_WHOLE_ROOT="yes" must be true or false');
  });
});
