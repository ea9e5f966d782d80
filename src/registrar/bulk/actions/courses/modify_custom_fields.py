"""courses.modify-custom-fields (SPEC §5, seed 003 "Modifier les champs personnalisés standards
des cours"): set custom fields 1–10 of the selected courses."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentCustom


class ModifyCustomFields(ContentCustom):
    target = "courses"
    verb = "modify-custom-fields"
    title = _("Modify custom fields")
    description = _(
        "Sets the given custom fields (`custom1`…`custom10`) of each selected course; a key left "
        "out is not changed, null clears it. A course already so is `unchanged`."
    )
    example_selection = {"ids": ["ETH-101", "SAFE-101"]}
