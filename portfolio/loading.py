"""Rows read from the database made into model instances without running Model.__init__."""

from django.db.models import Model
from django.db.models.base import ModelState
from django.db.models.fields.files import FileDescriptor
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django_countries.fields import CountryDescriptor

# Descriptors through which setting a column's value read from the database stores it as
# given. (A country's stores the text of the code, which is what was read.)
AS_GIVEN = (DeferredAttribute, ForeignKeyDeferredAttribute, FileDescriptor)


class QuickLoad:
    """Model mixin: a row read whole becomes an instance by filling its `__dict__`, which is
    all Model.__init__ comes to for such a row, without the work around it: two signals sent
    and a descriptor called for each field, a fifth of reading a page of 50 tranches.

    Django's own way is kept for a row with deferred columns, a model with its own
    `__init__` or a field with a descriptor of its own (a country), and while any receiver
    listens to `pre_init` or `post_init`.
    """

    @classmethod
    def from_db(cls, db, field_names, values):
        names = _loaded_as_given(cls)
        if names is None or len(values) != len(names) or pre_init.receivers or post_init.receivers:
            return super().from_db(db, field_names, values)
        instance = cls.__new__(cls)
        instance.__dict__.update(zip(names, values, strict=True))
        state = instance._state = ModelState()
        state.adding, state.db = False, db
        return instance


_names = {}


def _loaded_as_given(model):
    """The attribute names of the model's columns, in the order a whole row holds them, when
    its instances may be filled directly; else None."""
    if model not in _names:
        fields = model._meta.concrete_fields
        plain = model.__init__ is Model.__init__ and all(
            _stores_as_given(descriptor_of(model, field.attname), field) for field in fields
        )
        _names[model] = [field.attname for field in fields] if plain else None
    return _names[model]


def _stores_as_given(descriptor, field):
    if type(descriptor) is CountryDescriptor:
        return not field.multiple
    return type(descriptor) in AS_GIVEN


def descriptor_of(model, name):
    """What the model's class (or a class it derives from) holds under `name`."""
    return next((klass.__dict__[name] for klass in model.__mro__ if name in klass.__dict__), None)
