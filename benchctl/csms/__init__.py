"""benchctl's own Central System (standalone mode): serves OCPP 1.6J, answers the charger, sends tool requests."""
