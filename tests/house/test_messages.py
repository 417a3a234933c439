"""Messages with values are translated with their values: every error and import problem is
declared as an English template with named placeholders (never an f-string), every template
has a French translation, the web shows it in the reader's language and the API in English
with its id and values.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.orm import Session

from townsquare.db import Database
from townsquare.errors import NotFound, ValidationError, problem
from townsquare.messages import Message
from townsquare.web.errors import error_body
from townsquare.web.i18n import LOCALES_DIR, translator

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "townsquare"
ERROR_CLASSES = {
    "TownsquareError",
    "ValidationError",
    "NotFound",
    "Conflict",
    "AuthenticationError",
    "PermissionDenied",
    "RateLimited",
    "NetworkError",
    "UnknownHost",
}
# Callable name -> position of its message argument.
MESSAGE_ARGUMENT = {
    **dict.fromkeys(ERROR_CLASSES, 0),
    "Message": 0,
    "_fail": 0,
    "problem": 1,
    "require": 1,
    "commit_or_conflict": 1,
    "unique_or_conflict": 1,
}


def _calls() -> list[tuple[str, ast.expr]]:
    """(where, message argument) of every error, Message, problem and role check in src."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            position = MESSAGE_ARGUMENT.get(str(name))
            if position is None or len(node.args) <= position:
                continue
            where = f"{path.relative_to(PACKAGE)}:{node.lineno}"
            found.append((where, node.args[position]))
    return found


def message_templates() -> dict[str, str]:
    """msgid → where, for every literal message template of the code."""
    return {
        argument.value: where
        for where, argument in _calls()
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str)
    }


def french_catalog() -> dict[str, str]:
    merged: dict[str, str] = {}
    for path in sorted((LOCALES_DIR / "fr" / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="fr"):
                if isinstance(message.id, str) and message.id and message.string:
                    merged.setdefault(message.id, str(message.string))
    return merged


def test_the_scan_finds_the_messages() -> None:
    templates = message_templates()
    assert len(templates) > 150
    assert any(t.startswith("unknown time zone %(value)r") for t in templates)
    assert "wrong e-mail or password" in templates


def test_messages_are_templates_not_formatted_strings() -> None:
    """An f-string (or % / .format / +) as a message would be English for ever."""
    formatted = [
        f"{where}: {ast.unparse(argument)[:80]}"
        for where, argument in _calls()
        if isinstance(argument, ast.JoinedStr | ast.BinOp)
        or (isinstance(argument, ast.Call) and getattr(argument.func, "attr", "") == "format")
    ]
    assert not formatted, (
        "write these messages as a template with params={...} (see townsquare/errors.py):\n"
        + "\n".join(formatted)
    )


def test_every_message_has_a_french_translation() -> None:
    french = french_catalog()
    missing = sorted(
        f"{where}: {t!r}" for t, where in message_templates().items() if t not in french
    )
    assert not missing, (
        f"{len(missing)} messages have no French translation; add them to "
        "src/townsquare/web/locales/fr/LC_MESSAGES/errors.po:\n" + "\n".join(missing)
    )


def test_french_translations_keep_their_placeholders() -> None:
    french = french_catalog()
    values = {"value": "x"}
    for template in message_templates():
        translated = french.get(template)
        if translated is None or "%(" not in template:
            continue
        names = {part.split(")")[0] for part in template.split("%(")[1:]}
        assert names == {part.split(")")[0] for part in translated.split("%(")[1:]}, template
        # Both fill with the same values without error.
        sample = {name: values.get(name, 1) for name in names}
        assert (template % sample) and (translated % sample)


def test_the_error_speaks_english_and_the_web_french() -> None:
    error = ValidationError(
        "unknown time zone %(value)r: did you mean %(hint)s? Use an IANA name such as "
        "Europe/Paris, America/New_York or UTC",
        params={"value": "Europe/Pariss", "hint": "Europe/Paris"},
        field="timezone",
    )
    assert str(error).startswith("unknown time zone 'Europe/Pariss': did you mean Europe/Paris?")
    french = translator("fr")(error.message)
    assert french.startswith("fuseau horaire inconnu 'Europe/Pariss'"), french
    assert "Europe/Paris ?" in french
    assert translator("en")(error.message) == str(error)
    body = error_body(error)["error"]
    assert body["message"] == str(error)
    assert body["message_id"] == error.message_id and body["params"]["value"] == "Europe/Pariss"


def test_nested_messages_and_numbers_follow_the_language() -> None:
    action = Message("add members")
    error = NotFound("no member with id %(user_id)s in this workspace", params={"user_id": 12345})
    assert (
        translator("fr")(error.message) == "aucun membre avec l'identifiant 12345 dans cet espace"
    )
    nested = Message("%(field)s: %(problem)s", field="x", problem=action)
    assert translator("fr")(nested) == "x : ajouter des membres"
    ratio = Message("%(column)s: %(value)s is negative (a count cannot be)", column="c", value=2.5)
    assert translator("fr")(ratio) == "c : 2,5 est négatif (un nombre ne peut pas l'être)"


def test_a_broken_translation_falls_back_to_english() -> None:
    message = Message("no API token with id %(token_id)s", token_id=3)
    assert message.localize(lambda _text: "jeton %(wrong)s") == "no API token with id 3"


def test_problems_carry_their_id() -> None:
    error = ValidationError(
        "nothing was imported",
        problems=[problem("file", "no post with id %(post_id)s in this workspace", post_id=7)],
    )
    item = error_body(error)["error"]["problems"][0]
    assert item == {
        "field": "file",
        "message": "no post with id 7 in this workspace",
        "message_id": "no post with id %(post_id)s in this workspace",
        "params": {"post_id": 7},
    }


@pytest.mark.parametrize("value", ["100%", "%(x)s", "%"])
def test_a_value_with_percent_signs_is_kept_as_it_is(value: str) -> None:
    message = Message("invalid slug %(value)r", value=value)
    assert str(message) == f"invalid slug {value!r}"
    assert translator("fr")(message).endswith(repr(value))


def test_the_web_english_of_command_line_hints() -> None:
    """en/web.po rephrases, for web pages only, messages that name CLI flags or commands;
    each of its msgids is a template of the code, with the same placeholders."""
    templates = message_templates()
    with (LOCALES_DIR / "en" / "LC_MESSAGES" / "web.po").open("rb") as handle:
        catalog = read_po(handle, locale="en")
    entries = [m for m in catalog if isinstance(m.id, str) and m.id]
    assert len(entries) > 10
    for message in entries:
        assert message.id in templates, f"stale entry {message.id!r}"
        web = str(message.string)
        assert "--" not in web and "townsquare " not in web, web
        names = {part.split(")")[0] for part in message.id.split("%(")[1:]}
        assert names == {part.split(")")[0] for part in web.split("%(")[1:]}, message.id
    assert not list(catalog.check())
    error = NotFound(
        "no workspace '%(slug)s': list them with `townsquare workspace list`",
        params={"slug": "acme"},
    )
    assert "townsquare workspace list" in str(error)  # the CLI and the API
    assert translator("en")(error.message) == "no workspace 'acme': see the list of your workspaces"
    assert "townsquare" not in translator("fr")(error.message)


def test_an_e_mail_taken_by_a_racing_request_is_a_conflict_in_french(database: Database) -> None:
    """Another request creates the same e-mail after this one's check, before its write:
    the unique index refuses the write, and the Conflict is a template the web translates."""
    from sqlalchemy import event, insert

    from townsquare.errors import Conflict
    from townsquare.workspaces.models import User
    from townsquare.workspaces.service import create_user

    def the_other_request(session: Session, *_: object) -> None:
        with database.engine.begin() as connection:
            connection.execute(insert(User).values(email="ann@example.org", password_hash="x"))

    with database.session() as session:
        event.listen(session, "before_flush", the_other_request, once=True)
        with pytest.raises(Conflict) as caught:
            create_user(session, email="Ann@Example.org", password="correct horse battery")
    error = caught.value
    assert error.field == "email"
    assert error.message_id.startswith("a user with e-mail %(address)s already exists")
    assert error.params == {"address": "ann@example.org"}
    french = translator("fr")(error.message)
    assert french.startswith("un utilisateur avec l'adresse ann@example.org existe déjà"), french


def test_a_stored_message_keeps_its_template_and_values_apart() -> None:
    from townsquare.messages import StoredMessage

    class Row:
        reason = StoredMessage("reason_key", "reason_params")

        def __init__(self) -> None:
            self.reason_key: str | None = None
            self.reason_params: dict[str, object] | None = None

    row = Row()
    row.reason = Message("no API token with id %(token_id)s", token_id=3)
    assert (row.reason_key, row.reason_params) == (
        "no API token with id %(token_id)s",
        {"token_id": 3},
    )
    assert row.reason == "no API token with id 3" and row.reason is not None
    assert row.reason.params == {"token_id": 3}
    row.reason = "an old English sentence"  # stored before the messages: kept as it is
    assert (row.reason_key, row.reason_params) == ("an old English sentence", None)
    row.reason = None
    assert row.reason is None and row.reason_key is None
    assert isinstance(Row.reason, StoredMessage)
