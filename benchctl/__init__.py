"""benchctl: run the OCA OCPP 1.6J test cases against a charger on a bench, with no tester at the bench."""

__version__ = "0.1.0"
