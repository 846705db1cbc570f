"""lnopt: explainable channel scoring and safe fee management for Lightning nodes."""

__version__ = "0.1.0"
