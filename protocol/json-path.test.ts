import { evaluateJsonPath, jsonValueText, parseJsonPath, type Segment } from './json-path';

const doc = {
  user: { name: 'alice', roles: ['admin', 'dev'], 'odd key': 1 },
  items: [
    { id: 1, tags: ['a'] },
    { id: 2, tags: ['b', 'c'] },
  ],
  total: 3.5,
  ok: true,
};

function values(query: string): unknown[] {
  const segments = parseJsonPath(query);
  if (segments instanceof Error) throw segments;
  return evaluateJsonPath(segments as Segment[], doc);
}

describe('JSONPath of body filters', () => {
  it.each([
    ['$.user.name', ['alice']],
    ["$['user']['odd key']", [1]],
    ['$.user.roles[0]', ['admin']],
    ['$.user.roles[-1]', ['dev']],
    ['$.items[*].id', [1, 2]],
    ['$.items.*.id', [1, 2]],
    ['$..tags[*]', ['a', 'b', 'c']],
    ['$..id', [1, 2]],
    ['$.total', [3.5]],
    ['$.missing.deeper', []],
    ['$.items[5]', []],
    ['$', [doc]],
  ])('%s selects %j', (query, expected) => {
    expect(values(query)).toEqual(expected);
  });

  it('refuses what it does not understand, saying where', () => {
    expect((parseJsonPath('user.name') as Error).message).toBe('a JSONPath starts with $ (got "user.name")');
    expect((parseJsonPath('$.items[?(@.id == 1)]') as Error).message).toMatch(/^filter expressions \(\[\?…\]\) are not supported at character/);
    expect((parseJsonPath('$.items[1:2]') as Error).message).toMatch(/"\[1:2\]" is not a name, an index or \*/);
    expect((parseJsonPath('$.items[0') as Error).message).toMatch(/an unclosed \[/);
  });

  it('gives strings as they are and other values as JSON, for the regex', () => {
    expect([jsonValueText('alice'), jsonValueText(3.5), jsonValueText(true), jsonValueText(null), jsonValueText({ a: 1 })]).toEqual([
      'alice',
      '3.5',
      'true',
      'null',
      '{"a":1}',
    ]);
  });
});
