"""Denoisers: the protocol, the exact reference, trained networks and adapters."""
