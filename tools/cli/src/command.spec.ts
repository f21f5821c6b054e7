import { type Command, dispatch, intOption, UsageError } from './command';

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

const ran: Array<Record<string, unknown>> = [];
const commands: Command[] = [
  {
    path: ['up'],
    summary: 'start the stack',
    options: { replicas: { type: 'string', default: '2', value: 'N', description: 'engine replicas' } },
    run: async (values) => {
      ran.push(values);
      intOption(values, 'replicas', 1);
      return 0;
    },
  },
  { path: ['bench', 'routing'], summary: 'routing benchmark', options: {}, run: async () => 0 },
];

describe('CLI dispatch', () => {
  beforeEach(() => (ran.length = 0));

  it('runs a command with parsed options and defaults', async () => {
    const c = capture();
    expect(await dispatch('brix', commands, ['up', '--replicas', '3'], c.io)).toBe(0);
    expect(ran[0]).toMatchObject({ replicas: '3' });
    await dispatch('brix', commands, ['up'], c.io);
    expect(ran[1]).toMatchObject({ replicas: '2' });
  });

  it.each([
    [['--help'], 0, 'Usage: brix <command>'],
    [['up', '--help'], 0, '--replicas N'],
    [['bench', 'routing', '-h'], 0, 'Usage: brix bench routing'],
    [['bench'], 2, 'bench routing'],
    [[], 2, 'Commands:'],
  ])('prints help for %j (exit %i)', async (argv, code, text) => {
    const c = capture();
    expect(await dispatch('brix', commands, argv, c.io)).toBe(code);
    expect(c.out.join('\n')).toContain(text);
  });

  it.each([
    [['nope'], 'unknown command `nope`'],
    [['up', '--bogus'], "Unknown option '--bogus'"],
    [['up', '--replicas', 'zero'], '--replicas must be an integer ≥ 1'],
  ])('rejects %j with exit 2 and a clear message', async (argv, message) => {
    const c = capture();
    expect(await dispatch('brix', commands, argv, c.io)).toBe(2);
    expect(c.err.join('\n')).toContain(message);
  });

  it('intOption names the option', () => {
    expect(() => intOption({ n: '-1' }, 'n', 0)).toThrow(UsageError);
    expect(intOption({ n: '5' }, 'n', 0)).toBe(5);
  });
});
