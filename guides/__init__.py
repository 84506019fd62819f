"""The service catalog: government services (办事指南) as data, and the guides rendered from it."""

from guides.catalog_loader import CatalogError, load_catalog, load_demo_catalog, new_version
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
from guides.workdays import CalendarRangeError, add_working_days, is_working_day, working_days_between

__all__ = [
    "CalendarRangeError",
    "CatalogError",
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
    "add_working_days",
    "evaluate_condition",
    "is_working_day",
    "load_catalog",
    "load_demo_catalog",
    "new_version",
    "working_days_between",
]
