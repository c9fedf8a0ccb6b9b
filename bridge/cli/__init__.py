"""The runtime's commands (`specgen sync`, `specgen webhooks`, `specgen dashboard`), mounted by specgen.cli."""
