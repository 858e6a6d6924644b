import type { V1Container } from '../../common/kube-client';
import { containerVariable, type KeyReaders } from './container-variable';

// The namespace's ConfigMaps and Secrets, as the readers see them.
const maps: Record<string, Record<string, string>> = { settings: { url: 'from-map', DB_HOST: 'map-host' }, extra: { DB_HOST: 'extra-host' } };
const secrets: Record<string, Record<string, string>> = { creds: { password: 's3cret', DB_HOST: 'secret-host' } };
const readers: KeyReaders = {
  configMap: async (name, key) => maps[name]?.[key],
  secret: async (name, key) => secrets[name]?.[key],
};

const app = (container: Omit<V1Container, 'name'>): V1Container => ({ name: 'app', ...container });

describe("a container's variable", () => {
  it('is a value, a ConfigMap key or a Secret key, with where it came from', async () => {
    const container = app({
      env: [
        { name: 'PLAIN', value: 'v' },
        { name: 'EMPTY' },
        { name: 'FROM_MAP', valueFrom: { configMapKeyRef: { name: 'settings', key: 'url' } } },
        { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
      ],
    });
    expect(await containerVariable(container, 'PLAIN', readers)).toEqual({ value: 'v', origin: { kind: 'value' } });
    // A variable declared without a value is set, to the empty string.
    expect(await containerVariable(container, 'EMPTY', readers)).toEqual({ value: '', origin: { kind: 'value' } });
    expect(await containerVariable(container, 'FROM_MAP', readers)).toEqual({
      value: 'from-map',
      origin: { kind: 'configMap', name: 'settings', key: 'url' },
    });
    expect(await containerVariable(container, 'FROM_SECRET', readers)).toEqual({
      value: 's3cret',
      origin: { kind: 'secret', name: 'creds', key: 'password' },
    });
  });

  it('expands $(NAME) from the variables defined before it, as the kubelet does: $$ is a $, an unknown or later name stays', async () => {
    const container = app({
      envFrom: [{ configMapRef: { name: 'settings' } }],
      env: [
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'DB_URL', value: 'postgres://app:$(DB_PASSWORD)@$(DB_HOST):5432/$(DB_NAME)?x=$$(DB_HOST)&y=$(LATER)' },
        { name: 'LATER', value: 'late' },
      ],
    });
    expect(await containerVariable(container, 'DB_URL', readers)).toEqual({
      value: 'postgres://app:s3cret@map-host:5432/$(DB_NAME)?x=$(DB_HOST)&y=$(LATER)',
      origin: { kind: 'value' },
    });
  });

  it('comes from envFrom, its prefix taken off the key; a later envFrom over an earlier, env over both', async () => {
    const container = app({
      envFrom: [{ configMapRef: { name: 'settings' } }, { configMapRef: { name: 'extra' } }, { prefix: 'APP_', secretRef: { name: 'creds' } }],
    });
    expect(await containerVariable(container, 'DB_HOST', readers)).toEqual({
      value: 'extra-host',
      origin: { kind: 'configMap', name: 'extra', key: 'DB_HOST' },
    });
    expect(await containerVariable(container, 'APP_DB_HOST', readers)).toEqual({
      value: 'secret-host',
      origin: { kind: 'secret', name: 'creds', key: 'DB_HOST' },
    });
    // A key the later source lacks is looked for in the earlier ones.
    expect(await containerVariable(container, 'url', readers)).toEqual({ value: 'from-map', origin: { kind: 'configMap', name: 'settings', key: 'url' } });
    const overridden = app({ ...container, env: [{ name: 'DB_HOST', value: 'env-host' }] });
    expect((await containerVariable(overridden, 'DB_HOST', readers))?.value).toBe('env-host');
  });

  it('is the last definition when env defines it twice, as kubelet sets it', async () => {
    const container = app({
      env: [
        { name: 'DB_HOST', value: 'first' },
        { name: 'DB_HOST', value: 'second' },
      ],
    });
    expect((await containerVariable(container, 'DB_HOST', readers))?.value).toBe('second');
  });

  it('is undefined when the spec does not define it', async () => {
    const container = app({ env: [{ name: 'OTHER', value: 'x' }], envFrom: [{ configMapRef: { name: 'settings' } }, { configMapRef: { name: 'gone' } }] });
    expect(await containerVariable(container, 'DATABASE_URL', readers)).toBeUndefined();
    expect(await containerVariable(app({}), 'DATABASE_URL', readers)).toBeUndefined();
  });

  it('says where a defined variable was looked for when it cannot be read, never its value', async () => {
    const container = app({
      env: [
        { name: 'GONE_MAP', valueFrom: { configMapKeyRef: { name: 'settings', key: 'nope' } } },
        { name: 'GONE_SECRET', valueFrom: { secretKeyRef: { name: 'nope', key: 'password' } } },
        { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      ],
    });
    await expect(containerVariable(container, 'GONE_MAP', readers)).rejects.toThrow(
      'container app takes GONE_MAP from ConfigMap settings, key nope, which does not exist',
    );
    await expect(containerVariable(container, 'GONE_SECRET', readers)).rejects.toThrow(
      'container app takes GONE_SECRET from Secret nope, key password, which does not exist',
    );
    await expect(containerVariable(container, 'POD_IP', readers)).rejects.toThrow(
      'container app takes POD_IP from a source other than a value, a ConfigMap key or a Secret key',
    );
    // Without a Secret reader (queue names), a Secret's key is refused rather than read.
    await expect(containerVariable(container, 'FROM_SECRET', { configMap: readers.configMap })).rejects.toThrow(
      'the value comes from Secret creds, key password, which is not read for this',
    );
  });
});
