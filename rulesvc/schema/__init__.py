"""marshmallow schemas of the documents users write (scheme documents), building engine objects."""
