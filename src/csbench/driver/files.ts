// Files area: FileStorageManager upload and download of whole files through its local backend.
//
// The manager (read at 2307c8d and f8a1929, identical there) takes one config object:
// {backends: {default, configs: {local: {name, type: "local", basePath}}}, validation,
// thumbnails, replication, quotas, cleanup}, the shape of the commit's own
// FileStorageManager.test.ts. basePath is a fresh temporary directory, removed at exit (and,
// if the driver was killed first, by the next driver that opens a manager).
// Payloads are seeded random bytes (mulberry32, seed 0), made once per size.
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clock } from "./clock";
import { type Doc, type Library, hasSource, importSource } from "./library";
import { type Adapter, type OpContext, type OpSpec, cached, check, paramInt, verify } from "./ops";
import { Rng } from "./rng";

const MANAGER_FILE = "filestorage/core/FileStorageManager.ts";
const OWNER = "csbench";
/** Chunk size of upload streams: the manager's default chunkSize. */
const CHUNK = 64 * 1024;

// The slice of FileStorageManager the files ops and the files load ops (load_files.ts) use.
interface FileMetadata {
  id: string;
  size: number;
  checksum: string;
}

export interface Manager {
  initialize(): Promise<void>;
  upload(file: Doc, options: Doc, userId: string): Promise<FileMetadata>;
  download(id: string, options: Doc, userId: string): Promise<ReadableStream<Uint8Array>>;
  delete(id: string, userId: string): Promise<void>;
  shutdown(): Promise<void>;
}
interface ManagerModule {
  FileStorageManager: new (config: Doc) => Manager;
}

function managerConfig(basePath: string): Doc {
  return {
    backends: { default: "local", configs: { local: { name: "local", type: "local", basePath } } },
    validation: { maxFileSize: 2 ** 30, allowedMimeTypes: ["*/*"], blockedMimeTypes: [] },
    thumbnails: { enabled: false, defaultSizes: [], quality: 80 },
    replication: { enabled: false, minReplicas: 1, preferredNodes: [] },
    quotas: { defaultUserQuota: 2 ** 40, adminQuota: 2 ** 40 },
    cleanup: { expiredFilesCheckInterval: 60_000, tempFileCleanupInterval: 300_000 },
  };
}

const DIR_PREFIX = "csbench-files-";
/** A storage directory: DIR_PREFIX, the pid of the driver that made it, "-", a random suffix. */
const DIR_NAME = /^csbench-files-(\d+)-/;
/** Storage directories of this driver not removed yet: the exit handler removes them. */
const liveDirs = new Set<string>();

process.on("exit", () => {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

/** Remove storage directories of drivers that died without their exit handler (a killed driver). */
function sweepStaleDirs(): void {
  for (const name of readdirSync(tmpdir())) {
    const pid = Number(DIR_NAME.exec(name)?.[1]);
    if (pid && !pidAlive(pid)) rmSync(join(tmpdir(), name), { recursive: true, force: true });
  }
}

/** Remove a storage directory of this driver now. */
export function removeStorageDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

/**
 * An initialized FileStorageManager whose local backend stores under a fresh directory
 * (removed by removeStorageDir, else at exit; a failed start removes it at once).
 */
export async function openStorage(library: Library): Promise<{ manager: Manager; dir: string }> {
  const { FileStorageManager } = await importSource<ManagerModule>(library, MANAGER_FILE);
  sweepStaleDirs();
  const dir = mkdtempSync(join(tmpdir(), `${DIR_PREFIX}${process.pid}-`));
  liveDirs.add(dir);
  try {
    const manager = new FileStorageManager(managerConfig(dir));
    await manager.initialize();
    return { manager, dir };
  } catch (err) {
    removeStorageDir(dir);
    throw err;
  }
}

/** The batch ops' manager, opened on first use and kept until exit. */
let manager: Promise<Manager> | null = null;

function openManager(library: Library): Promise<Manager> {
  manager ??= openStorage(library).then((storage) => storage.manager);
  return manager;
}

export interface Payload {
  bytes: Uint8Array;
  sha256: string;
}

const payloads = new Map<string, Payload>();

function sha256(chunks: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const c of chunks) hash.update(c);
  return hash.digest("hex");
}

export function payload(size: number): Payload {
  const key = JSON.stringify({ size });
  let p = payloads.get(key);
  if (!p) {
    const rng = new Rng(0);
    const words = new Uint32Array(Math.ceil(size / 4));
    for (let i = 0; i < words.length; i++) words[i] = Math.floor(rng.next() * 2 ** 32);
    const bytes = new Uint8Array(words.buffer, 0, size);
    payloads.set(key, (p = { bytes, sha256: sha256([bytes]) }));
  }
  return p;
}

/** A stream of `bytes` in CHUNK slices, pulled by its reader. */
function chunked(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(offset, (offset += CHUNK)));
    },
  });
}

export function fileUpload(size: number, p: Payload): Doc {
  return { filename: `payload-${size}.bin`, mimeType: "application/octet-stream", size, stream: chunked(p.bytes) };
}

/** Check what upload returned for `size` bytes of `p`: an id, the size and the payload's checksum. */
export function checkUploaded(op: string, input: unknown, meta: FileMetadata, size: number, p: Payload): void {
  check(typeof meta?.id === "string" && meta.size === size && meta.checksum === p.sha256, op, input,
    { id: "assigned", size, checksum: p.sha256 },
    meta ? { id: meta.id, size: meta.size, checksum: meta.checksum } : null);
}

/** Files stored once (untimed) for files_download, by size. */
const stored = new Map<string, Promise<string>>();

function storedFile(m: Manager, size: number, p: Payload): Promise<string> {
  return cached(stored, { size }, async () => {
    const meta = await verify("files_download", { size }, "upload (fixture)", () =>
      m.upload(fileUpload(size, p), { access: "private" }, OWNER));
    check(typeof meta?.id === "string" && meta.checksum === p.sha256, "files_download", { size, fixture: "upload" },
      { id: "assigned", checksum: p.sha256 }, meta ?? null);
    return meta.id;
  });
}

/** An op on the batch ops' manager with a payload of `size` (param, default 1 KiB) bytes. */
function op(step: (m: Manager, size: number, p: Payload) => Promise<void>): OpSpec {
  return {
    needsDataset: false,
    requires: ["files"],
    async step({ library, params }: OpContext) {
      const size = paramInt(params, "size", 1024);
      const p = payload(size);
      await step(await openManager(library), size, p);
    },
  };
}

const filesUpload = op(async (m, size, p) => {
  const file = fileUpload(size, p);
  const t0 = clock.start();
  const meta = await m.upload(file, { access: "private" }, OWNER);
  clock.stop(t0);
  checkUploaded("files_upload", { size, filename: file.filename }, meta, size, p);
  await verify("files_upload", { id: meta.id }, "delete (restore)", () => m.delete(meta.id, OWNER));
});

const filesDownload = op(async (m, size, p) => {
  const id = await storedFile(m, size, p);
  const chunks: Uint8Array[] = [];
  const t0 = clock.start();
  const reader = (await m.download(id, {}, OWNER)).getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  clock.stop(t0);
  const length = chunks.reduce((n, c) => n + c.length, 0);
  const hash = sha256(chunks);
  check(length === size && hash === p.sha256, "files_download", { id, size },
    { length: size, sha256: p.sha256 }, { length, sha256: hash });
});

export const filesAdapter: Adapter = {
  area: "files",
  ops: { files_upload: filesUpload, files_download: filesDownload },
  detect(library: Library) {
    return { files: hasSource(library, MANAGER_FILE) };
  },
};
