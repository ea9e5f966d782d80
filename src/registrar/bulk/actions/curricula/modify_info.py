"""curricula.modify-info (SPEC §5, seed 003 "Modifier les informations générales des parcours"):
set the disabled status and free texts of the selected curricula."""

from django.utils.translation import gettext_lazy as _

from ..courses._content import ContentInfo, info_params


class ModifyInfo(ContentInfo):
    target = "curricula"
    verb = "modify-info"
    title = _("Modify general information")
    description = _(
        "Sets the given values on each selected curriculum: `disabled`, `free_text1`, "
        "`free_text2`. A key left out is not changed; null clears a free text. A curriculum "
        "already so is `unchanged`."
    )
    params = info_params("curricula")
    item_fields = ("disabled", "free_text1", "free_text2", "op")
    example_selection = {"ids": ["CUR-SAFETY", "CUR-DATA"]}
