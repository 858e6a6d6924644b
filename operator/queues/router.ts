/**
 * Which consumer a message of a split queue goes to: the first session (in the order they
 * joined) whose filter it matches, else the deployed app. Two sessions whose filters both match
 * a message: the one that joined first gets it, so a message is never copied.
 */
import { compileMessageFilter, type MessageFilter, type MessageHeaders } from './message-filter';

export class SplitRouter {
  private readonly sessions: { id: string; matches: (headers: MessageHeaders) => boolean }[] = [];

  join(id: string, filter: MessageFilter): void {
    this.leave(id);
    this.sessions.push({ id, matches: compileMessageFilter(filter) });
  }

  leave(id: string): void {
    const at = this.sessions.findIndex((session) => session.id === id);
    if (at >= 0) this.sessions.splice(at, 1);
  }

  /** The session the message goes to, or undefined: the deployed app. */
  route(headers: MessageHeaders): string | undefined {
    return this.sessions.find((session) => session.matches(headers))?.id;
  }

  get ids(): string[] {
    return this.sessions.map((session) => session.id);
  }
}
