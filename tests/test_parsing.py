"""The docker CLI grammar: pflag rules, command lookup, errors worded like docker's."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.bootstrap.worker import build_registry
from bot.core import dispatch
from bot.core.cliparse import Flag, FlagSet, Kind
from bot.errors import HelpRequested, NotAvailableYet, ParseError, UnknownCommand, UserError

REGISTRY = build_registry()

FLAGS = FlagSet(
    [
        Flag("all", "", short="a"),
        Flag("quiet", "", short="q"),
        Flag("last", "", Kind.INT, short="n", default=-1),
        Flag("filter", "", Kind.LIST, short="f"),
        Flag("format", "", Kind.STRING),
    ]
)


@pytest.mark.parametrize(
    ("argv", "opts", "args"),
    [
        (["-a"], {"all": True}, []),
        (["-aq"], {"all": True, "quiet": True}, []),
        (["-an5"], {"all": True, "last": 5}, []),
        (["-n", "5"], {"last": 5}, []),
        (["-n=5"], {"last": 5}, []),
        (["--last=7"], {"last": 7}, []),
        (["--last", "7"], {"last": 7}, []),
        (["--all=false"], {"all": False}, []),
        (["--all=true", "x"], {"all": True}, ["x"]),
        (["-f", "a=1", "--filter=b=2", "-fc=3"], {"filter": ["a=1", "b=2", "c=3"]}, []),
        (["x", "-a", "y"], {"all": True}, ["x", "y"]),  # interspersed, like pflag's default
        (["--", "-a"], {"all": False}, ["-a"]),
        (["--format", "{{.ID}}"], {"format": "{{.ID}}"}, []),
    ],
)
def test_pflag_spellings(argv: list[str], opts: dict[str, object], args: list[str]) -> None:
    parsed = FLAGS.parse(argv)
    for key, value in opts.items():
        assert parsed.opts[key] == value
    assert parsed.args == args


def test_bool_flag_never_takes_the_next_word() -> None:
    assert FLAGS.parse(["-a", "false"]).args == ["false"]


def test_non_interspersed_stops_at_first_positional() -> None:
    fs = FlagSet([Flag("detach", "", short="d")], interspersed=False)
    parsed = fs.parse(["-d", "busybox", "sleep", "-d"])
    assert parsed.args == ["busybox", "sleep", "-d"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--nope"], "unknown flag: --nope"),
        (["-x"], "unknown shorthand flag: 'x' in -x"),
        (["-ax"], "unknown shorthand flag: 'x' in -x"),  # pflag names the group from the failing letter on
        (["--last"], "flag needs an argument: --last"),
        (["-n"], "flag needs an argument: 'n' in -n"),
        (["-n", "x"], 'invalid argument "x" for "-n, --last" flag: strconv.ParseInt: parsing "x": invalid syntax'),
        (["--all=maybe"], 'invalid argument "maybe" for "-a, --all" flag'),
    ],
)
def test_pflag_errors(argv: list[str], message: str) -> None:
    with pytest.raises(ParseError) as err:
        FLAGS.parse(argv)
    assert message in err.value.message


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("ps", "ps"),
        ("container ls", "ps"),
        ("container list -a", "ps"),
        ("container ps", "ps"),
        ("images", "images"),
        ("image ls", "images"),
        ("system info", "info"),
        ("container logs web", "logs"),
        ("image inspect busybox", "inspect"),
        ("  ps  ", "ps"),
    ],
)
def test_command_spellings(text: str, name: str) -> None:
    assert dispatch.parse(text, REGISTRY).command.name == name


def test_slack_smart_quotes_and_entities() -> None:
    inv = dispatch.parse("ps --format \u201c{{.Names}} &amp; {{.ID}}\u201d", REGISTRY)
    assert inv.opt("format") == "{{.Names}} & {{.ID}}"


@pytest.mark.parametrize("text", ["", "help", "--help", "-h"])
def test_general_help(text: str) -> None:
    with pytest.raises(HelpRequested) as h:
        dispatch.parse(text, REGISTRY)
    assert "Usage:  docker [OPTIONS] COMMAND" in h.value.text


def test_command_help_lists_aliases_and_options() -> None:
    with pytest.raises(HelpRequested) as h:
        dispatch.parse("ps --help", REGISTRY)
    assert "Aliases:\n  docker container ls, docker container list, docker container ps, docker ps" in h.value.text
    assert "  -a, --all " in h.value.text and "      --no-trunc " in h.value.text


def test_unknown_command_suggests() -> None:
    with pytest.raises(UnknownCommand) as err:
        dispatch.parse("imags", REGISTRY)
    assert "docker: 'imags' is not a docker command." in err.value.message
    assert "`images`" in err.value.message


def test_unknown_subcommand_suggests() -> None:
    with pytest.raises(UnknownCommand) as err:
        dispatch.parse("container lss", REGISTRY)
    assert "'container lss' is not a docker command" in err.value.message
    assert "`container ls`" in err.value.message


@pytest.mark.parametrize("text", ["checkpoint create x c1", "swarm init", "trust inspect x", "plugin ls"])
def test_real_docker_commands_are_not_available_yet(text: str) -> None:
    with pytest.raises(NotAvailableYet):
        dispatch.parse(text, REGISTRY)


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("-H prod ps", "prod"),
        ("ps -H prod", "prod"),
        ("--host=prod logs x", "prod"),
        ("ps", None),
        ("-H prod ps --host prod", "prod"),
    ],
)
def test_host_flag_before_or_after_the_command(text: str, host: str | None) -> None:
    assert dispatch.parse(text, REGISTRY).host == host


def test_conflicting_hosts() -> None:
    with pytest.raises(ParseError, match="conflicting hosts"):
        dispatch.parse("-H a ps -H b", REGISTRY)


def test_logs_follow_is_parsed_in_a_combined_shorthand() -> None:
    inv = dispatch.parse("logs -tf web", REGISTRY)
    assert inv.opt("follow") and inv.opt("timestamps") and inv.args == ["web"]


@given(st.text(max_size=80))
@settings(max_examples=400, deadline=None)
def test_any_text_parses_or_fails_cleanly(text: str) -> None:
    with contextlib.suppress(UserError, HelpRequested):
        dispatch.parse(text, REGISTRY)


@given(
    st.lists(
        st.sampled_from(
            [
                "ps",
                "logs",
                "-a",
                "-q",
                "-n",
                "5",
                "--tail",
                "-f",
                "--format",
                "{{.ID}}",
                "--",
                "x",
                "-aqn3",
                "--all=false",
                "-t",
                "--since",
                "1h",
                "container",
                "ls",
                "--help",
                "-h",
                "=",
                "-",
            ]
        ),
        max_size=8,
    )
)
@settings(max_examples=400, deadline=None)
def test_flag_soup_parses_or_fails_cleanly(words: list[str]) -> None:
    with contextlib.suppress(UserError, HelpRequested):
        dispatch.parse(" ".join(words), REGISTRY)
