"""One exception hierarchy for moodrec.

Every error a user can cause (bad config, bad input file, missing dataset) is a
``MoodrecError`` subclass with a message that names the file, line or field.
"""

from __future__ import annotations


class MoodrecError(Exception):
    """Base class of every error moodrec raises on purpose."""


class ConfigError(MoodrecError):
    """A configuration profile or environment variable is wrong."""


class InputDataError(MoodrecError):
    """An input file is missing, unreadable or not in the expected layout."""


class CatalogueError(MoodrecError):
    """A dataset is missing from the catalogue or does not match its fingerprint."""


class ApiServerError(MoodrecError):
    """The temporary Prefect API server a run starts did not come up."""


class ModelError(MoodrecError):
    """A model was misused (not fitted, wrong shapes) or a saved model is unreadable."""


class ModelLoadError(ModelError):
    """A saved model folder is missing, corrupt or inconsistent (the message names the file).

    Raised by :meth:`moodrec.models.saved.SavedModel.load` for a truncated or empty
    ``arrays.npz``, missing keys, non-numeric dtypes, shapes that disagree with the
    parameters, non-finite values, malformed JSON or an unknown model name.
    """


class ModelFitError(ModelError):
    """Training diverged (NaN/inf parameters) or could not run on the given data."""


class StageIncompleteError(MoodrecError):
    """A stage ran but settled none of its work (e.g. every enrich batch was rate-limited).

    ``result`` holds what the stage would have returned (its report, the reasons), so that
    a caller can still show it.
    """

    def __init__(self, message: str, result: dict | None = None) -> None:
        super().__init__(message)
        self.result = result or {}


class RunFolderError(MoodrecError):
    """A data folder holds another configuration's outputs and was not to be replaced."""
