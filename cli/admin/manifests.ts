/**
 * The objects `mirrord install` applies: `manifests/` rendered the way `kubectl kustomize` renders
 * it, for the features that kustomization uses (resources, namespace, labels, images; a `List`
 * is its items), so that
 * neither kubectl nor kustomize is needed. Anything else is refused rather than half-applied.
 * The YAML parser is a parameter: the CLI passes @kubernetes/client-node's, the tests `yaml`'s.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

export type ParseAll = (text: string) => unknown[];
/** How an item of a `List` becomes an object (as ParseAll makes each document one). */
export type ReadItem = (item: unknown) => KubeObject;

interface Kustomization {
  resources?: string[];
  namespace?: string;
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean }[];
  images?: { name: string; newName?: string; newTag?: string }[];
}

const SUPPORTED = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'labels', 'images']);

/** Kinds that live outside namespaces; kustomize leaves their metadata.namespace alone. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'CustomResourceDefinition',
  'APIService',
]);

export function renderKustomization(dir: string, parseAll: ParseAll, readItem: ReadItem = (item) => item as KubeObject): KubeObject[] {
  const file = join(dir, 'kustomization.yaml');
  const k = parseAll(readFileSync(file, 'utf8'))[0] as Kustomization;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key) || (key === 'labels' && k.labels?.some((l) => l.includeSelectors)));
  if (unsupported.length) throw new Error(`${file}: ${unsupported.join(', ')} is not supported here; apply it with kubectl apply -k ${dir}`);
  const objects = (k.resources ?? []).flatMap((resource) => {
    const path = join(dir, resource);
    if (!existsSync(path)) throw new Error(`${file}: resource ${resource} not found`);
    if (statSync(path).isDirectory()) return renderKustomization(path, parseAll, readItem);
    return parseAll(readFileSync(path, 'utf8'))
      .filter((doc): doc is KubeObject => !!doc && typeof doc === 'object')
      .flatMap((doc) => (doc.kind === 'List' ? (doc.items as unknown[]).map(readItem) : [doc])); // as kustomize does
  });
  for (const object of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(object.kind)) object.metadata.namespace = k.namespace;
    for (const { pairs } of k.labels ?? []) object.metadata.labels = { ...object.metadata.labels, ...pairs };
    for (const container of containersOf(object)) {
      const image = k.images?.find((i) => imageName(container.image) === i.name);
      if (image) container.image = `${image.newName ?? image.name}:${image.newTag ?? imageTag(container.image) ?? 'latest'}`;
    }
  }
  return objects;
}

function containersOf(object: KubeObject): { image: string }[] {
  const spec = (object.spec as { template?: { spec?: { containers?: { image: string }[]; initContainers?: { image: string }[] } } } | undefined)?.template
    ?.spec;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])];
}

function imageName(image: string): string {
  return image.replace(/@.*$/, '').replace(/:[^:/]+$/, '');
}

function imageTag(image: string): string | undefined {
  return /:([^:/@]+)$/.exec(image.replace(/@.*$/, ''))?.[1];
}

/** "Deployment mirrord-system/mirrord-webhook", for what install and uninstall print. */
export function describeObject(object: KubeObject): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`;
}

/**
 * Deletion order: the webhook configuration and the APIService first (so no pod creation calls a
 * webhook that is going away, and no API discovery waits on an operator that is), the namespace
 * last (deleting it takes its contents along).
 */
export function deletionOrder(objects: KubeObject[]): KubeObject[] {
  const rank = (o: KubeObject) => (o.kind === 'MutatingWebhookConfiguration' || o.kind === 'APIService' ? 0 : o.kind === 'Namespace' ? 2 : 1);
  return [...objects].sort((a, b) => rank(a) - rank(b));
}
