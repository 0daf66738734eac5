"""D's string and utility subroutines end to end: a D program in, exact output out."""

import pytest

from dtrace_run import dtrace

pytestmark = pytest.mark.needs_bpf


def run(body: str, *opts: str) -> str:
    """Run `BEGIN { body; exit(0); }` quietly; returns stdout (the run must succeed)."""
    r = dtrace("-q", *opts, "-n", "BEGIN { " + body + " exit(0); }")
    assert r.rc == 0, r.err
    return r.out


def lines(*calls: str, opts: tuple = (), setup: str = "") -> list[str]:
    """Each call's string result, one per line, as [...] to show empty strings."""
    body = setup + " ".join(f'printf("[%s]\\n", {c});' for c in calls)
    return run(body, *opts).split("\n")[:len(calls)]


def ints(*calls: str, setup: str = "", opts: tuple = ()) -> list[int]:
    body = setup + " ".join(f'printf("%d\\n", {c});' for c in calls)
    return [int(x) for x in run(body, *opts).split()]


def fault(body: str) -> str:
    """The error message a faulting clause prints (the ERROR clause exits 9)."""
    r = dtrace("-q", "-n", "BEGIN { " + body + " exit(0); } ERROR { exit(9); }")
    assert r.rc == 9, (r.out, r.err)
    return r.err


# ------------------------------------------------------------------ strlen, strjoin


def test_strlen():
    assert ints('strlen("")', 'strlen("abc")', "strlen(s)", setup='s = "hello, world";') \
        == [0, 3, 12]


def test_strlen_null_is_invalid_address():
    assert "invalid address (0x0)" in fault("strlen(0);")


def test_strjoin_and_its_cut_at_strsize():
    assert lines('strjoin("abc", "def")', 'strjoin("", "")', 'strjoin(strjoin("a", "b"), "c")') \
        == ["[abcdef]", "[]", "[abc]"]
    # strsize characters are kept (and its NUL)
    assert lines('strjoin("abcdef", "ghij")', opts=("-xstrsize=8",)) == ["[abcdefgh]"]


# ------------------------------------------------------------------ substr


@pytest.mark.parametrize("args,want", [
    ('"abcdefgh", 2', "cdefgh"),
    ('"abcdefgh", 2, 3', "cde"),
    ('"abcdefgh", 0, 0', ""),
    ('"abcdefgh", 8', ""),
    ('"abcdefgh", 100', ""),
    ('"abcdefgh", -3', "fgh"),
    ('"abcdefgh", -3, 2', "fg"),
    ('"abcde", -7, 3', "a"),     # before the start: the count shrinks
    ('"abcde", -8, 3', ""),
    ('"abcde", -10', "abcde"),
    ('"abcdefgh", 2, -2', "cdef"),  # a negative count stops before the end
    ('"abcdefgh", 2, -6', ""),
    ('"abcdefgh", 2, 100', "cdefgh"),
    ('"abcdefgh", 0x100000002, 3', "cde"),  # index and count are 32-bit
])
def test_substr(args, want):
    assert lines(f"substr({args})") == [f"[{want}]"]


def test_substr_runtime_arguments_and_strsize():
    assert lines("substr(s, i, n)", "substr(s, i)", setup='s = "hello world"; i = -5; n = 3;') \
        == ["[wor]", "[world]"]
    assert lines('substr("1234567890", 0, 12)', opts=("-xstrsize=5",)) == ["[12345]"]


# ------------------------------------------------------------------ index, rindex, strstr


def test_index_rindex():
    setup = 's = "abcabcabc"; t = "bc"; e = "";'
    assert ints("index(s, t)", "index(s, t, 2)", "index(s, t, -5)", "index(s, t, 9)",
                "rindex(s, t)", "rindex(s, t, 6)", "rindex(s, t, 0)", "rindex(s, t, -1)",
                'index(s, "x")', 'index(s, "cab")', "index(e, t)", "index(s, e)",
                "rindex(s, e)", 'index("ab", "abc")', setup=setup) \
        == [1, 4, 1, -1, 7, 4, -1, -1, -1, 2, -1, 0, 9, -1]


def test_index_long_needle_over_word_boundaries():
    setup = ('x = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz";'
             'y = "jklmnopqrstuvwxyzab";')
    assert ints("index(x, y)", "index(x, y, 10)", "rindex(x, y)",
                'index(x, "jklmnopqrstuvwxyzab")', setup=setup) == [9, -1, 9, 9]


def test_strstr():
    assert lines('strstr("hello world", "o w")', 'strstr("hello", "")', 'strstr("abc", "abc")',
                 'strstr("abc", "d") == NULL ? "NULL" : "?"') \
        == ["[o world]", "[hello]", "[abc]", "[NULL]"]


# ------------------------------------------------------------------ strchr, strrchr


def test_strchr_strrchr():
    setup = 's = "fooeyfooeyfoo";'
    assert lines("strchr(s, 'y')", "strrchr(s, 'y')", "strchr(s, 'f')", "strrchr(s, 'f')",
                 "strchr(s, 'z') == NULL ? \"NULL\" : \"?\"",
                 "strrchr(s, 'z') == NULL ? \"NULL\" : \"?\"",
                 "strrchr(strchr(s, 'y'), 'y')", setup=setup) \
        == ["[yfooeyfoo]", "[yfoo]", "[fooeyfooeyfoo]", "[foo]", "[NULL]", "[NULL]", "[yfoo]"]


# ------------------------------------------------------------------ strtok


def test_strtok_walks_the_string():
    body = ('s = ",,,Carrots,,Barley,Oatmeal,,,Beans,";'
            'printf("[%s]", strtok(s, ","));'
            'printf("[%s]", strtok(NULL, ","));'
            'printf("[%s]", strtok(NULL, ",a"));'
            'printf("[%s]", strtok(NULL, ","));'
            'printf("[%s]", strtok(NULL, ","));'
            'printf("[%s]\\n", strtok(NULL, ",") == NULL ? "NULL" : "?");')
    assert run(body) == "[Carrots][Barley][O][atmeal][Beans][NULL]\n\n"


def test_strtok_edge_cases():
    assert lines('strtok("foo", "")', 'strtok("oobar", "o")', 'strtok("foobar", "o")',
                 'strtok("", "foo") == NULL ? "NULL" : "?"',
                 'strtok("///", "/") == NULL ? "NULL" : "?"') \
        == ["[foo]", "[bar]", "[f]", "[NULL]", "[NULL]"]


def test_strtok_null_without_a_string_faults():
    assert "invalid address (0x0)" in fault('trace(strtok(NULL, ","));')


# ------------------------------------------------------------------ lltostr


def test_lltostr():
    assert lines("lltostr(0)", "lltostr(123)", "lltostr(-45)", "lltostr(-9223372036854775807 - 1)",
                 "lltostr(255, 16)", "lltostr(0, 16)", "lltostr(8, 8)", "lltostr(0, 8)",
                 "lltostr(5, 2)", "lltostr(-1, 16)", "lltostr(35, 36)", "lltostr(-1, 10)") \
        == ["[0]", "[123]", "[-45]", "[-9223372036854775808]", "[0xff]", "[0x0]", "[010]",
            "[0]", "[101]", "[0xffffffffffffffff]", "[z]", "[-1]"]


def test_lltostr_keeps_the_first_strsize_characters():
    assert lines("lltostr(12345678)", "lltostr(-1234567)", opts=("-xstrsize=7",)) \
        == ["[1234567]", "[-123456]"]


def test_lltostr_bad_base_is_illegal():
    assert "illegal operation" in fault("b = 1; trace(lltostr(3, b));")


# ------------------------------------------------------------------ toupper, tolower


def test_toupper_tolower():
    assert lines('toupper("abcXYZ-{}`@[hello] 123")', 'tolower("ABCxyz@[HELLO]")') \
        == ["[ABCXYZ-{}`@[HELLO] 123]", "[abcxyz@[hello]]"]


# ------------------------------------------------------------------ basename, dirname, cleanpath


@pytest.mark.parametrize("path,base,dir", [
    ("/a/b/c", "c", "/a/b"),
    ("foo", "foo", "."),
    ("/foo//", "foo", "/"),
    ("", ".", "."),
    ("///", "/", "/"),
    ("a//b/", "b", "a"),
    ("/", "/", "/"),
    ("foo///", "foo", "."),
])
def test_basename_dirname(path, base, dir):
    assert lines(f'basename("{path}")', f'dirname("{path}")') == [f"[{base}]", f"[{dir}]"]


def test_cleanpath():
    cases = {"/foo/bar/../../baz/.//": "/baz", "foo/bar/./././././baz/": "foo/bar/baz",
             "/../..": "/", "": "", ".": ".", "./": ".", "a/..": ".", "a/../..": "..",
             "../../a": "../../a", "//": "/", "/a/../b": "/b", "z/a/b/../../././c///d/e": "z/c/d/e"}
    assert lines(*(f'cleanpath("{p}")' for p in cases)) == [f"[{v}]" for v in cases.values()]


# ------------------------------------------------------------------ network addresses


def test_inet_ntoa_ntop_ntoa6():
    body = ('p = (ipaddr_t *)alloca(4); *p = htonl(0xc0a80117);'
            'printf("%s %s\\n", inet_ntoa(p), inet_ntop(AF_INET, p));'
            'q = (uint8_t *)alloca(16); q[15] = 1; q[10] = 0xff; q[11] = 0xff; q[12] = 0x7f;'
            'printf("%s %s\\n", inet_ntoa6((struct in6_addr *)q), inet_ntop(AF_INET6, q));'
            'q[10] = 0; q[11] = 0; q[0] = 0xfe; q[1] = 0x80; q[12] = 0;'
            'printf("%s\\n", inet_ntoa6((struct in6_addr *)q));')
    assert run(body) == "192.168.1.23 192.168.1.23\n127.0.0.1 ::ffff:127.0.0.1\nfe80::1\n\n"


def test_link_ntop():
    body = ('p = (uint8_t *)alloca(8); p[0] = 0x0; p[1] = 0x1a; p[5] = 0xff;'
            'printf("%s\\n", link_ntop(ARPHRD_ETHER, p));')
    assert run(body) == "00:1a:00:00:00:ff\n\n"


def test_inet_ntoa_null_faults():
    assert "invalid address (0x0)" in fault("trace(inet_ntoa((ipaddr_t *)0));")


# ------------------------------------------------------------------ alloca, bcopy


def test_alloca_and_bcopy():
    body = ('s = (char *)alloca(8); bcopy("abcdefg", s, 8); t = (char *)alloca(1);'
            'printf("%s %d %d\\n", stringof(s), (uint64_t)t - (uint64_t)s, alloca(0) == alloca(0));')
    assert run(body) == "abcdefg 8 1\n\n"


@pytest.mark.parametrize("body,msg", [
    ('s = (char *)alloca(8); bcopy("abc", s - 1, 2);', "invalid address"),
    ('s = (char *)alloca(8); bcopy("abcdefghijk", s, 9);', "invalid size"),
    ('s = (char *)alloca(8); bcopy("abc", s, -1);', "invalid size"),
    ('s = (char *)alloca(8); bcopy((char *)0, s, 2);', "invalid address (0x0)"),
    ('s = (char *)alloca(15); trace(s[16]);', "invalid address"),
    ('s = (char *)alloca(15); s[-1] = 1;', "invalid address"),
])
def test_alloca_bounds(body, msg):
    assert msg in fault(body)


def test_alloca_beyond_scratchsize():
    r = dtrace("-q", "-xscratchsize=16", "-n",
               "BEGIN { n = 17; alloca(n); exit(0); } ERROR { exit(9); }")
    assert r.rc == 9 and "out of scratch space" in r.err


# ------------------------------------------------------------------ progenyof, d_path, stack variables


def test_progenyof():
    assert ints("progenyof($pid)", "progenyof(1)", "progenyof(-1)") == [1, 1, 0]


def test_d_path_is_refused_clearly():
    r = dtrace("-xerrtags", "-n", "BEGIN { trace(d_path((struct path *)0)); }")
    assert r.rc == 1 and "[D_UNKNOWN]" in r.err and "d_path( )" in r.err


def test_stackdepth_in_begin():
    assert ints("stackdepth", "caller") == [0, 0]


# ------------------------------------------------------------------ verifier budget


def test_many_string_functions_in_one_clause_verify():
    calls = ", ".join(["index(x, y)", "rindex(x, y)", "strstr(x, y) == NULL",
                       "strchr(x, 'q') == NULL", "strrchr(x, 'q') == NULL",
                       "strlen(cleanpath(x))", "strlen(basename(x))", "strlen(dirname(x))",
                       "strlen(toupper(x))", "strlen(substr(x, 3))", "strlen(strtok(x, \"/\"))"])
    out = run(f'x = "/usr/lib/../share/q"; y = "share"; printf("{" %d" * 11}\\n", {calls});')
    assert out == " 12 12 0 0 0 12 1 17 19 16 3\n\n"
