"""Roster imports (ASN and workers) from XLSX or CSV: preview → confirm, never half-imported.

readers (file, columns, header, limits) → validators (rows → problems) → appliers (people services);
batches holds the services the API and web pages call, templates the blank files to fill in.
"""

from .batches import (
    import_apply_queued,
    import_applying_sweep,
    import_confirm,
    import_confirm_request,
    import_discard,
    import_preview,
    import_progress,
)
from .readers import COLUMNS, FileProblem, upload_content
from .templates import template_csv, template_xlsx

__all__ = [
    "COLUMNS",
    "FileProblem",
    "import_apply_queued",
    "import_applying_sweep",
    "import_confirm",
    "import_confirm_request",
    "import_progress",
    "import_discard",
    "import_preview",
    "template_csv",
    "template_xlsx",
    "upload_content",
]
