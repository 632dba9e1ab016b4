"""Remembering what a row held when it was read or last saved, to judge an edit against it."""


class StoredValues:
    """Model mixin: `stored(name)` is what the database held for that field when this instance
    was read, refreshed or saved; `changed(*names)` says whether the instance now differs.

    Rules such as "a status moves only along its lifecycle" or "a target changed needs a
    reason" compare an edit with what is stored, not with what the form sent. Declare the
    fields to remember in `TRACKED_FIELDS` (attribute names: `project_id`, not `project`).
    """

    TRACKED_FIELDS: tuple = ()

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        # The row was just built from what was read: a field it holds is the value loaded (a
        # deferred field it does not hold). Read there rather than pairing every name with its
        # value, for each row of a page.
        held = instance.__dict__
        instance._stored = {name: held[name] for name in cls.TRACKED_FIELDS if name in held}
        return instance

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)  # post_save receivers still see what was stored before
        self._remember(kwargs.get("update_fields"))

    def refresh_from_db(self, using=None, fields=None, from_queryset=None):
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)
        # What was just read is what is stored; unsaved edits to other fields still count.
        self._remember(fields)

    def _remember(self, names=None):
        if names is not None:  # update_fields may name a foreign key `project` for `project_id`
            names = {self._meta.get_field(name).attname for name in names}
        stored = self.__dict__.setdefault("_stored", {})
        for name in self.TRACKED_FIELDS:
            if names is None or name in names:
                stored[name] = getattr(self, name)

    @property
    def is_stored(self) -> bool:
        return "_stored" in self.__dict__

    def stored(self, name, default=None):
        return self.__dict__.get("_stored", {}).get(name, default)

    def changed(self, *names) -> bool:
        """True for a row never stored, or when any of `names` (default: all tracked) differs."""
        stored = self.__dict__.get("_stored")
        if stored is None:
            return True
        return any(
            name not in stored or stored[name] != getattr(self, name)
            for name in names or self.TRACKED_FIELDS
        )
