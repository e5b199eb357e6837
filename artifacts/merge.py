"""Merge the product's owned items into the operator's prometheus.yml / alertmanager.yml.

Decision (documented in the README): the product edits the live files **textually**, item by item. It finds
the block-style sequences it manages (``scrape_configs``, ``rule_files``, ``receivers``, ``route.routes``) with
the YAML composer's positions, cuts out the lines of the items it owns (recognised by name, see
:mod:`artifacts.renderers.naming`) and inserts the newly rendered items. Every other byte of the file —
operator items, comments, quoting, indentation, key order — stays exactly as it was. The result is parsed
again and must equal the expected document (operator data unchanged, owned items replaced); otherwise the
merge is refused and nothing is written. When the owned items already have the wanted content the input
text is returned unchanged (no write, no reload).

Unsupported (refused with a clear message, file untouched): a managed sequence written in non-empty flow
style (``scrape_configs: [{...}]``), a root that is not a mapping, YAML that does not parse, a scrape job of
the operator that already uses the job name of a service.
"""

from __future__ import annotations

import copy
import hashlib
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from artifacts.renderers import naming
from artifacts.renderers.formatting import dump_yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class MergeError(Exception):
    """The live file cannot be merged safely; the message tells the operator what to fix."""


_PARSE_CACHE: OrderedDict[str, tuple[Any, yaml.Node | None]] = OrderedDict()
_PARSE_CACHE_SIZE = 8


def _parse(text: str, label: str) -> tuple[Any, yaml.Node | None]:
    """Compose and construct ``text`` in one pass (libyaml when available). Results are cached by content: the
    live files are usually exactly what the previous publish wrote, so a worker rarely parses them twice.
    Callers must not mutate the returned data."""
    key = hashlib.sha256(text.encode()).hexdigest()
    cached = _PARSE_CACHE.get(key)
    if cached is not None:
        _PARSE_CACHE.move_to_end(key)
        return cached
    try:
        loader = Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise MergeError(f"{label} is not valid YAML, fix it first: {exc}") from exc
    if data is not None and not isinstance(data, dict):
        raise MergeError(f"{label} must be a YAML mapping at the top level")
    _PARSE_CACHE[key] = (data, node)
    while len(_PARSE_CACHE) > _PARSE_CACHE_SIZE:
        _PARSE_CACHE.popitem(last=False)
    return data, node


def _lookup(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return key_node, value_node
    return None


def _indent_block(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for index, char in enumerate(text):
        if char == "\n":
            starts.append(index + 1)
    return starts


def _block_end_line(lines: list[str], first_line: int, column: int) -> int:
    """Index of the line after a block entry starting at ``first_line`` whose indicator sits at ``column``:
    the entry goes on while lines are blank or indented deeper; trailing blank lines are not part of it."""
    end = first_line + 1
    last_content = first_line + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if stripped:
            indent = len(line) - len(line.lstrip(" "))
            if indent <= column:
                break
            last_content = end + 1
        end += 1
    return last_content


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _insert_key(text: str, mapping: yaml.MappingNode, key: str, value: Any, label: str) -> str:
    """Add ``key: value`` at the end of a block mapping."""
    if mapping.flow_style:
        raise MergeError(f"{label}: cannot add '{key}' to a flow-style mapping; write it in block style")
    block = dump_yaml({key: value})
    if not mapping.value:
        raise MergeError(f"{label}: cannot add '{key}' to an empty mapping")
    column = mapping.value[0][0].start_mark.column
    lines = text.splitlines(keepends=True)
    last_key = mapping.value[-1][0]
    end_line = _block_end_line(lines, last_key.start_mark.line, column)
    head = "".join(lines[:end_line])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + _indent_block(block, column) + "".join(lines[end_line:])


@dataclass(frozen=True)
class SequenceEdit:
    """Replace the owned items of the sequence at ``path`` by ``new_items`` (at its start or end)."""

    path: tuple[str, ...]
    is_owned: Callable[[Any], bool]
    new_items: list[Any]
    at_start: bool = False


def _apply(text: str, edit: SequenceEdit, label: str) -> str:
    data, root = _parse(text, label)
    if root is None:
        if not edit.new_items:
            return text
        nested: Any = edit.new_items
        for key in reversed(edit.path):
            nested = {key: nested}
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return prefix + dump_yaml(nested)
    if not isinstance(root, yaml.MappingNode):
        raise MergeError(f"{label} must be a YAML mapping at the top level")

    node: yaml.MappingNode = root
    for depth, key in enumerate(edit.path):
        found = _lookup(node, key)
        last = depth == len(edit.path) - 1
        if found is None:
            if not edit.new_items:
                return text
            nested = edit.new_items
            for inner in reversed(edit.path[depth + 1 :]):
                nested = {inner: nested}
            if node is root and not node.flow_style:
                prefix = text if text.endswith("\n") else text + "\n"
                return prefix + dump_yaml({key: nested})
            return _insert_key(text, node, key, nested, label)
        key_node, value_node = found
        if last:
            return _splice(text, key_node, value_node, edit, label)
        if _is_null(value_node):
            if not edit.new_items:
                return text
            raise MergeError(f"{label}: '{key}' is empty; give it a mapping first")
        if not isinstance(value_node, yaml.MappingNode):
            raise MergeError(f"{label}: '{'.'.join(edit.path[: depth + 1])}' must be a mapping")
        node = value_node
    raise AssertionError("unreachable")


def _splice(text: str, key_node: yaml.Node, value_node: yaml.Node, edit: SequenceEdit, label: str) -> str:
    where = ".".join(edit.path)
    new_block_items = dump_yaml(edit.new_items) if edit.new_items else ""
    if _is_null(value_node) or (isinstance(value_node, yaml.SequenceNode) and not value_node.value):
        if not edit.new_items:
            return text
        key_column = key_node.start_mark.column
        start, end = value_node.start_mark.index, value_node.end_mark.index
        if isinstance(value_node, yaml.SequenceNode) and not value_node.flow_style:
            raise MergeError(f"{label}: unexpected empty block sequence at '{where}'")
        # Replace `[]` / `~` / nothing after the colon with a block list on the following lines.
        line_end = text.find("\n", end)
        rest_of_line = text[end:] if line_end < 0 else text[end:line_end]
        if rest_of_line.strip() and not rest_of_line.strip().startswith("#"):
            raise MergeError(f"{label}: cannot edit '{where}' (unexpected text after its value)")
        insert_at = len(text) if line_end < 0 else line_end + 1
        head = text[:start].rstrip(" ") + text[end:insert_at]
        if not head.endswith("\n"):
            head += "\n"
        return head + _indent_block(new_block_items, key_column + 2) + text[insert_at:]
    if not isinstance(value_node, yaml.SequenceNode):
        raise MergeError(f"{label}: '{where}' must be a list")
    data, _root = _parse(text, label)
    items_data = data
    for key in edit.path:
        items_data = items_data[key]
    owned = [index for index, item in enumerate(items_data) if edit.is_owned(item)]
    if value_node.flow_style:
        if owned or edit.new_items:
            raise MergeError(f"{label}: '{where}' is written as a flow-style list; write it as a block list")
        return text

    lines = text.splitlines(keepends=True)
    spans: list[tuple[int, int, int]] = []  # (first line, end line, dash column) per item
    for item in value_node.value:
        dash = text.rfind("-", 0, item.start_mark.index)
        dash_line = text.count("\n", 0, dash)
        line_start = text.rfind("\n", 0, dash) + 1
        dash_column = dash - line_start
        spans.append((dash_line, _block_end_line(lines, dash_line, dash_column), dash_column))
    column = spans[0][2]
    remove = set(owned)
    keep_any = len(remove) < len(spans)
    insert_line = spans[0][0] if edit.at_start else spans[-1][1]
    insert_text = _indent_block(new_block_items, column)

    if not keep_any and not edit.new_items:
        # Only owned items were there: leave an explicit empty list.
        colon = text.find(":", key_node.end_mark.index)
        first, last = spans[0][0], spans[-1][1]
        head = text[:colon]
        tail = "".join(lines[last:])
        between = "".join(lines[text.count("\n", 0, colon) + 1 : first])
        return head + ": []\n" + between + tail

    out: list[str] = []
    removed_lines: set[int] = set()
    for index in remove:
        first, end, _col = spans[index]
        removed_lines.update(range(first, end))
    for number, line in enumerate(lines):
        if number == insert_line and insert_text:
            if out and not out[-1].endswith("\n"):
                out[-1] += "\n"
            out.append(insert_text)
        if number not in removed_lines:
            out.append(line)
    if insert_line >= len(lines) and insert_text:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(insert_text)
    return "".join(out)


def apply_edits(text: str, edits: list[SequenceEdit], label: str) -> str:
    """Apply the edits, then check the result parses to exactly the expected document."""
    data, _node = _parse(text, label)
    expected = copy.deepcopy(data) if data is not None else {}
    result = text
    for edit in edits:
        container = expected
        for key in edit.path[:-1]:
            container = container.setdefault(key, {})
        current = container.get(edit.path[-1]) or []
        kept = [item for item in current if not edit.is_owned(item)]
        if current or edit.new_items:
            container[edit.path[-1]] = list(edit.new_items) + kept if edit.at_start else kept + list(edit.new_items)
        result = _apply(result, edit, label)
    merged, _node = _parse(result, label)
    if (merged or {}) != expected:
        raise MergeError(
            f"{label}: the merged file would not match the intended content (unusual layout?); nothing was written"
        )
    return result


# --- Prometheus ----------------------------------------------------------------------------------------


def owned_job_service(job: Any) -> str | None:
    """The service owning a scrape job (its only file_sd file is an owned targets file), else None."""
    if not isinstance(job, dict):
        return None
    sd = job.get("file_sd_configs")
    if not isinstance(sd, list) or len(sd) != 1 or not isinstance(sd[0], dict):
        return None
    files = sd[0].get("files")
    if not isinstance(files, list) or len(files) != 1:
        return None
    return naming.service_of_targets_file(str(files[0]))


def owned_jobs(data: Any) -> dict[str, dict]:
    jobs = (data or {}).get("scrape_configs") or []
    return {service: job for job in jobs if (service := owned_job_service(job))}


def merge_prometheus_config(
    text: str,
    *,
    jobs: Mapping[str, dict | None],
    keep_services: set[str] | None = None,
    rules_glob: str | None = None,
    label: str = "prometheus.yml",
) -> str:
    """Set the owned scrape jobs of ``jobs`` (service → job, None removes it); owned jobs of services that are
    neither in ``jobs`` nor in ``keep_services`` (when given) are removed too. Adds ``rules_glob`` to
    ``rule_files`` once."""
    data, _node = _parse(text, label)
    current = owned_jobs(data)
    wanted = dict(current)
    for service, job in jobs.items():
        if job is None:
            wanted.pop(service, None)
        else:
            wanted[service] = job
    if keep_services is not None:
        wanted = {s: j for s, j in wanted.items() if s in keep_services or s in jobs}
    foreign = {
        job.get("job_name")
        for job in ((data or {}).get("scrape_configs") or [])
        if isinstance(job, dict) and owned_job_service(job) is None
    }
    names: dict[str, str] = {}
    for service, job in wanted.items():
        if job["job_name"] in foreign:
            raise MergeError(
                f"{label} already has a scrape job named '{job['job_name']}' that IXNode does not own. Remove or "
                f"rename it (register its targets with the targets API instead), or pick another Prometheus job "
                f"name for service '{service}'."
            )
        if job["job_name"] in names:
            raise MergeError(
                f"services '{names[job['job_name']]}' and '{service}' both use Prometheus job '{job['job_name']}'"
            )
        names[job["job_name"]] = service
    edits: list[SequenceEdit] = []
    changed = {s for s in set(current) | set(wanted) if current.get(s) != wanted.get(s)}
    if changed:
        edits.append(
            SequenceEdit(
                path=("scrape_configs",),
                is_owned=lambda job: owned_job_service(job) in changed,
                new_items=[wanted[s] for s in sorted(changed) if s in wanted],
            )
        )
    rule_files = (data or {}).get("rule_files") or []
    if rules_glob and rules_glob not in rule_files:
        edits.append(
            SequenceEdit(path=("rule_files",), is_owned=lambda item: item == rules_glob, new_items=[rules_glob])
        )
    return apply_edits(text, edits, label) if edits else text


# --- Alertmanager --------------------------------------------------------------------------------------


def owned_route_service(route: Any) -> str | None:
    return naming.service_of_receiver(route.get("receiver", "")) if isinstance(route, dict) else None


def owned_receiver_service(receiver: Any) -> str | None:
    return naming.service_of_receiver(receiver.get("name", "")) if isinstance(receiver, dict) else None


def owned_alertmanager_items(data: Any) -> tuple[dict[str, dict], dict[str, dict]]:
    routes = ((data or {}).get("route") or {}).get("routes") or []
    receivers = (data or {}).get("receivers") or []
    return (
        {s: r for r in routes if (s := owned_route_service(r))},
        {s: r for r in receivers if (s := owned_receiver_service(r))},
    )


def merge_alertmanager_config(
    text: str,
    *,
    services: Mapping[str, tuple[dict, dict] | None],
    keep_services: set[str] | None = None,
    label: str = "alertmanager.yml",
) -> str:
    """Set the owned route and receiver of each service (``(route, receiver)``, None removes both); routes go
    first under ``route.routes`` so the operator's routes cannot swallow autoscale alerts."""
    data, _node = _parse(text, label)
    if data is not None and not isinstance(data.get("route"), dict):
        raise MergeError(f"{label} has no top-level 'route' mapping; Alertmanager needs one")
    current_routes, current_receivers = owned_alertmanager_items(data)
    wanted_routes, wanted_receivers = dict(current_routes), dict(current_receivers)
    for service, pair in services.items():
        if pair is None:
            wanted_routes.pop(service, None)
            wanted_receivers.pop(service, None)
        else:
            wanted_routes[service], wanted_receivers[service] = pair
    if keep_services is not None:
        wanted_routes = {s: r for s, r in wanted_routes.items() if s in keep_services or s in services}
        wanted_receivers = {s: r for s, r in wanted_receivers.items() if s in keep_services or s in services}
    edits: list[SequenceEdit] = []
    changed_receivers = {
        s for s in set(current_receivers) | set(wanted_receivers) if current_receivers.get(s) != wanted_receivers.get(s)
    }
    changed_routes = {
        s for s in set(current_routes) | set(wanted_routes) if current_routes.get(s) != wanted_routes.get(s)
    }
    if changed_receivers:
        edits.append(
            SequenceEdit(
                path=("receivers",),
                is_owned=lambda r: owned_receiver_service(r) in changed_receivers,
                new_items=[wanted_receivers[s] for s in sorted(changed_receivers) if s in wanted_receivers],
            )
        )
    if changed_routes:
        edits.append(
            SequenceEdit(
                path=("route", "routes"),
                is_owned=lambda r: owned_route_service(r) in changed_routes,
                new_items=[wanted_routes[s] for s in sorted(changed_routes) if s in wanted_routes],
                at_start=True,
            )
        )
    return apply_edits(text, edits, label) if edits else text
