import { ResolvedNames } from './resolved-names';

describe('the names a session resolved', () => {
  it('are found by the addresses they gave, every name of a shared address', () => {
    const names = new ResolvedNames();
    names.remember('db.shop.svc.cluster.local', ['10.96.0.12']);
    names.remember('db', ['10.96.0.12', 'fd00::12']);
    expect(names.namesOf('10.96.0.12')).toEqual(['db.shop.svc.cluster.local', 'db']);
    expect(names.namesOf('fd00::12')).toEqual(['db']);
    expect(names.namesOf('10.0.0.1')).toEqual([]);
  });

  it('forget the least recently resolved addresses beyond their bound', () => {
    const names = new ResolvedNames();
    for (let i = 0; i < 5000; i++) names.remember(`host-${i}`, [`10.1.${i >> 8}.${i & 255}`]);
    expect(names.namesOf('10.1.0.0')).toEqual([]);
    expect(names.namesOf('10.1.19.135')).toEqual(['host-4999']);
  });
});
