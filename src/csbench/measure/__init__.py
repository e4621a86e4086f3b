"""What asv's environment imports at every commit under test: the Bun driver's Python end
(bridge, bun), the tree under test (tree), the per-commit build asv runs (build), core ops
and their datasets (coreops, datagen), the one way a benchmark prepares an op (sessions),
the latency tracks' runs (latency), two trees measured side by side (pairs) and the
history's reference (reference), the latency histogram and the driver-process profiler,
and the small helpers they share (paths, procs, atomic, yamlfile, errors).
Stdlib, numpy, psutil and pyyaml only: never asv, the CLI or another csbench package
(tests/test_layout.py holds that line)."""
