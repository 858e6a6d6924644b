/**
 * The split the queue-splitting tests make of 1,000 messages with users alice, bob, carol and
 * bobby (sessions alice: `^alice$`, bob: `^bob`): what each consumer received is only what its
 * filter names, the app getting the rest.
 */
export function expectRoutedByUser({ app, forAlice, forBob }: Record<'app' | 'forAlice' | 'forBob', { user: string }[]>): void {
  expect(forAlice.every((m) => m.user === 'alice')).toBe(true);
  expect(forBob.every((m) => m.user === 'bob' || m.user === 'bobby')).toBe(true);
  expect(app.every((m) => m.user === 'carol')).toBe(true);
}
