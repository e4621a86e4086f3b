"""Concurrent users: load scenarios as data (scenarios), their runner on the Bun driver with
the profiler and the success criteria (runner), and the search for the most users within
the SLO (search). asv's load benchmarks import it at every commit, so it keeps measure's
line: stdlib, numpy, psutil, pyyaml and csbench.measure only."""
