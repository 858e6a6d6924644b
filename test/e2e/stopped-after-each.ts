/** For the suites only (the cluster benchmark uses mirrord.ts without jest). */
import type { Mirrord } from './mirrord';

/** The sessions a suite starts (push each one): every one still running is stopped after each test. */
export function stoppedAfterEach(): Mirrord[] {
  const sessions: Mirrord[] = [];
  // A stop takes up to 10 s (SIGTERM, then SIGKILL).
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((session) => session.stop()));
  }, 60_000);
  return sessions;
}
