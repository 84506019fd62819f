"""The service catalog schema: a government service (办事指南) and its materials, as validated data.

One record is the single source of truth: it renders the public guide and tells the pre-review
pipeline what an application must contain.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class DocumentType(StrEnum):
    """Kinds of document the pre-review pipeline can recognise on a page."""

    id_card = "id_card"
    business_licence = "business_licence"
    household_register = "household_register"
    marriage_certificate = "marriage_certificate"
    application_form = "application_form"
    lease_contract = "lease_contract"
    power_of_attorney = "power_of_attorney"
    property_certificate = "property_certificate"
    photo = "photo"
    medical_certificate = "medical_certificate"
    diploma = "diploma"
    other = "other"


class ServiceType(StrEnum):
    """Legal type of a government service (事项类型)."""

    administrative_licence = "行政许可"
    public_service = "公共服务"
    administrative_confirmation = "行政确认"
    administrative_payment = "行政给付"
    administrative_reward = "行政奖励"
    administrative_ruling = "行政裁决"
    administrative_collection = "行政征收"
    other_power = "其他行政权力"


class MaterialForm(StrEnum):
    """How a material is handed in."""

    original = "original"
    copy = "copy"
    original_and_copy = "original_and_copy"
    electronic = "electronic"


class CrossCheckField(StrEnum):
    """Fields that must agree across materials and with the citizen's form data."""

    name = "name"
    id_number = "id_number"
    uscc = "uscc"
    legal_representative = "legal_representative"
    address = "address"


_CONDITION_TOKEN = re.compile(r"\s*(?:(\(|\))|(and|or|not)\b|(applicant\.[a-z_][a-z0-9_]*))")


def parse_condition(expression: str) -> list[str]:
    """Tokenise a material condition; raise ValueError naming the first bad character.

    Grammar: ``expr := term (("and"|"or") term)*``, ``term := "not" term | "(" expr ")" | fact``,
    ``fact := applicant.<snake_case>``. Facts are booleans the citizen states (``applicant.is_agent``).
    """
    tokens: list[str] = []
    position = 0
    text = expression.strip()
    while position < len(text):
        match = _CONDITION_TOKEN.match(text, position)
        if not match:
            raise ValueError(f"unexpected text at position {position}: {text[position:]!r}")
        tokens.append(next(group for group in match.groups() if group))
        position = match.end()
    if not tokens:
        raise ValueError("empty condition")
    _ConditionParser(tokens, {}).parse()
    return tokens


class _ConditionParser:
    def __init__(self, tokens: list[str], facts: dict[str, bool]) -> None:
        self.tokens = tokens
        self.facts = facts
        self.index = 0

    def parse(self) -> bool:
        value = self._expr()
        if self.index != len(self.tokens):
            raise ValueError(f"unexpected token {self.tokens[self.index]!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("condition ends too early")
        self.index += 1
        return token

    def _expr(self) -> bool:
        value = self._term()
        while self._peek() in ("and", "or"):
            operator = self._take()
            right = self._term()
            value = (value and right) if operator == "and" else (value or right)
        return value

    def _term(self) -> bool:
        token = self._take()
        if token == "not":
            return not self._term()
        if token == "(":
            value = self._expr()
            if self._take() != ")":
                raise ValueError("missing ')'")
            return value
        if token.startswith("applicant."):
            return bool(self.facts.get(token.removeprefix("applicant."), False))
        raise ValueError(f"unexpected token {token!r}")


def evaluate_condition(expression: str, facts: dict[str, Any]) -> bool:
    """Evaluate a material condition against applicant facts; unknown facts count as false."""
    return _ConditionParser(parse_condition(expression), {k: bool(v) for k, v in facts.items()}).parse()


class MaterialCheck(BaseModel):
    """Machine checks the pre-review pipeline runs on a material."""

    model_config = ConfigDict(extra="forbid")

    document_type: DocumentType = DocumentType.other
    valid_on_application_date: bool = False
    seal_required: bool = False
    signature_required: bool = False
    cross_check: list[CrossCheckField] = Field(default_factory=list)
    required_fields: list[str] = Field(default_factory=list)


class Material(BaseModel):
    """One item of the material list (申请材料)."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1)
    required: bool = True
    condition: str | None = Field(
        default=None, description="Boolean expression over applicant facts, e.g. 'applicant.is_agent'"
    )
    form: MaterialForm = MaterialForm.original
    copies: int = Field(default=1, ge=0, le=99)
    source: str | None = Field(default=None, description="Where the citizen obtains it (来源渠道)")
    notes: str | None = None
    checks: MaterialCheck = Field(default_factory=MaterialCheck)

    @field_validator("condition")
    @classmethod
    def _condition_parses(cls, value: str | None) -> str | None:
        if value is not None:
            parse_condition(value)
        return value

    def applies_to(self, facts: dict[str, Any]) -> bool:
        """Whether this material is needed for an applicant with these facts."""
        if self.condition is None:
            return True
        return evaluate_condition(self.condition, facts)


class Office(BaseModel):
    """A window where the service is handled (办理地点)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    address: str
    hours: str | None = None
    phone: str | None = None


class TimeLimit(BaseModel):
    """Legal and promised time limits, in working days (办结时限)."""

    model_config = ConfigDict(extra="forbid")

    legal_working_days: int | None = Field(default=None, ge=0)
    promised_working_days: int | None = Field(default=None, ge=0)
    note: str | None = None

    @model_validator(mode="after")
    def _promise_within_law(self) -> TimeLimit:
        legal, promised = self.legal_working_days, self.promised_working_days
        if legal is not None and promised is not None and promised > legal:
            raise ValueError(f"promised_working_days ({promised}) exceeds legal_working_days ({legal})")
        return self


class Fee(BaseModel):
    """Fee charged for the service (收费标准); ``amount_yuan`` None with ``free`` False means see note."""

    model_config = ConfigDict(extra="forbid")

    free: bool = True
    amount_yuan: float | None = Field(default=None, ge=0)
    basis: str | None = None
    note: str | None = None


class Step(BaseModel):
    """A procedure step (办理流程)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str | None = None
    working_days: int | None = Field(default=None, ge=0)


class Service(BaseModel):
    """A government service as published in the catalog (one version of it)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list, description="What citizens call it")
    department: str = Field(min_length=1)
    service_type: ServiceType
    legal_basis: list[str] = Field(default_factory=list)
    applicant_types: list[str] = Field(default_factory=list)
    conditions: list[str] = Field(default_factory=list, description="Acceptance conditions (受理条件)")
    materials: list[Material] = Field(default_factory=list)
    steps: list[Step] = Field(default_factory=list)
    time_limit: TimeLimit = Field(default_factory=TimeLimit)
    fee: Fee = Field(default_factory=Fee)
    offices: list[Office] = Field(default_factory=list)
    consultation_phone: str | None = None
    complaint_phone: str | None = None
    online_url: str | None = None
    version: int = Field(default=1, ge=1)
    effective_date: dt.date | None = None
    extra: dict[str, Any] = Field(default_factory=dict, description="Source fields with no home here, kept")

    @model_validator(mode="after")
    def _material_ids_unique(self) -> Service:
        seen: set[str] = set()
        for material in self.materials:
            if material.id in seen:
                raise ValueError(f"duplicate material id {material.id!r}")
            seen.add(material.id)
        return self

    def material(self, material_id: str) -> Material:
        """The material with this id; KeyError if the service has none."""
        for material in self.materials:
            if material.id == material_id:
                return material
        raise KeyError(material_id)

    def required_materials(self, facts: dict[str, Any] | None = None) -> list[Material]:
        """Materials an applicant with these facts must hand in."""
        facts = facts or {}
        return [m for m in self.materials if m.required and m.applies_to(facts)]
