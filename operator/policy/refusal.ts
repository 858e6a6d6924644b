/** A policy's refusal of a session: which policy, what it refused, and what would be allowed instead. */
export interface PolicyRefusal {
  refused: true;
  /** The refusing policy (`NAMESPACE/NAME` or `cluster/NAME`). */
  policy: string;
  /** What was refused, e.g. `steal of port 80 without a filter on deploy/checkout`. */
  reason: string;
  /** What the applying policies would allow instead, e.g. `steal with a header filter matching /^x-user:/`. */
  allowed: string;
  /** The whole sentence for the user: `<reason> refused by policy <policy>; allowed: <allowed>`. */
  message: string;
}

export function refusal(policy: string, reason: string, allowed: string): PolicyRefusal {
  return { refused: true, policy, reason, allowed, message: `${reason} refused by policy ${policy}; allowed: ${allowed}` };
}
