"""Checks of the paper's claims that run on any denoiser and return `CheckResult`s."""
