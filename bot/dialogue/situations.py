"""Situations: a question about one concrete situation gets the answer for that situation.

The classifier files a message under a broad topic, and the topic's answer is a block
about everything in it. A relative who asks "kan soc hjälpa oss att flytta?" needs the
one fact about protection, not the social services block; "måste jag berätta allt för
polisen?" needs the close relatives' exemption, not the police block. Blind round 2 of
issue 16 found the neighbouring block answering on 38 of 71 turns. A situation is named
by the words of the message (folded, so "hander" counts as "händer"), whatever intent the
classifier chose; its answer is `utter_situation_<name>` in domain.yml, written from the
brief, with its own quick replies in data/texts/next_steps.yml and a topic that follow-ups go
deeper in (`DEEPENED_IN`).

The patterns are deliberately narrow: a situation that fires wrongly answers a question
nobody asked, which is worse than the broad block.

Pure logic, no Rasa: the answering actions (actions/answers.py) ask `situation_of`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import fold


@dataclass(frozen=True)
class Situation:
    name: str
    pattern: re.Pattern[str]
    # The topic a follow-up ("hur då?") goes deeper in.
    deepened_in: str
    # Answered after the message's own question rather than instead of it.
    adds: bool = False


def _words(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


_POLICE = _words(r"polis\w*", "112", "sapo", r"114 ?14")
_REPORTED = _words(
    r"ringt", "ringde", r"kontakta(?:t|de)", r"anmal(?:t|de)", r"tipsa(?:t|de)", r"pratat med"
)
_ABROAD = _words(
    "utomlands",
    "utlandet",
    "hemlandet",
    r"hemland\w*",
    r"till (?:irak|syrien|somalia|pakistan|afghanistan|turkiet|iran|libanon|marocko|jemen|kosovo)",
    r"(?:hem )?till (?:landet|sitt land|vart land|deras land|mitt land)",
)
_MARRIAGE = _words(
    r"gift\w*", r"forlov\w*", "brollop", r"tvangsgift\w*", "inte komma tillbaka", "stanna dar"
)
_A_CHILD = _words(
    r"barn\w*", r"dott\w*", r"son\w*", r"flick\w*", r"pojk\w*", "henne", "honom", r"syst\w*"
)
_CHILD_NOUN = _words(
    r"barn\w*", r"dott\w*", r"son\w*", r"flick\w*", r"pojk\w*", r"syst\w*", r"bro(?:r|der)\w*"
)
_HITS = _words("slog", "slar", "har slagit", "sparkade", "sparkar", r"misshandla\w*", r"aga\w*")

SITUATIONS: tuple[Situation, ...] = (
    # She already called: not "how to tip", but "you did right, what now".
    Situation(
        "after_police_contact",
        re.compile(
            rf"\b(?:jag|vi|min \w+)\s+(?:har\s+)?(?:nu\s+|just\s+|redan\s+)?{_REPORTED}\s+"
            rf"(?:till\s+)?{_POLICE}"
            rf"|\b{_POLICE}\s+(?:har\s+)?(?:varit har|kom hit|var har|hamtade|tog med|grep)"
            # "jag har ringt. dom kommer hit."
            r"|^\W*(?:(?:ok|okej|ja|nu)\W+)?(?:jag|vi) (?:har )?(?:ringt|ringde)"
            r"(?: dom| dem| 112| nu)?(?:\W*$|\s*[.!,])"
            rf"|\b(?:hon|han|mamma|pappa) (?:ringer|har ringt|ringde) (?:till )?{_POLICE}"
            r"|\b(?:dom|de|polisen) (?:kommer hit|ar pa vag|ar har nu)\b"
        ),
        "support_for_me",
    ),
    # "Kan jag skriva här om något händer i natt?": a plain no, and 112.
    Situation(
        "chat_in_emergency",
        re.compile(
            r"\b(?:kan|far|ska)\s+jag\s+(?:skriva|hora av mig|hoja)\s+"
            r"(?:har|till er|till dig|hit)\b"
            r".{0,40}\b(?:om|nar)\b.{0,30}\b(?:hander|handa|blir|kommer)\b"
            r"|\b(?:om|nar)\s+(?:nagot|nat|nanting|det)\s+(?:hander|handa)\b.{0,40}"
            r"\b(?:skriva|hora av mig|hoja)\s+(?:har|till er|till dig|hit)\b"
            r"|\b(?:svarar|finns)\s+(?:ni|du|nagon)\b.{0,25}"
            r"\b(?:natten|natt|ikvall|i kvall|helgen|dygnet)\b"
            r"|\b(?:kan|kommer)\s+(?:ni|du)\s+(?:skicka|ringa|larma)\s+(?:hit\s+)?(?:hjalp|polis\w*|nagon|112)\b"
        ),
        "request_human",
    ),
    # Threatened family: protection and protected housing, via social services.
    Situation(
        "protected_housing",
        re.compile(
            r"\bskyddat? boende\b|\bskyddad (?:adress|identitet)\b"
            r"|\b(?:hjalpa|hjalp)\s+(?:oss|mig)\s+(?:att\s+)?flytta\b"
            r"|\b(?:maste|borde|ska|kan)\s+(?:vi|jag)\s+flytta\b"
            r"|\b(?:vet|hittar|hitta)\s+(?:\w+\s+)?(?:var|vart)\s+(?:vi|jag)\s+bor\b"
        ),
        "own_safety",
    ),
    # Violence against a child: social services open an investigation at once.
    Situation(
        "child_violence",
        re.compile(
            rf"\b(?:han|hon|pappa\w*|mamma\w*|hennes \w+|hans \w+|dom|de)\s+{_HITS}\s+"
            rf"(?:min\s+|mitt\s+|mina\s+|sin\s+|sitt\s+|sina\s+|hans\s+|hennes\s+)?{_CHILD_NOUN}\b"
            rf"|\b(?:hennes|hans)\s+(?:pappa|mamma|far|mor|styvpappa)\w*\s+{_HITS}\s+(?:henne|honom)\b"
            rf"|\b{_CHILD_NOUN}\s+(?:blir|blev|har blivit)\s+(?:slagen|slagna|misshandlad\w*)\b"
        ),
        "social_services",
    ),
    # A child may be taken abroad: the travel ban, before the trip.
    Situation(
        "travel_ban",
        re.compile(
            r"\butresef\w*"
            rf"|\b{_ABROAD}\b.{{0,80}}\b{_MARRIAGE}"
            rf"|\b{_MARRIAGE}.{{0,80}}\b{_ABROAD}\b"
            rf"|\b(?:ta|tar|skicka|skickar)\s+(?:med\s+)?(?:\w+\s+)?{_A_CHILD}\s+(?:\w+\s+){{0,3}}"
            rf"(?:till\s+)?{_ABROAD}\b"
        ),
        "honour",
    ),
    # "Måste jag berätta allt för polisen / vittna mot min son?"
    Situation(
        "witness_exemption",
        re.compile(
            r"\bvittn\w*"
            r"|\b(?:maste|tvingas|tvungen|skyldig)\s+(?:jag\s+|man\s+|vi\s+)?(?:att\s+)?"
            r"(?:beratta|beratta allt|svara|saga|ange|anmala)\b"
        ),
        "legal",
    ),
    # Asked about an interpreter or their own language: the right to an interpreter.
    Situation(
        "interpreter",
        re.compile(
            r"\btolk(?:en|hjalp)?\b|\bmitt (?:eget )?sprak\b|\bmodersmal\w*"
            r"|\bpa (?:arabiska|somaliska|persiska|dari|kurdiska|tigrinja|turkiska|engelska"
            r"|bosniska|albanska|polska|ryska)\b"
        ),
        "social_services",
    ),
    # Says their Swedish is limited while asking something else: the right to an
    # interpreter after the answer.
    Situation(
        "limited_swedish",
        re.compile(
            r"\b(?:inte|daligt?|lite|inte sa bra|svag)\s+(?:bra\s+)?svenska\b"
            r"|\bkan inte (?:prata |tala )?svenska\b"
        ),
        "social_services",
        adds=True,
    ),
    # "Om min man ser telefonen blir det problem": what stays on the phone.
    Situation(
        "phone_seen",
        re.compile(
            r"\b(?:ser|laser|kollar|tittar i|hittar|gar igenom|ser i)\s+"
            r"(?:min |mina |hans |hennes )?"
            r"(?:telefon\w*|mobil\w*|sms\w*|meddelanden|chatt\w*|telegram|whatsapp)"
            r"|\b(?:marker|marka|markt|upptacker|upptacka|kommer pa|far reda pa) (?:att )?jag "
            r"(?:har )?(?:pratat|skriver|skrivit|skrev)"
            r"|\b(?:dom|de|han|hon|ingen) (?:far|ska|maste) inte (?:veta|se) (?:att )?jag skriv"
            r"|\b(?:dom|de|han|hon) vet inte (?:att )?jag skriv"
        ),
        "anonymity",
    ),
    # "Om han anmäler blir han ju själv utredd": a child used by a gang is protected too.
    Situation(
        "gang_child_suspected",
        re.compile(
            r"\b(?:blir|bli|ar|kan) (?:han|hon|hen) (?:ju |da |inte )?(?:sjalv |ocksa )?"
            r"(?:utredd|misstankt|anmald|domd|straffad)\b"
        ),
        "gangs",
    ),
    # "Är det olagligt att vara antifa?": opinions are no crime.
    Situation(
        "opinions_and_crime",
        re.compile(
            r"\b(?:olagligt|brottsligt|forbjudet|straffbart) att (?:vara|tycka|ha|tillhora|ga med"
            r"|lyssna|gilla)\b"
            r"|\bar det (?:ett )?brott att (?:vara|tycka|ha|tillhora|ga med|lyssna|gilla)\b"
        ),
        "legal",
    ),
    # "Vad är ett särskilt ungdomshem?"
    Situation(
        "youth_home",
        re.compile(r"\bungdomshem\w*|\bsis\b|\bstatens institutionsstyrelse\b"),
        "child_custody",
    ),
    # "Får jag läsa det skolan skrev / anmälan?"
    Situation(
        "read_report",
        re.compile(
            r"\b(?:fa|far|kan|ska)\s+(?:jag|vi|man)\s+(?:lasa|se|ta del av)\s+"
            r"(?:vad|det|den|anmalan|orosanmalan|utredningen|papperen|journalen)\b"
            r"|\b(?:lasa|se)\s+(?:anmalan|orosanmalan|utredningen)\b"
        ),
        "confidentiality",
    ),
    # Someone who has been there himself.
    Situation(
        "own_experience",
        re.compile(
            r"\begen erfarenhet\b|\bsjalv(?:a)?\s+(?:har\s+)?(?:varit|suttit|hoppat av|lamnat)\b"
            r"|\b(?:nagon|nan|nagra|folk) som (?:har\s+)?(?:sjalv\s+)?"
            r"(?:varit|suttit|hoppat av|lamnat|gatt igenom)\b"
        ),
        "leaving_support",
    ),
    # "Känns som att jag förråder honom": telling is protecting.
    Situation(
        "loyalty",
        re.compile(
            r"\b(?:forrad(?:er|a|de)|svika|sviker|svek|tjalla\w*|gola\w*|angiv\w*"
            r"|ange (?:honom|henne|hen)|forstor\w* (?:hans|hennes|hens) liv)\b"
        ),
        "police",
    ),
)

_BY_NAME = {situation.name: situation for situation in SITUATIONS}

# Situations whose answer is itself the route to help (112, social services today,
# socialjouren, protection): when the risk screening answers such a message, it gives this
# route instead of its general contact list (actions/risk.py).
SITUATIONS_WITH_THEIR_OWN_ROUTE = frozenset({"child_violence", "travel_ban", "protected_housing"})


def situation_of(text: str) -> str | None:
    """The first situation (in the order above, most pressing first) the message names."""
    folded = fold(text or "")
    for situation in SITUATIONS:
        if situation.pattern.search(folded):
            return situation.name
    return None


_ANSWERED_BY_A_SITUATION = frozenset(
    {"share_worry", "how_to_talk", "warning_signs", "online", "school"}
)


def with_situation(topics: list[str], situation: str | None) -> list[str]:
    """The topics to answer once the message's situation is known: in place of the
    classifier's main topic, or after it for a situation that only adds."""
    if situation is None:
        return topics
    if _BY_NAME[situation].adds:
        return [*topics, situation] if situation not in topics else topics
    # The situation answers the message; another question in it still gets its answer,
    # but not general advice or the story's acknowledgement beside the situation's.
    others = [topic for topic in topics[1:] if topic not in _ANSWERED_BY_A_SITUATION]
    return [situation, *others]


def response_of(situation: str) -> str:
    return f"utter_situation_{situation}"


def is_situation(topic: str | None) -> bool:
    """A situation's answer, or one the conversation routes to (the acute track, honour
    control of an adult)."""
    return topic in _BY_NAME or topic in _ROUTED


# While an acute plan, weapon or trip is known, advice on talking to the person at home
# (or reading the signs) is the wrong answer: the acute track says the police judge it
# now, and not to question or confront the person alone (blind round 2: four safety
# problems in one conversation where a pipe-bomb plan with a date was known).
ACUTE_TRACK = "acute_track"
TALKING_TOPICS = frozenset({"how_to_talk", "warning_signs", "online", "school"})
_ACUTE_PLANS = frozenset({"travel", "weapons", "attack"})


def on_the_acute_track(risk_level: str | None, risk_signals: list[str] | None) -> bool:
    return risk_level == "acute" and bool(_ACUTE_PLANS & set(risk_signals or []))


# Honour-related control of someone 18 or older: the social services answers for a young
# adult or an adult speak of LVU for the person's own behaviour, which misleads when the
# person is the one controlled (blind round 3).
HONOUR_ADULT = "honour_adult"
_ROUTED = {ACUTE_TRACK: ACUTE_TRACK, HONOUR_ADULT: "honour"}
_ABOUT_CARE = frozenset({"social_services", "child_custody"})


def for_honour_control(topics: list[str], milieus: set[str], age_group: str | None) -> list[str]:
    """In a conversation about honour-related control of an adult, questions about social
    services get the answer about support and protection for the person controlled."""
    if "honour" not in milieus or age_group not in ("young_adult", "adult"):
        return topics
    routed: list[str] = []
    for topic in topics:
        topic = HONOUR_ADULT if topic in _ABOUT_CARE else topic
        if topic not in routed:
            routed.append(topic)
    return routed


def topic_followed_up_in(topic: str) -> str:
    """The topic a follow-up after this answer goes deeper in."""
    if topic in _BY_NAME:
        return _BY_NAME[topic].deepened_in
    return _ROUTED.get(topic, topic)
