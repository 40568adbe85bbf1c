"""moto's server with every fix applied: `riskbatch-emulator -H 127.0.0.1 -p PORT` (moto.server's arguments)."""

from __future__ import annotations

from riskbatch.operations.aws_access import bounded

from .patching import apply_fixes


@bounded("riskbatch-emulator")
def main() -> None:
    from moto import server

    apply_fixes()
    server.main()


if __name__ == "__main__":
    main()
