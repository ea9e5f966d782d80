"""Words the templates translate from variables ({% translate name %}), listed so makemessages finds them."""

from django.utils.translation import gettext_noop

# Result counts (job and operation pages) and the operation's files.
RESULT_NAMES = [
    gettext_noop("rows"),
    gettext_noop("created"),
    gettext_noop("updated"),
    gettext_noop("deleted"),
    gettext_noop("unchanged"),
    gettext_noop("skipped"),
    gettext_noop("rejected"),
    gettext_noop("warnings"),
    gettext_noop("results"),
    gettext_noop("rejects"),
    gettext_noop("log"),
]

# Operation.Status labels (op.get_status_display).
STATUS_LABELS = [
    gettext_noop("running"),
    gettext_noop("done"),
    gettext_noop("verified (nothing written)"),
    gettext_noop("aborted (nothing written)"),
    gettext_noop("failed"),
]

# The groups of the imports page (portal.views.DOMAIN_TITLES, translated there with _(title)).
DOMAIN_TITLES = [
    gettext_noop("Organisations and people"),
    gettext_noop("Catalogue"),
    gettext_noop("Learning records"),
]
