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
//
// runLoad's units: prepareSteps (fixtures, untimed), startRun (clock zero, recorder, users),
// requester (one timed, recorded request), the model (closedUsers; openUsers on an
// ArrivalSchedule), ProgressReporter, drain and cancel (what is left counts as unfinished),
// result.
import { type Dataset, datasetArg } from "./dataset";
import { profileInterval, profiled } from "./cpuprofile";
import { Histogram, SUB_BITS } from "./histogram";
import { type Library, requireCapabilities } from "./library";
import { type LoadStep, type Timed, type VirtualUser, loadOp } from "./load_ops";
import { type Args, DriverError, argInt, argString, usage } from "./protocol";
import { Rng } from "./rng";

const PHASES = ["ramp_up", "steady", "ramp_down"] as const;
/** The name prefix of the function each request of an op runs in (csbench.observe.bottlenecks reads it). */
export const LOAD_OP_PREFIX = "load_op:";
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

/** One request to make: its op and its intended start (ns from the run's start). */
type Arrival = [op: string, at: number];

/** What the units of one run share. */
interface Run {
  readonly plan: Plan;
  readonly rec: Recorder;
  /** ns since the run started (its zero is after the untimed prepare). */
  readonly now: () => number;
  /** One request of `op` by `user`, timed from `intended` and recorded (see `requester`). */
  readonly request: (op: string, user: VirtualUser, intended: number) => Promise<void>;
  /** Picks an op by weight with the generator it is given. */
  readonly pick: (rng: Rng) => string;
  readonly users: VirtualUser[];
  /** Users now between their start and their leave (closed model) or serving (open model). */
  active: number;
  /** The last phase is over and the drain is running. */
  draining: boolean;
}

export async function runLoad(
  library: Library,
  datasets: Map<string, Dataset>,
  args: Args,
  onProgress: (p: Progress) => void,
): Promise<unknown> {
  const plan = parsePlan(args);
  const intervalUs = profileInterval(args.profile);
  const dataset = datasetArg(datasets, args);
  const prepareStart = Bun.nanoseconds();
  const steps = new Map<string, LoadStep>();
  try {
    await prepareSteps(library, dataset, plan, steps);
    const prepareNs = Bun.nanoseconds() - prepareStart;
    const body = async () => {
      const run = startRun(plan, steps, intervalUs !== null);
      const schedule = plan.model === "open" ? new ArrivalSchedule(plan, run.pick) : null;
      const progress = new ProgressReporter(run, onProgress);
      const work = schedule ? openUsers(run, schedule) : closedUsers(run);
      const drained = await drain(run, work);
      progress.stop();
      const wallNs = run.now();
      progress.report(run.draining ? "drain" : "ramp_down");
      const unfinished = drained ? 0 : cancel(run, schedule);
      return result(run, prepareNs, wallNs, unfinished);
    };
    if (intervalUs === null) return await body();
    // The run (never the prepare) under the sampling profiler: each request runs inside a
    // function named after its op (`requester`), which names the op in the samples.
    let out: ReturnType<typeof result> | undefined;
    const profile = await profiled(async () => {
      out = await body();
    }, intervalUs);
    return { ...out!, profile };
  } finally {
    for (const step of steps.values()) await step.close?.();
  }
}

/** Check that every op exists and is supported, then prepare each one's fixtures (untimed) into `steps`. */
async function prepareSteps(library: Library, dataset: Dataset, plan: Plan, steps: Map<string, LoadStep>) {
  for (const { op } of plan.operations) {
    const spec = loadOp(op);
    if (!spec) throw usage(`unknown load op "${op}"`);
    requireCapabilities(library, `load op ${op}`, spec.requires);
  }
  for (const { op } of plan.operations) {
    steps.set(op, await loadOp(op)!.prepare({ library, dataset, users: plan.users, seed: plan.seed }));
  }
}

/** A run starting now: its clock, recorder and users (each with its own generator); `named`: a profiled run. */
function startRun(plan: Plan, steps: Map<string, LoadStep>, named: boolean): Run {
  const rec = new Recorder();
  const t0 = Bun.nanoseconds();
  const now = () => Bun.nanoseconds() - t0;
  return {
    plan,
    rec,
    now,
    request: requester(plan, steps, rec, now, named),
    pick: picker(plan.operations),
    users: Array.from({ length: plan.users }, (_, index) => ({
      index, rng: userRng(plan.seed, index), state: new Map(),
    })),
    active: 0,
    draining: false,
  };
}

/**
 * A request: the op's step for the user, its latency from `intended` to the return of its
 * timed library call, recorded under the phase of `intended`; an error is recorded by kind
 * (the DriverError type, else the class name).
 */
function requester(
  plan: Plan,
  steps: Map<string, LoadStep>,
  rec: Recorder,
  now: () => number,
  named: boolean,
): Run["request"] {
  // profiled, each op's step runs in a function named after it (else as it is: no extra frame)
  const runners = new Map(
    [...steps].map(([op, step]) => [op, named ? namedRunner(op, step) : step.run.bind(step)]),
  );
  return async (op: string, user: VirtualUser, intended: number): Promise<void> => {
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
      await runners.get(op)!(user, timed);
      if (doneAt < 0) rec.error(phase, op, "untimed", `load op ${op} made no timed call`);
      else rec.ok(phase, op, doneAt - intended);
    } catch (err) {
      const kind = err instanceof DriverError ? err.type : err instanceof Error ? err.constructor.name : typeof err;
      rec.error(phase, op, kind, err instanceof Error ? err.message : String(err));
    } finally {
      rec.end(phase, op);
    }
  };
}

/** The op's step, called through an async function named `load_op:OP`: a profile's stacks name the op. */
function namedRunner(op: string, step: LoadStep): LoadStep["run"] {
  const name = `${LOAD_OP_PREFIX}${op}`;
  const holder = {
    async [name](user: VirtualUser, timed: Timed): Promise<void> {
      await step.run(user, timed);
    },
  };
  return holder[name]!;
}

/**
 * The closed model: one loop per user, issuing a request, waiting for it, thinking. User i
 * starts at i/users of ramp-up (after a random think time if there is no ramp-up) and leaves
 * at (users - 1 - i)/users of ramp-down; the latency of a request starts when it is issued.
 */
function closedUsers(run: Run): Promise<unknown> {
  const { plan, now } = run;
  const closedUser = async (user: VirtualUser): Promise<void> => {
    const n = plan.users;
    const rampUp = plan.ends[0];
    const rampDown = plan.ends[2] - plan.ends[1];
    let next = rampUp > 0 ? (rampUp * user.index) / n : user.rng.next() * plan.thinkMs * 1e6;
    const leave = plan.ends[1] + (rampDown * (n - 1 - user.index)) / n;
    await sleepUntil(next, now);
    run.active += 1;
    while (next < leave) {
      await run.request(run.pick(user.rng), user, now());
      next = now() + plan.thinkMs * 1e6 * (0.5 + user.rng.next());
      if (next >= leave) break;
      await sleepUntil(next, now);
    }
    run.active -= 1;
  };
  return Promise.all(run.users.map(closedUser));
}

/**
 * The open model: the schedule's arrivals, each served by an idle user (the last one idle
 * first) or queued until one is; a queued request is in flight (it may end unfinished), and
 * its latency runs from its arrival. A loop behind schedule by over 1 ms yields to the users.
 */
async function openUsers(run: Run, schedule: ArrivalSchedule): Promise<void> {
  const { plan, rec, now } = run;
  const idle = [...run.users].reverse();
  const waiting: Arrival[] = [];
  const serve = async (user: VirtualUser, first: Arrival): Promise<void> => {
    run.active += 1;
    for (let job: Arrival | undefined = first; job; job = waiting.shift()) {
      if (job !== first) rec.end(phaseAt(plan, job[1]), job[0]); // leaves the queue
      await run.request(job[0], user, job[1]);
    }
    run.active -= 1;
    idle.push(user);
  };
  const pending: Promise<void>[] = [];
  let yielded = now();
  for (let a = schedule.next(); a && !schedule.over; a = schedule.over ? null : schedule.next()) {
    schedule.held = a;
    if (a[1] > now()) {
      await sleepUntil(a[1], now, true);
      yielded = now();
    } else if (now() - yielded > 1e6) {
      await new Promise<void>((resolve) => setImmediate(resolve)); // behind: let users run
      yielded = now();
    }
    if (schedule.over) break; // abandoned while waiting
    schedule.held = null;
    const user = idle.pop();
    if (user) pending.push(serve(user, a));
    else {
      waiting.push(a);
      rec.start(phaseAt(plan, a[1]), a[0]); // a queued request is in flight: it may end unfinished
    }
  }
  schedule.over = true;
  await Promise.all(pending);
}

/**
 * The open model's arrivals: a Poisson process of the maximal rate, thinned to each phase's
 * rate (rising linearly over ramp-up, falling over ramp-down), drawn from its own generator.
 */
class ArrivalSchedule {
  /** No arrival is issued any more: the last one was, or `abandon` took the rest. */
  over = false;
  /** The arrival the open loop is waiting to issue. */
  held: Arrival | null = null;
  private readonly rng: Rng;
  /** The maximal rate, per ns. */
  private readonly rate: number;
  private t = 0;

  constructor(
    private readonly plan: Plan,
    private readonly pick: (rng: Rng) => string,
  ) {
    this.rng = userRng(plan.seed, -1);
    this.rate = plan.arrivalRate / 1e9;
  }

  /** The next arrival, or null past the end of the last phase. */
  next(): Arrival | null {
    const [rampUpEnd, steadyEnd, end] = this.plan.ends;
    while (true) {
      this.t += -Math.log(1 - this.rng.next()) / this.rate;
      if (this.t >= end) return null;
      const t = this.t;
      const rateAt = t < rampUpEnd ? t / rampUpEnd : t < steadyEnd ? 1 : (end - t) / (end - steadyEnd);
      if (this.rng.next() < rateAt) return [this.pick(this.rng), t];
    }
  }

  /** Count the arrivals not issued when the drain ended as started (so unfinished, like queued ones). */
  abandon(rec: Recorder): void {
    if (this.held && !this.over) rec.start(phaseAt(this.plan, this.held[1]), this.held[0]);
    for (let a = this.over ? null : this.next(); a; a = this.next()) rec.start(phaseAt(this.plan, a[1]), a[0]);
    this.over = true;
  }
}

/**
 * Progress lines: one at the start, then one every progress_ms and one at each phase change
 * (the ticker looks every TICK_MS), until stop().
 */
class ProgressReporter {
  private lastPhase: Progress["phase"] = "ramp_up";
  private lastCompleted = 0;
  private lastT = 0;
  private readonly ticker: ReturnType<typeof setInterval>;

  constructor(
    private readonly run: Run,
    private readonly onProgress: (p: Progress) => void,
  ) {
    this.report("ramp_up");
    this.ticker = setInterval(() => this.tick(), TICK_MS);
  }

  /** A line now, as of `phase` (p95 of the drain: ramp-down's); ops_per_s since the last line. */
  report(phase: Progress["phase"]): void {
    const { rec, now } = this.run;
    const t = now();
    const rate = t > this.lastT ? ((rec.completed - this.lastCompleted) * 1e9) / (t - this.lastT) : 0;
    this.lastCompleted = rec.completed;
    this.lastT = t;
    this.onProgress({
      t_s: t / 1e9, phase, active_users: this.run.active, in_flight: rec.inFlight, completed: rec.completed,
      failed: rec.failed, ops_per_s: rate, p95_ms: rec.p95(phase === "drain" ? "ramp_down" : phase),
    });
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  private tick(): void {
    const { plan, now } = this.run;
    const phase = this.run.draining ? "drain" : phaseAt(plan, now());
    const due = plan.progressMs > 0 && now() - this.lastT >= plan.progressMs * 1e6;
    if (phase !== this.lastPhase || due) this.report(phase);
    this.lastPhase = phase;
  }
}

/**
 * Whether the users finished before drain_s after the last phase (then false). When the last
 * phase ends, run.draining is set.
 */
function drain(run: Run, work: Promise<unknown>): Promise<boolean> {
  return Promise.race([
    work.then(() => true),
    (async () => {
      await sleep((run.plan.ends[2] - run.now()) / 1e6);
      run.draining = true;
      await sleep(run.plan.drainMs);
      return false;
    })(),
  ]);
}

/** After a drain that ended with requests left: they, and arrivals never issued, count as unfinished. */
function cancel(run: Run, schedule: ArrivalSchedule | null): number {
  schedule?.abandon(run.rec);
  return run.rec.abandonRunning();
}

/** The reply of load_run: totals, and per phase, per op, counts, errors and latencies. */
function result(run: Run, prepareNs: number, wallNs: number, unfinished: number) {
  const { plan, rec } = run;
  const bounds = [0, ...plan.ends];
  const phases = PHASES.map((name, i) => {
    const ops: Record<string, ReturnType<OpStats["summary"]>> = {};
    for (const [op, s] of rec.stats.get(name)!) ops[op] = s.summary();
    return { name, start_s: bounds[i]! / 1e9, end_s: bounds[i + 1]! / 1e9, ops };
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
}
