"""What the suite shows: the one reader of stored asv results (results), the plan's targets
judged on them (targets), the published site (site, site_check.mjs), the load report
(load_report), the host's effect on figures (machine) and the clock self-check
(agreement)."""
