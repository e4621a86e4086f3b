// Computed attributes area: ComputedAttributeEngine with its ComputedAttributeCache over a real CSDatabase.
import { clock } from "./clock";
import {
  type CsCollection, type CsDatabase, type Doc, type Library, hasSource, importSource, memoryDatabase,
} from "./library";
import { type Adapter, type OpContext, type OpSpec, type Params, cached, check, paramInt, verify } from "./ops";
import { Rng } from "./rng";

const ENGINE = "auth/computed/core/ComputedAttributeEngine.ts";
const CACHE = "auth/computed/cache/ComputedAttributeCache.ts";
const COLLECTION = "orders";
const FIXTURE_SEED = 17;

// The slice of ComputedAttributeEngine and ComputedAttributeCache the computed ops and the
// computed load op (load_computed.ts) use.
export interface Context {
  target: Doc;
  targetId: string;
  targetType: "user" | "document";
  database: CsDatabase;
  currentCollection: CsCollection;
  timestamp: number;
  nodeId: string;
}

interface Definition {
  id: string;
  name: string;
  computeFunction(ctx: Context): Promise<unknown>;
  [key: string]: unknown;
}

interface Engine {
  initialize(): Promise<void>;
  setCache(cache: Cache): void;
  registerAttribute(def: Definition): Promise<void>;
  unregisterAttribute(id: string): Promise<void>;
  getAttributeDefinition(id: string): Promise<Definition | undefined>;
  computeAttribute(id: string, ctx: Context): Promise<unknown>;
  invalidateCache(id: string, targetId?: string): Promise<void>;
}

interface Cache {
  initialize(): Promise<void>;
  shutdown(): Promise<void>;
  has(key: { attributeId: string; targetId: string; targetType: string }): Promise<boolean>;
  getLastOperationResult(): { operation: string; key: string; hit?: boolean } | null;
}

interface EngineModule {
  ComputedAttributeEngine: new () => Engine;
}
interface CacheModule {
  ComputedAttributeCache: new () => Cache;
}

/** An initialized ComputedAttributeEngine on a ComputedAttributeCache at its defaults, as applications wire them. */
export async function newEngine(library: Library): Promise<{ engine: Engine; cache: Cache }> {
  const { ComputedAttributeEngine } = await importSource<EngineModule>(library, ENGINE);
  const { ComputedAttributeCache } = await importSource<CacheModule>(library, CACHE);
  const engine = new ComputedAttributeEngine();
  await engine.initialize();
  const cache = new ComputedAttributeCache();
  await cache.initialize();
  engine.setCache(cache);
  return { engine, cache };
}

/** Attribute `id` of `targetType` targets, computed by `compute`, cached 300 s unless `collection` changes. */
export function definition(
  id: string, description: string, targetType: Context["targetType"], collection: string,
  compute: Definition["computeFunction"],
): Definition {
  return {
    id,
    name: id,
    description,
    targetType,
    computeFunction: compute,
    dependencies: [{ type: "collection", source: collection, invalidateOnChange: true }],
    caching: { enabled: true, ttl: 300, invalidateOn: [{ type: "collection_change", source: collection }] },
    security: { allowExternalRequests: false, timeout: 30_000, maxMemoryUsage: 64 * 1024 * 1024 },
    createdBy: "csbench",
    createdAt: new Date(),
    isActive: true,
  };
}

interface Stats {
  count: number;
  total: number;
}

interface Fixture {
  engine: Engine;
  cache: Cache;
  db: CsDatabase;
  orders: CsCollection;
  users: number;
  /** owner -> {count, total} of the generated documents: the expected values. */
  expected: Map<string, Stats>;
  /** How often each attribute's function ran (a cold compute runs it, a cache hit does not). */
  runs: Record<string, number>;
  /** Serial of attributes `computed_register` creates. */
  registered: number;
}

const fixtures = new Map<string, Promise<Fixture>>();

function ownerOf(user: number): string {
  return `user-${user}`;
}

/** The value `order_average` must have for a user, from the generated documents. */
function average(stats: Stats): number {
  return stats.count ? stats.total / stats.count : 0;
}

/** A user attribute over COLLECTION whose function runs are counted in fixture.runs. */
function countedDefinition(id: string, fixture: Fixture, compute: (ctx: Context) => Promise<unknown>): Definition {
  return definition(id, `csbench attribute ${id}`, "user", COLLECTION, async (ctx: Context) => {
    fixture.runs[id] = (fixture.runs[id] ?? 0) + 1;
    return compute(ctx);
  });
}

/** {count, total} of a user's orders, read through the owner index of the real collection. */
async function orderStats(ctx: Context): Promise<Stats> {
  const docs = await ctx.database.collection(COLLECTION)!.findBy("owner", ctx.targetId);
  let total = 0;
  for (const d of docs) total += d.amount as number;
  return { count: docs.length, total };
}

/** Engine, cache and a CSDatabase of `docs` orders over `users` owners, built untimed once per params. */
function fixtureFor(library: Library, params: Params): Promise<Fixture> {
  const docs = paramInt(params, "docs", 4000);
  const users = paramInt(params, "users", 100);
  return cached(fixtures, { docs, users }, () => buildFixture(library, docs, users));
}

async function buildFixture(library: Library, docs: number, users: number): Promise<Fixture> {
  const db = await memoryDatabase(library, `computed-${docs}-${users}`);
  const orders = await db.createCollection(COLLECTION);
  await orders.createIndex!("owner", { key: "owner" });
  const rng = new Rng(FIXTURE_SEED);
  const expected = new Map<string, Stats>();
  for (let u = 0; u < users; u++) expected.set(ownerOf(u), { count: 0, total: 0 });
  for (let i = 0; i < docs; i++) {
    const doc = { owner: ownerOf(rng.int(users)), amount: 1 + rng.int(10_000) };
    await orders.create({ ...doc });
    const stats = expected.get(doc.owner)!;
    stats.count++;
    stats.total += doc.amount;
  }

  const { engine, cache } = await newEngine(library);
  const fixture: Fixture = { engine, cache, db, orders, users, expected, runs: {}, registered: 0 };
  await engine.registerAttribute(countedDefinition("order_stats", fixture, orderStats));
  await engine.registerAttribute(
    countedDefinition("order_average", fixture, async (ctx) => {
      const stats = (await engine.computeAttribute("order_stats", ctx)) as Stats;
      return stats.count ? stats.total / stats.count : 0;
    }),
  );
  return fixture;
}

function context(f: Fixture, targetId: string): Context {
  return {
    target: { id: targetId },
    targetId,
    targetType: "user",
    database: f.db,
    currentCollection: f.orders,
    timestamp: Date.now(),
    nodeId: "csbench",
  };
}

function sameStats(value: unknown, stats: Stats): boolean {
  const v = value as Stats | null;
  return v?.count === stats.count && v?.total === stats.total;
}

function op(step: (f: Fixture, ctx: OpContext) => Promise<void>): OpSpec {
  return {
    requires: ["computed", "database", "memory_database", "create_index"],
    needsDataset: false,
    async step(ctx: OpContext) {
      await step(await fixtureFor(ctx.library, ctx.params), ctx);
    },
  };
}

const register = op(async (f) => {
  const id = `registered-${f.registered++}`;
  const def = countedDefinition(id, f, orderStats);
  const t0 = clock.start();
  await f.engine.registerAttribute(def);
  clock.stop(t0);
  const found = await verify("computed_register", { id }, "getAttributeDefinition", () => f.engine.getAttributeDefinition(id));
  check(found === def, "computed_register", { id }, "the registered definition", found ?? null);
  // Keep the engine's size constant, untimed.
  await verify("computed_register", { id }, "unregisterAttribute (restore)", () => f.engine.unregisterAttribute(id));
});

const computeCold = op(async (f, { rng }) => {
  const targetId = ownerOf(rng.int(f.users));
  const input = { attribute: "order_stats", targetId };
  await verify("computed_cold", input, "invalidateCache", () => f.engine.invalidateCache("order_stats", targetId));
  const runs = f.runs.order_stats ?? 0;
  const ctx = context(f, targetId);
  const t0 = clock.start();
  const value = await f.engine.computeAttribute("order_stats", ctx);
  clock.stop(t0);
  const expected = f.expected.get(targetId)!;
  check(sameStats(value, expected), "computed_cold", input, expected, value ?? null);
  const ran = (f.runs.order_stats ?? 0) - runs;
  check(ran === 1, "computed_cold", input, { functionRuns: 1 }, { functionRuns: ran });
});

const computeCached = op(async (f, { rng }) => {
  const targetId = ownerOf(rng.int(f.users));
  const input = { attribute: "order_stats", targetId };
  const key = { attributeId: "order_stats", targetId, targetType: "user" };
  if (!(await verify("computed_cached", input, "cache.has", () => f.cache.has(key)))) {
    const warmUp = () => f.engine.computeAttribute("order_stats", context(f, targetId));
    await verify("computed_cached", input, "computeAttribute (warm-up)", warmUp);
  }
  const runs = f.runs.order_stats ?? 0;
  const ctx = context(f, targetId);
  const t0 = clock.start();
  const value = await f.engine.computeAttribute("order_stats", ctx);
  clock.stop(t0);
  const expected = f.expected.get(targetId)!;
  check(sameStats(value, expected), "computed_cached", input, expected, value ?? null);
  const last = f.cache.getLastOperationResult();
  const hit = { functionRuns: f.runs.order_stats! - runs, operation: last?.operation, key: last?.key, hit: last?.hit };
  const want = { functionRuns: 0, operation: "get", key: `order_stats:user:${targetId}`, hit: true };
  check(JSON.stringify(hit) === JSON.stringify(want), "computed_cached", input, want, hit);
});

const computeDependent = op(async (f, { rng }) => {
  const targetId = ownerOf(rng.int(f.users));
  const input = { attribute: "order_average", dependsOn: "order_stats", targetId };
  for (const id of ["order_average", "order_stats"]) {
    await verify("computed_dependent", input, `invalidateCache(${id})`, () => f.engine.invalidateCache(id, targetId));
  }
  const before = { ...f.runs };
  const ctx = context(f, targetId);
  const t0 = clock.start();
  const value = await f.engine.computeAttribute("order_average", ctx);
  clock.stop(t0);
  const expected = average(f.expected.get(targetId)!);
  check(value === expected, "computed_dependent", input, expected, value ?? null);
  const ran = [f.runs.order_average! - (before.order_average ?? 0), f.runs.order_stats! - (before.order_stats ?? 0)];
  check(ran[0] === 1 && ran[1] === 1, "computed_dependent", input, { functionRuns: [1, 1] }, { functionRuns: ran });
});

export const computedAdapter: Adapter = {
  area: "computed",
  ops: {
    computed_register: register,
    computed_cold: computeCold,
    computed_cached: computeCached,
    computed_dependent: computeDependent,
  },
  detect(library: Library) {
    return {
      computed:
        hasSource(library, ENGINE, "registerAttribute", "computeAttribute", "setCache", "invalidateCache") &&
        hasSource(library, CACHE, "getLastOperationResult"),
    };
  },
};
