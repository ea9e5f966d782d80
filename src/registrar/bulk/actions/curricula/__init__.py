"""The curriculum assistant's actions (SPEC §5, seed 003 "L'Assistant Parcours"): one module
each, built on the course assistant's shared pieces (courses/_content.py)."""
