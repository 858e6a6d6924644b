import { syscallModeProblem } from './syscall-launch';

describe('what the syscall mode needs of this machine', () => {
  it('is Linux 5.14 or later, said with the kernel it found', () => {
    expect(syscallModeProblem('5.14.0-1-amd64', 'linux')).toBeUndefined();
    expect(syscallModeProblem('6.18.44-fc', 'linux')).toBeUndefined();
    expect(syscallModeProblem('5.10.0-21-amd64', 'linux')).toBe(
      'the syscall mode needs Linux 5.14 or later (seccomp user notification that puts descriptors into the program); this kernel is 5.10.0-21-amd64',
    );
    expect(syscallModeProblem('4.19.0', 'linux')).toMatch(/needs Linux 5\.14 or later/);
    expect(syscallModeProblem('23.1.0', 'darwin')).toBe('the syscall mode needs Linux 5.14 or later; this is darwin');
  });
});
