import { supportsNativeSidecars } from './server-version';

it.each([
  [{ major: '1', minor: '29' }, true],
  [{ major: '1', minor: '33' }, true],
  [{ major: '1', minor: '29+' }, true],
  [{ major: '1', minor: '28' }, false],
  [{ major: '1', minor: '27+' }, false],
  [{ major: '2', minor: '0' }, true],
  [{ major: '', minor: '' }, false],
  [{}, false],
])('%j -> %s', (version, expected) => {
  expect(supportsNativeSidecars(version)).toBe(expected);
});
