"""Follow mode: a scenario judged on observed traffic, with another Central System (the official tool) in charge."""
