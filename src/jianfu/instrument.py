"""Questionnaire definitions: load, validate and dump ``instruments/*.yaml``.

The YAML keys are a contract shared by scoring, ingest, the synthetic generator and
the report: ``id``, ``version``, ``title.{zh,en}``, ``response_scales``, ``scales``,
``demographics``, ``attention_checks`` and ``quality`` (see ``docs/instrument.md``). A key the
loader does not know is refused with its file and line: in YAML an unquoted comma inside a flow
mapping silently cuts a text and turns the rest into a stray key, so nothing unknown passes.

Examples
--------
>>> from jianfu import paths
>>> from jianfu.instrument import load_instrument
>>> inst = load_instrument(paths.DEFAULT_INSTRUMENT)
>>> [s.id for s in inst.first_order_scales][:2]
['accountability_pressure', 'blame_avoidance']
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from jianfu.errors import InstrumentError

__all__ = [
    "Text",
    "Item",
    "ResponseScale",
    "Scale",
    "Demographic",
    "AttentionCheck",
    "OpenQuestion",
    "Quality",
    "CarelessRule",
    "FLAG_NAMES",
    "CARELESS_INDICES",
    "ALL_FLAGS",
    "Instrument",
    "InstrumentError",
    "load_instrument",
    "parse_instrument",
    "dump_instrument",
    "verify_sources",
]


class _Model(BaseModel):
    # An unknown key is refused: it is how an unquoted comma in a flow mapping shows itself
    # ({en: a, b} parses as en: "a" plus a stray key "b").
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(_Model):
    """A text in Chinese and English; both are required and non-empty."""

    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Source(_Model):
    """Where an item comes from: a verbatim ``quote`` of a ``seed`` article, or a published ``reference``."""

    seed: str | None = None
    quote: str | None = None
    reference: str | None = None
    #: The item is adapted (translated, reworded) from ``reference``.
    adapted: bool = False

    @model_validator(mode="after")
    def _grounded(self) -> Source:
        if not ((self.seed and self.quote) or self.reference):
            raise ValueError("a source names `seed` and `quote`, or a `reference`")
        return self


class Item(_Model):
    """One question of a scale."""

    id: str
    text: Text
    reverse: bool = False
    source: Source
    #: The same question in an earlier version (``v1.ap4``): waves compare only identical items.
    same_as: str | None = None
    #: A facet of the construct the item covers (documentation, content-validity review).
    facet: str | None = None
    #: The wording of the published original, for adapted items.
    original: str | None = None


class ResponseScale(_Model):
    """Answer options: scored ``labels`` and, optionally, non-scored ``missing_options`` (不适用, 不了解)."""

    labels: dict[int, str]
    aliases: dict[int, list[str]] = Field(default_factory=dict)
    #: Explicit non-substantive answers, each stored as its own missing code and never scored.
    missing_options: dict[int, str] = Field(default_factory=dict)
    #: The reference period the respondent counts over (frequency formats).
    period: Text | None = None
    instruction: Text | None = None

    @property
    def min(self) -> int:
        """The lowest scored answer code."""
        return min(self.labels)

    @property
    def max(self) -> int:
        """The highest scored answer code."""
        return max(self.labels)


class Scale(_Model):
    """A scale with items, or a composite of ``subscales``."""

    id: str
    name: Text
    definition: Text | None = None
    #: Whose situation the items describe: the respondent (``self``) or the unit (我们单位…), whose
    #: scores need agreement indices before they are aggregated.
    referent: Literal["self", "unit"] = "self"
    #: ``construct`` (default), ``marker`` (a method-bias marker) or ``policy_evaluation``.
    role: Literal["construct", "marker", "policy_evaluation"] = "construct"
    response_scale: str | None = None
    items: list[Item] = Field(default_factory=list)
    subscales: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _items_xor_subscales(self) -> Scale:
        if bool(self.items) == bool(self.subscales):
            raise ValueError("a scale has either `items` or `subscales`, not both or neither")
        if self.items and not self.response_scale:
            raise ValueError("a scale with items needs `response_scale`")
        return self

    @property
    def is_composite(self) -> bool:
        """The scale is made of ``subscales`` rather than items."""
        return bool(self.subscales)


class Demographic(_Model):
    """A background question: fixed ``options``, free text, or options from a list kept per wave."""

    id: str
    text: Text
    label: Text | None = None
    options: list[str] | None = None
    free_text: bool = False
    #: The options come from a list maintained outside the instrument (``units``: the offices' list of
    #: units); until one is given the answer is taken as text.
    options_from: str | None = None
    #: Where the question is asked: ``scales`` puts it after the scales (default: before them).
    after: str | None = None

    @model_validator(mode="after")
    def _options_xor_free(self) -> Demographic:
        if sum([bool(self.options), self.free_text, self.options_from is not None]) != 1:
            raise ValueError("a demographic has exactly one of `options`, `free_text: true` or `options_from`")
        return self

    @property
    def is_text(self) -> bool:
        """Answers are taken as text (free text, or a list that lives outside the instrument)."""
        return self.free_text or self.options_from is not None


class AttentionCheck(_Model):
    """An instructed-response item: a row that answers it other than ``expect`` is flagged.

    It is shown in the Likert grid of the scale named in ``after``.
    """

    id: str
    text: Text
    response_scale: str
    expect: int
    after: str | None = None


class OpenQuestion(_Model):
    """A free-text question; its answers are listed in the report, never scored."""

    id: str
    text: Text


class FlagRule(_Model):
    enabled: bool = True


class SpeederRule(FlagRule):
    min_fraction_of_median: float = Field(1 / 3, gt=0, lt=1)


class IncompleteRule(FlagRule):
    min_answered: float = Field(0.8, gt=0, le=1)


class InvalidRule(FlagRule):
    """How many rows with a cell that is not an allowed answer a file may have.

    Such rows are quarantined as ``invalid`` and the rest of the file is analysed; a file with more
    than ``max_share`` of such rows is rejected as a whole (the wrong questionnaire or a mangled export).
    """

    max_share: float = Field(0.05, ge=0, le=1)


class CarelessRule(FlagRule):
    """Careless responding as multiple hurdles (Curran, 2016): five indices, quarantine when enough agree.

    Each index flags a row by its own threshold (defaults and their sources:
    :class:`jianfu.stats.careless.CarelessThresholds`); a row is quarantined as ``careless`` only
    when at least ``min_flags`` hurdles agree — long string, IRV, Mahalanobis D², and consistency
    (even–odd or synonyms count once: both measure within-person consistency and agree on diligent
    respondents with a flat profile) — so that a diligent respondent is rarely lost.
    """

    min_flags: int = Field(2, ge=1, le=4)
    longstring: float = Field(0.5, gt=0, le=1)
    irv: float = Field(0.125, ge=0, lt=1)
    mahalanobis: float = Field(0.001, gt=0, lt=1)
    even_odd: float = Field(0.30, ge=-1, le=1)
    psychsyn: float = Field(0.0, ge=-1, le=1)
    psychsyn_critval: float = Field(0.60, gt=0, lt=1)


class Quality(_Model):
    """The instrument's ``quality`` section: which row flags are on, and their thresholds."""

    speeder: SpeederRule = SpeederRule()
    straightline: FlagRule = FlagRule()
    attention: FlagRule = FlagRule()
    incomplete: IncompleteRule = IncompleteRule()
    duplicate: FlagRule = FlagRule()
    invalid: InvalidRule = InvalidRule()
    careless: CarelessRule = CarelessRule()
    #: Reject a file for any invalid cell (``jianfu run/validate --strict`` does the same).
    strict: bool = False

    @property
    def enabled_flags(self) -> list[str]:
        """Names of the flags that are on, in :data:`FLAG_NAMES` order."""
        return [name for name in FLAG_NAMES if getattr(self, name).enabled]


#: The flags that quarantine a row (when enabled in the instrument's ``quality`` section).
FLAG_NAMES = ("speeder", "straightline", "attention", "incomplete", "duplicate", "invalid", "careless")
#: The careless-responding indices behind ``careless``: counted and reported, quarantining only together.
CARELESS_INDICES = ("longstring", "irv", "mahalanobis", "even_odd", "psychsyn")
#: Every flag column a run computes and reports.
ALL_FLAGS = FLAG_NAMES + CARELESS_INDICES


class Instrument(_Model):
    """A questionnaire: scales, demographics, attention checks, open questions and quality rules."""

    #: sha256 of the YAML it was loaded from (provenance); see :attr:`source_sha256`.
    _source_sha256: str | None = PrivateAttr(default=None)
    #: The YAML it was loaded from: earlier versions of it are looked up beside it.
    _source_path: Path | None = PrivateAttr(default=None)

    @property
    def source_sha256(self) -> str | None:
        """sha256 of the YAML the instrument was loaded from; ``None`` for one built in code."""
        return self._source_sha256

    @property
    def source_path(self) -> Path | None:
        """The YAML file the instrument was loaded from; ``None`` for one built in code."""
        return self._source_path

    id: str
    version: str
    title: Text
    #: The opening statement of the questionnaire (purpose, anonymity, aggregate analysis only).
    intro: Text | None = None
    response_scales: dict[str, ResponseScale]
    scales: list[Scale]
    demographics: list[Demographic]
    attention_checks: list[AttentionCheck] = Field(default_factory=list)
    open_questions: list[OpenQuestion] = Field(default_factory=list)
    quality: Quality = Quality()

    @property
    def first_order_scales(self) -> list[Scale]:
        """The scales made of items, in instrument order."""
        return [s for s in self.scales if not s.is_composite]

    @property
    def composite_scales(self) -> list[Scale]:
        """The scales made of subscales, in instrument order."""
        return [s for s in self.scales if s.is_composite]

    @property
    def items(self) -> list[Item]:
        """Every item of every first-order scale, in questionnaire order."""
        return [item for s in self.first_order_scales for item in s.items]

    def scale(self, scale_id: str) -> Scale:
        """The scale called ``scale_id``; :class:`KeyError` if there is none."""
        for s in self.scales:
            if s.id == scale_id:
                return s
        raise KeyError(scale_id)

    def score_range(self, scale: Scale) -> tuple[int, int]:
        """The lowest and highest possible score of ``scale`` (a composite: of its first dimension)."""
        while scale.is_composite:
            scale = self.scale(scale.subscales[0])
        codes = list(self.response_scales[scale.response_scale].labels)
        return min(codes), max(codes)

    def likert_response_scale(self) -> dict[str, str]:
        """Response-scale id of every Likert question: scale items and attention checks."""
        out = {item.id: s.response_scale for s in self.first_order_scales for item in s.items}
        out.update({c.id: c.response_scale for c in self.attention_checks})
        return out

    def item_scale(self) -> dict[str, Scale]:
        """Map each item id to the first-order scale that owns it."""
        return {item.id: s for s in self.first_order_scales for item in s.items}


_SENTENCE_END = (".", "?", "!", '"', "'", "”", "’", ")")


def _semantic_problems(inst: Instrument) -> list[tuple[tuple[Any, ...], str]]:
    """Cross-reference checks pydantic cannot express field by field."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    ids: list[tuple[tuple[Any, ...], str]] = []
    for si, s in enumerate(inst.scales):
        ids.append((("scales", si, "id"), s.id))
        for ii, item in enumerate(s.items):
            ids.append((("scales", si, "items", ii, "id"), item.id))
        if s.response_scale and s.response_scale not in inst.response_scales:
            problems.append(
                (
                    ("scales", si, "response_scale"),
                    f"unknown response scale {s.response_scale!r}; defined: {sorted(inst.response_scales)}",
                )
            )
    for di, d in enumerate(inst.demographics):
        ids.append((("demographics", di, "id"), d.id))
    for rid, rs in inst.response_scales.items():
        clash = sorted(set(rs.missing_options) & set(rs.labels))
        if clash:
            problems.append((("response_scales", rid, "missing_options"), f"codes {clash} are also scored labels"))
    for si, s in enumerate(inst.scales):
        for ii, item in enumerate(s.items):
            if not item.text.en.rstrip().endswith(_SENTENCE_END):
                problems.append(
                    (
                        ("scales", si, "items", ii, "text", "en"),
                        f"{item.id}: the English text {item.text.en!r} does not end a sentence — cut short by "
                        "an unquoted comma? Quote the whole text",
                    )
                )
    for ai, a in enumerate(inst.attention_checks):
        ids.append((("attention_checks", ai, "id"), a.id))
        rs = inst.response_scales.get(a.response_scale)
        if rs is None:
            problems.append(
                (("attention_checks", ai, "response_scale"), f"unknown response scale {a.response_scale!r}")
            )
        elif a.expect not in rs.labels:
            problems.append(
                (("attention_checks", ai, "expect"), f"expect={a.expect} is not a code of {a.response_scale!r}")
            )
    for oi, o in enumerate(inst.open_questions):
        ids.append((("open_questions", oi, "id"), o.id))
    counts = Counter(i for _, i in ids)
    for loc, ident in ids:
        if counts[ident] > 1:
            problems.append((loc, f"id {ident!r} is used {counts[ident]} times; ids must be unique"))
    first_order = {s.id for s in inst.first_order_scales}
    for si, s in enumerate(inst.scales):
        for k, sub in enumerate(s.subscales):
            if sub not in first_order:
                problems.append((("scales", si, "subscales", k), f"subscale {sub!r} is not a first-order scale"))
    demo_ids = {d.id for d in inst.demographics}
    for required in ("unit", "level"):
        if required not in demo_ids:
            problems.append((("demographics",), f"demographic {required!r} is required"))
    return problems


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of ``loc`` in the composed YAML tree (the deepest node that exists)."""
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
    if node is not None:
        line = node.start_mark.line + 1
    return line


def _fmt(loc: tuple[Any, ...], msg: str, tree: yaml.Node | None) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    line = _line_of(tree, loc)
    where = f"{path or '<root>'}" + (f" (line {line})" if line else "")
    return f"{where}: {msg}"


def parse_instrument(text: str, path: str | Path = "<string>") -> Instrument:
    """Parse and validate instrument YAML text, raising :class:`InstrumentError` with all problems."""
    try:
        raw = yaml.safe_load(text)
        tree = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise InstrumentError(path, [f"YAML syntax error: {exc}"]) from None
    if not isinstance(raw, dict):
        raise InstrumentError(path, ["<root>: the file must be a mapping with id, version, scales, ..."])
    try:
        inst = Instrument.model_validate(raw)
    except ValidationError as exc:
        problems = [
            _fmt(tuple(p for p in err["loc"] if not str(p).startswith("function-")), err["msg"], tree)
            for err in exc.errors()
        ]
        raise InstrumentError(path, problems) from None
    semantic = _semantic_problems(inst)
    if semantic:
        raise InstrumentError(path, [_fmt(loc, msg, tree) for loc, msg in semantic])
    inst._source_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return inst


def load_instrument(path: str | Path) -> Instrument:
    """Load an instrument YAML file (UTF-8)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InstrumentError(path, [f"cannot read the file: {exc.strerror}"]) from None
    inst = parse_instrument(text, path)
    inst._source_sha256 = hashlib.sha256(path.read_bytes()).hexdigest()  # the file's bytes, as sha256sum shows
    inst._source_path = path
    return inst


def dump_instrument(inst: Instrument) -> str:
    """Serialise an instrument back to YAML; ``parse_instrument(dump_instrument(x)) == x``."""
    data = inst.model_dump(mode="python", exclude_defaults=False)
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def verify_sources(inst: Instrument, seeds_dir: str | Path) -> list[str]:
    """Return one message per item whose ``source.quote`` does not occur verbatim in its seed file."""
    seeds_dir = Path(seeds_dir)
    cache: dict[str, str | None] = {}
    problems = []
    for item in inst.items:
        if item.source.seed is None:  # a published scale, cited by reference
            continue
        seed = item.source.seed
        if seed not in cache:
            p = seeds_dir / seed
            cache[seed] = p.read_text(encoding="utf-8") if p.is_file() else None
        text = cache[seed]
        if text is None:
            problems.append(f"{item.id}: seed file {seed!r} not found in {seeds_dir}")
        elif item.source.quote not in text:
            problems.append(f"{item.id}: quote {item.source.quote!r} does not occur in {seed}")
    return problems
