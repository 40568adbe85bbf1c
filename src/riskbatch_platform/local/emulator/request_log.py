"""One line a request in the emulator's log: the region and service each request was signed for.

A Signature Version 4 request names its region and service in the Authorization header's credential
scope, `Credential=<key>/<date>/<region>/<service>/aws4_request`
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html), or in
the X-Amz-Credential query parameter of a presigned URL. The region a command reached is then read
from the log, not inferred from its own output.
"""

from __future__ import annotations

import re
import sys
from typing import Any, TextIO

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[a-z0-9-]+)/(?P<service>[a-z0-9-]+)/aws4_request")
_QUERY_SCOPE = re.compile(r"X-Amz-Credential=[^%&/]+(?:%2F|/)\d{8}(?:%2F|/)(?P<region>[a-z0-9-]+)(?:%2F|/)(?P<service>[a-z0-9-]+)")


def signed_scope(environ: dict[str, Any]) -> tuple[str, str] | None:
    """(region, service) of the request's signature, or None when it is unsigned."""
    found = _SCOPE.search(environ.get("HTTP_AUTHORIZATION", "")) or _QUERY_SCOPE.search(environ.get("QUERY_STRING", ""))
    return (found["region"], found["service"]) if found else None


def log_line(environ: dict[str, Any]) -> str | None:
    """`request region=eu-west-1 service=cloudformation`, for a signed request."""
    scope = signed_scope(environ)
    return f"request region={scope[0]} service={scope[1]}" if scope else None


def logging_requests(application: Any, stream: TextIO = sys.stderr) -> Any:
    """The WSGI application, writing each signed request's scope to `stream` before serving it."""

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        line = log_line(environ)
        if line:
            print(line, file=stream, flush=True)
        return application(environ, start_response)

    return serve
