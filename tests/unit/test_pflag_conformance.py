"""Flag reading as docker's pflag does it: Go's ParseInt in base 0 and pflag's combined-shorthand rules.

The rows come from the upstream tables (golang/go src/strconv/atoi_test.go for base 0,
spf13/pflag flag_test.go TestShorthand / TestEverything) and from what the docker 28 CLI
prints on this machine; ``test_matches_the_docker_cli`` asks the real CLI the same questions.
"""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from bot.core.cliparse import Flag, FlagSet, Kind
from bot.core.gostrconv import NumError, parse_go_int, parse_int, parse_uint, quote
from bot.errors import ParseError

MAX64 = 2**63 - 1

# (input, value or None, Go's error reason) for ParseInt(s, 0, 64)
PARSE_INT_BASE0: list[tuple[str, int | None, str]] = [
    ("", None, "invalid syntax"),
    ("0", 0, ""),
    ("-0", 0, ""),
    ("1", 1, ""),
    ("-1", -1, ""),
    ("12345", 12345, ""),
    ("-12345", -12345, ""),
    ("012345", 0o12345, ""),
    ("-012345", -0o12345, ""),
    ("0x12345", 0x12345, ""),
    ("-0X12345", -0x12345, ""),
    ("12345x", None, "invalid syntax"),
    ("-12345x", None, "invalid syntax"),
    ("98765432100", 98765432100, ""),
    ("-98765432100", -98765432100, ""),
    ("9223372036854775807", MAX64, ""),
    ("-9223372036854775807", -MAX64, ""),
    ("9223372036854775808", None, "value out of range"),
    ("-9223372036854775808", -(2**63), ""),
    ("9223372036854775809", None, "value out of range"),
    ("-9223372036854775809", None, "value out of range"),
    # underscores, allowed by base 0 only between digits or after a base prefix
    ("1_2_3_4_5", 12345, ""),
    ("-1_2_3_4_5", -12345, ""),
    ("_12345", None, "invalid syntax"),
    ("1__2345", None, "invalid syntax"),
    ("12345_", None, "invalid syntax"),
    ("0x_1_2_3_4_5", 0x12345, ""),
    ("_0x12345", None, "invalid syntax"),
    ("0x__12345", None, "invalid syntax"),
    ("0x1__2345", None, "invalid syntax"),
    ("0x1234__5", None, "invalid syntax"),
    ("0x12345_", None, "invalid syntax"),
    ("0_10", 8, ""),
    ("0b_11", 3, ""),
    ("0o_17", 15, ""),
    # prefixes
    ("010", 8, ""),
    ("0x10", 16, ""),
    ("0b11", 3, ""),
    ("0B11", 3, ""),
    ("0o17", 15, ""),
    ("0O17", 15, ""),
    ("0x", None, "invalid syntax"),
    ("0b", None, "invalid syntax"),
    ("0o", None, "invalid syntax"),
    ("08", None, "invalid syntax"),
    ("0b12", None, "invalid syntax"),
    ("+5", 5, ""),
    ("+-5", None, "invalid syntax"),
    ("-", None, "invalid syntax"),
    (" 5", None, "invalid syntax"),
    ("５", None, "invalid syntax"),  # a fullwidth digit is not an ASCII digit
    # Go reads digit by digit: overflow is reported before a later bad character
    ("99999999999999999999x", None, "value out of range"),
]

# ParseUint(s, 0, 64)
PARSE_UINT_BASE0: list[tuple[str, int | None, str]] = [
    ("0x", None, "invalid syntax"),
    ("0X", None, "invalid syntax"),
    ("012345", 0o12345, ""),
    ("0xabcdefg123", None, "invalid syntax"),
    ("123456789abc", None, "invalid syntax"),
    ("18446744073709551615", 2**64 - 1, ""),
    ("18446744073709551616", None, "value out of range"),
    ("0xFFFFFFFFFFFFFFFF", 2**64 - 1, ""),
    ("0x10000000000000000", None, "value out of range"),
    ("01777777777777777777777", 2**64 - 1, ""),
    ("01777777777777777777778", None, "invalid syntax"),
    ("02000000000000000000000", None, "value out of range"),
    ("0200000000000000000000", 1 << 61, ""),
    ("-1", None, "invalid syntax"),
    ("+1", None, "invalid syntax"),
]


@pytest.mark.parametrize(("text", "value", "reason"), PARSE_INT_BASE0)
def test_parse_int_base0(text: str, value: int | None, reason: str) -> None:
    if value is not None:
        assert parse_int(text) == value
        return
    with pytest.raises(NumError) as err:
        parse_int(text)
    assert str(err.value) == f"strconv.ParseInt: parsing {quote(text)}: {reason}"


@pytest.mark.parametrize(("text", "value", "reason"), PARSE_UINT_BASE0)
def test_parse_uint_base0(text: str, value: int | None, reason: str) -> None:
    if value is not None:
        assert parse_uint(text) == value
        return
    with pytest.raises(NumError) as err:
        parse_uint(text)
    assert str(err.value) == f"strconv.ParseUint: parsing {quote(text)}: {reason}"


@pytest.mark.parametrize(
    ("go_type", "text", "value"),
    [("int32", "2147483647", 2**31 - 1), ("int32", "-2147483648", -(2**31)), ("uint16", "0xffff", 65535),
     ("int8", "-0x80", -128), ("uint8", "0377", 255)],
)  # fmt: skip
def test_sized_types_in_range(go_type: str, text: str, value: int) -> None:
    assert parse_go_int(text, go_type) == value


@pytest.mark.parametrize(
    ("go_type", "text"), [("int32", "2147483648"), ("int32", "-2147483649"), ("uint16", "65536"), ("int8", "128")]
)
def test_sized_types_out_of_range(go_type: str, text: str) -> None:
    with pytest.raises(NumError, match="value out of range"):
        parse_go_int(text, go_type)


def test_quote_is_go_quote() -> None:
    # golang/go strconv quote_test.go rows that a flag value can carry
    assert quote("\a\b\f\r\n\t\v") == r'"\a\b\f\r\n\t\v"'
    assert quote("\\") == r'"\\"'
    assert quote("abc\xffdef") == '"abc\xffdef"'  # ÿ is printable (the byte 0xFF is not a Python str)
    assert quote("\u263a") == '"☺"'
    assert quote("\x04") == r'"\x04"'
    assert quote('"x') == r'"\"x"'
    assert quote("\u00a0") == r'"\u00a0"'


# pflag's TestShorthand flag set: a b c d bools, s and z strings; plus docker ps's -n and -q.
SHORTS = FlagSet(
    [
        Flag("boola", "", short="a"),
        Flag("boolb", "", short="b"),
        Flag("boolc", "", short="c"),
        Flag("boold", "", short="d"),
        Flag("stringa", "", Kind.STRING, short="s", default="0"),
        Flag("stringz", "", Kind.STRING, short="z", default="0"),
        Flag("last", "", Kind.INT, short="n", default=-1),
        Flag("weight", "", Kind.INT, go_type="uint16", default=0),
    ]
)


def test_pflag_shorthand_table() -> None:
    parsed = SHORTS.parse(["-ab", "interspersed-argument", "-cs", "hello", "-z=something", "-d=true", "--",
                           "--i-look-like-a-flag"])  # fmt: skip
    assert parsed["boola"] and parsed["boolb"] and parsed["boolc"] and parsed["boold"]
    assert parsed["stringa"] == "hello" and parsed["stringz"] == "something"
    assert parsed.args == ["interspersed-argument", "--i-look-like-a-flag"]


@pytest.mark.parametrize(
    ("argv", "key", "value"),
    [
        (["-n", "010"], "last", 8),
        (["-n0x10"], "last", 16),
        (["--last=0b11"], "last", 3),
        (["-n", "0o17"], "last", 15),
        (["-n", "1_000"], "last", 1000),
        (["-an", "-0x5"], "last", -5),
        (["-s="], "stringa", "="),  # -s= is "-s" with the value "=" (the -f=arg form needs 3+ letters)
        (["-s=="], "stringa", "="),
        (["-as=x"], "stringa", "x"),  # the -f=arg form is looked for at each letter of the group
        (["--weight", "0xffff"], "weight", 65535),
        (["-test.v", "-a"], "boola", True),  # pflag skips Go test flags
        (["-atest.v"], "boola", True),
    ],
)
def test_values(argv: list[str], key: str, value: object) -> None:
    assert SHORTS.parse(argv)[key] == value


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-ukn"], "unknown shorthand flag: 'u' in -ukn"),  # pflag TestShorthand
        (["-as"], "flag needs an argument: 's' in -s"),  # pflag TestShorthand
        (["-abz"], "flag needs an argument: 'z' in -z"),
        (["-abx"], "unknown shorthand flag: 'x' in -x"),
        (["-axb"], "unknown shorthand flag: 'x' in -xb"),
        (["-a="], "unknown shorthand flag: '=' in -="),
        (["-é"], "unknown shorthand flag: 'Ã' in -é"),  # the lead byte, as a rune
        (["--stringa"], "flag needs an argument: --stringa"),
        (["---x"], "bad flag syntax: ---x"),
        (["--=x"], "bad flag syntax: --=x"),
        (["-n", "x"], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax'),
        (["-n="], 'invalid argument "=" for "-n, --last" flag: strconv.ParseInt: parsing "=": invalid syntax'),
        (["-n", '"x'], r'invalid argument "\"x" for "-n, --last" flag: '
         r'strconv.ParseInt: parsing "\"x": invalid syntax'),
        (["-n", "1__0"], 'invalid argument "1__0" for "-n, --last" flag: '
         'strconv.ParseInt: parsing "1__0": invalid syntax'),
        (["-n", "99999999999999999999"], 'invalid argument "99999999999999999999" for "-n, --last" flag: '
         'strconv.ParseInt: parsing "99999999999999999999": value out of range'),
        (["--weight=-1"], 'invalid argument "-1" for "--weight" flag: strconv.ParseUint: parsing "-1": invalid syntax'),
        (["--weight=65536"], 'invalid argument "65536" for "--weight" flag: strconv.ParseUint: parsing "65536": '
         "value out of range"),
        (["--boola=\t"], r'invalid argument "\t" for "-a, --boola" flag: '
         r'strconv.ParseBool: parsing "\t": invalid syntax'),
    ],
)  # fmt: skip
def test_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ParseError) as err:
        SHORTS.parse(argv)
    assert err.value.message == message


def test_unknown_integer_type_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown integer flag type"):
        Flag("x", "", Kind.INT, go_type="int128")


# `docker ps` has -a, -q, -s (bools) and -n/--last (int): the same questions, asked of the real CLI.
PS = FlagSet(
    [
        Flag("all", "", short="a"),
        Flag("quiet", "", short="q"),
        Flag("size", "", short="s"),
        Flag("last", "", Kind.INT, short="n", default=-1),
        Flag("format", "", Kind.STRING),
    ]
)
CLI_LINES = [
    ["-n", "010"], ["-n", "0x10"], ["-n", "0b11"], ["-n", "0o17"], ["-n", "1_0"], ["-n", "0_10"], ["-n", "0x_1"],
    ["-n", "1__0"], ["-n", "_1"], ["-n", "1_"], ["-n", "08"], ["-n", "0x"], ["-n", "+5"], ["-n", "-0x5"],
    ["-n", "x"], ["-n", '"x'], ["-n", "\t"], ["-n", "é"], ["-n", "99999999999999999999"],
    ["-n", "-9223372036854775809"], ["-n="], ["-an"], ["-az"], ["-azq"], ["-qan"], ["-é"], ["-a="], ["---x"],
    ["--=x"], ["-test.v"], ["-atest.v"], ["--all=maybe"], ["-a=no"],
]  # fmt: skip


@pytest.mark.parametrize("argv", CLI_LINES, ids=[" ".join(a) for a in CLI_LINES])
def test_matches_the_docker_cli(argv: list[str], docker_api: Any) -> None:
    """The rig's engine (docker_api) is there: this never passes by being skipped."""
    # --format last: after "-an", pflag takes "--format" as -n's value, as it does here.
    full = [*argv, "--format", "x"]
    real = subprocess.run(["docker", "ps", *full], capture_output=True, text=True, timeout=30, check=False)
    try:
        PS.parse(full)
    except ParseError as err:
        assert real.returncode != 0
        assert real.stderr.splitlines()[0] == err.message
    else:
        assert real.returncode == 0, real.stderr
