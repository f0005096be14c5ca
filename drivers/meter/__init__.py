"""Reference energy meters (optional role `meter`): what the charger delivers, measured independently of it."""
