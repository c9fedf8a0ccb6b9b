"""Emitters: one module per target, each `render(ir) -> {relative_path: text}`, pure and deterministic."""
