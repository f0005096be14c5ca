"""The simulated OCPP 1.6J charge point, living in the simulated world."""
