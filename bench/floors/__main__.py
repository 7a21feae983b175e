"""`python -m bench.floors NAME --host H --port P`: a floor under its production server."""

from __future__ import annotations

import argparse

from bench.floors import FLOORS
from shared import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.floors")
    parser.add_argument("name", choices=list(FLOORS))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    serve.run(FLOORS[args.name], args.host, args.port, 1)


if __name__ == "__main__":
    main()
