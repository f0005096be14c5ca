"""RFID card presenters: put a card with a given UID in front of the charger's reader, and take it away."""
