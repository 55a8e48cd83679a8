"""Tabular Dec-POMDPs, exact posteriors, denoisers and their dynamics."""
