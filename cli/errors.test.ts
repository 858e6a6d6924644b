import { CliError, formatError, formatJsonError } from './errors';

describe('errors', () => {
  it('one line and a hint for people, an object for programs', () => {
    const error = new CliError('deployment/web not found in namespace shop', 'kubectl get deployment -n shop');
    expect(formatError(error)).toBe('mirrord: deployment/web not found in namespace shop\nhint: kubectl get deployment -n shop\n');
    expect(JSON.parse(formatJsonError(error))).toEqual({
      error: { message: 'deployment/web not found in namespace shop', hint: 'kubectl get deployment -n shop' },
    });
    expect(JSON.parse(formatJsonError(new Error('boom')))).toEqual({ error: { message: 'boom' } });
  });
});
