// `plain`: a plain loop over one core read op on a loaded dataset, for `csbench crosscheck`: no
// batch runner, no busy clock, no histogram. Each call is timed alone by Bun.nanoseconds() around
// the awaited call, its result checked afterwards as driver/core.ts checks it, and the
// percentiles are exact (every sample sorted).
import { type Dataset, datasetArg } from "./dataset";
import type { Doc, Id } from "./library";
import { type Args, argInt, argString, usage } from "./protocol";
import { Rng } from "./rng";

/** One call, and the check of its result that driver/core.ts makes after it (untimed). */
interface Call {
  run: () => Promise<unknown>;
  check: (result: unknown) => void;
}

function expect(ok: boolean, op: string, input: unknown): void {
  if (!ok) throw new Error(`${op}: wrong result for ${JSON.stringify(input)}`);
}

/** The op's call on fresh random input and its check, as driver/core.ts makes them (untimed). */
function calls(ds: Dataset, rng: Rng, op: string): Record<string, () => Call> {
  return {
    find_by_id: () => {
      const { uid, id } = ds.randomDoc(rng);
      return {
        run: () => ds.collection.findById(id as Id),
        check: (doc) => expect((doc as Doc | undefined)?.uid === uid, op, { uid }),
      };
    },
    find_by_indexed: () => {
      const value = rng.pick(ds.model.values("group"));
      const expected = ds.model.count("group", value);
      return {
        run: () => ds.collection.findBy("group", value),
        check: (docs) => {
          const found = docs as Doc[];
          expect(found.length === expected && found.filter((d) => d.group === value).length === expected, op, { value });
        },
      };
    },
    find_range: () => {
      const values = ds.model.values("age") as number[];
      const lo = values[0]!;
      const span = values[values.length - 1]! - lo + 1;
      const from = lo + rng.int(Math.max(1, span - 5 + 1));
      const expected = ds.model.countRange("age", from, from + 5);
      const query: Doc = { age: { $gte: from, $lt: from + 5 } };
      return {
        run: () => ds.collection.find(query),
        check: (docs) => {
          const found = docs as Doc[];
          const inRange = found.filter((d) => (d.age as number) >= from && (d.age as number) < from + 5).length;
          expect(found.length === expected && inRange === expected, op, query);
        },
      };
    },
  };
}

/** Time `count` calls of `make`'s op, each alone; every sample in ns. */
async function timed(make: () => Call, count: number): Promise<Float64Array> {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const call = make();
    const t0 = Bun.nanoseconds();
    const result = await call.run();
    out[i] = Bun.nanoseconds() - t0;
    call.check(result);
  }
  return out;
}

/**
 * The `plain` request: `count` calls of `op` on the loaded dataset, and their exact
 * percentiles; with `samples: true` also every call's ns in call order.
 */
export async function plainLoop(datasets: Map<string, Dataset>, args: Args): Promise<Doc> {
  const ds = datasetArg(datasets, args);
  const op = argString(args, "op");
  const count = argInt(args, "count");
  if (count < 1) throw usage(`"count" must be at least 1, got ${count}`);
  const make = calls(ds, new Rng(argInt(args, "seed", 0)), op)[op];
  if (!make) throw usage(`plain runs ${Object.keys(calls(ds, new Rng(0), op)).join(", ")}, not "${op}"`);
  const raw = await timed(make, count);
  const samples = Float64Array.from(raw).sort();
  const at = (q: number): number => samples[Math.min(count - 1, Math.max(0, Math.ceil((q / 100) * count) - 1))]!;
  const mean = samples.reduce((a, b) => a + b, 0) / count;
  const figures = { op, count, mean_ns: mean, p50_ns: at(50), p95_ns: at(95), p99_ns: at(99) };
  return args.samples === true ? { ...figures, samples_ns: Array.from(raw) } : figures;
}
