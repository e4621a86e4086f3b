// Machine area: probes of the hardware under the driver, not of Collection Store, and
// `retain`, a planted leak for the self-test of csbench leaks.
// `pointer_chase` walks a random cyclic permutation of a working set of `kib` KiB, so each
// hop is one dependent load: its time per hop is the memory latency at that size (L2-resident
// when small, L3 or DRAM when large), and its spread over time shows how much of the shared
// cache other tenants of the host take away.
import { clock } from "./clock";
import { type Adapter, type OpContext, type OpSpec, check, paramInt } from "./ops";
import { Rng } from "./rng";

interface Ring {
  /** next[i]: the element after i on the one cycle through every element. */
  next: Int32Array;
  /** The cycle in walking order, starting at 0: where `hops` hops from 0 must end. */
  order: Int32Array;
}

/** Rings built untimed on first use, per size in KiB. */
const rings = new Map<number, Ring>();

function ring(kib: number): Ring {
  let built = rings.get(kib);
  if (!built) {
    const n = Math.max(2, (kib * 1024) >> 2);
    const order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
    const rng = new Rng(kib);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    const next = new Int32Array(n);
    for (let i = 0; i < n; i++) next[order[i]!] = order[(i + 1) % n]!;
    const start = order.indexOf(0);
    const fromZero = new Int32Array(n);
    for (let i = 0; i < n; i++) fromZero[i] = order[(start + i) % n]!;
    built = { next, order: fromZero };
    rings.set(kib, built);
  }
  return built;
}

function walk(next: Int32Array, hops: number): number {
  let p = 0;
  for (let k = 0; k < hops; k++) p = next[p]!;
  return p;
}

const pointerChase: OpSpec = {
  requires: [],
  needsDataset: false,
  validate({ params }: OpContext) {
    ring(paramInt(params, "kib", 1024));
  },
  async step({ params }: OpContext) {
    const { next, order } = ring(paramInt(params, "kib", 1024));
    const hops = paramInt(params, "hops", 10_000);
    const t0 = clock.start();
    const end = walk(next, hops);
    clock.stop(t0);
    const expected = order[hops % order.length]!;
    check(end === expected, "pointer_chase", { hops }, { end: expected }, { end });
  },
};

/** What `retain` keeps: a planted leak, for the self-test of csbench leaks. */
class Retained {
  constructor(readonly index: number) {}
}
const retained: Retained[] = [];

const retain: OpSpec = {
  requires: [],
  needsDataset: false,
  async step({ params }: OpContext) {
    const count = paramInt(params, "objects", 1);
    const t0 = clock.start();
    for (let i = 0; i < count; i++) retained.push(new Retained(retained.length));
    clock.stop(t0);
  },
};

export const machineAdapter: Adapter = {
  area: "machine",
  ops: { pointer_chase: pointerChase, retain },
};
