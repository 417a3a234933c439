"""The query language of watches: parsing into a tree (pure functions, no I/O).

    lumière AND (paris OR lyon) -promo "prix de lancement" NEAR/3 avis
    #soldes OR @acme   site:example.com   lang:fr   author:jdupont   title:rappel

Precedence, from tightest: ``NEAR/n`` and ``ONEAR/n`` (between terms, phrases or
parenthesised OR-groups of them), ``NOT`` and ``-x``, ``AND`` (also juxtaposition), ``OR``.
Operators are written in capitals; ``and``, ``or`` and ``not`` in lower case are words.
Terms ignore case and accents (``cafe`` matches ``Café``) unless written ``=Word``; a term
ending in ``*`` matches the words it begins (at least 3 letters before the ``*``). A term
that holds several words (``l'avenir``, ``example.com``) is a phrase of them. The semantics
of each node is in :mod:`townsquare.listening.matching`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from townsquare.errors import ValidationError
from townsquare.listening.text import WORD_RE, fold, normal_author, url_host

WILDCARD_MIN_LETTERS = 3
FILTER_FIELDS = ("lang", "site", "author", "network")
TEXT_FIELDS = ("title", "url")
_NEAR_RE = re.compile(r"(O?)NEAR/(.*)")


class QuerySyntaxError(ValidationError):
    """A query that cannot be read; the message gives the column and how to fix it."""

    def __init__(self, what: str, column: int, hint: str) -> None:
        super().__init__(f"{what} at column {column}: {hint}", field="query")
        self.column = column
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Term:
    text: str  # folded, or as written when ``exact``
    sign: str = ""  # "", "#" or "@": a signed term matches only signed words
    exact: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Phrase:
    terms: tuple[Term, ...]


Item = Term | Phrase


@dataclass(frozen=True, slots=True)
class Near:
    left: tuple[Item, ...]  # an OR-group: any of them
    right: tuple[Item, ...]
    distance: int
    ordered: bool  # ONEAR: right after left


@dataclass(frozen=True, slots=True)
class InField:
    field: Literal["title", "url"]
    item: Item


@dataclass(frozen=True, slots=True)
class Filter:
    field: Literal["lang", "site", "author", "network"]
    value: str


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


Node = Term | Phrase | Near | InField | Filter | And | Or | Not


# --- tokens --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "(", ")", "word", "phrase", "AND", "OR", "NOT", "-", "near", "field"
    column: int  # 1-based
    text: str = ""
    exact: bool = False
    distance: int = 0
    ordered: bool = False
    field: str = ""


_STOP = frozenset(' \t\r\n()"')


def _tokens(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(query)
    while i < n:
        char = query[i]
        column = i + 1
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, column))
            i += 1
        elif char == '"' or (char == "=" and query[i + 1 : i + 2] == '"'):
            exact = char == "="
            text, i = _quoted(query, i + 1 if exact else i)
            tokens.append(_Token("phrase", column, text, exact=exact))
        elif char == "-" and i + 1 < n and not query[i + 1].isspace() and query[i + 1] not in ")-":
            tokens.append(_Token("-", column))
            i += 1
        else:
            start = i
            while i < n and query[i] not in _STOP:
                i += 1
            run = query[start:i]
            name, colon, value = run.partition(":")
            if colon and name.lower() in FILTER_FIELDS + TEXT_FIELDS:
                exact = False
                if not value and i < n and query[i] == '"':
                    value, i = _quoted(query, i)
                    kind = "phrase"
                elif not value and query[i : i + 2] == '="':
                    value, i = _quoted(query, i + 1)
                    kind, exact = "phrase", True
                else:
                    kind = "word"
                if not value:
                    raise QuerySyntaxError(
                        f"{name}: needs a value",
                        column,
                        f"write it without a space, e.g. {name}:{_FIELD_EXAMPLES[name.lower()]}",
                    )
                tokens.append(_Token("field", column, value, exact, field=f"{name.lower()}/{kind}"))
                continue
            if run in ("AND", "OR", "NOT"):
                tokens.append(_Token(run, column))
                continue
            near = _NEAR_RE.fullmatch(run)
            if near:
                if not near.group(2).isdigit():
                    operator = f"{near.group(1)}NEAR/"
                    raise QuerySyntaxError(
                        f"{operator} needs a number", column, f"write e.g. a {operator}3 b"
                    )
                tokens.append(
                    _Token(
                        "near",
                        column,
                        run,
                        distance=int(near.group(2)),
                        ordered=bool(near.group(1)),
                    )
                )
                continue
            tokens.append(_Token("word", column, run))
    return tokens


_FIELD_EXAMPLES = {
    "lang": "fr",
    "site": "example.com",
    "author": "jdupont",
    "network": "mastodon",
    "title": "rappel",
    "url": "promo",
}


def _quoted(query: str, start: int) -> tuple[str, int]:
    """The text between the quote at ``start`` and the next one, and the index after it."""
    end = query.find('"', start + 1)
    if end < 0:
        raise QuerySyntaxError(
            "unclosed quote", start + 1, 'close the phrase with a second " (or remove this one)'
        )
    return query[start + 1 : end], end + 1


# --- items: terms and phrases --------------------------------------------------------------


def _item(text: str, column: int, *, exact: bool = False, quoted: bool = False) -> Item:
    """A term, or a phrase when ``text`` holds several words."""
    if not quoted and text.startswith("="):
        exact, text = True, text[1:]
    prefix = False
    if not quoted and text.endswith("*"):
        prefix, text = True, text[:-1]
    if "*" in text:
        raise QuerySyntaxError(
            "a * inside a word", column, "the wildcard only ends a word, as in lumi*"
        )
    found = list(WORD_RE.finditer(text))
    if not found:
        what = f'"{text}"' if quoted else repr(text)
        raise QuerySyntaxError(
            f"{what} has no letters or digits to look for",
            column,
            "write a word, or remove it",
        )
    terms = tuple(
        Term(
            match.group(2) if exact else fold(match.group(2)),
            match.group(1),
            exact=exact,
        )
        for match in found
    )
    if prefix:
        if len(terms) > 1:
            raise QuerySyntaxError(
                "a wildcard after several words",
                column,
                "the * ends a single word, as in lumi*; quote phrases without it",
            )
        if len(terms[0].text) < WILDCARD_MIN_LETTERS:
            raise QuerySyntaxError(
                "too short before *",
                column,
                f"write at least {WILDCARD_MIN_LETTERS} letters before the wildcard (lumi*)",
            )
        return Term(terms[0].text, terms[0].sign, exact=exact, prefix=True)
    return terms[0] if len(terms) == 1 else Phrase(terms)


def _filter_value(field: str, value: str) -> str:
    if field == "site":
        return url_host(value if "//" in value else f"http://{value}")
    if field == "author":
        return normal_author(value)
    return value.strip().lower()


# --- the parser ------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokens(query)
        self.at = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def end_column(self) -> int:
        return len(self.query) + 1

    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError("empty query", 1, "write at least one word to look for")
        node = self.or_expr()
        token = self.peek()
        if token is not None:
            # Only a ")" can stop an expression early.
            raise QuerySyntaxError("unexpected )", token.column, "remove it, or open a ( before it")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while (token := self.peek()) is not None and token.kind == "OR":
            self.take()
            children.append(self.and_expr(after=token))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self, after: _Token | None = None) -> Node:
        children = [self.unary(after)]
        while (token := self.peek()) is not None and token.kind not in ("OR", ")"):
            if token.kind == "AND":
                self.take()
                children.append(self.unary(token))
            else:
                children.append(self.unary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def unary(self, after: _Token | None = None) -> Node:
        token = self.peek()
        if token is not None and token.kind in ("NOT", "-"):
            self.take()
            return Not(self.unary(token))
        return self.near(after)

    def near(self, after: _Token | None) -> Node:
        left = self.atom(after)
        token = self.peek()
        if token is None or token.kind != "near":
            return left
        self.take()
        right = self.atom(token)
        operator = token.text.split("/")[0]
        group_left = self.near_operand(left, token)
        group_right = self.near_operand(right, token)
        following = self.peek()
        if following is not None and following.kind == "near":
            raise QuerySyntaxError(
                f"{following.text} right after another NEAR",
                following.column,
                f"join them with AND: (a {operator}/{token.distance} b) AND (b … c)",
            )
        return Near(group_left, group_right, token.distance, token.ordered)

    def near_operand(self, node: Node, operator: _Token) -> tuple[Item, ...]:
        if isinstance(node, Term | Phrase):
            return (node,)
        if isinstance(node, Or) and all(isinstance(c, Term | Phrase) for c in node.children):
            return tuple(c for c in node.children if isinstance(c, Term | Phrase))
        raise QuerySyntaxError(
            f"{operator.text} joins words, phrases or (a OR b) groups",
            operator.column,
            "move filters and NOT outside: (a OR b) NEAR/3 c AND lang:fr",
        )

    def atom(self, after: _Token | None) -> Node:
        token = self.peek()
        if token is None or token.kind in ("OR", "AND", ")", "near"):
            if after is not None:
                name = after.text if after.kind == "near" else after.kind
                column = token.column if token is not None else self.end_column()
                raise QuerySyntaxError(
                    f"{name} needs a term after it",
                    column,
                    f"write a word after {name}, or remove {name}",
                )
            if token is None:
                raise QuerySyntaxError("the query ends early", self.end_column(), "add a word")
            if token.kind == ")":
                raise QuerySyntaxError(
                    "unexpected )", token.column, "remove it, or open a ( before it"
                )
            name = token.text if token.kind == "near" else token.kind
            raise QuerySyntaxError(
                f"{name} needs a term before it", token.column, f"write a word before {name}"
            )
        self.take()
        if token.kind == "(":
            if (inner := self.peek()) is not None and inner.kind == ")":
                raise QuerySyntaxError("empty parentheses", token.column, "put a term inside ()")
            node = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QuerySyntaxError(
                    "unclosed parenthesis", token.column, "add the ) that closes it"
                )
            self.take()
            return node
        if token.kind == "phrase":
            return _item(token.text, token.column, exact=token.exact, quoted=True)
        if token.kind == "field":
            field, _, kind = token.field.partition("/")
            if field in TEXT_FIELDS:
                item = _item(token.text, token.column, exact=token.exact, quoted=kind == "phrase")
                return InField(field, item)  # type: ignore[arg-type]
            value = _filter_value(field, token.text)
            if not value:
                raise QuerySyntaxError(
                    f"{field}: needs a value",
                    token.column,
                    f"e.g. {field}:{_FIELD_EXAMPLES[field]}",
                )
            return Filter(field, value)  # type: ignore[arg-type]
        return _item(token.text, token.column)


def parse(query: str) -> Node:
    """The tree of ``query``; QuerySyntaxError with the column and a hint when it is wrong."""
    return _Parser(query).parse()
