"""The sync engine: adapters, conflicts, pull, push, event processor, reaper, worker."""
