import { describe, expect, it } from 'vitest';
import { isCI } from '../helpers/ci.js';

describe('isCI', () => {
  it.each(['true', 'TRUE', '1', 'yes', 'Yes', ' true '])('counts CI=%j as CI', (value) => {
    expect(isCI({ CI: value })).toBe(true);
  });

  it.each([undefined, '', '0', 'false', 'no', 'off'])('does not count CI=%j', (value) => {
    expect(isCI(value === undefined ? {} : { CI: value })).toBe(false);
  });
});
