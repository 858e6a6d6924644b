/** Native sidecars (restartable init containers) are on by default from Kubernetes 1.29. */
export function supportsNativeSidecars(version: { major?: string; minor?: string }): boolean {
  // Managed clusters report minors like "29+"; anything unparsable gets the safe answer.
  const major = Number.parseInt(version.major ?? '', 10);
  const minor = Number.parseInt(version.minor ?? '', 10);
  if (!Number.isFinite(major) || !Number.isFinite(minor)) return false;
  return major > 1 || (major === 1 && minor >= 29);
}
