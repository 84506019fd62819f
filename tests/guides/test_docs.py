"""docs/guides.md keeps up with the code: every schema field and every mapped export key is documented."""

from __future__ import annotations

from pathlib import Path

import pytest

import guides
from guides import Fee, Material, MaterialCheck, Office, Service, Step, TimeLimit
from guides.importer import MAPPED_KEYS

DOC = (Path(__file__).resolve().parents[2] / "docs" / "guides.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("model", [Service, Material, MaterialCheck, Office, TimeLimit, Fee, Step])
def test_every_schema_field_is_documented(model):
    missing = [name for name in model.model_fields if f"`{name}`" not in DOC]
    assert missing == []


def test_every_mapped_export_key_is_documented():
    assert [key for key in sorted(MAPPED_KEYS) if f"`{key}`" not in DOC] == []


def test_every_public_name_is_documented():
    assert [name for name in guides.__all__ if name not in DOC] == []
