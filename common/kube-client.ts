/**
 * The Kubernetes client library, as every component loads it: import it from here, never from
 * the package. The package is thousands of small ES modules, which take Node about 400 ms to load
 * before the CLI can send its first request; `npm run build` bundles them into one file
 * (dist/vendor/kube-client.js, by vendor-bundles.ts), and replaces this module's built form with a
 * loader of that bundle (the package itself where there is none) that keeps V8's code cache of it
 * (common/code-cache.ts): about 180 ms, then 100 ms with the cache, on a slow machine.
 * The types are the package's own.
 */
export * from '@kubernetes/client-node';
