"""The image this container runs, as ECS tells it: the task metadata endpoint version 4.

On Fargate (platform 1.4.0 on) ECS sets ECS_CONTAINER_METADATA_URI_V4 in every container; a GET of that
URI answers the container's own metadata, whose "Image" is the image as the task definition names it and
"ImageID" the SHA-256 digest of the image's manifest (the digest that pulls exactly that image, whatever
its tag points to since). A tag can be moved; the digest cannot, so the digest is what a night records.

Read once per process (an answer and a failure alike), within a 1 s deadline for the whole read, and never
fatal: a local run (processes, the emulator's containers) has no endpoint, and a night must not fail, nor
wait, because its provenance could not be read. What could not be read is recorded as "unavailable: <why>".
"""

from __future__ import annotations

import functools
import json
import os
import threading
import urllib.request

from riskbatch.runtime.logs import log

METADATA_VARIABLE = "ECS_CONTAINER_METADATA_URI_V4"
TIMEOUT_SECONDS = 1.0  # a link-local answer comes in milliseconds; a job never waits longer on its provenance
UNAVAILABLE = "unavailable"


def unavailable(why: str) -> dict[str, str]:
    return {"image": f"{UNAVAILABLE}: {why}", "image_digest": f"{UNAVAILABLE}: {why}"}


def read_container_image(timeout: float = TIMEOUT_SECONDS) -> dict[str, str]:
    """{"image": ..., "image_digest": ...} of this container, or both "unavailable: <why>", within `timeout` seconds in all."""
    endpoint = os.environ.get(METADATA_VARIABLE)
    if not endpoint:
        return unavailable(f"no {METADATA_VARIABLE} (not running on ECS)")
    # A socket timeout bounds each receive, not the read: a server that trickles bytes would hold the job for as long as it
    # trickles. The read runs in a daemon thread the job waits for at most `timeout`; one still reading then is abandoned
    # (a daemon thread does not keep the process alive).
    answer: list[dict[str, str]] = []
    try:
        reader = threading.Thread(target=lambda: answer.append(_read_endpoint(endpoint, timeout)), name="task-metadata-read", daemon=True)
        reader.start()
        reader.join(timeout)
    except Exception as error:  # e.g. no thread to be had: still never a failed job
        return unavailable(f"the task metadata endpoint could not be read ({type(error).__name__}: {error})")
    if not answer:
        return unavailable(f"the task metadata endpoint did not answer: timed out, the read abandoned at its {timeout:g} s deadline")
    return answer[0]


def _read_endpoint(endpoint: str, timeout: float) -> dict[str, str]:
    try:
        # No proxy: the endpoint is link-local, and an HTTP(S)_PROXY set for the jobs' own traffic must not carry it away
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(endpoint, timeout=timeout) as response:
            metadata = json.loads(response.read())
    except Exception as error:  # refused, timed out, an HTTP error status, a malformed status line or a truncated body
        # (http.client's HTTPException is not an OSError), not JSON: whatever it is, the provenance is unavailable
        return unavailable(f"the task metadata endpoint did not answer ({type(error).__name__}: {error})")
    if not isinstance(metadata, dict):
        return unavailable("the task metadata endpoint answered something other than a container's metadata")
    image, digest = metadata.get("Image"), metadata.get("ImageID")
    return {
        "image": image if isinstance(image, str) and image else f"{UNAVAILABLE}: the container's metadata has no Image",
        "image_digest": digest if isinstance(digest, str) and digest else f"{UNAVAILABLE}: the container's metadata has no ImageID",
    }


@functools.cache
def _read_once() -> tuple[tuple[str, str], ...]:
    # cached whatever it says: a failed read is not tried again by every later unit of the process
    found = read_container_image()
    log("container_image", **found)  # once per process: the task's log says which image computed what it logs
    return tuple(found.items())


def container_image() -> dict[str, str]:
    """This process's image, read once (the image a running container runs does not change)."""
    return dict(_read_once())


def forget_container_image() -> None:
    """Read the endpoint again at the next call (a test that stands one up)."""
    _read_once.cache_clear()
