import { filterEnv, splitPatterns, unsetEnv, wildcard } from './env-filter';

const pod = { APP_NAME: 'shop', APP_SECRET: 's3cr3t', DB_URL: 'postgres://db', LOG_LEVEL: 'info', 'A.B': 'dot' };

describe('environment include/exclude/override', () => {
  it('splits ";"-separated patterns, from a string or a list', () => {
    expect(splitPatterns('A;B_*; C ;')).toEqual(['A', 'B_*', 'C']);
    expect(splitPatterns(['A;B', 'C'])).toEqual(['A', 'B', 'C']);
    expect(splitPatterns(undefined)).toBeUndefined();
  });

  it('matches * and ? wildcards over the whole name, case-sensitively, other characters literally', () => {
    expect(wildcard('APP_*').test('APP_NAME')).toBe(true);
    expect(wildcard('APP_*').test('MY_APP_NAME')).toBe(false);
    expect(wildcard('DB_UR?').test('DB_URL')).toBe(true);
    expect(wildcard('db_url').test('DB_URL')).toBe(false);
    expect(wildcard('A.B').test('AxB')).toBe(false);
  });

  it('passes everything by default', () => {
    expect(filterEnv(pod, {})).toEqual(pod);
  });

  it('include keeps only the matching names', () => {
    expect(filterEnv(pod, { include: ['APP_*', 'DB_URL'] })).toEqual({ APP_NAME: 'shop', APP_SECRET: 's3cr3t', DB_URL: 'postgres://db' });
  });

  it('exclude drops the matching names, also after include', () => {
    expect(filterEnv(pod, { exclude: ['*SECRET*', 'LOG_?EVEL'] })).toEqual({ APP_NAME: 'shop', DB_URL: 'postgres://db', 'A.B': 'dot' });
    expect(filterEnv(pod, { include: ['APP_*'], exclude: ['APP_SECRET'] })).toEqual({ APP_NAME: 'shop' });
  });

  it('override sets values whatever the pod or the filters say', () => {
    expect(filterEnv(pod, { include: ['DB_URL'], override: { DB_URL: 'postgres://localhost', NEW: 'x' } })).toEqual({
      DB_URL: 'postgres://localhost',
      NEW: 'x',
    });
  });
});

describe('env file, mapping and unset, in mirrord order', () => {
  it('the env file comes over the pod, mapping over both, override over everything', () => {
    const remote = { DB_URL: 'postgres://db', CONNECTION_TIMEOUT: '500', LOG_FILE_VERBOSITY: 'info', DATA_1234: 'common-value' };
    const fromFile = { DB_URL: 'postgres://localhost', READ_TIMEOUT: '5' };
    // mirrord's documented example: a regex on the name gives the variable a new value.
    const mapping: [string, string][] = [
      ['.+_TIMEOUT', '10000'],
      ['LOG_.+_VERBOSITY', 'debug'],
      ['(\\w+)_(\\d+)', 'magic-value'],
    ];
    expect(filterEnv(remote, { mapping, override: { READ_TIMEOUT: '1' } }, fromFile)).toEqual({
      DB_URL: 'postgres://localhost',
      CONNECTION_TIMEOUT: '10000',
      LOG_FILE_VERBOSITY: 'debug',
      DATA_1234: 'magic-value',
      READ_TIMEOUT: '1',
    });
  });

  it('include and exclude apply to the pod, not to the env file', () => {
    expect(filterEnv({ A: 'pod', B: 'pod' }, { include: ['A'] }, { C: 'file' })).toEqual({ A: 'pod', C: 'file' });
  });

  it('the first mapping that matches wins, searched anywhere in the name', () => {
    expect(
      filterEnv(
        { MY_TIMEOUT_MS: '1' },
        {
          mapping: [
            ['TIMEOUT', 'first'],
            ['MS$', 'second'],
          ],
        },
      ),
    ).toEqual({ MY_TIMEOUT_MS: 'first' });
  });

  it('unset removes names whatever their case, as mirrord', () => {
    expect(unsetEnv({ AWS_PROFILE: 'dev', Aws_Profile: 'x', HOME: '/home/me' }, ['aws_profile'])).toEqual({ HOME: '/home/me' });
    const env = { A: '1' };
    expect(unsetEnv(env, [])).toBe(env);
  });
});
