"""The pull-request guard: BASE against HEAD through asv with per-benchmark factors (ci,
compare), paired A/B runs of both trees alive at once (paired, settings), the A/A noise
that sets each factor (calibrate), and the guard's measured detection power (power)."""
