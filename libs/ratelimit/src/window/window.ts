/**
 * Sliding-window counting over fixed slots.
 *
 * A window of `slots × slotMs` milliseconds is cut into slots numbered from the epoch
 * (`slot = floor(t / slotMs)`). A charge made at time t is added to slot(t). At time t the window counts
 * every slot k with `k >= slot(t) - slots`, that is `slots + 1` slots: the current, partly elapsed one and
 * `slots` whole ones before it. The counted span therefore always covers the last full window (between
 * W and W + slotMs of history), so:
 * - upper bound: whatever was charged during any interval of length W is counted in full, so admissions
 *   checked against this sum never exceed the limit within any W-long interval;
 * - cost: a charge stays counted between W and W + slotMs, so a client sending at a steady pace gets at
 *   least `slots / (slots + 1)` of the limit per window (95 % with 20 slots).
 *
 * Counts are per dimension (requests, tokens …): `SlotCounts` maps a slot number to one count per dimension.
 */
export type SlotCounts = Map<number, number[]>;

export interface WindowShape {
  /** Milliseconds per slot. */
  readonly slotMs: number;
  /** Whole slots per window; the window is `slots × slotMs` ms. */
  readonly slots: number;
}

export function slotOf(now: number, shape: WindowShape): number {
  return Math.floor(now / shape.slotMs);
}

/** The oldest slot still counted when the current slot is `current`. */
export function oldestCounted(current: number, shape: WindowShape): number {
  return current - shape.slots;
}

/** Milliseconds since the epoch at which slot `slot` stops being counted. */
export function expiresAt(slot: number, shape: WindowShape): number {
  return (slot + shape.slots + 1) * shape.slotMs;
}

/** Adds `delta` (one value per dimension) to `slot`, creating the slot when needed. */
export function addAt(counts: SlotCounts, slot: number, delta: readonly number[]): void {
  const row = counts.get(slot);
  if (row) for (let d = 0; d < delta.length; d++) row[d] = (row[d] ?? 0) + delta[d]!;
  else counts.set(slot, [...delta]);
}

/** Adds every slot of `b` into `a`. */
export function addAll(a: SlotCounts, b: SlotCounts): void {
  for (const [slot, row] of b) addAt(a, slot, row);
}

/** Subtracts every slot of `b` from `a`. */
export function subtractAll(a: SlotCounts, b: SlotCounts): void {
  for (const [slot, row] of b)
    addAt(
      a,
      slot,
      row.map((v) => -v),
    );
}

export function cloneCounts(counts: SlotCounts): SlotCounts {
  const out: SlotCounts = new Map();
  for (const [slot, row] of counts) out.set(slot, [...row]);
  return out;
}

/**
 * Drops slots no longer counted, and rows that are all zero. Negative counts are raised to zero: a refund
 * can only return what was charged, so a negative total means a charge it refers to already expired.
 */
export function prune(counts: SlotCounts, current: number, shape: WindowShape): void {
  const oldest = oldestCounted(current, shape);
  for (const [slot, row] of counts) {
    if (slot < oldest) {
      counts.delete(slot);
      continue;
    }
    let any = false;
    for (let d = 0; d < row.length; d++) {
      if (row[d]! < 0) row[d] = 0;
      if (row[d]! > 0) any = true;
    }
    if (!any) counts.delete(slot);
  }
}

/** Drops slots no longer counted and all-zero rows; keeps negative values (pending refunds). */
export function dropExpired(counts: SlotCounts, current: number, shape: WindowShape): void {
  const oldest = oldestCounted(current, shape);
  for (const [slot, row] of counts) if (slot < oldest || row.every((v) => v === 0)) counts.delete(slot);
}

/** Sum of dimension `dim` over the counted slots of each map (a slot counts when it is ≥ the oldest counted). */
export function windowUsage(
  dim: number,
  current: number,
  shape: WindowShape,
  ...maps: ReadonlyArray<SlotCounts | undefined>
): number {
  const oldest = oldestCounted(current, shape);
  let sum = 0;
  for (const counts of maps) {
    if (!counts) continue;
    for (const [slot, row] of counts) if (slot >= oldest) sum += row[dim] ?? 0;
  }
  return Math.max(0, sum);
}

/** Merged per-slot totals of dimension `dim` over the counted slots, oldest first. */
function countedRows(
  dim: number,
  current: number,
  shape: WindowShape,
  maps: ReadonlyArray<SlotCounts | undefined>,
): [number, number][] {
  const oldest = oldestCounted(current, shape);
  const bySlot = new Map<number, number>();
  for (const counts of maps) {
    if (!counts) continue;
    for (const [slot, row] of counts) if (slot >= oldest) bySlot.set(slot, (bySlot.get(slot) ?? 0) + (row[dim] ?? 0));
  }
  return [...bySlot.entries()].sort((a, b) => a[0] - b[0]);
}

/**
 * Milliseconds from `now` until `need` more fits under `limit` in dimension `dim` as old slots expire:
 * 0 when it fits now, undefined when it can never fit (`need > limit`).
 */
export function msUntilFits(
  dim: number,
  limit: number,
  need: number,
  now: number,
  shape: WindowShape,
  ...maps: ReadonlyArray<SlotCounts | undefined>
): number | undefined {
  if (need > limit) return undefined;
  const current = slotOf(now, shape);
  const rows = countedRows(dim, current, shape, maps);
  let used = rows.reduce((s, [, v]) => s + v, 0);
  if (used + need <= limit) return 0;
  for (const [slot, value] of rows) {
    used -= value;
    if (used + need <= limit) return Math.max(0, expiresAt(slot, shape) - now);
  }
  // Only reachable when counts are inconsistent (negative rows); the whole window will have passed by then.
  return Math.max(0, expiresAt(current, shape) - now);
}

/** Milliseconds from `now` until everything counted in dimension `dim` has expired (OpenAI's "reset"). */
export function msUntilDrained(
  dim: number,
  now: number,
  shape: WindowShape,
  ...maps: ReadonlyArray<SlotCounts | undefined>
): number {
  const current = slotOf(now, shape);
  const rows = countedRows(dim, current, shape, maps);
  for (let i = rows.length - 1; i >= 0; i--) {
    if (rows[i]![1] > 0) return Math.max(0, expiresAt(rows[i]![0], shape) - now);
  }
  return 0;
}
