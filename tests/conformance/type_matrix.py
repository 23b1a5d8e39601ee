"""The SQL Server type matrix of issue 2: per type, SQL literals and the exact values SQL Server gives them.

Expected values are written from SQL Server's semantics, independently of the server under test:
- real is IEEE single precision: the expected value is the float32 nearest to the literal, widened to float.
- datetime counts 1/300 s ticks; SQL Server presents a tick count as milliseconds rounded to .000/.003/.007,
  and the expected values are those milliseconds (e.g. '23:59:59.997').
- time, datetime2 and datetimeoffset hold 100 ns units; a value finer than Python's microsecond is a
  `SubMicrosecond` here, and each client's documented way to fit it into Python is in
  tests/conformance/conventions.py.
- varchar/char/text literals use the server's default collation SQL_Latin1_General_CP1_CI_AS (code page 1252).
Each type is read in one row whose last column is a NULL of that type.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import struct
import uuid
from decimal import Decimal
from typing import Any


@dataclasses.dataclass(frozen=True)
class SubMicrosecond:
    """An exact time/datetime2/datetimeoffset value with digits below Python's microsecond."""

    truncated: dt.time | dt.datetime  # the value with the sub-microsecond digits cut off
    nanoseconds: int  # the cut-off part: a multiple of 100 ns below 1000


@dataclasses.dataclass(frozen=True)
class SqlVariant:
    """A sql_variant value: its base type (as declared in the CAST) and its value."""

    base_type: str
    value: Any


@dataclasses.dataclass(frozen=True)
class TypeCase:
    sql_type: str
    # (SQL expression, expected exact value); the NULL column is added by `select_sql`.
    values: tuple[tuple[str, Any], ...]

    @property
    def id(self) -> str:
        return re.sub(r"[^0-9a-z]+", "_", self.sql_type.lower()).strip("_")

    def column_names(self) -> list[str]:
        return [f"v{i}" for i in range(len(self.values))] + ["v_null"]

    def select_sql(self) -> str:
        expressions = [expr for expr, _ in self.values] + ["NULL"]
        columns = [f"CAST({expr} AS {self.sql_type}) AS {name}" for expr, name in zip(expressions, self.column_names())]
        return "SELECT " + ", ".join(columns)

    def expected(self) -> tuple[Any, ...]:
        return tuple(value for _, value in self.values) + (None,)


def float32(text: str) -> float:
    """The value SQL Server's real (IEEE single) holds for a decimal literal."""
    return struct.unpack("<f", struct.pack("<f", float(text)))[0]


_FRACTION_RE = re.compile(r"^(?P<head>.*?\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d{1,7}))?(?P<tail>.*)$")


def _split_fraction(text: str) -> tuple[str, int, int]:
    """'12:34:56.1234567 +01:00' -> ('12:34:56 +01:00', microseconds, remaining nanoseconds)."""
    match = _FRACTION_RE.match(text)
    assert match, text
    digits = (match["fraction"] or "").ljust(7, "0")
    hundreds_of_ns = int(digits)
    return match["head"] + match["tail"], hundreds_of_ns // 10, (hundreds_of_ns % 10) * 100


def _exact(value: dt.time | dt.datetime, nanoseconds: int) -> Any:
    return SubMicrosecond(value, nanoseconds) if nanoseconds else value


def sql_time(text: str) -> Any:
    """Exact value of a time(n) literal written with n fractional digits."""
    head, micro, nanos = _split_fraction(text)
    return _exact(dt.time.fromisoformat(head).replace(microsecond=micro), nanos)


def sql_datetime2(text: str) -> Any:
    """Exact value of a datetime2(n) literal written with n fractional digits."""
    head, micro, nanos = _split_fraction(text)
    return _exact(dt.datetime.fromisoformat(head).replace(microsecond=micro), nanos)


def sql_datetimeoffset(text: str) -> Any:
    """Exact value of a datetimeoffset(n) literal 'YYYY-MM-DD hh:mm:ss[.f] +hh:mm' with n fractional digits."""
    head, micro, nanos = _split_fraction(text)
    local, offset = head.rsplit(" ", 1)
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = (int(part) for part in offset[1:].split(":"))
    tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
    return _exact(dt.datetime.fromisoformat(local).replace(microsecond=micro, tzinfo=tz), nanos)


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _nq(text: str) -> str:
    return "N" + _q(text)


ONE_MB = 1024 * 1024
# nvarchar(max): 1 MiB of characters mixing ASCII, Latin-1, CJK and a supplementary-plane character.
BIG_NVARCHAR = ("abcdé中文😀" * (ONE_MB // 9 + 1))[:ONE_MB]
BIG_VARBINARY = bytes(range(256)) * (ONE_MB // 256)
BIG_VARCHAR = ("The quick brown fox jumps over the lazy dog. " * (ONE_MB // 45 + 1))[:ONE_MB]
NON_BMP = "😀 𝄞 𠜎"  # U+1F600, U+1D11E, U+2070E: surrogate pairs in UTF-16
CP1252_TEXT = "Größe € naïve"  # € is 0x80 in code page 1252 (not Latin-1)
GUID = "6F9619FF-8B86-D011-B42D-00C04FC964FF"


def _fraction(digits: str, scale: int) -> str:
    """The fractional-seconds part of a literal written with `scale` digits."""
    return "." + digits[:scale] if scale else ""


def _scaled_cases(type_name: str, parse: Any, literals: Any) -> list[TypeCase]:
    """One TypeCase per scale 0..7; `literals(scale)` are literal texts written with `scale` fractional digits."""
    return [
        TypeCase(f"{type_name}({scale})", tuple((_q(text), parse(text)) for text in literals(scale)))
        for scale in range(8)
    ]


def _time_cases() -> list[TypeCase]:
    return _scaled_cases(
        "time",
        sql_time,
        lambda scale: ("00:00:00", "23:59:59" + _fraction("9999999", scale), "12:34:56" + _fraction("1234567", scale)),
    )


def _datetime2_cases() -> list[TypeCase]:
    return _scaled_cases(
        "datetime2",
        sql_datetime2,
        lambda scale: (
            "0001-01-01 00:00:00",
            "9999-12-31 23:59:59" + _fraction("9999999", scale),
            "2024-02-29 12:34:56" + _fraction("1234567", scale),
        ),
    )


def _datetimeoffset_cases() -> list[TypeCase]:
    return _scaled_cases(
        "datetimeoffset",
        sql_datetimeoffset,
        lambda scale: (
            "0001-01-01 00:00:00 -14:00",  # the earliest local time: UTC 0001-01-01 14:00
            f"9999-12-31 23:59:59{_fraction('9999999', scale)} +14:00",  # the latest: UTC 9999-12-31 09:59:59.9999999
            f"2024-02-29 12:34:56{_fraction('1234567', scale)} +05:30",
            f"2024-02-29 00:00:00{_fraction('1234567', scale)} -14:00",
            f"2024-02-29 23:59:59{_fraction('1234567', scale)} +14:00",
            "2024-06-30 08:00:00 +00:00",
        ),
    )


def type_cases() -> list[TypeCase]:
    max_decimal_38 = "9" * 38
    return [
        TypeCase("bit", (("0", False), ("1", True), ("'true'", True))),
        TypeCase("tinyint", (("0", 0), ("255", 255), ("42", 42))),
        TypeCase("smallint", (("-32768", -32768), ("32767", 32767), ("-42", -42))),
        TypeCase("int", (("-2147483648", -2147483648), ("2147483647", 2147483647), ("123456789", 123456789))),
        TypeCase(
            "bigint",
            (
                ("-9223372036854775808", -9223372036854775808),
                ("9223372036854775807", 9223372036854775807),
                ("-1234567890123", -1234567890123),
            ),
        ),
        TypeCase(
            "real",
            (
                ("'-3.40E+38'", float32("-3.40E+38")),
                ("'3.40E+38'", float32("3.40E+38")),
                ("'1.18E-38'", float32("1.18E-38")),
                ("'3.1415927'", float32("3.1415927")),
                ("0", 0.0),
            ),
        ),
        TypeCase(
            "float",
            (
                ("'-1.79E+308'", -1.79e308),
                ("'1.79E+308'", 1.79e308),
                ("'2.23E-308'", 2.23e-308),
                ("'3.141592653589793'", 3.141592653589793),
                ("0", 0.0),
            ),
        ),
        TypeCase(
            "decimal(38,0)",
            (
                ("-" + max_decimal_38, Decimal("-" + max_decimal_38)),
                (max_decimal_38, Decimal(max_decimal_38)),
                ("12345678901234567890", Decimal("12345678901234567890")),
            ),
        ),
        TypeCase(
            "decimal(38,38)",
            (
                ("-0." + max_decimal_38, Decimal("-0." + max_decimal_38)),
                ("0." + max_decimal_38, Decimal("0." + max_decimal_38)),
                ("0.5", Decimal("0.5")),
            ),
        ),
        TypeCase(
            "numeric(9,2)",  # 5-byte value: precision 1-9
            (("-9999999.99", Decimal("-9999999.99")), ("9999999.99", Decimal("9999999.99")), ("0", Decimal("0.00"))),
        ),
        TypeCase(
            "decimal(19,4)",  # 9-byte value: precision 10-19
            (
                ("-999999999999999.9999", Decimal("-999999999999999.9999")),
                ("999999999999999.9999", Decimal("999999999999999.9999")),
                ("12345.6789", Decimal("12345.6789")),
            ),
        ),
        TypeCase(
            "numeric(28,10)",  # 13-byte value: precision 20-28
            (
                ("-" + "9" * 18 + "." + "9" * 10, Decimal("-" + "9" * 18 + "." + "9" * 10)),
                ("9" * 18 + "." + "9" * 10, Decimal("9" * 18 + "." + "9" * 10)),
                ("-0.0000000001", Decimal("-0.0000000001")),
            ),
        ),
        TypeCase(
            "money",
            (
                ("-922337203685477.5808", Decimal("-922337203685477.5808")),
                ("922337203685477.5807", Decimal("922337203685477.5807")),
                ("1234.5678", Decimal("1234.5678")),
            ),
        ),
        TypeCase(
            "smallmoney",
            (
                ("-214748.3648", Decimal("-214748.3648")),
                ("214748.3647", Decimal("214748.3647")),
                ("-0.0001", Decimal("-0.0001")),
            ),
        ),
        TypeCase("char(10)", (("''", " " * 10), ("'abc'", "abc       "), (_q("x" * 10), "x" * 10))),
        TypeCase(
            "varchar(8000)",
            (("''", ""), (_q("v" * 8000), "v" * 8000), (_q(CP1252_TEXT), CP1252_TEXT)),
        ),
        TypeCase(
            "varchar(max)",
            (("''", ""), (_q(BIG_VARCHAR), BIG_VARCHAR), (_q(CP1252_TEXT), CP1252_TEXT)),
        ),
        TypeCase("nchar(10)", (("N''", " " * 10), (_nq("żółw"), "żółw      "), (_nq(NON_BMP), NON_BMP + "  "))),
        TypeCase(
            "nvarchar(4000)",
            (("N''", ""), (_nq("ñ" * 4000), "ñ" * 4000), (_nq(NON_BMP), NON_BMP)),
        ),
        TypeCase(
            "nvarchar(max)",
            (("N''", ""), (_nq(BIG_NVARCHAR), BIG_NVARCHAR), (_nq(NON_BMP), NON_BMP)),
        ),
        TypeCase("text", (("''", ""), (_q(CP1252_TEXT), CP1252_TEXT), (_q("t" * 100_000), "t" * 100_000))),
        TypeCase("ntext", (("N''", ""), (_nq(NON_BMP), NON_BMP), (_nq("ü" * 100_000), "ü" * 100_000))),
        TypeCase(
            "binary(4)",
            (("0x", b"\x00" * 4), ("0x0102", b"\x01\x02\x00\x00"), ("0xFFFFFFFF", b"\xff" * 4)),
        ),
        TypeCase(
            "varbinary(8000)",
            (("0x", b""), ("0x" + "FF" * 8000, b"\xff" * 8000), ("0x00DEADBEEF00", b"\x00\xde\xad\xbe\xef\x00")),
        ),
        TypeCase(
            "varbinary(max)",
            (("0x", b""), ("0x" + BIG_VARBINARY.hex().upper(), BIG_VARBINARY), ("0x00FF", b"\x00\xff")),
        ),
        TypeCase("image", (("0x", b""), ("0x0001FEFF", b"\x00\x01\xfe\xff"), ("0x" + "AB" * 100_000, b"\xab" * 100_000))),
        TypeCase(
            "date",
            (("'0001-01-01'", dt.date(1, 1, 1)), ("'9999-12-31'", dt.date(9999, 12, 31)), ("'2024-02-29'", dt.date(2024, 2, 29))),
        ),
        *_time_cases(),
        TypeCase(
            "datetime",
            (
                ("'1753-01-01 00:00:00'", dt.datetime(1753, 1, 1)),
                ("'9999-12-31 23:59:59.997'", dt.datetime(9999, 12, 31, 23, 59, 59, 997000)),
                ("'2024-02-29 12:34:56.123'", dt.datetime(2024, 2, 29, 12, 34, 56, 123000)),
                ("'1900-01-01 00:00:00.007'", dt.datetime(1900, 1, 1, 0, 0, 0, 7000)),
            ),
        ),
        TypeCase(
            "smalldatetime",
            (
                ("'1900-01-01 00:00'", dt.datetime(1900, 1, 1)),
                ("'2079-06-06 23:59'", dt.datetime(2079, 6, 6, 23, 59)),
                ("'2024-02-29 12:34'", dt.datetime(2024, 2, 29, 12, 34)),
            ),
        ),
        *_datetime2_cases(),
        *_datetimeoffset_cases(),
        TypeCase(
            "uniqueidentifier",
            (
                ("'00000000-0000-0000-0000-000000000000'", uuid.UUID(int=0)),
                ("'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF'", uuid.UUID(int=(1 << 128) - 1)),
                (_q(GUID), uuid.UUID(GUID)),
            ),
        ),
        TypeCase(
            "xml",
            (
                ("''", ""),
                (_q('<root><item id="1">text</item></root>'), '<root><item id="1">text</item></root>'),
                (_nq("<a>" + NON_BMP + " ü</a>"), "<a>" + NON_BMP + " ü</a>"),
            ),
        ),
        TypeCase(
            "sql_variant",
            (
                ("CAST(42 AS int)", SqlVariant("int", 42)),
                ("CAST(-1234567890123 AS bigint)", SqlVariant("bigint", -1234567890123)),
                ("CAST(N'héllo' AS nvarchar(10))", SqlVariant("nvarchar(10)", "héllo")),
                ("CAST('abc' AS varchar(10))", SqlVariant("varchar(10)", "abc")),
                ("CAST(12.345 AS decimal(10,3))", SqlVariant("decimal(10,3)", Decimal("12.345"))),
                ("CAST(-12.345 AS decimal(38,3))", SqlVariant("decimal(38,3)", Decimal("-12.345"))),
                ("CAST('2024-02-29' AS date)", SqlVariant("date", dt.date(2024, 2, 29))),
                ("CAST(0x0102 AS varbinary(10))", SqlVariant("varbinary(10)", b"\x01\x02")),
            ),
        ),
    ]
