// Load ops: what one virtual user does in a load scenario (load.ts runs them concurrently).
//
// A load op differs from a batch op (ops.ts) in three ways, all because many users share
// one process and one database at once:
// - it never touches the global busy clock: it wraps the library call in `timed`, which
//   only notes when the call returned (load.ts counts latency from the request's intended
//   start to that moment, so event-loop queueing is in it and the checks after are not);
// - it never restores the data behind it: state grows as it would in an application
//   (inserts stay, sessions accumulate), and its checks hold under concurrent writes;
// - per-user state (a token, a subscription) lives in the VirtualUser, shared fixtures in
//   the closure that `prepare` returns.
import type { Dataset } from "./dataset";
import type { Capabilities, Library } from "./library";
import type { Rng } from "./rng";

/** Await the library call and note when it returned; use exactly once per request. */
export type Timed = <T>(call: () => Promise<T> | T) => Promise<T>;

export interface LoadEnv {
  library: Library;
  /** The scenario's dataset (tier and documents), shared by every user. */
  dataset: Dataset;
  /** Users of the run: fixtures that are per user are sized by it. */
  users: number;
  seed: number;
}

export interface VirtualUser {
  index: number;
  rng: Rng;
  /** Per-op state of this user, keyed by the op's own names. */
  state: Map<string, unknown>;
}

export interface LoadStep {
  /**
   * One request of `user`: prepare input, `await timed(() => libraryCall())`, then check
   * the result with ops.check (a DriverError "check" counts as a failed request); a
   * library exception propagates and is counted by its class name.
   */
  run(user: VirtualUser, timed: Timed): Promise<void>;
  /** Untimed, after the run: release what prepare made (timers, subscriptions, files). */
  close?(): Promise<void>;
}

export interface LoadOp {
  /** Capabilities the commit must have; otherwise the scenario is "unsupported". */
  requires: Array<keyof Capabilities>;
  /** Untimed, once per run before any user starts: build the fixtures `run` uses. */
  prepare(env: LoadEnv): Promise<LoadStep>;
}

/**
 * A fixture shared by the ops of one run (same dataset and users; the seed is left out so a
 * run may seed its ops apart): the first prepare builds it, the close of the last step that
 * acquired it releases it.
 */
export class RunFixtures<T> {
  private readonly runs = new WeakMap<object, Map<string, { fixture: Promise<T>; refs: number }>>();

  constructor(
    private readonly build: (env: LoadEnv) => Promise<T>,
    private readonly release: (fixture: T) => Promise<void> | void = () => {},
  ) {}

  async acquire(env: LoadEnv): Promise<{ fixture: T; release(): Promise<void> }> {
    let byRun = this.runs.get(env.dataset);
    if (!byRun) this.runs.set(env.dataset, (byRun = new Map()));
    const runs = byRun;
    const key = String(env.users);
    let entry = runs.get(key);
    if (!entry) {
      const created = { fixture: this.build(env), refs: 0 };
      created.fixture.catch(() => runs.get(key) === created && runs.delete(key)); // a failed build is retried
      runs.set(key, (entry = created));
    }
    const mine = entry;
    mine.refs++;
    let fixture: T;
    try {
      fixture = await mine.fixture;
    } catch (err) {
      mine.refs--;
      throw err;
    }
    let released = false;
    return {
      fixture,
      release: async () => {
        if (released) return;
        released = true;
        if (--mine.refs > 0) return;
        if (runs.get(key) === mine) runs.delete(key);
        await this.release(fixture);
      },
    };
  }

  /** A load op whose requests `run` on this fixture: acquired at prepare, released at close. */
  op(requires: LoadOp["requires"], run: (fixture: T, user: VirtualUser, timed: Timed) => Promise<void>): LoadOp {
    return {
      requires,
      prepare: async (env: LoadEnv): Promise<LoadStep> => {
        const { fixture, release } = await this.acquire(env);
        return { run: (user, timed) => run(fixture, user, timed), close: release };
      },
    };
  }
}

const registry = new Map<string, LoadOp>();

/** Add an area's load ops; names are the scenario files' op names (src/csbench/scenarios.py). */
export function registerLoadOps(ops: Record<string, LoadOp>): void {
  for (const [name, op] of Object.entries(ops)) {
    if (registry.has(name)) throw new Error(`load op ${name} is already registered`);
    registry.set(name, op);
  }
}

export function loadOp(name: string): LoadOp | undefined {
  return registry.get(name);
}

export function availableLoadOps(caps: Capabilities): string[] {
  return [...registry].filter(([, op]) => op.requires.every((c) => caps[c])).map(([name]) => name);
}
