"""Deterministic risk screening over spaCy tokens.

Each message is tokenised and lemmatised by the project's Swedish spaCy pipeline, every
token is compared lower-case and with å/ä/ö folded, and the rules of the pattern file
(bot/risk/patterns.py) are applied sentence by sentence. A rule's terms are set aside when

- a negation cue stands shortly before them in the same clause ("han har inte ... vapen");
- their sentence is about news, fiction, games, sport, hunting or homework (`contexts`);
- their clause is a general or hypothetical question ("vad händer om någon åker ner"),
  unless the same clause says when ("ikväll"): a relative's "what if he leaves tonight"
  is taken as meant.

An elevated signal becomes acute when the message carries a concrete step that is not
negated ("biljett", "på väg", "har tagit"), or a time ("ikväll", "på fredag") in the
signal's own or a neighbouring sentence that is not the relative's own plan ("imorgon ska
jag ringa soc"). A time that attaches to no signal makes the bot ask instead ("Kan det
hända något farligt nu eller de närmaste dagarna?"), and so do the `level: check` rules for
words that may or may not mean danger ("jag orkar inte mer"). Who is at risk comes from
bot/risk/subjects.py. Combining the detector with the trained risk model happens in
bot/risk/screening.py.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

from spacy.language import Language

from bot.risk.levels import CATEGORIES, RiskLevel, in_category_order, in_subject_order
from bot.risk.patterns import CLAUSE_END, GAP, Patterns, Rule, load_patterns
from bot.risk.subjects import subject_of
from bot.text import fold

MAX_GAP = 3
SENTENCE_ENDS = {".", "!", "?", "…"}
CLAUSE_PUNCTUATION = {",", ";", ":", "–", "—", "-", "(", ")", '"'}
# Longer messages are screened in full; this only bounds the work on pathological input.
MAX_SCREENED_CHARS = 20_000


@dataclass(frozen=True)
class SignalMatch:
    rule_id: str
    category: str
    level: RiskLevel
    start: int  # character offsets in the screened text
    end: int
    subject: str = "person"  # who is at risk (bot/risk/levels.py SUBJECTS)


@dataclass(frozen=True)
class SetAside:
    rule_id: str
    reason: str  # "negated", "context:<name>" or "hypothetical"


@dataclass(frozen=True)
class Screening:
    level: RiskLevel
    categories: tuple[str, ...]
    matches: tuple[SignalMatch, ...] = ()
    set_aside: tuple[SetAside, ...] = ()
    imminent: bool = False  # a concrete step anywhere ("biljett", "på väg")
    by_model: bool = False  # the trained model raised the level (bot/risk/screening.py)
    subjects: tuple[str, ...] = ()  # who is at risk, in SUBJECTS order
    timed: bool = False  # a time ("ikväll") that is not the relative's own plan
    # A safety check to ask when unsure: the category and who is at risk, or None.
    check: tuple[str, str] | None = None
    # The categories a context named in the message explains (news, sport, a joke explain
    # all; a family visit only travel): the trained model needs more certainty for them.
    explained: tuple[str, ...] = ()
    # How many words the message has (the model's doubt on a few words is no reason to ask).
    words: int = 0
    # Who is at risk per category, read from the whole message (for model-only signals).
    subject_hints: dict[str, str] = field(default_factory=dict)

    @property
    def rule_ids(self) -> set[str]:
        return {match.rule_id for match in self.matches}


NO_RISK = Screening(level=RiskLevel.NONE, categories=())


WILDCARDS = "*?["


@dataclass(frozen=True)
class _Word:
    pattern: str
    lemma: str | None  # set when the word is written in its base form
    # Worked out once: it is asked for every phrase on every message (issue 21's profile).
    is_wildcard: bool = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_wildcard", any(char in self.pattern for char in WILDCARDS))

    def matches(self, text: str, lemma: str) -> bool:
        if self.lemma is None:
            return fnmatch.fnmatchcase(text, self.pattern)
        return text == self.pattern or lemma == self.lemma


@lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern:
    return re.compile(fnmatch.translate(pattern))


@dataclass
class _Tokens:
    texts: list[str]
    lemmas: list[str]
    char_starts: list[int]
    char_ends: list[int]
    sentence_of: list[int]
    clause_of: list[int]
    spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    requirement_spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    live_spans: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    by_text: dict[str, list[int]] | None = None
    by_lemma: dict[str, list[int]] | None = None
    # Many phrases start with the same wildcard ("vapn*", "skjut*"): matched once per message.
    by_wildcard: dict[str, list[int]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.texts)

    def index(self) -> None:
        if self.by_text is None:
            self.by_text, self.by_lemma = {}, {}
            for i, (text, lemma) in enumerate(zip(self.texts, self.lemmas, strict=True)):
                self.by_text.setdefault(text, []).append(i)
                self.by_lemma.setdefault(lemma, []).append(i)

    def candidates(self, first: _Word) -> list[int]:
        """Positions where a phrase's first word can match: looked up, not scanned, when exact;
        a wildcard is tried once per distinct word, not once per position (a message of
        4 000 emoji was 4 000 tries for each of some 400 wildcards: seconds; issue 17)."""
        self.index()
        if first.is_wildcard:
            if first.pattern not in self.by_wildcard:
                matches = _wildcard(first.pattern).match
                self.by_wildcard[first.pattern] = sorted(
                    i for text, where in self.by_text.items() if matches(text) for i in where
                )
            return self.by_wildcard[first.pattern]
        positions = self.by_text.get(first.pattern, [])
        if first.lemma is not None:
            positions = sorted(set(positions) | set(self.by_lemma.get(first.lemma, [])))
        return positions


@dataclass(frozen=True)
class _FirstWords:
    """A phrase list's positions by the text and the lemma their first word matches, and
    the positions of phrases that start with a wildcard (tried on every message)."""

    by_text: dict[str, list[int]]
    by_lemma: dict[str, list[int]]
    always: tuple[int, ...]

    @classmethod
    def of(cls, phrases: tuple[str, ...], compile_phrase) -> _FirstWords:
        by_text: dict[str, list[int]] = {}
        by_lemma: dict[str, list[int]] = {}
        always: list[int] = []
        for position, phrase in enumerate(phrases):
            first = compile_phrase(phrase)[0]
            if not isinstance(first, _Word) or first.is_wildcard:
                always.append(position)
                continue
            by_text.setdefault(first.pattern, []).append(position)
            if first.lemma is not None:
                by_lemma.setdefault(first.lemma, []).append(position)
        return cls(by_text, by_lemma, tuple(always))

    def present(self, phrases: tuple[str, ...], tokens: _Tokens) -> list[str]:
        tokens.index()
        positions = set(self.always)
        for text in tokens.by_text:
            positions.update(self.by_text.get(text, ()))
        for lemma in tokens.by_lemma:
            positions.update(self.by_lemma.get(lemma, ()))
        return [phrases[position] for position in sorted(positions)]


class RiskDetector:
    """Screens one message at a time; build it once per process (it holds the pipeline)."""

    def __init__(self, nlp: Language, patterns: Patterns) -> None:
        self.nlp = nlp
        self.patterns = patterns
        self._compiled: dict[str, list[_Word | str | None]] = {}
        # Per phrase list (by identity, holding it): its phrases by their first word.
        self._first_words: dict[int, tuple[tuple[str, ...], _FirstWords]] = {}

    @classmethod
    def from_files(cls, spacy_model: Path, patterns_file: Path) -> RiskDetector:
        import spacy  # imported here so that importing this module stays cheap

        return cls(spacy.load(spacy_model), load_patterns(patterns_file))

    @cached_property
    def _clause_break_words(self) -> set[str]:
        return {fold(word) for word in self.patterns.clause_breaks}

    def screen(self, text: str) -> Screening:
        text = (text or "")[:MAX_SCREENED_CHARS]
        if not text.strip():
            return NO_RISK
        tokens = self._tokens(text)
        imminent = bool(self._live_spans(tokens, self.patterns.imminence_cues))
        time_sentences = self._time_sentences(tokens)
        matches: list[SignalMatch] = []
        set_aside: list[SetAside] = []
        checks: list[tuple[str, str]] = []
        for rule in self.patterns.rules:
            outcome = self._apply(rule, tokens)
            if isinstance(outcome, SetAside):
                set_aside.append(outcome)
            elif outcome is not None:
                start, end = outcome
                subject = subject_of(
                    rule.category, tokens, start, end, self.patterns, self._phrase_spans(tokens)
                )
                # An ambiguous word next to a concrete step ("biljett", "har tagit") is real.
                if rule.check and not imminent:
                    checks.append((rule.category, subject))
                    continue
                sentence = tokens.sentence_of[start]
                attached = bool(time_sentences & {sentence - 1, sentence, sentence + 1})
                acute = imminent or attached or rule.level is RiskLevel.ACUTE
                matches.append(
                    SignalMatch(
                        rule.id,
                        rule.category,
                        RiskLevel.ACUTE if acute else RiskLevel.ELEVATED,
                        tokens.char_starts[start],
                        tokens.char_ends[end - 1],
                        subject,
                    )
                )
        level = RiskLevel.highest(*(match.level for match in matches))
        check = checks[0] if checks and not matches else None
        if level is RiskLevel.ELEVATED and time_sentences:
            # A time that attaches to no signal: ask whether something can happen soon.
            check = (matches[0].category, matches[0].subject)
        return Screening(
            level=level,
            categories=in_category_order(match.category for match in matches),
            matches=tuple(matches),
            set_aside=tuple(set_aside),
            imminent=imminent,
            subjects=in_subject_order(match.subject for match in matches),
            timed=bool(time_sentences),
            check=check,
            subject_hints=self._subject_hints(tokens),
            explained=self._explained(tokens),
            words=sum(1 for text in tokens.texts if any(char.isalnum() for char in text)),
        )

    def _explained(self, tokens: _Tokens) -> tuple[str, ...]:
        everywhere = set(range(len(tokens) and max(tokens.sentence_of) + 1))
        explained: set[str] = set()
        for name in self.patterns.contexts:
            if self._in_context(name, tokens, everywhere):
                explained |= set(self.patterns.context_categories.get(name, CATEGORIES))
        return in_category_order(explained)

    def _subject_hints(self, tokens: _Tokens) -> dict[str, str]:
        """Who is at risk for each category, read from the whole message: for a signal
        the trained model finds, which has no position of its own."""
        if not len(tokens):
            return {}
        spans = self._phrase_spans(tokens)
        return {
            category: subject_of(category, tokens, 0, len(tokens), self.patterns, spans)
            for category in CATEGORIES
        }

    def _time_sentences(self, tokens: _Tokens) -> set[int]:
        """Sentences with a time that is not the relative's own plan ("imorgon ska jag
        ringa soc" says when the relative acts, not when danger comes)."""
        helping = {
            tokens.clause_of[start]
            for start, _ in self._spans_of(tokens, self.patterns.help_seeking_cues)
        }
        return {
            tokens.sentence_of[start]
            for start, _ in self._live_spans(tokens, self.patterns.time_cues)
            if tokens.clause_of[start] not in helping
        }

    def _phrase_spans(self, tokens: _Tokens):
        return lambda phrases: self._spans_of(tokens, phrases)

    def _spans_of(self, tokens: _Tokens, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
        return [
            span
            for phrase in self._present(tokens, phrases)
            for span in self._spans(tokens, phrase)
        ]

    def _present(self, tokens: _Tokens, phrases: tuple[str, ...]) -> list[str]:
        """The phrases, in their order, whose first word is in the message (or is a
        wildcard): the others cannot match. A term group can hold a thousand phrases, and
        trying each on every message was most of the screening's time (issue 21)."""
        cached = self._first_words.get(id(phrases))
        if cached is None or cached[0] is not phrases:
            cached = (phrases, _FirstWords.of(phrases, self._compile))
            self._first_words[id(phrases)] = cached
        return cached[1].present(phrases, tokens)

    # -- applying one rule ----------------------------------------------------------------

    def _apply(self, rule: Rule, tokens: _Tokens) -> tuple[int, int] | SetAside | None:
        """The token span of the rule's first live match, why it was set aside, or None."""
        reason: str | None = None
        for unit in self._units(rule.scope, tokens):
            found: list[tuple[int, int]] = []
            for alternatives in rule.requirements:
                spans = [
                    span
                    for span in self._requirement_spans(tokens, alternatives)
                    if span[0] in unit
                ]
                if not spans:
                    break
                live = [span for span in spans if not self._negated(tokens, span)]
                if not live:
                    reason = reason or "negated"
                    break
                found.extend(live)
            else:
                start = min(span[0] for span in found)
                end = max(span[1] for span in found)
                why = self._non_literal(rule, tokens, found)
                if why is None:
                    return start, end
                reason = reason or why
        return SetAside(rule.id, reason) if reason else None

    def _requirement_spans(
        self, tokens: _Tokens, alternatives: tuple[str, ...]
    ) -> list[tuple[int, int]]:
        """Every match of any of the alternatives in the message, found once per message
        (a term group can hold a thousand phrases; rules are applied per sentence)."""
        key = id(alternatives)
        if key not in tokens.requirement_spans:
            tokens.requirement_spans[key] = [
                span
                for phrase in self._present(tokens, alternatives)
                for span in self._spans(tokens, phrase)
            ]
        return tokens.requirement_spans[key]

    def _units(self, scope: str, tokens: _Tokens) -> list[range | set[int]]:
        if scope == "message":
            return [range(len(tokens))]
        index = tokens.sentence_of if scope == "sentence" else tokens.clause_of
        units: dict[int, set[int]] = {}
        for position, unit in enumerate(index):
            units.setdefault(unit, set()).add(position)
        return list(units.values())

    def _non_literal(self, rule: Rule, tokens: _Tokens, found: list[tuple[int, int]]) -> str | None:
        sentences = {tokens.sentence_of[start] for start, _ in found}
        for name in self.patterns.contexts:
            if self.patterns.context_applies(name, rule) and self._in_context(
                name, tokens, sentences
            ):
                return f"context:{name}"
        if rule.hypothetical_applies and self._hypothetical(tokens, found):
            return "hypothetical"
        if self._resolved(tokens, sentences):
            return "resolved"
        return None

    def _in_context(self, name: str, tokens: _Tokens, sentences: set[int]) -> bool:
        """Whether context `name` explains a signal in `sentences`: one of its cues is in
        those sentences (or anywhere, for a message-wide context) and none of its
        exceptions is in the message."""
        exceptions = self.patterns.context_exceptions.get(name, ())
        if exceptions and self._live_spans(tokens, exceptions):
            return False
        cues = self.patterns.contexts[name]
        if name in self.patterns.message_contexts:
            return bool(self._live_spans(tokens, cues))
        return bool(sentences & self._sentences_with(tokens, cues))

    def _resolved(self, tokens: _Tokens, sentences: set[int]) -> bool:
        """Told as past and over: a past cue in the signal's sentence, an "over" cue
        anywhere, no "still" cue ("hon är rädd att det börjar igen"), and nothing that says
        now outside the sentences that tell the story ("det är sex år sedan nu" is not
        imminent)."""
        if not self.patterns.past_cues:
            return False
        past = self._sentences_with(tokens, self.patterns.past_cues)
        over = self._sentences_with(tokens, self.patterns.over_cues)
        if not (sentences & past and over) or self._live_spans(tokens, self.patterns.still_cues):
            return False
        now = self._sentences_with(tokens, self.patterns.imminence_cues) | self._sentences_with(
            tokens, self.patterns.time_cues
        )
        return not (now - past - over)

    def _sentences_with(self, tokens: _Tokens, phrases: tuple[str, ...]) -> set[int]:
        return {tokens.sentence_of[start] for start, _ in self._live_spans(tokens, phrases)}

    def _hypothetical(self, tokens: _Tokens, found: list[tuple[int, int]]) -> bool:
        clauses = {tokens.clause_of[start] for start, _ in found}
        cue_clauses = {
            tokens.clause_of[start]
            for phrase in self._present(tokens, self.patterns.hypothetical_cues)
            for start, _ in self._spans(tokens, phrase)
        }
        reported_spans = self._live_spans(tokens, self.patterns.reported_cues)
        reported = {tokens.clause_of[start] for start, _ in reported_spans}
        if not clauses <= cue_clauses - reported:
            return False
        generic = {
            tokens.clause_of[start]
            for start, _ in self._spans_of(tokens, self.patterns.generic_cues)
        }
        if clauses <= generic:
            return True  # "vad händer om någon reser idag" is about anyone
        timed = {
            tokens.clause_of[start]
            for cues in (self.patterns.imminence_cues, self.patterns.time_cues)
            for start, _ in self._live_spans(tokens, cues)
        }
        return not (clauses & timed)

    # -- negation ---------------------------------------------------------------------------

    def _negated(self, tokens: _Tokens, span: tuple[int, int]) -> bool:
        start = span[0]
        clause = tokens.clause_of[start]
        window = self.patterns.negation_window
        for phrase in self._present(tokens, self.patterns.negation_cues):
            for cue_start, cue_end in self._spans(tokens, phrase):
                if (
                    cue_end <= start
                    and start - cue_end < window
                    and tokens.clause_of[cue_start] == clause
                ):
                    return True
        return False

    def _live_spans(self, tokens: _Tokens, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
        """Matches of cue phrases that are not negated; once per message and cue list (the
        imminence and context cues are asked for by every rule)."""
        key = id(phrases)
        if key not in tokens.live_spans:
            tokens.live_spans[key] = [
                span
                for phrase in self._present(tokens, phrases)
                for span in self._spans(tokens, phrase)
                if not self._negated(tokens, span)
            ]
        return tokens.live_spans[key]

    # -- matching phrases ------------------------------------------------------------------

    def _spans(self, tokens: _Tokens, phrase: str) -> list[tuple[int, int]]:
        if phrase not in tokens.spans:
            words = self._compile(phrase)
            tokens.spans[phrase] = [
                (start, end)
                for start in tokens.candidates(words[0])
                if (end := _match_at(words, tokens, start)) is not None
            ]
        return tokens.spans[phrase]

    def _compile(self, phrase: str) -> list[_Word | str | None]:
        if phrase not in self._compiled:
            self._compiled[phrase] = [
                None if word == GAP else CLAUSE_END if word == CLAUSE_END else self._word(word)
                for word in phrase.split()
            ]
        return self._compiled[phrase]

    def _word(self, word: str) -> _Word:
        folded = fold(word)
        if _Word(folded, None).is_wildcard:
            return _Word(folded, None)
        lemma = fold(self.nlp(word)[0].lemma_)
        # Only a word written in its base form stands for its inflections: "ska" has the
        # lemma "skola" in the lookup table and must not match "skolan".
        return _Word(folded, folded if lemma == folded else None)

    def _tokens(self, text: str) -> _Tokens:
        doc = self.nlp(text)
        texts, lemmas, starts, ends, sentence_of, clause_of = [], [], [], [], [], []
        sentence = clause = 0
        for token in doc:
            if token.is_space:
                if "\n" in token.text:
                    sentence += 1
                    clause += 1
                continue
            folded = fold(token.text)
            is_break = (
                folded in SENTENCE_ENDS
                or folded in CLAUSE_PUNCTUATION
                or folded in self._clause_break_words
            )
            if is_break:
                clause += 1
            texts.append(folded)
            lemmas.append(fold(token.lemma_))
            starts.append(token.idx)
            ends.append(token.idx + len(token.text))
            sentence_of.append(sentence)
            clause_of.append(clause)
            if folded in SENTENCE_ENDS:
                sentence += 1
        return _Tokens(texts, lemmas, starts, ends, sentence_of, clause_of)


def _match_at(words: list[_Word | str | None], tokens: _Tokens, start: int) -> int | None:
    """End of the phrase if it matches at `start` (gaps allow up to MAX_GAP tokens)."""
    position = start
    index = 0
    while index < len(words):
        word = words[index]
        if word == CLAUSE_END:
            at_end = (
                position >= len(tokens)
                or tokens.clause_of[position] != tokens.clause_of[position - 1]
            )
            return position if at_end else None
        if word is None:
            following = words[index + 1]
            if not isinstance(following, _Word):
                return None
            for skip in range(MAX_GAP + 1):
                candidate = position + skip
                if candidate < len(tokens) and following.matches(
                    tokens.texts[candidate], tokens.lemmas[candidate]
                ):
                    position = candidate
                    break
            else:
                return None
            index += 1
            continue
        if position >= len(tokens) or not word.matches(
            tokens.texts[position], tokens.lemmas[position]
        ):
            return None
        position += 1
        index += 1
    return position
