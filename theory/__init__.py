"""Symbolic, machine-checked derivations of the paper's results (one module per result).

Each module exposes ``DERIVATION`` (a `Derivation`: statement, assumptions, checked
steps) and ``build(...)``, whose keyword arguments replace the claimed expressions so
that deliberately wrong variants can be verified too. ``registry.all_derivations()``
lists them in a fixed order; ``python -m decdiff.theory`` verifies and prints them all.
"""

from decdiff.theory.derivation import Assumption, Derivation, Step, VerificationResult

__all__ = ["Assumption", "Derivation", "Step", "VerificationResult"]
