"""Software gear: the benchs gear played by a firmwares simulation API (HTTP, MQTT) or by its process."""
