"""Digital outputs (relays) and the power-style switches built on them."""
