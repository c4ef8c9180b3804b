"""The one masking rule and the one CSV/Excel export."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy

from zhangzhi.lib import export
from zhangzhi.lib.masking import mask_id_number, mask_phone, phone_for


def test_it_masks_a_mobile_number_in_the_middle():
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone(" 13912345678 ") == "139****5678"


def test_it_masks_landlines_ids_and_short_values():
    assert mask_phone("0353-1234567") == "035*****4567"
    assert mask_phone("12345") == "*****"
    assert mask_phone("") == "" and mask_phone(None) == ""
    assert mask_id_number("110101199003071234") == "110***********1234"
    assert mask_id_number("1234") == "****"


def test_it_shows_the_whole_phone_only_when_asked():
    assert phone_for("13800000000", True) == "13800000000"
    assert phone_for("13800000000", False) == "138****0000"


def test_it_makes_lazy_strings_and_aware_times_plain_for_excel():
    aware = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)
    with translation.override("zh-hans"):
        assert export.cell(gettext_lazy("Village")) == str(gettext_lazy("Village"))
        assert type(export.cell(gettext_lazy("Village"))) is str
    assert export.cell(aware) == dt.datetime(2026, 3, 2, 9, 0)  # Asia/Shanghai, naive
    assert export.cell(None) == "" and export.cell(3) == 3 and export.cell(object()).startswith("<object")


@pytest.mark.django_db
def test_excel_takes_a_lazy_translation_string():
    """The bug of the compliance export: openpyxl raised "Cannot convert '村级' to Excel"."""
    from openpyxl import load_workbook

    from zhangzhi.org.models import ChiefLevel

    with translation.override("zh-hans"):
        data = export.xlsx_bytes("t", [gettext_lazy("级别")], [[dict(ChiefLevel.choices)["village"],
                                                                  dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.UTC)]])
    ws = load_workbook(io.BytesIO(data)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[1][0] == str(dict(ChiefLevel.choices)["village"])


def test_csv_has_a_bom_and_streams():
    r = export.csv_response("t", ["a", "b"], iter([[1, None], ["x,y", gettext_lazy("Village")]]))
    body = b"".join(r.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffa,b\r\n1,\r\n")
    assert '"x,y"' in body
    assert r["Content-Disposition"].startswith('attachment; filename="t-')
