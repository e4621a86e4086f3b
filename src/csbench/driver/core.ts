// Core area: CRUD, queries, persistence and transactions of one collection, checked against the model.
import { clock } from "./clock";
import { type Dataset, reopenCollection } from "./dataset";
import { type Doc, type Id, isId } from "./library";
import { type Adapter, type OpContext, type OpSpec, check, paramInt, paramString, verify } from "./ops";
import { usage } from "./protocol";
import type { Rng } from "./rng";

/** The floor of the timing itself: an empty awaited function. */
const emptyCall = async (): Promise<void> => {};

/** New values `update_by_id` may write, per field of the generated documents. */
const freshValues: Record<string, (rng: Rng) => unknown> = {
  score: (rng) => Math.round(rng.next() * 1e6) / 100,
  age: (rng) => 18 + rng.int(72),
  group: (rng) => rng.int(100),
  active: (rng) => rng.int(2) === 0,
};

function indexFor(ds: Dataset, key: string): string {
  const ix = ds.indexes.find((i) => i.key === key);
  if (!ix) throw usage(`dataset "${ds.handle}" has no index on "${key}"`);
  return ix.name;
}

function op(spec: Omit<OpSpec, "needsDataset" | "requires"> & Partial<OpSpec>): OpSpec {
  return { needsDataset: true, requires: [], ...spec };
}

const noop = op({
  needsDataset: false,
  async step() {
    const t0 = clock.start();
    await emptyCall();
    clock.stop(t0);
  },
});

const insert = op({
  async step({ dataset, rng }: OpContext) {
    const ds = dataset!;
    const uid = ds.nextUid++;
    const doc: Doc = { ...ds.model.docs.get(rng.pick(ds.model.uids)), uid };
    const t0 = clock.start();
    const saved = await ds.collection.create(doc);
    clock.stop(t0);
    const id = saved?.[ds.idField];
    check(isId(id) && saved?.uid === uid, "insert", { uid }, { uid, [ds.idField]: "assigned" }, saved ?? null);
    // Restore the dataset's size, untimed.
    await verify("insert", { uid, id }, "removeWithId (restore)", () => ds.collection.removeWithId(id as Id));
    ds.dirty = true;
  },
});

const findById = op({
  async step({ dataset, rng }: OpContext) {
    const ds = dataset!;
    const { uid, id } = ds.randomDoc(rng);
    const t0 = clock.start();
    const doc = await ds.collection.findById(id);
    clock.stop(t0);
    check(doc?.uid === uid, "find_by_id", { uid, id }, { uid }, { uid: doc?.uid ?? null });
  },
});

const findByIndexed = op({
  validate({ dataset, params }: OpContext) {
    indexFor(dataset!, paramString(params, "key", "group"));
  },
  async step({ dataset, rng, params }: OpContext) {
    const ds = dataset!;
    const key = paramString(params, "key", "group");
    const index = indexFor(ds, key);
    const value = rng.pick(ds.model.values(key));
    const expected = ds.model.count(key, value);
    const t0 = clock.start();
    const docs = await ds.collection.findBy(index, value);
    clock.stop(t0);
    const matching = docs.filter((d) => d[key] === value).length;
    check(docs.length === expected && matching === expected, "find_by_indexed", { index, value },
      { length: expected, matching: expected }, { length: docs.length, matching });
  },
});

const findRange = op({
  async step({ library, dataset, rng, params }: OpContext) {
    const ds = dataset!;
    const key = paramString(params, "key", "age");
    const width = paramInt(params, "width", 5);
    const values = ds.model.values(key) as number[];
    const lo = values[0]!;
    const span = values[values.length - 1]! - lo + 1;
    const from = lo + rng.int(Math.max(1, span - width + 1));
    const to = from + width;
    const expected = ds.model.countRange(key, from, to);
    const query = { [key]: { $gte: from, $lt: to } };
    // A commit without query operators (2020-2021) is asked the same with a predicate.
    const inRange = (d: Doc) => (d[key] as number) >= from && (d[key] as number) < to;
    const condition = library.caps.query_operators ? query : (inRange as unknown as Doc);
    const t0 = clock.start();
    const docs = await ds.collection.find(condition);
    clock.stop(t0);
    const matching = docs.filter(inRange).length;
    check(docs.length === expected && matching === expected, "find_range", query,
      { length: expected, matching: expected }, { length: docs.length, matching });
  },
});

const updateById = op({
  validate({ params }: OpContext) {
    const field = paramString(params, "field", "score");
    if (!freshValues[field]) throw usage(`update_by_id can write ${Object.keys(freshValues).join(", ")}, not "${field}"`);
  },
  async step({ dataset, rng, params }: OpContext) {
    const ds = dataset!;
    const field = paramString(params, "field", "score");
    const { uid, id } = ds.randomDoc(rng);
    const value = freshValues[field]!(rng);
    const t0 = clock.start();
    await ds.collection.updateWithId(id, { [field]: value });
    clock.stop(t0);
    ds.model.set(uid, field, value);
    ds.dirty = true;
    const input = { uid, id, [field]: value };
    const after = await verify("update_by_id", input, "findById", () => ds.collection.findById(id));
    check(after?.uid === uid && after?.[field] === value, "update_by_id", input,
      { uid, [field]: value }, after ? { uid: after.uid, [field]: after[field] } : null);
  },
});

const removeById = op({
  async step({ dataset, rng }: OpContext) {
    const ds = dataset!;
    const { uid, id } = ds.randomDoc(rng);
    const t0 = clock.start();
    await ds.collection.removeWithId(id);
    clock.stop(t0);
    ds.dirty = true;
    const left = await verify("remove_by_id", { uid, id }, "findById", () => ds.collection.findById(id));
    check(left == null, "remove_by_id", { uid, id }, null, left);
    // Restore the document, untimed; it gets a new id.
    const doc = { ...ds.model.docs.get(uid) };
    const saved = await verify("remove_by_id", { uid, id }, "create (restore)", () => ds.collection.create(doc));
    const newId = saved?.[ds.idField];
    check(isId(newId), "remove_by_id", { uid, restore: "create" }, { [ds.idField]: "assigned" }, saved ?? null);
    ds.model.ids.set(uid, newId as Id);
  },
});

const persist = op({
  requires: ["persist"],
  async step({ dataset }: OpContext) {
    const ds = dataset!;
    const t0 = clock.start();
    await ds.persist();
    clock.stop(t0);
    ds.dirty = false;
  },
});

const reload = op({
  requires: ["persist"],
  validate({ dataset }: OpContext) {
    if (dataset!.storage !== "file") throw usage(`reload needs file storage; "${dataset!.handle}" is in memory`);
  },
  async step({ library, dataset, rng }: OpContext) {
    const ds = dataset!;
    if (ds.dirty) {
      await verify("reload", { dataset: ds.handle }, "persist before reload", () => ds.persist());
      ds.dirty = false;
    }
    const t0 = clock.start();
    const fresh = await reopenCollection(library, ds);
    clock.stop(t0);
    const docs = fresh ? await verify("reload", { root: ds.root }, "find({})", () => fresh.find({})) : null;
    check(docs?.length === ds.model.size, "reload", { root: ds.root, dataset: ds.handle }, ds.model.size, docs?.length ?? null);
    const { uid, id } = ds.randomDoc(rng);
    const doc = await verify("reload", { uid, id }, "findById", () => fresh!.findById(id));
    check(doc?.uid === uid, "reload", { uid, id }, { uid }, { uid: doc?.uid ?? null });
  },
});

const txnCommit = op({
  requires: ["database", "transactions"],
  async step({ dataset, rng, params }: OpContext) {
    const ds = dataset!;
    const db = ds.db!;
    const writes = Array.from({ length: paramInt(params, "writes", 10) }, () => ({
      ...ds.randomDoc(rng),
      score: freshValues.score!(rng),
    }));
    try {
      const t0 = clock.start();
      await db.startTransaction();
      for (const w of writes) await ds.collection.updateWithId(w.id, { score: w.score });
      await db.commitTransaction();
      clock.stop(t0);
    } catch (err) {
      await db.abortTransaction().catch(() => undefined); // leave no transaction open; report the first error
      throw err;
    }
    for (const w of writes) ds.model.set(w.uid, "score", w.score);
    ds.dirty = true;
    for (const { uid, id } of writes) {
      const expected = ds.model.docs.get(uid)!.score;
      const doc = await verify("txn_commit", { uid, id }, "findById", () => ds.collection.findById(id));
      check(doc?.score === expected, "txn_commit", { uid, id }, { score: expected }, { score: doc?.score ?? null });
    }
  },
});

export const coreAdapter: Adapter = {
  area: "core",
  ops: {
    noop,
    insert,
    find_by_id: findById,
    find_by_indexed: findByIndexed,
    find_range: findRange,
    update_by_id: updateById,
    remove_by_id: removeById,
    persist,
    reload,
    txn_commit: txnCommit,
  },
};
