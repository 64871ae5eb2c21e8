"""Reading an upload: a multipart/form-data body parsed as it streams in (python-multipart),
its one file written to a temporary file that spills to disk past 1 MB, and cut off the moment
it goes over the size limit: an oversize upload is never held whole, in memory or on disk.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import IO

import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header

SPOOL_BYTES = 1024 * 1024
MAX_FIELD_BYTES = 1024  # client_msg_id and any other small field
MAX_PARTS = 4


class UploadError(Exception):
    """The body cannot be taken: `status` and `code` as the API answers them."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Upload:
    """The parsed body: its small fields, and the file (name, bytes written, temporary file)."""

    fields: dict[str, str] = field(default_factory=dict)
    filename: str | None = None
    size: int = 0
    file: IO[bytes] | None = None

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


class _Receiver:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.upload = Upload()
        self.parts = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._name = ""
        self._is_file = False
        self._value = bytearray()
        self.pending: list[bytes] = []  # file bytes parsed from the current chunk

    def on_part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise UploadError(422, "invalid_field", f"at most {MAX_PARTS} form fields")
        self._disposition, self._value = b"", bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        self._name = options.get(b"name", b"").decode("utf-8", "replace")
        self._is_file = b"filename" in options
        if self._is_file:
            if self._name != "file" or self.upload.filename is not None:
                raise UploadError(422, "invalid_field", "send exactly one file, in field 'file'")
            self.upload.filename = options[b"filename"].decode("utf-8", "replace")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if not self._is_file:
            self._value += data[start:end]
            if len(self._value) > MAX_FIELD_BYTES:
                raise UploadError(422, "invalid_field", f"field {self._name[:40]!r} is too long")
            return
        self.upload.size += end - start
        if self.upload.size > self.max_bytes:
            raise UploadError(413, "too_large", f"the file is larger than {self.max_bytes} bytes")
        self.pending.append(data[start:end])

    def on_part_end(self) -> None:
        if not self._is_file:
            self.upload.fields[self._name] = self._value.decode("utf-8", "replace")


async def receive(content_type: str, stream: AsyncIterator[bytes], max_bytes: int) -> Upload:
    """Parse a multipart body; raises UploadError (413 as soon as the file passes
    `max_bytes`, 400 for a body that is not multipart)."""
    kind, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise UploadError(400, "bad_body", "the body must be multipart/form-data")
    receiver = _Receiver(max_bytes)
    parser = MultipartParser(boundary, {
        "on_part_begin": receiver.on_part_begin, "on_part_data": receiver.on_part_data,
        "on_part_end": receiver.on_part_end, "on_header_field": receiver.on_header_field,
        "on_header_value": receiver.on_header_value, "on_header_end": receiver.on_header_end,
        "on_headers_finished": receiver.on_headers_finished,
    })  # fmt: skip
    upload = receiver.upload
    upload.file = tempfile.SpooledTemporaryFile(SPOOL_BYTES)  # noqa: SIM115 (Upload.close)
    try:
        async for chunk in stream:
            try:
                parser.write(chunk)
            except UploadError:
                raise
            except Exception as exc:  # python-multipart's parse errors have no common base
                raise UploadError(
                    400, "bad_body", f"the multipart body is malformed: {exc}"
                ) from None
            if receiver.pending:
                data, receiver.pending = b"".join(receiver.pending), []
                await anyio.to_thread.run_sync(upload.file.write, data)
        parser.finalize()
    except BaseException:
        upload.close()
        raise
    return upload
