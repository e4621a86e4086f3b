// Sampled CPU profiles of a batch (`run` with `profile`): JavaScriptCore's sampling profiler
// (bun:jsc `profile`) around the batch loop, its samples compacted for the pipe.
import { profile as jscProfile } from "bun:jsc";
import { usage } from "./protocol";

/** A function as the profiler names it: [name, url, code hash, builtin (1) or not (0)]. */
export type ProfileFunction = [string, string, string, number];

/**
 * A batch's samples: every distinct function once, every distinct stack once (innermost
 * first, as [function index, line] pairs flattened), and per sample, in the order taken,
 * the index of its stack. `line` is 1-based, 0 when unknown (native code).
 */
export interface CompactProfile {
  interval_us: number;
  functions: ProfileFunction[];
  stacks: number[][];
  samples: number[];
}

const UNKNOWN = 4294967295;

/** The profile request's interval in µs, or null for an unprofiled batch. */
export function profileInterval(arg: unknown): number | null {
  if (arg === undefined || arg === null) return null;
  const interval = (arg as { interval_us?: unknown }).interval_us;
  if (typeof interval !== "number" || !Number.isInteger(interval) || interval < 10) {
    throw usage('"profile" must be {"interval_us": an integer >= 10}');
  }
  return interval;
}

/** Run `body` under the sampling profiler and compact what it sampled. */
export async function profiled(body: () => Promise<void>, intervalUs: number): Promise<CompactProfile> {
  const { stackTraces } = await jscProfile(body, intervalUs);
  const functions: ProfileFunction[] = [];
  const functionIndex = new Map<string, number>();
  const stacks: number[][] = [];
  const stackIndex = new Map<string, number>();
  const samples: number[] = [];
  for (const trace of stackTraces.traces) {
    const stack: number[] = [];
    for (const frame of trace.frames) {
      const hash = frame.location.split(":", 1)[0] ?? "";
      const fn: ProfileFunction = [frame.name, frame.sourceURL ?? "", hash, frame.flags & 1];
      const key = fn.join("\u0000");
      let index = functionIndex.get(key);
      if (index === undefined) {
        index = functions.push(fn) - 1;
        functionIndex.set(key, index);
      }
      stack.push(index, frame.line === UNKNOWN ? 0 : frame.line);
    }
    const key = stack.join(",");
    let index = stackIndex.get(key);
    if (index === undefined) {
      index = stacks.push(stack) - 1;
      stackIndex.set(key, index);
    }
    samples.push(index);
  }
  return { interval_us: intervalUs, functions, stacks, samples };
}
