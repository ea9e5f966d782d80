"""The merge and transfer steps (SPEC §7, §8), by name: steps with a small source of their own
(the plan of moving one user's rows to another, or the completers of a content)."""

from .merge import MergeUsers, TransferUser
from .transfer import TransferContent

MOVES = {s.name: s for s in (MergeUsers(), TransferUser(), TransferContent())}
