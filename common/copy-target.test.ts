import { readScaleDown, restoreIfStillScaled, restorePatch, scaleDownPatch, writeScaleDown, SCALED_DOWN_ANNOTATION, SCALED_DOWN_LABEL } from './copy-target';

describe('scale-down records', () => {
  it('read back what was written', () => {
    expect(readScaleDown(writeScaleDown({ replicas: 3, job: 'mirrord-copy-1a2b' }))).toEqual({ replicas: 3, job: 'mirrord-copy-1a2b' });
    expect(readScaleDown(writeScaleDown({ replicas: 0, job: 'j' }))).toEqual({ replicas: 0, job: 'j' });
  });

  it('are absent when the annotation is, or was edited into something else', () => {
    expect(readScaleDown(undefined)).toBeUndefined();
    expect(readScaleDown('3')).toBeUndefined();
    expect(readScaleDown('{"replicas":-1,"job":"j"}')).toBeUndefined();
    expect(readScaleDown('{"replicas":2.5,"job":"j"}')).toBeUndefined();
    expect(readScaleDown('{"replicas":2,"job":""}')).toBeUndefined();
    expect(readScaleDown('not json')).toBeUndefined();
  });

  it('scale down to zero with the record, and restore removes it (null deletes a key in a merge patch)', () => {
    const record = { replicas: 4, job: 'mirrord-copy-ff00' };
    const down = scaleDownPatch(record);
    expect(down.spec.replicas).toBe(0);
    expect(down.metadata.labels[SCALED_DOWN_LABEL]).toBe('true');
    expect(readScaleDown(down.metadata.annotations[SCALED_DOWN_ANNOTATION])).toEqual(record);
    const up = restorePatch(record);
    expect(up).toEqual({ metadata: { labels: { [SCALED_DOWN_LABEL]: null }, annotations: { [SCALED_DOWN_ANNOTATION]: null } }, spec: { replicas: 4 } });
  });
});

describe('restoreIfStillScaled', () => {
  const reference = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'shop', namespace: 'team' } };
  const api = (annotations: Record<string, string> | undefined) => {
    const patches: object[] = [];
    return { patches, annotations: async () => annotations, mergePatch: async (_ref: unknown, patch: object) => void patches.push(patch) };
  };

  it('restores a workload that still carries this copy’s record', async () => {
    const record = { replicas: 3, job: 'mirrord-copy-aa' };
    const workload = api({ [SCALED_DOWN_ANNOTATION]: writeScaleDown(record) });
    expect(await restoreIfStillScaled(workload, reference, record)).toBe(true);
    expect(workload.patches).toEqual([restorePatch(record)]);
  });

  it('leaves alone one restored already, or scaled down since for another copy', async () => {
    const record = { replicas: 3, job: 'mirrord-copy-aa' };
    const restored = api({});
    const other = api({ [SCALED_DOWN_ANNOTATION]: writeScaleDown({ replicas: 0, job: 'mirrord-copy-bb' }) });
    expect(await restoreIfStillScaled(restored, reference, record)).toBe(false);
    expect(await restoreIfStillScaled(other, reference, record)).toBe(false);
    expect([...restored.patches, ...other.patches]).toEqual([]);
  });
});
