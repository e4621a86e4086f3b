// Where Collection Store lives in ROOT and which API era it belongs to (COLLECTION_STORE.md).
import { existsSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { DriverError } from "./protocol";

export type Era = "package-root" | "async-2023" | "flat-2025" | "core-2025";

export interface Layout {
  root: string;
  era: Era;
  /** The package directory holding src/ (ROOT, or ROOT/packages/collection-store). */
  packageDir: string;
  /** Absolute path of the entry module (src/index.ts). */
  entry: string;
  /** Entry relative to ROOT, as reported by probe. */
  entryRelative: string;
  packageVersion: string | null;
}

function readPackageJson(dir: string): Record<string, unknown> | null {
  const file = join(dir, "package.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>) : null;
}

function layout(root: string, packageDir: string, era: Era): Layout {
  const entry = join(packageDir, "src", "index.ts");
  const version = readPackageJson(packageDir)?.version;
  return {
    root,
    era,
    packageDir,
    entry,
    entryRelative: relative(root, entry),
    packageVersion: typeof version === "string" ? version : null,
  };
}

export function detectLayout(rootArg: string): Layout {
  const root = resolve(rootArg);
  if (readPackageJson(root)?.name === "collection-store" && existsSync(join(root, "src", "index.ts"))) {
    return layout(root, root, "package-root");
  }
  const pkg = join(root, "packages", "collection-store");
  const src = join(pkg, "src");
  if (existsSync(join(src, "index.ts"))) {
    if (existsSync(join(src, "core", "Database.ts"))) return layout(root, pkg, "core-2025");
    if (existsSync(join(src, "collection.ts")) && existsSync(join(src, "CSDatabase.ts"))) return layout(root, pkg, "flat-2025");
    if (existsSync(join(src, "async", "collection.ts"))) return layout(root, pkg, "async-2023");
  }
  throw new DriverError("unsupported", `no known Collection Store layout under ${root}`);
}
