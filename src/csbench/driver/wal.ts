// WAL area: WALCollection transactions (file WAL, memory data) and recovery from a written WAL.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clock } from "./clock";
import { type Doc, type Id, type Library, hasSource, importSource } from "./library";
import { type Adapter, cached, check, type OpContext, type OpSpec, paramInt, verify } from "./ops";

/** WALCollection by layout era (under the tree's src/): core-2025 first, then the flat 2025 file. */
const WAL_FILES = ["core/wal/WALCollection.ts", "WALCollection.ts"];
const TXN_DOCS = 1_000; // documents of the wal_txn_commit collection (written before any transaction)
const NAME = "walbench";

// The slice of WALCollection used here.
interface WALCollection {
  id: string;
  create(doc: Doc): Promise<Doc | undefined>;
  updateWithId(id: Id, patch: Doc): Promise<Doc | undefined>;
  findById(id: Id): Promise<Doc | undefined>;
  find(query: Doc): Promise<Doc[]>;
  beginTransaction(): Promise<string>;
  commitTransaction(tx: string): Promise<void>;
  rollbackTransaction(tx: string): Promise<void>;
  performRecovery(): Promise<void>;
  reset(): Promise<void>;
}
interface WALCollectionClass {
  create(config: Doc): WALCollection;
}

const tempDirs: string[] = [];
process.on("exit", () => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function walFile(library: Library): string | null {
  return WAL_FILES.find((rel) => hasSource(library, rel)) ?? null;
}

async function walClass(library: Library): Promise<WALCollectionClass> {
  return (await importSource<{ WALCollection: WALCollectionClass }>(library, walFile(library)!)).WALCollection;
}

const walPath = (dir: string) => join(dir, `${NAME}.wal`);

/** A WALCollection with memory storage and its WAL in `dir` (the API of COLLECTION_STORE.md). */
function open(cls: WALCollectionClass, dir: string): WALCollection {
  return cls.create({
    name: NAME,
    root: dir,
    enableTransactions: true,
    walOptions: { walPath: walPath(dir), enableWAL: true, autoRecovery: false },
  });
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), `csbench-wal-${process.pid}-`)); // pid: see dataset.ts
  tempDirs.push(dir);
  return dir;
}

// Fixtures, built untimed on first use, keyed by the JSON of the params that shape them.
const txnFixtures = new Map<string, Promise<{ col: WALCollection; ids: Id[]; scores: Map<Id, unknown> }>>();
const recoverFixtures = new Map<string, Promise<{ cls: WALCollectionClass; dir: string }>>();

function op(spec: Omit<OpSpec, "needsDataset" | "requires">): OpSpec {
  return { requires: ["wal"], needsDataset: false, ...spec };
}

/** beginTransaction, `writes` (default 10) updateWithId calls, commitTransaction on a 1,000-document collection. */
const txnCommit = op({
  async step({ library, rng, params }: OpContext) {
    const { col, ids, scores } = await cached(txnFixtures, { docs: TXN_DOCS }, async () => {
      const col = open(await walClass(library), tempDir());
      const ids: Id[] = [];
      const scores = new Map<Id, unknown>();
      for (let uid = 0; uid < TXN_DOCS; uid++) {
        const saved = await col.create({ uid, score: 0 });
        ids.push(saved![col.id] as Id);
        scores.set(ids[uid]!, 0);
      }
      return { col, ids, scores };
    });
    const writes = Array.from({ length: paramInt(params, "writes", 10) }, () => ({
      id: rng.pick(ids),
      score: Math.round(rng.next() * 1e6) / 100,
    }));
    let tx: string | null = null;
    try {
      const t0 = clock.start();
      tx = await col.beginTransaction();
      for (const w of writes) await col.updateWithId(w.id, { score: w.score });
      await col.commitTransaction(tx);
      clock.stop(t0);
    } catch (err) {
      if (tx) await col.rollbackTransaction(tx).catch(() => undefined); // leave no transaction open
      throw err;
    }
    for (const w of writes) scores.set(w.id, w.score);
    for (const { id } of writes) {
      const doc = await verify("wal_txn_commit", { id }, "findById", () => col.findById(id));
      check(doc?.score === scores.get(id), "wal_txn_commit", { id }, { score: scores.get(id) }, { score: doc?.score ?? null });
    }
  },
});

/**
 * Untimed: a WAL of `entries` (default 10,000) committed inserts, `writes` (default 10) per
 * transaction, then the writer is closed without persisting its memory data. Timed: a new
 * WALCollection on that WAL (its constructor starts reading the WAL) and performRecovery().
 * Checked: the recovered collection holds every inserted document.
 */
const recover = op({
  async step({ library, params }: OpContext) {
    const entries = paramInt(params, "entries", 10_000);
    const writes = paramInt(params, "writes", 10);
    const { cls, dir } = await cached(recoverFixtures, { entries, writes }, async () => {
      const cls = await walClass(library);
      const dir = tempDir();
      const writer = open(cls, dir);
      for (let uid = 0; uid < entries; ) {
        const tx = await writer.beginTransaction();
        for (const end = Math.min(entries, uid + writes); uid < end; uid++) await writer.create({ uid, score: uid });
        await writer.commitTransaction(tx);
      }
      await writer.reset(); // closes (and flushes) the WAL manager; the WAL file stays
      const wal = existsSync(walPath(dir)) ? readFileSync(walPath(dir), "utf8") : "";
      const logged = wal.split("\n").filter((line) => line.includes('"operation":"INSERT"')).length;
      check(logged === entries, "wal_recover", { entries, writes, step: "write WAL" }, { inserts: entries }, { inserts: logged });
      return { cls, dir };
    });
    const input = { entries, writes };
    const t0 = clock.start();
    const fresh = open(cls, dir);
    await fresh.performRecovery();
    clock.stop(t0);
    try {
      const docs = await verify("wal_recover", input, "find({})", () => fresh.find({}));
      const uids = new Set(docs.map((d) => d.uid));
      let missing = 0;
      for (let uid = 0; uid < entries; uid++) if (!uids.has(uid)) missing++;
      check(docs.length === entries && missing === 0, "wal_recover", input,
        { documents: entries, missing: 0 }, { documents: docs.length, missing });
    } finally {
      await fresh.reset().catch(() => undefined); // stop its WAL flush timer
    }
  },
});

export const walAdapter: Adapter = {
  area: "wal",
  ops: { wal_txn_commit: txnCommit, wal_recover: recover },
  detect: (library: Library) => ({ wal: walFile(library) !== null }),
};
