"""Experiments: one run, the replication engine, ensembles, calibration, validation, sensitivity and discovery."""
