"""The contract suite's harness: server launcher, contract-validating HTTP client, factories,
problem helpers, the OpenAPI normaliser and a counting PostgreSQL proxy. Nothing here imports
implementation code; the suite talks HTTP (and, for a few operational tests, SQL) only."""
