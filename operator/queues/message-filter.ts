/**
 * A session's message filter (`feature.split_queues.<queue id>.message_filter`, as mirrord's): a
 * header or attribute name (RabbitMQ's message headers, Kafka's record headers, SQS's message
 * attributes) to an RE2 pattern. A message matches when every named header is there and its
 * value matches its pattern, searched, not anchored, as mirrord's Rust `regex` does. An empty
 * filter matches nothing: a session that names no header asks for no messages (the deployed app
 * keeps them all).
 */
import { RE2JS } from 're2js';
import { re2Problem } from '../../protocol/re2';

export type MessageFilter = Record<string, string>;

/** A message's headers, as text (a broker's other types are turned into their text first). */
export type MessageHeaders = Record<string, string>;

/** What is wrong with `filter`, one line per pattern that doesn't compile (naming its header). */
export function messageFilterProblems(filter: MessageFilter): string[] {
  return Object.entries(filter).flatMap(([header, pattern]) => {
    const problem = re2Problem(pattern);
    return problem ? [`message_filter.${header}: ${JSON.stringify(pattern)} is not a valid RE2 regular expression (${problem})`] : [];
  });
}

/** `filter` compiled once, for every message. */
export function compileMessageFilter(filter: MessageFilter): (headers: MessageHeaders) => boolean {
  const rules = Object.entries(filter).map(([header, pattern]) => ({ header, pattern: RE2JS.compile(pattern) }));
  if (!rules.length) return () => false;
  return (headers) => rules.every(({ header, pattern }) => headers[header] !== undefined && pattern.matcher(headers[header]).find());
}
