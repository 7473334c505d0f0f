"""Import of events and reference data from CSV, Excel (.xlsx) and JSON Lines files, and what happens
to an event dataset afterwards (corrected, withdrawn).

:func:`import_file` is the one entry point (the CLI's ``rulesvc import`` and the API use it). A file
lands whole or not at all; the same data imported twice is recognised by its content hash; an event id
is counted once (a file repeating counted ids is refused unless it corrects their dataset).
:func:`withdraw_dataset` takes an event dataset out of use; :func:`list_datasets` shows each with its
status.
"""

from __future__ import annotations

from rulesvc.services.importing.columns import KINDS, SPECS, detect_kind
from rulesvc.services.importing.common import MAX_ERRORS, Limits, Progress
from rulesvc.services.importing.datasets import (
    DatasetInfo,
    Withdrawal,
    list_datasets,
    resolve_dataset,
    withdraw_dataset,
)
from rulesvc.services.importing.readers import READERS, Reader, reader_for
from rulesvc.services.importing.service import ImportResult, import_file

__all__ = [
    "KINDS",
    "MAX_ERRORS",
    "READERS",
    "SPECS",
    "DatasetInfo",
    "ImportResult",
    "Limits",
    "Progress",
    "Reader",
    "Withdrawal",
    "detect_kind",
    "import_file",
    "list_datasets",
    "reader_for",
    "resolve_dataset",
    "withdraw_dataset",
]
