/** What the registry needs of the nat rules that send a port's new connections to its listener. */
export interface Redirector {
  /** Removes whatever a previous, crashed sidecar left (at start). */
  removeStale(): Promise<void>;
  /** Sends new TCP connections for `port` to `toPort` on the receiving address. */
  redirect(port: number, toPort: number): Promise<void>;
  /** Stops redirecting `port`: its new connections reach the app directly. */
  unredirect(port: number): Promise<void>;
  /** Keeps redirecting what already flows on `connection` until it closes. */
  track(connection: { once(event: 'close', listener: () => void): unknown }): void;
  /** Whether the pod's clients reach the app through a service mesh's proxy, over loopback (mesh.ts). */
  meshed(): Promise<boolean>;
  /** Removes every rule of ours (shutdown). */
  removeAll(): Promise<void>;
}
