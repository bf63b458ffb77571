"""LUKHAS: an OpenAI-compatible service around the MATRIZ pipeline."""

import sys

# jsonschema (tool arguments, structured output) imports every optional `format` checker it
# finds installed. rfc3987-syntax, which the development tools bring in (never the service's
# image), builds a Lark grammar as it is imported: some three seconds of every process's
# start, the server's and each test worker's. The service never checks `format` (it is an
# annotation in the schemas callers send), so the module is marked missing before jsonschema
# can import it, as it is in the image.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
