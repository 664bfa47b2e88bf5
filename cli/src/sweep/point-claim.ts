import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { pidAlive } from '@e3/core';

/** Who holds a point: a worker process, identified across machines. */
interface Holder {
  pid: number;
  host: string;
  token: string;
}

const RENEW =
  "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
const RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

/** A held claim; `release()` removes it if it is still this worker's. */
export interface PointClaim {
  release(): Promise<void>;
}

/**
 * Claims a point for one worker until it has finished with it (run and upload), so that a job
 * handed on while its first worker still runs it (a stalled worker: its job lock lapsed) is never
 * run twice at once, even in two --workdir copies that no run.lock sees together. The claim is a
 * Redis key renewed every third of `seconds`; it lapses after `seconds` without renewal, and at
 * once when its worker's process is gone from this machine. A second worker waits for it.
 */
export async function claimPoint(
  client: Redis,
  key: string,
  seconds: number,
  signal: AbortSignal,
  onWait: (holder: string) => void,
): Promise<PointClaim | undefined> {
  const me: Holder = { pid: process.pid, host: hostname(), token: `${hostname()}:${process.pid}:${Date.now()}` };
  const value = JSON.stringify(me);
  let told = false;
  for (;;) {
    if ((await client.set(key, value, 'PX', seconds * 1000, 'NX')) === 'OK') break;
    const held = await client.get(key);
    const holder = held ? (JSON.parse(held) as Holder) : undefined;
    if (holder && holder.host === me.host && !pidAlive(holder.pid)) {
      await client.eval(RELEASE, 1, key, held!);
      continue;
    }
    if (holder && !told) onWait(`pid ${holder.pid} on ${holder.host}`);
    told = true;
    if (signal.aborted) return undefined;
    await sleep(1000);
  }
  const timer = setInterval(
    () => {
      client.eval(RENEW, 1, key, value, String(seconds * 1000)).catch(() => undefined);
    },
    (seconds * 1000) / 3,
  );
  return {
    release: async () => {
      clearInterval(timer);
      await client.eval(RELEASE, 1, key, value).catch(() => undefined);
    },
  };
}
