"""Every message the code marks for translation is translated in French and Spanish: strings
added without running makemessages left whole pages in English, and gettext ignores fuzzy
entries at runtime, so a guess msgmerge made is as good as no translation."""

import hashlib
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

LANGUAGES = ["fr", "es"]
# As the README makes the catalogues: `makemessages -l fr -l es --ignore ".venv/*"`.
IGNORED = [".venv/*"]
# What makemessages reads for the django domain, and the catalogues it merges into.
READ = {".py", ".html", ".txt", ".po"}

pytestmark = pytest.mark.slow


def leave_out(directory, names):
    """What the copy of the project leaves out: hidden and compiled files, runtime files under
    var/, and whatever else makemessages would not read."""
    return [name for name in names if not worth_copying(Path(directory, name))]


def worth_copying(path):
    if path.name.startswith(".") or path.name == "__pycache__":
        return False
    if path.is_dir():
        return path != settings.BASE_DIR / "var"
    return path.suffix in READ


def fingerprint(folder):
    """Every file under the folder, with a hash of what it holds."""
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def unquote(line):
    return line.strip()[1:-1].replace('\\"', '"')


def unfinished(catalogue):
    """The catalogue's entries gettext would not translate: an empty msgstr, or a fuzzy flag.
    Obsolete entries (#~) are comments here, as they are to gettext."""
    for entry in catalogue.read_text(encoding="utf-8").split("\n\n"):
        fields = {}
        fuzzy = False
        keyword = None
        for line in entry.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith('"'):
                fields[keyword] += unquote(line)
            elif not line.startswith("#") and line.strip():
                keyword, _, text = line.partition(" ")
                fields[keyword] = unquote(text)
        msgid = fields.get("msgid")
        if not msgid:  # the header, or an obsolete entry
            continue
        if "msgctxt" in fields:
            msgid = f"{fields['msgctxt']}: {msgid}"
        if fuzzy:
            yield f"fuzzy: {msgid!r}"
        elif not all(text for keyword, text in fields.items() if keyword.startswith("msgstr")):
            yield f"untranslated: {msgid!r}"


def test_every_message_is_translated_in_french_and_spanish(
    gettext, tmp_path, settings, monkeypatch
):
    """The project's current messages are extracted into a copy of the project and its
    catalogues, as makemessages would into locale/; the copy's catalogues must translate
    them all. Working in a copy keeps the repository's locale/ untouched: run in the project
    itself, makemessages writes into every locale/ folder it walks past."""
    locale = settings.BASE_DIR / "locale"
    before = fingerprint(locale)
    copy = tmp_path / "project"
    shutil.copytree(settings.BASE_DIR, copy, ignore=leave_out)
    settings.LOCALE_PATHS = [copy / "locale"]
    catalogues = {
        language: copy / "locale" / language / "LC_MESSAGES" / "django.po" for language in LANGUAGES
    }
    copied = {language: path.stat().st_mtime_ns for language, path in catalogues.items()}
    monkeypatch.chdir(copy)  # makemessages walks the folder it runs in
    call_command("makemessages", locale=LANGUAGES, ignore_patterns=IGNORED, verbosity=0)

    assert fingerprint(locale) == before, "makemessages wrote into the repository's locale/"
    assert not list(copy.rglob("*.pot")), "makemessages left its .pot behind"
    left = {}
    for language, catalogue in catalogues.items():
        assert catalogue.stat().st_mtime_ns != copied[language], "makemessages wrote elsewhere"
        left[language] = list(unfinished(catalogue))
    assert not any(left.values()), "\n".join(
        f"{len(messages)} messages are not translated in locale/{language} (run `manage.py "
        f"makemessages -l fr -l es`, translate, `compilemessages`):\n" + "\n".join(messages)
        for language, messages in left.items()
        if messages
    )
