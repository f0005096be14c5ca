"""A run: its directory, the per-case result records and the summary."""
