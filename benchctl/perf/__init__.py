"""Chapter 8 performance figures taken from a capture."""
