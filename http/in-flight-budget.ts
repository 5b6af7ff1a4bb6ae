/**
 * A server-wide budget of bytes held by requests in flight (bodies as they arrive,
 * decompressed buffers, an estimate of decoded series). A request takes a lease, grows it
 * before it allocates, and releases it when done; a grow past the budget is refused, and
 * the request is answered 429 so that its sender retries later. Without it, two
 * remote-write requests of 2.5M samples each took the process to 10 GB.
 */
import { Gauge, type Registry } from 'prom-client'

export interface BudgetLease {
  readonly budgetBytes: number
  /** Bytes this lease holds. */
  readonly bytes: number
  /** Takes `n` more bytes; false (and nothing taken) when the budget has no room. */
  grow(n: number): boolean
  /** Gives back everything; idempotent. */
  release(): void
}

export class InFlightBudget {
  private used = 0

  constructor(
    readonly budgetBytes: number,
    private readonly gauge?: Gauge,
  ) {}

  static withMetrics(budgetBytes: number, registry: Registry): InFlightBudget {
    const registers = [registry]
    new Gauge({ name: 'metrichouse_http_in_flight_budget_bytes', help: 'The in-flight request memory budget.', registers }).set(budgetBytes)
    const gauge = new Gauge({
      name: 'metrichouse_http_in_flight_bytes',
      help: 'Bytes held by requests in flight (bodies, decompressed buffers, decoded series estimate).',
      registers,
    })
    return new InFlightBudget(budgetBytes, gauge)
  }

  get usedBytes(): number {
    return this.used
  }

  lease(): BudgetLease {
    return new Lease(this)
  }

  /** Moves `n` bytes (negative: gives back) for a lease holding `held`; false when refused. */
  take(n: number, held: number): boolean {
    // A single request bigger than the whole budget still gets through when nothing else is
    // in flight: its own size limits bound it, and refusing it would refuse it forever.
    if (n > 0 && this.used + n > this.budgetBytes && this.used - held > 0) return false
    this.used += n
    this.gauge?.set(this.used)
    return true
  }
}

class Lease implements BudgetLease {
  private held = 0
  private released = false

  constructor(private readonly budget: InFlightBudget) {}

  get budgetBytes(): number {
    return this.budget.budgetBytes
  }

  get bytes(): number {
    return this.held
  }

  grow(n: number): boolean {
    if (this.released || !this.budget.take(n, this.held)) return false
    this.held += n
    return true
  }

  release(): void {
    if (this.released) return
    this.released = true
    this.budget.take(-this.held, this.held)
    this.held = 0
  }
}
