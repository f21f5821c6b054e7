import { BenchUsageError, nearestRank, parseBenchOptions, replaceBetween } from './index';

const spec = {
  rate: { type: 'number', default: 500, min: 1, description: 'requests per second' },
  rounds: { type: 'number', default: 3, min: 1, integer: true, description: 'rounds' },
  out: { type: 'string', default: 'docs/x.md', description: 'output file' },
  write: { type: 'boolean', description: 'write the doc' },
} as const;

describe('parseBenchOptions', () => {
  it('applies defaults and parses given values into numbers, strings and flags', () => {
    expect(parseBenchOptions([], spec)).toEqual({ rate: 500, rounds: 3, out: 'docs/x.md', write: false });
    expect(parseBenchOptions(['--rate', '250.5', '--rounds', '5', '--out', 'a.md', '--write'], spec)).toEqual({
      rate: 250.5,
      rounds: 5,
      out: 'a.md',
      write: true,
    });
  });

  it.each([
    [['--rate', 'fast'], "--rate must be a number ≥ 1, got 'fast'"],
    [['--rate', '0'], "--rate must be a number ≥ 1, got '0'"],
    [['--rounds', '2.5'], "--rounds must be an integer ≥ 1, got '2.5'"],
    [['--rate', ''], "--rate must be a number ≥ 1, got ''"],
    [['--bogus', '1'], "Unknown option '--bogus'"],
    [['--rate'], "Option '--rate <value>' argument missing"],
  ])('refuses %j with a message naming the option', (args, message) => {
    expect(() => parseBenchOptions(args, spec)).toThrow(BenchUsageError);
    expect(() => parseBenchOptions(args, spec)).toThrow(message);
  });

  it('lists the options when the command line is not understood', () => {
    expect(() => parseBenchOptions(['--nope'], spec)).toThrow(/--rate <number>\s+requests per second \(default 500\)/);
  });
});

describe('nearestRank', () => {
  it('takes the value at rank ceil(p·n)', () => {
    const v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(nearestRank(v, 50)).toBe(5);
    expect(nearestRank(v, 99)).toBe(10);
    expect(nearestRank(v, 0)).toBe(1);
    expect(nearestRank([], 50)).toBeNaN();
  });
});

describe('replaceBetween', () => {
  it('replaces only the text between the markers and keeps them', () => {
    const doc = 'head\n<!-- a -->\nold\n<!-- b -->\ntail';
    expect(replaceBetween(doc, '<!-- a -->', '<!-- b -->', 'new')).toBe('head\n<!-- a -->\nnew\n<!-- b -->\ntail');
  });

  it('refuses a document without the markers', () => {
    expect(() => replaceBetween('no markers', '<!-- a -->', '<!-- b -->', 'x')).toThrow(
      'markers <!-- a --> … <!-- b --> not found',
    );
  });
});
