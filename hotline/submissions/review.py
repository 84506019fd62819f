"""The pre-review engine behind a small Protocol: the real prereview pipeline, and a deterministic fake."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from guides import Service
from prereview import Finding, FindingCode, MaterialResult, Report
from prereview.checks.identifiers import check_id_number, check_uscc


class ReviewerUnavailableError(RuntimeError):
    """The pre-review pipeline cannot be built in this process."""


@runtime_checkable
class Reviewer(Protocol):
    """Checks the files of one application against its service and returns the report."""

    name: str

    def check(
        self,
        *,
        service: Service,
        files: Sequence[tuple[str, bytes]],
        form: dict[str, Any],
        facts: dict[str, Any],
        application_date: dt.date,
    ) -> Report:
        """The pre-review report of these files for ``service``."""
        ...


class PipelineReviewer:
    """prereview's pipeline (quality gate, OCR, matching, checks), built on first use and then reused."""

    name = "prereview"

    def __init__(self) -> None:
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._pipeline is None:
                import prereview
                from prereview.settings import PrereviewSettings

                pipeline_class = getattr(prereview, "Pipeline", None)
                if pipeline_class is None:
                    raise ReviewerUnavailableError("prereview.Pipeline is not available in this installation")
                self._pipeline = pipeline_class.create(settings=PrereviewSettings(), ocr=None)
            return self._pipeline

    def check(
        self,
        *,
        service: Service,
        files: Sequence[tuple[str, bytes]],
        form: dict[str, Any],
        facts: dict[str, Any],
        application_date: dt.date,
    ) -> Report:
        """Run the pipeline."""
        report: Report = self._get().check(
            service=service, files=list(files), form=form, facts=facts, application_date=application_date
        )
        return report


class FakeReviewer:
    """Deterministic stand-in: file *n* is taken as required material *n*, form numbers get check digits checked.

    ``extra_findings`` are appended to every report (tests use them to raise boxes and low confidence).
    """

    name = "fake"

    def __init__(self, extra_findings: Sequence[Finding] = ()) -> None:
        self.extra_findings = list(extra_findings)

    def check(
        self,
        *,
        service: Service,
        files: Sequence[tuple[str, bytes]],
        form: dict[str, Any],
        facts: dict[str, Any],
        application_date: dt.date,
    ) -> Report:
        """A report from the order of the files and the form's identifiers."""
        needed = service.required_materials(dict(facts))
        materials: list[MaterialResult] = []
        findings: list[Finding] = []
        for index, material in enumerate(needed):
            if index < len(files):
                materials.append(MaterialResult(material=material.id, status="ok", pages=[(files[index][0], 1)]))
            else:
                materials.append(MaterialResult(material=material.id, status="missing"))
                findings.append(Finding(
                    code=FindingCode.material_missing, severity="blocking", material=material.id,
                    message=f"缺少材料：{material.name}。请补充上传。", detail=f"no file for material {material.id}",
                ))
        first_file = files[0][0] if files else None
        id_number = str(form.get("id_number") or "")
        if id_number:
            problem = check_id_number(id_number).problem
            if problem:
                findings.append(Finding(
                    code=FindingCode.id_number_invalid, severity="blocking", file=first_file, page=1,
                    material=needed[0].id if needed else None,
                    message=f"身份证号码有误：{problem}。请核对后重新填写。", detail="form id_number failed validation",
                ))
        uscc = str(form.get("uscc") or "")
        if uscc:
            problem = check_uscc(uscc)
            if problem:
                findings.append(Finding(
                    code=FindingCode.uscc_invalid, severity="blocking", file=first_file,
                    message=f"统一社会信用代码有误：{problem}。", detail="form uscc failed validation",
                ))
        findings.extend(self.extra_findings)
        if any(f.severity == "blocking" for f in findings):
            verdict = "needs_fix"
        elif any(f.severity == "warning" for f in findings):
            verdict = "needs_review"
        else:
            verdict = "pass"
        return Report(
            service=service.code, service_version=service.version, verdict=verdict,  # type: ignore[arg-type]
            materials=materials, findings=findings, fields={}, timings_ms={"total": 0.0},
        )
