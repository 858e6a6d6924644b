/** Unit tests sit beside the code; integration tests need root and network namespaces. */
const transform = { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] };
// End-to-end suites need a running cluster (kind or the assembled one), which takes minutes to
// bring up; they run only under `npm run test:e2e`, never as part of `npm test`.
const e2e = {
  displayName: 'e2e',
  testEnvironment: 'node',
  transform,
  testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
  globalSetup: '<rootDir>/test/e2e/global-setup.ts',
  globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
};
module.exports = {
  // A failed test can leave a server or a session open (its cleanup never reached); the run must
  // then end with the failure reported, not wait on that handle forever.
  forceExit: true,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/{common,protocol,sidecar,cli,layer,intproxy,webhook,operator}/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
    },
    ...(process.env.MIRRORD_E2E === '1' ? [e2e] : []),
  ],
};
