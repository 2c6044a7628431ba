import { parseBenchArgs, scriptFlags } from '../bench/args';
import { UsageError, parseFlags, type FlagSpec } from '../src/cli/args';
import { volumeIdOf } from '../src/cli/actions/run';
import { progressLine } from '../src/cli/progress';
import { checkOutputOutsideInput } from '../src/store';

const specs: FlagSpec[] = [
  { name: 'input', kind: 'string', value: '<dir>', help: '', required: true },
  { name: 'pages', kind: 'int', help: '' },
  { name: 'device', kind: { choices: ['cpu', 'cuda'] }, help: '' },
  { name: 'json', kind: 'bool', help: '' },
];

describe('parseFlags', () => {
  it('reads --name value, --name=value and switches', () => {
    const f = parseFlags(['--input', 'a b', '--pages=12', '--json', '--device=cuda'], specs, 'x');
    expect([f.string('input'), f.int('pages'), f.bool('json'), f.string('device')]).toEqual(['a b', 12, true, 'cuda']);
    expect(f.has('pages')).toBe(true);
  });

  it('leaves absent flags undefined / false', () => {
    const f = parseFlags(['--input=d'], specs, 'x');
    expect([f.int('pages'), f.string('device'), f.bool('json'), f.has('pages')]).toEqual([undefined, undefined, false, false]);
  });

  it('accepts --help and -h without the required flags', () => {
    expect(parseFlags(['--help'], specs, 'x').bool('help')).toBe(true);
    expect(parseFlags(['-h'], specs, 'x').bool('help')).toBe(true);
  });

  it('names the flag a mistyped one is closest to (at most 2 edits), and none when nothing is close', () => {
    expect(() => parseFlags(['--input', 'd', '--jsno'], specs, 'x')).toThrow(/^unknown flag --jsno for x \(did you mean --json\? see rxvolume x --help\)$/);
    expect(() => parseFlags(['--input', 'd', '--page=3'], specs, 'x')).toThrow(/^unknown flag --page for x \(did you mean --pages\? see rxvolume x --help\)$/);
    expect(() => parseFlags(['--input', 'd', '--bogus'], specs, 'x')).toThrow(/^unknown flag --bogus for x \(see rxvolume x --help\)$/);
  });

  it('runs a flag\'s own check on its value, after the kind\'s', () => {
    const checked: FlagSpec[] = [{ name: 'url', kind: 'string', help: '', check: (raw) => (raw.startsWith('redis://') ? undefined : 'must be a redis:// URL') }];
    expect(parseFlags(['--url', 'redis://h'], checked, 'x').string('url')).toBe('redis://h');
    expect(() => parseFlags(['--url', 'h'], checked, 'x')).toThrow(/^--url must be a redis:\/\/ URL, got "h"$/);
  });

  const bad: Array<[string[], RegExp]> = [
    [['--input', 'd', '--pages', '1.5'], /^--pages must be a positive integer, got "1.5"$/],
    [['--input', 'd', '--pages', '99999999999999999999'], /--pages/],
    [['--input', 'd', '--json=yes'], /^--json takes no value$/],
    [['--input', 'd', '--device'], /^--device needs a value/],
    [['--input', '--json'], /^--input needs a value <dir>$/],
    [['--input', 'd', '--device', 'tpu'], /^--device must be one of cpu, cuda, got "tpu"$/],
    [['--input='], /^--input needs a non-empty value$/],
    [['--pages', '3'], /^missing --input <dir>/],
    [['-i', 'd'], /"-i"/],
  ];
  it.each(bad)('rejects %j', (argv, message) => {
    expect(() => parseFlags(argv, specs, 'x')).toThrow(UsageError);
    expect(() => parseFlags(argv, specs, 'x')).toThrow(message);
  });
});

describe('parseBenchArgs (the same parser for npm run bench)', () => {
  it('reads the flags, with the defaults for the rest', () => {
    expect(parseBenchArgs(['--pages', '8', '--model=tiny', '--config', '{"batchSize":6}', '--memory-pages', '10,20', '--no-memory', '--json'])).toEqual({
      pages: 8, model: 'tiny', runs: 3, config: { batchSize: 6 }, memoryPages: [10, 20], memoryRuns: 2, skipMemory: true, json: true, help: false,
    });
    expect(parseBenchArgs([])).toMatchObject({ pages: 16, model: 'default', memoryPages: [200, 2000], config: {} });
  });

  it.each([
    [['--pages', 'x'], /^--pages must be a positive integer, got "x"$/],
    [['--runs'], /^--runs needs a value/],
    [['--modle', 'tiny'], /^unknown flag --modle for bench \(did you mean --model\? see npm run bench -- --help\)$/],
    [['--bogus', 'tiny'], /^unknown flag --bogus for bench \(see npm run bench -- --help\)$/],
    [['--config', '[1]'], /^--config needs a JSON object/],
    [['--memory-pages', '20,10'], /^--memory-pages needs two sizes, smaller first/],
  ])('rejects %j naming the flag', (argv, message) => {
    expect(() => parseBenchArgs(argv)).toThrow(message);
  });
});

describe('scriptFlags (the other bench scripts: node dist/bench/<script>.js)', () => {
  const specs: FlagSpec[] = [{ name: 'repeats', kind: 'int', value: '<n>', help: 'timed rounds (default 3)' }];
  let exit: jest.SpyInstance;
  let out: jest.SpyInstance;
  let err: jest.SpyInstance;
  beforeEach(() => {
    exit = jest.spyOn(process, 'exit').mockImplementation((code) => {
      throw new Error(`exit ${code}`);
    });
    out = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  it('reads the named flags', () => {
    expect(scriptFlags('pageCosts', specs, ['--repeats', '2']).int('repeats')).toBe(2);
    expect(scriptFlags('pageCosts', specs, []).int('repeats')).toBeUndefined();
    expect(exit).not.toHaveBeenCalled();
  });

  it('prints the usage and exits 0 on --help', () => {
    expect(() => scriptFlags('pageCosts', specs, ['--help'])).toThrow('exit 0');
    expect(out).toHaveBeenCalledWith(expect.stringMatching(/^usage: node dist\/bench\/pageCosts\.js \[flags\]\n\n  --repeats <n>  timed rounds \(default 3\)\n/));
  });

  it.each([
    [['2'], 'unexpected argument "2" for pageCosts (flags start with --; see node dist/bench/pageCosts.js --help)'],
    [['--repeats', '0'], '--repeats must be a positive integer, got "0"'],
  ])('prints the error naming the flag and exits 2 on %j', (argv, message) => {
    expect(() => scriptFlags('pageCosts', specs, argv)).toThrow('exit 2');
    expect(err).toHaveBeenCalledWith(message);
  });
});

describe('checkOutputOutsideInput', () => {
  it.each([
    ['s3://b/scans/vol1/', 's3://b/scans/vol1/out/', 'vol1'],
    ['s3://b/scans/', 's3://b/scans', 'vol1'],
    ['s3://b/out/vol1', 's3://b/out/', 'vol1'],
    ['/data/vol1', '/data/vol1/tables', 'vol1'],
    ['/data/out/vol1/', '/data/out', 'vol1'],
  ])('refuses input %s with output %s for volume %s', (input, output, volumeId) => {
    expect(() => checkOutputOutsideInput(input, output, volumeId)).toThrow(/overlaps its input/);
  });

  it.each([
    ['s3://b/scans/vol1/', 's3://b/tables/', 'vol1'],
    ['s3://b/scans/vol1/', 's3://other/scans/vol1/', 'vol1'],
    ['/data/vol1', '/data/vol1-tables', 'vol1'],
    ['/data/out/vol1', '/data/out', 'vol2'],
  ])('accepts input %s with output %s for volume %s', (input, output, volumeId) => {
    expect(() => checkOutputOutsideInput(input, output, volumeId)).not.toThrow();
  });
});

describe('volumeIdOf', () => {
  it.each([
    ['s3://scans/books/vol_A/', 'vol_A'],
    ['s3://scans/vol_B', 'vol_B'],
    ['s3://scans/', undefined],
    ['/data/in/vol_C/', 'vol_C'],
    ['./vol_D', 'vol_D'],
  ])('%s -> %s', (input, id) => {
    expect(volumeIdOf(input)).toBe(id);
  });
});

describe('progressLine', () => {
  it('shows a bar, rate, ETA, errors and the lane mix when the total is known', () => {
    const line = progressLine({ done: 6, total: 24, errors: 1, elapsedMs: 3000, lanes: { initial: 8, reprocess: 3 } }, 8);
    expect(line).toBe('[##------] 6/24 pages  2.0 pages/s  ETA 9s  1 error  lanes initial 8 · reprocess 3');
  });

  it('shows the done count alone when the total is not known yet', () => {
    expect(progressLine({ done: 0, errors: 0, elapsedMs: 0 })).toBe('0 pages  0.0 pages/s  0 errors');
  });
});
