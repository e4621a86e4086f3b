"""The pull-request guard and the history's second look: BASE against HEAD through asv with
per-benchmark factors (ci, compare), every time_ benchmark judged by paired A/B runs of
both trees alive at once (paired, settings), the A/A noise that sets each threshold
(calibrate), the guard's measured detection power per area (power), and the history's
listed regressions measured again (triage)."""
