"""The REST API keeps the promises of its OpenAPI document (issue 7): schemathesis generates
requests for every operation of ``/api/openapi.json`` and checks that none answers 5xx, and
that every status code, content type, header and body is the one the document declares.

Each operation runs against its own copy of a seeded SQLite database, served by the real
app over loopback, with a valid token: a DELETE or PATCH cannot spoil another operation's
data. Half of the cases name the seeded workspace, link and channel, so that requests reach
real objects and not only 404s. Examples are bounded per operation (``MAX_EXAMPLES``) so
the whole file runs in about a minute.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import make_settings
from townsquare.db import Database
from townsquare.web.app import create_app

MAX_EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
WORKSPACE, LINK_SLUG = "acme", "spring"


def _document() -> dict[str, object]:
    """The OpenAPI document as the app serves it (building it touches no database)."""
    with tempfile.TemporaryDirectory() as scratch:
        return create_app(make_settings(Path(scratch), "sqlite://")).openapi()


# The explicit examples and the fuzzing phase, bounded by MAX_EXAMPLES; the coverage
# phase (every boundary of every parameter, hundreds of cases per operation) is left to a
# manual `schemathesis run` when the document changes a lot.
CONFIG = SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}})
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@dataclass
class Template:
    path: Path
    token: str
    ids: dict[str, int]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """One migrated, seeded SQLite file; every operation gets a copy of it."""
    from tests.conftest import seed_workspace
    from townsquare.channels import service as channels
    from townsquare.channels.crypto import CredentialsBox
    from townsquare.links import service as links
    from townsquare.workspaces import invitations, service

    folder = tmp_path_factory.mktemp("contract")
    config = make_settings(folder)
    database = Database.from_settings(config)
    database.upgrade()
    seed = seed_workspace(database, slug=WORKSPACE)
    with database.session() as session:
        access = service.WorkspaceAccess.operator(service.get_workspace(session, WORKSPACE))
        link = links.create_link(
            session, access, config, target_url="https://shop.example/", slug=LINK_SLUG
        )
        link_id = link.id
        session.commit()
        channel = channels.add_channel(
            session,
            access,
            network="mastodon",
            handle="@acme@mastodon.example",
            display_name="Acme",
            credentials={"access_token": "secret"},
            box=CredentialsBox(config.resolved_credentials_key()),
        )
        invited = invitations.invite(
            session, access, email="new@acme.test", role="viewer", settings=config, base_url="x"
        )
        ids = {"channel": channel.id, "invitation": invited.invitation.id, "link": link_id}
    database.dispose()
    return Template(folder / "townsquare.db", seed.token, ids)


@pytest.fixture
def app(template: Template, tmp_path: Path) -> Iterator[FastAPI]:
    """The real app on this operation's own copy of the seeded database (in process: the
    ASGI transport avoids a server per operation; the lifespan runs as in ``serve``)."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("townsquare.db", "secret.key", "credentials.key"):
        if (template.path.parent / name).exists():
            shutil.copy(template.path.parent / name, data / name)
    database = Database.from_settings(make_settings(data))
    application = create_app(make_settings(data), database=database)
    with TestClient(application):
        yield application
    database.dispose()


_cases = count()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_the_api_answers_as_documented(
    case: schemathesis.Case, app: FastAPI, template: Template
) -> None:
    if next(_cases) % 2 == 0:
        # Real objects half of the time: the generator alone would nearly always miss them.
        real = {
            "workspace": WORKSPACE,
            "slug": LINK_SLUG,
            "channel_id": template.ids["channel"],
            "invitation_id": template.ids["invitation"],
        }
        for name, value in real.items():
            if case.path_parameters and name in case.path_parameters:
                case.path_parameters[name] = value
    case.call_and_validate(
        app=app, headers={"Authorization": f"Bearer {template.token}"}, checks=CHECKS
    )


def test_the_document_names_every_download_and_error() -> None:
    paths = _document()["paths"]
    assert isinstance(paths, dict)
    base = "/api/v1/workspaces/{workspace}"
    downloads = {
        f"{base}/links/{{slug}}/stats.csv": "text/csv",
        f"{base}/links/{{slug}}/clicks.csv": "text/csv",
        f"{base}/link-stats.csv": "text/csv",
        f"{base}/link-clicks.csv": "text/csv",
        f"{base}/mentions.csv": "text/csv",
        f"{base}/links/{{slug}}/qr.svg": "image/svg+xml",
        f"{base}/links/{{slug}}/qr.png": "image/png",
    }
    for path, media_type in downloads.items():
        assert list(paths[path]["get"]["responses"]["200"]["content"]) == [media_type], path
    for path, operations in paths.items():
        for method, operation in operations.items():
            for code in ("401", "403", "404", "422"):
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}, (
                    method,
                    path,
                    code,
                )
    added = paths[f"{base}/members"]["post"]["responses"]
    assert {"201", "202"} <= set(added)


def test_a_malformed_body_is_422_like_all_bad_input(app: FastAPI, template: Template) -> None:
    headers = {"Authorization": f"Bearer {template.token}", "Content-Type": "application/json"}
    with TestClient(app) as client:
        for body in (b"\r\xff\xfe|", b'{"slug": ', b"not json"):
            response = client.post("/api/v1/workspaces", content=body, headers=headers)
            assert response.status_code == 422, (body, response.text)
            error = response.json()["error"]
            assert error["type"] == "validation_error"
            assert "JSON" in error["message"]
