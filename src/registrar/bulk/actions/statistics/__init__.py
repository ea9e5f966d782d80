"""The statistics assistant's action (SPEC §5, seed 003): one user, one course, one lesson."""
