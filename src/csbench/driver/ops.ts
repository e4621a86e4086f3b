// The op registry (one adapter module per area adds its ops) and the `run` batch loop.
import { clock } from "./clock";
import { type Dataset, datasetArg } from "./dataset";
import { Histogram, SUB_BITS } from "./histogram";
import { type Capabilities, type Library, requireCapabilities } from "./library";
import { type Args, DriverError, argInt, argNumberOrNull, argString, usage } from "./protocol";
import { type CompactProfile, profileInterval, profiled } from "./cpuprofile";
import { Rng } from "./rng";

export type Params = Record<string, unknown>;

export interface OpContext {
  library: Library;
  /** The dataset named by `run`; null for ops with needsDataset = false. */
  dataset: Dataset | null;
  rng: Rng;
  params: Params;
  /**
   * Latencies (ns) a step records instead of its timed ns, e.g. one per delivery of a
   * publish; cleared before each step, left empty by most ops. The busy clock is unaffected.
   */
  samples: number[];
}

export interface OpSpec {
  /** Capabilities the commit must have; otherwise the op is "unsupported". */
  requires: Array<keyof Capabilities>;
  needsDataset: boolean;
  /** Rejects a batch whose arguments cannot work (throws DriverError). */
  validate?(ctx: OpContext): void;
  /** One op: prepare input, time only the library call (clock.start/stop), then check the result. */
  step(ctx: OpContext): Promise<void>;
}

export interface Adapter {
  area: string;
  ops: Record<string, OpSpec>;
  /**
   * Capabilities this area adds to probe (e.g. {auth: true}), detected from the commit's
   * files or exports; never throws for a missing feature (report false instead).
   */
  detect?(library: Library): Promise<Record<string, boolean>> | Record<string, boolean>;
}

const registry = new Map<string, OpSpec>();
const adapters: Adapter[] = [];

/** Merge every registered area's detected capabilities into library.caps. */
export async function detectAreaCapabilities(library: Library): Promise<void> {
  for (const adapter of adapters) {
    if (adapter.detect) Object.assign(library.caps, await adapter.detect(library));
  }
}

export function registerAdapter(adapter: Adapter): void {
  adapters.push(adapter);
  for (const [name, spec] of Object.entries(adapter.ops)) {
    if (registry.has(name)) throw new Error(`op ${name} of area ${adapter.area} is already registered`);
    registry.set(name, spec);
  }
}

export function availableOps(caps: Capabilities): string[] {
  return [...registry].filter(([, spec]) => spec.requires.every((c) => caps[c])).map(([name]) => name);
}

/** Throw a "check" error naming op, input, expected and actual unless `ok`. */
export function check(ok: boolean, op: string, input: unknown, expected: unknown, actual: unknown): void {
  if (ok) return;
  const show = (v: unknown) => JSON.stringify(v) ?? String(v);
  throw new DriverError("check", `${op}: input ${show(input)}: expected ${show(expected)}, got ${show(actual)}`, {
    op, input, expected, actual,
  });
}

/** An untimed call made to verify or restore after an op: if it throws, the op's check failed. */
export async function verify<T>(op: string, input: unknown, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new DriverError("check", `${op}: input ${JSON.stringify(input)}: ${what} threw: ${message}`, {
      op, input, expected: `${what} succeeds`, actual: `threw: ${message}`,
    }, err instanceof Error ? (err.stack ?? null) : null);
  }
}

export function paramInt(params: Params, key: string, fallback: number): number {
  const v = params[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw usage(`param "${key}" must be a positive integer`);
  return v;
}

export function paramString(params: Params, key: string, fallback: string): string {
  const v = params[key] ?? fallback;
  if (typeof v !== "string") throw usage(`param "${key}" must be a string`);
  return v;
}

export interface BatchResult {
  op: string;
  count: number;
  busy_ns: number;
  cpu_ns: number;
  /** CPU time during the timed calls only (with the `timed_cpu` arg; else 0). */
  timed_cpu_ns: number;
  hist: { sub_bits: number; buckets: Array<[number, number]> };
  min_ns: number | null;
  max_ns: number | null;
  mean_ns: number | null;
  p50_ns: number | null;
  p95_ns: number | null;
  p99_ns: number | null;
  /** With the `profile` arg: the batch's sampled CPU profile (cpuprofile.ts). */
  profile?: CompactProfile;
}

/** A growing Float64Array of latencies (ns): pushing one allocates nothing until it doubles. */
class Samples {
  private buf: Float64Array;
  private length = 0;

  constructor(capacity: number) {
    this.buf = new Float64Array(Math.max(1, capacity));
  }

  push(ns: number): void {
    if (this.length === this.buf.length) {
      const grown = new Float64Array(this.buf.length * 2);
      grown.set(this.buf);
      this.buf = grown;
    }
    this.buf[this.length++] = ns;
  }

  values(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

export async function runBatch(library: Library, datasets: Map<string, Dataset>, args: Args): Promise<BatchResult> {
  const op = argString(args, "op");
  const spec = registry.get(op);
  if (!spec) throw usage(`unknown op "${op}"`);
  requireCapabilities(library, op, spec.requires);
  const dataset = spec.needsDataset ? datasetArg(datasets, args) : null;
  const count = argInt(args, "count", 1);
  const minCount = argInt(args, "min_count", 1);
  const budgetMs = argNumberOrNull(args, "budget_ms");
  const params = (args.params ?? {}) as Params;
  if (typeof params !== "object") throw usage('"params" must be an object');
  const ctx: OpContext = { library, dataset, rng: new Rng(argInt(args, "seed", 0)), params, samples: [] };
  spec.validate?.(ctx);

  const budgetNs = budgetMs === null ? Infinity : budgetMs * 1e6;
  const interval = profileInterval(args.profile);
  const recorded = new Samples(Math.min(count, 1 << 16));
  const run = () => loop(spec, ctx, { count, minCount, budgetNs }, recorded);
  let done = { n: 0, batchNs: 0, timedCpuNs: 0 };
  let profile: CompactProfile | null = null;
  clock.cpuTiming = args.timed_cpu === true;
  const cpu0 = process.cpuUsage();
  try {
    if (interval === null) done = await run();
    else profile = await profiled(async () => { done = await run(); }, interval);
  } finally {
    clock.cpuTiming = false;
  }
  const cpu = process.cpuUsage(cpu0);
  const { n, batchNs, timedCpuNs } = done;
  // The histogram is built after the loop: between two ops the runner only stores a number.
  const hist = new Histogram();
  let min = Infinity;
  let max = -Infinity;
  for (const ns of recorded.values()) {
    hist.record(ns);
    min = Math.min(min, ns);
    max = Math.max(max, ns);
  }
  const { buckets, p50_ns, p95_ns, p99_ns } = hist.summary();
  return {
    op,
    count: n,
    busy_ns: batchNs,
    cpu_ns: (cpu.user + cpu.system) * 1000,
    timed_cpu_ns: timedCpuNs,
    hist: { sub_bits: SUB_BITS, buckets },
    min_ns: n ? min : null,
    max_ns: n ? max : null,
    mean_ns: n ? batchNs / n : null,
    p50_ns, p95_ns, p99_ns,
    ...(profile ? { profile } : {}),
  };
}

/** The batch's ops, one after the other, until `count` or the budget; each op's ns recorded. */
async function loop(
  spec: OpSpec, ctx: OpContext, limits: { count: number; minCount: number; budgetNs: number }, recorded: Samples,
): Promise<{ n: number; batchNs: number; timedCpuNs: number }> {
  const { count, minCount, budgetNs } = limits;
  let n = 0;
  let batchNs = 0;
  let timedCpuNs = 0;
  while (n < count && !(n >= minCount && batchNs > budgetNs)) {
    clock.opNs = 0;
    clock.opCpuNs = 0;
    ctx.samples.length = 0;
    await spec.step(ctx);
    n += 1;
    batchNs += clock.opNs;
    timedCpuNs += clock.opCpuNs;
    if (ctx.samples.length === 0) recorded.push(clock.opNs);
    else for (const ns of ctx.samples) recorded.push(ns);
  }
  return { n, batchNs, timedCpuNs };
}

/** A fixture built untimed on first use and kept per JSON of `key`; a failed build is retried. */
export function cached<T>(map: Map<string, Promise<T>>, key: unknown, build: () => Promise<T>): Promise<T> {
  const k = JSON.stringify(key);
  let fixture = map.get(k);
  if (!fixture) {
    fixture = build();
    map.set(k, fixture);
    fixture.catch(() => map.delete(k)); // a failed build is retried, not cached
  }
  return fixture;
}
