"""Merge the product's owned items into the operator's prometheus.yml / alertmanager.yml, in whatever YAML style
the operator wrote them.

How: the file is parsed once with libyaml (PyYAML's C loader). The node tree gives the exact position of each
managed list (``scrape_configs``, ``rule_files``, ``receivers``, ``route.routes``) and of every item in it; the
constructed data says which items are the product's (recognised by name, :mod:`artifacts.renderers.naming`). The
change is then a few text splices at those positions — owned items cut out, new items put in — so every byte
outside them stays as it was: operator items, comments, quoting, indentation, key order, anchors, line endings
(CRLF files get CRLF lines), a byte-order mark. The result is parsed again and must equal the intended document
(operator data unchanged, owned items replaced); otherwise the merge is refused and nothing is written. When the
owned items already have the wanted content the input text is returned unchanged (no write, no reload).

Per style of the managed list:

- **block list**: an item is its dash line plus the lines indented deeper (its trailing comment lines stay in
  place). New items are block items at the list's own dash column — routes right after the ``routes:`` line (before
  the operator's, so theirs cannot swallow autoscale alerts), everything else after the last item.
- **flow list** (``rule_files: ['/etc/prometheus/rules/*.yml']``, ``scrape_configs: [{...}]``, a JSON file): new
  items are JSON flow items on the list's own line (``, "x"`` after the last item, or ``"x", `` before the first),
  valid in any flow context and in JSON; removing them cuts exactly that text. A long flow list is not re-wrapped.
- **empty value** (``rule_files:`` with only comments under it, as in Debian's sample prometheus.yml): the items go
  right under the key; removing them gives back the same lines.
- **missing key**: added after the last entry of its mapping — as a block list whose key line is marked
  ``# added by IXNode Autoscaling``, or in a flow mapping as ``, "key": [...]`` (recognised by that exact text) —
  and removed again with its last item.

So merge then unmerge gives the operator's document back byte for byte — a file without a final line break keeps
having none — with one exception, where the text cannot carry what it was: an explicit null (``routes: ~``,
``rule_files: null``) comes back as the empty value (``routes:``), which means the same to Prometheus and
Alertmanager.

Refused with a message (:class:`MergeError`, file untouched): text that is not YAML, several documents, a top level
that is not a mapping, a key set twice in one mapping (Prometheus and Alertmanager refuse those too, and the
merge would edit one copy while they read the other), recursive aliases or aliases that expand to far more nodes
than the file has, files over 16 MiB, line breaks other than LF / CRLF, a managed list that is an alias of one
defined elsewhere, an operator scrape job that already uses a service's job name, and any layout where the
inserted items would not parse back to the intended document.

Why libyaml text splices and not a round-trip library (ruamel.yaml was measured for this): its round-trip dump
re-indents and re-spaces lines it was not asked to touch — Debian's own sample prometheus.yml comes back with 10 of
its 44 lines changed (``scrape_interval:     15s`` re-spaced, the 4-space ``external_labels`` and the indented
sequences re-indented), so the operator's file could not be given back; and its pure-Python parser takes 13 to 17
times as long as libyaml (0.95 s / 3.5 s against 0.07 s / 0.21 s for the prometheus.yml / alertmanager.yml of 1,000
services), on every publish.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import posixpath
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

from artifacts.renderers import naming
from artifacts.renderers.formatting import dump_yaml

Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 16 * 1024 * 1024
ADDED_MARKER = "# added by IXNode Autoscaling"
BOM = "\ufeff"
NULL_TAG = "tag:yaml.org,2002:null"
STR_TAG = "tag:yaml.org,2002:str"
MERGE_TAG = "tag:yaml.org,2002:merge"
# Line breaks libyaml honours besides LF/CRLF; the splicer works on LF lines, so files using them are refused.
_OTHER_BREAKS = {"\r": "CR (old Mac)", "\x85": "NEL (U+0085)", "\u2028": "U+2028", "\u2029": "U+2029"}
# Aliases may repeat a node; a document expanding to more than this many times its own size (plus a margin) is an
# alias bomb, not a config.
_ALIAS_EXPANSION_FACTOR = 10
_ALIAS_EXPANSION_MARGIN = 100_000


class MergeError(Exception):
    """The live file cannot be merged safely; the message tells the operator what to fix."""


@dataclass
class Parsed:
    """One parsed file: its text (without a byte-order mark), data, node tree and line-break style."""

    text: str
    bom: str
    data: Any
    root: yaml.MappingNode | None  # None for an empty document
    newline: str
    label: str
    _line_starts: list[int] = field(default_factory=list)

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        """Index just after the line break of the line holding ``pos`` (the text's end on the last line)."""
        end = self.text.find("\n", pos)
        return len(self.text) if end < 0 else end + 1

    def line_number(self, pos: int) -> int:
        if not self._line_starts:
            self._line_starts = [0, *(m.end() for m in re.finditer("\n", self.text))]
        return bisect.bisect_right(self._line_starts, pos)

    def line(self, start: int) -> tuple[int, str]:
        """The indentation (spaces) and the content (without line break) of the line starting at ``start``."""
        end = self.text.find("\n", start)
        raw = self.text[start : len(self.text) if end < 0 else end].rstrip("\r")
        content = raw.lstrip(" ")
        return len(raw) - len(content), content

    def error(self, pos: int, message: str) -> MergeError:
        return MergeError(f"{self.label} line {self.line_number(pos)}: {message}")


_PARSE_CACHE: OrderedDict[str, Parsed] = OrderedDict()
_PARSE_CACHE_SIZE = 8


def parse(text: str, label: str) -> Parsed:
    """Parse and check ``text`` (see the module docstring for what is refused). Results are cached by content: the
    live files are usually exactly what the previous publish wrote, so a worker rarely parses them twice. Callers
    must not mutate the returned data."""
    encoded = text.encode("utf-8", "surrogatepass")
    key = hashlib.sha256(encoded).hexdigest() + label
    cached = _PARSE_CACHE.get(key)
    if cached is not None:
        _PARSE_CACHE.move_to_end(key)
        return cached
    if len(encoded) > MAX_BYTES:
        raise MergeError(
            f"{label} is {len(encoded) // (1024 * 1024)} MiB; IXNode edits files up to {MAX_BYTES // (1024 * 1024)} MiB"
        )
    bom = BOM if text.startswith(BOM) else ""
    body = text[len(bom) :]
    for char, name in _OTHER_BREAKS.items():
        index = body.replace("\r\n", "\n\n").find(char) if char == "\r" else body.find(char)
        if index >= 0:
            line = body.count("\n", 0, index) + 1
            raise MergeError(
                f"{label} line {line}: uses a {name} line break; IXNode edits files with LF or CRLF line breaks only"
            )
    parsed = Parsed(body, bom, None, None, "\r\n" if body.count("\r\n") * 2 > body.count("\n") else "\n", label)
    try:
        loader = _CheckingLoader(body, parsed)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise MergeError(f"{label} is not valid YAML, fix it first: {exc}") from exc
    except RecursionError as exc:
        raise MergeError(f"{label} is nested too deeply to be a Prometheus or Alertmanager config") from exc
    for node, value in loader.merges:  # the constructor flattened `<<` merges into the nodes: undo that
        node.value = value
    if loader.reused:
        _check_aliases(parsed, loader.reused, loader.distinct)
    if data is not None and not isinstance(data, dict):
        raise MergeError(f"{label} must be a YAML mapping at the top level")
    parsed.data, parsed.root = data, root if isinstance(root, yaml.MappingNode) else None
    _PARSE_CACHE[key] = parsed
    while len(_PARSE_CACHE) > _PARSE_CACHE_SIZE:
        _PARSE_CACHE.popitem(last=False)
    return parsed


class _CheckingLoader(Loader):  # type: ignore[misc,valid-type]
    """libyaml's loader that also refuses keys set twice in one mapping, counts the nodes it constructs and those it
    meets again through aliases, and keeps the entries of mappings with ``<<`` merge keys as the text has them (the
    constructor flattens them in place). The checks ride on the construction: no extra walk over a big file."""

    def __init__(self, stream: str, doc: Parsed) -> None:
        super().__init__(stream)
        self.doc = doc
        self.distinct = 0
        self.reused: list[yaml.Node] = []
        self.merges: list[tuple[yaml.MappingNode, list]] = []
        self._checked: set[int] = set()

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects:
            self.reused.append(node)
        else:
            self.distinct += 1
        return super().construct_object(node, deep)

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        if id(node) not in self._checked:  # first sight: the entries are still those of the text
            self._checked.add(id(node))
            seen: dict[tuple[str, str], yaml.Node] = {}
            merges = False
            for key_node, _value in node.value:
                if key_node.tag == MERGE_TAG:
                    merges = True
                elif isinstance(key_node, yaml.ScalarNode):
                    first = seen.setdefault((key_node.tag, key_node.value), key_node)
                    if first is not key_node:
                        raise self.doc.error(
                            key_node.start_mark.index,
                            f"the key '{key_node.value}' is set twice in one mapping (first on line "
                            f"{first.start_mark.line + 1}); Prometheus and Alertmanager refuse that too — remove one",
                        )
            if merges:
                self.merges.append((node, list(node.value)))
        super().flatten_mapping(node)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_aliases(doc: Parsed, reused: list[yaml.Node], distinct: int) -> None:
    """Refuse recursive aliases and alias bombs. Only the nodes that aliases point at are walked (iteratively), with
    their expanded sizes memoized: the document expands to about ``distinct`` plus each alias' expanded size."""
    expanded: dict[int, int] = {}
    for target in {id(node): node for node in reused}.values():
        on_path: set[int] = set()
        stack: list[tuple[yaml.Node, bool]] = [(target, False)]
        while stack:
            node, finished = stack.pop()
            ident = id(node)
            if finished:
                on_path.discard(ident)
                expanded[ident] = 1 + sum(expanded[id(child)] for child in _children(node))
            elif ident in on_path:
                raise doc.error(node.start_mark.index, "an alias refers to the node that contains it (recursive alias)")
            elif ident not in expanded:
                on_path.add(ident)
                stack.append((node, True))
                stack.extend((child, False) for child in _children(node) if id(child) not in expanded)
    total = distinct + sum(expanded[id(node)] for node in reused)
    if total > distinct * _ALIAS_EXPANSION_FACTOR + _ALIAS_EXPANSION_MARGIN:
        raise MergeError(
            f"{doc.label}: its aliases expand {distinct} YAML nodes to {total}; that is an alias bomb, not a config"
        )


# --- text positions ------------------------------------------------------------------------------------


def _skip_blank(text: str, pos: int) -> int:
    """Skip whitespace, line breaks and comments."""
    while pos < len(text):
        char = text[pos]
        if char in " \t\r\n":
            pos += 1
        elif char == "#" and (pos == 0 or text[pos - 1] in " \t\r\n"):
            end = text.find("\n", pos)
            pos = len(text) if end < 0 else end
        else:
            break
    return pos


def _skip_properties(text: str, pos: int) -> int:
    """Skip blanks and node properties (``&anchor``, ``!tag``) to the node's first character."""
    pos = _skip_blank(text, pos)
    while pos < len(text) and text[pos] in "&!":
        while pos < len(text) and text[pos] not in " \t\r\n":
            pos += 1
        pos = _skip_blank(text, pos)
    return pos


def _alias_end(text: str, pos: int) -> int:
    end = pos + 1
    while end < len(text) and text[end] not in " \t\r\n,[]{}":
        end += 1
    return end


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL_TAG


def _lookup(node: yaml.MappingNode, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag == STR_TAG and key_node.value == key:
            return key_node, value_node
    return None


def _is_dash(content: str) -> bool:
    """Whether a line's content (indentation stripped) starts a block sequence item."""
    return content[0] == "-" and content[1:2] in ("", " ", "\t")


@dataclass(frozen=True)
class _BlockItem:
    start: int  # start of the dash line
    end: int  # after its last line that is not a comment
    tail: int  # after its last line, trailing comment lines indented deeper included


def _block_items(doc: Parsed, seq: yaml.SequenceNode, where: str) -> tuple[list[_BlockItem], int]:
    """The items of a block sequence as line spans, and the column of its dashes."""
    text = doc.text
    first = _skip_properties(text, seq.start_mark.index)
    if text[first : first + 1] != "-":
        raise doc.error(first, f"cannot find the items of '{where}'")
    column = first - doc.line_start(first)
    items: list[_BlockItem] = []
    start = end = tail = -1
    line = doc.line_start(first)
    while line < len(text) and line < seq.end_mark.index:
        next_line = doc.line_end(line)
        indent, content = doc.line(line)
        if content.startswith("#"):  # a comment deeper than the dashes trails the item; others sit between items
            if indent > column and start >= 0:
                tail = next_line
        elif content:
            if indent == column and _is_dash(content):
                if start >= 0:
                    items.append(_BlockItem(start, end, tail))
                start, end, tail = line, next_line, next_line
            elif indent > column:
                end = tail = next_line
            else:
                break
        line = next_line
    if start >= 0:
        items.append(_BlockItem(start, end, tail))
    if len(items) != len(seq.value):
        raise doc.error(first, f"the items of '{where}' are laid out in a way IXNode cannot edit safely")
    return items, column


def _flow_items(doc: Parsed, seq: yaml.SequenceNode, where: str) -> tuple[int, list[tuple[int, int]]]:
    """The position of a flow sequence's ``[`` and the exact text span of each of its items."""
    text = doc.text
    opening = _skip_properties(text, seq.start_mark.index)
    if text[opening : opening + 1] != "[":
        raise doc.error(opening, f"cannot find the start of '{where}'")
    spans: list[tuple[int, int]] = []
    pos = opening + 1
    for index, item in enumerate(seq.value):
        pos = _skip_blank(text, pos)
        if index:
            if text[pos : pos + 1] != ",":
                raise doc.error(pos, f"cannot find the items of '{where}'")
            pos = _skip_blank(text, pos + 1)
        if text[pos : pos + 1] == "*":
            spans.append((pos, _alias_end(text, pos)))
        elif item.start_mark.index == pos:
            spans.append((pos, item.end_mark.index))
        else:
            raise doc.error(pos, f"cannot find the items of '{where}'")
        pos = spans[-1][1]
    pos = _skip_blank(text, pos)
    if text[pos : pos + 1] == ",":
        pos = _skip_blank(text, pos + 1)
    if text[pos : pos + 1] != "]" or pos + 1 != seq.end_mark.index:
        raise doc.error(pos, f"cannot find the end of '{where}'")
    return opening, spans


def _block_entries_end(doc: Parsed, mapping: yaml.MappingNode) -> tuple[int, int]:
    """The column of a block mapping's keys and the index after the last line of its last entry: lines indented
    deeper (comments too) or dash lines at the keys' column (an indentless list); trailing blank lines and comment
    lines at the keys' column or less are not part of it."""
    column = mapping.value[0][0].start_mark.column
    end = doc.line_end(mapping.value[-1][0].start_mark.index)
    line = end
    while line < len(doc.text) and line < mapping.end_mark.index:
        next_line = doc.line_end(line)
        indent, content = doc.line(line)
        if indent > column and content or (indent == column and content and _is_dash(content)):
            end = next_line
        elif content and not content.startswith("#"):
            break
        line = next_line
    return column, end


def _flow_entries_end(doc: Parsed, mapping: yaml.MappingNode) -> int:
    """Where a new entry of a flow mapping goes: after its last value, or after ``{`` when it is empty."""
    text = doc.text
    if not mapping.value:
        opening = _skip_properties(text, mapping.start_mark.index)
        if text[opening : opening + 1] != "{":
            raise doc.error(opening, "cannot find the start of a flow mapping")
        return opening + 1
    key_node, value_node = mapping.value[-1]
    if value_node.start_mark.index >= key_node.end_mark.index:
        return max(key_node.end_mark.index, value_node.end_mark.index)
    pos = _skip_blank(text, key_node.end_mark.index)  # the value is an alias: `key: *name`
    if text[pos : pos + 1] == ":":
        pos = _skip_blank(text, pos + 1)
    if text[pos : pos + 1] != "*":
        raise doc.error(pos, "cannot find the end of a flow mapping")
    return _alias_end(text, pos)


# --- rendering -----------------------------------------------------------------------------------------


def _block_text(doc: Parsed, data: Any, column: int) -> str:
    pad = " " * column
    text = "".join(pad + line if line.strip() else line for line in dump_yaml(data).splitlines(keepends=True))
    return text.replace("\n", doc.newline) if doc.newline != "\n" else text


def _flow_text(item: Any) -> str:
    """An item as a JSON flow node: valid in any YAML flow context and in a JSON file."""
    return json.dumps(item, ensure_ascii=False, separators=(", ", ": "))


def _new_key_text(doc: Parsed, keys: tuple[str, ...], items: list[Any], column: int) -> str:
    nested: Any = items
    for key in reversed(keys[1:]):
        nested = {key: nested}
    head = " " * column + f"{keys[0]}:  {ADDED_MARKER}{doc.newline}"
    return head + _block_text(doc, nested, column + 2)


# --- edits ---------------------------------------------------------------------------------------------


class Splice(NamedTuple):
    """Replace ``text[start:end]`` by ``text``. At one position, ``late`` splices (a new key) go after the others
    (items appended to the list that ends there)."""

    start: int
    end: int
    text: str
    late: bool = False
    flow_entry: bool = False  # an entry added to a flow mapping: two at one place need a comma between them


@dataclass(frozen=True)
class SequenceEdit:
    """Replace the owned items of the sequence at ``path`` by ``new_items`` (at its start or end)."""

    path: tuple[str, ...]
    is_owned: Callable[[Any], bool]
    new_items: list[Any]
    at_start: bool = False


def _edit_splices(doc: Parsed, edit: SequenceEdit) -> list[Splice]:
    new = list(edit.new_items)
    if doc.root is None:  # empty file, comments only, or a null document
        if not new:
            return []
        end = len(doc.text)
        return [Splice(end, end, _new_key_text(doc, edit.path, new, 0), late=True)]
    mapping = doc.root
    data: Any = doc.data
    for depth, key in enumerate(edit.path):
        where = ".".join(edit.path[: depth + 1])
        found = _lookup(mapping, key)
        if found is None:
            return _add_key(doc, mapping, edit.path[depth:], new) if new else []
        key_node, value = found
        if value.start_mark.index < key_node.end_mark.index:
            raise doc.error(
                key_node.start_mark.index,
                f"'{where}' is an alias of a node defined elsewhere; write it out so IXNode can edit it alone",
            )
        data = data[key]
        if depth == len(edit.path) - 1:
            break
        if _is_null(value):
            if not new:
                return []
            raise doc.error(key_node.start_mark.index, f"'{where}' is empty; give it a mapping first")
        if not isinstance(value, yaml.MappingNode):
            raise doc.error(key_node.start_mark.index, f"'{where}' must be a mapping")
        mapping = value
    where = ".".join(edit.path)
    if _is_null(value):
        return _fill_null(doc, mapping, key_node, value, new) if new else []
    if not isinstance(value, yaml.SequenceNode):
        raise doc.error(key_node.start_mark.index, f"'{where}' must be a list")
    owned = {index for index, item in enumerate(data) if edit.is_owned(item)}
    if value.flow_style:
        if len(owned) == len(value.value) and not new and (added := _added_flow_entry(doc, mapping, key_node, value)):
            return [added]  # the product added this key to a flow mapping: it goes with its last item
        return _flow_splices(doc, value, owned, new, edit.at_start, where)
    return _block_splices(doc, key_node, value, owned, new, edit.at_start, where)


def _block_splices(
    doc: Parsed, key_node: yaml.Node, seq: yaml.SequenceNode, owned: set[int], new: list[Any], at_start: bool,
    where: str,
) -> list[Splice]:
    items, column = _block_items(doc, seq, where)
    if len(owned) == len(items) and not new:
        line = doc.line_start(key_node.start_mark.index)
        if _has_marker(doc, key_node) and not doc.text[line : key_node.start_mark.index].strip():
            return [Splice(line, items[-1].end, "")]  # the product added this key: it goes with its last item
    splices: list[Splice] = [Splice(items[index].start, items[index].end, "") for index in sorted(owned)]
    if new:
        block = _block_text(doc, new, column)
        pos = doc.line_end(key_node.end_mark.index) if at_start else items[-1].tail
        splices.append(Splice(pos, pos, block))
    return splices


def _flow_splices(
    doc: Parsed, seq: yaml.SequenceNode, owned: set[int], new: list[Any], at_start: bool, where: str
) -> list[Splice]:
    opening, spans = _flow_items(doc, seq, where)
    splices: list[Splice] = []
    index = 0
    while index < len(spans):  # each run of owned items goes with the separator that joins it to a kept neighbour
        if index not in owned:
            index += 1
            continue
        last = index
        while last + 1 < len(spans) and last + 1 in owned:
            last += 1
        if last + 1 < len(spans):
            splices.append(Splice(spans[index][0], spans[last + 1][0], ""))
        elif index > 0:
            splices.append(Splice(spans[index - 1][1], spans[last][1], ""))
        else:
            splices.append(Splice(spans[0][0], spans[-1][1], ""))
        index = last + 1
    if new:
        items = ", ".join(_flow_text(item) for item in new)
        kept = [index for index in range(len(spans)) if index not in owned]
        if not kept:
            splices.append(Splice(opening + 1, opening + 1, items))
        elif at_start:
            splices.append(Splice(spans[kept[0]][0], spans[kept[0]][0], items + ", "))
        else:
            splices.append(Splice(spans[kept[-1]][1], spans[kept[-1]][1], ", " + items))
    return splices


def _fill_null(
    doc: Parsed, mapping: yaml.MappingNode, key_node: yaml.Node, value: yaml.Node, new: list[Any]
) -> list[Splice]:
    """Give an empty value (``key:``, ``key: ~``) its first items."""
    start, end = value.start_mark.index, value.end_mark.index
    if mapping.flow_style:
        lead = " " if doc.text[start - 1 : start] == ":" else ""
        return [Splice(start, end, lead + "[" + ", ".join(_flow_text(item) for item in new) + "]")]
    splices: list[Splice] = []
    if end > start:  # an explicit null token: drop it and the spaces before it
        while start > key_node.end_mark.index and doc.text[start - 1] in " \t":
            start -= 1
        splices.append(Splice(start, end, ""))
    pos = doc.line_end(key_node.end_mark.index)
    splices.append(Splice(pos, pos, _block_text(doc, new, key_node.start_mark.column + 2)))
    return splices


def _add_key(doc: Parsed, mapping: yaml.MappingNode, keys: tuple[str, ...], new: list[Any]) -> list[Splice]:
    if mapping.flow_style:
        nested: Any = new
        for key in reversed(keys[1:]):
            nested = {key: nested}
        pos = _flow_entries_end(doc, mapping)
        entry = f"{json.dumps(keys[0])}: {_flow_text(nested)}"
        return [Splice(pos, pos, (", " if mapping.value else "") + entry, late=True, flow_entry=True)]
    column, pos = _block_entries_end(doc, mapping)
    return [Splice(pos, pos, _new_key_text(doc, keys, new, column), late=True)]


def _added_flow_entry(
    doc: Parsed, mapping: yaml.MappingNode, key_node: yaml.Node, seq: yaml.SequenceNode
) -> Splice | None:
    """The text span of an entry exactly as :func:`_add_key` writes it into a flow mapping (``, "key": [...]``
    after another entry, ``"key": [...]`` as the first), else None. A comment cannot mark a key in a flow mapping;
    its exact text does."""
    text = doc.text
    if not mapping.flow_style:
        return None
    if text[key_node.start_mark.index : seq.start_mark.index] != json.dumps(key_node.value) + ": ":
        return None
    index = next(i for i, (key, _value) in enumerate(mapping.value) if key is key_node)
    if index == 0:  # `{"key": [...]}` or `{"key": [...], next: ...}`
        if _skip_properties(text, mapping.start_mark.index) + 1 != key_node.start_mark.index:
            return None
        if len(mapping.value) == 1:
            return Splice(key_node.start_mark.index, seq.end_mark.index, "")
        following = mapping.value[1][0].start_mark.index
        if text[seq.end_mark.index : following] != ", ":
            return None
        return Splice(key_node.start_mark.index, following, "")
    previous_key, previous_value = mapping.value[index - 1]
    start = key_node.start_mark.index - 2
    if previous_value.start_mark.index < previous_key.end_mark.index or text[start : start + 2] != ", ":
        return None
    if max(previous_key.end_mark.index, previous_value.end_mark.index) != start:
        return None
    return Splice(start, seq.end_mark.index, "")


def _has_marker(doc: Parsed, key_node: yaml.Node) -> bool:
    rest = doc.text[key_node.end_mark.index : doc.line_end(key_node.end_mark.index)]
    return re.fullmatch(r"\s*:\s*" + re.escape(ADDED_MARKER) + r"\s*", rest) is not None


def _unterminated_end(doc: Parsed, splices: list[Splice]) -> list[Splice]:
    """A file whose last line has no line break keeps it so: what is appended at its end starts with a line break
    and ends without one, and a removal that reaches the end takes the line break before it (so that removing
    what was appended gives the file back)."""
    end = len(doc.text)
    ordered: list[Splice] = []
    for splice in sorted(splices, key=lambda s: (s.start, s.end, s.late)):
        previous = ordered[-1] if ordered else None
        if previous and not previous.text and not splice.text and previous.end == splice.start < splice.end:
            ordered[-1] = previous._replace(end=splice.end)  # touching removals: one
        else:
            ordered.append(splice)
    for index, splice in enumerate(ordered):
        reaches_end = not splice.text and 0 < splice.start < splice.end == end
        if reaches_end and doc.text[splice.start - 1] == "\n":
            start = splice.start - (2 if doc.text[splice.start - 2 : splice.start] == "\r\n" else 1)
            if index == 0 or ordered[index - 1].end <= start:
                ordered[index] = splice._replace(start=start)
    appended = [index for index, splice in enumerate(ordered) if splice.start == end and splice.text]
    if appended:
        first, last = appended[0], appended[-1]
        ordered[first] = ordered[first]._replace(text=doc.newline + ordered[first].text)
        ordered[last] = ordered[last]._replace(text=ordered[last].text.removesuffix(doc.newline))
    return ordered


def _splice(text: str, splices: list[Splice]) -> str:
    out: list[str] = []
    pos = 0
    previous: Splice | None = None
    for splice in sorted(splices, key=lambda s: (s.start, s.end, s.late)):
        if splice.start < pos and previous and not previous.text and not splice.text:
            pos = max(pos, splice.end)  # two removals that overlap (the separator between two added entries)
            continue
        if splice.start < pos:  # the edits of one file touch disjoint lists; refuse rather than write a mangled file
            raise MergeError("IXNode's edits of this file overlap (unusual layout); nothing was written")
        joiner = ""
        if splice.flow_entry and previous and previous.flow_entry and previous.start == splice.start:
            joiner = "" if splice.text.startswith(", ") else ", "
        out += [text[pos : splice.start], joiner, splice.text]
        pos, previous = splice.end, splice
    out.append(text[pos:])
    return "".join(out)


def _with_edits(data: Any, edits: list[SequenceEdit], *, apply: bool) -> dict:
    """A shallow copy of ``data`` with the edits applied (``apply``) and each edited list that is empty or null
    left out, so both sides of the check compare alike whether a list ended as ``[]``, empty or gone."""
    result: dict = dict(data or {})
    for edit in edits:
        container = result
        for key in edit.path[:-1]:
            inner = container.get(key)
            container[key] = inner = dict(inner) if isinstance(inner, dict) else {}
            container = inner
        current = container.get(edit.path[-1])
        if apply:
            kept = [item for item in (current or []) if not edit.is_owned(item)]
            current = list(edit.new_items) + kept if edit.at_start else kept + list(edit.new_items)
        if current is None or current == []:
            container.pop(edit.path[-1], None)
        else:
            container[edit.path[-1]] = current
    return result


def apply_edits(text: str, edits: list[SequenceEdit], label: str) -> str:
    """Apply the edits as text splices, then check the result parses to exactly the expected document."""
    doc = parse(text, label)
    splices = [splice for edit in edits for splice in _edit_splices(doc, edit)]
    if not splices:
        return text
    if doc.text and not doc.text.endswith("\n"):
        splices = _unterminated_end(doc, splices)
    result = doc.bom + _splice(doc.text, splices)
    where = min(splice.start for splice in splices)
    try:
        merged = parse(result, label)
    except MergeError as exc:
        raise MergeError(
            f"{label}: IXNode's items would not fit the layout near line {doc.line_number(where)} ({exc}); "
            "nothing was written"
        ) from exc
    if _with_edits(merged.data, edits, apply=False) != _with_edits(doc.data, edits, apply=True):
        raise MergeError(
            f"{label}: the merged file would not match the intended content (unusual layout near line "
            f"{doc.line_number(where)}?); nothing was written"
        )
    return result


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


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


def owned_rule_files_entry(item: Any) -> bool:
    """The product's ``rule_files`` entry: ``<rules dir>/ixnode-*.rules.yml`` (whatever the rules dir was)."""
    return isinstance(item, str) and posixpath.basename(item) == naming.RULES_GLOB


def owned_jobs(data: Any) -> dict[str, dict]:
    jobs = _as_list((data or {}).get("scrape_configs"))
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
    neither in ``jobs`` nor in ``keep_services`` (when given) are removed too. ``rules_glob`` is the one owned
    ``rule_files`` entry while any owned job remains; with the last one it goes too."""
    data = parse(text, label).data
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
        for job in _as_list((data or {}).get("scrape_configs"))
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
    if rules_glob is not None:
        rule_files = _as_list((data or {}).get("rule_files"))
        wanted_rules = [rules_glob] if wanted else []
        if [item for item in rule_files if owned_rule_files_entry(item)] != wanted_rules:
            edits.append(SequenceEdit(path=("rule_files",), is_owned=owned_rule_files_entry, new_items=wanted_rules))
    return apply_edits(text, edits, label) if edits else text


# --- Alertmanager --------------------------------------------------------------------------------------


def owned_route_service(route: Any) -> str | None:
    return naming.service_of_receiver(route.get("receiver", "")) if isinstance(route, dict) else None


def owned_receiver_service(receiver: Any) -> str | None:
    return naming.service_of_receiver(receiver.get("name", "")) if isinstance(receiver, dict) else None


def owned_alertmanager_items(data: Any) -> tuple[dict[str, dict], dict[str, dict]]:
    route = (data or {}).get("route")
    routes = _as_list(route.get("routes")) if isinstance(route, dict) else []
    receivers = _as_list((data or {}).get("receivers"))
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
    data = parse(text, label).data
    if not isinstance((data or {}).get("route"), dict):
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
