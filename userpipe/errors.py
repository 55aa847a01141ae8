"""The one error type users see: its message is the single line the CLI prints before exiting non-zero."""


class UserpipeError(RuntimeError):
    """A failure explained in one readable line (bad input, unreachable service, failed step)."""
