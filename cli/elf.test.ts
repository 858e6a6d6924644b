import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildC } from '../test/harness/programs';
import { inspectElf } from './elf';

jest.setTimeout(30_000);

describe('reading what kind of program an ELF file is', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-elf-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('tells a statically linked program from a dynamically linked one', async () => {
    expect(inspectElf(await buildC(dir, 'dynamic', 'static-hello.c'))).toEqual({ staticallyLinked: false });
    expect(inspectElf(await buildC(dir, 'static', 'static-hello.c', ['-static']))).toEqual({ staticallyLinked: true });
    // a static PIE is ET_DYN like a dynamically linked program, but has no interpreter either
    expect(inspectElf(await buildC(dir, 'static-pie', 'static-hello.c', ['-static-pie']))).toEqual({ staticallyLinked: true });
  });

  it("recognises Go by its build ID note or its .go.buildinfo section, and reads cgo from Go's build settings", async () => {
    expect(inspectElf(await buildC(dir, 'go-note', 'go-markers.c', ['-DGO_NOTE']))).toEqual({ staticallyLinked: false, go: { cgo: undefined } });
    expect(inspectElf(await buildC(dir, 'go-note-static', 'go-markers.c', ['-DGO_NOTE', '-static']))).toEqual({
      staticallyLinked: true,
      go: { cgo: undefined },
    });
    expect(inspectElf(await buildC(dir, 'go-cgo', 'go-markers.c', ['-DCGO=1']))).toEqual({ staticallyLinked: false, go: { cgo: true } });
    expect(inspectElf(await buildC(dir, 'go-nocgo', 'go-markers.c', ['-DCGO=0', '-s']))).toEqual({ staticallyLinked: false, go: { cgo: false } });
  });

  it('has nothing to say about scripts, other files, truncated ELF files and missing ones', async () => {
    const script = join(dir, 'script.sh');
    writeFileSync(script, '#!/bin/sh\necho hi\n');
    chmodSync(script, 0o755);
    expect(inspectElf(script)).toBeUndefined();
    expect(inspectElf(join(dir, 'missing'))).toBeUndefined();
    expect(inspectElf(dir)).toBeUndefined();
    const truncated = join(dir, 'truncated');
    writeFileSync(truncated, Buffer.from('\x7fELF\x02\x01\x01', 'latin1'));
    expect(inspectElf(truncated)).toBeUndefined();
    // an object file is ELF but no executable
    const object = join(dir, 'hello.o');
    await buildC(dir, 'hello.o', 'static-hello.c', ['-c']);
    expect(inspectElf(object)).toBeUndefined();
  });
});
