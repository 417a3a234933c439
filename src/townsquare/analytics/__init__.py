"""Measure: posts, metric snapshots, importers, the KPI engine, best time, formats."""
