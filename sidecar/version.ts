/** The sidecar's own version, reported in every session's hello. */
import { readFileSync } from 'node:fs';
import { packagePath } from './package-root';

export const SIDECAR_VERSION: string = (JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version: string }).version;
