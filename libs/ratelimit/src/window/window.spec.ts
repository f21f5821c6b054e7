import { addAt, dropExpired, msUntilDrained, msUntilFits, prune, type SlotCounts, slotOf, windowUsage } from './window';

// 10 slots of 1 s: a 10 s window, counted over 11 slots (the current one and 10 before it).
const shape = { slotMs: 1000, slots: 10 };

function counts(rows: [number, number][]): SlotCounts {
  const c: SlotCounts = new Map();
  for (const [slot, v] of rows) addAt(c, slot, [v]);
  return c;
}

describe('sliding window over slots', () => {
  it.each([
    // now = 20.5 s → current slot 20, oldest counted slot 10
    [
      'every counted slot',
      [
        [10, 1],
        [15, 2],
        [20, 4],
      ] as [number, number][],
      20_500,
      7,
    ],
    [
      'a slot just too old',
      [
        [9, 100],
        [10, 1],
      ] as [number, number][],
      20_500,
      1,
    ],
    // charges of other replicas filed in a slot ahead of ours (clock skew) still count
    ['a slot ahead of the current one', [[21, 3]] as [number, number][], 20_500, 3],
  ])('windowUsage counts %s', (_case, rows, now, expected) => {
    expect(windowUsage(0, slotOf(now, shape), shape, counts(rows))).toBe(expected);
  });

  it('sums several maps (shared value plus local pending changes)', () => {
    // 5 charged in the bucket, 2 refunded locally: 3 in use
    expect(windowUsage(0, 20, shape, counts([[20, 5]]), counts([[20, -2]]))).toBe(3);
  });

  it('counts a charge for at least one window and at most one window plus one slot', () => {
    const c = counts([[20, 1]]); // charged at 20.0–20.999 s
    // 30.999 s: slot 30, oldest 20 → still counted (≥ 10 s after any moment of slot 20 until 31 s)
    expect(windowUsage(0, slotOf(30_999, shape), shape, c)).toBe(1);
    // 31.0 s: slot 31, oldest 21 → expired (a charge made at 20.999 s was counted 10.001 s, one made at 20.0 s 11 s)
    expect(windowUsage(0, slotOf(31_000, shape), shape, c)).toBe(0);
  });

  it.each([
    // limit 10, used 4+5 = 9 in slots 12 and 15, now 20.5 s
    ['fits now', 1, 0],
    // need 2: slot 12 (4) must expire first, at (12 + 10 + 1) s = 23 s → 2.5 s from now
    ['fits once the oldest slot expires', 2, 2500],
    // need 7: slot 15 must expire too, at 26 s → 5.5 s
    ['fits once both slots expire', 7, 5500],
    // need 10 = the limit: fits once everything expired
    ['the whole limit', 10, 5500],
    // need 11 > limit: never
    ['more than the limit', 11, undefined],
  ])('msUntilFits: %s', (_case, need, expected) => {
    const c = counts([
      [12, 4],
      [15, 5],
    ]);
    expect(msUntilFits(0, 10, need, 20_500, shape, c)).toBe(expected);
  });

  it('msUntilDrained is the time until the newest counted slot expires', () => {
    // newest slot 15 expires at 26 s; now 20.5 s → 5.5 s
    expect(
      msUntilDrained(
        0,
        20_500,
        shape,
        counts([
          [12, 4],
          [15, 5],
        ]),
      ),
    ).toBe(5500);
    expect(msUntilDrained(0, 20_500, shape, new Map())).toBe(0);
  });

  it('prune drops expired slots and clamps negative totals; dropExpired keeps negative pending refunds', () => {
    const a = counts([
      [5, 3],
      [15, -2],
      [16, 0],
      [17, 4],
    ]);
    prune(a, 20, shape);
    expect([...a.entries()]).toEqual([[17, [4]]]);
    const b = counts([
      [5, 3],
      [15, -2],
      [16, 0],
    ]);
    dropExpired(b, 20, shape);
    expect([...b.entries()]).toEqual([[15, [-2]]]);
  });
});
