import { filterEnv, splitPatterns, wildcard } from './env-filter';

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
    expect(filterEnv(pod, { include: ['DB_URL'], override: { DB_URL: 'postgres://localhost', NEW: 'x' } })).toEqual({ DB_URL: 'postgres://localhost', NEW: 'x' });
  });
});
