/**
 * A progress bar on stderr: redrawn in place on a terminal (at most every 100 ms), a line per finished step
 * otherwise (logs, CI). `total` counts steps; `fraction` within the current step comes from the caller.
 */
export class Progress {
  private step = 0;
  private lastDraw = 0;
  private readonly startedAt = Date.now();

  constructor(
    private readonly total: number,
    private readonly write: (text: string) => void = (t) => process.stderr.write(t),
    private readonly tty: boolean = Boolean(process.stderr.isTTY),
    private readonly now: () => number = Date.now,
  ) {}

  /** Within the current step: `fraction` done, `label` what it is. */
  update(label: string, fraction: number): void {
    if (!this.tty) return;
    const t = this.now();
    if (t - this.lastDraw < 100) return;
    this.lastDraw = t;
    this.draw(label, fraction);
  }

  /** The current step is done. */
  done(label: string, detail = ''): void {
    this.step++;
    if (this.tty) {
      this.draw(label, 0);
      if (this.step === this.total) this.write('\n');
    } else {
      this.write(`[${this.step}/${this.total}] ${label}${detail ? ` — ${detail}` : ''}\n`);
    }
  }

  private draw(label: string, fraction: number): void {
    const overall = Math.min(1, (this.step + Math.min(1, Math.max(0, fraction))) / this.total);
    const width = 30;
    const filled = Math.round(overall * width);
    const elapsed = ((this.now() - this.startedAt) / 1000).toFixed(0);
    const text = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(overall * 100).toFixed(0).padStart(3)}% ${this.step}/${this.total} ${elapsed}s ${label}`;
    this.write(`\r${text.slice(0, 120).padEnd(120)}`);
  }
}
