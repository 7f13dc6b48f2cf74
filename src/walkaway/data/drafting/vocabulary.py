"""The vocabulary of CRM exports: which column names mean which canonical column, and which sign.

Regular expressions over normalised column names (:func:`normalise_name`), each matched from a
word start (:func:`matches`): the words that name a deal id, an account, an outcome, a date, an
amount, a column known only after the close; the rules mapping names to the canonical deal,
account and product columns; the sign an unknown column's name suggests (:func:`guess_sign`);
and the value words (won, lost, none, ownership). Kept apart from the drafting steps so that a
new CRM's spelling is taught here, in one place, without touching the logic that uses it.
"""

from __future__ import annotations

import re

# Name patterns, matched on normalised names (see normalise_name) from a word start.
DEAL_ID_WORDS = r"id\b|ids\b|number\b|no\b|nr\b|num\b|key\b|ref\b|reference\b|code\b"
DEAL_WORDS = r"opportunit|opp\b|opps\b|deal\b|deals\b"
ACCOUNT_WORDS = r"account|client|company|customer|organi[sz]ation|org\b|buyer\b"
NOT_ACCOUNT_ID_WORDS = (
    r"size|revenue|employee|count|type|industry|sector|since|past|manager|executive|owner"
    r"|rep\b|name\b|segment|tier|city|country|region"
)
OWNER_WORDS = (
    r"owner|agent|rep\b|reps\b|representative|seller|salesperson|sales person"
    r"|account manager|account executive|ae\b"
)
OUTCOME_NAME_WORDS = r"stage|status|result|outcome|state\b|phase"
STAGE_VALUE_WORDS = (
    r"won|win|lost|loss|clos|open|engag|prospect|qualif|proposal|negotiat|discover|demo"
    r"|pending|progress|active|pipeline|lead|commit|contract|evaluat|quote|cancel|abandon"
    r"|no decision|dead|hold|identif|validat|verbal|perception|needs analysis|decision"
)
CLOSED_SOUNDING_WORDS = (
    r"clos|cancel|abandon|disqualif|dead|reject|declin|no decision|lapsed|churn|withdr|void"
    r"|duplicate|junk|omit|lost|loss"
)
CREATED_WORDS = r"creat|engag|open|start|entered|identif|received|submitted|first contact|lead date"
CLOSED_WORDS = r"clos|end\b|ended\b|won\b|lost\b|decision|finish"
NOT_ACTUAL_CLOSE_WORDS = r"expected|forecast|target|planned|estimated|projected"
POST_OUTCOME_WORDS = (
    r"clos|elapsed|days?\b|duration|stage change|ratio|churn|margin|regret|reason"
    r"|probability|forecast categor|won\b|lost\b|loss\b|actual"
)
AMOUNT_WORDS = (
    r"amount",
    r"value|acv\b|tcv\b|arr\b|mrr\b|contract size|booking",
    r"deal size",
    r"price",
    r"revenue",
)
NOT_AMOUNT_WORDS = r"client|customer|account|company|categor|band|bucket|size by|past|count"
CUSTOMER_FACT_WORDS = r"employee|headcount|revenue|industry|sector|client size|company size|segment"
NONE_WORDS = frozenset(
    {"none", "no", "n/a", "na", "-", "no competitor", "no incumbent", "nobody", "null", "nil"}
)
OWNERSHIP_WORDS = frozenset(
    {"public", "private", "subsidiary", "government", "nonprofit", "non-profit", "cooperative"}
)

# Deal columns known only after the outcome: the labels of the regret head. Mapped to their
# label-only canonical column and listed as post_outcome.
LABEL_RULES: tuple[tuple[str, str, str], ...] = (
    ("churn_date", r"churn|cancell?ation date|cancel date|terminat", "date"),
    ("regrettable", r"regret", "bool"),
    ("margin", r"margin", "number"),
    ("support_cost", r"support cost|cost to serve|service cost|cost of service", "number"),
)
# Deal features named precisely enough to be taken before the post-outcome names ("days").
SPECIFIC_FEATURE_RULES: tuple[tuple[str, str, str], ...] = (
    ("incumbent_tenure_years", r"tenure|incumbent since|incumbent years", "number"),
    ("response_window_days", r"response window|response deadline|days to respond", "number"),
)
# The other deal features, in the order they claim columns.
FEATURE_RULES: tuple[tuple[str, str, str], ...] = (
    ("competitor_count", r"competitor|competition|rival|incumbent|bidder", "number"),
    ("incumbent_vendor", r"competitor|competition|rival|incumbent|vendor", "text"),
    ("formal_tender", r"tender|rfp\b|rfq\b|rfi\b|formal bid", "bool"),
    ("decision_maker_access", r"decision maker|economic buyer|dm access", "bool"),
    ("must_have_capabilities", r"must have|mandatory|critical requirement", "text"),
    ("required_capabilities", r"required capabilit|capabilit|requirements\b", "text"),
    ("customisation_required", r"customi[sz]ation|custom work|custom development|bespoke", "bool"),
    ("needs_defined", r"needs? defined|defined needs|requirements defined", "bool"),
)
CONTEXT_RULES: tuple[tuple[str, str, str], ...] = (
    ("product", r"product|supplies group|item\b|sku\b|offering", "text"),
    ("lead_source", r"lead source|source\b|route to market|channel|origin", "text"),
    ("region", r"region|territory|office|geo\b|geography|country|zone\b|area\b", "text"),
    ("owner", OWNER_WORDS, "text"),
    ("deal_type", r"type\b|new business", "text"),
)
ACCOUNT_RULES: tuple[tuple[str, str, str], ...] = (
    (
        "account_name",
        r"account name|company name|customer name|client name|legal name|name\b",
        "text",
    ),
    ("industry", r"industry|industries|sector|vertical", "text"),
    ("employees", r"employee|headcount|head count|staff|fte\b|workforce", "number"),
    ("annual_revenue", r"revenue|turnover|annual sales|sales volume", "number"),
    ("founded_year", r"found|establish|incorporat|year\b", "number"),
    ("ownership", r"ownership|owned|subsidiar|parent|legal form|company type", "text"),
)
PRODUCT_RULES: tuple[tuple[str, str, str], ...] = (
    ("capabilities", r"capabilit|feature|module|function", "text"),
    ("list_price", r"list price|price|msrp\b|rrp\b", "number"),
    ("description", r"descr|summary|about\b", "text"),
)
PRODUCT_KEY_WORDS = r"product|name\b|sku\b|item\b"


# The sign an extra column's name suggests, first match wins; anything else is deal context.
SIGN_WORDS: tuple[tuple[str, str], ...] = (
    (
        "glass_walls",
        r"competit|rival|incumbent|vendor|supplier|tender|rfp\b|rfq\b|rfi\b|bid|"
        r"relationship|decision maker|sponsor|champion|access|procurement|framework",
    ),
    (
        "need_fit",
        r"need|requirement|capabilit|feature|fit\b|customi[sz]|bespoke|integrat|use case|pain|"
        r"scope|"
        r"module|spec|solution|technical|demo|trial|pilot|proof",
    ),
    (
        "icp_fit",
        r"industry|sector|vertical|employee|headcount|revenue|turnover|size|segment|"
        r"customer|client|company|ownership|founded|status|tier|market",
    ),
)


def guess_sign(key: str) -> str:
    """The sign a normalised column name suggests (deal context when none does).

    Examples
    --------
    >>> guess_sign("competitors present"), guess_sign("customer status"), guess_sign("rfi")
    ('glass_walls', 'icp_fit', 'glass_walls')
    >>> guess_sign("needs documented"), guess_sign("discount")
    ('need_fit', 'deal_context')
    """
    for sign, words in SIGN_WORDS:
        if matches(key, words):
            return sign
    return "deal_context"


def name_fit(key: str, canonical: str) -> int:
    """How well a normalised column name names a canonical column: 2 exactly ("formal
    tender"), 1 abbreviated word by word ("forml tend", "frml tndr"), else 0.

    Examples
    --------
    >>> name_fit("formal tender", "formal_tender"), name_fit("forml tend", "formal_tender")
    (2, 1)
    >>> name_fit("rfi", "formal_tender"), name_fit("tender", "formal_tender")
    (0, 0)
    """
    words = canonical.split("_")
    parts = key.split()
    if parts == words:
        return 2
    if len(parts) != len(words):
        return 0
    return int(all(_abbreviates(part, word) for part, word in zip(parts, words, strict=True)))


def _abbreviates(part: str, word: str) -> bool:
    """``part`` starts like ``word`` and its letters appear in ``word`` in order."""
    if not part or part[0] != word[0] or len(part) > len(word):
        return False
    rest = iter(word)
    return all(letter in rest for letter in part)


def normalise_name(name: str) -> str:
    """A column name in lower-case words, for matching name patterns.

    Examples
    --------
    >>> normalise_name("OpportunityID"), normalise_name("Incumbent Tenure (years)")
    ('opportunity id', 'incumbent tenure years')
    >>> normalise_name("Must-Have Capabilities"), normalise_name("close_value")
    ('must have capabilities', 'close value')
    """
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", str(name))
    spaced = re.sub(r"(?<=[A-Z])(?=[A-Z][a-z])", " ", spaced)
    return " ".join(re.sub(r"[^0-9a-z]+", " ", spaced.lower()).split())


def outcome_of(value: str) -> str:
    """The canonical outcome a stage or result value most likely means.

    Examples
    --------
    >>> [outcome_of(v) for v in ["Closed Won", "Loss", "Closed Lost", "Engaging", "Win"]]
    ['won', 'lost', 'lost', 'open', 'won']
    """
    low = value.lower()
    won = "won" in low or "win" in low
    lost = "lost" in low or "loss" in low
    if won and not lost:
        return "won"
    if lost and not won:
        return "lost"
    return "open"


def matches(key: str, words: str) -> str | None:
    """The word of ``words`` found in a normalised name (from a word start), or None."""
    found = re.search(rf"\b(?:{words})", key)
    return found.group(0) if found else None


def compact(value: str) -> str:
    """Letters and digits only, lower-cased: 'GTX Pro' and 'GTXPro' both give 'gtxpro'."""
    return re.sub(r"[^0-9a-z]", "", value.lower())


def category(value: str) -> str:
    """A category as the contract compares it: trimmed, inner spaces collapsed, lower-case."""
    return " ".join(value.split()).lower()
