"""The user assistant's actions (SPEC §5, seed 003): one module each."""
