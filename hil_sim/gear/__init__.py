"""Simulated test gear: servers that speak the real instruments' wire protocols over the shared World."""
