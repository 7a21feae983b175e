"""The contract suite's harness and helpers, one module per job: server launcher (`servers`),
contract-validating HTTP client (`client`, `contract`), URLs (`paths`), successful answers
(`responses`), problems (`problems`), pagination (`pagination`), wire spellings (`wire`), test
data (`factories`, `people`), the OpenAPI normaliser (`normalise`) and query plans (`plans`).
The PostgreSQL wire proxy that counts and captures statements is `shared.pgproxy` (`quartet
bench` counts with it too). Nothing here imports implementation code; the suite talks HTTP (and,
for a few operational tests, SQL) only. tests/conftest.py lists what each helper does."""
