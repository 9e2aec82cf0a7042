"""The configuration profiles' commands: copy them out for editing (``moodrec init``) and
print one's validated settings (``moodrec config show``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from moodrec.cli.common import ProfileOpt, app, config_app, fail
from moodrec.errors import MoodrecError


@app.command()
def init(
    folder: Annotated[Path, typer.Argument(help="where to put config/ (the profiles to edit)")],
    force: Annotated[bool, typer.Option(help="overwrite profiles already there")] = False,
) -> None:
    """Copy the packaged profiles (and .env.example) into FOLDER/config for editing."""
    import shutil

    from moodrec.config.loader import PACKAGED_PROFILES

    target = folder / "config"
    target.mkdir(parents=True, exist_ok=True)
    sources = sorted(PACKAGED_PROFILES.glob("*.yaml"))
    existing = [p.name for p in sources if (target / p.name).exists()]
    if existing and not force:
        fail(MoodrecError(f"{target} already has {', '.join(existing)} (--force overwrites)"))
    for src in sources:
        shutil.copyfile(src, target / src.name)
    env_example = PACKAGED_PROFILES / "env.example"
    if env_example.is_file():
        shutil.copyfile(env_example, target / ".env.example")
    typer.echo(f"profiles copied to {target}: {', '.join(p.stem for p in sources)}")
    typer.echo(f"run from {folder} (moodrec run --profile tiny) or set MOODREC_CONFIG_DIR={target}")


@config_app.command("show")
def config_show(profile: ProfileOpt = "demo") -> None:
    """Print the validated settings of a profile (secrets masked)."""
    from moodrec.config.loader import load_settings

    try:
        settings = load_settings(profile)
    except MoodrecError as exc:
        fail(exc)
        return
    typer.echo(json.dumps(settings.model_dump(mode="json"), indent=2, default=str))
