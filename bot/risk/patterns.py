"""The risk pattern file: what staff can read and extend without touching Python.

The file (data/risk/patterns.yml by default, RISK_PATTERNS_FILE in .env) holds:

- `terms`: named word lists, used in rules as `@name`.
- `rules`: a category, a level and the terms that must all occur in one sentence.
- `negation`, `contexts`, `hypothetical`, `imminence`: cue lists that cancel a signal
  ("han har inte pratat om vapen"), set it aside as news, games, sport or homework, mark a
  general question ("vad händer om någon reser"), or raise it to acute. `imminence.cues`
  are concrete steps that make a signal anywhere in the message acute ("biljett", "på
  väg", "har tagit"); `imminence.time` are times ("ikväll", "på fredag") that make acute
  only the signal of their own or a neighbouring sentence, and not in a clause where the
  relative says what they will do (`imminence.help_seeking`: "imorgon ska jag ringa soc").
  A
  context is a list of cues, or `{categories: [...], cues: [...], unless: [...], scope:
  message}` to set aside only signals of those categories, not in a message that has an
  `unless` cue (hunting is no excuse in a message about "raskriget"), and with `scope:
  message` wherever the cue is in the message (by default: in the signal's sentence). A
  general question stops being one in a clause with a `hypothetical.reported` cue: "han
  googlar hur många tabletter" reports what a person did.
- `subjects`: who is at risk (bot/risk/subjects.py): cue words for the relative themself,
  for a child and for others, and each category's default.
- A rule with `level: check` escalates nothing: it makes the bot ask one safety question
  ("tänker du på att ta ditt liv?"), for words that may or may not mean danger.
- `resolved`: `past`, `over` and `still` cues; a signal in a sentence about the past, in a
  message that says it is over, is history ("för fem år sedan ... nu mår hon bra"), unless
  the message says it goes on ("men hon är rädd för honom").

How a term is written:
- one or more words: `ta livet av sig` matches those words in a row;
- `*` anywhere in a word is a wildcard: `självmord*`, `*bomb*`; `[0-9]` a digit;
- `...` between words allows up to three other words: `gifta ... bort`;
- `$` as the last word means the end of a clause: `nu $` is "nu" closing a clause;
- `@group` inside a phrase stands for every entry of that group: `skada ... @person`;
- a word in its base form (`hota`) also matches its inflections through the lemma table
  (`hotade`, `hotat`); everything is compared lower-case and with å/ä/ö folded, so
  `sjalvmord` and `självmord` are the same word.

`load_patterns` validates the whole file and raises `PatternError` naming what is wrong,
so a typo made by staff stops the server at start-up instead of silently missing signals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.risk.levels import CATEGORIES, SUBJECTS, RiskLevel
from bot.risk.subjects import CUE_NAMES

GAP = "..."
CLAUSE_END = "$"
MAX_EXPANSION = 2000
SCOPES = ("clause", "sentence", "message")


class PatternError(ValueError):
    """The pattern file cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Rule:
    id: str
    category: str
    level: RiskLevel
    # Each entry is a list of alternative phrases; every entry must match.
    requirements: tuple[tuple[str, ...], ...]
    scope: str = "sentence"
    # Context groups that do NOT set this rule aside (e.g. a threat is real even if the
    # relative mentions the news in the same sentence).
    ignores_contexts: tuple[str, ...] = ()
    # Whether the general-question rule applies ("är det brottsligt att åka till Syrien").
    hypothetical_applies: bool = True
    description: str = ""
    # A `level: check` rule: not a signal, a reason to ask the relative (a safety check).
    check: bool = False


@dataclass(frozen=True)
class Patterns:
    rules: tuple[Rule, ...]
    negation_cues: tuple[str, ...]
    negation_window: int
    clause_breaks: tuple[str, ...]
    contexts: dict[str, tuple[str, ...]]
    hypothetical_cues: tuple[str, ...]
    imminence_cues: tuple[str, ...]
    terms: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Contexts that set aside only the signals of these categories (the others: all).
    context_categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    past_cues: tuple[str, ...] = ()
    over_cues: tuple[str, ...] = ()
    still_cues: tuple[str, ...] = ()
    # Cues that keep a context from applying anywhere in the message.
    context_exceptions: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Contexts that apply to a signal anywhere in the message, not only in its sentence.
    message_contexts: frozenset[str] = frozenset()
    # Cues that make a clause a report of what someone did, not a general question.
    reported_cues: tuple[str, ...] = ()
    # Cues of a question about anyone ("om någon"): general even when it names a time.
    generic_cues: tuple[str, ...] = ()
    # Times that make acute only a signal in their own or a neighbouring sentence.
    time_cues: tuple[str, ...] = ()
    # A time in a clause with one of these says when the relative acts, not when danger comes.
    help_seeking_cues: tuple[str, ...] = ()
    # Who is at risk: cue lists by subject and the default subject of each category.
    subject_cues: dict[str, tuple[str, ...]] = field(default_factory=dict)
    subject_defaults: dict[str, str] = field(default_factory=dict)
    # Replies to the safety check, by answer (dont_know, not_now, no, yes).
    check_answers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def context_applies(self, context: str, rule: Rule) -> bool:
        if context in rule.ignores_contexts:
            return False
        categories = self.context_categories.get(context)
        return categories is None or rule.category in categories


def load_patterns(path: Path) -> Patterns:
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PatternError(f"{path}: cannot read the risk pattern file ({error})") from error
    if not isinstance(raw, dict):
        raise PatternError(f"{path}: expected a mapping at the top level")
    return parse_patterns(raw, source=str(path))


def parse_patterns(raw: dict, source: str = "patterns") -> Patterns:
    plain = {
        name: _phrases(values, f"{source}: terms.{name}")
        for name, values in _mapping(raw, "terms", source).items()
    }
    terms = _expand_terms(plain, source)
    rules = tuple(_rule(entry, terms, source) for entry in _list(raw, "signals", source))
    _check_unique_ids(rules, source)
    negation = _mapping(raw, "negation", source)
    contexts: dict[str, tuple[str, ...]] = {}
    context_categories: dict[str, tuple[str, ...]] = {}
    context_exceptions: dict[str, tuple[str, ...]] = {}
    message_contexts: set[str] = set()
    for name, values in _mapping(raw, "contexts", source).items():
        where = f"{source}: contexts.{name}"
        if isinstance(values, dict):
            if "categories" in values:
                context_categories[name] = _categories(values.get("categories"), where)
            if "unless" in values:
                context_exceptions[name] = _expanded(values["unless"], terms, f"{where}.unless")
            if values.get("scope", "sentence") not in ("sentence", "message"):
                raise PatternError(f"{where}: scope must be sentence or message")
            if values.get("scope") == "message":
                message_contexts.add(name)
            values = values.get("cues")
        contexts[name] = _expanded(values, terms, where)
    hypothetical = _mapping(raw, "hypothetical", source)
    imminence = _mapping(raw, "imminence", source)
    subjects = raw.get("subjects") or {}
    resolved = _mapping(raw, "resolved", source) if "resolved" in raw else {}
    for rule in rules:
        unknown = set(rule.ignores_contexts) - set(contexts)
        if unknown:
            raise PatternError(
                f"{source}: rule {rule.id} ignores unknown contexts {sorted(unknown)}"
            )
    return Patterns(
        rules=rules,
        negation_cues=_phrases(negation.get("cues"), f"{source}: negation.cues"),
        negation_window=int(negation.get("window", 5)),
        clause_breaks=(
            _phrases(negation["clause_breaks"], f"{source}: negation.clause_breaks")
            if negation.get("clause_breaks")
            else ()
        ),
        contexts=contexts,
        hypothetical_cues=_phrases(hypothetical.get("cues"), f"{source}: hypothetical.cues"),
        imminence_cues=_phrases(imminence.get("cues"), f"{source}: imminence.cues"),
        time_cues=_expanded(imminence.get("time", []), terms, f"{source}: imminence.time"),
        help_seeking_cues=_expanded(
            imminence.get("help_seeking", []), terms, f"{source}: imminence.help_seeking"
        ),
        subject_cues=_subject_cues(subjects, terms, source),
        subject_defaults=_subject_defaults(subjects, source),
        check_answers=_check_answers(raw.get("safety_check") or {}, source),
        terms=terms,
        context_categories=context_categories,
        past_cues=_expanded(resolved.get("past", []), terms, f"{source}: resolved.past"),
        over_cues=_expanded(resolved.get("over", []), terms, f"{source}: resolved.over"),
        still_cues=_expanded(resolved.get("still", []), terms, f"{source}: resolved.still"),
        context_exceptions=context_exceptions,
        message_contexts=frozenset(message_contexts),
        reported_cues=_expanded(
            hypothetical.get("reported", []), terms, f"{source}: hypothetical.reported"
        ),
        generic_cues=_expanded(
            hypothetical.get("generic", []), terms, f"{source}: hypothetical.generic"
        ),
    )


def _subject_cues(
    subjects: dict, terms: dict[str, tuple[str, ...]], source: str
) -> dict[str, tuple[str, ...]]:
    cues = subjects.get("cues") or {}
    unknown = set(cues) - set(CUE_NAMES)
    if unknown:
        raise PatternError(f"{source}: subjects.cues: unknown cue lists {sorted(unknown)}")
    return {
        name: _expanded(values, terms, f"{source}: subjects.cues.{name}")
        for name, values in cues.items()
    }


CHECK_ANSWERS = ("dont_know", "not_now", "no", "yes")


def _check_answers(raw: dict, source: str) -> dict[str, tuple[str, ...]]:
    unknown = set(raw) - set(CHECK_ANSWERS)
    if unknown:
        raise PatternError(f"{source}: safety_check: unknown answers {sorted(unknown)}")
    return {
        answer: _phrases(raw[answer], f"{source}: safety_check.{answer}")
        for answer in CHECK_ANSWERS
        if answer in raw
    }


def _subject_defaults(subjects: dict, source: str) -> dict[str, str]:
    defaults = subjects.get("defaults") or {}
    for category, subject in defaults.items():
        if category not in CATEGORIES or subject not in SUBJECTS:
            raise PatternError(
                f"{source}: subjects.defaults: {category}: {subject} is not a category and a"
                f" subject ({', '.join(SUBJECTS)})"
            )
    return dict(defaults)


def _expanded(values: object, terms: dict[str, tuple[str, ...]], where: str) -> tuple[str, ...]:
    if values == []:
        return ()
    return tuple(
        item for phrase in _phrases(values, where) for item in _expand(phrase, terms, where)
    )


def _categories(values: object, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values or set(values) - set(CATEGORIES):
        raise PatternError(f"{where}: categories must list some of {', '.join(CATEGORIES)}")
    return tuple(values)


def _expand_terms(plain: dict[str, tuple[str, ...]], source: str) -> dict[str, tuple[str, ...]]:
    """Resolve `@group` references inside term lists, in any order, refusing cycles."""
    resolved: dict[str, tuple[str, ...]] = {}

    def resolve(name: str, chain: tuple[str, ...]) -> tuple[str, ...]:
        if name in resolved:
            return resolved[name]
        if name in chain:
            circle = " -> ".join((*chain, name))
            raise PatternError(f"{source}: term groups refer to each other in a circle: {circle}")
        where = f"{source}: terms.{name}"
        needed = {
            word[1:] for phrase in plain[name] for word in phrase.split() if word.startswith("@")
        }
        context = {other: resolve(other, chain + (name,)) for other in needed if other in plain}
        resolved[name] = tuple(
            item for phrase in plain[name] for item in _expand(phrase, context, where)
        )
        return resolved[name]

    for name in plain:
        resolve(name, ())
    return resolved


def _rule(entry: object, terms: dict[str, tuple[str, ...]], source: str) -> Rule:
    if not isinstance(entry, dict) or "id" not in entry:
        raise PatternError(f"{source}: every rule needs an id (got {entry!r})")
    where = f"{source}: rule {entry['id']}"
    category = entry.get("category")
    if category not in CATEGORIES:
        raise PatternError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    check = entry.get("level") == "check"
    try:
        level = RiskLevel("elevated" if check else entry.get("level", "elevated"))
    except ValueError as error:
        raise PatternError(f"{where}: level must be elevated, acute or check") from error
    if level is RiskLevel.NONE:
        raise PatternError(f"{where}: a rule's level must be elevated or acute")
    scope = entry.get("scope", "sentence")
    if scope not in SCOPES:
        raise PatternError(f"{where}: scope must be one of {', '.join(SCOPES)}")
    requirements = entry.get("all")
    if not isinstance(requirements, list) or not requirements:
        raise PatternError(f"{where}: `all` must list at least one term or @group")
    return Rule(
        id=str(entry["id"]),
        category=category,
        level=level,
        requirements=tuple(_requirement(item, terms, where) for item in requirements),
        scope=scope,
        ignores_contexts=tuple(entry.get("ignores_contexts", ())),
        hypothetical_applies=bool(entry.get("hypothetical_applies", True)),
        description=str(entry.get("description", "")),
        check=check,
    )


def _requirement(item: object, terms: dict[str, tuple[str, ...]], where: str) -> tuple[str, ...]:
    if isinstance(item, list):
        return tuple(phrase for part in item for phrase in _requirement(part, terms, where))
    if not isinstance(item, str) or not item.strip():
        raise PatternError(f"{where}: empty or non-text term {item!r}")
    return _expand(_phrases([item], where)[0], terms, where)


def _expand(phrase: str, terms: dict[str, tuple[str, ...]], where: str) -> tuple[str, ...]:
    """`@group` inside a phrase stands for each of the group's entries in turn."""
    expanded = [""]
    for word in phrase.split():
        if word.startswith("@"):
            if word[1:] not in terms:
                raise PatternError(f"{where}: unknown term group {word}")
            options = terms[word[1:]]
        else:
            options = (word,)
        expanded = [f"{head} {option}".strip() for head in expanded for option in options]
        if len(expanded) > MAX_EXPANSION:
            raise PatternError(f"{where}: {phrase!r} expands to more than {MAX_EXPANSION} phrases")
    return tuple(expanded)


def _phrases(values: object, where: str) -> tuple[str, ...]:
    if not isinstance(values, list) or not values:
        raise PatternError(f"{where}: expected a non-empty list of words or phrases")
    phrases = []
    for value in values:
        if not isinstance(value, str | int) or not str(value).strip():
            raise PatternError(f"{where}: empty or non-text entry {value!r}")
        words = str(value).split()
        if words[0] in (GAP, CLAUSE_END) or words[-1] == GAP or CLAUSE_END in words[:-1]:
            raise PatternError(f"{where}: '{GAP}' must stand between words, '$' last, in {value!r}")
        phrases.append(" ".join(words))
    return tuple(phrases)


def _mapping(raw: dict, key: str, source: str) -> dict:
    value = raw.get(key)
    if not isinstance(value, dict):
        raise PatternError(f"{source}: `{key}` must be a mapping")
    return value


def _list(raw: dict, key: str, source: str) -> list:
    value = raw.get(key)
    if not isinstance(value, list) or not value:
        raise PatternError(f"{source}: `{key}` must be a non-empty list")
    return value


def _check_unique_ids(rules: tuple[Rule, ...], source: str) -> None:
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise PatternError(f"{source}: rule id {rule.id} is used twice")
        seen.add(rule.id)
