"""Scenarios: one YAML file per test case, loaded, validated and executed step by step."""
