// csbench driver: `bun main.ts --target ROOT` answers PROTOCOL.md requests on stdin/stdout.
import { authAdapter } from "./auth";
import { clock } from "./clock";
import { computedAdapter } from "./computed";
import { coreAdapter } from "./core";
import { type Dataset, loadDataset, removeTempRoots } from "./dataset";
import { detectLayout } from "./era";
import { filesAdapter } from "./files";
import { functionsAdapter } from "./functions";
import { heapFigures } from "./heap";
import { Histogram } from "./histogram";
import { runLoad } from "./load";
import { authLoadOps } from "./load_auth";
import { computedLoadOps } from "./load_computed";
import { coreLoadOps } from "./load_core";
import { filesLoadOps } from "./load_files";
import { functionsLoadOps } from "./load_functions";
import { availableLoadOps, registerLoadOps } from "./load_ops";
import { type Library, loadLibrary } from "./library";
import { machineAdapter } from "./machine";
import { plainLoop } from "./plain";
import { availableOps, detectAreaCapabilities, registerAdapter, runBatch } from "./ops";
import {
  type Args, type Request, parseRequest, redirectConsoleToStderr, replyError, replyOk, replyProgress, stdinLines, usage,
} from "./protocol";
import { detect as detectLoadRealtime, realtimeLoadOps } from "./load_realtime";
import { realtimeAdapter } from "./realtime";
import { walAdapter } from "./wal";

redirectConsoleToStderr();
registerAdapter(coreAdapter);
registerAdapter(authAdapter);
registerAdapter(walAdapter);
registerAdapter(realtimeAdapter);
registerAdapter(filesAdapter);
registerAdapter(computedAdapter);
registerAdapter(functionsAdapter);
registerAdapter(machineAdapter);
registerAdapter({ area: "load_realtime", ops: {}, detect: detectLoadRealtime }); // realtime_cross_tab
for (const ops of [coreLoadOps, authLoadOps, realtimeLoadOps, filesLoadOps, computedLoadOps, functionsLoadOps]) {
  registerLoadOps(ops);
}

function targetArg(argv: string[]): string {
  const i = argv.indexOf("--target");
  if (i < 0 || !argv[i + 1]) {
    process.stderr.write("usage: bun main.ts --target ROOT\n");
    process.exit(2);
  }
  return argv[i + 1]!;
}

function exit(code: number): never {
  removeTempRoots();
  process.exit(code);
}

/** The library, or why it is unusable (then every op but hist_selftest and close fails with that). */
async function openLibrary(root: string): Promise<{ library: Library } | { error: unknown }> {
  try {
    const library = await loadLibrary(detectLayout(root));
    await detectAreaCapabilities(library);
    return { library };
  } catch (error) {
    return { error };
  }
}

function selftest(args: Args): ReturnType<Histogram["summary"]> {
  if (!Array.isArray(args.values)) throw usage('"values" must be a list of integer nanoseconds');
  const hist = new Histogram();
  for (const v of args.values) {
    if (!Number.isSafeInteger(v) || v < 0) throw usage(`histogram value must be an integer >= 0, got ${v}`);
    hist.record(v);
  }
  return hist.summary();
}

const opened = await openLibrary(targetArg(process.argv));
const datasets = new Map<string, Dataset>();

function library(): Library {
  if ("error" in opened) throw opened.error;
  return opened.library;
}

async function handle(req: Request): Promise<unknown> {
  switch (req.op) {
    case "probe": {
      const { layout, caps } = library();
      return {
        era: layout.era,
        entry: layout.entryRelative,
        package_version: layout.packageVersion,
        bun: Bun.version,
        capabilities: caps,
        ops: availableOps(caps),
        load_ops: availableLoadOps(caps),
      };
    }
    case "load": {
      const { dataset, loadNs } = await loadDataset(library(), req.args);
      datasets.set(dataset.handle, dataset);
      return { count: dataset.model.size, load_ns: loadNs };
    }
    case "run":
      return runBatch(library(), datasets, req.args);
    case "load_run":
      return runLoad(library(), datasets, req.args, (progress) => replyProgress(req.id, progress));
    case "plain":
      return plainLoop(datasets, req.args);
    case "hist_selftest":
      return selftest(req.args);
    case "heap":
      return heapFigures();
    case "close":
      return {};
    default:
      throw usage(`unknown op "${req.op}"`);
  }
}

// A stray rejection inside the library must not kill the driver; it is logged.
process.on("unhandledRejection", (reason) => console.error("unhandled rejection:", reason));

for await (const line of stdinLines()) {
  let req: Request = { id: null, op: "", args: {} };
  try {
    req = parseRequest(line);
    const result = await handle(req);
    replyOk(req.id, clock.busyNs, result);
  } catch (err) {
    replyError(req.id, clock.busyNs, err);
  }
  if (req.op === "close") exit(0);
}
exit(0);
