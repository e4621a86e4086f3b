// `load_run`: virtual users in this one process against one database (PROTOCOL.md, "Load runs").
//
// Closed model: `users` async loops; each issues a request, waits for it, thinks
// (think_time_ms × U(0.5, 1.5)) and issues the next. Users start evenly over ramp-up and
// leave evenly over ramp-down (the last to start leaves first).
// Open model: requests arrive as a Poisson process of `arrival_rate` per second (rising
// linearly over ramp-up, falling over ramp-down); each is served by an idle user (at most
// `users` in flight) and waits in a queue if none is idle.
// Latency runs to the return of the request's timed library call, from its start: in the
// closed model when the user issues it (after the think time), in the open model from the
// *intended* start (the arrival), so that a slow database cannot hide its slowness by
// slowing the load: a late arrival loop, a full event loop, a wait for an idle user are all
// in it. A request belongs to the phase of its (intended) start.
import { type Dataset, datasetArg } from "./dataset";
import { Histogram, SUB_BITS } from "./histogram";
import { type Library, requireCapabilities } from "./library";
import { type LoadStep, type Timed, type VirtualUser, loadOp } from "./load_ops";
import { type Args, DriverError, argInt, argString, usage } from "./protocol";
import { Rng } from "./rng";

const PHASES = ["ramp_up", "steady", "ramp_down"] as const;
/** How often the progress ticker looks at the clock: a phase change is reported within it. */
const TICK_MS = 100;
type PhaseName = (typeof PHASES)[number];

interface Operation {
  op: string;
  weight: number;
}

interface Plan {
  model: "closed" | "open";
  users: number;
  thinkMs: number;
  arrivalRate: number;
  /** Phase boundaries in ns from the run's start: [ramp_up end, steady end, ramp_down end]. */
  ends: [number, number, number];
  operations: Operation[];
  seed: number;
  progressMs: number;
  drainMs: number;
}

class OpStats {
  count = 0;
  errors: Record<string, number> = {};
  /** The first message of each error kind. */
  errorSample: Record<string, string> = {};
  hist = new Histogram();
  sumNs = 0;

  summary() {
    const s = this.hist.summary();
    const ms = (ns: number | null) => (ns === null ? null : ns / 1e6);
    return {
      count: this.count,
      errors: this.errors,
      error_sample: this.errorSample,
      hist: { sub_bits: SUB_BITS, buckets: s.buckets },
      p50_ms: ms(s.p50_ns),
      p95_ms: ms(s.p95_ns),
      p99_ms: ms(s.p99_ns),
      mean_ms: this.count ? ms(this.sumNs / this.count) : null,
    };
  }
}

class Recorder {
  /** Per phase, per op. */
  readonly stats = new Map<PhaseName, Map<string, OpStats>>(PHASES.map((p) => [p, new Map()]));
  completed = 0;
  failed = 0;
  inFlight = 0;
  /** Requests running now, by phase and op (what is left after the drain is "unfinished"). */
  readonly running = new Map<string, { phase: PhaseName; op: string; n: number }>();

  start(phase: PhaseName, op: string): void {
    const key = `${phase}/${op}`;
    const r = this.running.get(key) ?? { phase, op, n: 0 };
    r.n += 1;
    this.running.set(key, r);
    this.inFlight += 1;
  }

  end(phase: PhaseName, op: string): void {
    this.running.get(`${phase}/${op}`)!.n -= 1;
    this.inFlight -= 1;
  }

  /** Count every request still running as an "unfinished" error of its phase and op. */
  abandonRunning(): number {
    let n = 0;
    for (const r of this.running.values()) {
      if (r.n <= 0) continue;
      const s = this.op(r.phase, r.op);
      s.errors.unfinished = (s.errors.unfinished ?? 0) + r.n;
      s.errorSample.unfinished ??= "still running when the drain after the last phase ended";
      n += r.n;
    }
    return n;
  }

  op(phase: PhaseName, op: string): OpStats {
    const byOp = this.stats.get(phase)!;
    let s = byOp.get(op);
    if (!s) byOp.set(op, (s = new OpStats()));
    return s;
  }

  ok(phase: PhaseName, op: string, latencyNs: number): void {
    const s = this.op(phase, op);
    s.count += 1;
    const ns = Math.max(0, Math.round(latencyNs));
    s.hist.record(ns);
    s.sumNs += ns;
    this.completed += 1;
  }

  error(phase: PhaseName, op: string, kind: string, message: string): void {
    const s = this.op(phase, op);
    s.errors[kind] = (s.errors[kind] ?? 0) + 1;
    s.errorSample[kind] ??= message.slice(0, 500);
    this.failed += 1;
  }

  /** p95 in ms of every successful request of `phase` so far (null if none). */
  p95(phase: PhaseName): number | null {
    const all = new Histogram();
    for (const s of this.stats.get(phase)!.values()) all.merge(s.hist);
    return all.total ? all.percentile(95)! / 1e6 : null;
  }
}

function parsePlan(args: Args): Plan {
  const model = argString(args, "model");
  if (model !== "closed" && model !== "open") throw usage('arg "model" must be "closed" or "open"');
  const users = argInt(args, "users");
  if (users < 1) throw usage('arg "users" must be >= 1');
  const num = (key: string, fallback?: number): number => {
    const v = args[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw usage(`arg "${key}" must be a number >= 0`);
    return v;
  };
  const positive = (v: number, key: string): number => {
    if (!(v > 0)) throw usage(`arg "${key}" must be > 0`);
    return v;
  };
  const phases = (args.phases ?? {}) as Record<string, unknown>;
  const secs = PHASES.map((p): number => {
    const v = phases[p];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw usage(`phases.${p} must be seconds >= 0`);
    return v * 1e9;
  }) as [number, number, number];
  if (secs[1] <= 0) throw usage("phases.steady must be > 0");
  const operations = args.operations;
  if (!Array.isArray(operations) || !operations.length) throw usage('arg "operations" must be a non-empty list');
  const ops = operations.map((o, i) => {
    const { op, weight } = (o ?? {}) as Record<string, unknown>;
    if (typeof op !== "string" || typeof weight !== "number" || !(weight > 0)) {
      throw usage(`operations[${i}] must be {op: string, weight: number > 0}`);
    }
    return { op, weight };
  });
  return {
    model,
    users,
    thinkMs: model === "closed" ? num("think_time_ms") : 0,
    arrivalRate: model === "open" ? positive(num("arrival_rate"), "arrival_rate") : 0,
    ends: [secs[0], secs[0] + secs[1], secs[0] + secs[1] + secs[2]],
    operations: ops,
    seed: argInt(args, "seed", 0),
    progressMs: num("progress_ms", 1000),
    drainMs: num("drain_s", 30) * 1000,
  };
}

function phaseAt(plan: Plan, t: number): PhaseName {
  return t < plan.ends[0] ? "ramp_up" : t < plan.ends[1] ? "steady" : "ramp_down";
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Sleep until now() >= t (ns); timers may fire early by a fraction of a millisecond. `exact`
 * yields with 0 ms timers through the last millisecond (the single open-model arrival loop);
 * otherwise the wait rounds up to whole milliseconds (a closed-model user, whose latency
 * starts when it wakes, so 10,000 of them do not spin). A time already past still yields
 * once (setImmediate), so zero think time cannot starve timers and other users.
 */
async function sleepUntil(t: number, now: () => number, exact = false): Promise<void> {
  const round = exact ? Math.floor : Math.ceil;
  let left = t - now();
  if (left <= 0) return new Promise<void>((resolve) => setImmediate(resolve)); // yield anyway
  for (; left > 0; left = t - now()) await sleep(round(left / 1e6));
}

function userRng(seed: number, index: number): Rng {
  return new Rng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

/** Picks an op by weight with the user's generator. */
function picker(operations: Operation[]): (rng: Rng) => string {
  const total = operations.reduce((a, o) => a + o.weight, 0);
  let sum = 0;
  const cumulative = operations.map((o) => (sum += o.weight / total));
  return (rng) => {
    const x = rng.next();
    const i = cumulative.findIndex((c) => x < c);
    return operations[i < 0 ? operations.length - 1 : i]!.op;
  };
}

export interface Progress {
  t_s: number;
  phase: PhaseName | "drain";
  active_users: number;
  in_flight: number;
  completed: number;
  failed: number;
  ops_per_s: number;
  p95_ms: number | null;
}

export async function runLoad(
  library: Library,
  datasets: Map<string, Dataset>,
  args: Args,
  onProgress: (p: Progress) => void,
): Promise<unknown> {
  const plan = parsePlan(args);
  const dataset = datasetArg(datasets, args);

  // Prepare every op's fixtures, untimed.
  const prepareStart = Bun.nanoseconds();
  const steps = new Map<string, LoadStep>();
  for (const { op } of plan.operations) {
    const spec = loadOp(op);
    if (!spec) throw usage(`unknown load op "${op}"`);
    requireCapabilities(library, `load op ${op}`, spec.requires);
  }
  try {
    for (const { op } of plan.operations) {
      steps.set(op, await loadOp(op)!.prepare({ library, dataset, users: plan.users, seed: plan.seed }));
    }
    const prepareNs = Bun.nanoseconds() - prepareStart;
    const rec = new Recorder();
    const t0 = Bun.nanoseconds();
    const now = () => Bun.nanoseconds() - t0;

    const request = async (op: string, user: VirtualUser, intended: number): Promise<void> => {
      const phase = phaseAt(plan, intended);
      let doneAt = -1;
      const timed: Timed = async (call) => {
        try {
          return await call();
        } finally {
          doneAt = now();
        }
      };
      rec.start(phase, op);
      try {
        await steps.get(op)!.run(user, timed);
        if (doneAt < 0) rec.error(phase, op, "untimed", `load op ${op} made no timed call`);
        else rec.ok(phase, op, doneAt - intended);
      } catch (err) {
        const kind = err instanceof DriverError ? err.type : err instanceof Error ? err.constructor.name : typeof err;
        rec.error(phase, op, kind, err instanceof Error ? err.message : String(err));
      } finally {
        rec.end(phase, op);
      }
    };

    const pick = picker(plan.operations);
    const users: VirtualUser[] = Array.from({ length: plan.users }, (_, index) => ({
      index, rng: userRng(plan.seed, index), state: new Map(),
    }));
    let active = 0;
    const end = plan.ends[2];

    const closedUser = async (user: VirtualUser): Promise<void> => {
      const n = plan.users;
      const rampUp = plan.ends[0];
      const rampDown = plan.ends[2] - plan.ends[1];
      let next = rampUp > 0 ? (rampUp * user.index) / n : user.rng.next() * plan.thinkMs * 1e6;
      const leave = plan.ends[1] + (rampDown * (n - 1 - user.index)) / n;
      await sleepUntil(next, now);
      active += 1;
      while (next < leave) {
        await request(pick(user.rng), user, now());
        next = now() + plan.thinkMs * 1e6 * (0.5 + user.rng.next());
        if (next >= leave) break;
        await sleepUntil(next, now);
      }
      active -= 1;
    };

    // The open model's arrival schedule: a Poisson process of the maximal rate, thinned to
    // each phase's rate. `next()` gives the next arrival (time, op) or null past the end.
    const arrivalRng = userRng(plan.seed, -1);
    const rate = plan.arrivalRate / 1e9; // per ns
    const rateAt = (t: number) =>
      t < plan.ends[0] ? t / plan.ends[0] : t < plan.ends[1] ? 1 : (end - t) / (end - plan.ends[1]);
    let scheduleT = 0;
    const nextArrival = (): [string, number] | null => {
      while (true) {
        scheduleT += -Math.log(1 - arrivalRng.next()) / rate;
        if (scheduleT >= end) return null;
        if (arrivalRng.next() < rateAt(scheduleT)) return [pick(arrivalRng), scheduleT];
      }
    };
    let arrivalsOver = plan.model === "closed";
    let held: [string, number] | null = null; // the arrival the loop is waiting to issue
    /** Arrivals the loop had not issued yet when the drain ended: unfinished, like queued ones. */
    const abandonSchedule = () => {
      if (held && !arrivalsOver) rec.start(phaseAt(plan, held[1]), held[0]);
      for (let a = arrivalsOver ? null : nextArrival(); a; a = nextArrival()) {
        rec.start(phaseAt(plan, a[1]), a[0]);
      }
      arrivalsOver = true;
    };

    const openArrivals = async (): Promise<void> => {
      const idle = [...users].reverse();
      const waiting: Array<[string, number]> = [];
      const serve = async (user: VirtualUser, first: [string, number]): Promise<void> => {
        active += 1;
        for (let job: [string, number] | undefined = first; job; job = waiting.shift()) {
          if (job !== first) rec.end(phaseAt(plan, job[1]), job[0]); // leaves the queue
          await request(job[0], user, job[1]);
        }
        active -= 1;
        idle.push(user);
      };
      const pending: Promise<void>[] = [];
      let yielded = now();
      for (let a = nextArrival(); a && !arrivalsOver; a = arrivalsOver ? null : nextArrival()) {
        held = a;
        if (a[1] > now()) {
          await sleepUntil(a[1], now, true);
          yielded = now();
        } else if (now() - yielded > 1e6) {
          await new Promise<void>((resolve) => setImmediate(resolve)); // behind: let users run
          yielded = now();
        }
        if (arrivalsOver) break; // abandoned while waiting
        held = null;
        const user = idle.pop();
        if (user) pending.push(serve(user, a));
        else {
          waiting.push(a);
          rec.start(phaseAt(plan, a[1]), a[0]); // a queued request is in flight: it may end unfinished
        }
      }
      arrivalsOver = true;
      await Promise.all(pending);
    };

    // Progress: every progress_ms, and at each phase change.
    let lastPhase: Progress["phase"] = "ramp_up";
    let lastCompleted = 0;
    let lastT = 0;
    const report = (phase: Progress["phase"]) => {
      const t = now();
      const rate = t > lastT ? ((rec.completed - lastCompleted) * 1e9) / (t - lastT) : 0;
      lastCompleted = rec.completed;
      lastT = t;
      onProgress({
        t_s: t / 1e9, phase, active_users: active, in_flight: rec.inFlight, completed: rec.completed,
        failed: rec.failed, ops_per_s: rate, p95_ms: rec.p95(phase === "drain" ? "ramp_down" : phase),
      });
    };
    report("ramp_up");
    let draining = false;
    const ticker = setInterval(() => {
      const phase = draining ? "drain" : phaseAt(plan, now());
      const due = plan.progressMs > 0 && now() - lastT >= plan.progressMs * 1e6;
      if (phase !== lastPhase || due) report(phase);
      lastPhase = phase;
    }, TICK_MS);

    const work = plan.model === "closed" ? Promise.all(users.map(closedUser)) : openArrivals();
    // Drain: requests still running drain_s after the last phase count as "unfinished".
    const drained = await Promise.race([
      work.then(() => true),
      (async () => {
        await sleep((end - now()) / 1e6);
        draining = true;
        await sleep(plan.drainMs);
        return false;
      })(),
    ]);
    clearInterval(ticker);
    const wallNs = now();
    report(draining ? "drain" : "ramp_down");
    if (!drained) abandonSchedule();
    const unfinished = drained ? 0 : rec.abandonRunning();

    const phases = PHASES.map((name, i) => {
      const start = i === 0 ? 0 : plan.ends[i - 1]!;
      const ops: Record<string, ReturnType<OpStats["summary"]>> = {};
      for (const [op, s] of rec.stats.get(name)!) ops[op] = s.summary();
      return { name, start_s: start / 1e9, end_s: plan.ends[i]! / 1e9, ops };
    });
    return {
      model: plan.model,
      users: plan.users,
      seed: plan.seed,
      prepare_s: prepareNs / 1e9,
      wall_s: wallNs / 1e9,
      completed: rec.completed,
      failed: rec.failed,
      unfinished,
      phases,
    };
  } finally {
    for (const step of steps.values()) await step.close?.();
  }
}
