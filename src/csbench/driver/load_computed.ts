// Computed attributes load op: a document attribute evaluated through ComputedAttributeEngine and its cache.
//
// One engine per run with the library's ComputedAttributeCache at its defaults (10,000 entries,
// 300 s TTL), as an application would wire them. The attribute, group_peers, belongs to the
// documents of the scenario's dataset: it reads the document (findById) and counts the
// documents of its group (findBy on the dataset's index on `group` if it has one, else
// find({group})). The first request for a document computes it, later ones hit the cache until
// the entry expires, so the mix of cold and cached requests is the application's.
import type { Dataset } from "./dataset";
import { CACHE, ENGINE, sourcePath } from "./computed";
import type { CsCollection, CsDatabase, Doc } from "./library";
import type { LoadEnv, LoadOp, LoadStep, Timed, VirtualUser } from "./load_ops";
import { check } from "./ops";

const ATTRIBUTE = "group_peers";

interface Context {
  target: Doc;
  targetId: string;
  targetType: "document";
  database: CsDatabase;
  currentCollection: CsCollection;
  timestamp: number;
  nodeId: string;
}

interface Engine {
  initialize(): Promise<void>;
  setCache(cache: unknown): void;
  registerAttribute(def: Doc): Promise<void>;
  computeAttribute(id: string, ctx: Context): Promise<unknown>;
}

interface Peers {
  uid: number;
  group: unknown;
  peers: number;
}

/** group_peers of a document: its uid and group, and how many documents share the group (itself included). */
function groupPeers(ds: Dataset) {
  const index = ds.indexes.find((ix) => ix.key === "group")?.name;
  return async (ctx: Context): Promise<Peers> => {
    const col = ctx.currentCollection;
    const doc = await col.findById(ctx.target.id as string | number);
    if (!doc) throw new Error(`document ${ctx.targetId} not found`);
    const peers = index ? await col.findBy(index, doc.group) : await col.find({ group: doc.group });
    return { uid: doc.uid as number, group: doc.group, peers: peers.length };
  };
}

function definition(ds: Dataset): Doc {
  return {
    id: ATTRIBUTE,
    name: ATTRIBUTE,
    description: "documents sharing this document's group",
    targetType: "document",
    computeFunction: groupPeers(ds),
    dependencies: [{ type: "collection", source: ds.handle, invalidateOnChange: true }],
    caching: { enabled: true, ttl: 300, invalidateOn: [{ type: "collection_change", source: ds.handle }] },
    security: { allowExternalRequests: false, timeout: 30_000, maxMemoryUsage: 64 * 1024 * 1024 },
    createdBy: "csbench",
    createdAt: new Date(),
    isActive: true,
  };
}

/**
 * compute: ComputedAttributeEngine.computeAttribute of group_peers for a random document of
 * the dataset (cached after its first computation). Checked: the value is that document's
 * (uid) and counts at least the document itself (a concurrent update moving the document
 * between the computation's two reads could break that only if its group had no other member).
 */
export const computedLoadOps: Record<string, LoadOp> = {
  compute: {
    requires: ["computed", "database"],
    async prepare(env: LoadEnv): Promise<LoadStep> {
      const ds = env.dataset;
      if (!ds.db) throw new Error(`compute needs a CSDatabase; dataset "${ds.handle}" has none`);
      const { ComputedAttributeEngine } = await import(sourcePath(env.library, ENGINE));
      const { ComputedAttributeCache } = await import(sourcePath(env.library, CACHE));
      const engine = new ComputedAttributeEngine() as Engine;
      await engine.initialize();
      const cache = new ComputedAttributeCache() as { initialize(): Promise<void>; shutdown(): Promise<void> };
      await cache.initialize();
      engine.setCache(cache);
      await engine.registerAttribute(definition(ds));
      const db = ds.db;
      return {
        async run(user: VirtualUser, timed: Timed) {
          const uid = user.rng.pick(ds.model.uids);
          const id = ds.model.ids.get(uid)!;
          const ctx: Context = { target: { id, uid }, targetId: String(id), targetType: "document", database: db,
            currentCollection: ds.collection, timestamp: Date.now(), nodeId: "csbench" };
          const value = (await timed(() => engine.computeAttribute(ATTRIBUTE, ctx))) as Peers | null;
          const actual = { uid: value?.uid ?? null, peers: value?.peers ?? null };
          check(value?.uid === uid && Number.isInteger(value.peers) && value.peers >= 1, "compute",
            { user: user.index, uid, id }, { uid, peers: ">= 1" }, actual);
        },
        async close() {
          await cache.shutdown();
        },
      };
    },
  },
};
