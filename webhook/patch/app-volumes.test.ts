import { appMountPaths, remountAppVolumes, underAppRoot } from './app-volumes';

describe('underAppRoot', () => {
  it.each([
    ['/data', '/mirrord/app/data'],
    ['/data/', '/mirrord/app/data'],
    ['data', '/mirrord/app/data'],
    ['/a//b/./c', '/mirrord/app/a/b/c'],
    ['/../../etc', '/mirrord/app/etc'],
    ['/', '/mirrord/app'],
  ])('%s -> %s, never outside the app root', (mountPath, expected) => {
    expect(underAppRoot(mountPath)).toBe(expected);
  });
});

it('lists the mount paths as the app sees them', () => {
  expect(
    appMountPaths({
      name: 'app',
      volumeMounts: [
        { name: 'a', mountPath: '/data/' },
        { name: 'b', mountPath: '/etc/x' },
      ],
    }),
  ).toEqual(['/data', '/etc/x']);
  expect(appMountPaths({ name: 'app' })).toEqual([]);
});

it('drops mount propagation and keeps recursive read-only only on read-only mounts', () => {
  const app = {
    name: 'app',
    volumeMounts: [
      { name: 'a', mountPath: '/a', mountPropagation: 'Bidirectional' },
      { name: 'b', mountPath: '/b', readOnly: true, recursiveReadOnly: 'Enabled' },
      { name: 'c', mountPath: '/c', recursiveReadOnly: 'IfPossible' },
    ],
  };
  expect(remountAppVolumes(app, true)).toEqual([
    { name: 'a', mountPath: '/mirrord/app/a', readOnly: false },
    { name: 'b', mountPath: '/mirrord/app/b', readOnly: true, recursiveReadOnly: 'Enabled' },
    { name: 'c', mountPath: '/mirrord/app/c', readOnly: false },
  ]);
  expect(remountAppVolumes(app, false)[2]).toEqual({ name: 'c', mountPath: '/mirrord/app/c', readOnly: true, recursiveReadOnly: 'IfPossible' });
});
