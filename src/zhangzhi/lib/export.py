"""The one CSV/Excel export of the platform: every app's tables leave through here.

Both formats stream, so a year of patrols starts downloading at once instead of after the last
row is read. CSV is written row by row and carries a BOM so Excel (on Chinese Windows too) opens
UTF-8 Chinese text as such. Excel is written with openpyxl in write-only mode, its worksheet XML
going straight into a zip entry of the response as rows are appended (`xlsx_stream`). Cells are
made plain first (lazy translations, aware datetimes and other objects openpyxl refuses: "Cannot
convert '村级' to Excel"). Every export is recorded in the audit log (`org.audit.log_export`), with
whether it carries personal data; the record is written when the download starts, so the row
count is there only when the caller knew it beforehand.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import quote

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CHUNK_ROWS = 500  # rows between two looks at the output: a few dozen KB of XML or CSV


def cell(value):
    """A value CSV and openpyxl both take: str for lazy strings and unknown objects, local naive
    time for aware datetimes (Excel has no time zones), "" for None."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | decimal.Decimal | str):
        return value
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, dt.date | dt.time):
        return value
    return str(value)


def filename(name: str, fmt: str) -> str:
    return f"{name}-{timezone.localdate():%Y%m%d}.{fmt}"


def disposition(name: str, fmt: str, title=None) -> str:
    """`attachment` with an ASCII name for old clients and, when the export has a (Chinese)
    title, the UTF-8 name (RFC 6266 / 5987) every current browser prefers."""
    header = f'attachment; filename="{filename(name, fmt)}"'
    if title:
        header += "; filename*=UTF-8''" + quote(filename(str(title), fmt), safe="")
    return header


class _Echo:
    def write(self, value):
        return value


def csv_lines(header: Sequence, rows: Iterable[Sequence]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    header = [cell(h) for h in header]  # translated now, in the request's language
    yield "\ufeff"  # Excel reads UTF-8 CSV as such only with a BOM
    yield writer.writerow(header)
    batch = []
    for row in rows:
        batch.append(writer.writerow([cell(v) for v in row]))
        if len(batch) >= CHUNK_ROWS:  # one chunk per few hundred rows, not a write per row
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


def csv_response(name: str, header: Sequence, rows: Iterable[Sequence], *, title=None
                 ) -> HttpResponse | StreamingHttpResponse:
    """Rows already in a list are answered at once; an iterator (a queryset's rows) is streamed, so
    a year of cases does not sit in memory and the download starts with the first rows."""
    if isinstance(rows, list | tuple):
        response = HttpResponse("".join(csv_lines(header, rows)), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition(name, "csv", title)
    return response


class _Sink:
    """Where the zip is written: kept until the response generator takes it. No tell/seek, so
    zipfile writes each entry with a data descriptor after its data (a streamable zip)."""

    def __init__(self):
        self.chunks: list[bytes] = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


def xlsx_stream(sheet: str, header: Sequence, rows: Iterable[Sequence]) -> Iterator[bytes]:
    """An .xlsx file, yielded as it is written. openpyxl's write-only worksheet writes its XML to a
    file of our choosing: here the zip entry of the sheet, so rows are compressed and sent as they
    come; openpyxl's own writer then adds the workbook, styles, shared strings and content types
    behind it (the order of entries in the zip does not matter to Excel)."""
    from openpyxl import Workbook
    from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
    from openpyxl.worksheet._writer import WorksheetWriter
    from openpyxl.writer.excel import ExcelWriter

    class StreamedSheetWriter(ExcelWriter):
        def write_worksheet(self, ws):  # already in the archive: only its relations and manifest entry
            ws._drawing = SpreadsheetDrawing()
            ws._drawing.charts = ws._charts
            ws._drawing.images = ws._images
            ws._rels = ws._writer._rels
            self.manifest.append(ws)

    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(re.sub(r"[\\/*?:\[\]]", "-", sheet)[:31])
    ws._id = 1  # what ExcelWriter would number it; fixes ws.path before the save
    entry = archive.open(ws.path[1:], "w")
    ws._writer = WorksheetWriter(ws, out=entry)
    ws._writer.write_top()
    ws.append([cell(h) for h in header])
    for i, row in enumerate(rows, 1):
        ws.append([cell(v) for v in row])
        if i % CHUNK_ROWS == 0 and sink.chunks:
            yield sink.take()
    ws.close()
    entry.close()
    StreamedSheetWriter(wb, archive).save()
    yield sink.take()


def xlsx_bytes(sheet: str, header: Sequence, rows: Iterable[Sequence]) -> bytes:
    return b"".join(xlsx_stream(sheet, header, rows))


def xlsx_response(name: str, header: Sequence, rows: Iterable[Sequence], *, title=None) -> StreamingHttpResponse:
    response = StreamingHttpResponse(xlsx_stream(str(title or name), header, rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = disposition(name, "xlsx", title)
    return response


def respond(request, fmt: str, name: str, header: Sequence, rows: Iterable[Sequence], *, what: str,
            personal: bool = True, region=None, count: int | None = None, title=None) -> HttpResponse:
    """The export as a download, recorded in the audit log: who, from where, what (`what`, e.g. the
    model label), the filters of the request, and whether it carries personal data. ``rows`` may
    be a generator over ``queryset.iterator()``: it is streamed. ``title`` (translated) names the
    downloaded file, e.g. 巡河记录-20261202.csv; ``name`` is its ASCII fallback."""
    # lib sits below the apps, but no export may leave unrecorded: the one upward call, made here
    from zhangzhi.org import audit

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    audit.log_export(request.user, what, fmt=fmt, rows=count, params=request.GET.dict(), personal=personal,
                     region=region, request=request)
    if fmt == "csv":
        return csv_response(name, header, rows, title=title)
    return xlsx_response(name, header, rows, title=title)
