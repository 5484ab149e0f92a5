"""Users, roles and logins, kept in one JSON file in the workspace (mode 600).

Roles (issue 11):

==============  =================================================================
``admin``        everything; manages users
``investigator`` the sources of their cases only
``analyst``      the sources of their cases only; cannot export
``trainer``      only sources with ``method: synthetic``
``auditor``      the audit trail; no case data
==============  =================================================================

Passwords are hashed with argon2id (``argon2-cffi``'s :class:`~argon2.PasswordHasher`, its
RFC 9106 low-memory defaults); the clear text is never stored, logged or returned. Failed logins
are counted per name (known or not, so the count says nothing about which names exist);
:attr:`Settings.login_attempts` failures lock the name for :attr:`Settings.lockout_minutes`.
Every change rewrites the file atomically under an exclusive lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from graphintel.errors import AccessDenied, UserError

__all__ = [
    "EXPORT_ROLES",
    "ROLES",
    "LoginFailed",
    "User",
    "UserFile",
    "check_password",
]

ROLES = ("admin", "investigator", "analyst", "trainer", "auditor")
CASE_ROLES = ("investigator", "analyst")
EXPORT_ROLES = ("admin", "investigator", "trainer")
MIN_PASSWORD = 8
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_HASHER = PasswordHasher()  # argon2id
LOGIN_FAILED = "Unknown username or wrong password."


class LoginFailed(AccessDenied):
    """A login was refused; the message never says whether the name or the password was wrong."""


@dataclass(frozen=True)
class User:
    """A dashboard user (no password material)."""

    name: str
    role: str
    cases: tuple[str, ...] = ()
    created_at: str = ""

    @property
    def can_export(self) -> bool:
        return self.role in EXPORT_ROLES


@dataclass
class _Data:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[str, dict[str, Any]] = field(default_factory=dict)


def check_password(password: str) -> str:
    """Return ``password`` if acceptable, else raise :class:`UserError` (without echoing it).

    Example
    -------
    >>> check_password("correct horse")
    'correct horse'
    >>> check_password("short")
    Traceback (most recent call last):
    ...
    graphintel.errors.UserError: the password is too short: use at least 8 characters
    """
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: use at least {MIN_PASSWORD} characters")
    if password != password.strip() or "\n" in password:
        raise UserError("the password starts or ends with white space or holds a line break")
    return password


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class UserFile:
    """The users of one workspace (``settings.users_file``).

    Example
    -------
    >>> import tempfile
    >>> users = UserFile(Path(tempfile.mkdtemp()) / "users.json")
    >>> users.add("kim", "investigator", "a long secret", cases=["CASE-A"]).cases
    ('CASE-A',)
    >>> users.authenticate("kim", "a long secret").role
    'investigator'
    >>> oct(users.path.stat().st_mode & 0o777)
    '0o600'
    """

    def __init__(self, path: str | Path, *, attempts: int = 5, lockout_minutes: float = 15.0):
        self.path = Path(path)
        self.max_attempts = int(attempts)
        self.lockout = dt.timedelta(minutes=float(lockout_minutes))

    # -- file --------------------------------------------------------------------------------
    def _read(self) -> _Data:
        if not self.path.exists():
            return _Data()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            return _Data(users=dict(raw["users"]), attempts=dict(raw.get("attempts", {})))
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise UserError(
                f"the user file {self.path} is unreadable ({type(err).__name__}): restore it "
                "from a backup, or move it away and add the users again"
            ) from err

    @contextmanager
    def _locked(self) -> Iterator[_Data]:
        """Read-modify-write under an exclusive lock; the file is replaced atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            yield data
            tmp = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"users": data.users, "attempts": data.attempts}, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.path)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            os.close(lock)

    # -- queries -----------------------------------------------------------------------------
    def exists(self) -> bool:
        """Whether at least one user is defined."""
        return bool(self._read().users)

    def list(self) -> list[User]:
        """Every user, by name."""
        return [_user(n, r) for n, r in sorted(self._read().users.items())]

    def get(self, name: str) -> User:
        """One user. Raises :class:`UserError` for an unknown name."""
        data = self._read()
        if name not in data.users:
            raise UserError(_unknown(name, data))
        return _user(name, data.users[name])

    # -- changes -----------------------------------------------------------------------------
    def add(
        self, name: str, role: str, password: str, *, cases: list[str] | tuple[str, ...] = ()
    ) -> User:
        """Add a user (role and cases checked; ``cases`` must already be known to the caller).

        Raises
        ------
        UserError
            Bad or taken name, unknown role, cases missing for or given to the wrong role, weak
            password.
        """
        if not _NAME.match(name or ""):
            raise UserError(
                f"user name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
                "starting with a letter or digit"
            )
        role = _check_role(role)
        cases = tuple(dict.fromkeys(c.strip() for c in cases if c.strip()))
        if role in CASE_ROLES and not cases:
            raise UserError(
                f"a user with role {role} sees only their cases: give them with --cases "
                "CASE_ID[,CASE_ID…]"
            )
        if role not in CASE_ROLES and cases:
            raise UserError(
                f"--cases applies to investigators and analysts only; role {role} "
                + (
                    "sees every case"
                    if role == "admin"
                    else "sees synthetic sources only"
                    if role == "trainer"
                    else "sees no case data"
                )
            )
        digest = _HASHER.hash(check_password(password))
        with self._locked() as data:
            if name in data.users:
                raise UserError(
                    f"user {name!r} exists already: `graphintel users remove {name}` first, or "
                    f"`graphintel users passwd {name}` to change the password"
                )
            data.users[name] = {
                "role": role,
                "cases": list(cases),
                "password": digest,
                "created_at": _iso(_now()),
            }
            data.attempts.pop(name, None)
            return _user(name, data.users[name])

    def remove(self, name: str) -> User:
        """Remove a user. Raises :class:`UserError` for an unknown name."""
        with self._locked() as data:
            if name not in data.users:
                raise UserError(_unknown(name, data))
            user = _user(name, data.users.pop(name))
            data.attempts.pop(name, None)
            return user

    def set_password(self, name: str, password: str) -> User:
        """Replace a user's password (and clear a lock-out)."""
        digest = _HASHER.hash(check_password(password))
        with self._locked() as data:
            if name not in data.users:
                raise UserError(_unknown(name, data))
            data.users[name]["password"] = digest
            data.attempts.pop(name, None)
            return _user(name, data.users[name])

    # -- logins ------------------------------------------------------------------------------
    def authenticate(self, name: str, password: str, *, now: dt.datetime | None = None) -> User:
        """The user, when ``password`` is theirs and the name is not locked.

        Raises
        ------
        LoginFailed
            Unknown name or wrong password (one message for both), or the name is locked after
            too many failures.
        """
        now = now or _now()
        with self._locked() as data:
            state = data.attempts.get(name, {})
            locked = state.get("locked_until")
            if locked and locked > _iso(now):
                raise LoginFailed(
                    "Too many failed attempts: this name is locked for a while. Try again later "
                    "or ask an administrator."
                )
            record = data.users.get(name)
            ok = False
            try:
                # A name that does not exist still costs one verification (same time either way).
                ok = _HASHER.verify(record["password"] if record else _DUMMY, password)
            except (VerificationError, InvalidHashError):
                ok = False
            if ok and record is not None:
                data.attempts.pop(name, None)
                if _HASHER.check_needs_rehash(record["password"]):
                    record["password"] = _HASHER.hash(password)
                return _user(name, record)
            failures = int(state.get("failures", 0)) + 1
            state = {"failures": failures, "last": _iso(now)}
            if failures >= self.max_attempts:
                state = {"failures": 0, "locked_until": _iso(now + self.lockout)}
            if len(name) <= 64:  # do not let junk names grow the file
                data.attempts[name] = state
        raise LoginFailed(LOGIN_FAILED)


_DUMMY = _HASHER.hash("not a password of anyone")


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


def _unknown(name: str, data: _Data) -> str:
    known = ", ".join(sorted(data.users)) or "none (add one with `graphintel users add`)"
    return f"unknown user {name!r}: known users are {known}"


def _user(name: str, record: dict[str, Any]) -> User:
    return User(
        name=name,
        role=str(record["role"]),
        cases=tuple(record.get("cases") or ()),
        created_at=str(record.get("created_at", "")),
    )
