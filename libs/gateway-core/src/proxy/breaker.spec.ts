import { CircuitBreaker } from './breaker';

describe('CircuitBreaker', () => {
  const options = { failureThreshold: 3, openMs: 1_000, maxOpenMs: 3_000 };

  it('opens after the threshold of consecutive failures, not before', () => {
    const b = new CircuitBreaker(options);
    b.onFailure(0);
    b.onFailure(0);
    expect(b.allows(0)).toBe(true);
    b.onFailure(0);
    expect(b.state(0)).toBe('open');
    expect(b.allows(999)).toBe(false);
  });

  it('a success resets the count of consecutive failures', () => {
    const b = new CircuitBreaker(options);
    b.onFailure(0);
    b.onFailure(0);
    b.onSuccess();
    b.onFailure(0);
    b.onFailure(0);
    expect(b.state(0)).toBe('closed');
  });

  it('lets exactly one trial through when half-open; success closes', () => {
    const b = new CircuitBreaker(options);
    for (let i = 0; i < 3; i++) b.onFailure(0);
    expect(b.state(1_000)).toBe('half-open');
    expect(b.allows(1_000)).toBe(true);
    b.onAttempt(1_000);
    expect(b.allows(1_000)).toBe(false); // the trial is in flight
    b.onSuccess();
    expect(b.state(1_001)).toBe('closed');
  });

  it('a failed trial re-opens for twice as long, capped', () => {
    const b = new CircuitBreaker(options);
    for (let i = 0; i < 3; i++) b.onFailure(0);
    b.onAttempt(1_000);
    b.onFailure(1_000);
    expect(b.state(2_999)).toBe('open'); // re-opened at 1000 for 2000 ms
    expect(b.state(3_000)).toBe('half-open');
    b.onAttempt(3_000);
    b.onFailure(3_000);
    expect(b.state(5_999)).toBe('open'); // 4000 ms capped to 3000
    expect(b.state(6_000)).toBe('half-open');
  });
});
