import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '../harness/eventually';
import { SERVICE_IP, SERVICE_NAME } from '../harness/netns';
import { APP_PORT } from '../harness/pod';
import { MAIN } from '../e2e/mirrord';
import { freePort } from '../harness/free-port';
import { noRulesLeft, podSuite } from './suite';

jest.setTimeout(60_000);

interface CliRun {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
}

function startCli(args: string[], cwd?: string, env: NodeJS.ProcessEnv = {}): CliRun {
  const started = Date.now();
  const child = spawn(process.execPath, [MAIN, ...args], { cwd, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, ms: Date.now() - started })),
  );
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

async function cli(args: string[], cwd?: string) {
  const run = startCli(args, cwd);
  const result = await run.done;
  return { ...result, stdout: run.stdout(), stderr: run.stderr() };
}

function accepts(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('error', reject).once('connect', () => {
      socket.destroy();
      resolve();
    });
  });
}

describe('mirrord attach (the built CLI) against the pod', () => {
  const suite = podSuite();
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'mirrord-cli-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const agent = () => ['--agent-cmd', suite.pod.agentCommand];

  it("runs the command with the pod's environment and shows its progress", async () => {
    const result = await cli(['attach', ...agent(), '--', 'sh', '-c', 'echo "$GREETING"; echo "$DATABASE_URL"']);
    expect(result.stdout).toBe('hello from the pod\npostgres://db.internal:5432/app\n');
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^mirrord: connecting to the agent command/m);
    expect(result.stderr).toMatch(/^mirrord: session \S+ on pod default\/test-pod \(198\.18\.0\.1\)$/m);
  });

  it('--quiet prints nothing of its own; env include/exclude and a .mirrord/mirrord.json override apply', async () => {
    mkdirSync(join(dir, '.mirrord'));
    writeFileSync(join(dir, '.mirrord/mirrord.json'), JSON.stringify({ feature: { env: { exclude: 'DATABASE_*', override: { EXTRA: 'from the file' } } } }));
    const script = 'echo "${GREETING-unset} ${DATABASE_URL-unset} ${EXTRA-unset}"';
    const fromFile = await cli(['attach', ...agent(), '--quiet', '--', 'sh', '-c', script], dir);
    expect(fromFile).toMatchObject({ code: 0, stdout: 'hello from the pod unset from the file\n', stderr: '' });
    const flags = await cli(['attach', ...agent(), '-q', '--env-include', 'DATA*', '--', 'sh', '-c', script]);
    expect(flags).toMatchObject({ code: 0, stdout: 'unset postgres://db.internal:5432/app unset\n' });
  });

  it("exits with the command's exit code, or 128 + its signal", async () => {
    expect((await cli(['attach', ...agent(), '-q', '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await cli(['exec', ...agent(), '-q', 'sh', '-c', 'kill -TERM $$'])).code).toBe(128 + 15);
    const missing = await cli(['attach', ...agent(), '-q', '--', 'no-such-program-here']);
    expect(missing.code).toBe(127);
    expect(missing.stderr).toMatch(/^mirrord: cannot run "no-such-program-here": command not found\nhint: /);
  });

  it('forwards SIGTERM and SIGINT to the command and ends the session', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const child = `process.on('${signal}', () => { console.log('caught'); process.exit(5); }); console.log('ready'); setTimeout(() => process.exit(9), 15_000);`;
      const run = startCli(['attach', ...agent(), '--', process.execPath, '-e', child]);
      await eventually(async () => expect(run.stdout()).toBe('ready\n'));
      run.child.kill(signal);
      const ended = await Promise.race([run.done, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
      expect({ signal, ended, stdout: run.stdout(), stderr: run.stderr() }).toMatchObject({ ended: { code: 5 }, stdout: 'ready\ncaught\n' });
    }
    const { sessions } = (await (await suite.pod.connect()).call('sessions', {})).result;
    expect(sessions.filter((s) => s.client?.startsWith('mirrord attach'))).toEqual([]);
  });

  it('Ctrl-C at a terminal reaches the command once, and mirrord waits for it', async () => {
    const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;
    const child = "let n = 0; process.on('SIGINT', () => n++); console.log('ready'); setTimeout(() => { console.log('got ' + n); process.exit(3); }, 1500);";
    // `exec`: script runs the line with $SHELL, and a shell that stays in between (dash does)
    // dies of the Ctrl-C itself, hiding mirrord's exit code.
    const line =
      'exec ' + [process.execPath, MAIN, 'attach', '--agent-cmd', suite.pod.agentCommand, '-q', '--', process.execPath, '-e', child].map(quote).join(' ');
    // `script` gives mirrord and the command a terminal, whose Ctrl-C goes to its whole foreground group.
    const terminal = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    terminal.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await eventually(async () => expect(output).toContain('ready'));
    terminal.stdin!.write('\x03');
    const code = await new Promise((resolve) => terminal.on('close', resolve));
    expect(output).toMatch(/got 1\r?\n/);
    expect(code).toBe(3);
  });

  it('steals the pod port the command listens on, and leaves no rules once it exits', async () => {
    const server = [
      "const http = require('node:http');",
      'const server = http.createServer((req, res) => { res.end(`cli-local ${req.method} ${req.url}\\n`); server.close(); });',
      `server.listen(${APP_PORT}, () => console.log('listening'));`,
    ].join('\n');
    const run = startCli(['attach', ...agent(), '--steal', '--', process.execPath, '-e', server]);
    await eventually(async () => expect(run.stderr()).toMatch(new RegExp(`subscribed port ${APP_PORT} \\(steal\\)`)));
    expect(await suite.pod.net.natRules()).toContain(`--dport ${APP_PORT} -j REDIRECT`);
    expect((await suite.pod.request('/through-the-cli')).body).toBe('cli-local GET /through-the-cli\n');
    expect(await run.done).toMatchObject({ code: 0 });
    await noRulesLeft(suite.pod);
    expect((await suite.pod.request('/after')).body).toBe('app GET /after body=0\n');
  });

  it("fails the command's listen() with EADDRINUSE when another session holds the pod port", async () => {
    const owner = await suite.pod.connect();
    await owner.subscribe({ port: APP_PORT, mode: 'steal' });
    try {
      const server = `require('node:net').createServer().listen(${APP_PORT}).on('error', (e) => { console.log(e.code); process.exit(4); });`;
      const refused = await cli(['attach', ...agent(), '--steal', '--', process.execPath, '-e', server]);
      expect(refused).toMatchObject({ code: 4, stdout: 'EADDRINUSE\n' });
      expect(refused.stderr).toMatch(
        new RegExp(`could not steal port ${APP_PORT}: port ${APP_PORT} is already stolen without a filter by session ${owner.info.sessionId}`),
      );
      expect(await suite.pod.net.natRules()).toContain(`--dport ${APP_PORT} -j REDIRECT`);
    } finally {
      owner.close();
    }
    await noRulesLeft(suite.pod);
  });

  describe('when the connection to the agent drops', () => {
    const counting = [
      "let n = 0; const server = require('node:http').createServer((req, res) => res.end(`n=${++n} ${req.url}\\n`));",
      `server.listen(${APP_PORT}); process.on('SIGTERM', () => process.exit(0));`,
    ].join('\n');
    /** The agent command, recording each pid it runs as (it execs into the socat that carries the session). */
    const killable = (pids: string, onlyOnce = false) => `${onlyOnce ? `[ -e ${pids} ] && exit 3; ` : ''}echo $$ >> ${pids}; exec ${suite.pod.agentCommand}`;
    const agentPids = (pids: string) => readFileSync(pids, 'utf8').trim().split('\n').map(Number);

    it('reconnects to the pod, subscribes the ports again, and the command keeps running', async () => {
      const pids = join(dir, 'pids');
      const run = startCli(['attach', '--agent-cmd', killable(pids), '--steal', '--', process.execPath, '-e', counting]);
      await eventually(async () => expect(run.stderr()).toMatch(new RegExp(`subscribed port ${APP_PORT} \\(steal\\)`)));
      expect((await suite.pod.request('/one')).body).toBe('n=1 /one\n');

      process.kill(agentPids(pids)[0], 'SIGKILL');
      await eventually(
        async () =>
          expect(run.stderr()).toMatch(/reconnected after \d+ attempts?: session \w+ on pod default\/test-pod; connections open before the drop were reset\n/),
        15_000,
      );
      expect(run.stderr()).toMatch(/mirrord: warning: lost the connection to the pod \(.+\); reconnecting…\n/);
      expect(agentPids(pids)).toHaveLength(2);
      // the same process, its count going on, answers the pod's port again
      expect((await suite.pod.request('/two')).body).toBe('n=2 /two\n');
      const { sessions } = (await (await suite.pod.connect()).call('sessions', {})).result;
      expect(sessions.filter((s) => s.client?.startsWith('mirrord attach'))).toHaveLength(1);

      run.child.kill('SIGTERM');
      expect(await run.done).toMatchObject({ code: 0 });
      await noRulesLeft(suite.pod);
    });

    it('gives up after MIRRORD_RECONNECT_TIMEOUT, stops the command and says why', async () => {
      const pids = join(dir, 'pids');
      const run = startCli(['attach', '--agent-cmd', killable(pids, true), '--steal', '--', process.execPath, '-e', counting], undefined, {
        MIRRORD_RECONNECT_TIMEOUT: '1',
      });
      await eventually(async () => expect(run.stderr()).toMatch(new RegExp(`subscribed port ${APP_PORT} \\(steal\\)`)));
      process.kill(agentPids(pids)[0], 'SIGKILL');
      const ended = await run.done;
      expect(ended.code).toBe(1);
      expect(ended.ms).toBeLessThan(15_000);
      expect(run.stderr()).toMatch(
        /\nmirrord: session \w+ on pod default\/test-pod ended while the command ran \(.+; reconnecting for 1 s failed: could not reach the agent through the agent command .+ exited \(code 3\).*\); the command was stopped\nhint: /,
      );
      await noRulesLeft(suite.pod);
      expect((await suite.pod.request('/after')).body).toBe('app GET /after body=0\n');
    });
  });

  it('exits with the command even when a process it left in the background still uses the layer', async () => {
    const marker = join(dir, 'resolved');
    const background = [
      `python3 -c "import socket, time; socket.getaddrinfo('${SERVICE_NAME}', 80); open('${marker}', 'w').close(); time.sleep(30)" >/dev/null 2>&1 &`,
      `until [ -e ${marker} ]; do sleep 0.05; done; echo $!`,
    ].join('\n');
    const result = await cli(['attach', ...agent(), '-q', '--', 'sh', '-c', background]);
    process.kill(Number(result.stdout.trim()));
    expect(result.code).toBe(0);
    expect(result.ms).toBeLessThan(5000);
  });

  it("serves the command's outgoing connections, DNS and files from the pod; --no-outgoing and --fs-mode local keep them here", async () => {
    const script = `curl -sS --max-time 5 http://${SERVICE_NAME}:7080/from-cli; cat /etc/config/app.yaml`;
    const through = await cli(['attach', ...agent(), '-q', '--', 'sh', '-c', script]);
    expect(through).toMatchObject({ code: 0, stdout: 'svc GET /from-cli\ngreeting: hello from the pod\n' });
    const local = await cli([
      'attach',
      ...agent(),
      '-q',
      '--no-outgoing',
      '--fs-mode',
      'local',
      '--',
      'sh',
      '-c',
      `curl -sS --max-time 3 http://${SERVICE_IP}:7080/x; cat /etc/config/app.yaml`,
    ]);
    expect(local.stdout).toBe('');
    expect(local.stderr).toMatch(/curl: \(7\)/);
    expect(local.stderr).toMatch(/No such file or directory/);
  });

  it('--port P:LOCAL delivers the pod port P to a command listening on LOCAL', async () => {
    const localPort = 18080;
    const server = [
      "const http = require('node:http');",
      'const server = http.createServer((req, res) => { res.end(`mapped ${req.url}\n`); server.close(); });',
      `server.listen(${localPort});`,
    ].join('\n');
    const run = startCli(['attach', ...agent(), '--steal', '--port', `${APP_PORT}:${localPort}`, '--', process.execPath, '-e', server]);
    await eventually(async () => expect(run.stderr()).toMatch(new RegExp(`subscribed port ${APP_PORT} \\(steal\\)`)));
    expect((await suite.pod.request('/mapped')).body).toBe('mapped /mapped\n');
    expect(await run.done).toMatchObject({ code: 0 });
    await noRulesLeft(suite.pod);
  });

  it('reaches the agent at a WebSocket URL', async () => {
    // A loopback bridge into the pod's namespace stands in for `kubectl port-forward`.
    const port = await freePort();
    const bridge = spawn('socat', [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `EXEC:${suite.pod.agentCommand.replace(/:/g, '\\:')}`], {
      stdio: 'ignore',
    });
    try {
      await eventually(() => accepts(port));
      const result = await cli(['attach', '--agent-url', `ws://127.0.0.1:${port}`, '--', 'sh', '-c', 'echo "$GREETING"']);
      expect(result).toMatchObject({ code: 0, stdout: 'hello from the pod\n' });
      expect(result.stderr).toMatch(/^mirrord: connecting to ws:\/\/127\.0\.0\.1:\d+…$/m);
    } finally {
      bridge.kill();
    }
  });

  it("reaches the agent in the pod's network namespace itself (--agent-netns), no relay process; a wrong namespace or port is a clear error", async () => {
    const name = suite.pod.agentNetns;
    const direct = await cli(['attach', '--agent-netns', name, '--', 'sh', '-c', `echo "$GREETING"; getent hosts ${SERVICE_NAME}`]);
    expect(direct.code).toBe(0);
    // the pod's environment, and its DNS through the layer
    expect(direct.stdout.split(/\s+/).filter(Boolean)).toEqual(['hello', 'from', 'the', 'pod', SERVICE_IP, SERVICE_NAME]);
    expect(direct.stderr).toMatch(new RegExp(`^mirrord: connecting to 127\\.0\\.0\\.1:61234 in the network namespace ${name}…$`, 'm'));

    const byPath = await cli(['attach', '--agent-netns', `/run/netns/${name}:61234`, '-q', '--', 'sh', '-c', 'echo "$GREETING"']);
    expect(byPath).toMatchObject({ code: 0, stdout: 'hello from the pod\n', stderr: '' });

    const missing = await cli(['attach', '--agent-netns', 'no-such-namespace', '--', 'true']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^mirrord: cannot open the network namespace no-such-namespace \(\/run\/netns\/no-such-namespace\): open: No such file or directory\nhint: `ip netns list` shows/m,
    );
    const closed = await cli(['attach', '--agent-netns', `${name}:1`, '--', 'true']);
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(
      new RegExp(`^mirrord: nothing listens on 127\\.0\\.0\\.1:1 in the network namespace ${name}\nhint: is the sidecar running there`, 'm'),
    );
    const notNetns = await cli(['attach', '--agent-netns', '/proc/self/ns/mnt', '--', 'true']);
    expect(notNetns.code).toBe(1);
    expect(notNetns.stderr).toMatch(
      /^mirrord: cannot enter the network namespace \/proc\/self\/ns\/mnt: setns: Invalid argument\nhint: is \/proc\/self\/ns\/mnt a network namespace\?/m,
    );
    // Without CAP_SYS_ADMIN (not root): how to get on, as root or through a relay for that namespace.
    const unprivileged = await new Promise<{ code: unknown; stderr: string }>((resolve) =>
      execFile(
        'setpriv',
        ['--inh-caps=-all', '--bounding-set=-sys_admin', process.execPath, MAIN, 'attach', '--agent-netns', name, '--', 'true'],
        { timeout: 20_000 },
        (error, _stdout, stderr) => resolve({ code: error?.code ?? 0, stderr }),
      ),
    );
    expect(unprivileged.code).toBe(1);
    expect(unprivileged.stderr).toMatch(
      new RegExp(
        `^mirrord: cannot enter the network namespace ${name}: setns: Operation not permitted\nhint: entering a network namespace takes root \\(CAP_SYS_ADMIN\\): run mirrord with sudo; or --agent-cmd 'sudo ip netns exec ${name} socat - TCP:127\\.0\\.0\\.1:61234'$`,
        'm',
      ),
    );
  });

  it('a bad config file is a one-line error naming the key, before any connection', async () => {
    const file = join(dir, 'mirrord.json');
    writeFileSync(file, JSON.stringify({ feature: { network: { incoming: { modee: 'steal' } } } }));
    const result = await cli(['attach', ...agent(), '-f', file, '--', 'true']);
    expect(result.code).not.toBe(0);
    expect(result.ms).toBeLessThan(3000);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`mirrord: ${file}: feature.network.incoming.modee: unknown key`);
    expect(lines[1]).toMatch(/^hint: /);
    expect(lines).toHaveLength(2);

    writeFileSync(file, JSON.stringify({ feature: { network: { dns: 'yes' } } }));
    expect((await cli(['attach', ...agent(), '-f', file, '--', 'true'])).stderr).toMatch(
      /^mirrord: .*: feature\.network\.dns: expected boolean or object, got string "yes"$/m,
    );

    // every malformed value at once, not the first and "(and N more)"
    writeFileSync(file, JSON.stringify({ feature: { network: { dns: 'yes', incoming: { port_mapping: [[0, 80]] } }, fs: { mode: 'sometimes' } } }));
    const many = await cli(['attach', ...agent(), '-f', file, '--', 'true']);
    expect(many.code).not.toBe(0);
    for (const key of ['feature.network.dns', 'feature.network.incoming.port_mapping', 'feature.fs.mode']) expect(many.stderr).toContain(key);
    expect(many.stderr).not.toMatch(/and \d+ more/);
  });

  it("a mirrord user's file attaches: each feature not here yet is named once in a warning, the rest applies, with mirrord's flags and variables on top", async () => {
    const file = join(dir, 'mirrord.json');
    writeFileSync(
      file,
      JSON.stringify({
        accept_invalid_certificates: false,
        agent: { log_level: 'info', ttl: 30 },
        feature: {
          network: {
            incoming: false,
            outgoing: { filter: { local: ['tcp://1.1.1.0/24:1337', 'example.com', ':53'] }, ignore_localhost: false },
            dns: { enabled: true },
          },
          fs: { mode: 'localwithoverrides', read_only: ['^/etc/config/'], not_found: ['^/etc/config/secret\\.txt$'] },
          env: { include: 'GREETING;DATABASE_URL', unset: ['HOME_GROWN'] },
          hostname: true,
          split_queues: { orders: { queue_type: 'SQS', message_filter: { author: 'me' } } },
          copy_target: { scale_down: true },
        },
      }),
    );
    const command = 'echo "$GREETING|${DATABASE_URL:-none}|${HOME_GROWN:-unset}"; cat /etc/config/app.yaml';
    // -x: mirrord's short flag for env exclude; MIRRORD_FILE_MODE overrides the file's fs.mode
    const run = startCli(['attach', ...agent(), '-f', file, '-x', 'DATABASE_URL', '--', 'sh', '-c', command], undefined, {
      HOME_GROWN: 'here',
      MIRRORD_FILE_MODE: 'read',
    });
    const { code } = await run.done;
    expect(run.stderr()).not.toMatch(/error|hint:/i);
    expect(code).toBe(0);
    expect(run.stdout()).toBe('hello from the pod|none|unset\ngreeting: hello from the pod\n');
    const warnings = run
      .stderr()
      .split('\n')
      .filter((line) => line.includes('not supported yet'));
    expect(warnings.join('\n')).toMatch(/agent/);
    expect(new Set(warnings).size).toBe(warnings.length);
    // Here, with the agent given directly, there is no target to copy, and no workload's queues to split.
    expect(run.stderr()).toContain('copy_target: there is no target to copy; it is ignored');
    expect(run.stderr()).toContain(
      'feature.split_queues needs a target reached through the cluster (deploy/NAME, statefulset/NAME, rollout/NAME); it is ignored',
    );
  });

  it('--version, --help, and a usage error', async () => {
    expect(await cli(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^mirrord \d+\.\d+\.\d+\n$/) });
    expect(await cli(['attach', '--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('--agent-cmd CMD') });
    const unknown = await cli(['attach', '--stael', '--', 'true']);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toMatch(/^mirrord: unknown option --stael\nhint: .+\n$/);
  });

  it('an unreachable agent, or no transport at all, fails within a few seconds with a hint', async () => {
    const unreachable = await cli(['attach', '--agent-cmd', 'false', '--', 'true']);
    expect(unreachable.code).toBe(1);
    expect(unreachable.ms).toBeLessThan(4000);
    expect(unreachable.stderr).toMatch(/^mirrord: could not reach the agent through the agent command `false`: the command exited \(code 1\)/m);
    expect(unreachable.stderr).toMatch(/^hint: /m);

    const silent = await cli(['attach', '--agent-cmd', 'sleep 60', '--', 'true']);
    expect(silent.code).toBe(1);
    expect(silent.ms).toBeLessThan(8000);
    expect(silent.stderr).toMatch(/no answer within 5s/);

    // a cluster that isn't there: the API server's address is refused at once
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'mirrord-kubeconfig-')), 'config');
    writeFileSync(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'me', user: { token: 'x' } }],
        contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'me', namespace: 'shop' } }],
        'current-context': 'gone',
      }),
    );
    const noCluster = await cli(['attach', 'deploy/app', '--kubeconfig', kubeconfig, '--', 'true']);
    expect(noCluster.code).toBe(1);
    expect(noCluster.ms).toBeLessThan(8000);
    expect(noCluster.stderr).toMatch(/^mirrord: cannot reach the Kubernetes API at https:\/\/127\.0\.0\.1:1: .*\nhint: /m);
    const noContext = await cli(['attach', 'deploy/app', '--kubeconfig', kubeconfig, '--context', 'other', '--', 'true']);
    expect(noContext.stderr).toMatch(/^mirrord: context "other" is not in the kubeconfig/m);
    const notTarget = await cli(['attach', 'daemonset/app', '--kubeconfig', kubeconfig, '--', 'true']);
    expect(notTarget.code).toBe(2);
    expect(notTarget.stderr).toMatch(/^mirrord: "daemonset\/app" is not a target\nhint: targets are pod\/NAME, deploy\/NAME/m);
  });
});
