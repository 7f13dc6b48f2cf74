"""The one exception type a user sees as a message rather than a traceback."""


class WalkawayError(Exception):
    """A problem the user can act on (bad input, too little data, a missing model).

    Its ``str()`` is one line naming the problem; the CLI prints it and exits with status 1.
    """
