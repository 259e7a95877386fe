import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { isRegistryError } from './errors.js';
import { etcdCall } from './etcd-client.js';
import { grpcCodeOf } from './grpc-code.js';
import { SubnetRegistry } from './registry.js';
import { emptyStats } from './stats.js';
import type { EtcdCallHook } from './types.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function recorder() {
  const calls: Parameters<EtcdCallHook>[] = [];
  const hook: EtcdCallHook = (...args) => {
    calls.push(args);
  };
  return { calls, ctx: { stats: emptyStats(), logger: quiet, onEtcdCall: hook } };
}

describe('grpcCodeOf', () => {
  it('names the status of etcd3 typed errors, of grpc-js messages, else UNKNOWN', () => {
    expect(grpcCodeOf(new GRPCUnavailableError('No connection established'))).toBe('UNAVAILABLE');
    expect(grpcCodeOf(new GRPCDeadlineExceededError('Deadline exceeded'))).toBe('DEADLINE_EXCEEDED');
    expect(grpcCodeOf(new Error('14 UNAVAILABLE: No connection established'))).toBe('UNAVAILABLE');
    expect(grpcCodeOf(new Error('GRPCGenericError: 8 RESOURCE_EXHAUSTED: too big'))).toBe(
      'RESOURCE_EXHAUSTED',
    );
    expect(grpcCodeOf(new Error('socket hang up'))).toBe('UNKNOWN');
    expect(grpcCodeOf('not an error')).toBe('UNKNOWN');
  });
});

describe('etcdCall', () => {
  it('reports a successful call with its latency and no code', async () => {
    const { calls, ctx } = recorder();
    expect(await etcdCall(ctx, 'txn', async () => 42)).toBe(42);
    expect(calls).toHaveLength(1);
    const [op, outcome, seconds, code] = calls[0]!;
    expect([op, outcome, code]).toEqual(['txn', 'ok', undefined]);
    expect(seconds).toBeGreaterThanOrEqual(0);
    expect(seconds).toBeLessThan(1);
    expect(ctx.stats.etcdErrors.txn).toBe(0);
  });

  it('reports and counts a failure by operation and gRPC status, and rethrows it with a stable code', async () => {
    const { calls, ctx } = recorder();
    const fail = (error: Error) => etcdCall(ctx, 'range', () => Promise.reject(error)).catch((e) => e);
    const unavailable = await fail(new GRPCUnavailableError('No connection established'));
    const late = await fail(new GRPCDeadlineExceededError('Deadline exceeded'));
    await fail(new GRPCUnavailableError('No connection established'));
    expect(isRegistryError(unavailable, 'REGISTRY_ETCD')).toBe(true);
    expect(isRegistryError(late, 'REGISTRY_TIMEOUT')).toBe(true);
    expect(calls.map(([op, outcome, , code]) => [op, outcome, code])).toEqual([
      ['range', 'error', 'UNAVAILABLE'],
      ['range', 'error', 'DEADLINE_EXCEEDED'],
      ['range', 'error', 'UNAVAILABLE'],
    ]);
    expect(ctx.stats.etcdErrors.range).toBe(3);
    expect(ctx.stats.etcdErrorsByCode.range).toEqual({ UNAVAILABLE: 2, DEADLINE_EXCEEDED: 1 });
  });

  it('ignores a throwing hook', async () => {
    const ctx = {
      stats: emptyStats(),
      logger: quiet,
      onEtcdCall: () => {
        throw new Error('broken hook');
      },
    };
    expect(await etcdCall(ctx, 'put', async () => 'done')).toBe('done');
  });
});

describe('SubnetRegistry onEtcdCall', () => {
  it('reports the calls the registry makes (etcd unreachable: a closed loopback port)', async () => {
    const { calls } = recorder();
    const registry = new SubnetRegistry({
      endpoints: ['http://127.0.0.1:1'],
      callTimeoutMs: 2_000,
      dialTimeoutMs: 2_000,
      onEtcdCall: (...args) => calls.push(args),
    });
    try {
      const error = await registry.loadConfig().catch((e: unknown) => e);
      expect(isRegistryError(error)).toBe(true);
      expect(calls).toHaveLength(1);
      expect(calls[0]?.slice(0, 2)).toEqual(['range', 'error']);
      expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(calls[0]?.[3]);
      const stats = registry.stats();
      expect(stats.etcdErrors.range).toBe(1);
      expect(Object.values(stats.etcdErrorsByCode.range)).toEqual([1]);
    } finally {
      await registry.close();
    }
  });
});
