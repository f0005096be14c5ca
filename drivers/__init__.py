"""Drivers for the test gear around a charger. A driver never knows about OCPP or scenarios."""
