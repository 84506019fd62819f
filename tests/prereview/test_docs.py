from pathlib import Path

from prereview.report import FindingCode
from prereview.settings import PrereviewSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "prereview.md"
ANALYSIS_SETTINGS_START = "ocr_engine"


def test_every_finding_code_is_documented():
    text = DOC.read_text(encoding="utf-8")
    missing = [code.value for code in FindingCode if f"`{code.value}`" not in text]
    assert missing == []


def test_every_analysis_setting_is_documented():
    text = DOC.read_text(encoding="utf-8")
    names = list(PrereviewSettings.model_fields)
    analysis = names[names.index(ANALYSIS_SETTINGS_START):]
    assert [name for name in analysis if f"`{name}`" not in text] == []
