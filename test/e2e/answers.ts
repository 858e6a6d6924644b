/**
 * Who answered, in the end-to-end suites: the demo app's answer, and what their local program
 * (fixtures/answer.py) saw, from its output under `mirrord attach`.
 */
import type { Mirrord } from './mirrord';

/** The demo app's answer to GET `path`, from any pod of the Deployment `app`. */
export function fromApp(path: string): RegExp {
  return new RegExp(`^hello from app-[\\w-]+ \\(GET ${path.replace(/[/.]/g, '\\$&')}\\)\\n$`);
}

/**
 * The local program (fixtures/answer.py, started as NAME) saw exactly these requests. Its lines
 * come over the CLI's stdout, which may trail the HTTP answer a little, hence the wait; their
 * order is not the test's business.
 */
export async function saw(session: Mirrord, name: string, requests: string[]): Promise<void> {
  const expected = requests.map((request) => `${name} saw ${request}`);
  for (const line of expected) await session.waitFor(new RegExp(`^${line.replace(/[/.()]/g, '\\$&')}$`, 'm'), 'stdout', 30_000);
  expect(session.output().stdout.split('\n').filter(Boolean).sort()).toEqual(expected.sort());
}
