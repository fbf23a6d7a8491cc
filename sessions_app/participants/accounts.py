"""Delegations and accounts made where missing (the demo, the tests and the benchmarks start from
them), and the interface language a signed-in user chose. Importing a roster file: roster.py."""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.db import transaction

from ..models import Delegation, Participant


@transaction.atomic
def ensure_delegations(*, codes: list[str]) -> list[Delegation]:
    """Create the delegations for these ISO 3166 codes where missing; return them all."""
    delegations = []
    for code in codes:
        delegation, _created = Delegation.objects.get_or_create(country=code)
        delegations.append(delegation)
    return delegations


@transaction.atomic
def ensure_user(
    *,
    username: str,
    password: str | None = None,
    password_hash: str | None = None,
    role: str,
    delegation: Delegation | None = None,
    first_name: str = "",
    last_name: str = "",
    email: str = "",
    is_staff: bool = False,
) -> User:
    """Create a user with a participant role if missing; an existing account is left as it is.

    password_hash (from make_password) spares hashing one password again for many accounts.
    """
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"first_name": first_name, "last_name": last_name, "email": email, "is_staff": is_staff},
    )
    if created:
        user.password = password_hash or make_password(password)
        user.save(update_fields=["password"])
    Participant.objects.get_or_create(user=user, defaults={"role": role, "delegation": delegation})
    return user


@transaction.atomic
def set_user_language(*, user: User, language: str) -> None:
    """Remember the interface language a signed-in user chose."""
    Participant.objects.filter(user=user).update(language=language)
