"""The course assistant's actions (SPEC §5, seed 003 "L'Assistant Cours"): one module each; what
the course and curriculum assistants share is in _content.py."""
