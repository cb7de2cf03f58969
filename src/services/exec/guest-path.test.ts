import { describe, expect, it } from 'vitest';
import { isServiceError } from '../errors.ts';
import { checkGuestPath } from './guest-path.ts';

const allowed = ['/tmp', '/opt/app/'];

function refusal(path: string): string {
  try {
    checkGuestPath(path, allowed, 'input.path');
  } catch (err) {
    if (isServiceError(err) && err.code === 'INVALID' && err.field === 'input.path')
      return err.message;
    throw err;
  }
  return '';
}

describe('checkGuestPath', () => {
  it('takes plain paths inside an allowed directory', () => {
    expect(refusal('/tmp/deploy.sh')).toBe('');
    expect(refusal('/opt/app/bin/run')).toBe('');
  });

  it('refuses paths outside, relative, or with tricks in them', () => {
    expect(refusal('/etc/passwd')).toMatch(/inside \/tmp, \/opt\/app\//);
    expect(refusal('/tmpfoo/x')).toMatch(/inside/);
    expect(refusal('/tmp')).toMatch(/inside/);
    expect(refusal('tmp/x')).toMatch(/absolute/);
    expect(refusal('/tmp/../etc/passwd')).toMatch(/plainly/);
    expect(refusal('/tmp/./x')).toMatch(/plainly/);
    expect(refusal('/tmp//x')).toMatch(/plainly/);
    expect(refusal('/tmp/x/')).toMatch(/plainly/);
    expect(refusal('/tmp/a\nb')).toMatch(/control/);
    expect(refusal('')).toMatch(/characters/);
  });

  it('refuses everything when no directory is allowed', () => {
    expect(() => checkGuestPath('/tmp/x', [], 'path')).toThrow(/allows no file deliveries/);
  });
});
