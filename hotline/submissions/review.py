"""The pre-review engine behind a small Protocol: prereview's pipeline, and a deterministic fake."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import cv2

from guides import Service
from prereview import Finding, FindingCode, MaterialResult, Report
from prereview.checks.identifiers import check_id_number, check_uscc
from prereview.intake import intake_file
from prereview.settings import PrereviewSettings

EVIDENCE_JPEG_QUALITY = 80


class ReviewerUnavailableError(RuntimeError):
    """The pre-review pipeline cannot be built in this process (package or OCR models missing)."""


@dataclass(frozen=True)
class Progress:
    """How far the review is: ``stage`` (intake, quality, ocr, …) and pages done of total in that stage."""

    stage: str
    done: int
    total: int


@dataclass
class PageImage:
    """A JPEG of one analysed page; ``width``/``height`` are the pixel space its finding boxes use."""

    file: str
    page: int
    width: int
    height: int
    jpeg: bytes


@dataclass
class ReviewOutcome:
    """The report and the page images its boxes refer to."""

    report: Report
    pages: list[PageImage] = field(default_factory=list)


ProgressCallback = Callable[[Progress], None]


@runtime_checkable
class Reviewer(Protocol):
    """Checks the files of one application against its service."""

    name: str

    def review(
        self,
        *,
        service: Service,
        files: Sequence[tuple[str, bytes]],
        form: dict[str, Any],
        facts: dict[str, Any],
        application_date: dt.date,
        on_progress: ProgressCallback | None = None,
    ) -> ReviewOutcome:
        """The report for ``service`` and the analysed page images."""
        ...


def _default_pipeline() -> Any:
    try:
        from prereview.pipeline import Pipeline
    except ImportError as exc:
        raise ReviewerUnavailableError(f"prereview pipeline unavailable: {exc}") from exc
    try:
        return Pipeline.create(settings=PrereviewSettings(), ocr=None)
    except (ImportError, RuntimeError, ValueError) as exc:
        raise ReviewerUnavailableError(f"prereview pipeline unavailable: {exc}") from exc


class PipelineReviewer:
    """prereview's pipeline (quality gate, OCR, matching, checks), built on first use and reused by every job.

    ``factory`` builds the pipeline (default: ``Pipeline.create`` with ``PREREVIEW_*`` settings and the
    configured OCR engine); it raises ``ReviewerUnavailableError`` when that cannot work here.
    """

    name = "prereview"

    def __init__(self, factory: Callable[[], Any] | None = None) -> None:
        self.factory = factory or _default_pipeline
        self._pipeline: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        with self._lock:
            if self._pipeline is None:
                self._pipeline = self.factory()
            return self._pipeline

    def review(
        self,
        *,
        service: Service,
        files: Sequence[tuple[str, bytes]],
        form: dict[str, Any],
        facts: dict[str, Any],
        application_date: dt.date,
        on_progress: ProgressCallback | None = None,
    ) -> ReviewOutcome:
        """Run the pipeline; page sizes come from the report's page summaries."""
        hook = None
        if on_progress is not None:
            def hook(event: Any) -> None:
                on_progress(Progress(stage=event.stage, done=event.done, total=event.total))

        analysis = self._get().analyse(
            service=service, files=list(files), form=form, facts=facts, application_date=application_date,
            on_page=hook,
        )
        report: Report = analysis.report
        sizes = {
            (summary["file"], summary["page"]): summary.get("image_size")
            for summary in report.fields.get("pages", [])
        }
        pages = []
        for (name, number), jpeg in analysis.page_images.items():
            size = sizes.get((name, number))
            if size:
                pages.append(PageImage(file=name, page=number, width=int(size[0]), height=int(size[1]), jpeg=jpeg))
        return ReviewOutcome(report=report, pages=pages)


def decoded_pages(files: Sequence[tuple[str, bytes]], settings: PrereviewSettings, max_side_px: int) -> list[PageImage]:
    """Every page of the files as a JPEG (longest side at most ``max_side_px``), sized in decoded pixels."""
    pages = []
    for name, data in files:
        for page in intake_file(name=name, data=data, settings=settings).pages:
            if page.image is None:
                continue
            height, width = page.image.shape[:2]
            scale = min(1.0, max_side_px / max(width, height))
            image = page.image
            if scale < 1.0:
                image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
            ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, EVIDENCE_JPEG_QUALITY])
            if ok:
                pages.append(PageImage(file=name, page=page.number, width=width, height=height, jpeg=encoded.tobytes()))
    return pages


class FakeReviewer:
    """Deterministic stand-in: file *n* is taken as required material *n*, form numbers get check digits checked.

    ``extra_findings`` are appended to every report (tests use them to raise boxes and low confidence).
    """

    name = "fake"

    def __init__(self, extra_findings: Sequence[Finding] = (), *, max_side_px: int = 1000) -> None:
        self.extra_findings = list(extra_findings)
        self.max_side_px = max_side_px

    def review(
        self,
        *,
        service: Service,
        files: Sequence[tuple[str, bytes]],
        form: dict[str, Any],
        facts: dict[str, Any],
        application_date: dt.date,
        on_progress: ProgressCallback | None = None,
    ) -> ReviewOutcome:
        """A report from the order of the files and the form's identifiers."""
        pages = decoded_pages(files, PrereviewSettings(), self.max_side_px)
        if on_progress is not None:
            on_progress(Progress(stage="intake", done=len(pages), total=len(pages)))
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
        report = Report(
            service=service.code, service_version=service.version, verdict=verdict,  # type: ignore[arg-type]
            materials=materials, findings=findings, fields={}, timings_ms={"total": 0.0},
        )
        return ReviewOutcome(report=report, pages=pages)
