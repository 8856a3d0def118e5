import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeMessage } from './wire';

describe('the wire codec', () => {
  it('brings back NaN and ±Infinity among plain numbers', () => {
    const value = { id: 1, result: [{ values: [1.5, NaN, Infinity, -Infinity, 0.1] }] };
    expect(decodeMessage(encodeMessage(value))).toEqual(value);
  });

  it('parses a text without non-finite numbers as plain JSON', () => {
    expect(decodeMessage('{"id":2,"result":{"steps":[1,2],"name":"loss"}}')).toEqual({ id: 2, result: { steps: [1, 2], name: 'loss' } });
  });

  it('still reads a $num key spelled with \\u escapes (another client’s JSON encoder may escape it)', () => {
    expect(decodeMessage('{"v":{"\\u0024num":"NaN"},"w":{"$\\u006eum":"-Infinity"}}')).toEqual({ v: NaN, w: -Infinity });
  });

  it('leaves an object with other keys beside $num as it is', () => {
    expect(decodeMessage('{"v":{"$num":"NaN","x":1}}')).toEqual({ v: { $num: 'NaN', x: 1 } });
  });
});
