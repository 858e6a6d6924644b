import { rewriteReferences } from './app-env';

const only =
  (...names: string[]) =>
  (name: string) =>
    names.includes(name);

describe('rewriteReferences', () => {
  it.each([
    ['$(A)', 'all', '$(MIRRORD_APP_ENV_A)'],
    ['x$(A)y$(B)z', 'all', 'x$(MIRRORD_APP_ENV_A)y$(MIRRORD_APP_ENV_B)z'],
    ['$$(A)', 'all', '$$(A)'],
    ['$$$(A)', 'all', '$$$(MIRRORD_APP_ENV_A)'],
    ['$(UNDEFINED)', 'A', '$(UNDEFINED)'],
    ['$(A', 'all', '$(A'],
    ['$()', 'all', '$()'],
    ['$A and ${A}', 'all', '$A and ${A}'],
    ['', 'all', ''],
    ['100$', 'all', '100$'],
  ])('%s -> %s', (input, defined, expected) => {
    expect(rewriteReferences(input, defined === 'all' ? () => true : only(defined))).toBe(expected);
  });
});
