"""The one error type users see: its message is the single line the CLI prints before exiting non-zero."""


def one_line(text: object, max_chars: int) -> str:
    """`text` with all its white space (line breaks too) folded to single spaces, cut to `max_chars` with "…"."""
    line = " ".join(str(text).split())
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


class UserpipeError(RuntimeError):
    """A failure explained in one readable line (bad input, unreachable service, failed step)."""
