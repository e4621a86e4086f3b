// Computed attributes load op: a document attribute evaluated through ComputedAttributeEngine and its cache.
//
// One engine per run with the library's ComputedAttributeCache at its defaults (10,000 entries,
// 300 s TTL), as an application would wire them. The attribute, group_peers, belongs to the
// documents of the scenario's dataset: it reads the document (findById) and counts the
// documents of its group (findBy on the dataset's index on `group` if it has one, else
// find({group})). The first request for a document computes it, later ones hit the cache until
// the entry expires, so the mix of cold and cached requests is the application's.
import { type Context, definition, newEngine } from "./computed";
import type { Dataset } from "./dataset";
import type { LoadEnv, LoadOp, LoadStep, Timed, VirtualUser } from "./load_ops";
import { check } from "./ops";

const ATTRIBUTE = "group_peers";

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
      const { engine, cache } = await newEngine(env.library);
      const description = "documents sharing this document's group";
      await engine.registerAttribute(definition(ATTRIBUTE, description, "document", ds.handle, groupPeers(ds)));
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
