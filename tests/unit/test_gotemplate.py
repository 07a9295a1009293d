"""bot.cli_output.gotemplate: Go text/template semantics, docker's functions, Go's error wording.

Expected outputs marked "(Go)" were produced by the real Go engine, through
``docker ps --format`` of docker CLI 28.2 (Go 1.24); test_formatters_vs_cli.py replays
many of them against the CLI.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.cli_output import gotemplate
from bot.cli_output.gotemplate import GoFunc, GoNil, GoStruct, GoTemplateError, go_json, go_quote, go_sprint, parse
from bot.errors import TemplateError


def run(text: str, data: object = None) -> str:
    return parse(text).execute(data)


class Ctx(GoStruct):
    go_type = "*formatter.ContainerContext"

    def ID(self) -> str:
        return "abc123"

    def Names(self) -> str:
        return "web"

    def Label(self, name: str) -> str:
        return {"com.example": "yes"}.get(name, "")

    def Platform(self) -> object:
        return GoNil("*formatter.Platform", frozenset({"OS"}))

    def Ports(self) -> str:
        return "0.0.0.0:80->80/tcp"


# -- output of data-independent templates (Go) -----------------------------------------------

GO_CASES = [
    ("{{1e6}} {{1234567.0}} {{100000.0}} {{0.00001}} {{1.5}} {{-0.0}} {{0x10}} {{1e21}} {{3.0}}",
     "1e+06 1.234567e+06 100000 1e-05 1.5 -0 16 1e+21 3"),
    ('{{index "abc" 0}} {{slice "abcdef" 1 3}} {{len "héllo"}}', "97 bc 6"),
    ('{{title "hello wORLD-foo_bar x1y élan"}}', "Hello WORLD-Foo_bar X1y Élan"),
    ('{{json "<a&b>\\u2028\\b\\f\\x01"}}', '"<a&b>\\u2028\\b\\f\\u0001"'),
    ('{{printf "%q|%5s|%-5s|%d|%x|%v|%t|%.2f|%e|%g" "x" "ab" "ab" 42 255 3.5 true 3.14159 1234.5 0.000012}}',
     '"x"|   ab|ab   |42|ff|3.5|true|3.14|1.234500e+03|1.2e-05'),
    ('{{println 1 2}}{{print 1 2 "a" 3 "b" "c"}}', "1 2\n1 2a3bc"),
    ('{{printf "%d %s"}} {{printf "%d" 1 2}} {{printf "%z" 3}} {{printf "%s" 3}} {{printf "%d" "x"}}',
     "%!d(MISSING) %!s(MISSING) 1%!(EXTRA int=2) %!z(int=3) %!s(int=3) %!d(string=x)"),
    ('{{lt "a" "b"}} {{eq "a" "b" "a"}} {{ne 1 2}} {{and 1 0 2}} {{or 0 "" "x"}} {{not 0}}', "true true true 0 x true"),
    ('{{range $i, $c := split "a,b,c" ","}}{{$i}}={{$c}};{{end}}', "0=a;1=b;2=c;"),
    ("{{range 3}}{{.}}{{end}} {{range $i := 2}}[{{$i}}]{{end}}", "012 [0][1]"),
    ('{{with $x := "hi"}}{{$x}}{{end}} {{if false}}a{{else if true}}b{{end}}', "hi b"),
    ('{{/* c */}}x {{- " y " -}} z', "x y z"),
    ("{{html \"<a href=\\\"x\\\">&'\"}} {{urlquery \"a b&c/d\"}} {{js \"<a>'\\\"=&\"}}",
     "&lt;a href=&#34;x&#34;&gt;&amp;&#39; a+b%26c%2Fd \\u003Ca\\u003E\\'\\\"\\u003D\\u0026"),
    ('{{split "abc" ""}} {{join (split "a:b" ":") "-"}} {{upper "straße"}} {{lower "ÀB"}}', "[a b c] a-b STRAßE àb"),
    ('{{pad "x" 1 2}}|{{pad "" 1 2}}|{{truncate "abcdef" 3}}|{{truncate "ab" 3}}', " x  ||abc|ab"),
    ("{{$x := 1}}{{$x = 2}}{{$x}}", "2"),
    ('{{range split "a,b,c" ","}}{{if eq . "b"}}{{break}}{{end}}{{.}}{{end}}', "a"),
    ('{{range split "a,b,c" ","}}{{if eq . "b"}}{{continue}}{{end}}{{.}}{{end}}', "ac"),
    ('{{"a" | printf "%s-%s" "b"}}', "b-a"),
    ('{{(split "a b" " ") | len}}', "2"),
    ("{{print nil}}", "<nil>"),
    ("{{1_000}} {{0x1p-2}} {{017}} {{0b101}} {{1i}} {{1+2i}} {{0x10}} {{1e3}} {{-0x10}}",
     "1000 0.25 15 5 (0+1i) (1+2i) 16 1000 -16"),
    ("{{'\\x41'}} {{'a'}} {{'\\u00e9'}} {{printf \"%c%c\" 'x' 'é'}}", "65 97 233 xé"),
    ("{{`a\nb`}}", "a\nb"),
    ('{{define "x"}}[{{.}}]{{end}}{{template "x" "hi"}}{{block "y" 1}}<{{.}}>{{end}}', "[hi]<1>"),
    ("{{ 7 }}{{  -3}}", "7-3"),
    ('{{html nil}} {{html "a" 1}}', "&lt;no value&gt; a1"),
    ('{{printf "%5.1f|%-8.3e|%+d|%x|%X|%o|%b|%c|%U|%08.3f|%T|%T" 3.14159 1234.5 5 "hi" 255 8 5 65 65 -3.14159 '
     '"s" 1.5}}',
     "  3.1|1.234e+03|+5|6869|FF|10|101|A|U+0041|-003.142|string|float64"),
    ('{{printf "%6.2s|%q|%v|%d" "abc" 65 (split "a b" " ") (split "a b" " ")}}',
     "    ab|'A'|[a b]|[%!d(string=a) %!d(string=b)]"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), GO_CASES)
def test_matches_go(text: str, expected: str) -> None:
    assert run(text) == expected


GO_ERRORS = [
    ("{{eq 1 1.0}}", 'template: :1:2: executing "" at <eq 1 1.0>: error calling eq: incompatible types for comparison'),
    ('{{index "abc" 5}}',
     'template: :1:2: executing "" at <index "abc" 5>: error calling index: index out of range: 5'),
    ('{{index "abc" 3}}',
     'template: :1:2: executing "" at <index "abc" 3>: error calling index: reflect: string index out of range'),
    ("{{nil}}", 'template: :1:2: executing "" at <nil>: nil is not a command'),
    ('{{range "abc"}}x{{end}}', 'template: :1:8: executing "" at <"abc">: range can\'t iterate over abc'),
    ("{{range 2.5}}x{{end}}", 'template: :1:8: executing "" at <2.5>: range can\'t iterate over 2.5'),
    ('{{slice "abc" 2 1}}',
     'template: :1:2: executing "" at <slice "abc" 2 1>: error calling slice: invalid slice index: 2 > 1'),
    ("{{len 3}}", 'template: :1:2: executing "" at <len 3>: error calling len: len of type int'),
    ("{{9223372036854775808}}",
     'template: :1:2: executing "" at <9223372036854775808>: 9223372036854775808 overflows int'),
    ("{{$x := 1}}{{$x.Foo}}", 'template: :1:15: executing "" at <$x.Foo>: can\'t evaluate field Foo in type int'),
    ('{{template "x"}}', 'template: :1:11: executing "" at <{{template "x"}}>: template "x" not defined'),
]  # fmt: skip


@pytest.mark.parametrize(("text", "message"), GO_ERRORS)
def test_execution_errors_match_go(text: str, message: str) -> None:
    with pytest.raises(GoTemplateError) as caught:
        run(text)
    assert caught.value.go_message == message
    assert caught.value.message == message
    assert not caught.value.parse_error


GO_PARSE_ERRORS = [
    ("{{end}}", "template: :1: unexpected {{end}}"),
    ("{{if}}x{{end}}", "template: :1: missing value for if"),
    ("{{.Names}", "template: :1: bad character U+007D '}'"),
    ("{{)}}", "template: :1: unexpected right paren"),
    ("{{08}}", 'template: :1: integer overflow: "08"'),
    ("{{1.5.2}}", 'template: :1: unexpected ".2" in operand'),
    ("{{99999999999999999999}}", 'template: :1: integer overflow: "99999999999999999999"'),
    ('{{"\\z"}}', "template: :1: invalid syntax"),
    ("{{if .ID}}\nx{{end}", "template: :2: bad character U+007D '}'"),
    ("{{range $i, $x, $y := .}}{{end}}", "template: :1: too many declarations in range"),
    ('{{"a" | "b"}}', "template: :1: non executable command in pipeline stage 2"),
    ("{{.ID", "template: :1: unclosed action"),
    ("{{foo}}", 'template: :1: function "foo" not defined'),
    ("{{'ab'}}", "template: :1: malformed character constant: 'ab'"),
    ("{{$nope}}", 'template: :1: undefined variable "$nope"'),
    ("{{if .X}}", "template: :1: unexpected EOF"),
    ("{{break}}", "template: :1: {{break}} outside {{range}}"),
    ('{{"abc}}', "template: :1: unterminated quoted string"),
    ("{{/* x }}", "template: :1: unclosed comment"),
    ("{{with .X}}a{{else}}b{{else}}c{{end}}", "template: :1: expected end; found {{else}}"),
]


@pytest.mark.parametrize(("text", "message"), GO_PARSE_ERRORS)
def test_parse_errors_match_go(text: str, message: str) -> None:
    with pytest.raises(GoTemplateError) as caught:
        parse(text)
    assert caught.value.go_message == message
    assert caught.value.message == "template parsing error: " + message
    assert caught.value.parse_error
    assert isinstance(caught.value, TemplateError)


# -- data: maps decoded from JSON ---------------------------------------------------------------

INSPECT: dict[str, Any] = {
    "Id": "abc",
    "State": {"Status": "running", "Pid": 42, "Health": None, "Running": True},
    "Config": {"Labels": {"com.example": "x", "a": "1"}, "Cmd": ["sleep", "600"], "Env": None},
    "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]}},
    "Empty": [],
    "Ratio": 0.5,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{{.State.Status}} {{.State.Pid}} {{.State.Running}}", "running 42 true"),
        ("{{.Config.Labels.nope}}", "<no value>"),  # missing key (Go)
        ("{{.Nope.Deeper}}", "<no value>"),
        ("{{.State.Health}}", "<no value>"),  # JSON null in map[string]interface{}
        ('{{index .Config.Labels "com.example"}}|{{index .Config.Labels "nope"}}|', "x||"),  # string maps: ""
        ("{{.Config.Labels}}", "map[a:1 com.example:x]"),
        ("{{.Config.Cmd}} {{len .Config.Cmd}} {{index .Config.Cmd 1}}", "[sleep 600] 2 600"),
        ('{{join .Config.Cmd " "}}', "sleep 600"),
        ("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}};{{end}}", "a=1;com.example=x;"),
        ("{{range .Empty}}x{{else}}empty{{end}}", "empty"),
        ("{{range .Nope}}x{{else}}nothing{{end}}", "nothing"),
        ("{{with .State}}{{.Status}}{{end}}", "running"),
        ("{{with .State.Health}}h{{else}}no health{{end}}", "no health"),
        ("{{if and .State.Running (eq .State.Pid 42)}}up{{end}}", "up"),
        ("{{if or .Nope .State.Pid}}ok{{end}}", "ok"),
        ("{{and false .Nope.Deeper.Still}}", "false"),  # short-circuit: never evaluated
        ("{{range $p, $b := .NetworkSettings.Ports}}{{$p}} -> {{(index $b 0).HostPort}}{{end}}", "80/tcp -> 8080"),
        ("{{json .Config}}", '{"Labels":{"com.example":"x","a":"1"},"Cmd":["sleep","600"],"Env":null}'),
        ("{{json .Ratio}} {{.Ratio}}", "0.5 0.5"),
        ("{{$.Id}}{{range .Config.Cmd}}-{{$.Id}}{{end}}", "abc-abc-abc"),
        ('{{.State.Pid | printf "%05d"}}', "00042"),
        ('{{printf "%v" .Config.Env}}', "<nil>"),
        ("{{eq .State.Health nil}} {{ne .Id nil}}", "true true"),
        ('{{lt .Ratio 1.0}} {{ge .State.Pid 42}} {{gt "b" "a"}} {{le 1 1}}', "true true true true"),
    ],
)
def test_json_maps(text: str, expected: str) -> None:
    assert run(text, INSPECT) == expected


def test_nil_inside_a_chain_is_an_error_like_go() -> None:
    with pytest.raises(GoTemplateError, match=r"nil pointer evaluating interface \{\}\.Status"):
        run("{{.State.Health.Status}}", INSPECT)


def test_map_field_with_arguments() -> None:
    with pytest.raises(GoTemplateError, match="Status is not a method but has arguments"):
        run('{{.State.Status "x"}}', INSPECT)


# -- context objects -------------------------------------------------------------------------------


def test_context_fields_and_methods() -> None:
    assert run('{{.ID}} {{.Label "com.example"}} {{.Label "nope"}}|{{.Platform}}', Ctx()) == "abc123 yes |<nil>"
    assert run("{{.Names | upper}} {{if .Platform}}p{{else}}no platform{{end}}", Ctx()) == "WEB no platform"


def test_context_json_is_sorted_and_html_escaped() -> None:
    assert run("{{json .}}", Ctx()) == (
        '{"ID":"abc123","Names":"web","Platform":null,"Ports":"0.0.0.0:80-\\u003e80/tcp"}'
    )
    assert run("{{json .Ports}}", Ctx()) == '"0.0.0.0:80->80/tcp"'  # a plain string is not escaped


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{.Foo}}", 'template: :1:2: executing "" at <.Foo>: can\'t evaluate field Foo in type '
                     "*formatter.ContainerContext"),
        ("{{.Label}}", 'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 0'),
        ('{{.Label "x" "y"}}',
         'template: :1:2: executing "" at <.Label>: wrong number of args for Label: want 1 got 2'),
        ("{{.Label 3}}", 'template: :1:9: executing "" at <3>: expected string; found 3'),
        ("{{.ID | .Names}}", 'template: :1:8: executing "" at <.Names>: wrong number of args for Names: want 0 got 1'),
        ("{{.ID.Foo}}", 'template: :1:5: executing "" at <.ID.Foo>: can\'t evaluate field Foo in type string'),
        ("{{range .Names}}{{end}}", 'template: :1:8: executing "" at <.Names>: range can\'t iterate over web'),
        ("{{.Platform.OS}}", 'template: :1:11: executing "" at <.Platform.OS>: nil pointer evaluating '
                             "*formatter.Platform.OS"),
        ("{{.Platform.Foo}}", 'template: :1:11: executing "" at <.Platform.Foo>: can\'t evaluate field Foo in type '
                              "*formatter.Platform"),
        ("{{upper 1}}", 'template: :1:8: executing "" at <1>: expected string; found 1'),
        ("{{join .ID \",\"}}", 'template: :1:7: executing "" at <.ID>: wrong type for value; expected []string; '
                              "got string"),
    ],
)  # fmt: skip
def test_context_errors(text: str, message: str) -> None:
    with pytest.raises(GoTemplateError) as caught:
        run(text, Ctx())
    assert caught.value.go_message == message


def test_header_functions_and_partial_output() -> None:
    template = parse("{{upper .Names}}\t{{json .ID}}\t{{truncate .Names 2}}\t{{pad .ID 1 1}}|{{.Label 3}}")
    headers = {"Names": "NAMES", "ID": "CONTAINER ID"}
    assert (
        template.execute_partial(headers, funcs=gotemplate.HEADER_FUNCS)
        == "NAMES\tCONTAINER ID\tNAMES\t CONTAINER ID |"
    )


def test_custom_functions() -> None:
    funcs = {"double": GoFunc(lambda n: n * 2, ("int",))}
    assert parse("{{double 21}}", funcs=funcs).execute(None) == "42"
    with pytest.raises(GoTemplateError, match='function "double" not defined'):
        parse("{{double 21}}")


# -- helpers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "quoted"),
    [("sleep 600", '"sleep 600"'), ("sh -c 'exit 3'", "\"sh -c 'exit 3'\""), ('a"b\\c', '"a\\"b\\\\c"'),
     ("tab\there\n", '"tab\\there\\n"'), ("\x00\x7f", '"\\x00\\x7f"'), ("日本…", '"日本…"'), ("\u00a0", '"\\u00a0"')],
)  # fmt: skip
def test_go_quote(text: str, quoted: str) -> None:
    assert go_quote(text) == quoted


@pytest.mark.parametrize(
    ("value", "encoded"),
    [(1e21, "1e+21"), (1e20, "100000000000000000000"), (1e-7, "1e-7"), (0.000001, "0.000001"), (-0.0, "-0"),
     (float("nan"), ""), ({"b": 1, "a": [True, None]}, '{"b":1,"a":[true,null]}'), ("\u2029<", '"\\u2029<"')],
)  # fmt: skip
def test_go_json(value: object, encoded: str) -> None:
    assert go_json(value) == encoded


def test_go_sprint_spacing() -> None:
    assert go_sprint(1, 2, "a", "b", 3) == "1 2ab3"


# -- limits and robustness ------------------------------------------------------------------------


def test_runaway_templates_are_stopped() -> None:
    with pytest.raises(GoTemplateError, match="dockbell's limit"):
        run("{{range 100000000}}xxxxxxxxxx{{end}}")
    with pytest.raises(GoTemplateError, match="dockbell's limit"):
        run('{{pad "x" 100000000 0}}')
    with pytest.raises(GoTemplateError, match="maximum template depth"):
        run('{{define "a"}}{{template "a"}}{{end}}{{template "a"}}')
    with pytest.raises(GoTemplateError, match="max expression depth"):
        parse("{{" + "(" * 500 + "1" + ")" * 500 + "}}")


TEMPLATE_ALPHABET = st.sampled_from(
    ["{{", "}}", "{{- ", " -}}", ".", "$", "$x", ":=", "=", "|", "(", ")", " ", "\n", ",", '"', "'", "`", "a",
     "Names", ".ID", ".Label", '"k"', "1", "-", "2.5", "0x", "e", "i", "if", "else", "end", "range", "with",
     "define", "template", "block", "break", "continue", "nil", "true", "json", "index", "len", "printf", "%d",
     "slice", "eq", "and", "or", "not", "split", "join", "upper", "pad", "truncate", "call", "/*", "*/", "\\",
     "日", "\x00", "}", "{"]
)  # fmt: skip

FUZZ_DATA = [None, {}, INSPECT, Ctx(), [1, "a", None], "text", 3, 2.5]


def _only_template_errors(text: str) -> None:
    try:
        template = parse(text)
    except TemplateError as exc:
        assert "internal error" not in exc.message, exc.message
        return
    for data in FUZZ_DATA:
        try:
            template.execute(data)
        except TemplateError as exc:
            assert "internal error" not in exc.message, exc.message


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_fuzz_arbitrary_text_raises_only_template_errors(text: str) -> None:
    _only_template_errors(text)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TEMPLATE_ALPHABET, max_size=30).map("".join))
def test_fuzz_template_like_text_raises_only_template_errors(text: str) -> None:
    _only_template_errors(text)
