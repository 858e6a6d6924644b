import { parseLocal, parsePortForward, parseRemote, type PortForwardArgs } from './port-forward-args';
import { CliError } from './errors';

const failure = (work: () => unknown): string => {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(CliError);
    expect((error as CliError).exitCode).toBe(2);
    return (error as Error).message;
  }
  throw new Error('no error');
};

describe('port-forward specs', () => {
  it('-L [LOCAL:]HOST:PORT, the local port the remote one when omitted, an IPv6 host in brackets', () => {
    expect(parseLocal('15432:db.shop.svc:5432')).toEqual({ local: 15432, host: 'db.shop.svc', port: 5432 });
    expect(parseLocal('redis:6379')).toEqual({ local: 6379, host: 'redis', port: 6379 });
    expect(parseLocal('8443:[fd00::1]:443')).toEqual({ local: 8443, host: 'fd00::1', port: 443 });
  });

  it('-R LOCAL:POD_PORT', () => {
    expect(parseRemote('8080:80')).toEqual({ local: 8080, pod: 80 });
  });

  it('names what does not parse, in one line', () => {
    expect(failure(() => parseLocal('db'))).toBe('-L db: expected [LOCAL_PORT:]HOST:PORT');
    expect(failure(() => parseLocal('70000:db:5432'))).toBe('-L 70000:db:5432: local port "70000" is not a port (1-65535)');
    expect(failure(() => parseRemote('80'))).toBe('-R 80: expected LOCAL_PORT:POD_PORT');
  });
});

describe('mirrord port-forward', () => {
  it('takes a target, forwards both ways, steals by default', () => {
    const args = parsePortForward(['deploy/api', '-n', 'shop', '-L', '5432:db:5432', '-R', '8080:80', '--http-header-filter', '^x-me: 1$']) as PortForwardArgs;
    expect(args).toMatchObject({
      overrides: { target: 'deploy/api', namespace: 'shop', mode: 'steal', headerFilter: '^x-me: 1$' },
      local: [{ local: 5432, host: 'db', port: 5432 }],
      remote: [{ local: 8080, pod: 80 }],
    });
    expect((parsePortForward(['deploy/api', '-R', '8080:80', '--mirror']) as PortForwardArgs).overrides.mode).toBe('mirror');
  });

  it('refuses nothing to forward, -R without a target to take it from, and a local or pod port given twice', () => {
    expect(failure(() => parsePortForward(['deploy/api']))).toBe('nothing to forward');
    expect(failure(() => parsePortForward(['--targetless', '-R', '8080:80']))).toBe('-R needs a target: a targetless pod receives no traffic');
    expect(failure(() => parsePortForward(['deploy/api', '-L', '1:a:2', '-L', '1:b:3']))).toBe('local port 1 is given to two -L forwards');
    expect(failure(() => parsePortForward(['deploy/api', '-R', '8080:80', '-R', '9090:80']))).toBe('pod port 80 is given to two -R forwards');
  });
});
