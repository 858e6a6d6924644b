/**
 * The sidecar's notices, as the user reads them: each said once, and the same one again only
 * after QUIET_MS, with how many times it came meanwhile (a copy cut off on every connection of a
 * busy port is one line, not thousands).
 */

/** How long the same notice stays quiet after it was said. */
export const QUIET_MS = 10_000;

type Level = 'info' | 'warn' | 'error';

export class RepeatedNotices {
  /** per notice text: when it was last said, and how many came since */
  private readonly said = new Map<string, { at: number; since: number }>();

  constructor(
    private readonly say: (level: Level, text: string) => void,
    private readonly now: () => number = Date.now,
  ) {}

  tell(level: Level, text: string): void {
    const last = this.said.get(text);
    const now = this.now();
    if (last && now - last.at < QUIET_MS) {
      last.since++;
      return;
    }
    this.said.set(text, { at: now, since: 0 });
    this.say(level, last?.since ? `${text} (${last.since} more time${last.since === 1 ? '' : 's'} since it was last said)` : text);
  }
}
