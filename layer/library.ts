/** Where the preload library is (built by node-gyp at `npm install`). */
import { packagePath } from '../common/package-root';

export function layerLibrary(): string {
  return packagePath('build/Release/mirrord_layer.so');
}
