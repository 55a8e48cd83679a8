"""The regression checker: which checks apply to a denoiser and running them (`registry`), the user-facing
front ends (`check_denoiser`, `testing.parametrize_with_checks`, the pytest plugin), margin baselines
(`baseline`) and the deliberately broken denoisers and models every check must catch (`mutation`).

Layout and data path: ARCHITECTURE.md.
"""
