"""Demo step: sections on the seven Yangquan rivers, a year of hourly HJ 212 data over TCP, lab samples.

One automatic station per city river, on the river's first county reach, sends a year of hourly data
(2025-11-21 → 2026-11-20, 8 parameters) through the real listener on a loopback port, driven by the
station simulator with a backfill window of 32 frames. Pollution episodes (ammonia on 桃河 in July,
phosphorus on 温河 in September, COD on 南川河 in November) open cases through the alert rules. Two
manual sections get monthly laboratory samples through the import action.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

from zhangzhi.monitoring import actions
from zhangzhi.monitoring.hj212 import BEIJING
from zhangzhi.monitoring.listener import Background

from . import hj212_simulator as simulator

# the year up to the demo's "today", like the cases and patrols (2025-12 → 2026-11)
YEAR_START = datetime(2025, 11, 21, tzinfo=BEIJING)
HOURS = 365 * 24
# river code → (section name, level, target class, baseline scale of pollutants)
SECTIONS = {
    "HTH": ("滹沱河下社断面", "national", "II", 0.6),
    "TH": ("桃河白羊墅断面", "provincial", "III", 1.2),
    "WH": ("温河坪上断面", "provincial", "III", 1.0),
    "SXH": ("松溪河移穰断面", "city", "III", 0.9),
    "LHH": ("龙华河上社断面", "city", "II", 0.6),
    "NCH": ("南川河郊区断面", "city", "IV", 1.6),
    "XSH": ("秀水河秀水断面", "city", "III", 1.0),
}
POLLUTANTS = ("w01019", "w21003", "w21011", "w01003")


def episodes() -> dict[str, list[simulator.Episode]]:
    return {
        "TH": [simulator.Episode(datetime(2026, 7, 14, 3, tzinfo=BEIJING), 36, {"w21003": 6.0})],
        "WH": [simulator.Episode(datetime(2026, 9, 2, 20, tzinfo=BEIJING), 48, {"w21011": 5.0})],
        "NCH": [simulator.Episode(datetime(2026, 11, 8, 0, tzinfo=BEIJING), 24 * 5, {"w01019": 2.5, "w21003": 4.0})],
    }


def build(demo, rng) -> None:
    start = time.monotonic()
    rivers = {f.code: f for f in demo.features if f.kind.code == "river"}
    reaches = [f for f in demo.features if f.kind.code == "reach" and f.level == "county"]
    eps = episodes()
    sims = []
    for i, (code, (name, level, target, scale)) in enumerate(SECTIONS.items()):
        river = rivers.get(code)
        on = next((r for r in reaches if river is not None and r.parent_id == river.pk), None)
        if on is None:
            continue
        mn = f"A140300_{i + 1:04d}"
        actions.create_station(None, name=name, kind="auto", mn=mn, feature=on, target_class=target, level=level,
                               code=f"WQ-{code}", parameters={c: "mg/L" for c in simulator.PARAMETERS})
        sims.append(simulator.SimStation(mn=mn, start=YEAR_START, hours=HOURS, seed=i,
                                         scale=dict.fromkeys(POLLUTANTS, scale), episodes=eps.get(code, [])))
    with Background() as bg:
        outcomes = asyncio.run(simulator.run("127.0.0.1", bg.port, sims, window=32))
        stats = bg.listener.ingestor.stats
    acked = sum(o.acked for o in outcomes)
    demo.say(f"monitoring: {len(sims)} automatic stations sent {acked} hourly HJ 212 frames over TCP to the listener"
             f" ({stats.stored} readings) in {time.monotonic() - start:.0f} s")
    _lab_sections(demo, rng, reaches, rivers)
    from zhangzhi.monitoring.models import Alert

    alerts = Alert.objects.all()
    cases = alerts.filter(case_id__isnull=False).count()
    demo.say(f"monitoring: {alerts.count()} alert episodes, {cases} cases opened")


def _lab_sections(demo, rng, reaches, rivers) -> None:
    """Two manual sections with a monthly laboratory sample each."""
    made = 0
    for code, name in (("TH", "桃河娘子关断面"), ("WH", "温河入滹沱河口断面")):
        river = rivers.get(code)
        candidates = [r for r in reaches if river is not None and r.parent_id == river.pk]
        if len(candidates) < 2:
            continue
        st = actions.create_station(None, name=name, kind="section", feature=candidates[-1], target_class="III",
                                    level="city", code=f"LAB-{code}")
        items = []
        for i in range(12):  # the 10th of each month, December 2025 to November 2026
            year, month = (2025, 12) if i == 0 else (2026, i)
            when = datetime(year, month, 10, 10, tzinfo=BEIJING)
            for pcode, (base, _swing, noise, _d) in simulator.PARAMETERS.items():
                if pcode in ("w01014", "w01003"):
                    continue
                items.append({"parameter": pcode, "time": when.isoformat(), "kind": "sample",
                              "value": round(base * (1 + rng.gauss(0, noise * 2)), 3)})
            items.append({"parameter": "w20115", "time": when.isoformat(), "kind": "sample",
                          "value": round(rng.uniform(0.2, 1.5), 2), "unit": "μg/L"})
        actions.import_readings(None, st, items, source="demo")
        made += 1
    demo.say(f"monitoring: {made} manual sections with monthly laboratory samples"
             f" ({timedelta(days=365).days} days)")
