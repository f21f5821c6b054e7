import { type Clock, type TimerHandle } from '@brix/clock';
import { type GatewayRequestBatch, type GatewayRequestStat } from '@brix/contracts';

/**
 * Collects per-request stats and hands them out in batches: every `flushMs`, or as soon as `maxBatch`
 * are waiting, so the bus carries one message per batch rather than one per request.
 */
export class StatsBatcher {
  private pending: GatewayRequestStat[] = [];
  private timer?: TimerHandle;

  constructor(
    private readonly gateway: string,
    private readonly clock: Clock,
    private readonly publish: (batch: GatewayRequestBatch) => void,
    private readonly flushMs = 1_000,
    private readonly maxBatch = 500,
  ) {}

  record(stat: GatewayRequestStat): void {
    this.pending.push(stat);
    if (this.pending.length >= this.maxBatch) this.flush();
    else if (!this.timer) this.timer = this.clock.setTimer(this.flushMs, () => this.flush());
  }

  flush(): void {
    if (this.timer) {
      this.clock.clearTimer(this.timer);
      this.timer = undefined;
    }
    if (this.pending.length === 0) return;
    const requests = this.pending;
    this.pending = [];
    this.publish({ v: 1, gateway: this.gateway, ts: this.clock.now(), requests });
  }
}
