import { engine, request } from '../testing/fixtures';
import { SessionTable } from './session-table';

describe('SessionTable', () => {
  it('pins a session to the engine its latest request went to', () => {
    const table = new SessionTable(10);
    table.onRouted(request({ sessionId: 's1' }), engine('e1'));
    expect(table.get('s1')).toBe('e1');
    table.onRouted(request({ sessionId: 's1' }), engine('e2'));
    expect(table.get('s1')).toBe('e2');
    // Requests without a session id leave no trace.
    table.onRouted(request(), engine('e3'));
    expect(table.size).toBe(1);
  });

  it('forgets the least recently routed session beyond its bound', () => {
    const table = new SessionTable(2);
    table.pin('s1', 'e1');
    table.pin('s2', 'e1');
    table.pin('s1', 'e2');
    table.pin('s3', 'e3');
    // s2 was routed least recently (s1 again after it), so s2 goes.
    expect([table.get('s1'), table.get('s2'), table.get('s3')]).toEqual(['e2', undefined, 'e3']);
    expect(table.size).toBe(2);
  });

  it('drops the pins of a removed engine', () => {
    const table = new SessionTable(10);
    table.pin('s1', 'e1');
    table.pin('s2', 'e2');
    table.onEngineRemoved('e1');
    expect([table.get('s1'), table.get('s2')]).toEqual([undefined, 'e2']);
  });

  it('rejects a bound below one session', () => {
    expect(() => new SessionTable(0)).toThrow(RangeError);
  });
});
