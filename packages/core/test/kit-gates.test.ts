import { describe, expect, it } from 'vitest';
import { effectiveCapabilities, formatWith, memoryCapabilities } from '../src/testing/index.js';

describe('conformance kit: features only narrow the capabilities', () => {
  const declared = memoryCapabilities({ shrink: false });

  it('keeps the capabilities when nothing is narrowed', () => {
    const caps = effectiveCapabilities(declared);
    expect(caps).toMatchObject({ ...declared, resize: true, faults: true });
  });

  it('narrows lists, the feature matrix and flags', () => {
    const caps = effectiveCapabilities(declared, {
      attributes: ['notes'],
      features: { template: { current: ['raw'] } },
      rollbackAnySnapshot: false,
      faults: false,
    });
    expect(caps.attributes).toEqual(['notes']);
    expect(caps.features).toEqual({ template: { current: ['raw'] } });
    expect(formatWith(caps, 'snapshot', 'current')).toBeUndefined();
    expect(formatWith(caps, 'template', 'current')).toBe('raw');
    expect(caps.rollbackAnySnapshot).toBe(false);
    expect(caps.faults).toBe(false);
  });

  it.each([
    ['a format', { formats: ['qcow2' as const] }],
    ['a feature', { features: { clone: { current: ['raw' as const] } } }],
    ['an attribute', { attributes: ['notes' as const, 'protected' as const] }],
    ['a flag', { shrink: true }],
    ['a stream format', { exportFormats: ['zfs' as const] }],
  ] as const)('refuses to grant %s with a TypeError', (_what, features) => {
    const narrowDeclared = memoryCapabilities({ shrink: false, attributes: ['notes'] });
    expect(() => effectiveCapabilities(narrowDeclared, features as never)).toThrow(TypeError);
  });
});
