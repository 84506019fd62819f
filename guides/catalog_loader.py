"""Load the service catalog from YAML files, with errors that name the file, the line and the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from guides.schema import Service

DEMO_CATALOG_PACKAGE = "guides.catalog"


class CatalogError(ValueError):
    """A catalog file that cannot be loaded; ``file``, ``line`` (1-based) and ``field`` say where."""

    def __init__(self, message: str, *, file: str, line: int | None = None, field: str | None = None) -> None:
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        where = f"{file}:{line}" if line is not None else file
        prefix = f"{where}: {field}: " if field else f"{where}: "
        super().__init__(prefix + message)


def _node_for(node: yaml.Node, location: Iterable[str | int]) -> yaml.Node:
    """The deepest YAML node reached by following a pydantic error location."""
    current = node
    for part in location:
        if isinstance(current, yaml.MappingNode):
            child = next((value for key, value in current.value if key.value == part), None)
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            child = current.value[part]
        else:
            child = None
        if child is None:
            break
        current = child
    return current


def _describe(error: Mapping[str, Any]) -> str:
    if error["type"] == "enum":
        return f"unknown value {error['input']!r}; allowed values: {error['ctx']['expected']}"
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if error["type"] == "missing":
        return "required field is missing"
    return str(error["msg"]).removeprefix("Value error, ")


def _mapping_value(node: yaml.MappingNode, key: str) -> yaml.Node | None:
    return next((value for key_node, value in node.value if key_node.value == key), None)


def _parse_file(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise CatalogError(
            f"not valid YAML: {exc.problem or exc.context}", file=file, line=mark.line + 1 if mark else None
        ) from None
    finally:
        loader.dispose()
    return data, node


def _services_in_file(text: str, file: str) -> list[tuple[Service, int]]:
    """Validate one catalog file: a mapping with optional ``defaults`` and a ``services`` list."""
    data, root = _parse_file(text, file)
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        raise CatalogError("a catalog file must be a mapping with a 'services' list", file=file, line=1)
    unknown = sorted(set(data) - {"defaults", "services"})
    if unknown:
        key_node = next(k for k, _ in root.value if k.value == unknown[0])
        raise CatalogError("unknown top-level key (allowed: defaults, services)", file=file,
                           line=key_node.start_mark.line + 1, field=str(unknown[0]))
    defaults = data.get("defaults") or {}
    defaults_node = _mapping_value(root, "defaults")
    if not isinstance(defaults, dict):
        raise CatalogError("'defaults' must be a mapping", file=file,
                           line=defaults_node.start_mark.line + 1 if defaults_node else 1, field="defaults")
    services = data.get("services")
    services_node = _mapping_value(root, "services")
    if not isinstance(services, list) or not isinstance(services_node, yaml.SequenceNode):
        line = services_node.start_mark.line + 1 if services_node else 1
        raise CatalogError("'services' must be a list of services", file=file, line=line, field="services")
    loaded: list[tuple[Service, int]] = []
    for index, (raw, node) in enumerate(zip(services, services_node.value, strict=True)):
        line = node.start_mark.line + 1
        if not isinstance(raw, dict):
            raise CatalogError("each service must be a mapping", file=file, line=line, field=f"services[{index}]")
        try:
            loaded.append((Service.model_validate({**defaults, **raw}), line))
        except ValidationError as exc:
            error = exc.errors()[0]
            location = error["loc"]
            from_defaults = bool(location) and location[0] not in raw and location[0] in defaults
            base = defaults_node if from_defaults and defaults_node is not None else node
            target = _node_for(base, location)
            field = ".".join(str(part) for part in location) or "service"
            raise CatalogError(
                _describe(error), file=file, line=target.start_mark.line + 1,
                field=("defaults." if from_defaults else f"services[{index}].") + field,
            ) from None
    return loaded


def _check_unique(found: list[tuple[Service, str]]) -> list[Service]:
    first_seen: dict[str, str] = {}
    for service, where in found:
        if service.code in first_seen:
            file, _, line = where.rpartition(":")
            raise CatalogError(
                f"duplicate service code {service.code!r}: also defined at {first_seen[service.code]}",
                file=file, line=int(line), field="code",
            )
        first_seen[service.code] = where
    return [service for service, _ in found]


def load_catalog(path: str | Path) -> list[Service]:
    """Load every service from a catalog YAML file or a folder of ``*.yaml`` files (sorted by name)."""
    root = Path(path)
    if root.is_dir():
        files = sorted([*root.glob("*.yaml"), *root.glob("*.yml")])
        if not files:
            raise CatalogError("folder holds no *.yaml catalog files", file=str(root))
    elif root.is_file():
        files = [root]
    else:
        raise CatalogError("no such catalog file or folder", file=str(root))
    found: list[tuple[Service, str]] = []
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise CatalogError(f"not UTF-8 text ({exc.reason})", file=str(file)) from None
        found.extend((service, f"{file}:{line}") for service, line in _services_in_file(text, str(file)))
    return _check_unique(found)


def load_demo_catalog() -> list[Service]:
    """The bundled demo catalog of 示例市 (fictional city), one YAML file per department."""
    found: list[tuple[Service, str]] = []
    folder = resources.files(DEMO_CATALOG_PACKAGE)
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith((".yaml", ".yml")):
            where = f"guides/catalog/{entry.name}"
            found.extend(
                (service, f"{where}:{line}")
                for service, line in _services_in_file(entry.read_text(encoding="utf-8"), where)
            )
    return _check_unique(found)


def new_version(service: Service, changes: Mapping[str, Any]) -> Service:
    """The next version of a service with these field changes applied, validated again."""
    forbidden = {"code", "version"} & set(changes)
    if forbidden:
        raise ValueError(f"a new version cannot change {', '.join(sorted(forbidden))}")
    unknown = set(changes) - set(Service.model_fields)
    if unknown:
        raise ValueError(f"unknown service fields: {', '.join(sorted(unknown))}")
    data = service.model_dump(mode="python")
    data.update(changes)
    data["version"] = service.version + 1
    return Service.model_validate(data)
