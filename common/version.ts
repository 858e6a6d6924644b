/** This package's version: the CLI's, the sidecar's (reported in every hello) and the webhook's. */
import { readFileSync } from 'node:fs';
import { packagePath } from './package-root';

export const VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
