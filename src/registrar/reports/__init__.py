"""The completion figures of SPEC §9: one query layer for the command line, the API and the
dashboard."""
