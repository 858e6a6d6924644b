import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configJsonSchema, SCHEMA_FILE } from './json-schema';

describe('the published JSON Schema', () => {
  it('is what the zod schema generates (regenerate with `npm run schema`)', () => {
    const committed = readFileSync(join(__dirname, '..', '..', SCHEMA_FILE), 'utf8');
    expect(committed).toBe(configJsonSchema());
  });

  it('rejects unknown keys at every level of the supported features, as the CLI does', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.additionalProperties).toBe(false);
    const objectOf = (anyOf: { type: string }[]) =>
      anyOf.find((branch) => branch.type === 'object') as unknown as {
        additionalProperties: unknown;
        properties: Record<string, { anyOf: { type: string }[] }>;
      };
    const network = objectOf(schema.properties.feature.properties.network.anyOf);
    expect(network.additionalProperties).toBe(false);
    expect(objectOf(network.properties.incoming.anyOf).additionalProperties).toBe(false);
    expect(objectOf(schema.properties.feature.properties.fs.anyOf).additionalProperties).toBe(false);
  });
});

describe('the schema of the keys not supported yet', () => {
  it('says so in their description, for editors', () => {
    const schema = JSON.parse(configJsonSchema());
    expect(schema.properties.agent.description).toMatch(/\(not supported yet: ignored, with a warning\)$/);
    expect(schema.properties.telemetry.description).toMatch(/\(no effect here: no telemetry is sent\)$/);
  });
});
