"""hil_sim: a simulated charging station and simulated test gear, speaking the real wire protocols."""
