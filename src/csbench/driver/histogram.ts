// Log-linear (HDR-like) latency histogram, identical to csbench/histogram.py (PROTOCOL.md).
// Values are non-negative integer nanoseconds and may exceed 2^32: no bit operators here.

export const SUB_BITS = 6;
const SUB = 2 ** SUB_BITS;
const EXACT_LIMIT = 2 * SUB;

/** floor(log2(v)) for an integer v >= 1, exact up to 2^53. */
function ilog2(v: number): number {
  let e = Math.floor(Math.log2(v));
  if (2 ** e > v) e -= 1;
  else if (2 ** (e + 1) <= v) e += 1;
  return e;
}

export function bucketIndex(v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`histogram value must be an integer >= 0, got ${v}`);
  if (v < EXACT_LIMIT) return v;
  const shift = ilog2(v) - SUB_BITS;
  return shift * SUB + Math.floor(v / 2 ** shift);
}

/** Midpoint of bucket i (exact for i < 128). */
export function bucketValue(i: number): number {
  if (i < EXACT_LIMIT) return i;
  const shift = Math.floor(i / SUB) - 1;
  const mant = i - shift * SUB;
  const lo = mant * 2 ** shift;
  const hi = (mant + 1) * 2 ** shift - 1;
  return (lo + hi) / 2;
}

export class Histogram {
  private counts = new Map<number, number>();
  total = 0;

  record(v: number): void {
    const i = bucketIndex(v);
    this.counts.set(i, (this.counts.get(i) ?? 0) + 1);
    this.total += 1;
  }

  /** Add every count of `other` to this histogram. */
  merge(other: Histogram): void {
    for (const [i, c] of other.counts) this.counts.set(i, (this.counts.get(i) ?? 0) + c);
    this.total += other.total;
  }

  /** Non-empty buckets as [index, count] in index order. */
  buckets(): Array<[number, number]> {
    return [...this.counts.entries()].sort((a, b) => a[0] - b[0]);
  }

  /** Value of the first bucket whose cumulative count reaches rank max(1, ceil(q/100*N)). */
  percentile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((q / 100) * this.total));
    let cumulative = 0;
    for (const [i, c] of this.buckets()) {
      cumulative += c;
      if (cumulative >= rank) return bucketValue(i);
    }
    throw new Error("unreachable: rank beyond total");
  }

  summary(): { buckets: Array<[number, number]>; p50_ns: number | null; p95_ns: number | null; p99_ns: number | null } {
    return { buckets: this.buckets(), p50_ns: this.percentile(50), p95_ns: this.percentile(95), p99_ns: this.percentile(99) };
  }
}
