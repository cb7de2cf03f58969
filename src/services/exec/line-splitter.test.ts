import { describe, expect, it } from 'vitest';
import { LineSplitter, MAX_LINE_BYTES } from './line-splitter.ts';

describe('LineSplitter', () => {
  it('holds a partial line, including a character split between reads, until its end', () => {
    const s = new LineSplitter();
    const euro = Buffer.from('€');
    expect(s.push(Buffer.concat([Buffer.from('a\r\nb'), euro.subarray(0, 1)]))).toEqual(['a']);
    expect(s.push(Buffer.concat([euro.subarray(1), Buffer.from('\n\nc')]))).toEqual(['b€', '']);
    expect(s.end()).toEqual(['c']);
    expect(s.end()).toEqual([]);
  });

  it('cuts lines longer than the bound into pieces', () => {
    const s = new LineSplitter();
    const long = 'x'.repeat(MAX_LINE_BYTES * 2 + 5);
    expect(s.push(Buffer.from(`${long}\n`))).toEqual([
      'x'.repeat(MAX_LINE_BYTES),
      'x'.repeat(MAX_LINE_BYTES),
      'xxxxx',
    ]);
  });
});
