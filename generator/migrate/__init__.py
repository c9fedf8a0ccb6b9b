"""Migrations after the baseline: the planner, its safety lint, the migrations folder, and verify."""
