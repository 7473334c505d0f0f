"""Times as people read them: the site's time zone (``RULESVC_TIMEZONE``, Beijing time by default).

The database and the API keep every moment in UTC (ISO 8601 with its offset, for other systems); pages,
their messages and spreadsheets meant for people show the wall-clock time of the procuratorates that use
the site, with the zone named once on the page. China keeps one zone (UTC+8, no summer time), so the
default needs no time-zone database; another zone is looked up by its IANA name at start-up.
"""

from __future__ import annotations

import datetime as dt

DEFAULT_ZONE = "Asia/Shanghai"
_BEIJING = dt.timezone(dt.timedelta(hours=8), "UTC+08:00")

_zone_name = DEFAULT_ZONE
_zone: dt.tzinfo = _BEIJING


def resolve(name: str) -> dt.tzinfo:
    """The zone of an IANA name (``Asia/Shanghai``, ``UTC``…); ValueError names the setting when unknown."""
    if name in (DEFAULT_ZONE, "Asia/Beijing", "Asia/Chongqing", "Asia/Harbin", "PRC"):
        return _BEIJING
    if name in ("UTC", "Etc/UTC"):
        return dt.UTC
    try:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"RULESVC_TIMEZONE={name!r} is not a known time zone (e.g. Asia/Shanghai, UTC)") from exc


def configure(name: str) -> None:
    """Set the zone pages show times in (create_app calls this with the ``TIMEZONE`` setting)."""
    global _zone_name, _zone
    _zone = resolve(name)
    _zone_name = name


def zone() -> dt.tzinfo:
    return _zone


def to_local(value: dt.datetime) -> dt.datetime:
    """A moment in the site's zone (a naive value is UTC: what SQLite gives back)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(_zone)


def today() -> dt.date:
    """Today's date in the site's zone: which periods are over, what is in force today, whether a date is
    in the past (a server kept in UTC would otherwise say "yesterday" until 08:00 in Beijing)."""
    return dt.datetime.now(_zone).date()


def text(value: dt.datetime | dt.date | str | None, seconds: bool = False) -> str:
    """``2026-12-07 08:21`` in the site's zone; a date stays a date; an ISO text is read first; '' for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        if len(value) == 10:  # a date: no time of day to move
            return value
        try:
            moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        value = moment
    if not isinstance(value, dt.datetime):
        return value.isoformat()
    return to_local(value).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def label(lang: str) -> str:
    """The zone's name for a page: 北京时间 / Beijing time, or the IANA name of another zone."""
    if _zone is _BEIJING:
        return "北京时间" if not lang.startswith("en") else "Beijing time"
    return _zone_name


__all__ = ["DEFAULT_ZONE", "configure", "label", "resolve", "text", "to_local", "today", "zone"]
