// The `heap` request: the JavaScript heap after a full collection (bun:jsc heapStats), for
// csbench leaks, which compares it before and after N and 2N ops of a benchmark.
import { heapStats } from "bun:jsc";

export interface HeapFigures {
  heap_size: number;
  extra_memory: number;
  object_count: number;
  /** Live objects per JavaScriptCore type ("Object", "Array", "Promise", ...). */
  types: Record<string, number>;
  rss: number;
}

export function heapFigures(): HeapFigures {
  Bun.gc(true); // a full, synchronous collection: only what is still referenced is counted
  const stats = heapStats();
  return {
    heap_size: stats.heapSize,
    extra_memory: stats.extraMemorySize,
    object_count: stats.objectCount,
    types: { ...stats.objectTypeCounts },
    rss: process.memoryUsage.rss(),
  };
}
