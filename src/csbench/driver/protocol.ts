// JSON-lines wire format (PROTOCOL.md): stdin requests, exactly one stdout line per reply.
import { writeSync } from "node:fs";
import { Console } from "node:console";

export type ErrorType = "check" | "unsupported" | "usage" | "exception";
export type Args = Record<string, unknown>;

export interface Request {
  id: number | null;
  op: string;
  args: Args;
}

/** A failure the driver itself diagnoses (anything else thrown is an "exception"). */
export class DriverError extends Error {
  constructor(
    readonly type: Exclude<ErrorType, "exception">,
    message: string,
    readonly detail?: Record<string, unknown>,
    /** Stack of the library exception behind this error, if any. */
    readonly causeStack: string | null = null,
  ) {
    super(message);
  }
}

export function usage(message: string): DriverError {
  return new DriverError("usage", message);
}

/** Collection Store logs through console.* and may write to process.stdout: send all of it to stderr. */
export function redirectConsoleToStderr(): void {
  const toStderr = new Console({ stdout: process.stderr, stderr: process.stderr });
  const target = console as unknown as Record<string, unknown>;
  for (const key of Object.keys(Console.prototype)) {
    const method = (toStderr as unknown as Record<string, unknown>)[key];
    if (typeof method === "function") target[key] = method.bind(toStderr);
  }
  // Bun's own console.write also goes to stdout.
  target.write = (...chunks: string[]) => process.stderr.write(chunks.join(""));
  process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
}

/**
 * Write one reply line to fd 1 directly (process.stdout is redirected). The pipe is
 * non-blocking: a reply larger than its buffer (a load run's profile) meets EAGAIN
 * until the reader catches up, and waits for it.
 */
function writeLine(obj: unknown): void {
  const bytes = new TextEncoder().encode(JSON.stringify(obj) + "\n");
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off, bytes.length - off);
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN") throw err;
      Bun.sleepSync(1);
    }
  }
}

export function replyOk(id: number | null, busyNs: number, result: unknown): void {
  writeLine({ id, ok: true, busy_ns: busyNs, result });
}

/** An interim line of a long request (load_run): the reply to `id` is still to come. */
export function replyProgress(id: number | null, progress: unknown): void {
  writeLine({ id, progress });
}

export function replyError(id: number | null, busyNs: number, err: unknown): void {
  const error =
    err instanceof DriverError
      ? { type: err.type, message: err.message, stack: err.causeStack, ...(err.detail ?? {}) }
      : err instanceof Error
        ? { type: "exception", message: err.message, stack: err.stack ?? null }
        : { type: "exception", message: String(err), stack: null };
  writeLine({ id, ok: false, busy_ns: busyNs, error });
}

export function parseRequest(line: string): Request {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    throw usage(`request is not JSON: ${line.slice(0, 200)}`);
  }
  if (typeof obj !== "object" || obj === null) throw usage("request must be a JSON object");
  const { id = null, op, args = {} } = obj as Record<string, unknown>;
  if (typeof op !== "string") throw usage('request needs a string "op"');
  if (typeof args !== "object" || args === null) throw usage('"args" must be an object');
  return { id: typeof id === "number" ? id : null, op, args: args as Args };
}

/** Non-empty stdin lines, one at a time, until EOF. */
export async function* stdinLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of Bun.stdin.stream()) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) yield line;
    }
  }
  const rest = (buffer + decoder.decode()).trim();
  if (rest) yield rest;
}

// Typed accessors for request args.
export function argString(args: Args, key: string, fallback?: string): string {
  const v = args[key] ?? fallback;
  if (typeof v !== "string") throw usage(`arg "${key}" must be a string`);
  return v;
}

export function argInt(args: Args, key: string, fallback?: number): number {
  const v = args[key] ?? fallback;
  if (typeof v !== "number" || !Number.isInteger(v)) throw usage(`arg "${key}" must be an integer`);
  return v;
}

export function argNumberOrNull(args: Args, key: string): number | null {
  const v = args[key] ?? null;
  if (v !== null && typeof v !== "number") throw usage(`arg "${key}" must be a number or null`);
  return v;
}
