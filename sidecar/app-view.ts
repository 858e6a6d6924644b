/**
 * What a session sees of the app: the root its files are served beneath and the environment it
 * is given. Without the whole-container opt-in, one root for every session (the app's volumes,
 * mounted again in the sidecar by the webhook) and the spec's env as the webhook copied it. With
 * it, each session looks the app container up when it starts (the container may have restarted
 * since the last one) and gets its root file system and its process's environment.
 */
import fs from 'node:fs';
import type { Logger } from '../common/log';
import { findAppProcess } from './app-container';
import type { SidecarConfig } from './config';
import { openRoot, type AppRoot } from './files';

export interface AppView {
  root: AppRoot | Error;
  env: Record<string, string>;
  /** Lets go of what the session held (the app container's root). */
  close(): void;
}

export function appViews(config: SidecarConfig, log: Logger): () => AppView {
  if (!config.wholeContainer) {
    const root = openRoot(config.appRoot);
    if (root instanceof Error) log.warn(`file operations will fail: ${root.message}`);
    const view: AppView = { root, env: config.appEnv, close: () => undefined };
    return () => view;
  }
  return () => {
    const app = findAppProcess();
    if (app instanceof Error) {
      log.warn(`the whole container can't be served: ${app.message}`);
      return { root: new Error(`the app container is not available: ${app.message}`), env: config.appEnv, close: () => undefined };
    }
    const root = openRoot(`/proc/${app.pid}/root`);
    if (root instanceof Error) log.warn(`the whole container can't be served: ${root.message}`);
    return {
      root,
      env: app.env,
      close: () => {
        if (!(root instanceof Error)) fs.closeSync(root.fd);
      },
    };
  };
}
