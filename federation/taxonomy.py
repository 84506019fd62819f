"""The product's intent taxonomy: intents owned by departments, request types, and the out-of-scope class."""

from __future__ import annotations

from dataclasses import dataclass

from federation.model import OUT_OF_SCOPE

REQUEST_TYPES: tuple[str, ...] = ("咨询", "求助", "投诉", "举报", "建议")


@dataclass(frozen=True)
class Intent:
    """One routable intent: a stable code, its Chinese name and the department that owns it."""

    code: str
    name: str
    department: str


INTENTS: tuple[Intent, ...] = (
    Intent("market_food_safety", "食品安全与消费维权", "市场监督管理局"),
    Intent("market_business_license", "营业执照与市场主体登记", "市场监督管理局"),
    Intent("police_household", "户口与身份证办理", "公安局（户政）"),
    Intent("hrss_wages_employment", "劳动就业与欠薪", "人力资源和社会保障局"),
    Intent("hrss_social_insurance", "社会保险与退休", "人力资源和社会保障局"),
    Intent("medical_insurance", "医保报销与参保", "医疗保障局"),
    Intent("housing_fund", "住房公积金", "住房公积金管理中心"),
    Intent("civil_affairs", "婚姻登记、低保与养老服务", "民政局"),
    Intent("health_services", "医疗服务与疫苗", "卫生健康委员会"),
    Intent("traffic_police", "交通违法与驾驶证", "交警支队"),
    Intent("housing_construction", "房屋建设、物业与施工噪音", "住房和城乡建设局"),
    Intent("education", "入学、学校与培训机构", "教育局"),
)

DEPARTMENTS: tuple[str, ...] = tuple(dict.fromkeys(i.department for i in INTENTS))


def intent_labels(*, include_out_of_scope: bool = True) -> tuple[str, ...]:
    """The model's intent labels in a fixed order (intent codes, then the out-of-scope class)."""
    codes = tuple(i.code for i in INTENTS)
    return codes + (OUT_OF_SCOPE,) if include_out_of_scope else codes


def department_of() -> dict[str, str]:
    """Map each intent code to its owning department (what the hotline routes a work order to)."""
    return {i.code: i.department for i in INTENTS}
