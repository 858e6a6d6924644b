/**
 * Reads an executable's ELF headers for the two facts that decide whether the layer can serve
 * it: whether it names a program interpreter (without one, no dynamic loader runs, so nothing
 * reads LD_PRELOAD), and whether Go built it (Go makes its own system calls instead of calling
 * libc, so the layer's hooks see none of them). Only headers, notes and one small section are
 * read, never the whole file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ElfProgram {
  /** No PT_INTERP: no dynamic loader, so no preload library is ever loaded into it. */
  staticallyLinked: boolean;
  /** Set when Go built it (its `.go.buildinfo` section, or its Go build ID note). */
  go?: {
    /** Built with cgo (CGO_ENABLED=1 in its build information); undefined when that can't be read. */
    cgo?: boolean;
  };
}

const PT_INTERP = 3;
const PT_NOTE = 4;
const ET_EXEC = 2;
const ET_DYN = 3;
/** The note Go's linker writes: owner "Go", type 4 (ELF_NOTE_GOBUILDID_TAG). */
const GO_NOTE_OWNER = 'Go';
const GO_NOTE_BUILDID = 4;
/** Bounds against a malformed file making us read a lot. */
const MAX_TABLE = 1 << 20;
const MAX_BUILDINFO = 64 * 1024;

/** What the ELF file at `path` is, or undefined when it is not an ELF executable (or unreadable). */
export function inspectElf(path: string): ElfProgram | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return undefined; // not ours to explain: running it will say what is wrong
  }
  try {
    return inspect(new ElfFile(fd, fstatSync(fd).size));
  } catch {
    return undefined; // a truncated or malformed file: nothing to say about it
  } finally {
    closeSync(fd);
  }
}

function inspect(file: ElfFile): ElfProgram | undefined {
  const ident = file.read(0, 16);
  if (ident.length < 16 || ident.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
  const wide = ident[4] === 2; // ELFCLASS64
  const little = ident[5] !== 2; // ELFDATA2MSB is the only big-endian encoding
  const header = new Fields(file.read(0, wide ? 64 : 52), wide, little);
  const type = header.u16(16);
  if (type !== ET_EXEC && type !== ET_DYN) return undefined;

  const segments = table(file, header, wide ? 32 : 28, wide ? 54 : 42, wide ? 56 : 44);
  const interpreter = segments.some((s) => s.u32(0) === PT_INTERP);
  const goNote = segments.filter((s) => s.u32(0) === PT_NOTE).some((s) => hasGoNote(file, s, wide));
  const buildinfo = goBuildinfo(file, header, wide);
  if (!goNote && buildinfo === undefined) return { staticallyLinked: !interpreter };
  return { staticallyLinked: !interpreter, go: { cgo: buildinfo && cgoSetting(buildinfo) } };
}

/** The entries of the program or section header table whose offset, entry size and count are at those header offsets. */
function table(file: ElfFile, header: Fields, offsetAt: number, sizeAt: number, countAt: number): Fields[] {
  const offset = header.word(offsetAt);
  const size = header.u16(sizeAt);
  const count = header.u16(countAt);
  if (!offset || !size || size * count > MAX_TABLE) return [];
  const bytes = file.read(offset, size * count);
  const entries: Fields[] = [];
  for (let at = 0; at + size <= bytes.length; at += size) entries.push(header.over(bytes.subarray(at, at + size)));
  return entries;
}

function hasGoNote(file: ElfFile, segment: Fields, wide: boolean): boolean {
  const notes = segment.over(file.read(segment.word(wide ? 8 : 4), Math.min(segment.word(wide ? 32 : 16), MAX_TABLE)));
  const align = Math.max(4, segment.word(wide ? 48 : 28));
  const pad = (n: number) => Math.ceil(n / align) * align;
  for (let at = 0; at + 12 <= notes.bytes.length;) {
    const nameSize = notes.u32(at);
    const descSize = notes.u32(at + 4);
    const name = notes.bytes.toString('latin1', at + 12, at + 12 + nameSize).replace(/\0+$/, '');
    if (name === GO_NOTE_OWNER && notes.u32(at + 8) === GO_NOTE_BUILDID) return true;
    at += 12 + pad(nameSize) + pad(descSize);
  }
  return false;
}

/** The start of the `.go.buildinfo` section, or undefined when there is none. */
function goBuildinfo(file: ElfFile, header: Fields, wide: boolean): Buffer | undefined {
  const sections = table(file, header, wide ? 40 : 32, wide ? 58 : 46, wide ? 60 : 48);
  const names = sections[header.u16(wide ? 62 : 50)];
  if (!names) return undefined;
  const offsetAt = wide ? 24 : 16;
  const sizeAt = wide ? 32 : 20;
  const strings = file.read(names.word(offsetAt), Math.min(names.word(sizeAt), MAX_TABLE));
  for (const section of sections) {
    const start = section.u32(0);
    if (strings.toString('latin1', start, strings.indexOf(0, start)) === '.go.buildinfo') {
      return file.read(section.word(offsetAt), Math.min(section.word(sizeAt), MAX_BUILDINFO));
    }
  }
  return undefined;
}

/**
 * CGO_ENABLED from the build information Go (1.18 and later) stores inline in `.go.buildinfo`
 * ("build\tCGO_ENABLED=1"); older Go stores pointers there instead, so the answer is unknown.
 */
function cgoSetting(buildinfo: Buffer): boolean | undefined {
  const text = buildinfo.toString('latin1');
  if (text.includes('\tCGO_ENABLED=1\n')) return true;
  if (text.includes('\tCGO_ENABLED=0\n')) return false;
  return undefined;
}

class ElfFile {
  constructor(
    private readonly fd: number,
    private readonly size: number,
  ) {}

  /** Up to `length` bytes at `offset` (fewer at the end of the file, none past it). */
  read(offset: number, length: number): Buffer {
    const buffer = Buffer.alloc(Math.max(0, Math.min(length, this.size - offset)));
    const got = buffer.length ? readSync(this.fd, buffer, 0, buffer.length, offset) : 0;
    return buffer.subarray(0, got);
  }
}

/** Integer fields of one header, in the file's byte order and word size. */
class Fields {
  constructor(
    readonly bytes: Buffer,
    private readonly wide: boolean,
    private readonly little: boolean,
  ) {}

  over(bytes: Buffer): Fields {
    return new Fields(bytes, this.wide, this.little);
  }

  u16(at: number): number {
    return this.little ? this.bytes.readUInt16LE(at) : this.bytes.readUInt16BE(at);
  }

  u32(at: number): number {
    return this.little ? this.bytes.readUInt32LE(at) : this.bytes.readUInt32BE(at);
  }

  /** An address, offset or size: 8 bytes in a 64-bit file, 4 in a 32-bit one. */
  word(at: number): number {
    if (!this.wide) return this.u32(at);
    return Number(this.little ? this.bytes.readBigUInt64LE(at) : this.bytes.readBigUInt64BE(at));
  }
}
