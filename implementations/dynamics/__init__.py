"""Dynamics of denoisers: flows (Eqs. 6-7, Definition 6), Jacobians (Eq. 9), fixed points
(Eq. 11) and, for the exact denoiser, certified fixed points and critical noise levels."""
