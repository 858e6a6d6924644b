import { Inflow } from './inflow';

describe('Inflow', () => {
  it('refuses a request beyond the limits with EAGAIN, lets its bytes go, and takes more once replies are out', async () => {
    const inflow = new Inflow({ requests: 2, bytes: 100 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = inflow.serve(60, () => held);
    await expect(inflow.serve(50, async () => 'too big')).rejects.toMatchObject({ code: 'EAGAIN', message: expect.stringMatching(/carry 60 bytes/) });
    const second = inflow.serve(0, () => held);
    await expect(inflow.serve(0, async () => 'too many')).rejects.toMatchObject({ code: 'EAGAIN', message: expect.stringMatching(/2 requests under way/) });
    release();
    await Promise.all([first, second]);
    expect(await inflow.serve(100, async () => 'fits again')).toBe('fits again');
  });
});
