// `load`: build a database + one collection from a JSON Lines file, and its model.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { CsCollection, CsDatabase, Doc, Id, Library } from "./library";
import { Model } from "./model";
import { type Args, DriverError, argString, usage } from "./protocol";
import type { Rng } from "./rng";

export type Storage = "memory" | "file";

export interface IndexSpec {
  name: string;
  key: string;
  unique: boolean;
}

export class Dataset {
  /** Mutated since the last persist (reload persists first so the files match the model). */
  dirty = true;
  /** Next uid for documents `insert` creates (never reused). */
  nextUid: number;

  constructor(
    readonly handle: string,
    readonly storage: Storage,
    /** CSDatabase root: ':memory:' or a directory. */
    readonly root: string,
    readonly indexes: IndexSpec[],
    readonly db: CsDatabase | null,
    readonly collection: CsCollection,
    readonly model: Model,
  ) {
    this.nextUid = model.maxUid() + 1;
  }

  get idField(): string {
    return typeof this.collection.id === "string" ? this.collection.id : "id";
  }

  persist(): Promise<unknown> {
    return this.db ? this.db.persist() : this.collection.persist();
  }

  /** A random document of the dataset: its uid and current library id. */
  randomDoc(rng: Rng): { uid: number; id: Id } {
    const uid = rng.pick(this.model.uids);
    return { uid, id: this.model.ids.get(uid)! };
  }
}

/** The loaded dataset `args.dataset` names (`run` and `load_run`). */
export function datasetArg(datasets: Map<string, Dataset>, args: Args): Dataset {
  const handle = argString(args, "dataset");
  const dataset = datasets.get(handle);
  if (!dataset) throw usage(`dataset "${handle}" is not loaded`);
  return dataset;
}

const tempRoots: string[] = [];

/** Remove the directories made for in-memory databases of eras whose CSDatabase always writes files. */
export function removeTempRoots(): void {
  for (const dir of tempRoots.splice(0)) rmSync(dir, { recursive: true, force: true });
}

function storageRoot(library: Library, storage: Storage, dir: unknown): string {
  if (storage === "file") {
    if (typeof dir !== "string" || !dir) throw usage('file storage needs "dir"');
    return resolve(dir);
  }
  if (library.caps.memory_database) return ":memory:";
  // Named with the pid, as every csbench temp dir (csbench.measure.procs sweeps those of dead owners);
  // Python passes a private TMPDIR, so it lands in the dir the driver's owner removes.
  const temp = mkdtempSync(join(tmpdir(), `csbench-mem-${process.pid}-`));
  tempRoots.push(temp);
  return temp;
}

function parseIndexes(raw: unknown): IndexSpec[] {
  if (!Array.isArray(raw)) throw usage('"indexes" must be a list');
  return raw.map((ix: Record<string, unknown>) => {
    if (typeof ix?.key !== "string") throw usage(`index needs a string "key": ${JSON.stringify(ix)}`);
    return { name: typeof ix.name === "string" ? ix.name : ix.key, key: ix.key, unique: ix.unique === true };
  });
}

async function readJsonLines(path: string): Promise<Doc[]> {
  const text = await Bun.file(path).text();
  const docs: Doc[] = [];
  for (const line of text.split("\n")) if (line.trim()) docs.push(JSON.parse(line) as Doc);
  for (const doc of docs) if (!Number.isInteger(doc.uid)) throw usage(`dataset document without integer uid in ${path}`);
  return docs;
}

/**
 * A collection without CSDatabase (before commit a75fc79, or one that cannot open a new
 * database: caps.database): `Collection.create(config)`, or
 * `new Collection(config)` before 2021-03, stored by an adapter the commit exports:
 * AdapterMemory in memory where there is one, else a file adapter under `root` (a temp dir
 * for a memory dataset: only `persist` writes there). The config names the file in every
 * era's key: `path` (a file for AdapterFile, a directory for AdapterFS), `format` (2020's
 * CollectionFile), `root` (the monorepo's first commits).
 */
function bareCollection(library: Library, handle: string, root: string, storage: Storage, indexes: IndexSpec[]) {
  const { lib } = library;
  const inMemory = storage === "memory" && lib.AdapterMemory !== undefined;
  const file = lib.AdapterFile ? join(root, `${handle}.json`) : join(root, handle);
  const FileAdapter = lib.AdapterFile ?? lib.AdapterFS;
  const config: Doc = {
    name: handle,
    root,
    path: file,
    format: file,
    list: lib.List ? new lib.List() : undefined,
    adapter: inMemory ? new lib.AdapterMemory!() : FileAdapter ? new FileAdapter(file) : undefined,
    indexList: indexes.map((ix) => ({ key: ix.key, unique: ix.unique })),
  };
  if (lib.Collection.create) return lib.Collection.create(config);
  return new (lib.Collection as unknown as new (config: Doc) => CsCollection)(config);
}

async function createStore(library: Library, handle: string, storage: Storage, root: string, indexes: IndexSpec[]) {
  const { lib, caps } = library;
  if (!caps.database) return { db: null, collection: await bareCollection(library, handle, root, storage, indexes) };
  const db = new lib.CSDatabase!(root, handle);
  await db.connect();
  const collection = await db.createCollection(handle);
  for (const ix of indexes) {
    if (!caps.create_index) throw new DriverError("unsupported", "Collection.createIndex is missing at this commit");
    await collection.createIndex!(ix.name, { key: ix.key, unique: ix.unique });
  }
  return { db, collection };
}

/** Open the file-backed dataset afresh from disk (the timed body of `reload`). */
export async function reopenCollection(library: Library, ds: Dataset): Promise<CsCollection | undefined> {
  const { lib, caps } = library;
  if (!caps.database) {
    const collection = await bareCollection(library, ds.handle, ds.root, "file", ds.indexes);
    await collection.load();
    return collection;
  }
  const db = new lib.CSDatabase!(ds.root, ds.handle);
  await db.connect();
  return db.collection(ds.handle);
}

export async function loadDataset(library: Library, args: Args): Promise<{ dataset: Dataset; loadNs: number }> {
  const handle = argString(args, "dataset");
  // CSDatabase reads "name:Type" as a storage type (FileStorage for anything but List).
  if (!/^[A-Za-z0-9_.-]+$/.test(handle)) throw usage(`dataset handle "${handle}" may hold only letters, digits, "_", "." and "-"`);
  const storage = argString(args, "storage", "memory");
  if (storage !== "memory" && storage !== "file") throw usage(`unknown storage "${storage}"`);
  const indexes = parseIndexes(args.indexes ?? []);
  const docs = await readJsonLines(argString(args, "path"));
  const root = storageRoot(library, storage, args.dir);
  if (storage === "file") {
    // This database's own files only: its schema and its collection directory.
    rmSync(join(root, `${handle}.json`), { force: true });
    rmSync(join(root, handle), { recursive: true, force: true });
  }

  const model = new Model();
  const t0 = Bun.nanoseconds();
  const { db, collection } = await createStore(library, handle, storage, root, indexes);
  const idField = typeof collection.id === "string" ? collection.id : "id";
  for (const doc of docs) {
    const saved = await collection.create({ ...doc });
    const id = saved?.[idField];
    if (typeof id !== "number" && typeof id !== "string") {
      throw new DriverError("check", `load: create returned no ${idField} for uid ${doc.uid}`, {
        op: "load", input: doc.uid as number, expected: `a document with ${idField}`, actual: saved ?? null,
      });
    }
    model.add(doc, id);
  }
  const loadNs = Bun.nanoseconds() - t0;
  return { dataset: new Dataset(handle, storage, root, indexes, db, collection, model), loadNs };
}
