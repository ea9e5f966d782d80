"""The import kinds, by name."""

from .catalogue import Catalogue
from .completions import Completions
from .organisations import Organisations
from .users import Users

KINDS = {k.name: k for k in (Organisations(), Users(), Catalogue(), Completions())}
