"""The integration contract's checks: the official AsyncAPI parser (node, package.json here) and
the JSON Schemas of docs/integration/schemas (validation.py)."""
