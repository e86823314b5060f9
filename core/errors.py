"""The one exception type a page shows to the learner as a message instead of a traceback."""


class LabError(Exception):
    """Bad input or a missing optional resource, explained in plain words.

    Raise it with a sentence a learner can act on ("the file is not UTF-8 text: ...").
    Pages catch it and show it as a warning; anything else is a bug and stays a traceback.
    """


class Unavailable(LabError):
    """An optional model or dataset can't be had here (no network, package not installed)."""
