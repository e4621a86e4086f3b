// The busy clock: cumulative nanoseconds spent inside timed Collection Store calls.

export class BusyClock {
  /** Since the driver started; never decreases. */
  busyNs = 0;
  /** Timed nanoseconds of the op in progress (reset by the batch runner before each op). */
  opNs = 0;

  /** Await `call` with Bun.nanoseconds() around it only; the time counts even if it throws. */
  async time<T>(call: () => Promise<T> | T): Promise<T> {
    const t0 = Bun.nanoseconds();
    try {
      return await call();
    } finally {
      const dt = Bun.nanoseconds() - t0;
      this.opNs += dt;
      this.busyNs += dt;
    }
  }
}

export const clock = new BusyClock();
