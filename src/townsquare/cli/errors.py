"""Exit codes for the command line, in one place (see ``townsquare.errors``)."""

from __future__ import annotations

from townsquare import errors

EXIT_CODES: dict[type[errors.TownsquareError], int] = {
    errors.ValidationError: 2,
    errors.UnknownHost: 2,
    errors.NotFound: 3,
    errors.Conflict: 4,
    errors.AuthenticationError: 5,
    errors.PermissionDenied: 6,
    errors.RateLimited: 7,
    errors.NetworkError: 8,
}
GENERIC_ERROR_EXIT = 1


def exit_code_for(error: errors.TownsquareError) -> int:
    for kind in type(error).__mro__:
        if kind in EXIT_CODES:
            return EXIT_CODES[kind]
    return GENERIC_ERROR_EXIT
