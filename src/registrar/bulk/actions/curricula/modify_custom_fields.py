"""curricula.modify-custom-fields (SPEC §5, seed 003 "Modifier les champs personnalisés standards
des parcours"): set custom fields 1–10 of the selected curricula."""

from django.utils.translation import gettext_lazy as _

from ..courses._content import ContentCustom


class ModifyCustomFields(ContentCustom):
    target = "curricula"
    verb = "modify-custom-fields"
    title = _("Modify custom fields")
    description = _(
        "Sets the given custom fields (`custom1`…`custom10`) of each selected curriculum; a key "
        "left out is not changed, null clears it. A curriculum already so is `unchanged`."
    )
    example_selection = {"ids": ["CUR-SAFETY", "CUR-DATA"]}
