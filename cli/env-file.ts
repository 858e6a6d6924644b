/**
 * mirrord's `feature.env.env_file`: a `.env` file in the dotenv format mirrord reads (the
 * `dotenvy` crate): `NAME=value` lines, `export ` allowed before the name, `#` comments, values
 * in single quotes taken as written, in double quotes with `\n`-style escapes, `$NAME`/`${NAME}`
 * replaced (from this machine's environment first, then the file's earlier lines, as dotenvy)
 * except in single quotes. A quoted value may span lines.
 */
import { CliError } from './errors';
import { readUserFile } from './read-file';

export function readEnvFile(path: string, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string> {
  const text = readUserFile(path, 'the env file', 'check feature.env.env_file, --env-file or MIRRORD_OVERRIDE_ENV_VARS_FILE', cwd);
  try {
    return parseEnvFile(text, env);
  } catch (error) {
    throw new CliError(`${path}: ${(error as Error).message}`, 'lines are NAME=value; quote values holding spaces or #');
  }
}

export function parseEnvFile(text: string, env: NodeJS.ProcessEnv = {}): Record<string, string> {
  const vars: Record<string, string> = {};
  const lookup = (name: string) => env[name] ?? vars[name] ?? '';
  let rest = text.replace(/\r\n/g, '\n');
  let line = 1;
  while (rest.length) {
    const blank = /^[ \t]*(#[^\n]*)?(\n|$)/.exec(rest);
    if (blank && blank[0].length) {
      line += blank[2] ? 1 : 0;
      rest = rest.slice(blank[0].length);
      continue;
    }
    const head = /^[ \t]*(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_.]*)[ \t]*=[ \t]*/.exec(rest);
    if (!head) throw new Error(`line ${line}: expected NAME=value`);
    rest = rest.slice(head[0].length);
    const { value, length } = readValue(rest, lookup, line);
    vars[head[1]] = value;
    line += (rest.slice(0, length).match(/\n/g) ?? []).length;
    rest = rest.slice(length);
  }
  return vars;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$', "'": "'" };

function readValue(text: string, lookup: (name: string) => string, line: number): { value: string; length: number } {
  const quote = text[0];
  if (quote === "'" || quote === '"') {
    let value = '';
    for (let i = 1; i < text.length; i++) {
      const char = text[i];
      if (char === quote) return { value, length: endOfLine(text, i + 1, line) };
      if (quote === '"' && char === '\\' && i + 1 < text.length) {
        value += ESCAPES[text[i + 1]] ?? `\\${text[i + 1]}`;
        i++;
      } else if (quote === '"' && char === '$') {
        const { text: substituted, length } = substitute(text.slice(i), lookup);
        value += substituted;
        i += length - 1;
      } else value += char;
    }
    throw new Error(`line ${line}: the ${quote === '"' ? 'double' : 'single'} quote is never closed`);
  }
  const end = text.indexOf('\n');
  const raw = end < 0 ? text : text.slice(0, end);
  // An unquoted value ends at a comment that follows whitespace.
  const plain = raw.replace(/[ \t]+#.*$/, '').trimEnd();
  let value = '';
  for (let i = 0; i < plain.length; i++) {
    if (plain[i] === '\\' && i + 1 < plain.length) value += plain[++i];
    else if (plain[i] === '$') {
      const { text: substituted, length } = substitute(plain.slice(i), lookup);
      value += substituted;
      i += length - 1;
    } else value += plain[i];
  }
  return { value, length: raw.length + (end < 0 ? 0 : 1) };
}

/** `$NAME` or `${NAME}` at the start of `text`; a lone `$` stays. */
function substitute(text: string, lookup: (name: string) => string): { text: string; length: number } {
  const reference = /^\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/.exec(text);
  if (!reference) return { text: '$', length: 1 };
  return { text: lookup(reference[1] ?? reference[2]), length: reference[0].length };
}

/** After a closing quote only blanks and a comment may follow on that line. */
function endOfLine(text: string, from: number, line: number): number {
  const tail = /^[ \t]*(#[^\n]*)?(\n|$)/.exec(text.slice(from));
  if (!tail) throw new Error(`line ${line}: unexpected text after the closing quote`);
  return from + tail[0].length;
}
