"""hmr-ast's own options on a framework's command line (``hmr-ast flask``, ``hmr-ast django``).

The framework parses its own arguments; ours are taken out first, wherever they stand, so a
user adds ``-v`` or ``--refresh`` to the line they already type. Everything after ``--`` is
the framework's, untouched.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HELP = """\
hmr-ast's options (for flask run and django runserver; anywhere on the line):
  --refresh              reload HTML pages in the browser after each successful reload
  --drain-timeout SECS   how long a reload waits for requests in flight (default 2)
  --include GLOB         also reload files matching GLOB (outside the current folder)
  --exclude GLOB         never reload these
  -v, --verbose          explain every decision (each swap, what was patched)
  -q, --quiet            print nothing of our own
"""


@dataclass
class OurOptions:
    refresh: bool = False
    drain_timeout: float = 2.0
    include: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    verbose: bool = False
    quiet: bool = False

    @property
    def verbosity(self) -> int:
        return 1 if self.verbose else -1 if self.quiet else 0


_FLAGS = {"--refresh": "refresh", "-v": "verbose", "--verbose": "verbose", "-q": "quiet"}
_FLAGS["--quiet"] = "quiet"
_VALUED = ("--drain-timeout", "--include", "--exclude")


def split_ours(
    argv: list[str], *, verbosity_is_theirs: bool = False
) -> tuple[OurOptions, list[str]]:
    """Our options, and the framework's arguments in their order; ValueError on a mistake.
    With ``verbosity_is_theirs`` (Django's ``-v {0,1,2,3}``), ``-v`` followed by a level is
    left to the framework; ``-v`` alone is ours."""
    ours = OurOptions()
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            rest += argv[index - 1 :]
            break
        name, equals, value = arg.partition("=")
        if (
            verbosity_is_theirs
            and arg == "-v"
            and argv[index : index + 1] in (["0"], ["1"], ["2"], ["3"])
        ):
            rest += argv[index - 1 : index + 1]
            index += 1
        elif arg in _FLAGS:
            setattr(ours, _FLAGS[arg], True)
        elif name in _VALUED:
            if not equals:
                if index >= len(argv):
                    raise ValueError(f"{name} needs a value")
                value = argv[index]
                index += 1
            if name == "--drain-timeout":
                try:
                    ours.drain_timeout = float(value)
                except ValueError:
                    raise ValueError(f"--drain-timeout: {value!r} is not a number of seconds")
                if ours.drain_timeout < 0:
                    raise ValueError("--drain-timeout cannot be negative")
            else:
                getattr(ours, name[2:]).append(value)
        else:
            rest.append(arg)
    if ours.verbose and ours.quiet:
        raise ValueError("-v and -q cannot go together")
    return ours, rest
