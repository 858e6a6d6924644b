/**
 * zod, as this project's code loads it: import it from here, never from the package. The
 * package is about a hundred modules (sixty of them translations of its messages) that take
 * Node longer to load than the rest of the CLI before it can start the user's program;
 * `npm run build` bundles the part of it this project uses into one file (dist/vendor/zod.js, by
 * common/vendor-bundles.ts) and replaces this module's built form with a loader of that bundle,
 * which falls back to the package for anything it lacks (and where there is no bundle). The
 * types are the package's own.
 */
export { z } from 'zod';
export type { core } from 'zod';
