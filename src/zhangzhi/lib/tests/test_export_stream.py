"""Long exports stream: the first bytes leave before the last row is read."""

from __future__ import annotations

import csv
import io
from urllib.parse import quote

from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from zhangzhi.lib import export

ROWS = 20_000


class Counting:
    """Rows as a queryset iterator gives them, counting how many were taken."""

    def __init__(self, n: int):
        self.n, self.taken = n, 0

    def __iter__(self):
        for i in range(self.n):
            self.taken += 1
            yield [i, "秀水镇河长", gettext_lazy("Village"), i * 0.5]


def test_csv_sends_its_first_chunk_long_before_the_last_row():
    rows = Counting(ROWS)
    r = export.csv_response("patrols", ["id", "name", "level", "km"], iter(rows))
    assert r.streaming
    chunks = iter(r.streaming_content)
    got = [next(chunks)]
    assert got[0].startswith("\ufeff".encode())  # the BOM Excel needs for UTF-8
    while rows.taken == 0:
        got.append(next(chunks))
    assert rows.taken <= export.CHUNK_ROWS
    body = b"".join(got) + b"".join(chunks)
    lines = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(lines) == ROWS + 1 and lines[-1][0] == str(ROWS - 1)


def test_excel_is_written_as_it_streams_and_opens_in_openpyxl():
    rows = Counting(ROWS)
    r = export.xlsx_response("patrols", ["id", "name", "level", "km"], iter(rows), title="巡河记录")
    assert r.streaming
    chunks = iter(r.streaming_content)
    first = next(chunks)
    assert first.startswith(b"PK\x03\x04")  # a zip's first local header: the download has begun
    assert rows.taken < ROWS // 4  # …long before the rows are all read
    data = first + b"".join(chunks)
    assert rows.taken == ROWS
    ws = load_workbook(io.BytesIO(data), read_only=True).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0] == ["id", "name", "level", "km"]
    assert len(values) == ROWS + 1 and values[-1] == [ROWS - 1, "秀水镇河长", str(gettext_lazy("Village")),
                                                     (ROWS - 1) * 0.5]
    assert ws.title == "巡河记录"


def test_the_file_name_is_utf8_with_an_ascii_fallback():
    r = export.csv_response("patrols", ["a"], [[1]], title=gettext_lazy("巡河记录"))
    header = r["Content-Disposition"]
    assert header.startswith('attachment; filename="patrols-') and header.endswith('.csv')
    assert "filename*=UTF-8''" + quote("巡河记录-") in header
