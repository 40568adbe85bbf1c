"""Notifications that always fit: a bounded summary on the topic or bus, the full details in S3.

An SNS topic takes messages up to its MaximumMessageSize, 262,144 bytes (256 KiB) unless raised,
checked on the message body and its attributes combined; a larger one is refused with
InvalidParameter (https://docs.aws.amazon.com/sns/latest/dg/large-message-payloads.md). Every part
of a message attribute counts: name, type and value
(https://docs.aws.amazon.com/sdkfornet/v3/apidocs/items/SNS/TMessageAttributeValue.html). The
documents do not say whether the subject counts: it is counted here, the safe side.

An EventBridge PutEvents entry must be under 256 KB: Time counts 14 bytes, Source, DetailType,
Detail and each of Resources their UTF-8 bytes
(https://docs.aws.amazon.com/AmazonCloudWatch/latest/events/CalculatePutEventsEntrySize.html).

A refused alert is lost for good when the job has already recorded that it alerted, so every
publish here is bounded before it is sent: at most ALERT_BYTES, a quarter of the limit (an email
of 64 KB is already more than anyone reads), with the S3 key of the full details in the message.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

SNS_MESSAGE_LIMIT = 262_144  # bytes, the topic's default MaximumMessageSize
EVENT_ENTRY_LIMIT = 262_144  # bytes, a PutEvents entry
ALERT_BYTES = 65_536  # what one alert of ours may take, subject and attributes included
SUBJECT_CHARACTERS = 100  # SNS: an email subject of at most 100 printable ASCII characters
SUMMARY_ROWS = 20  # rows quoted in an alert; the rest are counted and kept in S3


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def sns_message_size(subject: str | None, message: str, attributes: dict[str, dict[str, str]] | None = None) -> int:
    """The bytes SNS counts toward MaximumMessageSize (and the subject, to be safe)."""
    size = _utf8(subject or "") + _utf8(message)
    for name, value in (attributes or {}).items():
        size += _utf8(name) + _utf8(value.get("DataType", "")) + _utf8(value.get("StringValue", "")) + len(value.get("BinaryValue", b""))
    return size


def event_entry_size(entry: dict[str, Any]) -> int:
    """The bytes EventBridge counts for a PutEvents entry."""
    size = 14 if entry.get("Time") is not None else 0
    size += _utf8(entry["Source"]) + _utf8(entry["DetailType"]) + _utf8(entry.get("Detail", ""))
    return size + sum(_utf8(resource) for resource in entry.get("Resources", []))


def checked_entry(entry: dict[str, Any], limit: int = ALERT_BYTES) -> dict[str, Any]:
    """The entry, when it is within `limit`; a ValueError before PutEvents refuses it."""
    size = event_entry_size(entry)
    if size > min(limit, EVENT_ENTRY_LIMIT):
        raise ValueError(f"the {entry['DetailType']} event is {size:,} bytes, over the {min(limit, EVENT_ENTRY_LIMIT):,} its entry may take")
    return entry


def put_event(events: Any, entry: dict[str, Any], limit: int = ALERT_BYTES) -> dict[str, Any]:
    """PutEvents of one entry checked against its bound first: the one way the jobs put an event."""
    return dict(events.put_events(Entries=[checked_entry(entry, limit)]))


def first_rows(rows: list[str], details: str, limit: int = SUMMARY_ROWS) -> list[str]:
    """The first `limit` rows, and a line that counts the others and says where they all are."""
    shown = rows[:limit]
    if len(rows) > limit:
        shown.append(f"... and {len(rows) - limit:,} more: all {len(rows):,} in {details}")
    return shown


def top_counts(values: Iterable[str], limit: int = SUMMARY_ROWS) -> tuple[dict[str, int], tuple[int, int] | None]:
    """The `limit` most frequent distinct values with their counts (the most frequent first), and the others as (how
    many distinct values, how many in all), None when there are none: the numbers counts_by prints."""
    counted = Counter(values).most_common()
    others = (len(counted) - limit, sum(count for _, count in counted[limit:])) if len(counted) > limit else None
    return dict(counted[:limit]), others


def count_lines(top: dict[str, int], others: tuple[int, int] | None) -> list[str]:
    """top_counts' numbers as lines: one per value with its count, then the others counted in one line."""
    lines = [f"- {count:,} x {value}" for value, count in top.items()]
    if others:
        lines.append(f"- {others[1]:,} x {others[0]:,} other reason(s)")
    return lines


def counts_by(values: Iterable[str], limit: int = SUMMARY_ROWS) -> list[str]:
    """One line per distinct value with its count, the most frequent first (at most `limit` lines), then the others."""
    return count_lines(*top_counts(values, limit))


def fitted(subject: str, message: str, details: str | None, limit: int = ALERT_BYTES, attributes: dict[str, dict[str, str]] | None = None) -> str:
    """The message cut at a line end to fit `limit` with the subject and attributes, saying so and where the rest is."""
    if sns_message_size(subject, message, attributes) <= limit:
        return message
    trailer = f"\n... cut to fit the alert's {limit:,} bytes" + (f"; the full details: {details}" if details else "")
    budget = limit - sns_message_size(subject, trailer, attributes)
    cut = message.encode("utf-8")[: max(budget, 0)].decode("utf-8", errors="ignore")
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    return cut + trailer


def publish_alert(
    sns: Any,
    topic_arn: str,
    subject: str,
    message: str,
    details: str | None = None,
    attributes: dict[str, dict[str, str]] | None = None,
    limit: int = ALERT_BYTES,
) -> str:
    """Publish within `limit` bytes (a text message is cut at a line end, with the details' key); the message id."""
    subject = subject[:SUBJECT_CHARACTERS]
    body = fitted(subject, message, details, limit, attributes)
    size = sns_message_size(subject, body, attributes)
    if size > min(limit, SNS_MESSAGE_LIMIT):  # only attributes alone can do this
        raise ValueError(f"the alert {subject!r} is {size:,} bytes, over the {min(limit, SNS_MESSAGE_LIMIT):,} it may take")
    request: dict[str, Any] = {"TopicArn": topic_arn, "Subject": subject, "Message": body}
    if attributes:
        request["MessageAttributes"] = attributes
    return str(sns.publish(**request)["MessageId"])


# MessageStructure=json: the Message is a JSON object with a string for "default" and one per
# transport protocol that should get another (the Publish API; the protocols as Subscribe names
# them). A person's protocols get the words, the machines' the JSON summary.
PERSON_PROTOCOLS = ("default", "email")
MACHINE_PROTOCOLS = ("email-json", "sqs", "lambda", "http", "https", "firehose")


def per_protocol_message(text: str, machine_json: str, sms: str | None = None) -> str:
    """The Message of a MessageStructure=json publish: the words for a person, the JSON for a machine."""
    message = dict.fromkeys(PERSON_PROTOCOLS, text) | dict.fromkeys(MACHINE_PROTOCOLS, machine_json)
    if sms is not None:
        message["sms"] = sms
    return json.dumps(message)


def publish_per_protocol(sns: Any, topic_arn: str, subject: str, text: str, machine_json: str, details: str | None = None, limit: int = ALERT_BYTES) -> str:
    """Publish words to people (e-mail) and JSON to machines (SQS, Lambda, HTTP) at once, the whole
    structure within `limit` bytes: the words are cut at a line end (with the details' key) to make
    room, the JSON never (a machine must parse it); the message id."""
    subject = subject[:SUBJECT_CHARACTERS]
    machine_json = json.dumps(json.loads(machine_json), separators=(",", ":"))  # six copies: compact
    fixed = sns_message_size(subject, per_protocol_message("", machine_json, subject))
    budget = (limit - fixed) // len(PERSON_PROTOCOLS)
    while True:
        words = fitted("", text, details, max(budget, 0))
        message = per_protocol_message(words, machine_json, subject)
        size = sns_message_size(subject, message)
        if size <= min(limit, SNS_MESSAGE_LIMIT) or budget <= 0:
            break
        budget -= (size - limit) // len(PERSON_PROTOCOLS) + 1  # the escapes JSON added to the words
    if size > min(limit, SNS_MESSAGE_LIMIT):
        raise ValueError(f"the notice {subject!r} is {size:,} bytes, over the {min(limit, SNS_MESSAGE_LIMIT):,} it may take")
    return str(sns.publish(TopicArn=topic_arn, Subject=subject, Message=message, MessageStructure="json")["MessageId"])
