"""The dtrace(1M) command: options, messages and exit status as DTrace has them.

Exit status: 0 success (or the value given to exit()), 1 error, 2 usage.
"""

from __future__ import annotations

import getopt
import os
import signal
import sys
from dataclasses import dataclass, field
from typing import Optional

from .lang.errors import DError
from .options import OptionError, set_option

E_SUCCESS, E_ERROR, E_USAGE = 0, 1, 2
OPTSTRING = "32a:Ab:Bc:CD:ef:FGhHi:I:lL:m:n:o:p:P:qs:SU:vVwx:X:Z"
USAGE = """Usage: dtrace [-32|-64] [-aACeFGhHlqSvVwZ] [-b bufsz] [-c cmd] [-D name[=def]]
\t[-I path] [-L path] [-o output] [-p pid] [-s script] [-U name]
\t[-x opt[=val]] [-X a|c|s|t]

\t[-P provider [[ predicate ] action ]]
\t[-m [ provider: ] module [[ predicate ] action ]]
\t[-f [[ provider: ] module: ] func [[ predicate ] action ]]
\t[-n [[[ provider: ] module: ] func: ] name [[ predicate ] action ]]
\t[-i probe-id [[ predicate ] action ]] [ args ... ]

\tpredicate -> '/' D-expression '/'
\t   action -> '{' D-statements '}'

\t-32 generate 32-bit D programs and ELF files
\t-64 generate 64-bit D programs and ELF files

\t-a  claim anonymous tracing state
\t-A  generate driver.conf(4) directives for anonymous tracing
\t-b  set trace buffer size
\t-c  run specified command and exit upon its completion
\t-C  run cpp(1) preprocessor on script files
\t-D  define symbol when invoking preprocessor
\t-e  exit after compiling request but prior to enabling probes
\t-f  enable or list probes matching the specified function name
\t-F  coalesce trace output by function
\t-G  generate an ELF file containing embedded dtrace program
\t-h  generate a header file with definitions for static probes
\t-H  print included files when invoking preprocessor
\t-i  enable or list probes matching the specified probe id
\t-I  add include directory to preprocessor search path
\t-l  list probes matching specified criteria
\t-L  add library directory to library search path
\t-m  enable or list probes matching the specified module name
\t-n  enable or list probes matching the specified probe name
\t-o  set output file
\t-p  grab specified process-ID and cache its symbol tables
\t-P  enable or list probes matching the specified provider name
\t-q  set quiet mode (only output explicitly traced data)
\t-s  enable or list probes according to the specified D script
\t-S  print D compiler intermediate code
\t-U  undefine symbol when invoking preprocessor
\t-v  set verbose mode (report stability attributes, arguments)
\t-V  report DTrace API version
\t-w  permit destructive actions
\t-x  enable or modify compiler and tracing options
\t-X  specify ISO C conformance settings for preprocessor
\t-Z  permit probe descriptions that match zero probes
"""
VERSION = "dtrace: Sun D 2.0"


class UsageError(Exception):
    pass


class Fatal(Exception):
    """A message for stderr and exit status 1."""


@dataclass
class Command:
    """What the command line asked for, in order."""

    specs: list[tuple[str, str]] = field(default_factory=list)  # (flag, text): -n/-s/-P/-m/-f/-i
    options: dict = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    mode: str = "exec"  # 'exec', 'list', 'version'
    compile_only: bool = False
    show_bpf: bool = False
    cpp: bool = False
    cpp_args: list[str] = field(default_factory=list)
    output: Optional[str] = None
    command: Optional[str] = None
    child: Optional["Child"] = None
    pids: list[int] = field(default_factory=list)
    verbose: bool = False


def parse_args(argv: list[str]) -> Command:
    """dtrace's own option handling: options and macro arguments may be interleaved."""
    cmd = Command()
    rest = list(argv)
    while rest:
        try:
            opts, rest = getopt.getopt(rest, OPTSTRING)
        except getopt.GetoptError as e:
            raise UsageError(f"dtrace: {e.msg}") from None
        for flag, val in opts:
            apply_flag(cmd, flag[1], val)
        if rest:
            if rest[0] == "--":
                cmd.args.extend(rest[1:])
                break
            cmd.args.append(rest.pop(0))
    return cmd


def apply_flag(cmd: Command, c: str, val: str) -> None:
    o = cmd.options
    if c in "nsPmfi":
        cmd.specs.append((c, val))
    elif c == "l":
        cmd.mode = "list"
    elif c == "V":
        cmd.mode = "version"
    elif c == "q":
        o["quiet"] = True
    elif c == "e":
        cmd.compile_only = True
    elif c == "S":
        cmd.show_bpf = True
    elif c == "C":
        cmd.cpp = True
    elif c in "DUI":
        cmd.cpp_args.append(f"-{c}{val}")
    elif c == "H":
        cmd.cpp_args.append("-H")
    elif c == "Z":
        o["zdefs"] = True
    elif c == "w":
        o["destructive"] = True
    elif c == "F":
        o["flowindent"] = True
    elif c == "v":
        cmd.verbose = True
    elif c == "b":
        set_x(o, "bufsize", val)
    elif c == "o":
        cmd.output = val
    elif c == "c":
        cmd.command = val
    elif c == "p":
        try:
            cmd.pids.append(int(val))
        except ValueError:
            raise Fatal(f"dtrace: invalid pid: {val}") from None
    elif c == "x":
        name, eq, value = val.partition("=")
        set_x(o, name, value if eq else None)
    elif c == "X":
        set_x(o, "stdc", val)
    elif c in "3":
        pass
    elif c in "aABGhL":
        raise Fatal(f"dtrace: -{c} is not supported on this system")


def set_x(options: dict, name: str, value: Optional[str]) -> None:
    try:
        set_option(options, name, value)
    except OptionError as e:
        raise Fatal(e.message) from None


def spec_source(flag: str, text: str):
    """The D text for -n/-P/-m/-f/-i: a description, optionally with predicate and action."""
    from .session import Source

    if flag == "s":
        try:
            with open(text, errors="surrogateescape") as f:
                return Source(f.read(), text, "script")
        except OSError as e:
            raise Fatal(f"dtrace: failed to open {text}: {e.strerror}") from None
    part = {"n": "name", "P": "provider", "m": "module", "f": "function"}[flag]
    return Source(text, text, "description", part)


def probe_by_id(session, text: str) -> str:
    """-i ID [pred] [action]: the same text with the id replaced by the probe's description."""
    head, rest = text, ""
    for i, ch in enumerate(text):
        if ch in "/{" or ch.isspace():
            head, rest = text[:i], text[i:]
            break
    probe = None
    if head.isdigit():
        probe = next((p for p in session.table.all() if p.id == int(head)), None)
    if probe is None:
        raise Fatal(f"dtrace: invalid probe specifier {text}: probe description {head} does not match any probes")
    return probe.desc + rest


def preprocess(cmd: Command, src) -> None:
    """Run the C preprocessor over a script (-C); its line markers keep our line numbers."""
    import subprocess

    argv = ["cpp", "-std=c99", "-D__linux", "-D__unix", "-D__x86_64", "-D__LP64", "-D__SUNW_D=1",
            "-D__SUNW_D_64", *cmd.cpp_args]
    try:
        p = subprocess.run(argv, input=src.text, capture_output=True, text=True)
    except OSError:
        raise Fatal("dtrace: failed to run cpp") from None
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise Fatal(f"dtrace: failed to compile script {src.name}: Preprocessor failed to process input program")
    sys.stderr.write(p.stderr)
    src.text = p.stdout


def compile_message(src, e: DError, errtags: bool) -> str:
    tag = f"[{e.tag}] " if errtags else ""
    line = f"line {e.loc.line}: " if e.loc is not None and e.loc.line else ""
    if src.kind == "script":
        return f"dtrace: failed to compile script {src.name}: {tag}{line}{e.msg}"
    return f"dtrace: invalid probe specifier {src.name}: {tag}{line}{e.msg}"


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        return run(argv)
    except UsageError as e:
        sys.stderr.write(f"{e}\n{USAGE}")
        return E_USAGE
    except Fatal as e:
        sys.stderr.write(f"{e}\n")
        return E_ERROR
    except KeyboardInterrupt:
        return E_ERROR
    except BrokenPipeError:
        return E_ERROR
    except Exception as e:  # a bug of ours: say so in one line, never a traceback
        if os.environ.get("PYDTRACE_DEBUG"):
            raise
        sys.stderr.write(f"dtrace: internal error: {type(e).__name__}: {e}\n")
        return E_ERROR


def run(argv: list[str]) -> int:
    if not argv:
        sys.stderr.write(USAGE)
        return E_USAGE
    cmd = parse_args(argv)
    if cmd.mode == "version":
        print(VERSION)
        return E_SUCCESS
    if cmd.mode == "list":
        from .listing import list_probes

        return list_probes(cmd)
    if not cmd.specs:
        sys.stderr.write(USAGE)
        return E_USAGE
    testing = "_DTRACE_TESTING" in os.environ
    if cmd.command is not None:
        cmd.child = Child(cmd.command)
        cmd.options["target"] = cmd.child.pid
    elif cmd.pids:
        cmd.options["target"] = cmd.pids[0]
    try:
        return run_specs(cmd, testing)
    finally:
        if cmd.child is not None and cmd.child.poll() is None:
            cmd.child.kill()


def run_specs(cmd: Command, testing: bool) -> int:
    from .session import Session

    session = Session(options=cmd.options, macro_args=[cmd.specs[0][1]] + cmd.args, testing=testing)
    errtags = bool(cmd.options.get("errtags"))
    notices = []
    total = 0
    for flag, text in cmd.specs:
        if flag == "i":
            src = spec_source("n", probe_by_id(session, text))
            src.name = text
        else:
            src = spec_source(flag, text)
        if cmd.cpp and flag == "s":
            preprocess(cmd, src)
        try:
            matched = session.compile(src)
        except DError as e:
            raise Fatal(compile_message(src, e, errtags)) from None
        n = sum(len(ps) for ps in matched.per_clause)
        total += n
        what = "script" if src.kind == "script" else "description"
        notices.append(f"dtrace: {what} '{text}' matched {n} probe{'' if n == 1 else 's'}\n")
    try:
        compiled = session.build()  # code generation is part of compiling, as in DTrace
    except DError as e:
        raise Fatal(compile_message(src, e, errtags)) from None
    if cmd.show_bpf:
        show_bpf(compiled)
    if cmd.compile_only:  # -e: compiled, not enabled, so nothing "matched" is reported
        return E_SUCCESS
    if not session.options.get("quiet"):  # -q or a quiet pragma silences these notices
        sys.stderr.write("".join(notices))
    if total == 0 and not cmd.options.get("zdefs"):
        raise Fatal("dtrace: no probes matched")
    return trace(session, cmd)


def show_bpf(compiled) -> None:
    from .bpf.asm import disassemble

    for sp in compiled.programs:
        sys.stderr.write(f"\n{sp.site.probes[0].desc}:\n")
        for line in disassemble(sp.asm.assemble(lambda m: 0)):
            sys.stderr.write(f"  {line}\n")


def trace(session, cmd: Command) -> int:
    from .bpf.loader import InternalError
    from .bpf.sys import BPFError
    from .session import EnableError

    out = None
    if cmd.output:
        out = open(cmd.output, "ab")
        session.options["_stream"] = out
    stop = []

    def on_signal(signum, frame):
        stop.append(signum)
        session.stopping = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            session.load()
            session.start()
        except InternalError as e:
            if session.options.get("bpflog") or os.environ.get("PYDTRACE_BPFLOG"):
                sys.stderr.write(e.log)
            raise Fatal(f"dtrace: {e}") from None
        except BPFError as e:
            raise Fatal(f"dtrace: could not enable tracing: {e.strerror or e}") from None
        except EnableError as e:
            raise Fatal(f"dtrace: could not enable tracing: {e}") from None
        if cmd.child is not None:
            cmd.child.go()
        session.loop_until(cmd.child)
        if cmd.child is not None and cmd.child.poll() is not None:
            sys.stderr.write(f"dtrace: pid {cmd.child.pid} has exited\n")
        session.stop()
        status = session.consumer.state.exit_status
        return status if status is not None else E_SUCCESS
    finally:
        session.close()
        for s, h in old.items():
            signal.signal(s, h)
        if out is not None:
            out.close()


class Child:
    """The -c command: created before compiling (its pid is $target), held before exec until
    the probes are enabled, then let go. Forked by hand: subprocess.Popen would wait for the
    exec, which the gate holds back."""

    def __init__(self, command: str):
        gate_r, self.gate_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: wait for the go, then become the command
            try:
                os.close(self.gate_w)
                os.read(gate_r, 1)
                os.execvp("/bin/sh", ["sh", "-c", command])
            finally:
                os._exit(127)
        os.close(gate_r)
        self.pid = pid
        self.status: Optional[int] = None

    def go(self) -> None:
        if self.gate_w >= 0:
            os.write(self.gate_w, b"g")
            os.close(self.gate_w)
            self.gate_w = -1

    def poll(self) -> Optional[int]:
        if self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(status)
        return self.status

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)
            self.go()
            os.waitpid(self.pid, 0)
            self.status = -signal.SIGKILL
