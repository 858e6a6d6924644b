/**
 * The app container's volumes, mounted again in the sidecar under the app root at their
 * original paths, so the sidecar can serve the app's files and nothing else.
 */
import { posix } from 'node:path';
import type { V1Container, V1VolumeMount } from '../../common/kube-client';
import { DEFAULT_APP_ROOT } from '../../common/pod-contract';
import { rewriteReferences } from './app-env';

export function remountAppVolumes(app: V1Container, writable: boolean): V1VolumeMount[] {
  return (app.volumeMounts ?? []).map((mount) => {
    // Never more access than the app has; read-only unless the pod asks for writes.
    const readOnly = mount.readOnly === true || !writable;
    const copy: V1VolumeMount = { name: mount.name, mountPath: underAppRoot(mount.mountPath), readOnly };
    if (mount.subPath) copy.subPath = mount.subPath;
    // Expanded from the container's own env, where the app's names carry our prefix.
    if (mount.subPathExpr) copy.subPathExpr = rewriteReferences(mount.subPathExpr, (name) => appEnvMayDefine(app, name));
    // Only valid on a read-only mount, and only meaningful if the app asked for it.
    if (readOnly && mount.recursiveReadOnly) copy.recursiveReadOnly = mount.recursiveReadOnly;
    // mountPropagation is dropped: Bidirectional needs a privileged container.
    return copy;
  });
}

/** The app's mount paths as the app sees them: the value of MIRRORD_APP_MOUNTS. */
export function appMountPaths(app: V1Container): string[] {
  return (app.volumeMounts ?? []).map((mount) => posix.normalize(mount.mountPath).replace(/(.)\/+$/, '$1'));
}

function appEnvMayDefine(app: V1Container, name: string): boolean {
  return (app.envFrom ?? []).length > 0 || (app.env ?? []).some((variable) => variable.name === name);
}

export function underAppRoot(mountPath: string): string {
  return posix.join(DEFAULT_APP_ROOT, posix.normalize(`/${mountPath}`)).replace(/(.)\/+$/, '$1');
}
