"""Backends: how lnopt reads a node and changes its fees (see ``base.Backend``)."""
