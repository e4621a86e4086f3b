// Realtime load ops: subscriptions, published changes fanned out to subscribers, cross-tab sync.
//
// subscribe, unsubscribe and publish share one SubscriptionEngine per run (realtime.ts's
// newEngine: allow-all authorization, discarded audit, the engine's test config with room for
// one subscription per user). Every user owns one WebSocket connection and, from prepare on
// (untimed), one subscription on it to the dataset's collection: a publish fans out to the
// users subscribed at that moment. The engine is not wired to database writes and its
// delivery is the console.log stub "Sending to WebSocket <connection>: <message>" (see
// realtime.ts): one console.log interceptor, installed for the whole run and restored at
// close, routes each delivery to the publish it belongs to (by the change's data object,
// which the engine passes through to the message) and lets other output through.
//
// cross_tab_sync uses CrossTabSynchronizer (src/subscriptions/sync), the commit's only
// cross-tab mechanism: a BroadcastChannel named "collection-store-sync" (Bun implements it
// within one thread). Every synchronizer of the process hears every message, so users cannot
// each have their own browser here: the run has TABS synchronizers (one browser's tabs) that
// all users broadcast through. ClientSubscriptionManager, which wraps it, is not usable with
// two tabs: a tab re-broadcasts every cache_update it receives, so two tabs echo forever.
import type { Dataset } from "./dataset";
import { type Doc, type Library, hasSource, importSource } from "./library";
import { type LoadEnv, type LoadOp, RunFixtures, type Timed, type VirtualUser } from "./load_ops";
import { check, verify } from "./ops";
import { type Connection, DELIVERY_PREFIX, type Engine, checkSubscribed, connection, newEngine, user as owner }
  from "./realtime";

const CROSS_TAB_FILE = "subscriptions/sync/CrossTabSynchronizer.ts";
/** Tabs of the cross-tab fixture: one broadcasts, the others must receive. */
const TABS = 2;
/** A publish or broadcast whose deliveries have not all arrived by then fails its check (so no user hangs). */
const DELIVERY_TIMEOUT_MS = 60_000;

/** Capabilities of this module: realtime_cross_tab = CrossTabSynchronizer and a BroadcastChannel to run it on. */
export function detect(library: Library): Record<string, boolean> {
  return { realtime_cross_tab: hasSource(library, CROSS_TAB_FILE) && typeof BroadcastChannel === "function" };
}

/** The deliveries of one publish in flight. */
interface Pending {
  deliveries: number;
  connections: Set<string>;
  /** notifiedSubscriptions of the change_published event of this change (null until it fired). */
  notified: number | null;
  wake: (() => void) | null;
}

interface EngineFixture {
  engine: Engine;
  dataset: Dataset;
  query: Doc;
  owners: Doc[];
  connections: Connection[];
  /** connection id -> user index */
  known: Map<string, number>;
  /** Current subscription id of each user (null after unsubscribe). */
  subscriptions: Array<string | null>;
  /** Publishes in flight, by the data object of their change. */
  pending: Map<unknown, Pending>;
  /** Deliveries that belonged to no publish in flight, and how many a check already reported. */
  strays: number;
  straysReported: number;
  changes: number;
  restore(): void;
}

async function buildEngine(env: LoadEnv): Promise<EngineFixture> {
  const users = Math.max(1, env.users);
  const engine = await newEngine(env.library, users);
  const fx: EngineFixture = {
    engine, dataset: env.dataset, query: { collection: env.dataset.handle }, owners: [], connections: [],
    known: new Map(), subscriptions: [], pending: new Map(), strays: 0, straysReported: 0, changes: 0, restore() {},
  };
  engine.on("change_published", (event) => {
    const p = fx.pending.get((event.change as Doc | undefined)?.data);
    if (!p) return;
    p.notified = event.notifiedSubscriptions as number;
    p.wake?.();
  });
  const log = console.log;
  const intercept = (...args: unknown[]) => {
    const text = args[0];
    if (!(typeof text === "string" && text.startsWith(DELIVERY_PREFIX))) return log(...args);
    const message = args[1] as Doc | undefined;
    const p = fx.pending.get((message?.change as Doc | undefined)?.data);
    if (!p) return void fx.strays++;
    p.deliveries++;
    p.connections.add(String((message?.metadata as Doc | undefined)?.connectionId));
    p.wake?.();
  };
  console.log = intercept;
  fx.restore = () => {
    if (console.log === intercept) console.log = log;
  };
  try {
    for (let i = 0; i < users; i++) {
      const who = owner(`u${i}`);
      const conn = connection(`conn-u${i}`, who);
      fx.owners.push(who);
      fx.connections.push(conn);
      fx.known.set(conn.id, i);
      fx.subscriptions.push((await engine.subscribe(who, fx.query, conn)).id);
    }
  } catch (err) {
    fx.restore();
    await engine.stop();
    throw err;
  }
  return fx;
}

async function releaseEngine(fx: EngineFixture): Promise<void> {
  try {
    await fx.engine.stop();
  } finally {
    fx.restore();
  }
}

const engines = new RunFixtures(buildEngine, releaseEngine);

function engineOp(run: (fx: EngineFixture, user: VirtualUser, timed: Timed) => Promise<void>): LoadOp {
  return engines.op(["realtime"], run);
}

function slot(fx: EngineFixture, user: VirtualUser): number {
  return user.index % fx.connections.length;
}

/** subscribe: SubscriptionEngine.subscribe on the user's connection; its previous subscription ends untimed first. */
const subscribe = engineOp(async (fx, user, timed) => {
  const i = slot(fx, user);
  const old = fx.subscriptions[i];
  if (old) {
    await verify("subscribe", { user: i, subscription: old }, "unsubscribe (previous)", () =>
      fx.engine.unsubscribe(old));
    fx.subscriptions[i] = null;
  }
  const sub = await timed(() => fx.engine.subscribe(fx.owners[i]!, fx.query, fx.connections[i]!));
  fx.subscriptions[i] = sub?.id ?? null;
  checkSubscribed("subscribe", { user: i, query: fx.query }, fx.connections[i]!, sub,
    await fx.engine.getSubscription(String(sub?.id)));
});

/** unsubscribe: SubscriptionEngine.unsubscribe of the user's subscription (one without subscribes untimed first). */
const unsubscribe = engineOp(async (fx, user, timed) => {
  const i = slot(fx, user);
  let id = fx.subscriptions[i];
  if (!id) {
    const sub = await verify("unsubscribe", { user: i }, "subscribe (first)", () =>
      fx.engine.subscribe(fx.owners[i]!, fx.query, fx.connections[i]!));
    id = sub.id;
  }
  const ended = id;
  await timed(() => fx.engine.unsubscribe(ended));
  fx.subscriptions[i] = null;
  const stored = await fx.engine.getSubscription(ended);
  const actual = { registered: stored !== undefined, onConnection: fx.connections[i]!.subscriptions.has(ended) };
  check(!actual.registered && !actual.onConnection, "unsubscribe", { user: i, subscription: ended },
    { registered: false, onConnection: false }, actual);
});

/** Resolves once `done()` holds (tested at each wake of `w`) or after DELIVERY_TIMEOUT_MS; the check tells which. */
function settled(w: { wake: (() => void) | null }, done: () => boolean): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(finish, DELIVERY_TIMEOUT_MS);
    function finish() {
      clearTimeout(timer);
      w.wake = null;
      resolve();
    }
    w.wake = () => done() && finish();
  });
}

/**
 * publish: SubscriptionEngine.publishChange of an update to a random document of the dataset's
 * collection, timed until its last delivery (the engine's change_published event says how many
 * subscriptions it notified; every one of them must have been delivered exactly once).
 */
const publish = engineOp(async (fx, user, timed) => {
  const ds = fx.dataset;
  const uid = user.rng.pick(ds.model.uids);
  const id = ds.model.ids.get(uid);
  const data: Doc = { ...ds.model.docs.get(uid), [ds.idField]: id, score: Math.round(user.rng.next() * 1e6) / 100 };
  const change = {
    id: `change-${++fx.changes}`, resourceType: "document", database: "csbench", collection: ds.handle,
    documentId: String(id), operation: "update", data, affectedFields: ["score"], timestamp: Date.now(),
  };
  const p: Pending = { deliveries: 0, connections: new Set(), notified: null, wake: null };
  fx.pending.set(data, p);
  try {
    await timed(async () => {
      await fx.engine.publishChange(change);
      await settled(p, () => p.notified !== null && p.deliveries >= p.notified);
    });
  } finally {
    fx.pending.delete(data);
  }
  const foreign = [...p.connections].filter((c) => !fx.known.has(c)).length;
  const actual = { notified: p.notified, deliveries: p.deliveries, distinct: p.connections.size, foreign,
    withinUsers: (p.notified ?? 0) <= fx.connections.length };
  const expected = { notified: p.notified ?? "a number", deliveries: p.notified, distinct: p.notified, foreign: 0,
    withinUsers: true };
  check(p.notified !== null && JSON.stringify(actual) === JSON.stringify(expected), "publish",
    { user: user.index, change: change.id, documentId: change.documentId }, expected, actual);
  const strays = fx.strays - fx.straysReported;
  fx.straysReported = fx.strays;
  check(strays === 0, "publish", { change: change.id }, { deliveriesOfNoPublish: 0 },
    { deliveriesOfNoPublish: strays });
});

// cross_tab_sync

interface Synchronizer {
  registerTab(tabId: string, userId: string): void;
  broadcastUpdate(update: Doc): void;
  onUpdate(handler: (update: Doc) => void): void;
  getCachedData(collection: string, documentId?: string): unknown;
  destroy(): void;
}
interface SynchronizerModule {
  CrossTabSynchronizer: new () => Synchronizer;
}

/** Tabs reached by one broadcast in flight. */
interface Broadcast {
  tabs: Set<number>;
  wake: (() => void) | null;
}

interface TabsFixture {
  tabs: Synchronizer[];
  dataset: Dataset;
  /** Broadcasts in flight, by the revision number their data carries. */
  inFlight: Map<number, Broadcast>;
  revisions: number;
}

async function buildTabs(env: LoadEnv): Promise<TabsFixture> {
  const { CrossTabSynchronizer } = await importSource<SynchronizerModule>(env.library, CROSS_TAB_FILE);
  const fx: TabsFixture = { tabs: [], dataset: env.dataset, inFlight: new Map(), revisions: 0 };
  for (let k = 0; k < TABS; k++) {
    const tab = new CrossTabSynchronizer();
    tab.registerTab(`csbench-tab-${k}`, "csbench");
    tab.onUpdate((update) => {
      const b = fx.inFlight.get((update?.data as Doc | undefined)?.rev as number);
      if (!b) return;
      b.tabs.add(k);
      b.wake?.();
    });
    fx.tabs.push(tab);
  }
  return fx;
}

const tabFixtures = new RunFixtures(buildTabs, (fx) => {
  for (const tab of fx.tabs) tab.destroy();
});

/**
 * cross_tab_sync: CrossTabSynchronizer.broadcastUpdate of a document update from the user's
 * tab, timed until every other tab of the fixture received it (its data_update event).
 */
const crossTabSync = tabFixtures.op(["realtime", "realtime_cross_tab"], async (fx, user, timed) => {
  const ds = fx.dataset;
  const from = user.index % TABS;
  const uid = user.rng.pick(ds.model.uids);
  const documentId = String(ds.model.ids.get(uid));
  const rev = ++fx.revisions;
  const update = { type: "update", collection: ds.handle, documentId, data: { ...ds.model.docs.get(uid), rev },
    timestamp: Date.now() };
  const b: Broadcast = { tabs: new Set(), wake: null };
  fx.inFlight.set(rev, b);
  try {
    await timed(async () => {
      fx.tabs[from]!.broadcastUpdate(update);
      await settled(b, () => b.tabs.size >= TABS - 1);
    });
  } finally {
    fx.inFlight.delete(rev);
  }
  const others = fx.tabs.map((_, k) => k).filter((k) => k !== from);
  const cached = others.filter((k) => fx.tabs[k]!.getCachedData(ds.handle, documentId) !== undefined).length;
  const actual = { reached: [...b.tabs].sort(), cachedBy: cached };
  const expected = { reached: others, cachedBy: others.length };
  check(JSON.stringify(actual) === JSON.stringify(expected), "cross_tab_sync",
    { user: user.index, fromTab: from, documentId, rev }, expected, actual);
});

export const realtimeLoadOps: Record<string, LoadOp> = {
  subscribe,
  publish,
  cross_tab_sync: crossTabSync,
  unsubscribe,
};
