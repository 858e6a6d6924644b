import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseEnvFile, readEnvFile } from './env-file';

describe('.env files (feature.env.env_file)', () => {
  it('reads NAME=value lines, with export, comments and blank lines', () => {
    const text = '# the database\nexport DB_HOST=localhost\n\nDB_PORT = 5432   # the default\nEMPTY=\nURL=http://x/#frag\r\n';
    expect(parseEnvFile(text)).toEqual({ DB_HOST: 'localhost', DB_PORT: '5432', EMPTY: '', URL: 'http://x/#frag' });
  });

  it('takes single quotes as written and double quotes with escapes, on several lines too', () => {
    const text = `SINGLE='a $B \\n # c'\nDOUBLE="line1\\nline2 \\"q\\""\nMULTI="first\nsecond"  # comment\nLAST=x`;
    expect(parseEnvFile(text)).toEqual({ SINGLE: 'a $B \\n # c', DOUBLE: 'line1\nline2 "q"', MULTI: 'first\nsecond', LAST: 'x' });
  });

  it('replaces $NAME and ${NAME} from the local environment first, then the lines above', () => {
    const text = 'HOST=db\nURL=postgres://${HOST}:$PORT/$USER\nQUOTED="$HOST-x"\nLITERAL=\\$HOST\nLONE=$';
    expect(parseEnvFile(text, { PORT: '5432', HOST: 'from-env' })).toMatchObject({
      URL: 'postgres://from-env:5432/',
      QUOTED: 'from-env-x',
      LITERAL: '$HOST',
      LONE: '$',
    });
    expect(parseEnvFile(text, {})).toMatchObject({ URL: 'postgres://db:/', QUOTED: 'db-x' });
  });

  it('says which line is wrong', () => {
    expect(() => parseEnvFile('A=1\nnot a line\n')).toThrow('line 2: expected NAME=value');
    expect(() => parseEnvFile('A="open\n')).toThrow('line 1: the double quote is never closed');
    expect(() => parseEnvFile("A='x' y")).toThrow('line 1: unexpected text after the closing quote');
  });

  describe('reading', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-env-file-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it('reads the file relative to the current directory, naming it in errors', () => {
      writeFileSync(join(dir, '.env'), 'A=1\n');
      expect(readEnvFile('.env', {}, dir)).toEqual({ A: '1' });
      expect(() => readEnvFile('missing.env', {}, dir)).toThrow('cannot read the env file missing.env: ENOENT');
      writeFileSync(join(dir, 'bad.env'), '=x\n');
      expect(() => readEnvFile('bad.env', {}, dir)).toThrow('bad.env: line 1: expected NAME=value');
    });
  });
});
