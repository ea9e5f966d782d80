"""courses.modify-info (SPEC §5, seed 003 "Modifier les informations générales des cours"): set
the disabled status, provider and free texts of the selected courses."""

from django.utils.translation import gettext_lazy as _

from ._content import ContentInfo, info_params


class ModifyInfo(ContentInfo):
    target = "courses"
    verb = "modify-info"
    title = _("Modify general information")
    description = _(
        "Sets the given values on each selected course: `disabled`, `provider`, `free_text1`, "
        "`free_text2`. A key left out is not changed; null clears a free text. A course already "
        "so is `unchanged`."
    )
    params = info_params("courses")
    examples = [{"provider": "Acme Academy", "free_text1": "Reviewed in 2026", "free_text2": None}]
    example_selection = {"ids": ["ETH-101", "SAFE-101"]}
