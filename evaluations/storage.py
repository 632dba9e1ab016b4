"""Where evidence files and evaluation reports are kept: outside the media root, so no URL
serves them; the access-checked download views read them."""

from django.conf import settings
from django.core.files.storage import FileSystemStorage


class PrivateStorage(FileSystemStorage):
    """Files under ``settings.PRIVATE_FILES_ROOT``, read at each use so tests can move it."""

    def __init__(self):
        super().__init__(base_url=None)

    @property
    def base_location(self):
        return settings.PRIVATE_FILES_ROOT

    @property
    def location(self):
        return str(settings.PRIVATE_FILES_ROOT)

    def url(self, name):
        # No public address: a page links the download view instead, and a form widget that
        # asks for a link gets none to show.
        return ""

    def deconstruct(self):
        # Migrations name the callable, never a path of this machine.
        return ("evaluations.storage.PrivateStorage", (), {})


def private_storage():
    return PrivateStorage()
