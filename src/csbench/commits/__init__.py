"""The commits of Collection Store and the machines that measure them: the one git helper
(git), asv's configuration and machine registration (asvconf, hardware), a built commit
outside asv (checkout), the build report of every commit (builds), a repaired local
mirror (mirror), a commit's twin for A/A runs (twin) and the user's repository setting
(config)."""
