// Files load ops: uploads and downloads of 100 KB files through FileStorageManager's local backend.
//
// One manager per run, shared by both ops (files.ts's config: local backend, no thumbnails,
// replication off, quotas far above any run), on a fresh temporary directory removed at close
// (and by files.ts's sweep if the driver was killed first). Payload: files.ts's seeded bytes.
// Prepare uploads POOL public files that downloads read. A user keeps its latest upload only:
// after each upload its previous file is deleted, untimed, so the directory holds at most
// POOL + users files.
import { type Manager, type Payload, checkUploaded, fileUpload, openStorage, payload, removeStorageDir } from "./files";
import { type LoadEnv, type LoadOp, RunFixtures, type Timed, type VirtualUser } from "./load_ops";
import { check, verify } from "./ops";

/** Bytes per file: the plan's 100 KB payload tier. */
const SIZE = 100 * 1024;
/** Files uploaded at prepare for downloads to read. */
const POOL = 32;
const OWNER = "csbench";
const STATE = "files.upload";

interface Fixture {
  manager: Manager;
  dir: string;
  payload: Payload;
  pool: string[];
}

async function build(env: LoadEnv): Promise<Fixture> {
  const { manager, dir } = await openStorage(env.library);
  try {
    const p = payload(SIZE);
    const pool: string[] = [];
    for (let i = 0; i < POOL; i++) {
      const meta = await manager.upload(fileUpload(SIZE, p), { access: "public" }, OWNER);
      if (meta?.checksum !== p.sha256) throw new Error(`files fixture: upload stored checksum ${meta?.checksum}`);
      pool.push(meta.id);
    }
    return { manager, dir, payload: p, pool };
  } catch (err) {
    removeStorageDir(dir);
    throw err;
  }
}

async function release(fx: Fixture): Promise<void> {
  try {
    await fx.manager.shutdown();
  } finally {
    removeStorageDir(fx.dir);
  }
}

const fixtures = new RunFixtures(build, release);

function op(run: (fx: Fixture, user: VirtualUser, timed: Timed) => Promise<void>): LoadOp {
  return fixtures.op(["files"], run);
}

const userId = (user: VirtualUser) => `user-${user.index}`;

/**
 * upload: FileStorageManager.upload of a 100 KB private file streamed in 64 KB chunks; the
 * user's previous upload is deleted after, untimed.
 */
const upload = op(async (fx, user, timed) => {
  const owner = userId(user);
  const file = fileUpload(SIZE, fx.payload);
  const meta = await timed(() => fx.manager.upload(file, { access: "private" }, owner));
  checkUploaded("upload", { user: user.index, size: SIZE }, meta, SIZE, fx.payload);
  const previous = user.state.get(STATE) as { fx: Fixture; id: string } | undefined;
  user.state.set(STATE, { fx, id: meta.id });
  if (previous?.fx === fx) {
    await verify("upload", { user: user.index, id: previous.id }, "delete (previous upload)", () =>
      fx.manager.delete(previous.id, owner));
  }
});

/** download: FileStorageManager.download of one of the pool's public files, read to the end. */
const download = op(async (fx, user, timed) => {
  const id = user.rng.pick(fx.pool);
  const chunks: Uint8Array[] = [];
  await timed(async () => {
    const reader = (await fx.manager.download(id, {}, userId(user))).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
  });
  const bytes = Buffer.concat(chunks);
  check(bytes.length === SIZE && bytes.equals(fx.payload.bytes), "download", { user: user.index, id },
    { length: SIZE, bytes: "the uploaded payload" }, { length: bytes.length, equal: bytes.equals(fx.payload.bytes) });
});

export const filesLoadOps: Record<string, LoadOp> = { upload, download };
