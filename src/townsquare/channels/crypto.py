"""Encryption of channel credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from townsquare.errors import TownsquareError


class CredentialsBox:
    """Encrypts and decrypts a channel's credentials (a JSON object) with one key."""

    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError):
            raise TownsquareError(
                "TOWNSQUARE_CREDENTIALS_KEY is not a valid Fernet key: generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from None

    def seal(self, credentials: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(credentials, sort_keys=True).encode())

    def open(self, sealed: bytes) -> dict[str, Any]:
        try:
            value = json.loads(self._fernet.decrypt(sealed))
        except InvalidToken:
            raise TownsquareError(
                "stored credentials cannot be decrypted: the credentials key changed; restore "
                "the old key or reconnect the channel"
            ) from None
        if not isinstance(value, dict):
            raise TownsquareError("stored credentials are not a JSON object")
        return value
