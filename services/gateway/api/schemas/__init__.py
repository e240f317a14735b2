"""The API's request and response schemas, one module per api module: what a view loads and what the OpenAPI
document (openapi.py, /api/v1/openapi.json) describes, kept beside the views rather than inside them."""
