// Stored functions area: StoredFunctionEngine (esbuild transpile + vm sandbox) over a real CSDatabase.
import { clock } from "./clock";
import { type CsDatabase, type Doc, type Library, hasSource, importSource, memoryDatabase } from "./library";
import {
  type Adapter, type OpContext, type OpSpec, type Params, cached, check, paramInt, paramString, verify,
} from "./ops";
import { usage } from "./protocol";
import { Rng } from "./rng";

const ENGINE = "auth/functions/core/StoredFunctionEngine.ts";
const COLLECTION = "items";
const FIXTURE_SEED = 23;
const GROUPS = 20;
const LIMITS = {
  maxExecutionTime: 5_000,
  maxMemoryUsage: 256 * 1024 * 1024,
  maxDbOperations: 10_000,
  maxNetworkRequests: 0,
  allowedModules: [] as string[],
};

// The slice of StoredFunctionEngine the functions ops and the functions load op (load_functions.ts) use.
interface Result {
  data: unknown;
}

interface Engine {
  initialize(): Promise<void>;
  registerFunction(def: Doc): Promise<void>;
  unregisterFunction(id: string): Promise<void>;
  executeFunction(id: string, params: Doc, ctx: Doc): Promise<Result>;
  dispose?(): Promise<void>;
}
interface EngineModule {
  StoredFunctionEngine: new (db: CsDatabase, cfg: Doc, audit: object, config: Doc, logger: object) => Engine;
}

/** A stored function of the benchmark: its TypeScript source and what it must return. */
interface Kind {
  code: string;
  /** Parameters of a call, drawn from `rng` (`items`: the fixture's documents, for the kinds that take them). */
  params(rng: Rng, items: Item[]): Doc;
  expected(params: Doc, items: Item[]): unknown;
  /** The part of the result compared with `expected` (a transform's full output is 10,000 rows). */
  summary(data: unknown): unknown;
}

interface Item {
  id: number;
  group: number;
  price: number;
  qty: number;
  active: boolean;
}

interface Fixture {
  engine: Engine;
  db: CsDatabase;
  /** The collection's documents as read back from CSDatabase, passed to transform and aggregate. */
  items: Item[];
  /** Entries the engine handed to its audit logger (it calls auditLogger.log per register and execute). */
  audit: Doc[];
  registered: Set<string>;
  /** Serial of fresh functions `call: "first"` registers. */
  fresh: number;
}

const fixtures = new Map<string, Promise<Fixture>>();

export const kinds = {
  scalar: {
    code: [
      "const p = parameters as { a: number; b: number; c: number }",
      "return (p.a * p.b + p.c) % 1000003",
    ].join("\n"),
    params: (rng) => ({ a: rng.int(100_000), b: rng.int(100_000), c: rng.int(1_000) }),
    expected: (p) => ((p.a as number) * (p.b as number) + (p.c as number)) % 1000003,
    summary: (data) => data,
  },
  transform: {
    code: [
      "interface Item { id: number; group: number; price: number; qty: number; active: boolean }",
      "const items = parameters.items as Item[]",
      "const out: Array<{ id: number; group: number; total: number }> = []",
      "for (const it of items) {",
      "  if (it.active && it.qty >= parameters.minQty) out.push({ id: it.id, group: it.group, total: it.price * it.qty })",
      "}",
      "return out",
    ].join("\n"),
    params: (rng, items) => ({ items, minQty: 1 + rng.int(10) }),
    expected: (p, items) => {
      const rows = items.filter((it) => it.active && it.qty >= (p.minQty as number));
      return { rows: rows.length, total: rows.reduce((s, it) => s + it.price * it.qty, 0), lastId: rows.at(-1)?.id ?? null };
    },
    summary: (data) => {
      const rows = Array.isArray(data) ? (data as Array<{ id: number; total: number }>) : [];
      return { rows: rows.length, total: rows.reduce((s, r) => s + r.total, 0), lastId: rows.at(-1)?.id ?? null };
    },
  },
  aggregate: {
    code: [
      "const items = parameters.items as Array<{ group: number; price: number; qty: number }>",
      "const sums: Record<string, { count: number; revenue: number }> = {}",
      "for (const it of items) {",
      "  if (it.group % parameters.modulo !== 0) continue",
      "  const g = sums[it.group] ?? (sums[it.group] = { count: 0, revenue: 0 })",
      "  g.count += 1",
      "  g.revenue += it.price * it.qty",
      "}",
      "return sums",
    ].join("\n"),
    params: (rng, items) => ({ items, modulo: 1 + rng.int(3) }),
    expected: (p, items) => {
      const sums: Record<string, { count: number; revenue: number }> = {};
      for (const it of items) {
        if (it.group % (p.modulo as number) !== 0) continue;
        const g = (sums[it.group] ??= { count: 0, revenue: 0 });
        g.count += 1;
        g.revenue += it.price * it.qty;
      }
      return canonical(sums);
    },
    summary: (data) => canonical(data as Record<string, unknown>),
  },
} satisfies Record<string, Kind>;

/** Keys sorted, so results built in another realm or order compare as JSON. */
function canonical(obj: Record<string, unknown> | null): string {
  if (!obj || typeof obj !== "object") return JSON.stringify(obj);
  return JSON.stringify(Object.keys(obj).sort().map((k) => [k, obj[k]]));
}

export function definition(id: string, code: string): Doc {
  const now = new Date();
  return {
    id,
    name: id,
    description: `csbench function ${id}`,
    type: "scalar_function",
    implementation: { code },
    parameters: [],
    returnType: { type: "scalar", typeDefinition: "unknown" },
    security: {
      executionMode: "caller_rights",
      allowedRoles: ["bench"],
      maxExecutionTime: LIMITS.maxExecutionTime,
      maxMemoryUsage: LIMITS.maxMemoryUsage,
      maxDbOperations: LIMITS.maxDbOperations,
      sandboxed: true,
    },
    transaction: { autoTransaction: false },
    dependencies: [{ type: "collection", source: COLLECTION, access: "read" }],
    version: "1.0.0",
    previousVersions: [],
    deploymentStrategy: { type: "immediate", autoRollbackOnError: false },
    createdBy: "csbench",
    createdAt: now,
    updatedAt: now,
    isActive: true,
  };
}

/** Info and debug lines dropped (the engine logs several per call), warnings and errors kept. */
const quietLogger = { ...console, log() {}, info() {}, debug() {} };

/** Engine + a CSDatabase collection of `docs` items, built untimed once per params. */
function fixtureFor(library: Library, params: Params): Promise<Fixture> {
  const docs = paramInt(params, "docs", 10_000);
  return cached(fixtures, { docs }, () => buildFixture(library, docs));
}

async function buildFixture(library: Library, docs: number): Promise<Fixture> {
  const db = await memoryDatabase(library, `functions-${docs}`);
  const collection = await db.createCollection(COLLECTION);
  const rng = new Rng(FIXTURE_SEED);
  for (let i = 0; i < docs; i++) {
    await collection.create({ group: rng.int(GROUPS), price: 1 + rng.int(500), qty: rng.int(20), active: rng.int(4) !== 0 });
  }
  const items = (await collection.find({})).map((d) => ({ ...d }) as unknown as Item);
  if (items.length !== docs) throw new Error(`functions fixture: find({}) returned ${items.length} of ${docs} documents`);

  const audit: Doc[] = [];
  const engine = await newEngine(library, db, async (entry: Doc) => void audit.push(entry));
  return { engine, db, items, audit, registered: new Set(), fresh: 0 };
}

/**
 * An initialized StoredFunctionEngine over `db` whose audit entries go to `log`. The constructor
 * reads config.sandbox, config.security and config.monitoring (not the declared
 * StoredFunctionEngineConfig); the library's own AuditLogger has no log(), which the engine
 * calls, so the audit sink is a function.
 */
export async function newEngine(library: Library, db: CsDatabase, log: (entry: Doc) => Promise<void>): Promise<Engine> {
  const { StoredFunctionEngine } = await importSource<EngineModule>(library, ENGINE);
  const config = {
    sandbox: { provider: "esbuild", allowedModules: [], blockedModules: ["fs", "child_process"] },
    security: {
      maxExecutionTime: LIMITS.maxExecutionTime,
      maxMemoryUsage: LIMITS.maxMemoryUsage,
      maxDbOperations: LIMITS.maxDbOperations,
    },
    monitoring: { enabled: true },
    cache: {},
    deployment: {},
  };
  const engine = new StoredFunctionEngine(db, {}, { log }, config, quietLogger);
  await engine.initialize();
  return engine;
}

/** The context of an execution by user `userId` (role "bench") under LIMITS. */
export function executionContext(db: CsDatabase, userId: string, email: string, requestId: string): Doc {
  return {
    currentUser: { id: userId, email, roles: ["bench"], permissions: [], attributes: {} },
    database: db,
    requestId,
    timestamp: new Date(),
    limits: LIMITS,
  };
}

function fnOp(name: string, kind: Kind): OpSpec {
  const opName = `fn_${name}`;
  return {
    requires: ["functions", "database", "memory_database"],
    needsDataset: false,
    validate({ params }: OpContext) {
      const call = paramString(params, "call", "warm");
      if (call !== "first" && call !== "warm") throw usage(`${opName}: param "call" must be "first" or "warm", not "${call}"`);
    },
    async step({ library, params, rng }: OpContext) {
      const f = await fixtureFor(library, params);
      const call = paramString(params, "call", "warm");
      const fnParams = kind.params(rng, f.items);
      const ctx = executionContext(f.db, "csbench", "bench@csbench.local", "csbench");
      let id = `warm-${name}`;
      let result: Result;
      if (call === "warm") {
        if (!f.registered.has(id)) {
          await verify(opName, { id }, "registerFunction", () => f.engine.registerFunction(definition(id, kind.code)));
          f.registered.add(id);
        }
        const t0 = clock.start();
        result = await f.engine.executeFunction(id, fnParams, ctx);
        clock.stop(t0);
      } else {
        // A function never seen before (its source differs, so no compilation cache hits):
        // registerFunction transpiles it with esbuild, then its first execution.
        id = `first-${name}-${f.fresh++}`;
        const def = definition(id, `// ${id}\n${kind.code}`);
        const t0 = clock.start();
        await f.engine.registerFunction(def);
        result = await f.engine.executeFunction(id, fnParams, ctx);
        clock.stop(t0);
      }
      const audited = f.audit.at(-1);
      f.audit.length = 0;
      const input = { id, call, params: fnParams.items ? { ...fnParams, items: `${f.items.length} documents` } : fnParams };
      const expected = kind.expected(fnParams, f.items);
      const actual = kind.summary(result?.data);
      check(JSON.stringify(actual) === JSON.stringify(expected), opName, input, expected, actual);
      const audit = { action: audited?.action, result: audited?.result };
      check(audit.action === "function_executed" && audit.result === "success", opName, input,
        { action: "function_executed", result: "success" }, audit);
      if (call === "first") {
        await verify(opName, { id }, "unregisterFunction (restore)", () => f.engine.unregisterFunction(id));
      }
    },
  };
}

export const functionsAdapter: Adapter = {
  area: "functions",
  ops: Object.fromEntries(Object.entries(kinds).map(([name, kind]) => [`fn_${name}`, fnOp(name, kind)])),
  detect(library: Library) {
    return { functions: hasSource(library, ENGINE, "registerFunction", "executeFunction", "unregisterFunction") };
  },
};
