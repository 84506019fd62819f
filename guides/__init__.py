"""The service catalog: government services (办事指南) as data, and the guides rendered from it."""

from guides.schema import (
    CrossCheckField,
    DocumentType,
    Fee,
    Material,
    MaterialCheck,
    MaterialForm,
    Office,
    Service,
    ServiceType,
    Step,
    TimeLimit,
    evaluate_condition,
)

__all__ = [
    "CrossCheckField",
    "DocumentType",
    "Fee",
    "Material",
    "MaterialCheck",
    "MaterialForm",
    "Office",
    "Service",
    "ServiceType",
    "Step",
    "TimeLimit",
    "evaluate_condition",
]
