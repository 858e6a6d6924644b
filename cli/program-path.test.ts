import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, programPath } from './program-path';

describe('finding the program a command runs', () => {
  let dir: string;
  const file = (path: string, text: string, mode = 0o755) => {
    writeFileSync(join(dir, path), text);
    chmodSync(join(dir, path), mode);
    return join(dir, path);
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'mirrord-path-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('searches PATH as execvp does: the first executable file, an empty entry being the current directory', () => {
    file('a/tool', 'not executable', 0o644);
    const tool = file('b/tool', 'x');
    mkdirSync(join(dir, 'a/dir-tool'));
    file('b/dir-tool', 'x');
    const here = file('here', 'x');
    const env = { PATH: `${dir}/a:${dir}/b:` };
    expect(findExecutable('tool', env, dir)).toBe(tool);
    expect(findExecutable('dir-tool', env, dir)).toBe(join(dir, 'b/dir-tool'));
    expect(findExecutable('here', env, dir)).toBe(here);
    expect(findExecutable('here', { PATH: `${dir}/a` }, dir)).toBeUndefined();
    expect(findExecutable('missing', env, dir)).toBeUndefined();
  });

  it('takes a name with a slash as a path, relative to the working directory', () => {
    const tool = file('b/tool', 'x');
    expect(findExecutable('./b/tool', { PATH: '' }, dir)).toBe(tool);
    expect(findExecutable(tool, { PATH: '' }, '/')).toBe(tool);
    expect(findExecutable('tool', { PATH: '' }, join(dir, 'b'))).toBe(tool); // the empty entry
  });

  it('follows a #! script to its interpreter, directly or through env NAME on PATH', () => {
    const direct = file('direct', '#!/bin/sh -e\necho\n');
    expect(programPath('./direct', {}, dir)).toEqual({ path: '/bin/sh', script: direct });
    const interpreter = file('b/interp', 'x');
    const viaEnv = file('a/via-env', '#! /usr/bin/env interp\n');
    expect(programPath('via-env', { PATH: `${dir}/a:${dir}/b` }, dir)).toEqual({ path: interpreter, script: viaEnv });
    // a script run by a script: the kernel runs the last interpreter
    const nested = file('nested', `#!${viaEnv}\n`);
    expect(programPath(nested, { PATH: `${dir}/a:${dir}/b` }, dir)).toEqual({ path: interpreter, script: nested });
  });

  it("doesn't second-guess env with options or assignments, and leaves a program that is no script as it is", () => {
    const split = file('split', '#!/usr/bin/env -S interp -x\n');
    expect(programPath(split, { PATH: `${dir}/b` }, dir)).toEqual({ path: split });
    const assigning = file('assigning', '#!/usr/bin/env A=1 interp\n');
    expect(programPath(assigning, {}, dir)).toEqual({ path: assigning });
    const binary = file('binary', '\x7fELF');
    expect(programPath(binary, {}, dir)).toEqual({ path: binary });
    expect(programPath('missing', { PATH: dir }, dir)).toBeUndefined();
  });
});
