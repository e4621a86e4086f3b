"""What the suite shows: the one reader of stored asv results (results), the suite as asv
discovers it (suite), the plan's targets judged on them (targets), the published site
(site, site_check.mjs) and its triage page's file (triaged), the load report
(load_report), the host's effect on figures (machine), the clock self-check (agreement) and
the latency tracks beside a plain loop (crosscheck)."""
