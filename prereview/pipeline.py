"""The pre-review pipeline: an ordered list of steps over one application, each able to stop the run."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from guides import CrossCheckField, DocumentType, Material, Service
from prereview.checks.document import check_page_fields, check_validity
from prereview.checks.materials import PageValues, cross_check, page_value
from prereview.classify import Classification, classify_page
from prereview.extract.fields import canonical_fields, extract_fields
from prereview.intake import intake_file, warm_pdf_pool
from prereview.ocr import CachedOcrEngine, OcrEngine, PaddleOcrEngine, RapidOcrEngine
from prereview.pages import Page, TextLine
from prereview.quality import QualityResult, QualityThresholds, check_quality, deskew
from prereview.report import Finding, FindingCode, MaterialResult, Report
from prereview.seals import check_signatures, find_seals, name_similarity, read_seal_text
from prereview.settings import PrereviewSettings

logger = logging.getLogger(__name__)

MIN_ORIENTATION_CONFIDENCE = 0.8
SEAL_NAME_MIN_SIMILARITY = 0.85  # one misread character in a 7+ character name still matches
SEAL_AUTHORITY_MIN_SIMILARITY = 0.6
SEAL_AUTHORITY_WORDS = ("市场监督管理局", "工商行政管理局", "行政审批局")


@dataclass(frozen=True)
class PageProgress:
    """Progress of one page through one stage, for a progress bar."""

    file: str
    page: int
    stage: str
    done: int
    total: int


ProgressHook = Callable[[PageProgress], None]


@dataclass
class PageState:
    """Everything the pipeline learns about one page."""

    page: Page
    image: np.ndarray | None
    quality: QualityResult | None = None
    skipped: bool = False
    rotation_deg: int = 0
    lines: list[TextLine] = field(default_factory=list)
    classification: Classification | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    canonical: dict[str, str] = field(default_factory=dict)
    material: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        """(file name, 1-based page number)."""
        return (self.page.file, self.page.number)


@dataclass
class Run:
    """The state of one pipeline run, passed from step to step."""

    files: list[tuple[str, bytes]]
    service: Service | None
    form: dict[str, Any]
    facts: dict[str, Any]
    application_date: dt.date
    on_page: ProgressHook | None = None
    pages: list[PageState] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    materials: list[MaterialResult] | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)

    def progress(self, state: PageState, stage: str, done: int, total: int) -> None:
        """Tell the progress hook, if any, that a page finished a stage."""
        if self.on_page is not None:
            self.on_page(PageProgress(state.page.file, state.page.number, stage, done, total))

    def page_findings(self, state: PageState) -> list[Finding]:
        """Findings raised on one page."""
        return [f for f in self.findings if (f.file, f.page) == state.key]


@dataclass(frozen=True)
class StepResult:
    """What a step reports back: ``stop`` ends the run early (the report is still built)."""

    stop: bool = False


class Step(Protocol):
    """One stage of the pipeline."""

    name: str

    def run(self, run: Run) -> StepResult:
        """Do the stage's work on ``run`` in place."""
        ...


@dataclass
class Analysis:
    """A report plus JPEG renderings of the analysed pages, keyed by (file, page), for highlighted evidence."""

    report: Report
    page_images: dict[tuple[str, int], bytes]


class IntakeStep:
    """Decode every uploaded file into pages (limits, formats and PDF sandbox live in ``prereview.intake``)."""

    name = "intake"

    def __init__(self, settings: PrereviewSettings) -> None:
        self.settings = settings

    def run(self, run: Run) -> StepResult:
        """Decode the files; stop when nothing readable came in."""
        for name, data in run.files:
            result = intake_file(name=name, data=data, settings=self.settings)
            run.findings.extend(result.findings)
            run.pages.extend(PageState(page=page, image=page.image) for page in result.pages)
        return StepResult(stop=not run.pages)


class QualityStep:
    """Blur, light, resolution and framing of each photographed page; blocked pages skip OCR."""

    name = "quality"

    def __init__(self, thresholds: QualityThresholds) -> None:
        self.thresholds = thresholds

    def run(self, run: Run) -> StepResult:
        """Measure each page image; deskew slightly tilted pages."""
        total = len(run.pages)
        for index, state in enumerate(run.pages, start=1):
            if state.image is None or state.page.source == "pdf_text":
                continue
            state.quality = check_quality(state.image, thresholds=self.thresholds, file=state.page.file,
                                          page=state.page.number)
            run.findings.extend(state.quality.findings)
            state.skipped = state.quality.blocking
            if not state.skipped and abs(state.quality.skew_deg) > self.thresholds.max_skew_deg:
                state.image = deskew(state.image, state.quality.skew_deg)
            run.progress(state, self.name, index, total)
        return StepResult()


def _reading_score(lines: list[TextLine]) -> float:
    return sum(line.confidence * len(line.text) for line in lines)


def _text_layer_lines(page: Page) -> list[TextLine]:
    """A PDF text layer's lines with boxes scaled onto the page image (text is laid out at ``text_dpi``)."""
    if not page.dpi or not page.text_dpi or page.dpi == page.text_dpi:
        return list(page.text_lines)
    scale = page.dpi / page.text_dpi
    return [TextLine(line.text, tuple(value * scale for value in line.bbox), line.confidence)  # type: ignore[arg-type]
            for line in page.text_lines]


class OcrStep:
    """Text of every page: the PDF text layer when usable, else OCR with orientation recovery."""

    name = "ocr"

    def __init__(self, engine: OcrEngine) -> None:
        self.engine = engine

    def run(self, run: Run) -> StepResult:
        """Read each page that passed the quality gate."""
        total = len(run.pages)
        for index, state in enumerate(run.pages, start=1):
            if state.page.source == "pdf_text" and state.page.text_lines:
                state.lines = _text_layer_lines(state.page)
            elif not state.skipped and state.image is not None:
                self._read(run, state)
            run.progress(state, self.name, index, total)
        return StepResult()

    def _read(self, run: Run, state: PageState) -> None:
        assert state.image is not None
        lines = self.engine.recognise(state.image)
        confidence = float(np.mean([line.confidence for line in lines])) if lines else 0.0
        if len(lines) >= 3 and confidence >= MIN_ORIENTATION_CONFIDENCE:
            state.lines = lines
            return
        # Few or unsure lines: the page may be turned. Tall text boxes mean 90°/270°, else try 180°.
        tall = sum(1 for line in lines if (line.bbox[3] - line.bbox[1]) > 1.5 * (line.bbox[2] - line.bbox[0]))
        turns = {90: cv2.ROTATE_90_CLOCKWISE, 270: cv2.ROTATE_90_COUNTERCLOCKWISE} if tall > len(lines) / 2 \
            else {180: cv2.ROTATE_180}
        best = (_reading_score(lines), 0, state.image, lines)
        for degrees, code in turns.items():
            turned = cv2.rotate(state.image, code)
            candidate = self.engine.recognise(turned)
            score = _reading_score(candidate)
            if score > best[0] * 1.3:
                best = (score, degrees, turned, candidate)
        _, degrees, image, state.lines = best
        if degrees:
            state.image, state.rotation_deg = image, degrees
            run.findings.append(Finding(code=FindingCode.document_rotated, severity="info", file=state.page.file,
                                        page=state.page.number, message=f"页面方向不正，已自动旋转 {degrees}°。",
                                        detail=f"rotated {degrees} degrees clockwise before reading"))


class ClassifyStep:
    """Kind of document on each page, from its text and shape."""

    name = "classify"

    def run(self, run: Run) -> StepResult:
        """Classify every page that has text."""
        for state in run.pages:
            if state.lines:
                size = (state.image.shape[1], state.image.shape[0]) if state.image is not None else (0, 0)
                state.classification = classify_page(state.lines, size)
        return StepResult()


class ExtractStep:
    """Printed fields of each classified page, and the page-level identifier and date checks."""

    name = "extract"

    def __init__(self, min_confidence: float) -> None:
        self.min_confidence = min_confidence

    def run(self, run: Run) -> StepResult:
        """Extract fields; check ID numbers, birth dates, USCCs and validity periods."""
        for state in run.pages:
            if state.classification is None:
                continue
            kind = state.classification.document_type
            state.fields = extract_fields(kind, state.lines)
            state.canonical = canonical_fields(kind, state.fields)
            file, page = state.key
            run.findings.extend(check_page_fields(document_type=kind, fields=state.fields, canonical=state.canonical,
                                                  lines=state.lines, file=file, page=page,
                                                  min_confidence=self.min_confidence))
            run.findings.extend(check_validity(document_type=kind, fields=state.fields, lines=state.lines, file=file,
                                               page=page, application_date=run.application_date))
        return StepResult()


class MaterialStep:
    """Pages matched to the service's required materials (conditional ones follow the applicant's facts)."""

    name = "materials"

    def __init__(self, min_margin: float) -> None:
        self.min_margin = min_margin

    def run(self, run: Run) -> StepResult:
        """Assign pages to materials; report missing materials and pages nobody asked for."""
        if run.service is None:
            return StepResult()
        required = run.service.required_materials(run.facts)
        self._assign_id_cards(run, [m for m in required if m.checks.document_type == DocumentType.id_card])
        for material in required:
            kind = material.checks.document_type
            if kind in (DocumentType.id_card, DocumentType.other):
                continue
            for state in run.pages:
                if state.material is None and state.classification and state.classification.document_type == kind:
                    state.material = material.id
        # Pages we could not read may be the missing material: those materials are uncertain, not missing.
        unreadable = [state for state in run.pages if state.skipped or not state.lines]
        run.materials = []
        for material in required:
            pages = [state for state in run.pages if state.material == material.id]
            run.materials.append(self._status(run, material, pages, unreadable))
        for state in run.pages:
            if state.material is None and state.classification is not None:
                kind = state.classification.document_type
                run.findings.append(Finding(
                    code=FindingCode.wrong_document, severity="warning", file=state.page.file, page=state.page.number,
                    message="这一页不是本事项需要的材料，请确认是否传错文件。",
                    detail=f"classified as {kind.value}; not required by {run.service.code}"))
        for finding in run.findings:
            owner = next((s.material for s in run.pages if (finding.file, finding.page) == s.key), None)
            if finding.material is None and owner is not None:
                finding.material = owner
        return StepResult()

    def _assign_id_cards(self, run: Run, materials: list[Material]) -> None:
        if not materials:
            return
        fronts = [s for s in run.pages if s.classification and s.classification.document_type == DocumentType.id_card
                  and s.classification.side == "front"]
        backs = [s for s in run.pages if s.classification and s.classification.document_type == DocumentType.id_card
                 and s.classification.side == "back"]
        applicant = str(run.form.get("name", ""))
        # The card whose name is the applicant's goes to the first material; the others follow in order.
        fronts.sort(key=lambda s: 0 if applicant and s.canonical.get("name") == applicant else 1)
        for material, front in zip(materials, fronts, strict=False):
            front.material = material.id
        for material, back in zip(materials, backs, strict=False):
            back.material = material.id

    def _status(self, run: Run, material: Material, pages: list[PageState],
                unreadable: list[PageState]) -> MaterialResult:
        keys = [state.key for state in pages]
        if not pages:
            if unreadable:
                return MaterialResult(material=material.id, status="uncertain")
            run.findings.append(Finding(code=FindingCode.material_missing, severity="blocking", material=material.id,
                                        message=f"缺少材料：{material.name}。",
                                        detail=f"no page classified as {material.checks.document_type.value}"))
            return MaterialResult(material=material.id, status="missing")
        if any(s.classification and s.classification.confidence < self.min_margin for s in pages):
            return MaterialResult(material=material.id, status="uncertain", pages=keys)
        return MaterialResult(material=material.id, status="ok", pages=keys)


class MaterialChecksStep:
    """Consistency across materials and with the form, seals, signatures, required fields, ID card sides."""

    name = "checks"

    def __init__(self, engine: OcrEngine, settings: PrereviewSettings) -> None:
        self.engine = engine
        self.settings = settings

    def run(self, run: Run) -> StepResult:
        """Run each material's configured checks on its pages."""
        if run.service is None or run.materials is None:
            return StepResult()
        required = {m.id: m for m in run.service.required_materials(run.facts)}
        references = self._references(run)
        for result in run.materials:
            material = required[result.material]
            pages = [s for s in run.pages if s.material == material.id]
            if not pages:
                continue
            checks = material.checks
            for check_field in checks.cross_check:
                wanted = references.get(check_field, [])
                for state in pages:
                    finding = cross_check(material=material.id, field=check_field, page=self._values(state),
                                          references=wanted, min_confidence=self.settings.min_ocr_confidence)
                    if finding:
                        run.findings.append(finding)
            if checks.document_type == DocumentType.id_card:
                self._id_card_sides(run, material, pages)
            if checks.required_fields:
                self._required_fields(run, material, pages)
            if checks.seal_required:
                self._seal(run, material, pages)
            if checks.signature_required:
                self._signature(run, material, pages)
        for result in run.materials:
            blocking = [f for f in run.findings if f.material == result.material and f.severity == "blocking"]
            unsure = [f for f in run.findings if f.material == result.material and f.severity == "warning"
                      and f.code in (FindingCode.low_confidence, FindingCode.address_mismatch)]
            if result.status == "ok" and blocking:
                result.status = "defective"
            elif result.status == "ok" and unsure:
                result.status = "uncertain"
        return StepResult()

    @staticmethod
    def _values(state: PageState) -> PageValues:
        assert state.classification is not None
        return PageValues(state.page.file, state.page.number, state.classification.document_type, state.canonical,
                          state.lines)

    def _references(self, run: Run) -> dict[CrossCheckField, list[str]]:
        """Values every material must agree with: the citizen's form first, else the authoritative document."""
        references: dict[CrossCheckField, list[str]] = {}
        for check_field in CrossCheckField:
            if run.form.get(check_field.value):
                references[check_field] = [str(run.form[check_field.value])]
        if run.form.get("entity_name"):
            references.setdefault(CrossCheckField.name, []).append(str(run.form["entity_name"]))
        authority = {CrossCheckField.name: DocumentType.id_card, CrossCheckField.id_number: DocumentType.id_card,
                     CrossCheckField.uscc: DocumentType.business_licence,
                     CrossCheckField.legal_representative: DocumentType.business_licence,
                     CrossCheckField.address: DocumentType.application_form}
        for check_field, kind in authority.items():
            if check_field in references:
                continue
            for state in run.pages:
                if state.material and state.classification and state.classification.document_type == kind:
                    value = page_value(self._values(state), check_field)
                    if value:
                        references[check_field] = [value]
                        break
        if CrossCheckField.name in references:
            for state in run.pages:
                entity = state.canonical.get("entity_name")
                if state.material and entity and state.classification \
                        and state.classification.document_type == DocumentType.business_licence:
                    references[CrossCheckField.name].append(entity)
        return references

    def _id_card_sides(self, run: Run, material: Material, pages: list[PageState]) -> None:
        if any(state.skipped or state.classification is None for state in run.pages):
            return  # an unreadable page may be the missing side; its quality finding already asks for a retake
        sides = {s.classification.side for s in pages if s.classification}
        needed = [("front", "公民身份号码", "请上传身份证人像面（正面）。")]
        if material.checks.valid_on_application_date:
            needed.append(("back", "有效期限", "请上传身份证国徽面（反面），用于核对有效期限。"))
        for side, label, message in needed:
            if side not in sides:
                run.findings.append(Finding(code=FindingCode.field_missing, severity="blocking", material=material.id,
                                            message=f"{material.name}缺少{'正面' if side == 'front' else '反面'}：{message}",
                                            detail=f"id card {side} side not found ({label})"))

    def _required_fields(self, run: Run, material: Material, pages: list[PageState]) -> None:
        present = {label for state in pages for label, value in state.fields.items() if str(value).strip()}
        for label in material.checks.required_fields:
            if label not in present:
                state = pages[0]
                run.findings.append(Finding(code=FindingCode.field_missing, severity="blocking", material=material.id,
                                            file=state.page.file, page=state.page.number,
                                            message=f"{material.name}未填写“{label}”，请补充。",
                                            detail=f"required field {label!r} not found"))

    def _seal(self, run: Run, material: Material, pages: list[PageState]) -> None:
        found = [(state, seal) for state in pages if state.image is not None for seal in find_seals(state.image)]
        if not found:
            state = pages[0]
            run.findings.append(Finding(code=FindingCode.seal_missing, severity="blocking", material=material.id,
                                        file=state.page.file, page=state.page.number,
                                        message=f"{material.name}未加盖公章，请盖章后重新提交。",
                                        detail="no round red seal found"))
            return
        min_similarity = SEAL_NAME_MIN_SIMILARITY
        if material.checks.document_type == DocumentType.business_licence:
            # The registrar's seal: only its kind of authority is known, and seal glyphs are hard to read.
            expected = list(SEAL_AUTHORITY_WORDS)
            min_similarity = SEAL_AUTHORITY_MIN_SIMILARITY
        else:
            expected = [v for s in pages for k, v in s.canonical.items() if k == "entity_name"]
            expected += [str(run.form["entity_name"])] if run.form.get("entity_name") else []
        if not expected:
            return
        readings = []
        for state, seal in found:
            assert state.image is not None
            text, confidence = read_seal_text(state.image, seal, self.engine)
            readings.append((state, seal, text, confidence))
            if any(name_similarity(name, text) >= min_similarity for name in expected):
                return
        state, seal, text, confidence = max(readings, key=lambda item: item[3])
        if len(text) >= 4 and confidence >= self.settings.min_ocr_confidence:
            run.findings.append(Finding(code=FindingCode.seal_name_mismatch, severity="blocking", material=material.id,
                                        file=state.page.file, page=state.page.number, bbox=seal.bbox,
                                        message="公章上的单位名称与申请单位不一致，请核对。",
                                        detail=f"seal reads {text!r}; expected {expected[0]!r}", confidence=confidence))
        else:
            run.findings.append(Finding(code=FindingCode.low_confidence, severity="warning", material=material.id,
                                        file=state.page.file, page=state.page.number, bbox=seal.bbox,
                                        message="公章文字无法辨认，需人工核对。",
                                        detail=f"seal text {text!r} read with confidence {confidence:.2f}",
                                        confidence=confidence))

    def _signature(self, run: Run, material: Material, pages: list[PageState]) -> None:
        checks = [(state, check_signatures(state.image, state.lines,
                                           min_ink_share=self.settings.signature_min_ink_share))
                  for state in pages if state.image is not None and state.lines]
        if any(check.present for _, check in checks):
            return
        labelled = [(state, check) for state, check in checks if check.present is False]
        if labelled:
            state, check = labelled[0]
            run.findings.append(Finding(code=FindingCode.signature_missing, severity="blocking", material=material.id,
                                        file=state.page.file, page=state.page.number, bbox=list(check.labels[0].bbox),
                                        message=f"{material.name}未签名，请本人签字后重新提交。",
                                        detail=f"no ink after {check.labels[0].text!r}"))
        elif checks:
            state = checks[0][0]
            run.findings.append(Finding(code=FindingCode.low_confidence, severity="warning", material=material.id,
                                        file=state.page.file, page=state.page.number,
                                        message="未找到签名位置，需人工核对是否已签字。",
                                        detail="no 签名/签字 label found on the material's pages", confidence=0.5))


def verdict_of(findings: Sequence[Finding], materials: Sequence[MaterialResult] | None) -> str:
    """needs_fix if anything blocks; needs_review if anything is uncertain; else pass."""
    if any(f.severity == "blocking" for f in findings):
        return "needs_fix"
    if any(f.code == FindingCode.low_confidence for f in findings) or any(
            m.status == "uncertain" for m in materials or []):
        return "needs_review"
    return "pass"


def build_engine(settings: PrereviewSettings) -> OcrEngine:
    """The configured OCR engine, wrapped in the page-hash cache."""
    engine: OcrEngine
    if settings.ocr_engine == "paddleocr":
        if not settings.paddle_det_model_dir or not settings.paddle_rec_model_dir:
            raise ValueError("PREREVIEW_PADDLE_DET_MODEL_DIR and PREREVIEW_PADDLE_REC_MODEL_DIR must be set for paddleocr")
        engine = PaddleOcrEngine(det_model_dir=Path(settings.paddle_det_model_dir),
                                 rec_model_dir=Path(settings.paddle_rec_model_dir))
    else:
        engine = RapidOcrEngine(max_side_px=settings.ocr_max_side_px, threads=settings.ocr_threads)
    cache_dir = Path(settings.ocr_cache_dir) if settings.ocr_cache_dir else None
    return CachedOcrEngine(engine, max_entries=settings.ocr_cache_entries, cache_dir=cache_dir)


class Pipeline:
    """Runs the steps in order over one application; build once per worker with :meth:`create`."""

    def __init__(self, *, settings: PrereviewSettings, ocr: OcrEngine) -> None:
        self.settings = settings
        self.ocr = ocr
        thresholds = QualityThresholds(
            min_sharpness=settings.quality_min_sharpness, min_brightness=settings.quality_min_brightness,
            max_saturated_share=settings.quality_max_saturated_share, min_ink_level=settings.quality_min_ink_level,
            min_short_side_px=settings.quality_min_short_side_px, min_long_side_px=settings.quality_min_long_side_px)
        self.steps: list[Step] = [
            IntakeStep(settings), QualityStep(thresholds), OcrStep(ocr), ClassifyStep(),
            ExtractStep(settings.min_ocr_confidence), MaterialStep(settings.min_classification_margin),
            MaterialChecksStep(ocr, settings),
        ]

    @classmethod
    def create(cls, *, settings: PrereviewSettings, ocr: OcrEngine | None = None) -> Pipeline:
        """A pipeline with the given engine, or the configured one loaded now (once per worker)."""
        if ocr is None:
            warm_pdf_pool(settings=settings)  # the PDF workers import while the OCR models load
            ocr = build_engine(settings)
        return cls(settings=settings, ocr=ocr)

    def analyse(self, *, files: Sequence[tuple[str, bytes]], service: Service | None = None,
                form: dict[str, Any] | None = None, facts: dict[str, Any] | None = None,
                application_date: dt.date | None = None, on_page: ProgressHook | None = None) -> Analysis:
        """Run every step; return the report and evidence JPEGs of the pages as analysed (rotated/deskewed)."""
        run = Run(files=list(files), service=service, form=dict(form or {}), facts=dict(facts or {}),
                  application_date=application_date or dt.date.today(), on_page=on_page)
        started = time.perf_counter()
        for step in self.steps:
            step_started = time.perf_counter()
            result = step.run(run)
            run.timings_ms[step.name] = round((time.perf_counter() - step_started) * 1000, 1)
            if result.stop:
                break
        run.timings_ms["total"] = round((time.perf_counter() - started) * 1000, 1)
        report = Report(
            service=service.code if service else None,
            service_version=service.version if service else None,
            verdict=verdict_of(run.findings, run.materials),
            materials=run.materials,
            findings=run.findings,
            fields={"pages": [self._page_summary(state) for state in run.pages]},
            timings_ms=run.timings_ms,
        )
        logger.info("pre-review %s: %d pages, verdict %s, findings %s", report.service or "inspect", len(run.pages),
                    report.verdict, sorted({f.code.value for f in report.findings}))
        return Analysis(report=report, page_images=self._evidence(run))

    def check(self, *, service: Service, files: Sequence[tuple[str, bytes]], form: dict[str, Any] | None = None,
              facts: dict[str, Any] | None = None, application_date: dt.date | None = None,
              on_page: ProgressHook | None = None) -> Report:
        """Pre-review an application for ``service``."""
        return self.analyse(files=files, service=service, form=form, facts=facts, application_date=application_date,
                            on_page=on_page).report

    def inspect(self, *, files: Sequence[tuple[str, bytes]], application_date: dt.date | None = None,
                on_page: ProgressHook | None = None) -> Report:
        """Check files on their own (no service, so no ``materials``)."""
        return self.analyse(files=files, application_date=application_date, on_page=on_page).report

    @staticmethod
    def _page_summary(state: PageState) -> dict[str, Any]:
        classification = state.classification
        height, width = state.image.shape[:2] if state.image is not None else (0, 0)
        return {
            "file": state.page.file,
            "page": state.page.number,
            "source": state.page.source,
            "image_size": [width, height],
            "rotation_deg": state.rotation_deg,
            "skipped": state.skipped,
            "document_type": classification.document_type.value if classification else None,
            "side": classification.side if classification else None,
            "classification_confidence": round(classification.confidence, 3) if classification else None,
            "material": state.material,
            "fields": state.fields,
            "ocr_confidence": round(float(np.mean([l.confidence for l in state.lines])), 3) if state.lines else None,
        }

    def _evidence(self, run: Run) -> dict[tuple[str, int], bytes]:
        images: dict[tuple[str, int], bytes] = {}
        for state in run.pages:
            if state.image is None:
                continue
            height, width = state.image.shape[:2]
            scale = min(1.0, self.settings.evidence_side_px / max(height, width))
            image = state.image if scale == 1.0 else cv2.resize(state.image, None, fx=scale, fy=scale,
                                                                interpolation=cv2.INTER_AREA)
            ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
            if ok:
                images[state.key] = buffer.tobytes()
        return images


__all__ = ["Analysis", "PageProgress", "Pipeline", "build_engine", "verdict_of"]
