"""One module per endpoint family; each handler takes a ``Ctx`` and returns a ``Reply``."""
