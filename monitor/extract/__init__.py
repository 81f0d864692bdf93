"""Pure extractors: each takes text or structured values and returns domain values."""
