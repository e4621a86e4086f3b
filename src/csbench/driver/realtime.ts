// Realtime area: SubscriptionEngine subscribe, and publish → subscriber match → delivery fan-out.
//
// At every commit that has it (b83eb79 … HEAD) the engine is not wired to database writes
// (the driver calls publishChange) and its delivery, sendToConnection, is a stub that only
// calls console.log(`Sending to WebSocket ${connection.id}:`, message). That console.log
// call IS the delivery: for the duration of one publish the driver swaps console.log for a
// recorder that notes the time of each delivery (swapped and restored outside the timed
// region; other console.log calls pass through), so nothing is printed for 1,000 deliveries.
//
// What the constructor needs (read at 2307c8d and f8a1929, identical there):
// - db: never read (setupDatabaseChangeListeners is a placeholder); given a real
//   CSDatabase(':memory:') of the commit.
// - authz: only checkPermission(user, resource, action, context) → {allowed, reason}, an
//   interface the engine declares itself ("Temporary auth stubs"); the commit's own
//   AuthorizationEngine is not used by it. Given an object that allows every action.
// - audit: only log(entry); the commit's AuditLogger has no log(), so it cannot be passed.
//   Given an object that discards entries.
// - config: {query, filtering, notifications, connections}; the values of the commit's own
//   SubscriptionEngine.test.ts, with the connection limits raised to fit the fixture.
import { clock } from "./clock";
import { type CsDatabase, type Doc, type Library, hasSource, importSource, memoryDatabase } from "./library";
import { type Adapter, type OpContext, type OpSpec, cached, check, paramInt, verify } from "./ops";

const ENGINE_FILE = "subscriptions/core/SubscriptionEngine.ts";
const COLLECTION = "bench";
const OTHER_COLLECTION = "other";
/** Prefix of the stub's delivery log line (WebSocket and SSE connections alike). */
export const DELIVERY_PREFIX = "Sending to ";

export interface Connection {
  id: string;
  user: Doc;
  protocol: "websocket";
  readyState: number;
  subscriptions: Set<string>;
  metadata: Doc;
  transport: null;
}

export interface Subscription {
  id: string;
  status: string;
  connection: Connection;
}

// The slice of SubscriptionEngine the realtime ops and the realtime load ops (load_realtime.ts) use.
export interface Engine {
  start(): Promise<void>;
  stop(): Promise<void>;
  subscribe(user: Doc, query: Doc, connection: Connection): Promise<Subscription>;
  unsubscribe(id: string): Promise<void>;
  getSubscription(id: string): Promise<Subscription | undefined>;
  publishChange(change: Doc): Promise<void>;
  on(event: string, listener: (event: Doc) => void): unknown;
}
interface EngineModule {
  SubscriptionEngine: new (db: CsDatabase, authz: object, audit: object, config: Doc) => Engine;
}

/** One call of the stub's console.log: when, and the message it was given. */
interface Delivery {
  ns: number;
  message: Doc | undefined;
}

const allowAll = {
  async checkPermission() {
    return { allowed: true, reason: "csbench: every action allowed" };
  },
};

const discardAudit = {
  async log(_entry: unknown): Promise<void> {},
};

function engineConfig(maxSubscriptions: number): Doc {
  return {
    query: {
      maxFilters: 10, allowCustomFilters: true, defaultBatchSize: 100, maxBatchSize: 1000,
      defaultThrottleMs: 0, maxThrottleMs: 5000,
    },
    filtering: { enableCaching: true, cacheTTL: 300, maxCacheSize: 1000 },
    notifications: { batchSize: 50, batchTimeoutMs: 1000, maxRetries: 3, retryDelayMs: 1000 },
    connections: { maxConnections: maxSubscriptions, maxConnectionsPerUser: 10, connectionTimeout: 60000 },
  };
}

export function user(id: string): Doc {
  const now = new Date();
  return {
    id, email: `${id}@csbench.invalid`, passwordHash: "", roles: ["user"], attributes: {},
    createdAt: now, updatedAt: now, isActive: true,
  };
}

export function connection(id: string, owner: Doc): Connection {
  const now = new Date();
  return {
    id, user: owner, protocol: "websocket", readyState: 1, subscriptions: new Set(),
    metadata: { protocol: "websocket", connectedAt: now, lastActivity: now }, transport: null,
  };
}

export async function newEngine(library: Library, maxSubscriptions: number): Promise<Engine> {
  const { SubscriptionEngine } = await importSource<EngineModule>(library, ENGINE_FILE);
  const db = await memoryDatabase(library, "csbench_realtime");
  const engine = new SubscriptionEngine(db, allowAll, discardAudit, engineConfig(maxSubscriptions));
  await engine.start();
  return engine;
}

/** Check a subscribe: `sub` is the subscription getSubscription returns (`stored`), active, on `conn`. */
export function checkSubscribed(op: string, input: unknown, conn: Connection, sub: Subscription, stored: unknown) {
  const actual = { id: sub?.id ?? null, registered: stored !== undefined && stored === sub,
    status: sub?.status ?? null, onConnection: conn.subscriptions.has(String(sub?.id)) };
  check(actual.registered && actual.status === "active" && actual.onConnection, op, input,
    { registered: true, status: "active", onConnection: true }, actual);
}

/** An engine with `subscribers` matching and as many non-matching subscribers, one user and connection each. */
interface PublishFixture {
  engine: Engine;
  matching: Set<string>;
  /** notifiedSubscriptions of the last change_published event. */
  notified: number | null;
}

const publishFixtures = new Map<string, Promise<PublishFixture>>();

function publishFixture(op: string, library: Library, subscribers: number): Promise<PublishFixture> {
  return cached(publishFixtures, { subscribers }, async () => {
    const engine = await newEngine(library, 2 * subscribers);
    const matching = new Set<string>();
    for (let i = 0; i < 2 * subscribers; i++) {
      const match = i < subscribers;
      const owner = user(`${match ? "m" : "n"}${i}`);
      const conn = connection(`conn-${owner.id}`, owner);
      const query = { collection: match ? COLLECTION : OTHER_COLLECTION };
      await verify(op, { subscribe: i, query }, "subscribe (fixture)", () => engine.subscribe(owner, query, conn));
      if (match) matching.add(conn.id);
    }
    const fixture: PublishFixture = { engine, matching, notified: null };
    engine.on("change_published", (event) => {
      fixture.notified = event.notifiedSubscriptions as number;
    });
    return fixture;
  });
}

/** Time one publishChange of a fresh change to COLLECTION, check its deliveries; returns them and the start. */
async function publishChecked(op: string, { library, rng, params }: OpContext) {
  const subscribers = paramInt(params, "subscribers", 100);
  const fx = await publishFixture(op, library, subscribers);
  const documentId = `doc-${rng.int(1_000_000)}`;
  const change = {
    id: `change-${documentId}`, resourceType: "document", database: "csbench", collection: COLLECTION,
    documentId, operation: "update", data: { id: documentId, score: rng.int(1000) },
    affectedFields: ["score"], timestamp: Date.now(),
  };
  const deliveries: Delivery[] = [];
  let startNs = 0;
  const log = console.log;
  console.log = (...args: unknown[]) => {
    const ns = Bun.nanoseconds();
    const text = args[0];
    if (typeof text === "string" && text.startsWith(DELIVERY_PREFIX)) {
      deliveries.push({ ns, message: args[1] as Doc | undefined });
    } else log(...args);
  };
  fx.notified = null;
  try {
    startNs = clock.start();
    await fx.engine.publishChange(change);
    clock.stop(startNs);
  } finally {
    console.log = log;
  }
  const input = { subscribers, documentId };
  const targets = deliveries.map((d) => String((d.message?.metadata as Doc | undefined)?.connectionId));
  const actual = {
    deliveries: deliveries.length,
    distinct: new Set(targets).size,
    nonMatching: targets.filter((c) => !fx.matching.has(c)).length,
    otherChange: deliveries.filter((d) => (d.message?.change as Doc | undefined)?.documentId !== documentId).length,
    notifiedSubscriptions: fx.notified,
  };
  const expected = { deliveries: subscribers, distinct: subscribers, nonMatching: 0, otherChange: 0, notifiedSubscriptions: subscribers };
  check(Object.entries(expected).every(([k, v]) => actual[k as keyof typeof actual] === v), op, input, expected, actual);
  return { deliveries, startNs };
}

function op(spec: Pick<OpSpec, "step">): OpSpec {
  return { needsDataset: false, requires: ["realtime"], ...spec };
}

let subscribeEngine: Engine | null = null;
let subscribeSeq = 0;

const rtSubscribe = op({
  async step({ library }: OpContext) {
    subscribeEngine ??= await newEngine(library, 1000);
    const engine = subscribeEngine;
    const owner = user(`s${subscribeSeq++}`);
    const conn = connection(`conn-${owner.id}`, owner);
    const query = { collection: COLLECTION };
    const t0 = clock.start();
    const sub = await engine.subscribe(owner, query, conn);
    clock.stop(t0);
    const input = { user: owner.id, query };
    const id = String(sub?.id);
    const stored = await verify("rt_subscribe", input, "getSubscription", () => engine.getSubscription(id));
    checkSubscribed("rt_subscribe", input, conn, sub, stored);
    await verify("rt_subscribe", { id }, "unsubscribe (restore)", () => engine.unsubscribe(id));
  },
});

const rtPublish = op({
  async step(ctx: OpContext) {
    await publishChecked("rt_publish", ctx);
  },
});

const rtDelivery = op({
  async step(ctx: OpContext) {
    const { deliveries, startNs } = await publishChecked("rt_delivery", ctx);
    for (const d of deliveries) ctx.samples.push(d.ns - startNs);
  },
});

export const realtimeAdapter: Adapter = {
  area: "realtime",
  ops: { rt_subscribe: rtSubscribe, rt_publish: rtPublish, rt_delivery: rtDelivery },
  detect(library: Library) {
    return { realtime: hasSource(library, ENGINE_FILE) };
  },
};
