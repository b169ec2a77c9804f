"""config.toml's value checks: one rule per kind of value (a port, a host, a file name template,
a knob...), each raising ``ConfigError`` naming the file, the key, the value and what is allowed.
Split from ``config.py`` (which builds the tables from these) to keep both readable."""

from __future__ import annotations

import ipaddress
import string

from oscgen.knobs import KNOBS

NAME_FIELDS = ("date", "time", "id", "slug", "model", "seed", "bpm", "bars", "preset", "take")


class ConfigError(ValueError):
    """A config file (or a flag overriding it) holds something the daemon cannot run with.
    ``problems`` lists every one found, each a line ``FILE:LINE: what``; str() joins them."""

    def __init__(self, message: str, problems: tuple[str, ...] = ()):
        self.problems = tuple(problems) or (message,)
        super().__init__("\n".join(self.problems))


def _table(raw: dict, name: str, source: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: {name} = {value!r}: must be a table ([{name}])")
    return value


def _only(table: dict, allowed, where: str) -> None:
    for key in table:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r} (allowed: {', '.join(allowed)})")


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false", list: "a list", object: "a value"}


def _get(table: dict, key: str, kind: type, where: str):
    if key not in table:
        raise ConfigError(f"{where}: missing")
    value = table[key]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise ConfigError(f"{where} = {value!r}: must be {_TYPE_NAMES[kind]}")
    return value


def _int_in(value: int, low: int, high: int, where: str) -> int:
    if not low <= value <= high:
        raise ConfigError(f"{where} = {value!r}: must be an integer in [{low}, {high}]")
    return value


def _port(value, where: str, allow_zero: bool = False) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where} = {value!r}: must be a UDP port number")
    return _int_in(value, 0 if allow_zero else 1, 65535, where)


def _host(value: str, where: str) -> str:
    if not value.strip():
        raise ConfigError(f"{where} = {value!r}: must be an address to listen on, e.g. 127.0.0.1 or 0.0.0.0")
    return value.strip()


def _target(value, where: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":") if isinstance(value, str) else ("", "", "")
    if not sep or not host or not port.isdigit():
        raise ConfigError(f"{where}: {value!r} must be \"host:port\", e.g. \"192.168.1.20:9001\"")
    return host.strip("[]"), _port(int(port), f"{where}: {value!r}")


def _allowed(value, where: str) -> str:
    if value == "*":
        return value
    try:
        ipaddress.ip_network(value, strict=False)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{where}: {value!r} must be an IP address (\"192.168.1.20\"), a network (\"192.168.1.0/24\") or \"*\""
        ) from None
    return value


def _name_template(value: str, where: str) -> str:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
    except ValueError as exc:
        raise ConfigError(f"{where} = {value!r}: {exc}") from None
    for f in fields:
        if f not in NAME_FIELDS:
            raise ConfigError(f"{where} = {value!r}: unknown field {{{f}}} (allowed: {', '.join('{' + n + '}' for n in NAME_FIELDS)})")
    if "id" not in fields and "time" not in fields:
        raise ConfigError(f"{where} = {value!r}: must contain {{id}} or {{time}} so file names stay unique")
    if "/" in value or "\\" in value or value.startswith("."):
        raise ConfigError(f"{where} = {value!r}: a file name, not a path (no / or \\, no leading dot)")
    return value


def _knob(name: str, value, where: str):
    try:
        return KNOBS[name].check(value)
    except ValueError as exc:
        raise ConfigError(f"{where} = {value!r}: {exc}") from None
