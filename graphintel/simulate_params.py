"""The simulator's parameters and its command-line options, without the simulator.

``graphintel --help`` and ``graphintel simulate --help`` build their parser from this module, so
they import neither numpy, pandas nor the model (:mod:`graphintel.simulate` re-exports every
name here).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from graphintel.errors import SimulationError

__all__ = ["SimulationParams", "add_arguments", "params_from_args"]


def _bound(x: float) -> str:
    """A range bound for messages: ``5,000,000``, ``0.99``."""
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def _p(default: Any, help: str, lo: float, hi: float) -> Any:
    return field(default=default, metadata={"help": help, "range": (lo, hi)})


@dataclass(frozen=True)
class SimulationParams:
    """Every option of the simulator, each with a default, a help text and an allowed range.

    Counts given as ``0`` are chosen from ``accounts``: operators ``max(3, accounts // 2000)``,
    rooms ``max(2 * operators, accounts // 250)``, organisations one per room.

    Raises
    ------
    SimulationError
        A value is out of its range, has the wrong type, or the counts do not fit together.

    Example
    -------
    >>> p = SimulationParams(accounts=3000)
    >>> p.n_operators, p.n_rooms, p.n_bots
    (3, 12, 3)
    >>> SimulationParams(join_probability=1.5)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    graphintel.errors.SimulationError: --join-probability 1.5 is out of range: ...
    """

    accounts: int = _p(
        3000, "population: accounts that can be drawn into the scheme", 20, 10_000_000
    )
    seed: int = _p(
        7, "random seed; the same seed and options give byte-identical files", 0, 2**32 - 1
    )
    days: int = _p(60, "number of simulated days", 5, 3650)
    start_date: str = field(
        default="2024-06-01",
        metadata={"help": "first simulated day (YYYY-MM-DD); fixed so output is reproducible"},
    )
    operators: int = _p(0, "operators (referral roots); 0 = max(3, accounts // 2000)", 0, 100_000)
    rooms: int = _p(0, "rooms (supergroups); 0 = max(2 * operators, accounts // 250)", 0, 1_000_000)
    bots_per_operator: int = _p(1, "content bots per operator", 1, 20)
    organizations: int = _p(0, "targeted organisations; 0 = one per room", 0, 1_000_000)
    max_room_members: int = _p(1200, "capacity of a room (members at one time)", 10, 200_000)
    seed_members: int = _p(5, "members an operator invites into each new room", 1, 1000)
    room_creation_window: float = _p(
        0.5, "rooms are created over this fraction of the days", 0.0, 1.0
    )
    join_probability: float = _p(0.4, "probability an invitation is accepted", 0.0, 1.0)
    invites_per_member_per_day: float = _p(
        0.5, "invitations an average member sends per room per day", 0.0, 50.0
    )
    inviter_share: float = _p(0.5, "share of members who ever invite anyone", 0.01, 1.0)
    activity_sigma: float = _p(
        1.0, "spread (lognormal sigma) of how active inviting members are", 0.0, 3.0
    )
    existing_invitee_share: float = _p(
        0.1, "share of invitations sent to accounts already in another room", 0.0, 1.0
    )
    cross_promotion: float = _p(
        0.1, "share of invitations into a sibling room of the same operator", 0.0, 1.0
    )
    churn: float = _p(0.005, "daily probability that a member leaves a room", 0.0, 0.99)
    reward_credits: float = _p(1.0, "referral reward per join, in credits", 0.0, 1_000_000.0)
    price_credits: float = _p(5.0, "price of one content purchase, in credits", 0.01, 1_000_000.0)
    krw_per_credit: float = _p(2650.0, "won per credit (amount_krw = credits x this)", 0.0, 1e9)
    purchase_probability: float = _p(
        0.04, "daily probability that an active member wants to buy content", 0.0, 1.0
    )
    topup_probability: float = _p(
        0.6, "probability that a buyer short of credits tops up", 0.0, 1.0
    )
    topup_credits: float = _p(10.0, "credits bought per top-up", 0.01, 1_000_000.0)
    commission_rate: float = _p(0.2, "seller's commission, a fraction of each purchase", 0.0, 1.0)
    payout_interval_days: int = _p(7, "days between payouts of bot takings to operators", 1, 3650)
    posts_per_room_per_day: float = _p(
        2.0, "new content items a room's bot posts per day", 0.0, 100.0
    )
    forwards_per_room_per_day: float = _p(
        0.5, "items a room forwards from other rooms per day", 0.0, 100.0
    )
    same_operator_forward: float = _p(
        0.8, "share of forwards taken from a room of the same operator", 0.0, 1.0
    )
    extra_target_probability: float = _p(
        0.3, "probability that a room targets a second organisation", 0.0, 1.0
    )
    public_room_share: float = _p(0.2, "share of rooms that are public", 0.0, 1.0)
    phone_share: float = _p(0.4, "share of members with a (fictional) phone number", 0.0, 1.0)
    remove_account: str = field(
        default="",
        metadata={
            "help": "intervention: account removed at the start of --remove-day, e.g. A0000003 "
            "(an operator's rooms are taken down); empty = nobody"
        },
    )
    remove_day: int = _p(
        0, "day of the removal, counted from --start-date (0 = the first day)", 0, 3649
    )

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            flag = "--" + f.name.replace("_", "-")
            if f.name == "start_date":
                try:
                    dt.date.fromisoformat(value)
                except (TypeError, ValueError) as err:
                    raise SimulationError(
                        f"{flag} {value!r} is not a date: give it as YYYY-MM-DD, e.g. 2024-06-01"
                    ) from err
                continue
            if f.name == "remove_account":
                self._check_removal()
                continue
            lo, hi = f.metadata["range"]
            want = int if f.type in ("int", int) else float
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise SimulationError(f"{flag} {value!r} is not a number: give a {want.__name__}")
            if want is int and not float(value).is_integer():
                raise SimulationError(f"{flag} {value!r} must be a whole number")
            if not (lo <= value <= hi):
                raise SimulationError(
                    f"{flag} {value!r} is out of range: allowed is {_bound(lo)} to {_bound(hi)}"
                )
        if self.rooms and self.operators and self.rooms < self.operators:
            raise SimulationError(
                f"--rooms {self.rooms} is fewer than --operators {self.operators}: every operator "
                "needs at least one room; raise --rooms or lower --operators"
            )
        if self.n_rooms < self.n_operators:
            raise SimulationError(
                f"--rooms {self.rooms} is fewer than the {self.n_operators} operators: raise "
                "--rooms (or give 0 to choose it from --accounts)"
            )
        if self.accounts <= self.n_operators + self.n_bots:
            raise SimulationError(
                f"--accounts {self.accounts} leaves no members after {self.n_operators} operators "
                f"and {self.n_bots} bots: give at least {self.n_operators + self.n_bots + 1}"
            )
        if self.n_organizations < 1:
            raise SimulationError("--organizations must be at least 1 (or 0 for one per room)")
        if self.remove_account and self.remove_day >= self.days:
            raise SimulationError(
                f"--remove-day {self.remove_day} is out of range: allowed is 0 to "
                f"{self.days - 1} (days counted from --start-date; the run has --days {self.days})"
            )
        if not self.remove_account and self.remove_day:
            raise SimulationError(
                f"--remove-day {self.remove_day} needs --remove-account: name the account to "
                "remove (e.g. A0000003), or leave both out"
            )

    def _check_removal(self) -> None:
        value = self.remove_account
        if not isinstance(value, str):
            raise SimulationError(
                f"--remove-account {value!r} is not an account id: give it as A followed by "
                "digits, e.g. A0000003"
            )
        if not value:
            return
        match = re.fullmatch(r"A(\d{1,12})", value)
        if match is None:
            raise SimulationError(
                f"--remove-account {value!r} is not an account id: give it as A followed by "
                "digits, e.g. A0000003 (or leave it empty to remove nobody)"
            )
        num = int(match.group(1))
        if not (1 <= num <= self.accounts):
            raise SimulationError(
                f"--remove-account {value} is out of range: allowed is A0000001 to "
                f"A{self.accounts:07d} (the population of --accounts {self.accounts})"
            )
        if self.n_operators < num <= self.n_operators + self.n_bots:
            raise SimulationError(
                f"--remove-account {value} is a content bot (bots are "
                f"A{self.n_operators + 1:07d} to A{self.n_operators + self.n_bots:07d}): remove "
                "its operator or a member instead"
            )

    @property
    def removed_index(self) -> int:
        """Row of ``remove_account`` in the population (0-based), or -1 when nobody is removed.

        Example
        -------
        >>> SimulationParams(remove_account="A0000003", remove_day=10).removed_index
        2
        >>> SimulationParams().removed_index
        -1
        """
        return int(self.remove_account[1:]) - 1 if self.remove_account else -1

    @property
    def n_operators(self) -> int:
        """Operators actually used (``operators``, or chosen from ``accounts``)."""
        return int(self.operators) or max(3, int(self.accounts) // 2000)

    @property
    def n_rooms(self) -> int:
        """Rooms actually used (``rooms``, or chosen from ``accounts``)."""
        return int(self.rooms) or max(2 * self.n_operators, int(self.accounts) // 250)

    @property
    def n_bots(self) -> int:
        """Content bots: ``bots_per_operator`` for each operator."""
        return self.n_operators * int(self.bots_per_operator)

    @property
    def n_organizations(self) -> int:
        """Organisations actually used (``organizations``, or one per room)."""
        return int(self.organizations) or self.n_rooms


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--out``, ``--telegram-export``, ``--progress`` and one option per parameter.

    Options are generated from :class:`SimulationParams`, so help texts and defaults are
    documented once.

    Example
    -------
    >>> ap = argparse.ArgumentParser()
    >>> add_arguments(ap)
    >>> args = ap.parse_args(["--out", "x", "--accounts", "500", "--churn", "0.01"])
    >>> p = params_from_args(args)
    >>> (p.accounts, p.churn, p.seed)
    (500, 0.01, 7)
    """
    parser.add_argument("--out", type=Path, required=True, help="output folder for the bundle")
    parser.add_argument(
        "--telegram-export",
        action="store_true",
        help="also write one room's history as Telegram Desktop export JSON "
        "(OUT/telegram_export/result.json)",
    )
    parser.add_argument("--progress", action="store_true", help="show a progress bar")
    for f in fields(SimulationParams):
        conv = {"int": int, "float": float, "str": str}[str(f.type)]
        extra = ""
        if "range" in f.metadata:
            lo, hi = f.metadata["range"]
            extra = f" [{_bound(lo)}..{_bound(hi)}]"
        parser.add_argument(
            "--" + f.name.replace("_", "-"),
            dest=f.name,
            type=conv,
            default=f.default,
            metavar=conv.__name__.upper(),
            help=f"{f.metadata['help']} (default: {f.default}){extra}",
        )


def params_from_args(args: argparse.Namespace) -> SimulationParams:
    """Build :class:`SimulationParams` from parsed arguments (unknown attributes are ignored).

    Raises
    ------
    SimulationError
        A value is out of range (the message names the option and the allowed range).
    """
    values = {
        f.name: getattr(args, f.name) for f in fields(SimulationParams) if hasattr(args, f.name)
    }
    return SimulationParams(**values)
