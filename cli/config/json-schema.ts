/** The JSON Schema published as `mirrord.schema.json`, for editors and other tools. */
import { z } from '../../protocol/zod';
import { configSchema } from './schema';

export const SCHEMA_FILE = 'cli/config/mirrord.schema.json';

export function configJsonSchema(): string {
  return `${JSON.stringify(z.toJSONSchema(configSchema), null, 2)}\n`;
}
