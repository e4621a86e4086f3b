// The slice of Collection Store's API the driver uses, loaded from ROOT, and what it offers.
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Layout } from "./era";
import { DriverError } from "./protocol";

export type Doc = Record<string, unknown>;
export type Id = string | number;

export function isId(v: unknown): v is Id {
  return typeof v === "number" || typeof v === "string";
}

/** Collection methods common to every era since 2023 (sync ones are awaited anyway). */
export interface CsCollection {
  id?: string;
  create(doc: Doc): Promise<Doc | undefined>;
  findById(id: Id): Promise<Doc | undefined>;
  findBy(key: string, value: unknown): Promise<Doc[]>;
  find(query: Doc): Promise<Doc[]>;
  updateWithId(id: Id, patch: Doc): Promise<Doc | undefined>;
  removeWithId(id: Id): Promise<Doc | undefined>;
  createIndex?(name: string, def: Doc): Promise<void> | void;
  persist(): Promise<void>;
  load(): Promise<void>;
}

export interface CsDatabase {
  connect(): Promise<void>;
  createCollection(name: string): Promise<CsCollection> | CsCollection;
  collection(name: string): CsCollection | undefined;
  persist(): Promise<unknown>;
  startTransaction(options?: Doc): Promise<void>;
  commitTransaction(): Promise<void>;
  abortTransaction(): Promise<void>;
}

/** What the entry module exports; every era exports Collection, the rest varies (COLLECTION_STORE.md). */
export interface CsLib {
  CSDatabase?: new (root: string, name?: string) => CsDatabase;
  /** `Collection.create(config)` from 2021-03 on; before, `new Collection(config)`. */
  Collection: { create?(config: Doc): CsCollection | Promise<CsCollection>; prototype: object };
  AdapterMemory?: new () => unknown;
  /** One JSON file per collection (2020-12 to 2023-01), at `path`. */
  AdapterFile?: new (path?: string) => unknown;
  /** A directory per collection (2021-03 on), at `path`. */
  AdapterFS?: new (path?: string) => unknown;
  List?: new () => unknown;
}

export interface Capabilities {
  /** CSDatabase exists. */
  database: boolean;
  /** Collection.createIndex exists (else indexes only via indexList). */
  create_index: boolean;
  /** Real transactions (TransactionManager), not the beta stubs where commit == persist. */
  transactions: boolean;
  persist: boolean;
  /** CSDatabase(':memory:') is really in memory; else the driver roots it in a temp dir. */
  memory_database: boolean;
  /** `Collection.create(config)`; else the collection is constructed (`new Collection(config)`, 2020-2021). */
  collection_create: boolean;
  /** find() takes query operators ($gte, $lt); else the range query is a predicate function. */
  query_operators: boolean;
  [name: string]: boolean;
}

export interface Library {
  layout: Layout;
  lib: CsLib;
  caps: Capabilities;
}

/** Throw "unsupported" (`what` needs ...) unless the commit has every capability of `requires`. */
export function requireCapabilities(library: Library, what: string, requires: ReadonlyArray<keyof Capabilities>): void {
  const missing = requires.filter((c) => !library.caps[c]);
  if (missing.length) {
    const absent = `absent at this commit (${library.layout.era})`;
    throw new DriverError("unsupported", `${what} needs ${missing.join(", ")}, ${absent}`);
  }
}

/** Import Collection Store from ROOT's own source and derive its capabilities. */
export async function loadLibrary(layout: Layout): Promise<Library> {
  const lib = (await import(layout.entry)) as CsLib;
  const db = lib.CSDatabase;
  const dbSource = db ? Function.prototype.toString.call(db) : "";
  const proto = lib.Collection.prototype as Record<string, unknown>;
  const memory = dbSource.includes(":memory:");
  const caps: Capabilities = {
    // a CSDatabase that can open a new database (a75fc79 to 66d66fa read ROOT/index.json first)
    database: typeof db === "function" && (memory || (await opensNewDatabase(db))),
    create_index: typeof proto.createIndex === "function",
    transactions: dbSource.includes("transactionManager") && typeof db?.prototype.commitTransaction === "function",
    persist: typeof proto.persist === "function",
    memory_database: memory,
    collection_create: typeof lib.Collection.create === "function",
    query_operators: sourceMentions(join(layout.packageDir, "src"), "$gte"),
  };
  return { layout, lib, caps };
}

/** Whether `Database` connects to a new database in an empty directory (removed after). */
async function opensNewDatabase(Database: NonNullable<CsLib["CSDatabase"]>): Promise<boolean> {
  const root = mkdtempSync(join(tmpdir(), `csbench-probe-${process.pid}-`));
  try {
    await new Database(join(root, "db"), "probe").connect();
    return true;
  } catch {
    return false;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Whether a .ts or .js file under `dir` holds `text`. */
function sourceMentions(dir: string, text: string): boolean {
  for (const entry of readdirSync(dir, { recursive: true, encoding: "utf8" })) {
    if (!/\.(ts|js)$/.test(entry) || entry.includes("node_modules")) continue;
    const file = join(dir, entry);
    if (statSync(file).isFile() && readFileSync(file, "utf8").includes(text)) return true;
  }
  return false;
}

/** Absolute path of `rel` under the src/ folder of the tree under test. */
function sourcePath(library: Library, rel: string): string {
  return join(library.layout.packageDir, "src", rel);
}

/** Whether the tree has src/`rel`, with a call or definition `m(` for every one of `methods`. */
export function hasSource(library: Library, rel: string, ...methods: string[]): boolean {
  try {
    const file = sourcePath(library, rel);
    if (!existsSync(file)) return false;
    const text = readFileSync(file, "utf8");
    return methods.every((m) => text.includes(`${m}(`));
  } catch {
    return false;
  }
}

/**
 * Import src/`rel` of the tree under test. Its exports are whatever that commit has: `T`
 * declares the slice the caller uses, unchecked (an export missing at a commit fails where it
 * is used; `detect` reports such commits as lacking the area first).
 */
export async function importSource<T>(library: Library, rel: string): Promise<T> {
  return (await import(sourcePath(library, rel))) as T;
}

/** A connected CSDatabase(':memory:') of the commit, named `name` (fixtures of the areas). */
export async function memoryDatabase(library: Library, name: string): Promise<CsDatabase> {
  const db = new library.lib.CSDatabase!(":memory:", name);
  await db.connect();
  return db;
}
