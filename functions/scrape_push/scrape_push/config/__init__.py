"""Configuration: the document's model (``model``), reading it (``document``), decoding and
validating it (``decode``), fragments (``fragments``), loading it from SSM (``source``), and its
JSON Schema and effective form (``schema``).

This package imports none of them: import the module you need. The leaf modules (``errors``,
``values``) are used by the modules the model is built from (relabeling, HTTP settings, the
plugins' configurations), which the model in turn imports.
"""
