"""moto's server with every fix applied: `riskbatch-emulator -H 127.0.0.1 -p PORT` (moto.server's arguments).

`--port-file PATH` (before moto's arguments): the server binds a port the system chooses (port 0) and writes
the port it holds to PATH once it listens. A port chosen by its starter and bound later by the server could be
taken by another server in between (two emulators started at once got one port, and one talked to the other's).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from riskbatch.operations.aws_access import bounded

from .patching import apply_fixes


def _port_file(argv: list[str]) -> tuple[Path | None, list[str]]:
    """The --port-file argument, and the arguments left for moto's server."""
    if "--port-file" not in argv:
        return None, argv
    at = argv.index("--port-file")
    return Path(argv[at + 1]), argv[:at] + argv[at + 2 :]


def serving_on_a_port_of_its_own(port_file: Path) -> Any:
    """werkzeug's run_simple for moto's server, bound to port 0: the port it got is written to port_file (whole, by a
    rename) and given to moto as MOTO_PORT (the URLs moto builds for itself name it)."""
    from werkzeug.serving import make_server

    def run_simple(hostname: str, port: int, application: Any, threaded: bool = False, request_handler: Any = None, **_: Any) -> None:
        server = make_server(hostname, 0, application, threaded=threaded, request_handler=request_handler)
        os.environ["MOTO_PORT"] = str(server.port)
        written = port_file.with_name(port_file.name + ".part")
        written.write_text(str(server.port), encoding="utf-8")
        written.replace(port_file)
        server.serve_forever()

    return run_simple


@bounded("riskbatch-emulator")
def main() -> None:
    from moto import server

    from .request_log import logging_requests

    apply_fixes()
    # every signed request's region and service in the log (request_log says why)
    dispatcher = server.DomainDispatcherApplication
    server.DomainDispatcherApplication = lambda *args, **kwargs: logging_requests(dispatcher(*args, **kwargs))  # type: ignore[misc]
    port_file, arguments = _port_file(sys.argv[1:])
    if port_file is not None:
        server.run_simple = serving_on_a_port_of_its_own(port_file)  # type: ignore[assignment]
    server.main(arguments or ["-H", "127.0.0.1"])  # moto reads sys.argv when given none


if __name__ == "__main__":
    main()
