// Plain-JS model of a loaded dataset: what every op's result is checked against.
import type { Doc, Id } from "./library";

export class Model {
  /** uid -> document as the dataset file has it (no library id). */
  readonly docs = new Map<number, Doc>();
  /** uid -> id Collection Store assigned to the document. */
  readonly ids = new Map<number, Id>();
  readonly uids: number[] = [];
  /** field -> value -> number of documents; built on first use, then kept up to date. */
  private counters = new Map<string, Map<unknown, number>>();

  add(doc: Doc, id: Id): void {
    const uid = doc.uid as number;
    this.docs.set(uid, doc);
    this.ids.set(uid, id);
    this.uids.push(uid);
  }

  get size(): number {
    return this.uids.length;
  }

  maxUid(): number {
    return this.uids.reduce((m, u) => Math.max(m, u), -1);
  }

  set(uid: number, field: string, value: unknown): void {
    const doc = this.docs.get(uid)!;
    const counter = this.counters.get(field);
    if (counter) {
      counter.set(doc[field], counter.get(doc[field])! - 1);
      counter.set(value, (counter.get(value) ?? 0) + 1);
    }
    doc[field] = value;
  }

  private counter(field: string): Map<unknown, number> {
    let counter = this.counters.get(field);
    if (!counter) {
      counter = new Map();
      for (const doc of this.docs.values()) counter.set(doc[field], (counter.get(doc[field]) ?? 0) + 1);
      this.counters.set(field, counter);
    }
    return counter;
  }

  /** Distinct values of `field` seen so far, in ascending order. */
  values(field: string): unknown[] {
    return [...this.counter(field).keys()].sort((a, b) => (a as number) - (b as number));
  }

  count(field: string, value: unknown): number {
    return this.counter(field).get(value) ?? 0;
  }

  /** Documents with lo <= doc[field] < hi. */
  countRange(field: string, lo: number, hi: number): number {
    let n = 0;
    for (const [v, c] of this.counter(field)) if ((v as number) >= lo && (v as number) < hi) n += c;
    return n;
  }
}
