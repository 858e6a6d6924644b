/**
 * The Kubernetes client library, as every component loads it: import it from here, never from
 * the package. The package is thousands of small ES modules, which take Node about 400 ms to load
 * before the CLI can send its first request; `npm run build` bundles them into one file
 * (dist/vendor/kube-client.js, by vendor-bundles.ts) that loads in about 100 ms, and replaces
 * this module's built form with a loader of that bundle (the package itself where there is none).
 * The types are the package's own.
 */
export * from '@kubernetes/client-node';
