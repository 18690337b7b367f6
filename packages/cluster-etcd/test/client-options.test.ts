import { describe, expect, it } from 'vitest';
import { etcdClientOptions } from '../src/connect.js';

describe('the etcd client options', () => {
  it('the watch stream tries to reconnect at most 1 s apart however long etcd was gone, and starts again short', () => {
    const first = etcdClientOptions({ endpoints: ['127.0.0.1:2379'] }).faultHandling?.watchBackoff;
    expect(first).toBeDefined();
    // the client steps the back-off once per failed attempt (twice when the stream errors and ends)
    let state = first!;
    const delays: number[] = [];
    for (let i = 0; i < 60; i++) {
      state = state.next(undefined);
      delays.push(state.duration);
    }
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    expect(delays.reduce((a, b) => a + b, 0)).toBeGreaterThan(20_000); // it keeps trying, not hammering
    expect(first!.next(undefined).duration).toBeLessThanOrEqual(400);
  });
});
