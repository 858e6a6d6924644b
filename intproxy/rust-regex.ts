/**
 * mirrord's configuration holds Rust regexes (the `regex` and `fancy-regex` crates). The few
 * spellings JavaScript writes differently are translated here, so that a mirrord user's
 * patterns work unchanged: `(?P<name>…)` named groups, and inline flags at the very start
 * (`(?i)`, `(?s)`, `(?m)`), which JavaScript only has as RegExp flags.
 */
export function compileRustRegex(source: string, flags = ''): RegExp {
  let body = withJsGroups(source);
  const inline = /^\(\?([ism]+)\)/.exec(body);
  if (inline) {
    body = body.slice(inline[0].length);
    flags += inline[1];
  }
  return new RegExp(body, [...new Set(flags)].join(''));
}

/** `(?P<name>…)` as JavaScript writes it. */
function withJsGroups(source: string): string {
  return source.replace(/\(\?P</g, '(?<');
}

/**
 * The text `Regex::replace` produces for one match: `$1`, `${1}`, `$name` and `${name}` are
 * the groups (an absent one is empty), `$$` is a `$`. As in Rust, `$name` takes the longest
 * run of letters, digits and `_`, so `$a-b` is group `a` followed by `-b`.
 */
export function expandReplacement(template: string, match: RegExpExecArray): string {
  return template.replace(/\$(?:\$|\{([^}]*)\}|([A-Za-z0-9_]+))/g, (all, braced: string | undefined, bare: string | undefined) => {
    if (all === '$$') return '$';
    const name = braced ?? bare ?? '';
    const value = /^\d+$/.test(name) ? match[Number(name)] : match.groups?.[name];
    return value ?? '';
  });
}
