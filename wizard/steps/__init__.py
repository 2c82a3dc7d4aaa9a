"""One module per step of a setup. Each step: refresh (read Azure) -> plan -> apply (idempotent) -> record."""
