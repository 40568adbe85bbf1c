"""moto's server with every fix applied: `riskbatch-emulator -H 127.0.0.1 -p PORT` (moto.server's arguments)."""

from __future__ import annotations

from riskbatch.operations.aws_access import bounded

from .patching import apply_fixes


@bounded("riskbatch-emulator")
def main() -> None:
    from moto import server

    from .request_log import logging_requests

    apply_fixes()
    # every signed request's region and service in the log (request_log says why)
    dispatcher = server.DomainDispatcherApplication
    server.DomainDispatcherApplication = lambda *args, **kwargs: logging_requests(dispatcher(*args, **kwargs))  # type: ignore[misc]
    server.main()


if __name__ == "__main__":
    main()
