// Core load ops: find, insert, update and range query on the scenario's shared dataset.
//
// Checks that hold while other users write the same collection: documents are never
// removed, `update` writes only `score` (no index, no range key) and only documents of the
// user's own share when there are enough of them, inserts copy existing ages, so a range
// query returns at least what the dataset held at the start, all inside the range.
import { type Doc, isId } from "./library";
import type { LoadEnv, LoadOp, LoadStep } from "./load_ops";
import { check, verify } from "./ops";

const RANGE_KEY = "age";
const RANGE_WIDTH = 5;

function loadOp(prepare: (env: LoadEnv) => LoadStep): LoadOp {
  return { requires: ["database"], prepare: async (env) => prepare(env) };
}

/** findById of a random document of the dataset. */
const find = loadOp(({ dataset: ds }) => ({
  async run(user, timed) {
    const { uid, id } = ds.randomDoc(user.rng);
    const doc = await timed(() => ds.collection.findById(id));
    check(doc?.uid === uid, "find", { uid, id }, { uid }, { uid: doc?.uid ?? null });
  },
}));

/** create of a copy of a random document under a new uid; it stays. */
const insert = loadOp(({ dataset: ds }) => ({
  async run(user, timed) {
    const uid = ds.nextUid++;
    const doc: Doc = { ...ds.model.docs.get(user.rng.pick(ds.model.uids)), uid };
    delete doc[ds.idField];
    const saved = await timed(() => ds.collection.create(doc));
    const id = saved?.[ds.idField];
    check(isId(id) && saved?.uid === uid, "insert", { uid }, { uid, [ds.idField]: "assigned" },
      saved ? { uid: saved.uid, [ds.idField]: id ?? null } : null);
  },
}));

/**
 * updateWithId of `score` on a document of the user's share (user i owns the documents at
 * positions i, i + users, ...; with more users than documents, shares overlap and the
 * written value is not checked, only that the document is still there).
 */
const update = loadOp(({ dataset: ds, users }) => {
  const uids = ds.model.uids;
  const exclusive = users <= uids.length;
  return {
    async run(user, timed) {
      const owned = Math.ceil((uids.length - (user.index % uids.length)) / users);
      const uid = uids[(user.index % uids.length) + (exclusive ? users * user.rng.int(owned) : 0)]!;
      const id = ds.model.ids.get(uid)!;
      const score = Math.round(user.rng.next() * 1e6) / 100;
      await timed(() => ds.collection.updateWithId(id, { score }));
      const input = { uid, id, score };
      const after = await verify("update", input, "findById", () => ds.collection.findById(id));
      const ok = after?.uid === uid && (exclusive ? after?.score === score : typeof after?.score === "number");
      check(ok, "update", input, { uid, score: exclusive ? score : "a number" },
        after ? { uid: after.uid, score: after.score } : null);
    },
  };
});

/** find with {age: {$gte, $lt}} over RANGE_WIDTH years. */
const rangeQuery = loadOp(({ dataset: ds }) => {
  const ages = ds.model.values(RANGE_KEY) as number[];
  const lo = ages[0]!;
  const span = ages[ages.length - 1]! - lo + 1;
  const atStart = new Map<number, number>();
  for (let from = lo; from <= lo + span; from++) atStart.set(from, ds.model.countRange(RANGE_KEY, from, from + RANGE_WIDTH));
  return {
    async run(user, timed) {
      const from = lo + user.rng.int(Math.max(1, span - RANGE_WIDTH + 1));
      const to = from + RANGE_WIDTH;
      const query = { [RANGE_KEY]: { $gte: from, $lt: to } };
      const docs = await timed(() => ds.collection.find(query));
      const inRange = docs.filter((d) => (d[RANGE_KEY] as number) >= from && (d[RANGE_KEY] as number) < to).length;
      const distinct = new Set(docs.map((d) => d.uid)).size;
      const least = atStart.get(from) ?? 0;
      check(docs.length >= least && inRange === docs.length && distinct === docs.length, "range_query", query,
        { atLeast: least, inRange: "all", distinct: "all" }, { length: docs.length, inRange, distinct });
    },
  };
});

export const coreLoadOps: Record<string, LoadOp> = { find, insert, update, range_query: rangeQuery };
