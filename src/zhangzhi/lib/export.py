"""The one CSV/Excel export of the platform: every app's tables leave through here.

CSV carries a BOM so Excel opens UTF-8 Chinese text as such; Excel is written with openpyxl in
write-only mode. Cells are made plain first (lazy translations, aware datetimes and other objects
openpyxl refuses: "Cannot convert '村级' to Excel"). Every export is recorded in the audit log
(`org.audit.log_export`), with whether it carries personal data.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
from collections.abc import Iterable, Sequence

from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import Promise

FORMATS = ("csv", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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


class _Echo:
    def write(self, value):
        return value


def csv_response(name: str, header: Sequence, rows: Iterable[Sequence]) -> HttpResponse | StreamingHttpResponse:
    """Rows already in a list are answered at once; an iterator (a queryset's rows) is streamed, so
    a year of cases does not sit in memory."""
    writer = csv.writer(_Echo())
    header = [cell(h) for h in header]  # translated now, in the request's language

    def lines():
        yield "\ufeff"  # Excel reads UTF-8 CSV as such only with a BOM
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow([cell(v) for v in row])

    if isinstance(rows, list | tuple):
        response = HttpResponse("".join(lines()), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(name, "csv")}"'
    return response


def xlsx_bytes(sheet: str, header: Sequence, rows: Iterable[Sequence]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(sheet[:31])
    ws.append([cell(h) for h in header])
    for row in rows:
        ws.append([cell(v) for v in row])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsx_response(name: str, header: Sequence, rows: Iterable[Sequence]) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(name, header, rows), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename(name, "xlsx")}"'
    return response


def respond(request, fmt: str, name: str, header: Sequence, rows: Iterable[Sequence], *, what: str,
            personal: bool = True, region=None, count: int | None = None) -> HttpResponse:
    """The export as a download, recorded in the audit log: who, from where, what (`what`, e.g. the
    model label), the filters of the request, and whether it carries personal data."""
    # lib sits below the apps, but no export may leave unrecorded: the one upward call, made here
    from zhangzhi.org import audit

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    audit.log_export(request.user, what, fmt=fmt, rows=count, params=request.GET.dict(), personal=personal,
                     region=region, request=request)
    if fmt == "csv":
        return csv_response(name, header, rows)
    return xlsx_response(name, header, rows)
