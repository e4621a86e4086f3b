// The slice of Collection Store's API the driver uses, loaded from ROOT, and what it offers.
import type { Layout } from "./era";

export type Doc = Record<string, unknown>;
export type Id = string | number;

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

export interface CsLib {
  CSDatabase?: new (root: string, name?: string) => CsDatabase;
  Collection: { create(config: Doc): CsCollection | Promise<CsCollection>; prototype: object };
  AdapterMemory: new () => unknown;
  AdapterFile: new () => unknown;
  List: new () => unknown;
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
  [name: string]: boolean;
}

export interface Library {
  layout: Layout;
  lib: CsLib;
  caps: Capabilities;
}

/** Import Collection Store from ROOT's own source and derive its capabilities. */
export async function loadLibrary(layout: Layout): Promise<Library> {
  const lib = (await import(layout.entry)) as CsLib;
  const db = lib.CSDatabase;
  const dbSource = db ? Function.prototype.toString.call(db) : "";
  const proto = lib.Collection.prototype as Record<string, unknown>;
  const caps: Capabilities = {
    database: typeof db === "function",
    create_index: typeof proto.createIndex === "function",
    transactions: dbSource.includes("transactionManager") && typeof db?.prototype.commitTransaction === "function",
    persist: typeof proto.persist === "function",
    memory_database: dbSource.includes(":memory:"),
  };
  return { layout, lib, caps };
}
