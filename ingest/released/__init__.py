"""Released scaling data: one adapter per folder of ``../shared/datasets``.

``find_dataset_folders(path)`` finds folders holding a MANIFEST.md; ``ingest_datasets(store,
folders)`` reads each with the adapter named like the folder and replaces that dataset's points
(inside the caller's transaction). ``ADAPTERS`` maps dataset name -> :class:`Adapter`.
"""

from __future__ import annotations

from ingest.released.adapter import ADAPTER_VERSION, Adapter
from ingest.released.benchmarks import CHERTI, RUAN
from ingest.released.collections import BHAGIA, CHOSHEN
from ingest.released.ingest import (
    DEFAULT_METRIC_KEY,
    DIGEST_KEY,
    DatasetReport,
    find_dataset_folders,
    folder_digest,
    ingest_datasets,
)
from ingest.released.lm import CABALLERO, EPOCH_CHINCHILLA, MISFITTING, PORIAN, STEPLAW
from ingest.released.repeat import DATABLATIONS, GADRE

__all__ = [
    "ADAPTERS",
    "ADAPTER_VERSION",
    "DEFAULT_METRIC_KEY",
    "DIGEST_KEY",
    "Adapter",
    "DatasetReport",
    "find_dataset_folders",
    "folder_digest",
    "ingest_datasets",
]

ADAPTERS: dict[str, Adapter] = {
    a.name: a
    for a in (
        EPOCH_CHINCHILLA, CABALLERO, MISFITTING, STEPLAW, PORIAN, DATABLATIONS, GADRE, CHERTI,
        RUAN, CHOSHEN, BHAGIA,
    )
}  # fmt: skip
