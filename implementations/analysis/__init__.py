"""Analyses of trained denoisers: Jacobian rank and fixed-point sensitivity (Eqs. 13-14,
Theorem 5, Corollary 5.1, Finding 3) and the surrogate regression (Definition 5, Eqs. 15
and 17, Theorem 6)."""
