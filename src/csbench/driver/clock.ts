// The busy clock: cumulative nanoseconds spent inside timed Collection Store calls.
//
// A step times its library call inline, with nothing between the two readings but the call
// and its await, as a plain loop would (csbench crosscheck compares the two):
//   const t0 = clock.start();
//   const doc = await ds.collection.findById(id);
//   clock.stop(t0);
// A wrapper around the call (an async `time(() => call())`) would put its own frame and
// promise inside the timed region. A call that throws fails its op's batch, so its time is
// not needed: stop() is not in a finally.
// On request (`cpuTiming`, for paired batches) the clock also keeps the CPU time (every
// thread, process.cpuUsage) spent during the timed calls, read before the start and after
// the stop, so neither reading is in the busy time. Off by default: the system call before
// each op slows the op itself by several per cent at a few µs (csbench crosscheck).

export class BusyClock {
  /** Since the driver started; never decreases. */
  busyNs = 0;
  /** Timed nanoseconds of the op in progress (reset by the batch runner before each op). */
  opNs = 0;
  /** CPU nanoseconds during the timed calls of the op in progress (reset with opNs). */
  opCpuNs = 0;
  /** Whether start/stop also read the CPU time (set by the batch runner per batch). */
  cpuTiming = false;
  private cpu0 = 0;

  /** The start of a timed call. */
  start(): number {
    if (this.cpuTiming) this.cpu0 = cpuNs();
    return Bun.nanoseconds();
  }

  /** The end of the call timed from `t0`: its nanoseconds count for the op and the driver. */
  stop(t0: number): void {
    const dt = Bun.nanoseconds() - t0;
    if (this.cpuTiming) this.opCpuNs += cpuNs() - this.cpu0;
    this.opNs += dt;
    this.busyNs += dt;
  }
}

function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

export const clock = new BusyClock();
