/** Whether the pod has IPv6: an address other than loopback and link-local on some interface. */
import os from 'node:os';

export function podHasIpv6(): boolean {
  return Object.values(os.networkInterfaces()).some((addresses) =>
    (addresses ?? []).some((address) => address.family === 'IPv6' && !address.internal && !address.address.toLowerCase().startsWith('fe80:')),
  );
}
