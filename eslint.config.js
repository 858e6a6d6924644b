// The linter: typescript-eslint's recommended rules, and the import directions between the
// components (ARCHITECTURE.md): protocol/ and common/ at the bottom; the sidecar, the webhook, the
// operator, the layer's local proxy and the CLI above them; nothing imports the CLI or the operator,
// the CLI does not import the webhook or the sidecar, the webhook does not import the sidecar.
// Tests may import test helpers.
const tseslint = require('typescript-eslint');
const prettier = require('eslint-config-prettier');

/** A rule forbidding imports of `folders` (by their top-level name) from the files it applies to. */
function forbid(folders, why) {
  return {
    'no-restricted-imports': [
      'error',
      { patterns: [{ group: folders.flatMap((folder) => [`**/${folder}`, `**/${folder}/**`, `../${folder}`, `../${folder}/**`]), message: why }] },
    ],
  };
}

const tests = ['**/*.test.ts', 'test/**'];

module.exports = tseslint.config(
  { ignores: ['dist/**', 'build/**', 'node_modules/**', 'kind/**', '**/*.js'] },
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // `catch (error)` is read as `(error as X)` throughout; these are checked where they are used.
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The native addon and the package root are loaded with require() on purpose (a path found at run time).
      '@typescript-eslint/no-require-imports': 'off',
      // A `let` that handlers installed earlier read (signal handlers, a server started later).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  // Tests poke at parsed JSON fixtures and API objects field by field.
  { files: tests, rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['protocol/**'],
    ignores: tests,
    rules: forbid(
      ['common', 'sidecar', 'webhook', 'operator', 'layer', 'intproxy', 'cli', 'test'],
      'protocol/ is the bottom of the import graph: it imports nothing of ours',
    ),
  },
  {
    files: ['common/**'],
    ignores: tests,
    rules: forbid(['sidecar', 'webhook', 'operator', 'layer', 'intproxy', 'cli', 'test'], 'common/ imports nothing of ours but protocol/'),
  },
  {
    files: ['sidecar/**'],
    ignores: tests,
    rules: forbid(['webhook', 'operator', 'layer', 'intproxy', 'cli', 'test'], 'the sidecar imports only protocol/ and common/'),
  },
  {
    files: ['webhook/**'],
    ignores: tests,
    rules: forbid(
      ['sidecar', 'operator', 'layer', 'intproxy', 'cli', 'test'],
      'the webhook imports only protocol/ and common/ (the pod contract is in common/)',
    ),
  },
  {
    files: ['layer/**', 'intproxy/**'],
    ignores: tests,
    rules: forbid(['sidecar', 'webhook', 'operator', 'cli', 'test'], 'the layer and its local proxy import only protocol/, common/ and each other'),
  },
  {
    files: ['cli/**'],
    ignores: tests,
    rules: forbid(
      ['sidecar', 'webhook', 'operator', 'test'],
      'the CLI does not import the sidecar, the webhook or the operator (names they share are in common/)',
    ),
  },
  {
    files: ['operator/**'],
    ignores: tests,
    rules: forbid(['sidecar', 'webhook', 'layer', 'intproxy', 'cli', 'test'], 'the operator imports only protocol/ and common/'),
  },
);
