"""What the rooms above the store (jobs, records, live) work with: the settings, the database
and the record signer. The HTTP app's ``Services`` is one; a worker or a test can be another."""

from __future__ import annotations

from typing import Protocol

from api.store.db import Store
from api.store.integrity import Signer
from pipelines.core.settings import Settings


class Storage(Protocol):
    """The settings, the database and the signer that seals what is written to it."""

    @property
    def settings(self) -> Settings: ...

    @property
    def store(self) -> Store: ...

    @property
    def signer(self) -> Signer: ...
