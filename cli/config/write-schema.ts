/** `npm run schema`: regenerates the committed JSON Schema from the zod schema. */
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { packagePath } from '../../common/package-root';
import { configJsonSchema, SCHEMA_FILE } from './json-schema';

const file = join(dirname(packagePath('package.json')), SCHEMA_FILE);
writeFileSync(file, configJsonSchema());
process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
