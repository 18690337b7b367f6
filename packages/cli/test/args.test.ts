import { describe, expect, it } from 'vitest';
import { parseOpenArgs, parseVerbArgs, splitCommand, UsageError } from '../src/args.js';

const groups = new Set(['storage']);

describe('splitCommand', () => {
  it('finds a plain verb', () => {
    expect(splitCommand(['list', 'local', '--vmid', '100'], groups)).toEqual({ verb: 'list', rest: ['local', '--vmid', '100'] });
  });
  it('keeps global options given before the verb', () => {
    expect(splitCommand(['--config', 'x.cfg', '--json', 'status'], groups)).toEqual({ verb: 'status', rest: ['--config', 'x.cfg', '--json'] });
    expect(splitCommand(['--config=x.cfg', 'status'], groups)).toEqual({ verb: 'status', rest: ['--config=x.cfg'] });
  });
  it('joins a verb group with its sub-verb', () => {
    expect(splitCommand(['storage', 'add', 'dir', 'x', '--path', '/p'], groups)).toEqual({ verb: 'storage add', rest: ['dir', 'x', '--path', '/p'] });
  });
  it('leaves a bare group alone', () => {
    expect(splitCommand(['storage', '--help'], groups)).toEqual({ verb: 'storage', rest: ['--help'] });
  });
  it('returns no verb for an empty command line', () => {
    expect(splitCommand([], groups)).toEqual({ verb: '', rest: [] });
  });
  it('refuses an unknown option before the verb', () => {
    expect(() => splitCommand(['--vmid', '1', 'list'], groups)).toThrow(UsageError);
  });
});

describe('parseVerbArgs', () => {
  const options = { vmid: { type: 'string', description: '' }, force: { type: 'boolean', description: '' } } as const;
  it('parses positionals, own and global options', () => {
    const a = parseVerbArgs('list', ['local', '--vmid', '100', '--json', '--plugin', 'a', '--plugin', 'b'], options, { min: 1, max: 1 });
    expect(a.positionals).toEqual(['local']);
    expect(a.options).toEqual({ vmid: '100', force: undefined });
    expect(a.global).toEqual({ config: undefined, json: true, plugins: ['a', 'b'], help: false });
  });
  it('accepts - as a positional', () => {
    expect(parseVerbArgs('export', ['v', 'raw+size', '-'], {}, { min: 3, max: 3 }).positionals).toEqual(['v', 'raw+size', '-']);
  });
  it.each([
    [['local', '--bogus']],
    [['local', '--vmid']],
    [[]],
    [['a', 'b']],
  ])('refuses %j as a usage error', (argv) => {
    expect(() => parseVerbArgs('list', argv, options, { min: 1, max: 1 })).toThrow(UsageError);
  });
  it('takes negative numbers as values, for the value parsers to refuse', () => {
    const a = parseVerbArgs('resize', ['v', '-1G'], {}, { min: 2, max: 2 });
    expect(a.positionals).toEqual(['v', '-1G']);
    const b = parseVerbArgs('list', ['local', '--vmid', '-3'], options, { min: 1, max: 1 });
    expect(b.options['vmid']).toBe('-3');
  });
  it('does not count positionals when --help is given', () => {
    expect(parseVerbArgs('list', ['--help'], options, { min: 1, max: 1 }).global.help).toBe(true);
  });
});

describe('parseOpenArgs', () => {
  it('collects --key value and --key=value pairs', () => {
    const a = parseOpenArgs('storage add', ['dir', 'x', '--path', '/srv', '--content=images,iso', '--json', '--config', 'c.cfg'], [], { min: 2, max: 2 });
    expect(a.positionals).toEqual(['dir', 'x']);
    expect(a.pairs).toEqual([
      ['path', '/srv'],
      ['content', 'images,iso'],
    ]);
    expect(a.global.json).toBe(true);
    expect(a.global.config).toBe('c.cfg');
  });
  it('refuses an option without a value', () => {
    expect(() => parseOpenArgs('storage add', ['dir', 'x', '--path'], [], { min: 2, max: 2 })).toThrow(UsageError);
  });
  it('refuses a short unknown option', () => {
    expect(() => parseOpenArgs('storage add', ['dir', 'x', '-p', '/x'], [], { min: 2, max: 2 })).toThrow(UsageError);
  });
  it('refuses a wrong number of positionals', () => {
    expect(() => parseOpenArgs('storage add', ['dir'], [], { min: 2, max: 2 })).toThrow(UsageError);
  });
});
