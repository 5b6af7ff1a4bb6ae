/**
 * Deduplication of HA Prometheus pairs, with the semantics of Mimir's HA tracker: each
 * request names its cluster and replica by two labels of its first series (Prometheus
 * external labels, the same on every series); per cluster one replica is elected, and only
 * its requests are stored. The others are answered 202 (success for the sender, which then
 * drops them) and stored nowhere. When the elected replica has sent nothing for
 * `failoverTimeoutMs`, the next replica to send is elected. The replica label is dropped
 * before storage (adapter/validate.ts), so both replicas' series are the same series.
 *
 * The election lives in an ElectionStore shared by every adapter: Redis (survives restarts of
 * the adapters, one round trip per check, atomic through one Lua script), or this process's
 * memory (a single `serve`; forgotten on restart). Checks are cached: the elected replica's
 * requests reach the store once per `failoverTimeoutMs / 3` to renew its election, the other
 * replica's about once per `2/3 failoverTimeoutMs` to see whether a failover is due, so at
 * 1000 clusters (30 s timeout) the store sees about 150 small commands per second per adapter
 * whatever the request rate.
 */
import type { Redis } from 'ioredis'
import { Counter, type Registry } from 'prom-client'

/** Who holds a cluster's election, and when that replica last renewed it (ms). */
export interface Election {
  replica: string
  atMs: number
}

export interface ElectionStore {
  /**
   * Atomically: elects `replica` for `cluster` if nobody is elected, it is the elected one
   * (renewing `atMs`), or the elected one last renewed before `nowMs - failoverTimeoutMs`.
   * Returns the election as it stands afterwards.
   */
  claim(cluster: string, replica: string, nowMs: number, failoverTimeoutMs: number): Promise<Election>
}

export class MemoryElectionStore implements ElectionStore {
  private readonly elections = new Map<string, Election>()

  async claim(cluster: string, replica: string, nowMs: number, failoverTimeoutMs: number): Promise<Election> {
    const current = this.elections.get(cluster)
    if (current && current.replica !== replica && nowMs - current.atMs < failoverTimeoutMs) return current
    const next = { replica, atMs: nowMs }
    this.elections.set(cluster, next)
    return next
  }
}

// KEYS[1]: the cluster's key. ARGV: replica, now (ms), failover timeout (ms), key TTL (ms).
// The value is "<atMs> <replica>". Run as one script, so two adapters cannot both elect.
const CLAIM_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  local space = string.find(current, ' ', 1, true)
  local at = tonumber(string.sub(current, 1, space - 1))
  local replica = string.sub(current, space + 1)
  if replica ~= ARGV[1] and tonumber(ARGV[2]) - at < tonumber(ARGV[3]) then
    return current
  end
end
local value = ARGV[2] .. ' ' .. ARGV[1]
redis.call('SET', KEYS[1], value, 'PX', ARGV[4])
return value
`

export class RedisElectionStore implements ElectionStore {
  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix = 'metrichouse:ha:',
  ) {}

  async claim(cluster: string, replica: string, nowMs: number, failoverTimeoutMs: number): Promise<Election> {
    // A cluster not heard of for many timeouts (or a day) is forgotten.
    const ttlMs = Math.max(86_400_000, failoverTimeoutMs * 10)
    const value = (await this.redis.eval(CLAIM_SCRIPT, 1, this.keyPrefix + cluster, replica, String(nowMs), String(failoverTimeoutMs), String(ttlMs))) as string
    const space = value.indexOf(' ')
    return { atMs: Number(value.slice(0, space)), replica: value.slice(space + 1) }
  }
}

export interface HaTrackerOptions {
  store: ElectionStore
  failoverTimeoutMs: number
  registry: Registry
  now?: () => number
}

export class HaTracker {
  private readonly now: () => number
  /** Per cluster: the election as this process last read it. */
  private readonly known = new Map<string, Election>()
  private readonly checkEveryMs: number
  private readonly failovers: Counter
  private readonly storeErrors: Counter
  readonly deduplicated: Counter

  constructor(private readonly opts: HaTrackerOptions) {
    this.now = opts.now ?? Date.now
    this.checkEveryMs = Math.max(1, Math.floor(opts.failoverTimeoutMs / 3))
    const registers = [opts.registry]
    this.failovers = new Counter({ name: 'metrichouse_adapter_ha_elections_total', help: 'Replicas elected for a cluster (the first, and each failover) by this process', registers })
    this.storeErrors = new Counter({ name: 'metrichouse_adapter_ha_store_errors_total', help: 'Failed reads or writes of the HA election store (the request answered 503)', registers })
    this.deduplicated = new Counter({
      name: 'metrichouse_adapter_ha_samples_deduplicated_total',
      help: 'Samples of requests from a replica that is not elected for its cluster: answered 202, not stored',
      registers,
    })
  }

  /** True when `replica` is (or now becomes) the elected replica of `cluster`. Throws when the store cannot be reached. */
  async accepts(cluster: string, replica: string): Promise<boolean> {
    const now = this.now()
    const known = this.known.get(cluster)
    if (known) {
      // The elected replica renews its claim every checkEveryMs, long before it could look
      // stale to another adapter; another replica asks again only once a failover could be
      // due (the claim it last read is older than the timeout), so it waits no longer.
      if (known.replica === replica && now - known.atMs < this.checkEveryMs) return true
      if (known.replica !== replica && now - known.atMs < this.opts.failoverTimeoutMs) return false
    }
    let election: Election
    try {
      election = await this.opts.store.claim(cluster, replica, now, this.opts.failoverTimeoutMs)
    } catch (err) {
      this.storeErrors.inc()
      throw err
    }
    if (election.replica === replica && election.atMs === now && known?.replica !== replica) this.failovers.inc()
    this.known.set(cluster, election)
    return election.replica === replica
  }
}
