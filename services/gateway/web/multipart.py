"""A page's multipart/form-data upload read as a stream: the small fields before the file are kept, the file
part is handed out chunk by chunk (to the blob store), never held in memory or spooled to a temporary file.

Werkzeug's form parser (`request.files`) buffers a multipart body against MAX_FORM_MEMORY_SIZE as a whole,
so any real claim file (hundreds of KB and up) was refused with a raw JSON 413; and it would spool the file to
a temporary file before the view saw a byte. Browsers send the fields in the form's order: `csrf_token` comes
before `file` in claims.html, so the token is checked before anything is stored.
"""

from __future__ import annotations

from typing import Any

from werkzeug.sansio.multipart import Data, Epilogue, Field, File, MultipartDecoder, NeedData

from services.common.errors import DomainError

READ = 64 * 1024
FIELD_MAX = 8 * 1024  # csrf_token and the like; a longer field is not one of this form's
FIELDS_MAX = 20


def _bad(message: str) -> DomainError:
    return DomainError.one("invalid_form", message, "file", 400)


class FilePart:
    """The bytes of one file part, as a readable stream (`read(size)`), ending where the part ends."""

    def __init__(self, form: StreamedForm, name: str, filename: str) -> None:
        self.form = form
        self.name = name
        self.filename = filename
        self._buffer = bytearray()
        self._ended = False

    def feed(self, data: bytes, more: bool) -> None:
        self._buffer += data
        self._ended = not more

    def read(self, size: int = -1, /) -> bytes:
        while not self._ended and (size < 0 or len(self._buffer) < size):
            if not self.form.pump(self):
                raise _bad("Biểu mẫu gửi tệp bị cắt ngang (kết nối bị ngắt); hãy gửi lại.")
        if size < 0 or size >= len(self._buffer):
            out = bytes(self._buffer)
            self._buffer.clear()
        else:
            out = bytes(self._buffer[:size])
            del self._buffer[:size]
        return out


class StreamedForm:
    """`fields, part = StreamedForm(stream, boundary).until_file()`: the text fields up to the first file part."""

    def __init__(self, stream: Any, boundary: str) -> None:
        if not boundary or len(boundary) > 200:
            raise _bad("Biểu mẫu gửi tệp không hợp lệ (thiếu boundary của multipart/form-data).")
        self.stream = stream
        self.decoder = MultipartDecoder(boundary.encode("latin-1"))
        self.fields: dict[str, str] = {}
        self._field: str | None = None
        self._value = bytearray()
        self._file: FilePart | None = None
        self._eof = False

    def until_file(self) -> tuple[dict[str, str], FilePart | None]:
        """Read until the first file part begins (its bytes wait for `read`); None if the form has none."""
        while self._file is None:
            if not self.pump(None):
                break
        return self.fields, self._file

    def pump(self, reader: FilePart | None) -> bool:
        """Handle the events of one more chunk of the body; False when the body has ended."""
        if self._eof:
            return False
        chunk = self.stream.read(READ)
        self.decoder.receive_data(chunk or None)
        if not chunk:
            self._eof = True
        while True:
            try:
                event = self.decoder.next_event()
            except ValueError:
                raise _bad("Biểu mẫu gửi tệp không đúng định dạng multipart/form-data.") from None
            if isinstance(event, NeedData | Epilogue):
                break
            if isinstance(event, Field):
                if len(self.fields) >= FIELDS_MAX:
                    raise _bad("Biểu mẫu có quá nhiều trường.")
                self._field, self._value = event.name, bytearray()
            elif isinstance(event, File):
                if self._file is not None:
                    raise _bad("Mỗi lần chỉ gửi một tệp hồ sơ.")
                self._field = None
                self._file = FilePart(self, event.name, event.filename)
            elif isinstance(event, Data):
                if self._field is not None:
                    self._value += event.data
                    if len(self._value) > FIELD_MAX:
                        raise _bad(f"Trường {self._field[:40]} của biểu mẫu quá dài.")
                    if not event.more_data:
                        self.fields[self._field] = self._value.decode("utf-8", "replace")
                        self._field = None
                elif self._file is not None:
                    self._file.feed(event.data, event.more_data)
        return not self._eof or (reader is not None and reader._ended)
