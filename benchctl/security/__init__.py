"""Security extension helpers: the test PKI of a run."""
