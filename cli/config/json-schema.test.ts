import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema, SCHEMA_FILE } from './json-schema';

describe('the published JSON Schema', () => {
  it('is what the zod schema generates (regenerate with `npm run schema`)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', SCHEMA_FILE), 'utf8');
    expect(committed).toBe(configJsonSchema());
  });

  it('rejects unknown keys at every level, as the CLI does', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    const incoming = schema.properties.feature.properties.network.properties.incoming.anyOf;
    expect(incoming.find((branch: { type: string }) => branch.type === 'object').additionalProperties).toBe(false);
  });
});
