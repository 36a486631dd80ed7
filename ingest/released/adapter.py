"""The adapter record: a dataset's provenance plus the function that reads its folder."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ingest.released.base import Frame
from kb.records import Dataset

ADAPTER_VERSION = "1"


@dataclass(frozen=True)
class Adapter:
    """How one folder of released scaling data becomes points.

    Attributes:
        name: the folder name, which is also the dataset name.
        arxiv_id, title: the paper the data belongs to.
        source_repo, source_commit, source_paths: where the original files are published,
            so that a user elsewhere can fetch them (this adapter reads the local copy).
        license: the source repository's license as the manifest states it.
        caveats: what a user must know before pooling or fitting these points.
        default_metric: the metric a law is usually fitted to for this dataset.
        read: folder -> frames, one per source file.
        skipped: files of the folder that give no points, with the reason.
    """

    name: str
    arxiv_id: str
    title: str
    source_repo: str
    source_commit: str | None
    source_paths: tuple[str, ...]
    license: str
    caveats: str
    default_metric: str
    read: Callable[[Path], list[Frame]]
    skipped: Mapping[str, str] = field(default_factory=dict)

    def dataset(self, folder: Path, n_points: int) -> Dataset:
        """The ``datasets`` row for this adapter read from ``folder``."""
        skipped = "".join(f"\nNot ingested: {f}: {why}" for f, why in self.skipped.items())
        return Dataset(
            name=self.name,
            arxiv_id=self.arxiv_id,
            paper_title=self.title,
            source_repo=self.source_repo,
            source_commit=self.source_commit,
            source_paths=list(self.source_paths),
            license=self.license,
            caveats=self.caveats + skipped,
            n_points=n_points,
            path=str(folder.resolve()),
            adapter_version=ADAPTER_VERSION,
        )
