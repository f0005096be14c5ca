"""A bench: the gear around one charger, bound to roles, and the actions built from those roles."""
